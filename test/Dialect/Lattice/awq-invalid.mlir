// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "nomean:input.min@=-1" "nomean:input.max@=1" "nomean:input.absmax@2=1,1" \
// RUN:   "nomean:input.rows@=8" "nomean:input.xtx@2x2=1,0,0,1"
// RUN: lattice-opt %s --lattice-awq="stats=%t.stats" -split-input-file -verify-diagnostics

// Bad options are errors before any IR is touched.
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats weight-bits=ternary" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: lattice-awq: weight-bits must be 2 to 8, got 'ternary'
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats grid=0" 2>&1 | FileCheck %s --check-prefix=GRID
// GRID: lattice-awq: grid must be 1 to 1000, got 0
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats granularity=row" 2>&1 | FileCheck %s --check-prefix=GRANULARITY
// GRANULARITY: lattice-awq: granularity must be 'tensor', 'channel' or 'group', got 'row'
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats group-size=0" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: lattice-awq: group-size must be positive, got 0
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats scale-type=f8" 2>&1 | FileCheck %s --check-prefix=SCALE
// SCALE: lattice-awq: scale-type must be 'f32', 'f16' or 'bf16', got 'f8'
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats clip=percentile" 2>&1 | FileCheck %s --check-prefix=CLIP
// CLIP: lattice-awq: clip must be 'minmax' or 'mse', got 'percentile'
// RUN: not lattice-opt %s --lattice-awq="stats=%t.stats clip=mse clip-search=true" 2>&1 | FileCheck %s --check-prefix=CLIPSEARCH
// CLIPSEARCH: lattice-awq: clip-search chooses the ranges itself; it needs clip=minmax
// RUN: not lattice-opt %s --lattice-awq 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: lattice-awq: stats=<file> is required (statistics with the absmean and X^T X of every layer's input: lattice-compile --calib-xtx)
// RUN: not lattice-opt %s --lattice-awq="stats=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: lattice-awq: {{.*}}missing

// Statistics without the absmean: the error names the layer and the tensor.
func.func @no_absmean(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32> loc("nomean")
  // expected-error @below {{tensor 'nomean:input.absmean' is missing}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// A matmul without a name has no statistics to find.
func.func @unnamed(%x: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [0.5, -1.0]]> : tensor<2x2xf32>
  // expected-error @below {{AWQ needs a layer name to find the statistics of the matmul's input}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

// -----

// A weight that is not a constant is left alone.
func.func @argument(%x: tensor<8x2xf32>, %w: tensor<2x2xf32>) -> tensor<8x2xf32> {
  // expected-warning @below {{the weight is not a constant; not scaled}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x2xf32>, tensor<2x2xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}
