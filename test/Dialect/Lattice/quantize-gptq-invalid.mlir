// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/Inputs/make-stats.py %t/s.safetensors \
// RUN:   "soft:input.min@=-1" "soft:input.max@=1" "soft:input.absmax@2=1,1" "soft:input.rows@=8" \
// RUN:   "soft:input.xtx@2x2=1,1.5,1.5,1" \
// RUN:   "huge:input.min@=-1" "huge:input.max@=1" "huge:input.absmax@2=1,1" "huge:input.rows@=8" \
// RUN:   "huge:input.xtx@2x2=1,1e9,1e9,1" \
// RUN:   "skew:input.min@=-1" "skew:input.max@=1" "skew:input.absmax@2=1,1" "skew:input.rows@=8" \
// RUN:   "skew:input.xtx@2x2=1,0.5,-0.5,1" \
// RUN:   "dead:input.min@=-1" "dead:input.max@=1" "dead:input.absmax@2=1,0" "dead:input.rows@=8" \
// RUN:   "dead:input.xtx@2x2=2,0,0,0" \
// RUN:   "smooth:input.min@=-1" "smooth:input.max@=1" "smooth:input.absmax@2=1,1" "smooth:input.rows@=8" \
// RUN:   "smooth:input.xtx@2x2=1,0,0,1" \
// RUN:   "nox:input.min@=-1" "nox:input.max@=1" "nox:input.absmax@2=1,1"
// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=channel method=gptq stats=%t/s.safetensors" -split-input-file -verify-diagnostics

// Bad GPTQ options are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-quantize="method=awesome" 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: lattice-quantize: method must be 'rtn' or 'gptq', got 'awesome'
// RUN: not lattice-opt %s --lattice-quantize="damp=0" 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: lattice-quantize: damp must be in (0, 1], got 0
// RUN: not lattice-opt %s --lattice-quantize="damp=nan" 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: lattice-quantize: damp must be in (0, 1], got nan
// RUN: not lattice-opt %s --lattice-quantize="block-size=0" 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: lattice-quantize: block-size must be positive, got 0
// RUN: not lattice-opt %s --lattice-quantize="method=gptq" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-quantize: method=gptq needs stats=<file> with the X^T X of every layer's input (lattice-compile --calib-xtx)
// RUN: not lattice-opt %s --lattice-quantize="method=gptq weight-bits=ternary stats=%t/s.safetensors" 2>&1 | FileCheck %s --check-prefix=TERNARY
// TERNARY: lattice-quantize: method 'gptq' needs integer codes (weight-bits 2 to 8), got 'ternary'

// Statistics without X^T X: the error names the layer and the tensor.
func.func @no_xtx(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("nox")
  // expected-error @below {{layer 'nox': }}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// A per-layer override with a bad dampening.
func.func @override(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("soft")
  // expected-error @below {{layer 'soft': damp must be in (0, 1], got 2}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {damp = 2.0 : f64}} : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// A per-layer override with an empty lazy batch.
func.func @override_block(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("soft")
  // expected-error @below {{layer 'soft': block-size must be positive, got 0}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {block_size = 0 : i64}} : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// An X^T X with a negative eigenvalue (no Gram matrix has one): the
// dampening grows until it is positive definite, with a warning.
func.func @more_dampening(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("soft")
  // expected-warning @below {{layer 'soft': X^T X plus the dampening is not positive definite; dampening raised to 1}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// One that no dampening fixes, and one that is not symmetric: errors.
func.func @hopeless(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("huge")
  // expected-error @below {{layer 'huge': GPTQ: X^T X is not positive definite even with dampening 1e+06}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

func.func @skewed(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("skew")
  // expected-error @below {{layer 'skew': GPTQ: X^T X is not symmetric: [1, 0] is -0.5, [0, 1] is 0.5}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// An input channel that no calibration row reached: its weights are zero.
func.func @dead_channel(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("dead")
  // expected-warning @below {{layer 'dead': 1 of 2 input channels are zero on every calibration row; their weights are set to zero}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// A layer whose input SmoothQuant or AWQ rescaled after its statistics were
// gathered: X^T X (the identity here) is rescaled by the recorded factors,
// so that a channel scaled by 0 is dead.
func.func @smoothed(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("smooth")
  // expected-warning @below {{layer 'smooth': 1 of 2 input channels are zero on every calibration row; their weights are set to zero}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.input_rescale = array<f32: 0.0, 2.0>} : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}
