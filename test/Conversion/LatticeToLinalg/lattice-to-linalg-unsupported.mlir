// RUN: lattice-opt %s --convert-lattice-to-linalg -split-input-file -verify-diagnostics

/// Ops whose lowering is not written yet are named, not left half-converted.
func.func @matmul_groups_of_different_sizes(
    %x: tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>, %xs: tensor<1x2xf32>,
    %w: tensor<8x64x!lattice.quant<s4, f32, group<1, 16>>>, %ws: tensor<8x4xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'lattice.matmul' op with lhs and rhs groups of different sizes is not lowered by convert-lattice-to-linalg yet}}
  %y = lattice.matmul %x, %w lhs_scale(%xs) rhs_scale(%ws) accumulate(i32)
      : (tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>, tensor<8x64x!lattice.quant<s4, f32, group<1, 16>>>,
         tensor<1x2xf32>, tensor<8x4xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @weight_not_lowered_yet() -> tensor<4x4xf32> {
  // expected-error@+1 {{'lattice.weight' op is not lowered by convert-lattice-to-linalg yet}}
  %w = lattice.weight "w" from "m.safetensors" : tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----

/// Other ops on quantized tensors are named too, instead of leaving a type
/// materialization behind.
func.func @slice_of_quantized(%q: tensor<8x!lattice.quant<s8, f32>>) -> tensor<4x!lattice.quant<s8, f32>> {
  // expected-error@+1 {{'tensor.extract_slice' op on quantized tensors is not lowered by convert-lattice-to-linalg yet}}
  %s = tensor.extract_slice %q[0] [4] [1] : tensor<8x!lattice.quant<s8, f32>> to tensor<4x!lattice.quant<s8, f32>>
  return %s : tensor<4x!lattice.quant<s8, f32>>
}
