// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@3=1,1,1" \
// RUN:   "nan:input.min@=-1" "nan:input.max@=1" "nan:input.absmax@4=1,nan,1,1" \
// RUN:   "order:input.min@=5" "order:input.max@=1" \
// RUN:   "negative:input.min@=-1" "negative:input.max@=1" "negative:input.absmax@4=-1,1,1,1" \
// RUN:   "hist:input.min@=-1" "hist:input.max@=1" "hist:input.histogram@2x2=1,1,1,1" \
// RUN:   "q:input.min@=-1" "q:input.max@=1" "q:input.absmax@4=1,1,1,1" \
// RUN:   "k:input.min@=-1" "k:input.max@=1" "k:input.absmax@4=1,1,1,1"
// RUN: lattice-opt %s --lattice-smoothquant="stats=%t.stats" -split-input-file -verify-diagnostics

// Bad options and files are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-smoothquant="alpha=1.5 stats=%t.stats" 2>&1 | FileCheck %s --check-prefix=ALPHA
// ALPHA: lattice-smoothquant: alpha must be in [0, 1], got 1.5
// RUN: not lattice-opt %s --lattice-smoothquant 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-smoothquant: stats=<file> is required (the statistics written by lattice.calibrate)
// RUN: %PYTHON %S/Inputs/make-stats.py %t.v2 --version 2
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.v2" 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: lattice-smoothquant: {{.*}}.v2: statistics version '2' is not supported (this build reads version 1)
// RUN: %PYTHON %S/Inputs/make-stats.py %t.weights --format weights
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.weights" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: lattice-smoothquant: {{.*}}.weights: not a statistics file (its metadata lacks "format": "lattice-stats")
// RUN: %PYTHON %S/Inputs/make-stats.py %t.f16 --dtype F16 "short:input.min@=-1"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.f16" -split-input-file 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: tensor 'short:input.min' has dtype F16, expected F32
// RUN: %PYTHON %S/Inputs/make-stats.py %t.noxtx "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@4=1,1,1,1"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.noxtx alpha-search=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=XTX
// XTX: tensor 'short:input.xtx' is missing (were the statistics gathered on this model?)
// RUN: %PYTHON %S/Inputs/make-stats.py %t.rows "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@4=1,1,1,1" "short:input.xtx@4x4=1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1" "short:input.rows@=0"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.rows alpha-search=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=ROWS
// ROWS: tensor 'short:input.rows' must be a whole number of rows from 1 to 2^53, got 0
// RUN: %PYTHON %S/Inputs/make-stats.py %t.half "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@4=1,1,1,1" "short:input.xtx@4x4=1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1" "short:input.rows@=2.5"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.half alpha-search=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=HALF-ROWS
// HALF-ROWS: tensor 'short:input.rows' must be a whole number of rows from 1 to 2^53, got 2.5
// RUN: %PYTHON %S/Inputs/make-stats.py %t.huge "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@4=1,1,1,1" "short:input.xtx@4x4=1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1" "short:input.rows@=18446744073709551616"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.huge alpha-search=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=HUGE-ROWS
// HUGE-ROWS: tensor 'short:input.rows' must be a whole number of rows from 1 to 2^53, got 1.84467e+19
// Channel maxima that the tensor's minimum and maximum contradict:
// RUN: %PYTHON %S/Inputs/make-stats.py %t.absmax "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@4=1,5,1,1"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.absmax" -split-input-file 2>&1 | FileCheck %s --check-prefix=ABSMAX
// ABSMAX: tensor 'short:input.absmax' does not fit 'short:input.min' and 'short:input.max': its largest value is 5, their largest magnitude 1 (were they gathered on the same data?)
// RUN: %PYTHON %S/Inputs/make-stats.py %t.below "short:input.min@=-3" "short:input.max@=1" "short:input.absmax@4=1,1,1,1"
// RUN: not lattice-opt %s --lattice-smoothquant="stats=%t.below" -split-input-file 2>&1 | FileCheck %s --check-prefix=BELOW
// BELOW: its largest value is 1, their largest magnitude 3

func.func @shape(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("short")
  // expected-error@+1 {{tensor 'short:input.absmax' has shape [3], expected [4]}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @missing(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("absent")
  // expected-error-re@+1 {{layer 'absent': {{.*}}: tensor 'absent:input.min' is missing (were the statistics gathered on this model?)}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @nan(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("nan")
  // expected-error@+1 {{tensor 'nan:input.absmax' holds NaN at index 1}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @order(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("order")
  // expected-error@+1 {{tensor 'order:input.min' (5) is greater than 'order:input.max' (1)}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @negative(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("negative")
  // expected-error@+1 {{tensor 'negative:input.absmax' holds the negative value -1 at index 0}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @histogram(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32> loc("hist")
  // expected-error@+1 {{tensor 'hist:input.histogram' has shape [2, 2], expected [bins]}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @unnamed(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  %c = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{SmoothQuant needs a layer name to find the statistics of the matmul's input}}
  %y = lattice.matmul %x, %c accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @not_constant(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  // expected-warning@+1 {{layer '': the weight is not a constant; not smoothed}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @alpha_range(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32> loc("q")
  // expected-error@+1 {{layer 'q': alpha must be in [0, 1], got 2}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.smoothquant = {alpha = 2.0}} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

func.func @alpha_conflict(%x: tensor<3x4xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %wq = arith.constant dense<1.0> : tensor<1x4xf32> loc("q")
  %wk = arith.constant dense<1.0> : tensor<1x4xf32> loc("k")
  // expected-note@+1 {{the other layer}}
  %q = lattice.matmul %x, %wq accumulate(f32) {lattice.smoothquant = {alpha = 0.25}} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  // expected-error@+1 {{layer 'k' sets alpha 0.75 but shares its input with layer 'q', which sets 0.25}}
  %k = lattice.matmul %x, %wk accumulate(f32) {lattice.smoothquant = {alpha = 0.75}} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %q, %k : tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

func.func @unknown_entry(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32> loc("q")
  // expected-error@+1 {{'lattice.smoothquant' has unknown entry 'beta'}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.smoothquant = {beta = 2.0}} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

func.func @not_float(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32> loc("q")
  // expected-error@+1 {{'lattice.smoothquant' entry 'alpha' must be a float}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.smoothquant = {alpha = 1}} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

func.func @not_dictionary(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32> loc("q")
  // expected-error@+1 {{'lattice.smoothquant' must be a dictionary, got 5.000000e-01 : f64}}
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.smoothquant = 0.5} : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

/// A weight blob with fewer bytes than its type needs (4 of 16).
func.func @short_blob(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense_resource<short_blob> : tensor<1x4xf32> loc("q")
  // expected-error@+1 {{layer 'q': cannot read the weight}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      short_blob: "0x040000000000803F"
    }
  }
#-}
