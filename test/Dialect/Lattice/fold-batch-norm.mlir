// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/Inputs/make-stats.py %t/w.safetensors "conv@2x2=1,2,3,4"
// RUN: lattice-opt %s --lattice-fold-batch-norm="dir=%t" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-fold-batch-norm="dir=%t" -split-input-file --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// y = matmul(x, W) * a + b over N: W's rows times a, then + b.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [-1.500000e+00, -2.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[Y:.*]] = lattice.matmul %[[X]], %[[W]]
// CHECK: %[[B:.*]] = arith.constant dense<[1.000000e+00, 5.000000e-01]> : tensor<2xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[B]] :
// CHECK: arith.addf
// CHECK-NOT: arith.mulf
// CHECK: return %[[R]]
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[2.0, -0.5]> : tensor<2xf32>
  %b = arith.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a, %b : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %t: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    %r = arith.addf %m, %t : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0)>

/// x * a (a scale without shift) leaves nothing behind; a scale over the
/// matmul's rows (M, not N) does not fold.
// CHECK-LABEL: func.func @scale_only
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[3.000000e+00, 6.000000e+00], [1.500000e+00, 2.000000e+00]]>
// CHECK: %[[Y:.*]] = lattice.matmul %{{.*}}, %[[W]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
// CHECK-LABEL: func.func @over_rows
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: arith.mulf
func.func @scale_only(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[3.0, 0.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a : tensor<3x2xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.mulf %s, %v : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}
func.func @over_rows(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[3.0, 0.5, 2.0]> : tensor<3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a : tensor<3x2xf32>, tensor<3xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.mulf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#nhwc = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
#ch = affine_map<(d0, d1, d2, d3) -> (d0, d1)>

/// A 1 x 1 convolution as the importer writes it (im2col rows times the
/// external weight, + bias, reshaped and transposed to NCHW), then a batch
/// norm over the channels of [1, 2, 2, 2]: the weight is loaded and scaled,
/// the bias becomes bias * a + b, the norm goes. The folded weight keeps
/// the weight's name as its location.
// LOC: arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32> loc(#[[CONV:.*]])
// LOC: #[[CONV]] = loc("conv"
// CHECK-LABEL: func.func @convolution
// CHECK-NOT: lattice.weight
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[Y:.*]] = lattice.matmul %{{.*}}, %[[W]]
// CHECK: %[[B:.*]] = arith.constant dense<[2.500000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK: %[[BIASED:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[B]] :
// CHECK: %[[NHWC:.*]] = tensor.expand_shape %[[BIASED]]
// CHECK: %[[NCHW:.*]] = linalg.generic {{.*}} ins(%[[NHWC]] :
// CHECK-NEXT: ^bb0
// CHECK-NEXT: linalg.yield
// CHECK: return %[[NCHW]]
func.func @convolution(%cols: tensor<4x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = lattice.weight "conv" from "w.safetensors" : tensor<2x2xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %bias = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %yb = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : tensor<4x2xf32>, tensor<2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %r = arith.addf %v, %c : f32
    linalg.yield %r : f32
  } -> tensor<4x2xf32>
  %nhwc = tensor.expand_shape %yb [[0, 1, 2], [3]] output_shape [1, 2, 2, 2] : tensor<4x2xf32> into tensor<1x2x2x2xf32>
  %e4 = tensor.empty() : tensor<1x2x2x2xf32>
  %nchw = linalg.generic {indexing_maps = [#nhwc, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%nhwc : tensor<1x2x2x2xf32>) outs(%e4 : tensor<1x2x2x2xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<1x2x2x2xf32>
  %a = arith.constant dense<[[2.0, 1.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[[0.5, -1.0]]> : tensor<1x2xf32>
  %z = linalg.generic {indexing_maps = [#id4, #ch, #ch, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%nchw, %a, %b : tensor<1x2x2x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) outs(%e4 : tensor<1x2x2x2xf32>) {
  ^bb0(%v: f32, %s: f32, %t: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    %r = arith.addf %m, %t : f32
    linalg.yield %r : f32
  } -> tensor<1x2x2x2xf32>
  return %z : tensor<1x2x2x2xf32>
}

// -----

#in = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
#wt = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#out = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d1)>

/// A grouped convolution (2 groups of 2 output channels) written as a
/// generic that accumulates into zeros, [n, group, channel, h, w] collapsed
/// to NCHW: each of the 4 channels scales its 2-weight row.
// CHECK-LABEL: func.func @grouped
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}1.000000e+00{{.*}}1.000000e+00{{.*}}3.000000e+00{{.*}}3.000000e+00{{.*}}-1.000000e+00{{.*}}-1.000000e+00{{.*}}5.000000e-01{{.*}}5.000000e-01{{.*}}> : tensor<2x2x2x1x1xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[W]] :
// CHECK: %[[B:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[B]] :
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK-NEXT: linalg.yield
// CHECK-NOT: arith.mulf
func.func @grouped(%x: tensor<1x2x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2x2x1x1xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x3x3xf32>) -> tensor<1x2x2x3x3xf32>
  %y = linalg.generic {indexing_maps = [#in, #wt, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x2x2x3x3xf32>, tensor<2x2x2x1x1xf32>) outs(%init : tensor<1x2x2x3x3xf32>) {
  ^bb0(%v: f32, %u: f32, %o: f32):
    %p = arith.mulf %v, %u : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x2x2x3x3xf32>
  %nchw = tensor.collapse_shape %y [[0], [1, 2], [3], [4]] : tensor<1x2x2x3x3xf32> into tensor<1x4x3x3xf32>
  %a = arith.constant dense<[1.0, 3.0, -1.0, 0.5]> : tensor<4xf32>
  %b = arith.constant dense<[0.0, 1.0, 2.0, 3.0]> : tensor<4xf32>
  %e4 = tensor.empty() : tensor<1x4x3x3xf32>
  %z = linalg.generic {indexing_maps = [#id4, #ch, #ch, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%nchw, %a, %b : tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e4 : tensor<1x4x3x3xf32>) {
  ^bb0(%v: f32, %s: f32, %t: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    %r = arith.addf %m, %t : f32
    linalg.yield %r : f32
  } -> tensor<1x4x3x3xf32>
  return %z : tensor<1x4x3x3xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// The layer's output has another user, or its weight another layer: the
/// affine stays.
// CHECK-LABEL: func.func @output_used_twice
// CHECK: arith.mulf
// CHECK-LABEL: func.func @shared_weight
// CHECK: arith.mulf
func.func @output_used_twice(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[2.0, -0.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a : tensor<3x2xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.mulf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}
func.func @shared_weight(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %y2 = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[2.0, -0.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a : tensor<3x2xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.mulf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %y2, %z : tensor<3x2xf32>, tensor<3x2xf32>
}
