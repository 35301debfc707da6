// Two layers that read one norm's output through reshapes of their own (as
// the ONNX importer writes [B, T, C] -> [B * T, C] before each linear
// layer): one group, whose factors fold into the norm's gain.
// RESHAPE-LABEL: func.func @reshapes
// RESHAPE: arith.constant dense<[1.18920708, 1.68179286, 1.000000e+00, 0.594603539]> : tensor<4xf32>
// RESHAPE-NOT: lattice.channel_scale
func.func @reshapes(%x: tensor<1x8x4xf32>) -> (tensor<8x2xf32>, tensor<8x2xf32>) {
  %g = arith.constant dense<[1.0, 1.0, 1.0, 1.0]> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<1x8x4xf32>, tensor<4xf32>) -> tensor<1x8x4xf32>
  %a = tensor.collapse_shape %n [[0, 1], [2]] : tensor<1x8x4xf32> into tensor<8x4xf32>
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 0.3], [0.3, 0.9, -1.0, -0.2]]> : tensor<2x4xf32> loc("g")
  // expected-warning @below {{layer 'g': 1 of 4 input channels (the first: 2) are zero on every calibration row; their scales stay 1}}
  // expected-remark @below {{layer 'g' and the layers sharing its input: alpha 0.5}}
  %y = lattice.matmul %a, %w accumulate(f32) : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  %b = tensor.collapse_shape %n [[0, 1], [2]] : tensor<1x8x4xf32> into tensor<8x4xf32>
  %v = arith.constant dense<[[1.0, -0.5, 0.25, 0.3], [0.3, 0.9, -1.0, -0.2]]> : tensor<2x4xf32> loc("u")
  %z = lattice.matmul %b, %v accumulate(f32) : (tensor<8x4xf32>, tensor<2x4xf32>) -> tensor<8x2xf32>
  return %y, %z : tensor<8x2xf32>, tensor<8x2xf32>
}
