// Under the bare-pointer ABI (lattice-compile's), a launch passes each buffer
// as one pointer, so the kernel must take one pointer per buffer: a kernel
// that expects memref descriptors reads its parameters past the end of what
// the launch passed, and the driver refuses the launch ("invalid argument").
// Without the ABI, both sides pass descriptors.
//
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90 bare-pointer-abi=true" \
// RUN: | FileCheck %s --check-prefix=BARE-HOST
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90 bare-pointer-abi=true" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - \
// RUN: | FileCheck %s --check-prefix=BARE-PTX
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | FileCheck %s --check-prefix=DESC-HOST
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - \
// RUN: | FileCheck %s --check-prefix=DESC-PTX

// BARE-HOST: llvm.func @add(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// BARE-HOST: gpu.launch_func {{.*}} args(%{{[^ ]*}} : !llvm.ptr, %{{[^ ]*}} : !llvm.ptr){{$}}
// BARE-PTX: .entry add_kernel(
// BARE-PTX-NEXT: .param .u64 .ptr .align 1 add_kernel_param_0,
// BARE-PTX-NEXT: .param .u64 .ptr .align 1 add_kernel_param_1
// BARE-PTX-NEXT: )

// A 2-D descriptor is two pointers, an offset, two sizes and two strides.
// DESC-HOST: gpu.launch_func {{.*}} args(%{{[^ ]*}} : !llvm.ptr, %{{[^ ]*}} : !llvm.ptr, %{{[^ ]*}} : i64, %{{[^ ]*}} : i64, %{{[^ ]*}} : i64, %{{[^ ]*}} : i64, %{{[^ ]*}} : i64,
// DESC-PTX: .entry add_kernel(
// DESC-PTX-COUNT-14: .param
// DESC-PTX-NEXT: )

func.func @add(%a: tensor<4x64xf32>, %b: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %c = arith.addf %a, %b : tensor<4x64xf32>
  return %c : tensor<4x64xf32>
}
