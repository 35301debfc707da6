// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 report=true" -split-input-file -verify-diagnostics | FileCheck %s

/// The report names the layer (the constant's name location), the scheme,
/// the weight SQNR and the bits per weight: 4-bit codes and one 32-bit
/// scale per row of 4 make 12.
// CHECK-LABEL: func.func @report
func.func @report(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 15.0, -1.0, 14.0], [7.0, -3.5, 1.75, -0.25]]> : tensor<2x4xf32> loc("fc.1")
  // expected-remark@+1 {{layer 'fc.1': '!lattice.quant<s4, f32, channel<0>>', weight SQNR 23.11 dB, 12 bits per weight}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Overrides change the scheme that is reported: 8-bit codes and one f16
/// scale for 8 weights make 10 bits.
// CHECK-LABEL: func.func @override
func.func @override(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32> loc("head")
  // expected-remark@+1 {{layer 'head': '!lattice.quant<s8, f16>', weight SQNR 48.73 dB, 10 bits per weight}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {weight_bits = 8, granularity = "tensor", scale_type = "f16"}}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// An all-zero row gets the fallback scale 1, and says so; with no error at
/// all, the SQNR is infinite. A zero output channel is a warning, report or
/// not.
// CHECK-LABEL: func.func @zero_row
// CHECK-DAG: arith.constant dense<{{\[}}[0, 0], [7, -7]]> : tensor<2x2xi8>
// CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
func.func @zero_row(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.0, 0.0], [14.0, -14.0]]> : tensor<2x2xf32>
  // expected-warning@+3 {{layer '<unnamed>': output channel 0 of 2 is zero}}
  // expected-remark@+2 {{layer '<unnamed>': 1 all-zero blocks use the fallback scale 1}}
  // expected-remark@+1 {{layer '<unnamed>': '!lattice.quant<s4, f32, channel<0>>', weight SQNR inf dB, 20 bits per weight}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

/// Several zero output channels are counted; a weight that is zero
/// everywhere says so.
func.func @zero_rows(%x: tensor<1x2xf32>) -> (tensor<1x3xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]> : tensor<3x2xf32> loc("some")
  %z = arith.constant dense<0.0> : tensor<2x2xf32> loc("none")
  // expected-warning@+2 {{layer 'some': output channel 1 of 3 is zero (and 1 more)}}
  // expected-remark@+1 {{layer 'some'}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<1x3xf32>
  // expected-warning@+2 {{layer 'none': the weight is zero everywhere}}
  // expected-remark@+1 {{layer 'none'}}
  %v = lattice.matmul %x, %z accumulate(f32) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y, %v : tensor<1x3xf32>, tensor<1x2xf32>
}
