// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "fc:input.min@=-2" "fc:input.max@=2" "fc:input.absmax@2=2,2" "fc:input.rows@=4" \
// RUN:   "fc:input.xtx@2x2=4,0,0,4" "fc:input.cross@2x2=4,0,2,4" \
// RUN:   "nocross:input.min@=-2" "nocross:input.max@=2" "nocross:input.absmax@2=2,2" \
// RUN:   "nocross:input.rows@=4" "nocross:input.xtx@2x2=4,0,0,4"
// RUN: lattice-opt %s --lattice-quantize="weight-bits=8 qep=true qep-alpha=0.5 layers=fc,nocross report=true stats=%t.stats" -split-input-file -verify-diagnostics | FileCheck %s

// Bad QEP options are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-quantize="qep=true" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-quantize: qep=true needs stats=<file> with QEP's statistics of every layer's input (lattice-compile gathers them for the -qep recipes)
// RUN: not lattice-opt %s --lattice-quantize="qep=true qep-alpha=1.5 stats=%t.stats" 2>&1 | FileCheck %s --check-prefix=ALPHA
// ALPHA: lattice-quantize: qep-alpha must be in [0, 1], got 1.5
// RUN: not lattice-opt %s --lattice-quantize="qep=true qep-alpha=nan stats=%t.stats" 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: lattice-quantize: qep-alpha must be in [0, 1], got nan

/// G = X^ ^T X^ = 4 I, C = X^T X^ = [[4, 0], [2, 4]]: W (C - G) = [2, 0] for
/// W = [1, 1], over G + 0.01 * 4 I = 4.04 I that is [0.495, 0], and with
/// alpha 0.5 the target is W* = [1.24752, 1] (moved by 0.24752 / sqrt(2)
/// of its norm): 8-bit codes 127 and round(1 / (1.24752 / 127)) = 102. Only the layers of `layers` are
/// quantized.
// CHECK-LABEL: func.func @qep
// CHECK: %[[C:.*]] = arith.constant dense<{{\[}}[127, 102]]> : tensor<1x2xi8>
// CHECK: %[[Q:.*]] = lattice.scast %[[C]]
// CHECK: lattice.matmul %{{.*}}, %[[Q]] rhs_scale
// CHECK: %[[V:.*]] = arith.constant dense<1.000000e+00> : tensor<1x2xf32>
// CHECK: lattice.matmul %{{.*}}, %[[V]] accumulate(f32) : (tensor<4x2xf32>, tensor<1x2xf32>)
func.func @qep(%x: tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>) {
  %w = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32> loc("fc")
  // expected-remark @below {{layer 'fc': QEP moved the weight by 0.175026421 of its norm}}
  // expected-remark @below {{layer 'fc': '!lattice.quant<s8, f32, channel<0>>', weight SQNR}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  %v = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32> loc("other")
  %z = lattice.matmul %x, %v accumulate(f32) : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  return %y, %z : tensor<4x1xf32>, tensor<4x1xf32>
}

// -----

// QEP statistics without the cross moment: the error names the tensor.
func.func @no_cross(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32> loc("nocross")
  // expected-error @below {{tensor 'nocross:input.cross' is missing}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}
