// RUN: lattice-opt %s --lattice-cpu-tile-and-vectorize="vector-bits=512 num-threads=2" | FileCheck %s

// Ops go to the threads when their iterations times the cost of one reach
// 2^17 (one unit per operand and per simple op of the body, eight per
// division or math function): a fork and join costs about that. A ReLU of
// 64 x 1024 (3 units an iteration) is threaded; of 16 x 1024 it is not (a
// small transformer's norms and quantizations took 0.4-1.8 us on one thread
// and 2-3.7 us on two); an exp of 16 x 1024 (10 units) is.

#elementwise = {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                 affine_map<(d0, d1) -> (d0, d1)>],
                iterator_types = ["parallel", "parallel"]}

// CHECK-LABEL: func.func @threaded
// CHECK:         scf.forall
// CHECK:           vector.transfer_read
func.func @threaded(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %e = tensor.empty() : tensor<64x1024xf32>
  %y = linalg.generic #elementwise
      ins(%x : tensor<64x1024xf32>) outs(%e : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// CHECK-LABEL: func.func @serial
// CHECK-NOT:     scf.forall
// CHECK:         vector.transfer_read
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @serial(%x: tensor<16x1024xf32>) -> tensor<16x1024xf32> {
  %e = tensor.empty() : tensor<16x1024xf32>
  %y = linalg.generic #elementwise
      ins(%x : tensor<16x1024xf32>) outs(%e : tensor<16x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<16x1024xf32>
  return %y : tensor<16x1024xf32>
}

// CHECK-LABEL: func.func @costly
// CHECK:         scf.forall
// CHECK:           math.exp
func.func @costly(%x: tensor<16x1024xf32>) -> tensor<16x1024xf32> {
  %e = tensor.empty() : tensor<16x1024xf32>
  %y = linalg.generic #elementwise
      ins(%x : tensor<16x1024xf32>) outs(%e : tensor<16x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<16x1024xf32>
  return %y : tensor<16x1024xf32>
}
