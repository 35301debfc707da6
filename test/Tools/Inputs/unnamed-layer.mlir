// A model whose second matmul has no name (no lattice.weight, no name
// location): QEP cannot gather the statistics of its input.
func.func @model(%x: tensor<2x64xf32>) -> tensor<2x16xf32> {
  %w1 = arith.constant dense<0.5> : tensor<64x64xf32> loc("first")
  %h = lattice.matmul %x, %w1 accumulate(f32) : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  %w2 = arith.constant dense<0.125> : tensor<16x64xf32>
  %y = lattice.matmul %h, %w2 accumulate(f32) : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
