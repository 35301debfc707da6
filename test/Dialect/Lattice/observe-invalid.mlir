// RUN: lattice-opt %s --lattice-observe -split-input-file -verify-diagnostics

func.func @unnamed(%x: tensor<1x4xf32>, %w: tensor<2x4xf32>) -> tensor<1x2xf32> {
  // expected-warning@+1 {{matmul has no layer name and is not observed; name its weight or give it a name location}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @same_name(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("fc")
  %v = arith.constant dense<2.0> : tensor<2x4xf32> loc("fc")
  // expected-remark@+1 {{the other matmul named 'fc'}}
  %a = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  // expected-error@+1 {{layer name 'fc' is used by two matmuls with different weights; probes need unique names}}
  %b = lattice.matmul %x, %v accumulate(f32) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  %y = arith.addf %a, %b : tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
