// RUN: lattice-opt %s --lattice-cpu-tile-and-vectorize="vector-bits=512 num-threads=1" | FileCheck %s

// A GEMM's pixel-major result back to NCHW: the input is read transposed.
// Both the vector's loop (w) and the input's contiguous one (c) are tiled by
// 16, so each tile reads 16 contiguous rows of 16 channels and transposes
// them with 64 shuffles, instead of reading one element per lane.
// CHECK-LABEL: func.func @to_nchw
// CHECK:         scf.for %{{.*}} = %c0 to %c32 step %c16
// CHECK:           scf.for %{{.*}} = %c0 to %c32 step %c16
// CHECK:             vector.transfer_read {{.*}} : tensor<1x4x32x32xf32>, vector<1x1x16x16xf32>
// CHECK-COUNT-64:    vector.shuffle
// CHECK:             vector.transfer_write {{.*}} : vector<1x16x1x16xf32>, tensor<1x32x4x32xf32>
func.func @to_nchw(%x: tensor<1x4x32x32xf32>) -> tensor<1x32x4x32xf32> {
  %e = tensor.empty() : tensor<1x32x4x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x32x32xf32>) outs(%e : tensor<1x32x4x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x32x4x32xf32>
  return %y : tensor<1x32x4x32xf32>
}

// A transpose of index vectors (a gather's coordinates) is left alone: the
// shuffle lowering is for 32-bit elements, and index has no bit width (the
// check asked for one and crashed).
// CHECK-LABEL: func.func @index_transpose
// CHECK:         vector.transpose {{.*}} : vector<16x16xindex> to vector<16x16xindex>
func.func @index_transpose(%v: vector<16x16xindex>) -> vector<16x16xindex> {
  %t = vector.transpose %v, [1, 0] : vector<16x16xindex> to vector<16x16xindex>
  return %t : vector<16x16xindex>
}
