//===- Passes.td - Lattice transformation passes -----------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Passes of the `lattice` dialect. Defs end in `Pass`, flags are
// `lattice-<verb>-<object>`; keep them alphabetical within a group.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Analyses
//===----------------------------------------------------------------------===//

def LatticeReportStoragePass : Pass<"lattice-report-storage", "ModuleOp"> {
  let summary = "Report the storage cost of every quantized weight";
  let description = [{
    Emits one remark per quantized weight (a `lattice.weight` whose element
    type is `!lattice.quant`) with the number of codes and scales, the
    effective bits per weight (codes, scales and zero points; zero points are
    counted at the code width) and the bytes it occupies, then one remark on
    the module with the totals. The IR is not changed.

    Example:

    ```mlir
    %w = lattice.weight "fc1.weight" from "mlp.safetensors"
        : tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>
    ```

    reports

    ```
    remark: 'fc1.weight': 8192 codes, 256 scales, 4.5 bits per weight, 4608 bytes
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def LatticeQuantizePass : Pass<"lattice-quantize", "ModuleOp"> {
  let summary = "Quantize matmul weights (round to nearest) and activations";
  let description = [{
    Rewrites every `lattice.matmul` whose `rhs` is a float constant `[N, K]`
    into a matmul on quantized weights: the codes become a constant of `i8`
    codes behind `lattice.scast` (named after the weight, so that
    lattice-compile stores them under that name), with constant scales and,
    for asymmetric schemes, zero points. With `activations=dynamic` the
    `lhs` is quantized per token at run time (`lattice.dynamic_quantize`,
    symmetric, `activation-bits` bits) and the matmul accumulates in
    integers.

    Weight scales per block (tensor, output channel, or group along K):
    - integer codes: the range `[lo, hi]` of the block, chosen by `clip`:
      `minmax` (the whole range), `percentile` (the p-th percentile of |w|
      for symmetric schemes, the (100 - p)-th and p-th percentiles of w for
      asymmetric ones, interpolated linearly), or `mse` (the range scaled
      by the factor in
      {1, 0.99, ..., 0.50} that minimises the block's squared error); then
      the scale and zero point of `computeQuantParams` (documented with the
      type);
    - `ternary`: the absmean rule of BitNet b1.58, s = mean(|w|), codes
      clamp(round(w / s), -1, 1);
    - `binary`: s = mean(|w|) (the L2-optimal scale of sign codes).

    A layer's name is the weight's name: the `lattice.weight` name, or the
    name location of the constant or of the matmul. Layers whose name
    contains a match of one of the `skip` regular expressions (anchor them
    with `^` and `$` to match whole names) stay in float. A matmul
    may carry a `lattice.quantize` dictionary attribute that overrides the
    options for that layer (keys as the options, with `-` written `_`:
    `weight_bits`, `granularity`, `group_size`, `symmetric`, `scale_type`,
    `clip`, `percentile`, `activations`, `activation_bits`; and `skip` as a
    unit attribute); a mixed-precision pass assigns schemes that way.

    With `report`, every quantized weight gets a remark with the scheme,
    the weight SQNR in dB (10 log10 of sum(w^2) over sum((w - w_hat)^2),
    with w_hat dequantized in f32) and the effective bits per weight (codes,
    scales and zero points).

    Matmuls whose weight is not a constant (a function argument, a
    `lattice.weight` not yet loaded) are left alone with a warning. A
    weight with a non-finite element, a group size that does not divide K,
    or an unknown option value is an error naming the layer.
  }];
  let options = [
    Option<"weightBits", "weight-bits", "std::string", /*default=*/"\"8\"",
           "Weight codes: 2 to 8 (bits), 'ternary' or 'binary'">,
    Option<"granularity", "granularity", "std::string",
           /*default=*/"\"channel\"",
           "Scale granularity: 'tensor', 'channel' (per output row) or "
           "'group' (groups of group-size along K)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Elements per group along K when granularity=group">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric codes (no zero point)">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Element type of the scales: 'f32', 'f16' or 'bf16'">,
    Option<"clip", "clip", "std::string", /*default=*/"\"minmax\"",
           "Range of integer codes: 'minmax', 'percentile' or 'mse'">,
    Option<"percentile", "percentile", "double", /*default=*/"99.9",
           "Percentile kept by clip=percentile, in (50, 100]">,
    Option<"activations", "activations", "std::string",
           /*default=*/"\"none\"",
           "Activation quantization: 'none' (weight-only) or 'dynamic' "
           "(per token at run time)">,
    Option<"activationBits", "activation-bits", "unsigned", /*default=*/"8",
           "Bits of dynamically quantized activations (2 to 8)">,
    ListOption<"skip", "skip", "std::string",
               "Regular expressions of layer names to leave in float">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark the weight SQNR and bits per weight of every layer">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD
