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
// Calibration
//===----------------------------------------------------------------------===//

def LatticeExportObservationsPass
    : Pass<"lattice-export-observations", "ModuleOp"> {
  let summary = "Turn calibration probes into results of their function";
  let description = [{
    The calibration build of a model: every `lattice.observe` in a function
    is replaced by its input, and that input becomes an extra result of the
    function, after the original ones and in program order, with the probe's
    name in the result attribute `lattice.name`. lattice-compile names the
    outputs of the library after that attribute, so a calibration driver
    (`lattice.calibrate`) can run the library and gather statistics of every
    probe.

    Example:

    ```mlir
    func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
      %p = lattice.observe %x name("fc:input") channel_axis(1) : tensor<4x8xf32>
      ...
    ```

    becomes

    ```mlir
    func.func @f(%x: tensor<4x8xf32>)
        -> (tensor<4x8xf32>, tensor<4x8xf32> {lattice.name = "fc:input"}) {
    ```

    A function with probes must have a body that ends in a single
    `func.return`. Probes with one name (one weight used by several
    matmuls, as in an unrolled LSTM or GRU) are one result: the distinct
    values they observe are stacked along dimension 0, so that the
    statistics pool every use. They must have one type and one channel
    axis other than 0; otherwise the pass fails.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatticeLoadWeightsPass : Pass<"lattice-load-weights", "ModuleOp"> {
  let summary = "Replace float external weights with constants from their files";
  let description = [{
    Reads every `lattice.weight` of a float type from its safetensors file
    and replaces it with an `arith.constant` holding the same values, with
    the weight's name as its location (`loc("name")`). The passes that
    rewrite weights (`lattice-quantize`, `lattice-smoothquant`,
    `lattice-fold-scales`) work on constants, so an imported model, whose
    weights live in a file, is loaded first; `lattice-compile` moves the
    quantized constants back into a weights file. Quantized weights stay
    external.

    Weights of 2^14 elements or more are not copied: the constant is a
    `dense_resource` blob over the mapped file, whose pages are given back
    to the system after each read (the passes copy one layer's weights at a
    time). The weights that passes rewrite are blobs too, freed once no op
    refers to them, so the compiler holds at most one float copy of the
    model. Smaller weights (biases, norm gains) are `dense` attributes.

    Files are found relative to `dir` (the model's folder; the current
    directory by default). A missing file or tensor, or a tensor whose
    dtype or shape differs from the op's type, is an error naming the
    weight. Write the result as bytecode (`--emit-bytecode`) to keep large
    constants compact.

    ```mlir
    %w = lattice.weight "fc1" from "model.safetensors" : tensor<4096x1024xf32>
    %b = lattice.weight "fc1.bias" from "model.safetensors" : tensor<4096xf32>
    ```

    becomes

    ```mlir
    %w = arith.constant dense_resource<fc1> : tensor<4096x1024xf32> loc("fc1")
    %b = arith.constant dense<...> : tensor<4096xf32> loc("fc1.bias")
    ```
  }];
  let options = [
    Option<"dir", "dir", "std::string", /*default=*/"\"\"",
           "Folder that the weights' file names are relative to">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LatticeObservePass : Pass<"lattice-observe", "ModuleOp"> {
  let summary = "Insert calibration probes on matmul inputs and weights";
  let description = [{
    Inserts a `lattice.observe` probe on the `lhs` of every float
    `lattice.matmul`, named `<layer>:input` with the last (K) axis as its
    channel axis, and, with `weights`, one on the `rhs` named
    `<layer>:weight` with channel axis 1 (K as well, the axis SmoothQuant
    balances). The layer name is the one `lattice-quantize` uses: the
    weight's name, or the name location of the weight or of the matmul.

    The probes record nothing by themselves: `lattice-export-observations`
    makes them outputs of the compiled function, and `lattice.calibrate`
    runs it on calibration data and writes a statistics file
    (docs/Calibration.md) that `lattice-quantize activations=static` and
    `lattice-smoothquant` read, looking statistics up by these names.

    A matmul without a layer name gets a warning and no probe. Matmuls that
    share one weight value (an unrolled recurrence) are one layer and get
    probes of the same names, pooled by `lattice-export-observations`; two
    matmuls with one layer name and different weights are an error (their
    statistics would be mixed).
  }];
  let options = [
    Option<"weights", "weights", "bool", /*default=*/"true",
           "Also observe the weights (per input channel absmax)">,
    Option<"outputs", "outputs", "bool", /*default=*/"false",
           "Also observe the results (`<layer>:output`, channel axis N), "
           "for per-layer quality reports">,
  ];
}

//===----------------------------------------------------------------------===//
// Graph rewrites
//===----------------------------------------------------------------------===//

def LatticeFoldBatchNormPass : Pass<"lattice-fold-batch-norm", "ModuleOp"> {
  let summary = "Fold channel affines (inference batch norms) into the "
                "layer before them";
  let description = [{
    An elementwise `linalg.generic` computing `y = x * a + b` (or `x * a`,
    or `x + b`) with `a` and `b` constant along one dimension of `y`, an
    inference BatchNormalization as frontends import it, goes into the
    layer that computes `x`: `a` scales the rows of its weight and the
    bias becomes `bias * a + b`. The layer is a `lattice.matmul` with a
    float weight (a linear layer, or a convolution as im2col and matmul)
    or a convolution written as a `linalg.generic` that accumulates
    `x * w` into zeros (grouped and depthwise convolutions), found through
    reshapes, transposes and a bias-add with a constant, each used only on
    the way to the affine. Without a bias-add, the affine becomes one
    (`x + b`) or goes away (`x * a`).

    The channel is followed dimension by dimension: through a reshape it
    must be a whole run of non-unit dimensions, and at the layer it must
    be the matmul's N axis or the loops that lead the weight's indexing
    map. Weights still external (`lattice.weight`) are loaded from their
    files (relative to `dir`) when they fold; the folded weights are new
    constants and the replaced ones are freed.

    ```mlir
    %y = lattice.matmul %cols, %w accumulate(f32)
        : (tensor<64x27xf32>, tensor<8x27xf32>) -> tensor<64x8xf32>
    %bn = linalg.generic {...} ins(%y, %a, %b : tensor<64x8xf32>,
        tensor<8xf32>, tensor<8xf32>) ... { mulf, addf }
    ```

    becomes a matmul by `w * a[n]` followed by `+ b`. The values are those
    of the unfolded model up to float rounding (the product `w * a` is
    rounded once).
  }];
  let options = [
    Option<"dir", "dir", "std::string", /*default=*/"\"\"",
           "Folder that external weights' file names are relative to">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::lattice::LatticeDialect"];
}

def LatticeRaiseNormsPass : Pass<"lattice-raise-norms", "ModuleOp"> {
  let summary = "Raise norms spelled out in elementwise ops to lattice ops";
  let description = [{
    Frontends export RMS, layer and L2 norms as chains of elementwise and
    reduction ops. This pass recognises them among `linalg.generic` ops
    on f32 tensors, over the last axis, and replaces them with the norm
    ops that the quantization passes reason about (SmoothQuant folds into
    their gains, renormalization projects onto their sphere) and that
    lower to one or two vector passes:

    - `x / sqrt(mean(x * x) + eps)`, or `x * (1 / sqrt(...))`, becomes
      `lattice.rms_norm`;
    - `d / sqrt(mean(d * d) + eps)` with `d = x - mean(x)` becomes
      `lattice.layer_norm`;
    - `x / max(sqrt(sum(x * x)), eps)` (Clip or Max, the norm broadcast
      or not) becomes `lattice.normalize`, and so does `x / sqrt(sum(x *
      x))` with the op's default epsilon of 1e-12 (a row of zeros then
      gives zeros, not NaN);
    - a norm's only use multiplied by a constant gain over the last axis
      (and a layer norm's then added to a constant bias) takes them as its
      operands.

    `eps` must be a positive finite constant and the mean's factor `1/n`
    for the row's `n` elements; reshapes that add or drop unit dimensions
    (keepdims) are looked through. Anything else stays as it is. A
    decomposed norm and its raised op agree up to float rounding (the
    raised op computes `1 / sqrt` once per row).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::lattice::LatticeDialect"];
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def LatticeFoldScalesPass : Pass<"lattice-fold-scales", "ModuleOp"> {
  let summary = "Fold per-channel scales and dequantizations into neighbours";
  let description = [{
    Removes scaling work from the run time by moving it into constants or
    into the matmul's scale operands:

    - `channel_scale(x, s)` on the last axis whose users are all float
      matmuls (as `lhs`) with constant float weights: s goes into the weight
      columns, `W[n, k] * s[k]`;
    - `channel_scale(norm(x, g[, b]), s)` on the last axis, the norm having
      no other user and constant gain (and bias): s goes into them;
    - `channel_scale(matmul(x, W), s)` on the last (N) axis, the matmul
      having no other user: s goes into the weight rows of a constant float
      W, or, for constant quantized W with per-channel or per-group scales
      and positive s, into the scales of each row (the epilogue multiplies
      by them anyway);
    - a `lattice.dequantize` feeding a matmul operand whose other operand is
      float becomes a quantized operand of the matmul with the dequantize's
      scale (and zero point), when the scheme is one the matmul accepts on
      that side: the codes are dequantized inside the reduction instead of
      into a float tensor;
    - `quantize(dequantize(q))` with an f32 dequantized tensor becomes
      `requantize(q)` (its definition);
    - a chain `requantize(requantize(q, a to b), b to c)` of per-tensor
      constant scales collapses into `requantize(q, a to c)` when the first
      step is lossless (s_a = m * s_b for an integer m, and every code of a
      lands inside b's range): the codes are then bit for bit the same.
      Other chains stay, since double rounding can differ from single
      rounding.

    Constant quantization (`lattice.quantize` of constants) is a
    canonicalization of `lattice.quantize` itself. The rewrites keep the
    computed values up to float rounding (the products are formed in a
    different order); python/tests/test_fold_scales.py compiles models
    before and after and compares them.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LatticeImportQuantPass : Pass<"lattice-import-quant", "ModuleOp"> {
  let summary = "Convert upstream !quant.uniform IR to the lattice dialect";
  let description = [{
    Models quantized by other tools (TOSA and torch-mlir flows, upstream
    quantization passes) carry `!quant.uniform` element types with
    `quant.qcast`, `quant.dcast` and `quant.scast`. This pass converts them:

    - `tensor<...x!quant.uniform<i8:f32, s:z>>` (per tensor) and
      `tensor<...x!quant.uniform<i8:f32:a, {s0:z0, ...}>>` (per axis a)
      become `!lattice.quant` tensors with the same storage (iN as sN, uN
      as uN, N <= 8), f32 scales, and a zero-point tensor unless the
      storage is signed and every zero point is 0;
    - `quant.qcast` becomes `lattice.quantize` and `quant.dcast`
      `lattice.dequantize`, with the scales and zero points of the type as
      constants; `quant.scast` between `i8` codes and a quantized tensor
      becomes `lattice.scast`;
    - function signatures and every other value of such a type take the
      converted type.

    The scale, a double in the upstream type, is rounded to f32 (the
    arithmetic type of both dialects' lowerings). Nothing is changed unless
    the whole module converts: a scalar quantized value, a sub-channel
    type, storage wider than 8 bits, a narrowed storage range
    (`i8<-127:127>`), a scale that is not a positive normal f32, or an op
    other than those above and func.func/func.return/func.call that uses a
    quantized type is an error naming the op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::lattice::LatticeDialect"];
}

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
    `clip`, `percentile`, `activations`, `activation_bits`, `method`,
    `damp`, `act_order`, `block_size`; and `skip` as a unit attribute);
    `lattice-assign-precision` (mixed precision) and recipe files assign
    schemes that way.

    With `method=gptq` the codes are chosen by GPTQ (lattice/Quant/GPTQ.h)
    instead of rounding to nearest: input column by column, each column's
    rounding error is spread over the columns not yet quantized through
    the inverse of H = X^T X, the `xtx` of the layer's input probe in
    `stats` (lattice-compile `--calib-xtx` writes it), dampened by `damp`
    times its mean diagonal. The columns go in lazy batches of
    `block-size`, as in the paper: a quantized column updates the rest of
    its batch at once, and the batch's errors update the columns after it
    when the batch is done (the same codes as one column at a time, with
    one pass over the trailing columns per batch). Per-tensor and
    per-channel scales come from
    the weight as it is (with `clip`), a group's from its compensated
    values when its first column is reached. With `act-order`, the columns
    go in order of decreasing H diagonal and every group's parameters come
    from the weight before compensation (GPTQ's static groups), so that
    groups stay in storage order. Input channels that are zero
    on every calibration row (a zero diagonal) get zero weights, with a
    warning; an H that the dampening does not make positive definite gets
    10 times more (up to 8 times) with a warning naming the layer. The
    report adds the output error tr(D H D^T) / tr(W H W^T) of rounding to
    nearest and of GPTQ (D the weight's error). A matmul whose input was
    rescaled after calibration (`lattice.input_rescale`, from
    `lattice-smoothquant` or `lattice-awq`) has its X^T X rescaled by the
    same factors.

    With `qep`, each layer first gets QEP's target (seed 002; Arai and
    Ichikawa, "Quantization Error Propagation"): with X the input of the
    float model and X^ that of the model whose earlier layers are already
    quantized, W* = W + qep-alpha W (C - G)(G + damp mean(diag G) I)^-1,
    G = X^ ^T X^ (the probe's `xtx`) and C = X^T X^ (its `cross`), which
    at qep-alpha = 1 makes X^ W*^T the best linear fit of X W^T; then W*
    is rounded (or GPTQ'd with H = G). The correction is fitted on the
    calibration rows, and qep-alpha < 1 keeps it from over-fitting them:
    the default, 0.25, won at 3 and 2 bits on both example LMs, where 0.5
    and 1 lost on the larger one (K up to 768 against 8192 rows;
    docs/Recipes.md). The statistics are those that `lattice-compile`
    gathers for `-qep` recipes, layer after layer, and `layers` limits the
    pass to the layers whose statistics the file has.

    With `report`, every quantized weight gets a remark with the scheme,
    the weight SQNR in dB (10 log10 of sum(w^2) over sum((w - w_hat)^2),
    with w_hat dequantized in f32) and the effective bits per weight (codes,
    scales and zero points). `report-file` writes the same, one entry per
    layer in program order, as JSON (docs/Reports.md describes the schema):
    what drivers read, instead of remark text.

    With `activations=static` the `lhs` is quantized per tensor with a
    constant symmetric scale P / qmax taken from the statistics file
    `stats` (the `<layer>:input` probe of `lattice-observe`, see
    docs/Calibration.md): P is the `activation-percentile`-th percentile of
    |x| from the probe's histogram (100: the absolute maximum). Missing or
    malformed statistics are errors naming the tensor. A matmul that
    `lattice-smoothquant` smoothed carries its input's absolute maximum
    (`lattice.input_absmax`), which the 100th percentile takes instead of
    the file (whose probe saw the input before smoothing); other
    percentiles need statistics of the smoothed model.

    `edge-bits` gives the first and the last matmul of the module (in
    program order, quantized or not) their own weight codes,
    per output channel: llama.cpp's mixtures and the `mixed` recipe of
    lattice-compile keep the layers next to the embedding and the output
    more precise. A per-layer `lattice.quantize` dictionary still wins.
    Where `group-size` does not divide K (a convolution's first layer,
    say), the last group of each row is shorter (`ceil(K / g)` groups).

    Matmuls whose weight is not a constant (a function argument, a
    `lattice.weight` not yet loaded) are left alone with a warning. A
    weight with a non-finite element or an unknown option value is an error
    naming the layer.
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
           "Activation quantization: 'none' (weight-only), 'dynamic' "
           "(per token at run time) or 'static' (per tensor, from stats)">,
    Option<"activationBits", "activation-bits", "unsigned", /*default=*/"8",
           "Bits of quantized activations (2 to 8)">,
    Option<"activationPercentile", "activation-percentile", "double",
           /*default=*/"100.0",
           "Percentile of |x| that static activation scales cover, in "
           "(50, 100]">,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Statistics file of lattice.calibrate (for activations=static)">,
    ListOption<"skip", "skip", "std::string",
               "Regular expressions of layer names to leave in float">,
    Option<"edgeBits", "edge-bits", "std::string", /*default=*/"\"\"",
           "Weight codes of the first and last quantized matmul (per "
           "channel), as mixed recipes keep a model's ends more precise">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "Weight rounding: rtn (to nearest) or gptq (each column's error "
           "compensated in the columns after it, through the X^T X of the "
           "layer's input in `stats`)">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "GPTQ's dampening of X^T X, as a fraction of its mean diagonal, "
           "in (0, 1]">,
    Option<"actOrder", "act-order", "bool", /*default=*/"false",
           "GPTQ takes the columns in order of decreasing X^T X diagonal, "
           "with group parameters chosen before compensation (static "
           "groups, kept in storage order)">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "GPTQ's lazy batches: columns quantized between two updates of "
           "the columns after them (positive; per-group schemes round it up "
           "to whole groups; the codes do not depend on it)">,
    Option<"qep", "qep", "bool", /*default=*/"false",
           "Quantize QEP's target weights, from the cross moments of the "
           "float and the partly quantized model's inputs in `stats`">,
    Option<"qepAlpha", "qep-alpha", "double", /*default=*/"0.25",
           "QEP's propagation strength, in [0, 1]">,
    ListOption<"layers", "layers", "std::string",
               "Names of the layers to quantize (all when empty)">,
    Option<"progress", "progress", "bool", /*default=*/"false",
           "Print each layer's number, name and the time elapsed to stderr "
           "as it is quantized (for long runs)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark the weight SQNR and bits per weight of every layer">,
    Option<"reportFile", "report-file", "std::string", /*default=*/"\"\"",
           "Write the per-layer report (scheme, weight SQNR, bits per "
           "weight) to this JSON file (docs/Reports.md)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatticeApplyRecipeFilePass
    : Pass<"lattice-apply-recipe-file", "ModuleOp"> {
  let summary = "Give layers the per-layer settings of a recipe file";
  let description = [{
    Reads the recipe file `file` (JSON, docs/Recipes.md) and gives every
    float `lattice.matmul` whose layer name (as `lattice-quantize` names
    layers) the regular expression of one of its rules finds, the first
    such rule, the settings of that rule as entries of its
    `lattice.quantize` dictionary (added to the entries it has, replacing
    those of the same key): `bits` as `weight_bits`, `granularity`,
    `group_size`, `symmetric`, `scale_type`, `clip`, and `keep_float` as
    `skip`. `lattice-quantize` then quantizes each layer with them.

    An unreadable file, bad JSON, an unknown key or a value of the wrong
    kind is an error naming the file, the key and the value; a rule that
    matches no layer gets a warning.
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "The recipe file (required)">,
  ];
}

def LatticeAssignPrecisionPass
    : Pass<"lattice-assign-precision", "ModuleOp"> {
  let summary = "Choose each layer's weight scheme under a bits-per-weight "
                "budget (mixed precision)";
  let description = [{
    Gives every float `lattice.matmul` whose rhs is a constant or a
    `lattice.weight` of static shape [N, K] (and that is not marked `skip`)
    one of the candidate schemes of the sensitivity file `sensitivity`,
    written by lattice-compile (docs/MixedPrecision.md: per layer and
    candidate, the model's output error when only that layer takes that
    scheme), so that the weights' bits (codes, scales and zero points) over
    all those layers stay within `budget` bits per weight and the summed
    error is least. The choice becomes entries of the layer's
    `lattice.quantize` dictionary (`weight_bits`, `granularity`,
    `group_size`, `scale_type`, or `skip` for "float"), which
    `lattice-quantize` then applies.

    `solver` is `exact` (the multiple-choice knapsack, by dynamic
    programming over the budget: optimal for the additive error) or
    `annealing` (parallel quasi-quantum annealing, which also takes
    objectives that are not sums; here the same sum). A group size that
    does not divide a layer's K leaves a shorter last group, whose scale
    counts in the bits like any other. The
    per-layer choice, its bits and error, and every candidate's, go to the
    JSON file `report` when given, and to remarks.

    A missing or bad file, a layer the file does not measure, a layer left
    without a candidate, a budget that is not positive, and a budget below
    the cheapest assignment (whose bits per weight the message gives) are
    errors; a layer of the file that the module lacks gets a warning.
  }];
  let options = [
    Option<"sensitivity", "sensitivity", "std::string", /*default=*/"\"\"",
           "The sensitivity file (required)">,
    Option<"budget", "budget", "double", /*default=*/"4.5",
           "Bits per weight over the assigned layers, scales and zero points "
           "included">,
    Option<"solver", "solver", "std::string", /*default=*/"\"exact\"",
           "exact (the knapsack) or annealing">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write the assignment (JSON, docs/MixedPrecision.md) to this "
           "file">,
  ];
}

def LatticeRenormalizePass : Pass<"lattice-renormalize", "ModuleOp"> {
  let summary = "Put quantized values of unit-norm models back on the sphere";
  let description = [{
    In hypersphere models (nGPT) hidden states are `lattice.normalize`d and
    weight rows have unit norm, so dot products are cosines. Quantization
    moves both off the unit sphere; this pass restores the norm.

    Activations: the float result of a `lattice.dequantize` or
    `lattice.fake_quant` whose input comes from a `lattice.normalize`
    (directly or through other quantization ops) is normalized again, with
    the source's epsilon, before its other users see it.

    Weights: for a `lattice.matmul` whose `lhs` comes from a
    `lattice.normalize` and whose `rhs` is constant quantized codes with
    constant per-channel (axis 0) or per-group scales, the dequantized rows
    w_i = s_i (q_i - z_i) are measured; when every row's norm is within
    `tolerance` of 1 (the rows were unit vectors before rounding), each
    row's scales are divided by its norm: the rows are unit vectors again
    (up to the rounding of the scale type) and renormalization costs
    nothing at run time. Layers whose rows are not unit vectors, or whose
    weight has a single per-tensor scale, are left alone (with a remark
    under `report`).
  }];
  let options = [
    Option<"tolerance", "tolerance", "double", /*default=*/"0.1",
           "How far from 1 a quantized row norm may be for the rows to be "
           "treated as unit vectors (in (0, 1))">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Remark every layer folded or left alone">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LatticeAWQPass : Pass<"lattice-awq", "ModuleOp"> {
  let summary = "Scale weights by their inputs' magnitudes before weight "
                "quantization (AWQ)";
  let description = [{
    AWQ (Lin et al.): the weights of input channels that carry large
    activations matter most to a layer's output, and rounding errors
    shrink relative to a weight that is scaled up. For every group of float
    `lattice.matmul`s that share one `lhs` X (as Q, K and V do) or one
    weight, with constant `[N, K]` weights, the pass computes factors

    ```
    s_j = mean|X_j|^alpha / sqrt(max_j(mean|X_j|^alpha) min_j(mean|X_j|^alpha))
    ```

    (mean |x| per input channel from the `absmean` of the layer's input
    probe in `stats`; channels never active keep s_j = 1, with a warning
    that counts them and names the first; s clamped to
    [1e-4, 1e4]) for alpha in {0, 1/grid, ..., 1}, and keeps the alpha
    whose output error, summed over the group's layers, is least:
    tr(D H D^T) with H = X^T X (the probe's `xtx`) and
    D = W - Q(W diag(s)) diag(s)^-1, Q rounding to nearest with blocks'
    ranges chosen by `clip` (min-max, or MSE clipping as lattice-quantize's
    `clip=mse`) in the scheme that `lattice-quantize` will use (the options
    below, with the `weight_bits`, `granularity`, `group_size` and
    `symmetric` entries of a layer's `lattice.quantize` dictionary; layers
    with `skip`, or binary or ternary codes, are left out of the error).
    alpha = 0 is rounding to nearest itself, so the chosen alpha never
    does worse on the calibration data. A remark per group gives alpha and
    the relative output error tr(D H D^T) / tr(W H W^T) against the
    unscaled one.

    The rewrite is SmoothQuant's: X W^T = (X diag(s)^-1)(W diag(s))^T, with
    diag(s)^-1 folded into the gain (and bias) of a `lattice.rms_norm` or
    `lattice.layer_norm` producing X whose only users are the group, or
    into the rows of the up projection of a SwiGLU product (as
    `lattice-smoothquant` does), else an explicit `lattice.channel_scale`
    (with a remark). Every rescaled
    matmul records the factors on its input in `lattice.input_rescale`,
    from which `lattice-quantize method=gptq` rescales the X^T X that was
    gathered before.

    With `clip-search`, each block of the scaled weight (a group, or a
    row) is then clamped to its min-max range times the ratio in {1, 0.95,
    ..., 0.5} whose rounding error, seen through the block's part of
    X^T X, is least (AWQ's clipping search; with `clip=minmax` only, as
    lattice-quantize's min-max ranges then keep those ranges).
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Statistics file with the absmean and xtx of every layer's input "
           "(required)">,
    Option<"weightBits", "weight-bits", "std::string", /*default=*/"\"4\"",
           "Weight codes that lattice-quantize will use: 2 to 8 bits">,
    Option<"granularity", "granularity", "std::string",
           /*default=*/"\"group\"",
           "Scale granularity: 'tensor', 'channel' or 'group'">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Elements per group along K when granularity=group (a shorter "
           "last group where it does not divide K)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric codes (no zero point)">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f16\"",
           "Element type of the scales: 'f32', 'f16' or 'bf16'">,
    Option<"clip", "clip", "std::string", /*default=*/"\"minmax\"",
           "The ranges that lattice-quantize will choose: 'minmax' or "
           "'mse'">,
    Option<"grid", "grid", "int64_t", /*default=*/"20",
           "Steps of the alpha grid on [0, 1] (1 to 1000)">,
    Option<"clipSearch", "clip-search", "bool", /*default=*/"false",
           "Also clip every block of the weights to the range that "
           "minimises its output error">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LatticeSmoothQuantPass : Pass<"lattice-smoothquant", "ModuleOp"> {
  let summary = "Migrate activation outliers into the weights (SmoothQuant)";
  let description = [{
    For every group of float `lattice.matmul`s that share one `lhs` X (as
    Q, K and V do) and have constant `[N, K]` weights, computes one
    smoothing factor per input channel j

    ```
    s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
    ```

    with max|X_j| from the statistics file `stats` (the `<layer>:input`
    probe of `lattice-observe`) and max|W_j| over the rows of every weight
    in the group, and rewrites `X W^T = (X diag(s)^-1)(W diag(s))^T`:
    every weight's column j is multiplied by s_j, and diag(s)^-1 is folded
    into the producer of X when it is a `lattice.rms_norm` or
    `lattice.layer_norm` with constant gain (and bias) whose only users are
    the group (reshapes that keep the last dimension, such as an importer's
    [B, T, C] -> [B * T, C] before each layer, are looked through), or an
    elementwise product one of whose factors is the output of a float
    linear layer used nowhere else (SwiGLU's up projection: its weight's
    rows take diag(s)^-1). Otherwise an explicit `lattice.channel_scale` by
    1/s is inserted and a remark says so. Channels where either maximum is zero
    keep s_j = 1; s is clamped to [1e-5, 1e5]. Every smoothed matmul gets
    the range of its new input, `lattice.input_absmax` = max_j max|X_j| /
    s_j (f32, from its own probe), from which `lattice-quantize
    activations=static` takes the scale: one calibration of the float model
    serves both passes.

    alpha comes from `alpha`, or from an `alpha` entry (a float) in a
    `lattice.smoothquant` dictionary on a matmul of the group (all matmuls
    of a group that set it must agree); it must lie in [0, 1]. With
    `alpha-search`, each group instead takes the alpha in {0, 0.05, ..., 1}
    that minimises the expected output error of W8A8 on the calibration
    statistics: the weight error tr(dW^T X^T X dW) from the probe's `xtx`,
    plus the activation error rows * step^2 / 12 * ||W diag(s)||^2 of a
    per-tensor 8-bit quantizer of X diag(s)^-1. The chosen alpha is
    reported in a remark.

    Activation statistics of X diag(s)^-1 differ from those of X: calibrate
    again after this pass before static activation quantization.
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Statistics file of lattice.calibrate (required)">,
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength, in [0, 1]">,
    Option<"alphaSearch", "alpha-search", "bool", /*default=*/"false",
           "Choose alpha per group from the statistics (needs xtx)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LatticeSplitOutliersPass : Pass<"lattice-split-outliers", "ModuleOp"> {
  let summary = "Send outlier input channels through a float matmul "
                "(LLM.int8())";
  let description = [{
    LLM.int8() (Dettmers et al.) as a rewrite before `lattice-quantize`:
    for every float `lattice.matmul` with a constant `[N, K]` weight, the
    input channels j whose calibrated `max|X_j|` (the `<layer>:input` probe
    of the statistics file `stats`, rescaled by a SmoothQuant or AWQ that
    ran before) exceeds `threshold` are multiplied in float, and the rest
    through the matmul that `lattice-quantize` will quantize:

    ```
    X W^T = (X diag(m)) (W diag(m))^T + X[:, O] W[:, O]^T
    ```

    with O the outlier channels and m their 0/1 complement. The outlier
    part is a gather of X's columns O (a `linalg.generic` reading X with
    `tensor.extract` at constant indices), a float matmul by the `[N, |O|]`
    weight named `<layer>.outliers`, which carries
    `lattice.quantize = {skip}`, and an elementwise sum. X diag(m) is a
    `lattice.channel_scale` by the 0/1 mask; the quantized matmul's weight
    has its outlier columns zeroed and its input range,
    `lattice.input_absmax`, is the largest maximum of the channels it keeps,
    from which `activations=static` takes its scale.

    Matmuls that share an input (Q, K and V) or a weight take the union of
    their outlier channels, so that one mask and one gather serve them. A
    layer whose channels all exceed the threshold is kept in float
    (`skip`), with a remark. Every split or kept layer records the number of
    float channels in `lattice.float_channels` (i64), which the report of
    `lattice-quantize` gives per layer; `report` adds a remark per layer.

    Errors: a threshold that is not positive and finite, a missing or bad
    statistics file, a layer without a name or without input statistics.
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Statistics file of lattice.calibrate (required)">,
    Option<"threshold", "threshold", "double", /*default=*/"6.0",
           "Input channels whose calibrated max |x| exceeds this stay float">,
    Option<"report", "report", "bool", /*default=*/"false",
           "A remark per layer: how many channels stay float">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD
