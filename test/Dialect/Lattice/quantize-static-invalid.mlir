// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats "fc:input.min@=-1" "fc:input.max@=inf"
// RUN: lattice-opt %s --lattice-quantize="activations=static stats=%t.stats" -split-input-file -verify-diagnostics

func.func @unnamed(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{activations=static needs a layer name to find the statistics of the matmul's input}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @infinite(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("fc")
  // expected-error@+1 {{tensor 'fc:input.max' holds Inf at index 0}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @absent(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("other")
  // expected-error@+1 {{tensor 'other:input.min' is missing}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
