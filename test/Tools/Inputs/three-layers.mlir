// Three matmuls on constant weights, named by their locations.
func.func @three(%x: tensor<2x64xf32>) -> tensor<2x16xf32> {
  %w1 = arith.constant dense<0.5> : tensor<64x64xf32> loc("first")
  %w2 = arith.constant dense<0.25> : tensor<64x64xf32> loc("middle")
  %w3 = arith.constant dense<0.125> : tensor<16x64xf32> loc("last")
  %a = lattice.matmul %x, %w1 accumulate(f32) : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  %b = lattice.matmul %a, %w2 accumulate(f32) : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  %c = lattice.matmul %b, %w3 accumulate(f32) : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %c : tensor<2x16xf32>
}
