// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=group group-size=4 edge-bits=8" | FileCheck %s

/// edge-bits: the first and the last matmul get 8-bit codes per channel,
/// the middle one the default 4-bit groups.
// CHECK-LABEL: func.func @three
// CHECK: lattice.matmul {{.*}}tensor<4x8x!lattice.quant<s8, f32, channel<0>>>
// CHECK: lattice.matmul {{.*}}tensor<4x4x!lattice.quant<s4, f32, group<1, 4>>>
// CHECK: lattice.matmul {{.*}}tensor<2x4x!lattice.quant<s8, f32, channel<0>>>
func.func @three(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w1 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5, 1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0, 0.25, 1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [-3.0, 2.0, 0.1, 0.2, -3.0, 2.0, 0.1, 0.2]]> : tensor<4x8xf32>
  %w2 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0], [-3.0, 2.0, 0.1, 0.2]]> : tensor<4x4xf32>
  %w3 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0]]> : tensor<2x4xf32>
  %a = lattice.matmul %x, %w1 accumulate(f32) : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  %b = lattice.matmul %a, %w2 accumulate(f32) : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %c = lattice.matmul %b, %w3 accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %c : tensor<3x2xf32>
}
