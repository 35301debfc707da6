// A float and an integer input, summed before one matmul.
func.func @two(%x: tensor<2x64xf32> {lattice.name = "x"},
               %t: tensor<2x64xi32> {lattice.name = "t"}) -> tensor<2x16xf32> {
  %f = arith.sitofp %t : tensor<2x64xi32> to tensor<2x64xf32>
  %s = arith.addf %x, %f : tensor<2x64xf32>
  %w = arith.constant dense<0.5> : tensor<16x64xf32> loc("fc")
  %y = lattice.matmul %s, %w accumulate(f32) : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
