//===- LoweringUtils.cpp - Shared pieces of the linalg lowering -----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Scalar numerics (conversions to and from f32, codes minus zero points,
// dequantization) and tensor helpers shared by the lowering patterns.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::lattice;

namespace mlir::lattice::detail {
/// The integer type that holds one code of `type`.
IntegerType getStorageType(QuantType type) {
  return IntegerType::get(type.getContext(), type.getContainerBits());
}

/// Converts a float scalar to f32 (the arithmetic type of every op).
Value toF32(OpBuilder &b, Location loc, Value value) {
  auto f32 = b.getF32Type();
  unsigned width = value.getType().getIntOrFloatBitWidth();
  if (value.getType() == f32)
    return value;
  if (width < 32)
    return arith::ExtFOp::create(b, loc, f32, value);
  return arith::TruncFOp::create(b, loc, f32, value);
}

/// Converts an f32 scalar to the float type `type`.
Value fromF32(OpBuilder &b, Location loc, Value value, Type type) {
  if (type.isF32())
    return value;
  if (type.getIntOrFloatBitWidth() < 32)
    return arith::TruncFOp::create(b, loc, type, value);
  return arith::ExtFOp::create(b, loc, type, value);
}

Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}
/// Widens a code to `wide`, the integer type arithmetic happens in: sign- or
/// zero-extension by storage kind; binary codes become +-1.
Value extendCode(OpBuilder &b, Location loc, QuantType type, Value code,
                 IntegerType wide) {
  unsigned width = code.getType().getIntOrFloatBitWidth();
  if (type.getStorageKind() == StorageKind::Binary) {
    Value one = arith::ConstantOp::create(b, loc, b.getIntegerAttr(wide, 1));
    Value minusOne =
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(wide, -1));
    Value bit = code;
    if (width > 1) // widened by widenCodes
      bit = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne, code,
          arith::ConstantOp::create(b, loc, b.getZeroAttr(code.getType())));
    return arith::SelectOp::create(b, loc, bit, one, minusOne);
  }
  if (width == wide.getWidth())
    return code;
  if (type.getStorageKind() == StorageKind::Unsigned)
    return arith::ExtUIOp::create(b, loc, wide, code);
  return arith::ExtSIOp::create(b, loc, wide, code);
}

Value widenCodes(OpBuilder &b, Location loc, QuantType type, Value codes) {
  IntegerType i8 = b.getI8Type();
  auto codesType = cast<RankedTensorType>(codes.getType());
  if (codesType.getElementTypeBitWidth() >= 8)
    return codes;
  // Over the codes as one run: a row of sub-byte codes need not start on a
  // byte, which the vector loads of a row-by-row loop would have to.
  SmallVector<ReassociationIndices> all(1);
  for (int64_t dim = 0; dim < codesType.getRank(); ++dim)
    all.front().push_back(dim);
  Value flat = codes;
  if (codesType.getRank() != 1)
    flat = tensor::CollapseShapeOp::create(b, loc, codes, all);
  Value wide = mapElements(
      b, loc, flat, i8, [&](OpBuilder &nested, Location nestedLoc, Value code) {
        return widenCode(nested, nestedLoc, type, code, i8);
      });
  if (codesType.getRank() == 1)
    return wide;
  return tensor::ExpandShapeOp::create(b, loc, codesType.clone(i8), wide, all,
                                       tensor::getMixedSizes(b, loc, codes));
}

Value widenCode(OpBuilder &b, Location loc, QuantType type, Value code,
                IntegerType wide) {
  // Binary codes keep their bit (extendCode reads any nonzero as +1).
  if (type.getStorageKind() == StorageKind::Signed ||
      type.getStorageKind() == StorageKind::Ternary)
    return arith::ExtSIOp::create(b, loc, wide, code);
  return arith::ExtUIOp::create(b, loc, wide, code);
}

/// q - z in `wide` (z may be null for symmetric schemes). Zero points lie in
/// the storage range, so any `wide` of at least 32 bits holds them exactly.
Value subtractZeroPoint(OpBuilder &b, Location loc, QuantType type, Value code,
                        Value zeroPoint, IntegerType wide) {
  Value value = extendCode(b, loc, type, code, wide);
  if (!zeroPoint)
    return value;
  unsigned width = zeroPoint.getType().getIntOrFloatBitWidth();
  Value zero = zeroPoint;
  if (width < wide.getWidth())
    zero = arith::ExtSIOp::create(b, loc, wide, zeroPoint);
  else if (width > wide.getWidth())
    zero = arith::TruncIOp::create(b, loc, wide, zeroPoint);
  return arith::SubIOp::create(b, loc, value, zero);
}

/// f32(q - z) * f32(s), the dequantized value in f32.
Value buildDequantizeF32(OpBuilder &b, Location loc, QuantType type, Value code,
                         Value scale, Value zeroPoint) {
  Value centered =
      subtractZeroPoint(b, loc, type, code, zeroPoint, b.getI32Type());
  Value value = arith::SIToFPOp::create(b, loc, b.getF32Type(), centered);
  return arith::MulFOp::create(b, loc, value, toF32(b, loc, scale));
}

/// A zero-filled tensor of the given sizes and element type.
Value buildZeroTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                      Type elementType) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value padToWholeGroups(OpBuilder &b, Location loc, Value value, int64_t axis,
                       int64_t group) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t size = type.getDimSize(axis);
  int64_t padded = llvm::alignTo(size, group);
  if (padded == size)
    return value;
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] = padded;
  SmallVector<OpFoldResult> low(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> high(low);
  high[axis] = b.getIndexAttr(padded - size);
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return tensor::PadOp::create(b, loc, type.clone(shape), value, low, high,
                               zero);
}

Value sliceAxis(OpBuilder &b, Location loc, Value value, int64_t axis,
                int64_t size) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getDimSize(axis) == size)
    return value;
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  sizes[axis] = b.getIndexAttr(size);
  return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides);
}

/// Applies `body` to every element of `value`, giving a tensor of
/// `elementType`.
Value mapElements(OpBuilder &b, Location loc, Value value, Type elementType,
                  function_ref<Value(OpBuilder &, Location, Value)> body) {
  auto type = cast<RankedTensorType>(value.getType());
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, value), elementType);
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{value},
             ValueRange{init}, ArrayRef<AffineMap>{identity, identity},
             iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               linalg::YieldOp::create(nested, nestedLoc,
                                       body(nested, nestedLoc, args[0]));
             })
      .getResult(0);
}

/// Converts every element of an f32 tensor to `elementType` (no-op for f32).
Value convertElements(OpBuilder &b, Location loc, Value value,
                      Type elementType) {
  if (cast<RankedTensorType>(value.getType()).getElementType() == elementType)
    return value;
  return mapElements(b, loc, value, elementType,
                     [&](OpBuilder &nested, Location nestedLoc, Value element) {
                       return fromF32(nested, nestedLoc, element, elementType);
                     });
}
} // namespace mlir::lattice::detail
