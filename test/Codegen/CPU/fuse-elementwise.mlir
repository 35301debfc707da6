// RUN: lattice-opt %s --lattice-cpu-fuse-elementwise -split-input-file | FileCheck %s

// A per-row value (a root, read through a broadcast) stays its own op: 8
// square roots, not one per element. The elementwise chain after it fuses.

// CHECK-LABEL: func.func @row_values_stay
// CHECK:         %[[ROOTS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]}
// CHECK:           math.sqrt
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%{{.*}}, %[[ROOTS]] : tensor<8x64xf32>, tensor<8xf32>)
// CHECK-NOT:       math.sqrt
// CHECK:           arith.divf
// CHECK:           arith.maximumf
// CHECK-NOT:     linalg.generic
func.func @row_values_stay(%x: tensor<8x64xf32>, %sums: tensor<8xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %roots = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                           iterator_types = ["parallel"]}
      ins(%sums : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%s: f32, %o: f32):
    %r = math.sqrt %s : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %roots : tensor<8x64xf32>, tensor<8xf32>) outs(%e2 : tensor<8x64xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %d = arith.divf %a, %r : f32
    linalg.yield %d : f32
  } -> tensor<8x64xf32>
  %e3 = tensor.empty() : tensor<8x64xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<8x64xf32>) outs(%e3 : tensor<8x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x64xf32>
  return %z : tensor<8x64xf32>
}

// -----

// A producer read through a transpose (a permutation) fuses.

// CHECK-LABEL: func.func @transpose_fuses
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:           arith.addf
// CHECK-NOT:     linalg.generic
func.func @transpose_fuses(%x: tensor<8x64xf32>, %b: tensor<64x8xf32>) -> tensor<64x8xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8x64xf32>
  %e2 = tensor.empty() : tensor<64x8xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<8x64xf32>, tensor<64x8xf32>) outs(%e2 : tensor<64x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<64x8xf32>
  return %z : tensor<64x8xf32>
}
