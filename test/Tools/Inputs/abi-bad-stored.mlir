func.func @model(%x: tensor<4xf32>, %w: tensor<4xf32> {lattice.stored_weight = {name = "w", dtype = "X9", shape = array<i64: 4>}}) -> tensor<4xf32> {
  %y = arith.addf %x, %w : tensor<4xf32>
  return %y : tensor<4xf32>
}
