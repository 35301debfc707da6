// RUN: lattice-opt %s --convert-lattice-to-linalg -split-input-file -verify-diagnostics

/// Ops whose lowering is not written yet are named, not left half-converted.
func.func @matmul_not_lowered_yet(%x: tensor<2x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x32xf32> {
  // expected-error@+1 {{'lattice.matmul' op is not lowered by convert-lattice-to-linalg yet}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<32x64xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @weight_not_lowered_yet() -> tensor<4x4xf32> {
  // expected-error@+1 {{'lattice.weight' op is not lowered by convert-lattice-to-linalg yet}}
  %w = lattice.weight "w" from "m.safetensors" : tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}
