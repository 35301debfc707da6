// A linear layer whose output channels 1 and 3 are zero
// (lattice-compile-degenerate-data.test).
func.func @zero(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0],
                             [5.0, 6.0, 7.0, 8.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32> loc("fc")
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
