func.func @model(%w: tensor<4xf32> {lattice.stored_weight = {name = "w", dtype = "F32", shape = array<i64: 4>}}, %x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %w : tensor<4xf32>
  return %y : tensor<4xf32>
}
