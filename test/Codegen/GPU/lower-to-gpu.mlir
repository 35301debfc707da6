// The whole GPU pipeline on a W4A16 MLP block (RMSNorm, two matmuls with
// 4-bit weights in groups of 32, ReLU): host code that queues one kernel per
// linalg op on one stream, and PTX for each kernel, which ptxas assembles for
// sm_80 and sm_90.
//
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" | FileCheck %s --check-prefix=HOST
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - > %t.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: FileCheck %s --check-prefix=NOCVT < %t.ptx
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_90 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_80 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}
//
// The IR between the stages: kernels on buffers, then outlined.
// RUN: lattice-opt %s --pass-pipeline="builtin.module(convert-lattice-to-linalg,func.func(convert-elementwise-to-linalg),canonicalize,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(lattice-gpu-distribute),lattice-emulate-narrow-types,lattice-gpu-allocate-on-device,canonicalize,cse,gpu-kernel-outlining)" \
// RUN: | FileCheck %s --check-prefix=KERNELS

// HOST-LABEL: llvm.func @mlp(
// HOST: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// HOST: llvm.call @mgpuMemAlloc
// HOST-COUNT-8: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @mlp_kernel{{.*}}::@mlp_kernel
// HOST: llvm.call @mgpuMemFree
// HOST: llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// HOST: llvm.call @mgpuStreamDestroy(%[[STREAM]])
// HOST: gpu.binary @mlp_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx78">

// The matmul kernel reads, per lane and chunk of 16, the activations in four
// 16-byte loads and the 4-bit codes in one 8-byte load; it unpacks the codes
// with bit-field extracts and turns them into floats through the exponent of
// 2^23 (xor with 0x4B000008, add -(2^23 + 8)) without a conversion
// instruction, scales them by the group's f16 scale and sums with fma; the
// warp's partial sums meet in five butterfly shuffles.
// PTX-LABEL: // object @mlp_kernel_4
// PTX: .target sm_90
// PTX-DAG: ld.global.v4.b32
// PTX-DAG: ld.global.v2.b32
// PTX-DAG: bfe.u32
// PTX-DAG: xor.b32 {{.*}}, 1258291208;
// PTX-DAG: add.rn.f32 {{.*}}, 0fCB000008;
// PTX-DAG: cvt.f32.f16
// PTX-DAG: fma.rn.f32
// PTX-DAG: shfl.sync.bfly.b32 {{.*}}, 16, 31, -1;
// PTX-DAG: shfl.sync.bfly.b32 {{.*}}, 8, 31, -1;
// PTX-DAG: shfl.sync.bfly.b32 {{.*}}, 4, 31, -1;
// PTX-DAG: shfl.sync.bfly.b32 {{.*}}, 2, 31, -1;
// PTX-DAG: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// PTX-LABEL: // object @mlp_kernel_5
// NOCVT: // object @mlp_kernel_4
// NOCVT-NOT: cvt.rn.f32.s
// NOCVT: // object @mlp_kernel_5
// PTXAS-COUNT-8: ptxas: @mlp_kernel{{.*}} ok

// KERNELS-LABEL: func.func @mlp(
// KERNELS-SAME: %{{.*}}: memref<4096xi8>
// KERNELS: gpu.launch_func @mlp_kernel_4::@mlp_kernel blocks in
// KERNELS: gpu.module @mlp_kernel_4
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
