// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "short:input.min@=-1" "short:input.max@=1" "short:input.absmax@3=1,1,1" \
// RUN:   "nan:input.min@=-1" "nan:input.max@=1" "nan:input.absmax@4=1,nan,1,1"
// RUN: lattice-opt %s --lattice-split-outliers="stats=%t.stats" -split-input-file -verify-diagnostics

// Bad options and files are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.stats threshold=0" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: lattice-split-outliers: threshold must be a positive number, got 0
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.stats threshold=-6" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: lattice-split-outliers: threshold must be a positive number, got -6
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.stats threshold=inf" 2>&1 | FileCheck %s --check-prefix=INF
// INF: lattice-split-outliers: threshold must be a positive number, got inf
// RUN: not lattice-opt %s --lattice-split-outliers 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-split-outliers: stats=<file> is required (the statistics written by lattice.calibrate)
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.absent" 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: lattice-split-outliers: cannot read '{{.*}}.absent': {{.*}}
// RUN: %PYTHON %S/Inputs/make-stats.py %t.weights --format weights
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.weights" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: lattice-split-outliers: {{.*}}.weights: not a statistics file (its metadata lacks "format": "lattice-stats")
// A statistics file that names a tensor twice (which one a reader keeps is
// not for it to guess):
// RUN: %PYTHON -c "import struct, sys; e = '{\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}'; h = ('{\"x\": %%s, \"x\": %%s}' %% (e, e)).encode(); sys.stdout.buffer.write(struct.pack('<Q', len(h)) + h + bytes(4))" > %t.twice
// RUN: not lattice-opt %s --lattice-split-outliers="stats=%t.twice" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: lattice-split-outliers: {{.*}}.twice: header is not JSON: JSON object has the key "x" twice (at offset 61)

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

func.func @unnamed(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error@+1 {{splitting outliers needs a layer name to find the statistics of the matmul's input}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A weight that is not a constant cannot be split: a warning, and the
/// matmul is left as it is.
func.func @dynamic_weight(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  // expected-warning@+1 {{layer '': the weight is not a constant; not split}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
