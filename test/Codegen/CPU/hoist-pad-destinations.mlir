// RUN: lattice-opt %s --pass-pipeline="builtin.module(func.func(lattice-cpu-hoist-pad-destinations))" -split-input-file | FileCheck %s

// The padded buffer (allocation, fill) is created above the producer of the
// padded value; the producer and the insertion stay where they were.

// CHECK-LABEL: func.func @relu_then_pad
// CHECK-NOT:     tensor.empty() : tensor<1x4x8x8xf32>
// CHECK:         %[[BUFFER:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[BUFFER]]
// CHECK:         %[[RELU:.*]] = linalg.generic
// CHECK:         tensor.insert_slice %[[RELU]] into %[[FILL]][0, 0, 1, 1]
func.func @relu_then_pad(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                        affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  %p = tensor.empty() : tensor<1x4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%p : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %i = tensor.insert_slice %y into %f[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : tensor<1x4x6x6xf32> into tensor<1x4x8x8xf32>
  return %i : tensor<1x4x8x8xf32>
}

// -----

// The fill's value is defined after the producer: nothing moves.

// CHECK-LABEL: func.func @value_after_producer
// CHECK:         linalg.generic
// CHECK:         arith.constant 1.0
// CHECK:         tensor.empty() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    linalg.fill
// CHECK-NOT:     bufferization.alloc_tensor
func.func @value_after_producer(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x8x8xf32> {
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                        affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  %one = arith.constant 1.0 : f32
  %p = tensor.empty() : tensor<1x4x8x8xf32>
  %f = linalg.fill ins(%one : f32) outs(%p : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %i = tensor.insert_slice %y into %f[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : tensor<1x4x6x6xf32> into tensor<1x4x8x8xf32>
  return %i : tensor<1x4x8x8xf32>
}

// -----

// The filled buffer has another use: the insertion gets a fill of its own
// above the producer, the other use keeps the old one.

// CHECK-LABEL: func.func @fill_used_twice
// CHECK:         %[[BUFFER:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    %[[OWN:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[BUFFER]]
// CHECK:         %[[RELU:.*]] = linalg.generic
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    %[[OLD:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]]
// CHECK-NEXT:    %[[PADDED:.*]] = tensor.insert_slice %[[RELU]] into %[[OWN]]
// CHECK-NEXT:    return %[[PADDED]], %[[OLD]]
func.func @fill_used_twice(%x: tensor<1x4x6x6xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                        affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  %p = tensor.empty() : tensor<1x4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%p : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %i = tensor.insert_slice %y into %f[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : tensor<1x4x6x6xf32> into tensor<1x4x8x8xf32>
  return %i, %f : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>
}

// -----

// Two paddings of the same shape that share one fill (as CSE leaves them)
// get a buffer each.

// CHECK-LABEL: func.func @shared_fill
// CHECK:         %[[B1:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[B1]]
// CHECK-NEXT:    %[[Y1:.*]] = linalg.generic
// CHECK:         %[[B2:.*]] = bufferization.alloc_tensor() : tensor<1x4x8x8xf32>
// CHECK-NEXT:    %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[B2]]
// CHECK-NEXT:    %[[Y2:.*]] = linalg.generic
// CHECK-NOT:     tensor.empty() : tensor<1x4x8x8xf32>
// CHECK:         tensor.insert_slice %[[Y1]] into %[[F1]]
// CHECK:         tensor.insert_slice %[[Y2]] into %[[F2]]
func.func @shared_fill(%x: tensor<1x4x6x6xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %p = tensor.empty() : tensor<1x4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%p : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %y1 = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                         affine_map<(a, b, c, d) -> (a, b, c, d)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  %y2 = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                                         affine_map<(a, b, c, d) -> (a, b, c, d)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<1x4x6x6xf32>
  %i1 = tensor.insert_slice %y1 into %f[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : tensor<1x4x6x6xf32> into tensor<1x4x8x8xf32>
  %i2 = tensor.insert_slice %y2 into %f[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : tensor<1x4x6x6xf32> into tensor<1x4x8x8xf32>
  return %i1, %i2 : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>
}
