// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "fc:input.min@=-9" "fc:input.max@=8" "fc:input.absmax@4=4,1,0.5,9" \
// RUN:   "q:input.min@=-7" "q:input.max@=6" "q:input.absmax@4=7,1,0,2" \
// RUN:   "k:input.min@=-2" "k:input.max@=1" "k:input.absmax@4=1,1,0,2" \
// RUN:   "wide:input.min@=-7" "wide:input.max@=8" "wide:input.absmax@2=7,8" \
// RUN:   "quiet:input.min@=-1" "quiet:input.max@=1" "quiet:input.absmax@4=1,1,1,1" \
// RUN:   "kept:input.min@=-9" "kept:input.max@=9" "kept:input.absmax@4=9,1,1,1"
// RUN: lattice-opt %s --lattice-split-outliers="stats=%t.stats" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-split-outliers="stats=%t.stats report=true" -split-input-file \
// RUN:   -verify-diagnostics -o /dev/null
// RUN: lattice-opt %s --lattice-split-outliers="stats=%t.stats threshold=0.75" -split-input-file \
// RUN: | FileCheck %s --check-prefix=LOW

/// Channel 3 saw |x| = 9 > 6: it is gathered and multiplied by the weight's
/// column 3 in float; the rest goes through the matmul that lattice-quantize
/// will quantize, by a 0/1 mask on the input and with column 3 of the weight
/// zeroed. The quantized matmul's input range is the largest maximum it
/// keeps (4), and the sum replaces every use of the product.
// CHECK-LABEL: func.func @single
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x4xf32>)
// CHECK: %[[MASK:.*]] = arith.constant dense<[1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00]> : tensor<4xf32>
// CHECK: %[[MASKED:.*]] = lattice.channel_scale %[[X]], %[[MASK]] axis(2)
// CHECK: %[[DIM:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x3x4xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[DIM]]) : tensor<?x3x1xf32>
// CHECK: %[[INDICES:.*]] = arith.constant dense<3> : tensor<1xi32>
// CHECK: %[[GATHERED:.*]] = linalg.generic {{.*}} ins(%[[INDICES]] : tensor<1xi32>) outs(%[[EMPTY]] : tensor<?x3x1xf32>)
// CHECK: tensor.extract %[[X]]
// CHECK: %[[KEPT:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00, 2.000000e+00, 0.000000e+00], [2.500000e-01, 1.000000e+00, -1.000000e+00, 0.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[OUTLIERS:.*]] = arith.constant dense<{{\[}}[5.000000e-01], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK: %[[INT:.*]] = lattice.matmul %[[MASKED]], %[[KEPT]] accumulate(f32) {lattice.float_channels = 1 : i64, lattice.input_absmax = 4.000000e+00 : f32}
// CHECK: %[[FLOAT:.*]] = lattice.matmul %[[GATHERED]], %[[OUTLIERS]] accumulate(f32) {lattice.quantize = {skip}}
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[FLOAT]] : tensor<?x3x2xf32>) outs(%[[INT]] : tensor<?x3x2xf32>)
// CHECK: arith.addf
// CHECK: %[[USE:.*]] = arith.addf %[[SUM]], %[[SUM]]
// CHECK: return %[[USE]]
func.func @single(%x: tensor<?x3x4xf32>) -> tensor<?x3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.5], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("fc")
  // expected-remark @+1 {{layer 'fc': 1 of 4 input channels above 6 in float}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<?x3x4xf32>, tensor<2x4xf32>) -> tensor<?x3x2xf32>
  %z = arith.addf %y, %y : tensor<?x3x2xf32>
  return %z : tensor<?x3x2xf32>
}

// -----

/// Q and K share their input: the union of their outliers (channel 0, from
/// Q's statistics) is split once for both, and each keeps the range of its
/// own probe over the channels left (2).
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-1: lattice.channel_scale
// CHECK-NOT: lattice.channel_scale
// CHECK: lattice.matmul {{.*}} {lattice.float_channels = 1 : i64, lattice.input_absmax = 2.000000e+00 : f32}
// CHECK: lattice.matmul {{.*}} {lattice.float_channels = 1 : i64, lattice.input_absmax = 2.000000e+00 : f32}
// LOW-LABEL: func.func @shared
// LOW: arith.constant dense<[0.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00]> : tensor<4xf32>
// LOW: arith.constant dense<[0, 1, 3]> : tensor<3xi32>
func.func @shared(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %wq = arith.constant dense<[[1.0, 4.0, 2.0, 0.5], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("q")
  %wk = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32> loc("k")
  // expected-remark @+1 {{layer 'q': 1 of 4 input channels above 6 in float}}
  %q = lattice.matmul %x, %wq accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  // expected-remark @+1 {{layer 'k': 1 of 4 input channels above 6 in float}}
  %k = lattice.matmul %x, %wk accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %q, %k : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

/// Every channel above the threshold: nothing is left to quantize, and the
/// layer stays in float (with a remark, report or not).
// CHECK-LABEL: func.func @all_outliers
// CHECK: lattice.matmul {{.*}} {lattice.float_channels = 2 : i64, lattice.quantize = {skip}}
// CHECK-NOT: lattice.channel_scale
func.func @all_outliers(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0], [0.25, 1.0]]> : tensor<2x2xf32> loc("wide")
  // expected-remark @+1 {{layer 'wide': all 2 input channels exceed 6; kept in float}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// No channel above the threshold: the matmul is unchanged but for its
/// count, which the report of lattice-quantize gives.
// CHECK-LABEL: func.func @no_outliers
// CHECK-NOT: lattice.channel_scale
// CHECK: lattice.matmul %arg0, %{{.*}} accumulate(f32) {lattice.float_channels = 0 : i64}
func.func @no_outliers(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.5], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("quiet")
  // expected-remark @+1 {{layer 'quiet': 0 of 4 input channels above 6 in float}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A layer that a recipe file keeps in float is left alone.
// CHECK-LABEL: func.func @kept_float
// CHECK-NOT: lattice.channel_scale
// CHECK: lattice.matmul %arg0, %{{.*}} accumulate(f32) {lattice.quantize = {skip}}
func.func @kept_float(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.5], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("kept")
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {skip}} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
