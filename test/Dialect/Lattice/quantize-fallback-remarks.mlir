// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=group group-size=8 group-fallback=true report=true" -verify-diagnostics | FileCheck %s

/// group-fallback: K = 8 takes groups of 8; K = 4 does not, and is
/// quantized per channel with a remark.
// CHECK-LABEL: func.func @three
// CHECK: lattice.matmul {{.*}}tensor<4x8x!lattice.quant<s4, f32, group<1, 8>>>
// CHECK: lattice.matmul {{.*}}tensor<4x4x!lattice.quant<s4, f32, channel<0>>>
// CHECK: lattice.matmul {{.*}}tensor<2x4x!lattice.quant<s4, f32, channel<0>>>
func.func @three(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w1 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5, 1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0, 0.25, 1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [-3.0, 2.0, 0.1, 0.2, -3.0, 2.0, 0.1, 0.2]]> : tensor<4x8xf32>
  %w2 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0], [-3.0, 2.0, 0.1, 0.2]]> : tensor<4x4xf32>
  %w3 = arith.constant dense<[[1.0, -2.0, 3.0, 0.5], [0.25, 1.0, -1.0, 2.0]]> : tensor<2x4xf32>
  // expected-remark @+1 {{weight SQNR}}
  %a = lattice.matmul %x, %w1 accumulate(f32) : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  // expected-remark @+2 {{group size 8 does not divide K = 4; quantized per channel}}
  // expected-remark @+1 {{weight SQNR}}
  %b = lattice.matmul %a, %w2 accumulate(f32) : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  // expected-remark @+2 {{group size 8 does not divide K = 4; quantized per channel}}
  // expected-remark @+1 {{weight SQNR}}
  %c = lattice.matmul %b, %w3 accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %c : tensor<3x2xf32>
}
