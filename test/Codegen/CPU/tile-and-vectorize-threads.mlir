// RUN: lattice-opt %s --lattice-cpu-tile-and-vectorize="vector-bits=512 num-threads=2" | FileCheck %s

// Ops of 2^13 iterations or more go to the threads (a MobileNet's 72 x 28 x
// 28 activation, 2^15.6, ran on one thread, and so did most of its
// elementwise ops); smaller ones stay on the calling thread, where a fork
// costs about what they do.

// CHECK-LABEL: func.func @threaded
// CHECK:         scf.forall
// CHECK:           vector.transfer_read
func.func @threaded(%x: tensor<8x1024xf32>) -> tensor<8x1024xf32> {
  %e = tensor.empty() : tensor<8x1024xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x1024xf32>) outs(%e : tensor<8x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x1024xf32>
  return %y : tensor<8x1024xf32>
}

// CHECK-LABEL: func.func @serial
// CHECK-NOT:     scf.forall
// CHECK:         vector.transfer_read
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @serial(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %e = tensor.empty() : tensor<4x1024xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x1024xf32>) outs(%e : tensor<4x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}
