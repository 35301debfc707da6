// Square roots in a kernel (exact-math.mlir).
func.func @roots(%x: tensor<64xf32>) -> tensor<64xf32> {
  %r = math.sqrt %x : tensor<64xf32>
  return %r : tensor<64xf32>
}
