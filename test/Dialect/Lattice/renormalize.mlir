// RUN: lattice-opt %s --lattice-renormalize -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-renormalize --lattice-renormalize -split-input-file | FileCheck %s

/// A unit vector moved off the sphere by fake quantization is normalized
/// again, with the source's epsilon; running twice adds nothing.
// CHECK-LABEL: func.func @activation
// CHECK: %[[N:.*]] = lattice.normalize %{{.*}} {epsilon = 9.99999997E-7 : f32}
// CHECK: %[[FQ:.*]] = lattice.fake_quant %[[N]]
// CHECK-NEXT: %[[R:.*]] = lattice.normalize %[[FQ]] {epsilon = 9.99999997E-7 : f32}
// CHECK-NOT: lattice.normalize
// CHECK: return %[[R]]
func.func @activation(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %n = lattice.normalize %x {epsilon = 1.0e-06 : f32} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = lattice.fake_quant %n, %s as !lattice.quant<s8, f32> : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}

// -----

/// Dequantized unit vectors, through quantize and dequantize.
// CHECK-LABEL: func.func @dequantized
// CHECK: %[[D:.*]] = lattice.dequantize
// CHECK-NEXT: %[[R:.*]] = lattice.normalize %[[D]]
// CHECK: return %[[R]]
func.func @dequantized(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %n = lattice.normalize %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = lattice.quantize %n, %s : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4x!lattice.quant<s8, f32>>
  %d = lattice.dequantize %q, %s : (tensor<2x4x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

/// Rows 0.19 * (3, 4) and 0.15 * (0, 7) have norms 0.95 and 1.05: the
/// scales become 0.2 and 1/7, and the rows unit vectors.
// CHECK-LABEL: func.func @unit_rows
// CHECK: %[[S:.*]] = arith.constant dense<[2.000000e-01, 0.142857149]> : tensor<2xf32>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[S]])
func.func @unit_rows(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %s = arith.constant dense<[0.19, 0.15]> : tensor<2xf32>
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Groups of 2 along K: both groups of a row take the row's factor.
/// Row 0: 0.5 * (1, 1) and 0.25 * (2, 2): norm 1; row 1: 0.31 * (2, 0) and
/// 0.2 * (0, 4): norm sqrt(0.3844 + 0.64) = 1.0121.
// CHECK-LABEL: func.func @groups
// CHECK: %[[S:.*]] = arith.constant dense<{{\[}}[5.000000e-01, 2.500000e-01], [0.306285828, 0.197603762]]> : tensor<2x2xf32>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[S]])
func.func @groups(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %c = arith.constant dense<[[1, 1, 2, 2], [2, 0, 0, 4]]> : tensor<2x4xi8>
  %w = lattice.scast %c : tensor<2x4xi8> to tensor<2x4x!lattice.quant<s8, f32, group<1, 2>>>
  %s = arith.constant dense<[[0.5, 0.25], [0.31, 0.2]]> : tensor<2x2xf32>
  %y = lattice.matmul %n, %w rhs_scale(%s) accumulate(f32) : (tensor<3x4xf32>, tensor<2x4x!lattice.quant<s8, f32, group<1, 2>>>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// The input is not on the sphere: nothing changes.
// CHECK-LABEL: func.func @not_on_sphere
// CHECK: %[[S:.*]] = arith.constant dense<[1.900000e-01, 1.500000e-01]>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[S]])
func.func @not_on_sphere(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %s = arith.constant dense<[0.19, 0.15]> : tensor<2xf32>
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Flattening the leading dimensions (the importer's reshape before a
/// matmul) keeps rows on the sphere: the norms are folded as above.
// CHECK-LABEL: func.func @flattened
// CHECK: %[[S:.*]] = arith.constant dense<[2.000000e-01, 0.142857149]> : tensor<2xf32>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[S]])
func.func @flattened(%x: tensor<1x3x2xf32>) -> tensor<3x2xf32> {
  %n = lattice.normalize %x : (tensor<1x3x2xf32>) -> tensor<1x3x2xf32>
  %f = tensor.collapse_shape %n [[0, 1], [2]] : tensor<1x3x2xf32> into tensor<3x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %s = arith.constant dense<[0.19, 0.15]> : tensor<2xf32>
  %y = lattice.matmul %f, %w rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A reshape that merges the last dimension into another breaks the rows:
/// nothing changes.
// CHECK-LABEL: func.func @rows_merged
// CHECK: %[[S:.*]] = arith.constant dense<[1.900000e-01, 1.500000e-01]>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[S]])
func.func @rows_merged(%x: tensor<2x1xf32>) -> tensor<1x2xf32> {
  %n = lattice.normalize %x : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %f = tensor.collapse_shape %n [[0, 1]] : tensor<2x1xf32> into tensor<2xf32>
  %e = tensor.expand_shape %f [[0, 1]] output_shape [1, 2] : tensor<2xf32> into tensor<1x2xf32>
  %c = arith.constant dense<[[3, 4], [0, 7]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %s = arith.constant dense<[0.19, 0.15]> : tensor<2xf32>
  %y = lattice.matmul %e, %w rhs_scale(%s) accumulate(f32) : (tensor<1x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
