// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=group group-size=8 report=true" -verify-diagnostics | FileCheck %s

/// Groups of 8 along K: K = 8 is one group; K = 12 two, the second of 4;
/// K = 4 one group of 4. Each shorter group has a scale of its own, set by
/// its own elements: row 0 of %w2 is 1 and 2 in its first group, 8 in its
/// last, so the two scales differ (2 / 7 and 8 / 7). Bits per weight count
/// every scale: (12 x 4 + 2 x 32) / 12 for K = 12.
// CHECK-LABEL: func.func @ragged
// CHECK: arith.constant dense<{{\[}}[0.285714298, 1.14285719], [0.0714285746, 0.0714285746]]> : tensor<2x2xf32>
// CHECK: lattice.matmul {{.*}}tensor<4x8x!lattice.quant<s4, f32, group<1, 8>>>, tensor<4x1xf32>
// CHECK: lattice.matmul {{.*}}tensor<2x12x!lattice.quant<s4, f32, group<1, 8>>>, tensor<2x2xf32>
// CHECK: lattice.matmul {{.*}}tensor<3x4x!lattice.quant<s4, f32, group<1, 8>>>, tensor<3x1xf32>
func.func @ragged(%x: tensor<3x8xf32>) -> tensor<3x3xf32> {
  %w1 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5, 1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0, 0.25, 1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [-3.0, 2.0, 0.1, 0.2, -3.0, 2.0, 0.1, 0.2]]> : tensor<4x8xf32>
  %w2 = arith.constant dense<[[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 8.0, 4.0, -8.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]]> : tensor<2x12xf32>
  %w3 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0], [-7.0, 1.0, 1.0, 1.0]]> : tensor<3x4xf32>
  // expected-remark @+1 {{weight SQNR}}
  %a = lattice.matmul %x, %w1 accumulate(f32) : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  %y = tensor.concat dim(1) %a, %a, %a : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x12xf32>
  // expected-remark @+1 {{weight SQNR 26.12 dB, 9.33333333 bits per weight}}
  %b = lattice.matmul %y, %w2 accumulate(f32) : (tensor<3x12xf32>, tensor<2x12xf32>) -> tensor<3x2xf32>
  %z = tensor.concat dim(1) %b, %b : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
  // expected-remark @+1 {{weight SQNR 29.15 dB, 12 bits per weight}}
  %c = lattice.matmul %z, %w3 accumulate(f32) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x3xf32>
  return %c : tensor<3x3xf32>
}
