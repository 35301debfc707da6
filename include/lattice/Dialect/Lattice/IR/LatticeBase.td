//===- LatticeBase.td - Lattice dialect definition ---------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The `lattice` dialect: its definition and the enums shared by its types and
// ops (storage kind, granularity, rounding mode).
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICEBASE_TD
#define LATTICE_DIALECT_LATTICE_IR_LATTICEBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "lattice/Quant/QuantEnums.td"

def Lattice_Dialect : Dialect {
  let name = "lattice";
  let cppNamespace = "::mlir::lattice";
  let summary = "Quantized tensors and the model-level ops quantization reasons about";
  let description = [{
    The `lattice` dialect represents quantized tensors and the handful of
    model-level operations that a quantization compiler must understand:
    quantize / dequantize / requantize, matrix multiplication with quantized
    operands, per-channel scaling, RMS and layer normalisation, L2
    normalisation onto the unit sphere (nGPT), calibration probes, fake
    quantization and references to named weights in external safetensors
    files. Everything else (softmax, activations, reshapes, elementwise
    arithmetic) stays in upstream dialects.

    **The scheme lives in the type, the scale values live in tensors.** The
    element type `!lattice.quant<...>` states the storage (bits, signedness,
    ternary, binary), the scale element type, the granularity (per-tensor,
    per-channel on an axis, per-group on an axis with a group size) and
    whether a zero point exists (asymmetric). The scales and zero points are
    ordinary SSA tensors whose shape follows from the granularity:

    | granularity             | scale / zero-point shape for `tensor<d0 x ... x dn-1>` |
    |-------------------------|---------------------------------------------------------|
    | per-tensor              | `tensor<S>` (rank 0)                                    |
    | `channel<a>`            | `tensor<da x S>`                                        |
    | `group<a, g>`           | the tensor's shape with `da` replaced by `ceil(da / g)` |

    where `S` is the scale element type (`f32`, `f16` or `bf16`). Zero points
    are `i8`, `i16`, `i32` or `i64` tensors of the scale's shape, read as
    signed integers, whose range must contain the storage range (`u8` needs
    `i16` or wider).

    **Numerics.** Quantization computes `q = clamp(round(x / s) + z, qmin,
    qmax)` with the rounding mode stated on the op (round-half-to-even by
    default); dequantization computes `x = (q - z) * s`. Arithmetic is done
    in `f32` (or wider) whatever the scale element type. Integer matrix
    products accumulate in the accumulator type stated on the op, and the
    verifier proves that it cannot overflow.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // Quantized constants are `arith.constant`s of codes (lattice.scast).
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    /// Registers the types; defined next to the type storage classes.
    void registerTypes();
    /// The weight blobs created in this context (WeightBlobs.h).
    WeightBlobs &getWeightBlobs() { return *weightBlobs; }

  private:
    std::unique_ptr<WeightBlobs> weightBlobs;

  public:
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Lattice_RoundingModeAttr : EnumAttr<Lattice_Dialect,
    Lattice_RoundingModeEnum, "rounding"> {
  let assemblyFormat = "`<` $value `>`";
  let description = [{
    How `x / scale` is rounded to an integer code before the zero point is
    added and the result clamped to the storage range:

    - `nearest_even`: round to nearest, ties to even (IEEE 754
      `roundTiesToEven`; the default, as in numpy, PyTorch and ONNX
      `QuantizeLinear`);
    - `nearest_away`: round to nearest, ties away from zero (C `round`, as
      in llama.cpp's reference quantizers).
  }];
}

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

class Lattice_Op<string mnemonic, list<Trait> traits = []> :
    Op<Lattice_Dialect, mnemonic, traits>;

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICEBASE_TD
