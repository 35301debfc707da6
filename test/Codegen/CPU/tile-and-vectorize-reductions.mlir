// RUN: lattice-opt %s --lattice-cpu-tile-and-vectorize="vector-bits=512 num-threads=1" | FileCheck %s

// A reduction over a contiguous extent divisible by the lanes accumulates
// a vector of partial results per output (whole vectors combined, one
// reduction across the lanes at the end) instead of reducing across the
// lanes at every step: sums (reassociated), and IEEE maxima and minima
// (exact in any order), whose partial results start at -inf and +inf.

#rows = {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                          affine_map<(d0, d1) -> (d0)>],
         iterator_types = ["parallel", "reduction"]}

// CHECK-LABEL: func.func @row_sum
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK:         vector.multi_reduction <add>, %{{.*}}, %{{.*}} [1] : vector<4x4x16xf32> to vector<4x16xf32>
// CHECK:         vector.multi_reduction <add>, %{{.*}}, %{{.*}} [1] : vector<4x16xf32> to vector<4xf32>
func.func @row_sum(%x: tensor<8x64xf32>) -> tensor<8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.generic #rows ins(%x : tensor<8x64xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// CHECK-LABEL: func.func @row_max
// CHECK-DAG:     arith.constant dense<0xFF800000> : vector<1x16xf32>
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK:         vector.multi_reduction <maximumf>, %{{.*}}, %{{.*}} [1] : vector<4x4x16xf32> to vector<4x16xf32>
// CHECK:         vector.multi_reduction <maximumf>, %{{.*}}, %{{.*}} [1] : vector<4x16xf32> to vector<4xf32>
func.func @row_max(%x: tensor<8x64xf32>) -> tensor<8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.generic #rows ins(%x : tensor<8x64xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// CHECK-LABEL: func.func @row_min
// CHECK-DAG:     arith.constant dense<0x7F800000> : vector<1x16xf32>
// CHECK:         vector.multi_reduction <minimumf>, %{{.*}}, %{{.*}} [1] : vector<4x4x16xf32> to vector<4x16xf32>
func.func @row_min(%x: tensor<8x64xf32>) -> tensor<8xf32> {
  %inf = arith.constant 0x7F800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%inf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.generic #rows ins(%x : tensor<8x64xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.minimumf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// A maximum that ignores NaN (maxnumf) is not split: -inf is not its
// identity when every element is NaN.

// CHECK-LABEL: func.func @row_maxnum
// CHECK-NOT:     tensor.expand_shape
// CHECK:         return
func.func @row_maxnum(%x: tensor<8x64xf32>) -> tensor<8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.generic #rows ins(%x : tensor<8x64xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maxnumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// A reduction of every element to a scalar: the lanes' partial results are
// a vector of their own, combined into the 0-d destination (building that
// combination crashed: its output map has no results).

// CHECK-LABEL: func.func @max_of_all
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [3, 1, 16]
// CHECK:         vector.multi_reduction <maximumf>
// CHECK:         return %{{.*}} : tensor<f32>
func.func @max_of_all(%x: tensor<3x16xf32>) -> tensor<f32> {
  %low = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%low : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<3x16xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %y : tensor<f32>
}
