// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=group group-size=4" -split-input-file -verify-diagnostics

// Bad option values are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-quantize="weight-bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: lattice-quantize: weight-bits must be 2 to 8, 'ternary' or 'binary', got '9'
// RUN: not lattice-opt %s --lattice-quantize="weight-bits=ternary symmetric=false" 2>&1 | FileCheck %s --check-prefix=TERNARY
// TERNARY: lattice-quantize: ternary codes are symmetric; use symmetric=true
// RUN: not lattice-opt %s --lattice-quantize="granularity=row" 2>&1 | FileCheck %s --check-prefix=GRANULARITY
// GRANULARITY: lattice-quantize: granularity must be 'tensor', 'channel' or 'group', got 'row'
// RUN: not lattice-opt %s --lattice-quantize="granularity=group group-size=0" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: lattice-quantize: group-size must be positive, got 0
// RUN: not lattice-opt %s --lattice-quantize="scale-type=f64" 2>&1 | FileCheck %s --check-prefix=SCALE
// SCALE: lattice-quantize: scale-type must be 'f32', 'f16' or 'bf16', got 'f64'
// RUN: not lattice-opt %s --lattice-quantize="clip=kl" 2>&1 | FileCheck %s --check-prefix=CLIP
// CLIP: lattice-quantize: clip must be 'minmax', 'percentile' or 'mse', got 'kl'
// RUN: not lattice-opt %s --lattice-quantize="clip=percentile percentile=40" 2>&1 | FileCheck %s --check-prefix=PERCENTILE
// PERCENTILE: lattice-quantize: percentile must be in (50, 100], got 40
// RUN: not lattice-opt %s --lattice-quantize="activations=weekly" 2>&1 | FileCheck %s --check-prefix=ACTIVATIONS
// ACTIVATIONS: lattice-quantize: activations must be 'none', 'dynamic' or 'static', got 'weekly'
// RUN: not lattice-opt %s --lattice-quantize="activations=static" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-quantize: activations=static needs stats=<file> (written by lattice.calibrate)
// RUN: not lattice-opt %s --lattice-quantize="activation-percentile=20" 2>&1 | FileCheck %s --check-prefix=APERCENTILE
// APERCENTILE: lattice-quantize: activation-percentile must be in (50, 100], got 20
// RUN: not lattice-opt %s --lattice-quantize="stats=%t.missing" 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: lattice-quantize: cannot read '{{.*}}.missing': 
// RUN: not lattice-opt %s --lattice-quantize="activation-bits=16" 2>&1 | FileCheck %s --check-prefix=ABITS
// ABITS: lattice-quantize: activation-bits must be 2 to 8, got 16
// RUN: not lattice-opt %s --lattice-quantize="skip=fc(" 2>&1 | FileCheck %s --check-prefix=REGEX
// REGEX: lattice-quantize: skip pattern 'fc(' is not a regular expression: parentheses not balanced

func.func @non_finite_weight(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 0x7FC00000, 3.0, 4.0]]> : tensor<2x4xf32> loc("fc")
  // expected-error@+1 {{layer 'fc': weight element [1, 1] is nan}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @weight_not_constant(%x: tensor<1x4xf32>, %w: tensor<2x4xf32>) -> tensor<1x2xf32> {
  // expected-warning@+1 {{layer '<unnamed>': the weight is not a constant; left in float}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_not_dictionary(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' must be a dictionary, got 4 : i64}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = 4} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_unknown_entry(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' has unknown entry 'bits'}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {bits = 4}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_wrong_type(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' entry 'symmetric' must be a boolean, got "yes"}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {symmetric = "yes"}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_bad_value(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("fc")
  // expected-error@+1 {{layer 'fc': weight-bits must be 2 to 8, 'ternary' or 'binary', got '1'}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {weight_bits = 1}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_bad_group_size(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' entry 'group_size' must be a non-negative integer, got -4 : i64}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {group_size = -4}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_percentile_not_float(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' entry 'percentile' must be a float, got 99 : i64}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {percentile = 99}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_skip_not_unit(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' entry 'skip' must be a unit attribute, got true}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {skip = true}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @override_string_not_string(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{'lattice.quantize' entry 'clip' must be a string, got 3 : i64}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {clip = 3}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

func.func @dynamic_rank3(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{dynamic activation quantization of a rank-3 lhs is not supported yet; flatten it to [M, K]}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {activations = "dynamic", granularity = "channel"}} : (tensor<2x3x4xf32>, tensor<2x4xf32>) -> tensor<2x3x2xf32>
  return %y : tensor<2x3x2xf32>
}

// -----

/// 1e6 / 7 does not fit an f16 scale.
func.func @scale_overflows(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0e6> : tensor<2x4xf32> loc("big")
  // expected-error@+1 {{layer 'big': scale 142857.143 for range [1000000, 1000000] overflows the scale type}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {group_size = 4, scale_type = "f16"}} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

/// A per-layer override asks for static activations without statistics.
func.func @override(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x8xf32> loc("fc")
  // expected-error@+1 {{layer 'fc': activations=static needs statistics; pass stats=<file> (written by lattice.calibrate)}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {activations = "static"}} : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A per-layer override asks for GPTQ without statistics.
func.func @override_gptq(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x8xf32> loc("fc")
  // expected-error@+1 {{layer 'fc': method=gptq needs stats=<file> with the X^T X of the layer's input}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {method = "gptq"}} : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
