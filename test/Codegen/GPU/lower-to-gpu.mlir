// The whole GPU pipeline on a W4A16 MLP block (RMSNorm, two matmuls with
// 4-bit weights in groups of 32, ReLU): host code that queues one kernel per
// linalg op on one stream, and PTX for each kernel, which ptxas assembles for
// sm_80 and sm_90.
//
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" | FileCheck %s --check-prefix=HOST
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - | FileCheck %s --check-prefix=PTX
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_90 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_80 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}
//
// The IR between the stages: kernels on buffers, then outlined.
// RUN: lattice-opt %s --pass-pipeline="builtin.module(convert-lattice-to-linalg,func.func(convert-elementwise-to-linalg),canonicalize,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(lattice-gpu-distribute),lattice-cpu-emulate-narrow-types,lattice-gpu-allocate-on-device,canonicalize,cse,gpu-kernel-outlining)" \
// RUN: | FileCheck %s --check-prefix=KERNELS

// HOST-LABEL: llvm.func @mlp(
// HOST: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// HOST: llvm.call @mgpuMemAlloc
// HOST-COUNT-7: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @mlp_kernel{{.*}}::@mlp_kernel
// HOST: llvm.call @mgpuMemFree
// HOST: llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// HOST: llvm.call @mgpuStreamDestroy(%[[STREAM]])
// HOST: gpu.binary @mlp_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx78">

// The 4-bit codes are read as bytes, unpacked with bit-field extracts,
// scaled by the group's f16 scale and summed with fma; the warp's partial
// sums meet in five butterfly shuffles.
// PTX: // object @mlp_kernel_3
// PTX: .target sm_90
// PTX: ld.global.s8
// PTX: bfe.s32
// PTX: cvt.f32.f16
// PTX: fma.rn.f32
// PTX-COUNT-5: shfl.sync.bfly.b32
// PTXAS-COUNT-7: ptxas: @mlp_kernel{{.*}} ok

// KERNELS-LABEL: func.func @mlp(
// KERNELS-SAME: %{{.*}}: memref<4096xi8>
// KERNELS: gpu.launch_func @mlp_kernel_3::@mlp_kernel blocks in
// KERNELS: gpu.module @mlp_kernel_3
// KERNELS: gpu.shuffle  xor
func.func @mlp(%x: tensor<1x64xf32>, %gamma: tensor<64xf32>,
               %w1: tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>, %s1: tensor<128x2xf16>,
               %w2: tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>, %s2: tensor<64x4xf16>) -> tensor<1x64xf32> {
  %h = lattice.rms_norm %x, %gamma {epsilon = 1.0e-6 : f32}
      : (tensor<1x64xf32>, tensor<64xf32>) -> tensor<1x64xf32>
  %a = lattice.matmul %h, %w1 rhs_scale(%s1) accumulate(f32)
      : (tensor<1x64xf32>, tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<128x2xf16>) -> tensor<1x128xf32>
  %zero = arith.constant dense<0.0> : tensor<1x128xf32>
  %r = arith.maximumf %a, %zero : tensor<1x128xf32>
  %y = lattice.matmul %r, %w2 rhs_scale(%s2) accumulate(f32)
      : (tensor<1x128xf32>, tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<64x4xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
