// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=2" -split-input-file -verify-diagnostics

// One row against a weight of 4 MB in the panels: the GEMM kernel takes few
// rows over weights that stay in cache only, and the generated GEMV would
// read the panels as a plain weight.
func.func @one_row_large_prepacked(%x: tensor<1x1024xf32>, %w: tensor<1024x1024xf32> {lattice.layout = "f32-panels32"}) -> tensor<1x1024xf32> {
  // expected-error @below {{weight stored in layout 'f32-panels32', which no microkernel for this matmul reads}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x1024xf32>, tensor<1024x1024xf32>) -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// The same in a module where no matmul is a microkernel's.
func.func @only_matmul(%x: tensor<2x64xf32>, %w: tensor<4x64xf32> {lattice.layout = "s8-panels32"}) -> tensor<2x4xf32> {
  // expected-error @below {{weight stored in layout 's8-panels32', which no microkernel for this matmul reads}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<4x64xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A weight in the Winograd layout under a convolution that the kernel does
// not compute with Winograd's transforms (stride 2): the GEMM would read
// the transformed weight as the plain one.
func.func @winograd_layout_stride_2(%x: tensor<1x2x41x41xf32>,
                                    %w: tensor<4x18xf32> {lattice.layout = "f32-winograd2x2"}) -> tensor<400x4xf32> {
  %e = tensor.empty() : tensor<1x20x20x2x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x41x41xf32>) outs(%e : tensor<1x20x20x2x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x20x20x2x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x20x20x2x3x3xf32> into tensor<400x18xf32>
  // expected-error @below {{weight stored in layout 'f32-winograd2x2', which no microkernel for this matmul reads}}
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<400x18xf32>, tensor<4x18xf32>) -> tensor<400x4xf32>
  return %y : tensor<400x4xf32>
}

// -----

// 4-bit weights with rows interleaved (the GEMV's layout) under a matmul of
// 32 rows, which takes the 4-bit GEMM: it reads rows in order.
func.func @rows4_layout_many_rows(%x: tensor<32x64xf32>,
                                  %w: tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>> {lattice.layout = "q4-rows4"},
                                  %s: tensor<8x2xf16>) -> tensor<32x8xf32> {
  // expected-error @below {{weight stored in layout 'q4-rows4', which no microkernel for this matmul reads}}
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<32x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<32x8xf32>
  return %y : tensor<32x8xf32>
}
