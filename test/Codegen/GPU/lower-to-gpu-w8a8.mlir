// The GPU pipeline on a W8A8 linear layer (per-token dynamic int8
// activations, per-channel int8 weights, i32 accumulation): the matmul
// kernel reads 16 bytes of each operand per lane and chunk and sums them
// with four dp4a; the activations' minimum and maximum share one warp
// kernel. ptxas assembles every kernel for sm_80 and sm_90. Before sm_61
// there is no dp4a: the products are plain integer arithmetic.
//
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_60" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - | FileCheck %s --check-prefix=SM60
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_90 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu="chip=sm_80" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_80 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}

// The minimum and maximum: 16-byte loads, two butterflies in one kernel.
// CHECK-LABEL: // object @linear_kernel_2
// CHECK: ld.global.v4.b32
// CHECK: min.f32
// CHECK: max.f32
// CHECK-COUNT-10: shfl.sync.bfly.b32

// The matmul: one 16-byte load of each operand, four dp4a, a butterfly.
// CHECK-LABEL: // object @linear_kernel_6
// CHECK-DAG: shfl.sync.bfly.b32 {{.*}}, 16, 31, -1;
// CHECK-DAG: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// CHECK: ld.global.v4.b32
// CHECK-NEXT: ld.global.v4.b32
// CHECK-COUNT-4: dp4a.s32.s32
// CHECK-LABEL: // object @linear_kernel_7

// SM60: .target sm_60
// SM60-NOT: dp4a
// PTXAS-COUNT-9: ptxas: @linear_kernel{{.*}} ok
func.func @linear(%x: tensor<1x256xf32>,
                  %w: tensor<64x256x!lattice.quant<s8, f32, channel<0>>>,
                  %s: tensor<64xf32>) -> tensor<1x64xf32> {
  %xq, %xs = lattice.dynamic_quantize %x
      : (tensor<1x256xf32>) -> (tensor<1x256x!lattice.quant<s8, f32, channel<0>>>, tensor<1xf32>)
  %y = lattice.matmul %xq, %w lhs_scale(%xs) rhs_scale(%s) accumulate(i32)
      : (tensor<1x256x!lattice.quant<s8, f32, channel<0>>>,
         tensor<64x256x!lattice.quant<s8, f32, channel<0>>>,
         tensor<1xf32>, tensor<64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
