// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "fc:input.min@=-9" "fc:input.max@=4" "fc:input.absmax@4=4,1,0,9" \
// RUN:   "ln_fc:input.min@=-9" "ln_fc:input.max@=4" "ln_fc:input.absmax@4=4,1,0,9" \
// RUN:   "q:input.min@=-9" "q:input.max@=4" "q:input.absmax@4=4,1,0,9" \
// RUN:   "k:input.min@=-9" "k:input.max@=4" "k:input.absmax@4=4,1,0,9" \
// RUN:   "fc1:input.min@=-9" "fc1:input.max@=4" "fc1:input.absmax@4=4,1,0,9" \
// RUN:   "cell:input.min@=-9" "cell:input.max@=4" "cell:input.absmax@4=4,1,0,9" \
// RUN:   "up:input.min@=-1" "up:input.max@=1" "up:input.absmax@4=1,1,1,1" \
// RUN:   "down:input.min@=-9" "down:input.max@=4" "down:input.absmax@4=4,1,0,9"
// RUN: lattice-opt %s --lattice-smoothquant="stats=%t.stats" -split-input-file | FileCheck %s

/// max|X| = [4, 1, 0, 9], max|W| = [1, 4, 2, 1], alpha = 0.5:
/// s = sqrt(max|X| / max|W|) = [2, 0.5, 1 (zero channel), 3]. The weight
/// columns are multiplied by s and the RMSNorm gain divided by it; the
/// smoothed input's range, max_j max|X_j| / s_j = 3, goes on the matmul.
/// The factors by which the input the statistics saw was multiplied go on
/// the matmul too (GPTQ rescales the X^T X gathered before by them).
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK: %[[G:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: %[[N:.*]] = lattice.rms_norm %[[X]], %[[G]]
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 2.000000e+00, 0.000000e+00], [5.000000e-01, 5.000000e-01, -1.000000e+00, 3.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[Y:.*]] = lattice.matmul %[[N]], %[[W]] accumulate(f32) {lattice.input_absmax = 3.000000e+00 : f32, lattice.input_rescale = array<f32: 5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343>}
// CHECK-NOT: lattice.channel_scale
// CHECK: return %[[Y]]
func.func @rms_norm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("fc")
  %y = lattice.matmul %n, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// LayerNorm: gain and bias are both divided by s.
// CHECK-LABEL: func.func @layer_norm
// CHECK-DAG: %[[G:.*]] = arith.constant dense<[1.000000e+00, 4.000000e+00, 2.000000e+00, 0.666666686]> : tensor<4xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: lattice.layer_norm %{{.*}}, %[[G]], %[[B]]
func.func @layer_norm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<2.0> : tensor<4xf32>
  %b = arith.constant dense<1.0> : tensor<4xf32>
  %n = lattice.layer_norm %x, %g, %b : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("ln_fc")
  %y = lattice.matmul %n, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Two layers share one input (as Q and K do): one s for both, from the
/// largest weight magnitudes of either, so the norm can absorb it.
// CHECK-LABEL: func.func @shared_input
// CHECK: %[[G:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: %[[N:.*]] = lattice.rms_norm %{{.*}}, %[[G]]
// CHECK: %[[WQ:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 2.000000e+00, 0.000000e+00]]> : tensor<1x4xf32>
// CHECK: %[[WK:.*]] = arith.constant dense<{{\[}}[5.000000e-01, 5.000000e-01, -1.000000e+00, 3.000000e+00]]> : tensor<1x4xf32>
// CHECK: lattice.matmul %[[N]], %[[WQ]]
// CHECK: lattice.matmul %[[N]], %[[WK]]
func.func @shared_input(%x: tensor<3x4xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %wq = arith.constant dense<[[1.0, 4.0, 2.0, 0.0]]> : tensor<1x4xf32> loc("q")
  %wk = arith.constant dense<[[0.25, 1.0, -1.0, 1.0]]> : tensor<1x4xf32> loc("k")
  %q = lattice.matmul %n, %wq accumulate(f32) : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  %k = lattice.matmul %n, %wk accumulate(f32) : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %q, %k : tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

/// alpha = 1 for this layer: s = max|X| (1 for the zero channel).
// CHECK-LABEL: func.func @override
// CHECK-DAG: arith.constant dense<[2.500000e-01, 1.000000e+00, 1.000000e+00, 0.111111112]> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[4.000000e+00, 4.000000e+00, 2.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, -1.000000e+00, 9.000000e+00]]> : tensor<2x4xf32>
// CHECK-NOT: lattice.smoothquant
func.func @override(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("fc1")
  %y = lattice.matmul %n, %w accumulate(f32) {lattice.smoothquant = {alpha = 1.0}} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// One weight used by two matmuls (an unrolled recurrence; the probes of
/// both steps are pooled under one name): the weight is scaled once and
/// stays shared, and each step's input gets the same 1/s.
// CHECK-LABEL: func.func @recurrent
// CHECK-SAME: (%[[X:.*]]: tensor<1x4xf32>)
// CHECK: %[[INV:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: %[[XS:.*]] = lattice.channel_scale %[[X]], %[[INV]]
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 2.000000e+00, 3.000000e+00], [2.000000e+00, 5.000000e-01, 1.000000e+00, 3.000000e+00], [1.000000e+00, 2.500000e-01, 5.000000e-01, 1.500000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
// CHECK: %[[H:.*]] = lattice.matmul %[[XS]], %[[W]]
// CHECK: %[[INV2:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: %[[HS:.*]] = lattice.channel_scale %[[H]], %[[INV2]]
// CHECK-NOT: arith.constant
// CHECK: lattice.matmul %[[HS]], %[[W]]
func.func @recurrent(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32> loc("cell")
  %h = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %y = lattice.matmul %h, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

/// SwiGLU: the input of `down` is a * (x W_up^T) elementwise, so its
/// factors' inverses [0.5, 2, 1, 1/3] scale the rows of W_up (whose own
/// factors are 1: max|X| = max|W| on every channel). No channel_scale.
// CHECK-LABEL: func.func @swiglu
// CHECK: %[[UP:.*]] = arith.constant dense<{{\[}}[5.000000e-01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.333333343]]> : tensor<4x4xf32>
// CHECK: lattice.matmul %{{.*}}, %[[UP]]
// CHECK-NOT: lattice.channel_scale
func.func @swiglu(%x: tensor<8x4xf32>, %a: tensor<8x4xf32>) -> tensor<8x2xf32> {
  %wu = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32> loc("up")
  %u = lattice.matmul %x, %wu accumulate(f32) : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  %e = tensor.empty() : tensor<8x4xf32>
  %h = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%a, %u : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<8x4xf32>
  %wd = arith.constant dense<[[1.0, 4.0, 2.0, 1.0], [0.5, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("down")
  %y = lattice.matmul %h, %wd accumulate(f32) : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}
