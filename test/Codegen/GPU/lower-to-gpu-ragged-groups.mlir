// The GPU pipeline on a W4A16 layer whose groups of 32 leave a shorter last
// one (K = 72: two groups of 32 and one of 8). The codes are widened to
// bytes over their flat run, the activations and codes padded to whole
// groups (fills of a constant from above the kernel), then multiplied;
// every kernel assembles with ptxas.
//
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %s --lattice-lower-to-gpu="chip=sm_80" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - | FileCheck %s
// RUN: %if ptxas %{ lattice-opt %s --lattice-lower-to-gpu="chip=sm_80" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - --ptxas %ptxas --arch sm_80 \
// RUN: | FileCheck %s --check-prefix=PTXAS %}

// CHECK-LABEL: // object @linear_kernel
// CHECK: .target sm_80
// PTXAS-COUNT-7: ptxas: @linear_kernel{{.*}} ok
// PTXAS-NOT: error
func.func @linear(%x: tensor<2x72xf32>,
                  %w: tensor<16x72x!lattice.quant<s4, f16, group<1, 32>>>,
                  %s: tensor<16x3xf16>) -> tensor<2x16xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<2x72xf32>, tensor<16x72x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<16x3xf16>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
