// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=2" --lattice-cpu-fuse-elementwise --canonicalize | FileCheck %s

// A convolution whose result the ONNX importer adds a bias to and
// transposes to NCHW: the kernel writes NCHW, and after elementwise fusion
// one op adds the bias, reading the kernel's output in order. Neither the
// transposing copy from the kernel nor the importer's transpose is left.

// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[$CHANNEL:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @conv_nchw
// CHECK:         call @lattice_uk_conv2d_f32
// CHECK:         %[[PLANES:.*]] = bufferization.to_tensor %{{.*}} : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$CHANNEL]], #[[$ID]]]{{.*}} ins(%[[PLANES]], %{{.*}} : tensor<1x8x4x4xf32>, tensor<8xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
func.func @conv_nchw(%x: tensor<1x3x10x10xf32>, %w: tensor<8x27xf32>, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<16x27xf32>, tensor<8x27xf32>) -> tensor<16x8xf32>
  %e2 = tensor.empty() : tensor<16x8xf32>
  %biased = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                             affine_map<(d0, d1) -> (d0, d1)>],
                            iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<16x8xf32>, tensor<8xf32>) outs(%e2 : tensor<16x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  %nhwc = tensor.expand_shape %biased [[0, 1, 2], [3]] output_shape [1, 4, 4, 8] : tensor<16x8xf32> into tensor<1x4x4x8xf32>
  %e3 = tensor.empty() : tensor<1x8x4x4xf32>
  %nchw = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>,
                                           affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%nhwc : tensor<1x4x4x8xf32>) outs(%e3 : tensor<1x8x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x8x4x4xf32>
  return %nchw : tensor<1x8x4x4xf32>
}
