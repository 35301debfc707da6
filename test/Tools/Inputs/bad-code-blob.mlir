func.func @model(%x: tensor<3x128xf32>) -> tensor<3x128xf32> {
  %c = arith.constant dense_resource<short_codes> : tensor<128x128xi8>
  %w = lattice.scast %c : tensor<128x128xi8> to tensor<128x128x!lattice.quant<s8, f32, channel<0>>>
  %s = arith.constant dense<1.0> : tensor<128xf32>
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32) : (tensor<3x128xf32>, tensor<128x128x!lattice.quant<s8, f32, channel<0>>>, tensor<128xf32>) -> tensor<3x128xf32>
  return %y : tensor<3x128xf32>
}

{-#
  dialect_resources: {
    builtin: {
      short_codes: "0x0100000001020304"
    }
  }
#-}
