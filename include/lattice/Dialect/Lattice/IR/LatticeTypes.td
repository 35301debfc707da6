//===- LatticeTypes.td - Lattice quantized element type ----*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The quantized element type `!lattice.quant<...>`: the quantization scheme
// of a tensor, without its scale values.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_TD
#define LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_TD

include "lattice/Dialect/Lattice/IR/LatticeBase.td"
include "mlir/IR/AttrTypeBase.td"

class Lattice_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Lattice_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Lattice_QuantType : Lattice_Type<"Quant", "quant"> {
  let summary = "Quantization scheme of a tensor element";
  let description = [{
    `!lattice.quant` is an element type: a tensor of quantized codes is a
    builtin tensor whose element type is `!lattice.quant<...>`, e.g.
    `tensor<4096x4096x!lattice.quant<s4, f16, group<1, 128>>>`. The type
    states the scheme; scales and zero points are SSA tensors passed to the
    ops that need them (see the dialect description for their shapes).

    Syntax:

    ```
    quant-type  ::= `!lattice.quant<` storage `,` scale-type
                    (`,` granularity)? (`,` `asymmetric`)? `>`
    storage     ::= `s` bits | `u` bits | `ternary` | `binary`
    granularity ::= `channel<` axis `>` | `group<` axis `,` group-size `>`
    ```

    Omitted granularity means per-tensor; omitted `asymmetric` means
    symmetric (no zero point).

    Storage kinds and their code ranges `[qmin, qmax]`:

    | storage   | codes                    | storage bits |
    |-----------|--------------------------|--------------|
    | `sN`      | `[-2^(N-1), 2^(N-1)-1]`  | N (1..8)     |
    | `uN`      | `[0, 2^N - 1]`           | N (1..8)     |
    | `ternary` | `{-1, 0, 1}`             | 2 (log2 3 ≈ 1.58 of information) |
    | `binary`  | `{-1, +1}`               | 1            |

    Dequantization is `x = (q - z) * s` for `sN`/`uN` (`z = 0` when
    symmetric) and `x = q * s` for ternary and binary codes.

    Constraints (checked when the type is built or parsed):
    - `sN` / `uN`: 1 <= N <= 8;
    - the scale type is `f32`, `f16` or `bf16`;
    - `channel<a>` / `group<a, g>`: `a >= 0` (checked against the tensor rank
      by every op that carries the type), `g >= 1`; groups run along axis
      `a` from its start, and when `g` does not divide its size `D` the last
      group holds the `D mod g` elements left (there are `ceil(D / g)`);
    - `ternary` and `binary` are symmetric.

    A later two-level (super-block, k-quant style) scheme adds a granularity
    `superblock<a, g, G>` with a second scale per `G / g` groups; the
    parameters are laid out so that it is one more case, not a new type.

    Examples:

    ```mlir
    // Per-tensor symmetric int8 with an f32 scale.
    tensor<128x64x!lattice.quant<s8, f32>>
    // Per-output-channel asymmetric uint8.
    tensor<128x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>
    // 4-bit weights in groups of 32 along K with f16 scales (Q4_0-like).
    tensor<4096x4096x!lattice.quant<s4, f16, group<1, 32>>>
    // BitNet b1.58 ternary weights with a per-tensor scale.
    tensor<4096x4096x!lattice.quant<ternary, bf16>>
    ```
  }];

  let parameters = (ins
    "::mlir::lattice::StorageKind":$storageKind,
    "unsigned":$bits,
    "::mlir::FloatType":$scaleType,
    "::mlir::lattice::Granularity":$granularity,
    "int64_t":$axis,
    "int64_t":$groupSize,
    "bool":$symmetric
  );

  let builders = [
    /// Per-tensor scheme.
    TypeBuilderWithInferredContext<(ins
        "::mlir::lattice::StorageKind":$storageKind, "unsigned":$bits,
        "::mlir::FloatType":$scaleType, CArg<"bool", "true">:$symmetric), [{
      return $_get(scaleType.getContext(), storageKind, bits, scaleType,
                   Granularity::PerTensor, /*axis=*/int64_t(0),
                   /*groupSize=*/int64_t(0), symmetric);
    }]>
  ];

  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;

  let extraClassDeclaration = [{
    /// Smallest storable code (qmin).
    int64_t getStorageMin() const;
    /// Largest storable code (qmax).
    int64_t getStorageMax() const;
    /// Bits one code occupies in memory (2 for ternary, 1 for binary).
    unsigned getStorageBits() const;
    /// Bits of one code in compiled code (QuantScheme::getContainerBits).
    unsigned getContainerBits() const { return getScheme().getContainerBits(); }
    /// True when the type has a zero point.
    bool isAsymmetric() const { return !getSymmetric(); }
    bool isPerTensor() const { return getGranularity() == Granularity::PerTensor; }
    bool isPerChannel() const { return getGranularity() == Granularity::PerChannel; }
    bool isPerGroup() const { return getGranularity() == Granularity::PerGroup; }
    /// The plain-C++ description of the scheme used by the quantization math.
    ::mlir::lattice::QuantScheme getScheme() const;

    /// Checks that this scheme can quantize a tensor of `shape`: the axis is
    /// in range and, for groups, the group size divides the axis. Dynamic
    /// dimensions are accepted for per-tensor and per-channel; a grouped
    /// axis must be static.
    ::llvm::LogicalResult
    verifyForShape(::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
                   ::llvm::ArrayRef<int64_t> shape) const;

    /// Shape of the scale (and zero-point) tensor for a tensor of `shape`.
    /// Requires verifyForShape(shape) to have succeeded.
    ::llvm::SmallVector<int64_t> getScaleShape(::llvm::ArrayRef<int64_t> shape) const;
  }];
}

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_TD
