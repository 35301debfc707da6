//===- LoweringUtils.h - Shared pieces of the linalg lowering ---*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Private to the LatticeToLinalg conversion: the scalar numerics that
// several patterns emit, tensor helpers, and the per-family pattern sets.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_LIB_CONVERSION_LATTICETOLINALG_LOWERINGUTILS_H
#define LATTICE_LIB_CONVERSION_LATTICETOLINALG_LOWERINGUTILS_H

#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::lattice::detail {
/// The integer type that holds one code of `type` (its container width).
IntegerType getStorageType(QuantType type);

/// Converts a float scalar to f32 (the arithmetic type of every op).
Value toF32(OpBuilder &b, Location loc, Value value);

/// Converts an f32 scalar to the float type `type`.
Value fromF32(OpBuilder &b, Location loc, Value value, Type type);

/// An f32 constant.
Value f32Constant(OpBuilder &b, Location loc, double value);

/// Widens a code to `wide`: sign- or zero-extension by storage kind; binary
/// codes become +-1. Takes codes of the storage type or, from widenCodes,
/// wider ones.
Value extendCode(OpBuilder &b, Location loc, QuantType type, Value code,
                 IntegerType wide);

/// The codes of a tensor narrower than a byte (sub-byte storage) in i8,
/// bits kept: sign-extended for signed and ternary codes, zero-extended for
/// unsigned and binary ones; `codes` itself when they are bytes or wider.
/// Slices and paddings of sub-byte tensors cannot be bufferized in place
/// (their rows need not start on a byte), those of i8 ones can.
Value widenCodes(OpBuilder &b, Location loc, QuantType type, Value codes);

/// One code of widenCodes, to `wide`.
Value widenCode(OpBuilder &b, Location loc, QuantType type, Value code,
                IntegerType wide);

/// q - z in `wide` (z may be null for symmetric schemes).
Value subtractZeroPoint(OpBuilder &b, Location loc, QuantType type, Value code,
                        Value zeroPoint, IntegerType wide);

/// f32(q - z) * f32(s), the dequantized value in f32.
Value buildDequantizeF32(OpBuilder &b, Location loc, QuantType type, Value code,
                         Value scale, Value zeroPoint);

/// A zero-filled tensor of the given sizes and element type.
Value buildZeroTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                      Type elementType);

/// `value` with its static dimension `axis` padded with zeros at the end to
/// a multiple of `group`, so that a shorter last group of a per-group scheme
/// is a whole one; `value` itself when `group` divides the dimension.
Value padToWholeGroups(OpBuilder &b, Location loc, Value value, int64_t axis,
                       int64_t group);

/// The first `size` elements of `value` along `axis` (undoes
/// padToWholeGroups); `value` itself when it has that many.
Value sliceAxis(OpBuilder &b, Location loc, Value value, int64_t axis,
                int64_t size);

/// Applies `body` to every element of `value`, giving a tensor of
/// `elementType`.
Value mapElements(OpBuilder &b, Location loc, Value value, Type elementType,
                  function_ref<Value(OpBuilder &, Location, Value)> body);

/// Converts every element of an f32 tensor to `elementType` (no-op for f32).
Value convertElements(OpBuilder &b, Location loc, Value value,
                      Type elementType);

/// quantize, dynamic_quantize, dequantize, scast and observe.
void populateQuantOpLoweringPatterns(const TypeConverter &typeConverter,
                                     RewritePatternSet &patterns);

/// matmul.
void populateMatmulLoweringPatterns(const TypeConverter &typeConverter,
                                    RewritePatternSet &patterns);

/// channel_scale, rms_norm, layer_norm and normalize.
void populateNormLoweringPatterns(const TypeConverter &typeConverter,
                                  RewritePatternSet &patterns);
} // namespace mlir::lattice::detail

#endif // LATTICE_LIB_CONVERSION_LATTICETOLINALG_LOWERINGUTILS_H
