// A matmul on a constant weight that has no name.
func.func @unnamed(%x: tensor<2x64xf32>) -> tensor<2x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x64xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
