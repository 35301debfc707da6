// RUN: lattice-opt %s --lattice-cpu-use-ukernels="vector-bits=128" | FileCheck %s

// A target with 128-bit vectors gets none of the GEMMs.
// CHECK-LABEL: func.func @gemm_sse
// CHECK-NOT: call @lattice_uk
// CHECK: lattice.matmul
func.func @gemm_sse(%x: tensor<64x96xf32>, %w: tensor<48x96xf32>) -> tensor<64x48xf32> {
  %y = lattice.matmul %x, %w accumulate(f32)
      : (tensor<64x96xf32>, tensor<48x96xf32>) -> tensor<64x48xf32>
  return %y : tensor<64x48xf32>
}
