// A two-layer MLP block in the lattice dialect, as the quantizer leaves it:
// RMSNorm, then two linear layers with 4-bit weights in groups of 32 (f16
// scales) and f32 activations (W4A16), with a ReLU between them. The weights
// live in an external safetensors file, referenced by name.

func.func @mlp(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %gamma = lattice.weight "norm.weight" from "mlp.safetensors" : tensor<64xf32>
  %w1 = lattice.weight "fc1.weight" from "mlp.safetensors"
      : tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>
  %s1 = lattice.weight "fc1.scale" from "mlp.safetensors" : tensor<128x2xf16>
  %w2 = lattice.weight "fc2.weight" from "mlp.safetensors"
      : tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>
  %s2 = lattice.weight "fc2.scale" from "mlp.safetensors" : tensor<64x4xf16>

  %h = lattice.rms_norm %x, %gamma {epsilon = 1.0e-6 : f32}
      : (tensor<1x64xf32>, tensor<64xf32>) -> tensor<1x64xf32>
  %a = lattice.matmul %h, %w1 rhs_scale(%s1) accumulate(f32)
      : (tensor<1x64xf32>, tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<128x2xf16>) -> tensor<1x128xf32>
  %zero = arith.constant dense<0.0> : tensor<1x128xf32>
  %r = arith.maximumf %a, %zero : tensor<1x128xf32>
  %y = lattice.matmul %r, %w2 rhs_scale(%s2) accumulate(f32)
      : (tensor<1x128xf32>, tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<64x4xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
