// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "fc:input.min@=-9" "fc:input.max@=9" "fc:input.absmax@4=4,1,0,9" \
// RUN:   "fc:input.absmean@4=1,0.5,0,4" "fc:input.rows@=8" \
// RUN:   "fc:input.xtx@4x4=8,0,0,0,0,2,0,0,0,0,0,0,0,0,0,128" \
// RUN:   "flat:input.min@=-1" "flat:input.max@=1" "flat:input.absmax@4=1,1,1,1" \
// RUN:   "flat:input.absmean@4=0.5,0.5,0.5,0.5" "flat:input.rows@=8" \
// RUN:   "flat:input.xtx@4x4=2,0,0,0,0,2,0,0,0,0,2,0,0,0,0,2" \
// RUN:   "arg:input.min@=-9" "arg:input.max@=9" "arg:input.absmax@4=4,1,0,9" \
// RUN:   "arg:input.absmean@4=1,0.5,0,4" "arg:input.rows@=8" \
// RUN:   "arg:input.xtx@4x4=8,0,0,0,0,2,0,0,0,0,0,0,0,0,0,128"
// RUN: %PYTHON %S/Inputs/make-stats.py %t.reshape.stats \
// RUN:   "g:input.min@=-9" "g:input.max@=9" "g:input.absmax@4=4,1,0,9" \
// RUN:   "g:input.absmean@4=1,0.5,0,4" "g:input.rows@=8" \
// RUN:   "g:input.xtx@4x4=8,0,0,0,0,2,0,0,0,0,0,0,0,0,0,128" \
// RUN:   "u:input.min@=-9" "u:input.max@=9" "u:input.absmax@4=4,1,0,9" \
// RUN:   "u:input.absmean@4=1,0.5,0,4" "u:input.rows@=8" \
// RUN:   "u:input.xtx@4x4=8,0,0,0,0,2,0,0,0,0,0,0,0,0,0,128"
// RUN: lattice-opt %S/Inputs/awq-reshapes.mlir --lattice-awq="stats=%t.reshape.stats weight-bits=3 granularity=channel grid=4" -verify-diagnostics | FileCheck %S/Inputs/awq-reshapes.mlir --check-prefix=RESHAPE
// RUN: lattice-opt %s --lattice-awq="stats=%t.stats weight-bits=3 granularity=channel grid=4" -split-input-file -verify-diagnostics | FileCheck %s

/// mean|X| = [1, 0.5, 0 (never active), 4], X^T X = diag(8, 2, 0, 128): the
/// output error of 3-bit rows is least at alpha = 0.5 (0.0115 of the
/// output's energy against 0.0909 unscaled; numpy agrees), where
/// s = sqrt(mean|X|) / sqrt(max * min) = [0.841, 0.595, 1, 1.682]. The
/// weight's columns are multiplied by s, the RMSNorm gain divided by it,
/// and the matmul records the factors of its input.
// CHECK-LABEL: func.func @norm
// CHECK: %[[G:.*]] = arith.constant dense<[1.18920708, 1.68179286, 1.000000e+00, 0.594603539]> : tensor<4xf32>
// CHECK: %[[N:.*]] = lattice.rms_norm %{{.*}}, %[[G]]
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[0.840896427, -0.297301769, 2.500000e-01, 0.50453788], [0.25226894, 0.535143197, -1.000000e+00, -0.336358577]]>
// CHECK: lattice.matmul %[[N]], %[[W]] accumulate(f32) {lattice.input_rescale = array<f32: 1.18920708, 1.68179286, 1.000000e+00, 0.594603539>}
// CHECK-NOT: lattice.channel_scale
func.func @norm(%x: tensor<8x4xf32>) -> tensor<8x2xf32> {
  %g = arith.constant dense<[1.0, 1.0, 1.0, 1.0]> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 0.3], [0.3, 0.9, -1.0, -0.2]]> : tensor<2x4xf32> loc("fc")
  // expected-warning @below {{layer 'fc': 1 of 4 input channels (the first: 2) are zero on every calibration row; their scales stay 1}}
  // expected-remark @below {{layer 'fc': alpha 0.5, output error 0.0114939105 (unscaled: 0.0909207619)}}
  %y = lattice.matmul %n, %w accumulate(f32) : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

/// Equal magnitudes on every channel: every alpha gives s = 1, and the
/// layer stays as it was.
// CHECK-LABEL: func.func @flat
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, -5.000000e-01, 2.500000e-01, 3.000000e-01]
// CHECK-NOT: lattice.input_rescale
func.func @flat(%x: tensor<8x4xf32>) -> tensor<8x1xf32> {
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 0.3]]> : tensor<1x4xf32> loc("flat")
  // expected-remark @below {{layer 'flat': alpha 0, output error}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x4xf32>, tensor<1x4xf32>) -> tensor<8x1xf32>
  return %y : tensor<8x1xf32>
}

// -----

/// An input that no norm produces keeps an explicit channel scale.
// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xf32>)
// CHECK: %[[S:.*]] = arith.constant dense<[1.18920708, 1.68179286, 1.000000e+00, 0.594603539]>
// CHECK: %[[XS:.*]] = lattice.channel_scale %[[X]], %[[S]]
// CHECK: lattice.matmul %[[XS]]
func.func @argument(%x: tensor<8x4xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 0.3], [0.3, 0.9, -1.0, -0.2]]> : tensor<2x4xf32> loc("arg")
  // expected-warning @+3 {{layer 'arg': 1 of 4 input channels (the first: 2) are zero}}
  // expected-remark @+2 {{layer 'arg': alpha 0.5}}
  // expected-remark @below {{layer 'arg': the producer of its input cannot absorb the AWQ scales; kept an explicit lattice.channel_scale}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

/// A recipe file's bits (a string of digits in the layer's
/// lattice.quantize dictionary) are the scheme the search models: at 8 bits
/// the unscaled error is 5.1e-5 of the output's energy (0.091 at the
/// pass's 3 bits).
// CHECK-LABEL: func.func @recipe_bits
// CHECK: lattice.channel_scale
func.func @recipe_bits(%x: tensor<8x4xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 0.3], [0.3, 0.9, -1.0, -0.2]]> : tensor<2x4xf32> loc("fc")
  // expected-warning @+3 {{layer 'fc': 1 of 4 input channels (the first: 2) are zero}}
  // expected-remark @+2 {{layer 'fc': alpha 0.25, output error 4.01056587e-06 (unscaled: 5.13093604e-05)}}
  // expected-remark @+1 {{the producer of its input cannot absorb the AWQ scales}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {weight_bits = "8"}} : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}
