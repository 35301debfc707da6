// RUN: lattice-opt %s --lattice-renormalize="report=true" -split-input-file -verify-diagnostics | FileCheck %s
// RUN: not lattice-opt %s --lattice-renormalize="tolerance=0" 2>&1 | FileCheck %s --check-prefix=TOLERANCE
// TOLERANCE: lattice-renormalize: tolerance must be in (0, 1), got 0

// CHECK-LABEL: func.func @folded
func.func @folded(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>> loc("out")
  %s = arith.constant dense<[0.19, 0.15]> : tensor<2xf32>
  // expected-remark@+1 {{layer 'out': row norms folded into the scales (largest deviation from 1 was 0.05}}
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Rows that were not unit vectors keep their scales.
// CHECK-LABEL: func.func @not_unit
// CHECK: arith.constant dense<[1.000000e+00, 1.500000e-01]>
func.func @not_unit(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>> loc("big")
  %s = arith.constant dense<[1.0, 0.15]> : tensor<2xf32>
  // expected-remark@+1 {{layer 'big': row 0 has norm 5, not 1 within the tolerance}}
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @per_tensor(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 5]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32>> loc("tensor")
  %s = arith.constant dense<0.2> : tensor<f32>
  // expected-remark@+1 {{layer 'tensor': one per-tensor scale cannot carry per-row norms}}
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @runtime_weight(%x: tensor<3x2xf32>, %w: tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, %s: tensor<2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x2xf32>) -> tensor<3x2xf32>
  // expected-remark@+1 {{layer '': the weight codes or scales are not constants}}
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
