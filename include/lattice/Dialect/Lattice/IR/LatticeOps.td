//===- LatticeOps.td - Lattice operations ------------------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Operations of the `lattice` dialect: quantization, dequantization and
// requantization, quantized matrix multiplication, the normalisation and
// scaling ops that quantization passes rewrite, calibration probes, fake
// quantization and external weights.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_TD
#define LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_TD

include "lattice/Dialect/Lattice/IR/LatticeBase.td"
include "lattice/Dialect/Lattice/IR/LatticeTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Lattice_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Lattice_QuantTensor : RankedTensorOf<[Lattice_QuantType]>;
def Lattice_ScaleTensor : RankedTensorOf<[F32, F16, BF16]>;
def Lattice_ZeroPointTensor : RankedTensorOf<[I8, I16, I32, I64]>;
def Lattice_FloatOrQuantTensor : RankedTensorOf<[AnyFloat, Lattice_QuantType]>;
def Lattice_WeightTensor
    : RankedTensorOf<[AnyFloat, AnySignlessInteger, Lattice_QuantType]>;

def Lattice_DefaultRounding : DefaultValuedAttr<Lattice_RoundingModeAttr,
    "::mlir::lattice::RoundingMode::NearestEven">;

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def Lattice_QuantizeOp : Lattice_Op<"quantize", [Pure]> {
  let summary = "Quantize a float tensor with given scales";
  let description = [{
    Maps each float element to an integer code of the result's quantized
    element type, with scale (and, for asymmetric schemes, zero-point)
    tensors shaped by the scheme's granularity.

    ```
    def quantize(x, s, z, rounding):
      for each index i:
        b = block(i)                       # 0, i[axis], or i with i[axis] //= g
        r = round(f32(x[i]) / f32(s[b]), rounding)   # NaN -> z, Inf saturates
        q[i] = clamp(r + z[b], qmin, qmax)  # z = 0 when symmetric
      # binary storage: q[i] = -1 if x[i] / s[b] < 0 else +1
    ```

    Division is IEEE f32 whatever the scale type. Rounding is
    round-half-to-even unless `rounding` says otherwise. Out-of-range values
    saturate at `qmin`/`qmax`.

    Constraints:
    - input and result shapes are equal; the scheme's axis is below the rank,
      and a grouped axis is static and divisible by the group size;
    - the scale's element type is the scheme's scale type and its shape is
      the one the granularity implies (see the dialect description);
    - a zero point is given if and only if the scheme is asymmetric; it has
      the scale's shape and an integer element type wide enough for the
      storage range;
    - constant scales are finite, positive and normal f32 values; constant
      zero points lie in `[qmin, qmax]`.

    Canonicalization quantizes at compile time: a `quantize` whose input,
    scale and zero point are constants becomes a constant of codes and a
    `lattice.scast`, with exactly the arithmetic above.

    Example:

    ```mlir
    %q = lattice.quantize %x, %scale, %zp
        : (tensor<4x64xf32>, tensor<4xf32>, tensor<4xi16>)
        -> tensor<4x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, Lattice_ScaleTensor:$scale,
                       Optional<Lattice_ZeroPointTensor>:$zero_point,
                       Lattice_DefaultRounding:$rounding);
  let results = (outs Lattice_QuantTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Lattice_DynamicQuantizeOp : Lattice_Op<"dynamic_quantize", [Pure]> {
  let summary = "Quantize a float tensor with scales computed from the data";
  let description = [{
    Computes the scale (and zero point) of every block of the input from its
    minimum and maximum, then quantizes as `lattice.quantize` does. Used for
    per-token activation quantization, where the scales are only known at
    run time. The scales (and zero points) are returned so that consumers
    can dequantize.

    ```
    def dynamic_quantize(x, rounding):
      for each block b:                                  # all in f32
        lo = min(min(x[block b]), 0); hi = max(max(x[block b]), 0)
        if symmetric: s[b] = max(-lo, hi) / qmax_sym    # uN: hi / qmax
        else:         s[b] = (hi - lo) / (qmax - qmin)
        s[b] = round_to_scale_type(s[b])
        if not (smallest normal f32 <= s[b] < inf): s[b] = 1, z[b] = 0
        elif asymmetric: z[b] = clamp(round_even(qmin - lo / s[b]), qmin, qmax)
      return quantize(x, s, z, rounding), s, z
    ```

    `qmax_sym` is `2^(N-1) - 1` for `sN`, `2^N - 1` for `uN` and 1 for
    ternary and binary. The arithmetic is f32; the zero point is computed
    from the scale rounded to the scale type, as `lattice.quantize` will use
    it. NaN elements are ignored by min/max; a block that is all NaN or
    zero, contains an infinity, or whose scale overflows the scale type
    gets the fallback scale 1 (zero point 0).

    Constraints: as for `lattice.quantize`, with the scale and zero point
    as results.

    Example:

    ```mlir
    %q, %scale = lattice.dynamic_quantize %x
        : (tensor<16x64xf32>)
        -> (tensor<16x64x!lattice.quant<s8, f32, channel<0>>>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input,
                       Lattice_DefaultRounding:$rounding);
  let results = (outs Lattice_QuantTensor:$result, Lattice_ScaleTensor:$scale,
                      Optional<Lattice_ZeroPointTensor>:$zero_point);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lattice_DequantizeOp : Lattice_Op<"dequantize", [Pure]> {
  let summary = "Convert quantized codes back to floats";
  let description = [{
    ```
    def dequantize(q, s, z):
      for each index i:
        b = block(i)
        y[i] = f32(q[i] - z[b]) * f32(s[b])    # z = 0 when symmetric
      return convert(y, result element type)    # round to nearest even
    ```

    `dequantize(quantize(x))` is deliberately **not** folded to `x`: the
    round trip loses information (rounding, saturation), and the difference
    is exactly the quantization error that a fake-quantized or calibrated
    model must see.

    Constraints:
    - input and result shapes are equal; the result element type is a float;
    - scale and zero point as for `lattice.quantize`.

    Example:

    ```mlir
    %x = lattice.dequantize %q, %scale
        : (tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>, tensor<64x4xf16>)
        -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Lattice_QuantTensor:$input, Lattice_ScaleTensor:$scale,
                       Optional<Lattice_ZeroPointTensor>:$zero_point);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lattice_RequantizeOp : Lattice_Op<"requantize",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Change the scheme or the scales of a quantized tensor";
  let description = [{
    ```
    def requantize(q, s_in, z_in, s_out, z_out, rounding):
      return quantize(dequantize(q, s_in, z_in), s_out, z_out, rounding)
    ```

    computed in f32. The operation folds to its input when the result type
    equals the input type and the output scale and zero point are the same
    values as the input ones (same SSA values or equal constants): then
    every code maps to itself. A chain of two requantizations is *not*
    folded into one here: double rounding can differ from single rounding,
    and collapsing chains into one multiplier is a pass's decision
    (`lattice-fold-scales`).

    Constraints:
    - input and result shapes are equal;
    - each side's scale and zero point satisfy the `lattice.quantize` rules
      for its own scheme.

    Example:

    ```mlir
    %r = lattice.requantize %q, %s_in to %s_out
        : (tensor<8x16x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>)
        -> tensor<8x16x!lattice.quant<s4, f32>>
    ```
  }];
  let arguments = (ins Lattice_QuantTensor:$input,
                       Lattice_ScaleTensor:$input_scale,
                       Optional<Lattice_ZeroPointTensor>:$input_zero_point,
                       Lattice_ScaleTensor:$output_scale,
                       Optional<Lattice_ZeroPointTensor>:$output_zero_point,
                       Lattice_DefaultRounding:$rounding);
  let results = (outs Lattice_QuantTensor:$result);
  let assemblyFormat = [{
    $input `,` $input_scale (`,` $input_zero_point^)? `to` $output_scale
    (`,` $output_zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Lattice_StorageCastOp : Lattice_Op<"scast", [Pure]> {
  let summary = "Reinterpret integer codes as a quantized tensor, or back";
  let description = [{
    The storage cast of upstream `quant.scast`: converts between a tensor of
    quantized codes and the `i8` tensor that holds one code per element,
    without changing any value. Quantized constants are written this way
    (an `arith.constant` of codes, cast to the quantized type), which is
    what `lattice-quantize` emits and what the quantization of constants
    at compile time produces.

    ```
    def scast(x):
      # i8 -> !lattice.quant: q[i] = x[i], read as unsigned for uN schemes
      # !lattice.quant -> i8: x[i] = q[i], the byte of the code (uN: unsigned)
    ```

    The `i8` convention is that of `lattice.weight`: signed, ternary
    (-1/0/+1) and binary (-1/+1) codes are signed bytes, `uN` codes unsigned
    ones. An `i8` value whose code lies outside the storage range has no
    meaning: constants are checked, other values are the producer's
    responsibility (the lowering keeps the code's low bits; binary codes are
    the sign, +1 for 0).

    Constraints:
    - one side is a quantized tensor, the other an `i8` tensor of the same
      shape;
    - a constant `i8` input holds codes of the storage range.

    Example:

    ```mlir
    %codes = arith.constant dense<[[1, -8], [7, 0]]> : tensor<2x2xi8>
    %w = lattice.scast %codes
        : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s4, f32, channel<0>>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8, Lattice_QuantType]>:$input);
  let results = (outs RankedTensorOf<[I8, Lattice_QuantType]>:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `to` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Matrix multiplication
//===----------------------------------------------------------------------===//

def Lattice_MatmulOp : Lattice_Op<"matmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "Matrix multiplication with float or quantized operands";
  let description = [{
    `result = lhs × rhsᵀ`, the linear-layer convention: `lhs` is
    `[..., K]` (activations, any leading batch dimensions) and `rhs` is
    `[N, K]` (one weight row per output channel, as in nn.Linear and
    GGUF); the result is `[..., N]`. Each operand is either a float tensor
    or a quantized tensor with its scale (and zero point).

    ```
    def matmul(lhs, rhs, accumulator):
      for each index (..., n) of the result:
        if both operands are quantized:          # integer path
          acc_total = 0.0 (f32)
          for each run R of k sharing one lhs and one rhs scale block:
            acc = 0 (accumulator type, an integer)
            for k in R: acc += (qa[..., k] - za) * (qw[n, k] - zw)
            acc_total += f32(acc) * sa * sw      # the epilogue
          result[..., n] = acc_total
        else:                                   # float path
          acc = 0 (accumulator type, a float)
          for k: acc += dequant(lhs)[..., k] * dequant(rhs)[n, k]
          result[..., n] = acc
    ```

    For per-tensor and per-channel operands a run is the whole K, so the
    scales are applied once after the integer reduction. For per-group
    operands a run is one group. On the float path the weights are
    dequantized on the fly; a float copy of a quantized weight is never part
    of the semantics.

    Constraints:
    - `rhs` has rank 2 and `lhs` rank >= 1; their K dimensions agree; the
      result has `lhs`'s shape with the last dimension replaced by N and a
      float element type;
    - every quantized operand has a scale (and a zero point exactly when
      asymmetric) obeying the `lattice.quantize` rules; a float operand has
      neither;
    - `rhs` scales vary only along N (per-channel on axis 0) or in groups
      along K (per-group on axis 1); `lhs` scales vary only along a non-K
      axis (per-channel, e.g. per token) or in groups along K;
    - the accumulator is `i32` or `i64` when both operands are quantized
      and `f32` otherwise;
    - an integer accumulator cannot overflow: with `R` the longest run and
      `a`, `w` the largest code magnitudes `|q - z|`, `R * a * w` fits the
      accumulator (the run must be static).

    Example:

    ```mlir
    // W4A16: float activations, 4-bit weights in groups of 32.
    %y = lattice.matmul %x, %w rhs_scale(%ws) accumulate(f32)
        : (tensor<1x4096xf16>, tensor<11008x4096x!lattice.quant<s4, f16, group<1, 32>>>,
           tensor<11008x128xf16>) -> tensor<1x11008xf16>
    // W8A8: per-token int8 activations, per-channel int8 weights.
    %z = lattice.matmul %xq, %wq lhs_scale(%xs) rhs_scale(%ws) accumulate(i32)
        : (tensor<16x64x!lattice.quant<s8, f32, channel<0>>>,
           tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
           tensor<16xf32>, tensor<32xf32>) -> tensor<16x32xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatOrQuantTensor:$lhs,
                       Lattice_FloatOrQuantTensor:$rhs,
                       Optional<Lattice_ScaleTensor>:$lhs_scale,
                       Optional<Lattice_ZeroPointTensor>:$lhs_zero_point,
                       Optional<Lattice_ScaleTensor>:$rhs_scale,
                       Optional<Lattice_ZeroPointTensor>:$rhs_zero_point,
                       TypeAttr:$accumulator);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs
    (`lhs_scale` `(` $lhs_scale^ `)`)?
    (`lhs_zero_point` `(` $lhs_zero_point^ `)`)?
    (`rhs_scale` `(` $rhs_scale^ `)`)?
    (`rhs_zero_point` `(` $rhs_zero_point^ `)`)?
    `accumulate` `(` $accumulator `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Scaling and normalisation
//===----------------------------------------------------------------------===//

def Lattice_ChannelScaleOp : Lattice_Op<"channel_scale",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Multiply a tensor by a per-channel scale vector";
  let description = [{
    ```
    def channel_scale(x, s, axis):
      for each index i: y[i] = x[i] * s[i[axis]]
    ```

    This is the `diag(s)` of SmoothQuant and of folded per-channel scales;
    passes fold it into neighbouring weights and norm gains. It folds to its
    input when `s` is a constant splat of 1.

    Constraints:
    - `0 <= axis < rank(input)`;
    - `scale` is 1-D, its size equals `input`'s dimension `axis` (when both
      are static) and its element type is `input`'s.

    Example:

    ```mlir
    %y = lattice.channel_scale %x, %s axis(1)
        : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, Lattice_FloatTensor:$scale,
                       I64Attr:$axis);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `axis` `(` $axis `)` attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Lattice_RmsNormOp : Lattice_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the last dimension";
  let description = [{
    ```
    def rms_norm(x, weight, epsilon):
      for each row r (all indices but the last):
        ms = mean(f32(x[r, :])^2)
        y[r, :] = x[r, :] / sqrt(ms + epsilon) * weight
    ```

    Computed in f32 and converted to the element type at the end.

    Constraints:
    - `input` has rank >= 1 and a non-empty last dimension;
    - `weight` is 1-D with the last dimension's size and `input`'s element
      type;
    - `epsilon` is finite and positive.

    Example:

    ```mlir
    %y = lattice.rms_norm %x, %gamma {epsilon = 1.0e-06 : f32}
        : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, Lattice_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-6">:$epsilon);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lattice_LayerNormOp : Lattice_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalisation over the last dimension";
  let description = [{
    ```
    def layer_norm(x, weight, bias, epsilon):
      for each row r (all indices but the last):
        mu  = mean(f32(x[r, :]))
        var = mean((f32(x[r, :]) - mu)^2)          # population variance
        y[r, :] = (x[r, :] - mu) / sqrt(var + epsilon) * weight + bias
    ```

    `bias` is optional (zero when absent). Computed in f32.

    Constraints: as for `lattice.rms_norm`; `bias`, when present, has the
    shape and type of `weight`.

    Example:

    ```mlir
    %y = lattice.layer_norm %x, %gamma, %beta {epsilon = 1.0e-05 : f32}
        : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, Lattice_FloatTensor:$weight,
                       Optional<Lattice_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lattice_NormalizeOp : Lattice_Op<"normalize",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "L2-normalise onto the unit sphere over the last dimension";
  let description = [{
    The projection of nGPT-style (hypersphere) models: hidden states and
    weight rows live on the unit sphere, and quantization moves them off it,
    which `lattice-renormalize` repairs.

    ```
    def normalize(x, epsilon):
      for each row r (all indices but the last):
        n = sqrt(sum(f32(x[r, :])^2))
        y[r, :] = x[r, :] / max(n, epsilon)
    ```

    A zero row stays zero (no NaN). Computed in f32.

    Constraints:
    - `input` has rank >= 1 and a non-empty last dimension;
    - `epsilon` is finite and positive.

    Example:

    ```mlir
    %h = lattice.normalize %x {epsilon = 1.0e-12 : f32}
        : (tensor<8x64xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0e-12">:$epsilon);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Calibration and simulation
//===----------------------------------------------------------------------===//

def Lattice_ObserveOp : Lattice_Op<"observe",
    [AllTypesMatch<["input", "result"]>,
     MemoryEffects<[MemWrite<DefaultResource>]>]> {
  let summary = "Calibration probe: record statistics of a tensor";
  let description = [{
    Returns its input unchanged. When the model is compiled for
    calibration, the probe records statistics of the value under `name`:
    minimum and maximum, and, when `channel_axis` is set, the absolute
    maximum of every channel along that axis. It has a write effect so that
    it is neither erased nor merged with another probe; ordinary lowering
    drops it.

    ```
    def observe(x, name, channel_axis):
      stats[name].update(x)      # only in calibration builds
      return x
    ```

    Constraints:
    - `name` is not empty;
    - `channel_axis`, when present, is in `[0, rank)`.

    Example:

    ```mlir
    %y = lattice.observe %x name("blocks.0.mlp.in") channel_axis(1)
        : tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, StrAttr:$name,
                       OptionalAttr<I64Attr>:$channel_axis);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `name` `(` $name `)` (`channel_axis` `(` $channel_axis^ `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Lattice_FakeQuantOp : Lattice_Op<"fake_quant",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Quantize and dequantize in one step (simulated quantization)";
  let description = [{
    ```
    def fake_quant(x, s, z, scheme, rounding):
      return dequantize(quantize(x, s, z, rounding), s, z)   # in x's type
    ```

    with the scheme given by the `scheme` attribute. Used to measure
    quantization error in float models and by passes that search for scales.

    Constraints: as for `lattice.quantize`, with the scheme from `scheme`.

    Example:

    ```mlir
    %y = lattice.fake_quant %x, %s as !lattice.quant<s4, f32, channel<0>>
        : (tensor<8x64xf32>, tensor<8xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Lattice_FloatTensor:$input, Lattice_ScaleTensor:$scale,
                       Optional<Lattice_ZeroPointTensor>:$zero_point,
                       TypeAttrOf<Lattice_QuantType>:$scheme,
                       Lattice_DefaultRounding:$rounding);
  let results = (outs Lattice_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? `as` $scheme attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// External weights
//===----------------------------------------------------------------------===//

def Lattice_WeightOp : Lattice_Op<"weight", [Pure]> {
  let summary = "A named tensor stored in an external safetensors file";
  let description = [{
    Refers to the tensor `name` of the safetensors file `file` (a path
    relative to the model's directory), so that multi-gigabyte weights
    never become MLIR text. The compiler driver checks at compile time that
    the tensor exists with this shape and a matching dtype. A quantized
    result refers to its codes, one per element, as `I8` (`U8` for `uN`
    schemes; ternary -1/0/1, binary -1/+1); the driver checks their range
    and packs them (docs/WeightLayout.md). Scales and zero points are
    separate named tensors.

    Constraints:
    - `name` and `file` are not empty;
    - the result has a static shape.

    Example:

    ```mlir
    %w = lattice.weight "blocks.0.attn.wq" from "model.safetensors"
        : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$file);
  let results = (outs Lattice_WeightTensor:$result);
  let assemblyFormat = [{
    $name `from` $file attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_TD
