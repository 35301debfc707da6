//===- Passes.td - Lattice conversion passes ---------------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The conversion passes out of the `lattice` dialect, in one file as upstream
// keeps them.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CONVERSION_PASSES_TD
#define LATTICE_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLatticeToLinalgPass
    : Pass<"convert-lattice-to-linalg", "ModuleOp"> {
  let summary = "Lower lattice ops to linalg, arith, math and tensor";
  let description = [{
    The portable lowering of the `lattice` dialect, with the numerics that
    the ops document. Quantized tensors become tensors of their storage
    integers (`sN`/`uN` -> `iN`, ternary -> `i2` in two's complement,
    binary -> `i1` with 1 for +1), in function signatures too.

    - `lattice.quantize` and `lattice.dequantize` become one
      `linalg.generic` each; a per-group scheme expands the grouped axis
      into `[D / g, g]` so that the scale is indexed by a projected
      permutation (which tiling and vectorization accept), and collapses it
      back afterwards. Arithmetic is f32: `x / s`, `math.roundeven`
      (`math.round` for `nearest_away`), NaN to the zero point, clamping to
      the storage range.
    - `lattice.dynamic_quantize` becomes a min/max reduction per block
      (`arith.minnumf`/`maxnumf` from 0, so NaN is skipped), an elementwise
      generic computing each block's scale and zero point, and the quantize
      generic above.
    - `lattice.requantize` and `lattice.fake_quant` are first decomposed into
      dequantize/quantize pairs.
    - `lattice.matmul` becomes linalg reductions over an iteration space of
      (lhs batch dims, n, k), with k split into (groups, within group) when
      an operand is grouped. On the float path quantized operands are
      dequantized inside the reduction, so no float copy of the weights is
      made. On the integer path codes minus zero points are summed in the
      accumulator type per run of K sharing one pair of scales, and an
      epilogue adds up `f32(sum) * s_lhs * s_rhs`.
    - `lattice.rms_norm`, `lattice.layer_norm` and `lattice.normalize`
      become f32 row reductions over the last dimension followed by a
      row-wise map with the documented formula; `lattice.channel_scale`
      becomes an elementwise multiply.
    - `lattice.observe` is replaced by its input.

    `lattice.weight` (which `lattice-compile` turns into function
    arguments), and matmuls whose operands are grouped with different sizes, are rejected with a
    diagnostic naming the op.

    Example:

    ```mlir
    %q = lattice.quantize %x, %s
        : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x64x!lattice.quant<s4, f32, group<1, 32>>>
    ```

    becomes a `tensor.expand_shape` to `tensor<4x2x32xf32>`, a
    `linalg.generic` producing `tensor<4x2x32xi4>` with the scale indexed by
    `(d0, d1, d2) -> (d0, d1)`, and a `tensor.collapse_shape` back to
    `tensor<4x64xi4>`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // LATTICE_CONVERSION_PASSES_TD
