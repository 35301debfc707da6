// RUN: lattice-opt %s --lattice-cpu-tile-and-vectorize="vector-bits=512 num-threads=2" | FileCheck %s

// Ops go to the threads when their iterations times the cost of one reach
// 2^17 (one unit per operand and per simple op of the body, eight per
// division or math function): a fork and join costs about that. A ReLU of
// 64 x 1024 (3 units an iteration) is threaded; of 16 x 1024 it is not (a
// small transformer's norms and quantizations took 0.4-1.8 us on one thread
// and 2-3.7 us on two); an exp of 16 x 1024 (10 units) is.
//
// An op whose largest input an op on one thread wrote (through reshapes)
// needs 2^19: the other thread reads its share from the caller's cache.

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

// A ReLU of 32 x 1024 stays on one thread; an exp of its result (10 units,
// 2^18.3 in all) then does too, an exp and a tanh of it (19 units, 2^19.2)
// do not.
// CHECK-LABEL: func.func @after_serial
// CHECK-NOT:     scf.forall
// CHECK:         arith.maximumf
// CHECK-NOT:     scf.forall
// CHECK:         math.exp
// CHECK-NOT:     math.tanh
// CHECK:         scf.forall
// CHECK:           math.exp
// CHECK:           math.tanh
func.func @after_serial(%x: tensor<32x1024xf32>) -> (tensor<32x32x32xf32>, tensor<32x1024xf32>) {
  %e = tensor.empty() : tensor<32x1024xf32>
  %relu = linalg.generic #elementwise
      ins(%x : tensor<32x1024xf32>) outs(%e : tensor<32x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<32x1024xf32>
  %reshaped = tensor.expand_shape %relu [[0], [1, 2]] output_shape [32, 32, 32]
      : tensor<32x1024xf32> into tensor<32x32x32xf32>
  %e3 = tensor.empty() : tensor<32x32x32xf32>
  %exp = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                          affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%reshaped : tensor<32x32x32xf32>) outs(%e3 : tensor<32x32x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<32x32x32xf32>
  %both = linalg.generic #elementwise
      ins(%relu : tensor<32x1024xf32>) outs(%e : tensor<32x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %p = math.exp %a : f32
    %q = math.tanh %p : f32
    linalg.yield %q : f32
  } -> tensor<32x1024xf32>
  return %exp, %both : tensor<32x32x32xf32>, tensor<32x1024xf32>
}
