//===- LatticeToLinalg.cpp - Lower lattice ops to linalg ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The portable lowering of the `lattice` dialect. Quantized tensors become
// tensors of storage integers; quantize and dequantize become elementwise
// linalg.generic ops whose bodies implement the documented numerics in f32;
// requantize and fake_quant are decomposed into those two first.
//
//===----------------------------------------------------------------------===//

#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CONVERTLATTICETOLINALGPASS
#include "lattice/Conversion/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

//===----------------------------------------------------------------------===//
// Type conversion
//===----------------------------------------------------------------------===//

/// The integer type that holds one code of `type`.
static IntegerType getStorageType(QuantType type) {
  return IntegerType::get(type.getContext(), type.getStorageBits());
}

LatticeTypeConverter::LatticeTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](RankedTensorType type) -> Type {
    if (auto quantType = dyn_cast<QuantType>(type.getElementType()))
      return type.clone(getStorageType(quantType));
    return type;
  });
}

//===----------------------------------------------------------------------===//
// Scalar numerics (the bodies of the generics)
//===----------------------------------------------------------------------===//

/// Converts a float scalar to f32 (the arithmetic type of every op).
static Value toF32(OpBuilder &b, Location loc, Value value) {
  auto f32 = b.getF32Type();
  unsigned width = value.getType().getIntOrFloatBitWidth();
  if (value.getType() == f32)
    return value;
  if (width < 32)
    return arith::ExtFOp::create(b, loc, f32, value);
  return arith::TruncFOp::create(b, loc, f32, value);
}

/// Converts an f32 scalar to the float type `type`.
static Value fromF32(OpBuilder &b, Location loc, Value value, Type type) {
  if (type.isF32())
    return value;
  if (type.getIntOrFloatBitWidth() < 32)
    return arith::TruncFOp::create(b, loc, type, value);
  return arith::ExtFOp::create(b, loc, type, value);
}

static Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// q = clamp(round(x / s) + z, qmin, qmax) in f32, NaN to z; binary codes are
/// 1 (for +1) unless x / s < 0. Returns the code as the storage integer.
static Value buildQuantizeScalar(OpBuilder &b, Location loc, QuantType type,
                                 RoundingMode rounding, Value x, Value scale,
                                 Value zeroPoint) {
  Value scaled =
      arith::DivFOp::create(b, loc, toF32(b, loc, x), toF32(b, loc, scale));
  if (type.getStorageKind() == StorageKind::Binary) {
    Value negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                           scaled, f32Constant(b, loc, 0.0));
    Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
    return arith::XOrIOp::create(b, loc, negative, one);
  }
  Value rounded = rounding == RoundingMode::NearestEven
                      ? math::RoundEvenOp::create(b, loc, scaled).getResult()
                      : math::RoundOp::create(b, loc, scaled).getResult();
  // round(x / s) + z is exact in f32 below 2^24, and anything larger
  // saturates, so the addition may happen in f32.
  Value zero = f32Constant(b, loc, 0.0);
  Value shifted = rounded;
  if (zeroPoint) {
    zero = arith::SIToFPOp::create(b, loc, b.getF32Type(), zeroPoint);
    shifted = arith::AddFOp::create(b, loc, rounded, zero);
  }
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, scaled, scaled);
  Value code = arith::SelectOp::create(b, loc, isNaN, zero, shifted);
  code = arith::MaximumFOp::create(
      b, loc, code, f32Constant(b, loc, double(type.getStorageMin())));
  code = arith::MinimumFOp::create(
      b, loc, code, f32Constant(b, loc, double(type.getStorageMax())));
  Value wide = arith::FPToSIOp::create(b, loc, b.getI32Type(), code);
  return arith::TruncIOp::create(b, loc, getStorageType(type), wide);
}

/// Widens a code to `wide`, the integer type arithmetic happens in: sign- or
/// zero-extension by storage kind; binary codes become +-1.
static Value extendCode(OpBuilder &b, Location loc, QuantType type, Value code,
                        IntegerType wide) {
  if (type.getStorageKind() == StorageKind::Binary) {
    Value one = arith::ConstantOp::create(b, loc, b.getIntegerAttr(wide, 1));
    Value minusOne =
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(wide, -1));
    return arith::SelectOp::create(b, loc, code, one, minusOne);
  }
  if (type.getStorageKind() == StorageKind::Unsigned)
    return arith::ExtUIOp::create(b, loc, wide, code);
  return arith::ExtSIOp::create(b, loc, wide, code);
}

/// q - z in `wide` (z may be null for symmetric schemes). Zero points lie in
/// the storage range, so any `wide` of at least 32 bits holds them exactly.
static Value subtractZeroPoint(OpBuilder &b, Location loc, QuantType type,
                               Value code, Value zeroPoint, IntegerType wide) {
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
static Value buildDequantizeF32(OpBuilder &b, Location loc, QuantType type,
                                Value code, Value scale, Value zeroPoint) {
  Value centered =
      subtractZeroPoint(b, loc, type, code, zeroPoint, b.getI32Type());
  Value value = arith::SIToFPOp::create(b, loc, b.getF32Type(), centered);
  return arith::MulFOp::create(b, loc, value, toF32(b, loc, scale));
}

//===----------------------------------------------------------------------===//
// Blockwise elementwise generics
//===----------------------------------------------------------------------===//

/// Computes, for every element of `input`, `body(element, scale, zero point)`
/// with the scale (and zero point) of its block under `type`'s granularity.
/// Per-group schemes expand the grouped axis into [D / g, g] so that the
/// scale is indexed by a projected permutation, and collapse it back.
static Value buildBlockwiseGeneric(
    OpBuilder &b, Location loc, Value input, QuantType type, Value scale,
    Value zeroPoint, Type resultElementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t axis = type.getAxis();
  Value source = input;
  SmallVector<ReassociationIndices> reassociation;
  if (type.isPerGroup()) {
    SmallVector<int64_t> shape;
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < inputType.getRank(); ++dim) {
      int64_t size = inputType.getDimSize(dim);
      int64_t next = shape.size();
      if (dim != axis) {
        shape.push_back(size);
        sizes.push_back(tensor::getMixedSize(b, loc, input, dim));
        reassociation.push_back({next});
        continue;
      }
      // The verifier guarantees a static axis divisible by the group size.
      shape.append({size / type.getGroupSize(), type.getGroupSize()});
      sizes.append({b.getIndexAttr(size / type.getGroupSize()),
                    b.getIndexAttr(type.getGroupSize())});
      reassociation.push_back({next, next + 1});
    }
    source = tensor::ExpandShapeOp::create(b, loc, inputType.clone(shape),
                                           input, reassociation, sizes);
  }

  auto sourceType = cast<RankedTensorType>(source.getType());
  int64_t rank = sourceType.getRank();
  MLIRContext *context = b.getContext();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap scaleMap;
  if (type.isPerTensor()) {
    scaleMap = AffineMap::get(rank, 0, {}, context);
  } else if (type.isPerChannel()) {
    scaleMap = AffineMap::get(rank, 0, b.getAffineDimExpr(axis));
  } else {
    // Every dimension but the position inside the group (axis + 1).
    SmallVector<AffineExpr> dims;
    for (int64_t dim = 0; dim < rank; ++dim)
      if (dim != axis + 1)
        dims.push_back(b.getAffineDimExpr(dim));
    scaleMap = AffineMap::get(rank, 0, dims, context);
  }

  SmallVector<Value> inputs = {source, scale};
  SmallVector<AffineMap> maps = {identity, scaleMap};
  if (zeroPoint) {
    inputs.push_back(zeroPoint);
    maps.push_back(scaleMap);
  }
  maps.push_back(identity);
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, source), resultElementType);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args[0], args[1],
                            zeroPoint ? args[2] : Value());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  Value result = generic.getResult(0);
  if (!type.isPerGroup())
    return result;
  return tensor::CollapseShapeOp::create(
      b, loc, inputType.clone(resultElementType), result, reassociation);
}

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//
//
// Iteration space of the lowered matmul: the lhs batch dimensions (everything
// but K, M included), then n, then either k, or (kg, ki) with k = kg * G + ki
// when an operand is grouped with group size G. Grouped operands are expanded
// to [..., K / G, G] so every indexing map stays a projected permutation.
//

namespace {
/// One matmul operand as the lowering sees it.
struct MatmulOperand {
  Value value;
  /// Null for a float operand.
  QuantType type;
  Value scale, zeroPoint;
};

/// The iteration space of a lowered matmul.
struct MatmulSpace {
  unsigned numBatch;
  /// Position of n, and of the outer (or only) K index.
  unsigned n, kOuter;
  /// Group size, or 0 when no operand is grouped.
  int64_t group;
};
} // namespace

/// The map of a quantized operand's scale (and zero point) in an iteration
/// space of `numDims` dimensions laid out as `space` describes.
static AffineMap getMatmulScaleMap(OpBuilder &b, QuantType type, bool isLhs,
                                   const MatmulSpace &space, unsigned numDims) {
  SmallVector<AffineExpr> results;
  if (type.isPerChannel()) {
    // lhs: a batch axis (never K); rhs: axis 0, which is n.
    results.push_back(b.getAffineDimExpr(isLhs ? type.getAxis() : space.n));
  } else if (type.isPerGroup()) {
    if (isLhs) {
      for (unsigned dim = 0; dim < space.numBatch; ++dim)
        results.push_back(b.getAffineDimExpr(dim));
    } else {
      results.push_back(b.getAffineDimExpr(space.n));
    }
    results.push_back(b.getAffineDimExpr(space.kOuter));
  }
  return AffineMap::get(numDims, 0, results, b.getContext());
}

/// Expands the last dimension of `value` into [K / group, group], casting a
/// dynamic K to the static `k` first.
static Value expandK(OpBuilder &b, Location loc, Value value, int64_t k,
                     int64_t group) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  if (ShapedType::isDynamic(shape.back())) {
    shape.back() = k;
    value = tensor::CastOp::create(b, loc, type.clone(shape), value);
  }
  SmallVector<ReassociationIndices> reassociation;
  SmallVector<int64_t> expanded;
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim = 0; dim + 1 < type.getRank(); ++dim) {
    reassociation.push_back({int64_t(expanded.size())});
    expanded.push_back(shape[dim]);
    sizes.push_back(tensor::getMixedSize(b, loc, value, dim));
  }
  int64_t next = expanded.size();
  reassociation.push_back({next, next + 1});
  expanded.append({k / group, group});
  sizes.append({b.getIndexAttr(k / group), b.getIndexAttr(group)});
  return tensor::ExpandShapeOp::create(b, loc, type.clone(expanded), value,
                                       reassociation, sizes);
}

/// A zero-filled tensor of `shape` (with the dynamic sizes of `like`'s
/// leading dimensions) and element type `elementType`.
static Value buildZeroTensor(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes, Type elementType) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// Converts every element of an f32 tensor to `elementType` (no-op for f32).
static Value convertElements(OpBuilder &b, Location loc, Value value,
                             Type elementType) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getElementType() == elementType)
    return value;
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
               linalg::YieldOp::create(
                   nested, nestedLoc,
                   fromF32(nested, nestedLoc, args[0], elementType));
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Conversion patterns
//===----------------------------------------------------------------------===//

namespace {
/// quantize -> linalg.generic producing storage integers.
struct QuantizeOpLowering final : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<QuantType>(op.getType().getElementType());
    RoundingMode rounding = op.getRounding();
    Value result = buildBlockwiseGeneric(
        rewriter, op.getLoc(), adaptor.getInput(), type, adaptor.getScale(),
        adaptor.getZeroPoint(), getStorageType(type),
        [&](OpBuilder &b, Location loc, Value x, Value s, Value z) {
          return buildQuantizeScalar(b, loc, type, rounding, x, s, z);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// dequantize -> linalg.generic over storage integers.
struct DequantizeOpLowering final : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<QuantType>(op.getInput().getType().getElementType());
    Type resultType = op.getType().getElementType();
    Value result = buildBlockwiseGeneric(
        rewriter, op.getLoc(), adaptor.getInput(), type, adaptor.getScale(),
        adaptor.getZeroPoint(), resultType,
        [&](OpBuilder &b, Location loc, Value q, Value s, Value z) {
          return fromF32(b, loc, buildDequantizeF32(b, loc, type, q, s, z),
                         resultType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// matmul -> linalg.generic reductions. On the float path each quantized
/// operand is dequantized inside the reduction (no float copy of the weights
/// is made). On the integer path codes minus zero points are summed in the
/// accumulator type over each run of K that shares one pair of scales, then
/// f32(sum) * s_lhs * s_rhs is added up over the runs.
struct MatmulOpLowering final : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType lhsType = op.getLhs().getType();
    RankedTensorType rhsType = op.getRhs().getType();
    MatmulOperand lhs{adaptor.getLhs(),
                      dyn_cast<QuantType>(lhsType.getElementType()),
                      adaptor.getLhsScale(), adaptor.getLhsZeroPoint()};
    MatmulOperand rhs{adaptor.getRhs(),
                      dyn_cast<QuantType>(rhsType.getElementType()),
                      adaptor.getRhsScale(), adaptor.getRhsZeroPoint()};
    int64_t k = lhsType.getShape().back();
    if (ShapedType::isDynamic(k))
      k = rhsType.getDimSize(1);

    MatmulSpace space;
    space.numBatch = lhsType.getRank() - 1;
    space.n = space.numBatch;
    space.kOuter = space.numBatch + 1;
    // The pass rejects operands grouped with different sizes beforehand.
    space.group = 0;
    for (QuantType type : {lhs.type, rhs.type})
      if (type && type.isPerGroup())
        space.group = type.getGroupSize();
    if (space.group) {
      lhs.value = expandK(rewriter, loc, lhs.value, k, space.group);
      rhs.value = expandK(rewriter, loc, rhs.value, k, space.group);
    }

    SmallVector<OpFoldResult> resultSizes;
    for (unsigned dim = 0; dim < space.numBatch; ++dim)
      resultSizes.push_back(
          tensor::getMixedSize(rewriter, loc, adaptor.getLhs(), dim));
    resultSizes.push_back(
        tensor::getMixedSize(rewriter, loc, adaptor.getRhs(), 0));

    Value result =
        lhs.type && rhs.type
            ? buildIntegerMatmul(rewriter, loc, op, lhs, rhs, space,
                                 resultSizes)
            : buildFloatMatmul(rewriter, loc, lhs, rhs, space, resultSizes);
    rewriter.replaceOp(op, convertElements(rewriter, loc, result,
                                           op.getType().getElementType()));
    return success();
  }

private:
  /// Maps of the lhs and rhs values in a space of `numDims` dimensions.
  static std::pair<AffineMap, AffineMap>
  getOperandMaps(OpBuilder &b, const MatmulSpace &space, unsigned numDims) {
    SmallVector<AffineExpr> lhsExprs, rhsExprs;
    for (unsigned dim = 0; dim < space.numBatch; ++dim)
      lhsExprs.push_back(b.getAffineDimExpr(dim));
    rhsExprs.push_back(b.getAffineDimExpr(space.n));
    for (unsigned dim = space.kOuter; dim < numDims; ++dim) {
      lhsExprs.push_back(b.getAffineDimExpr(dim));
      rhsExprs.push_back(b.getAffineDimExpr(dim));
    }
    MLIRContext *context = b.getContext();
    return {AffineMap::get(numDims, 0, lhsExprs, context),
            AffineMap::get(numDims, 0, rhsExprs, context)};
  }

  /// Map of a tensor indexed by (batch..., n[, kg]) in `numDims` dimensions.
  static AffineMap getOutputMap(OpBuilder &b, const MatmulSpace &space,
                                unsigned numResults, unsigned numDims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned dim = 0; dim < numResults; ++dim)
      exprs.push_back(b.getAffineDimExpr(dim));
    return AffineMap::get(numDims, 0, exprs, b.getContext());
  }

  /// Float path: acc += deq(lhs) * deq(rhs) in f32.
  static Value buildFloatMatmul(OpBuilder &b, Location loc,
                                const MatmulOperand &lhs,
                                const MatmulOperand &rhs,
                                const MatmulSpace &space,
                                ArrayRef<OpFoldResult> resultSizes) {
    unsigned numDims = space.kOuter + (space.group ? 2 : 1);
    auto [lhsMap, rhsMap] = getOperandMaps(b, space, numDims);
    SmallVector<Value> inputs = {lhs.value, rhs.value};
    SmallVector<AffineMap> maps = {lhsMap, rhsMap};
    // Positions of each operand's scale and zero point among the inputs.
    auto addParams = [&](const MatmulOperand &operand, bool isLhs) {
      std::pair<int, int> positions = {-1, -1};
      if (!operand.type)
        return positions;
      AffineMap map = getMatmulScaleMap(b, operand.type, isLhs, space, numDims);
      positions.first = inputs.size();
      inputs.push_back(operand.scale);
      maps.push_back(map);
      if (operand.zeroPoint) {
        positions.second = inputs.size();
        inputs.push_back(operand.zeroPoint);
        maps.push_back(map);
      }
      return positions;
    };
    std::pair<int, int> lhsParams = addParams(lhs, /*isLhs=*/true);
    std::pair<int, int> rhsParams = addParams(rhs, /*isLhs=*/false);
    maps.push_back(getOutputMap(b, space, space.numBatch + 1, numDims));
    Value init = buildZeroTensor(b, loc, resultSizes, b.getF32Type());

    SmallVector<utils::IteratorType> iterators(numDims,
                                               utils::IteratorType::parallel);
    for (unsigned dim = space.kOuter; dim < numDims; ++dim)
      iterators[dim] = utils::IteratorType::reduction;
    auto load = [](OpBuilder &nb, Location nl, const MatmulOperand &operand,
                   ValueRange args, Value element, std::pair<int, int> params) {
      if (!operand.type)
        return toF32(nb, nl, element);
      Value zeroPoint = params.second >= 0 ? args[params.second] : Value();
      return buildDequantizeF32(nb, nl, operand.type, element,
                                args[params.first], zeroPoint);
    };
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               maps, iterators,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value a = load(nb, nl, lhs, args, args[0], lhsParams);
                 Value w = load(nb, nl, rhs, args, args[1], rhsParams);
                 Value product = arith::MulFOp::create(nb, nl, a, w);
                 linalg::YieldOp::create(
                     nb, nl,
                     arith::AddFOp::create(nb, nl, args.back(), product)
                         .getResult());
               })
        .getResult(0);
  }

  /// Integer path: sums of (q_lhs - z_lhs) * (q_rhs - z_rhs) per run in the
  /// accumulator type, then sum over runs of f32(sum) * s_lhs * s_rhs.
  static Value buildIntegerMatmul(OpBuilder &b, Location loc, MatmulOp op,
                                  const MatmulOperand &lhs,
                                  const MatmulOperand &rhs,
                                  const MatmulSpace &space,
                                  ArrayRef<OpFoldResult> resultSizes) {
    auto accType = cast<IntegerType>(op.getAccumulator());
    bool grouped = space.group != 0;
    unsigned numDims = space.kOuter + (grouped ? 2 : 1);
    auto [lhsMap, rhsMap] = getOperandMaps(b, space, numDims);

    // Stage 1: integer sums, one per (batch..., n[, kg]).
    SmallVector<Value> inputs = {lhs.value, rhs.value};
    SmallVector<AffineMap> maps = {lhsMap, rhsMap};
    int lhsZero = -1, rhsZero = -1;
    if (lhs.zeroPoint) {
      lhsZero = inputs.size();
      inputs.push_back(lhs.zeroPoint);
      maps.push_back(getMatmulScaleMap(b, lhs.type, true, space, numDims));
    }
    if (rhs.zeroPoint) {
      rhsZero = inputs.size();
      inputs.push_back(rhs.zeroPoint);
      maps.push_back(getMatmulScaleMap(b, rhs.type, false, space, numDims));
    }
    unsigned numSumDims = space.numBatch + 1 + (grouped ? 1 : 0);
    maps.push_back(getOutputMap(b, space, numSumDims, numDims));
    SmallVector<OpFoldResult> sumSizes(resultSizes);
    if (grouped)
      sumSizes.push_back(b.getIndexAttr(
          cast<RankedTensorType>(lhs.value.getType()).getShape().end()[-2]));
    Value sumInit = buildZeroTensor(b, loc, sumSizes, accType);
    SmallVector<utils::IteratorType> iterators(numDims,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    Value sums = linalg::GenericOp::create(
                     b, loc, TypeRange{sumInit.getType()}, inputs,
                     ValueRange{sumInit}, maps, iterators,
                     [&](OpBuilder &nb, Location nl, ValueRange args) {
                       Value a = subtractZeroPoint(
                           nb, nl, lhs.type, args[0],
                           lhsZero >= 0 ? args[lhsZero] : Value(), accType);
                       Value w = subtractZeroPoint(
                           nb, nl, rhs.type, args[1],
                           rhsZero >= 0 ? args[rhsZero] : Value(), accType);
                       Value product = arith::MulIOp::create(nb, nl, a, w);
                       linalg::YieldOp::create(
                           nb, nl,
                           arith::AddIOp::create(nb, nl, args.back(), product)
                               .getResult());
                     })
                     .getResult(0);

    // Stage 2: the epilogue, summed over the groups when there are several.
    unsigned epilogueDims = numSumDims;
    SmallVector<AffineMap> epilogueMaps = {
        b.getMultiDimIdentityMap(epilogueDims),
        getMatmulScaleMap(b, lhs.type, true, space, epilogueDims),
        getMatmulScaleMap(b, rhs.type, false, space, epilogueDims),
        getOutputMap(b, space, space.numBatch + 1, epilogueDims)};
    SmallVector<utils::IteratorType> epilogueIterators(
        epilogueDims, utils::IteratorType::parallel);
    if (grouped)
      epilogueIterators.back() = utils::IteratorType::reduction;
    Value init = buildZeroTensor(b, loc, resultSizes, b.getF32Type());
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()},
               ValueRange{sums, lhs.scale, rhs.scale}, ValueRange{init},
               epilogueMaps, epilogueIterators,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value sum =
                     arith::SIToFPOp::create(nb, nl, nb.getF32Type(), args[0]);
                 Value scaled =
                     arith::MulFOp::create(nb, nl, sum, toF32(nb, nl, args[1]));
                 scaled = arith::MulFOp::create(nb, nl, scaled,
                                                toF32(nb, nl, args[2]));
                 linalg::YieldOp::create(
                     nb, nl,
                     arith::AddFOp::create(nb, nl, args[3], scaled)
                         .getResult());
               })
        .getResult(0);
  }
};

/// observe -> its input: probes only record in calibration builds.
struct ObserveOpLowering final : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Decomposition patterns
//===----------------------------------------------------------------------===//

/// requantize(q) -> quantize(dequantize(q) : f32).
struct DecomposeRequantize final : OpRewritePattern<RequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RequantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto floatType = op.getType().clone(rewriter.getF32Type());
    Value dequantized =
        DequantizeOp::create(rewriter, op.getLoc(), floatType, op.getInput(),
                             op.getInputScale(), op.getInputZeroPoint());
    rewriter.replaceOpWithNewOp<QuantizeOp>(
        op, op.getType(), dequantized, op.getOutputScale(),
        op.getOutputZeroPoint(), op.getRounding());
    return success();
  }
};

/// fake_quant(x) -> dequantize(quantize(x)).
struct DecomposeFakeQuant final : OpRewritePattern<FakeQuantOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FakeQuantOp op,
                                PatternRewriter &rewriter) const override {
    auto quantType = op.getType().clone(op.getScheme());
    Value quantized =
        QuantizeOp::create(rewriter, op.getLoc(), quantType, op.getInput(),
                           op.getScale(), op.getZeroPoint(), op.getRounding());
    rewriter.replaceOpWithNewOp<DequantizeOp>(op, op.getType(), quantized,
                                              op.getScale(), op.getZeroPoint());
    return success();
  }
};
} // namespace

void mlir::lattice::populateLatticeDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeFakeQuant, DecomposeRequantize>(patterns.getContext());
}

void mlir::lattice::populateLatticeToLinalgConversionPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  // clang-format off
  patterns.add<
      DequantizeOpLowering,
      MatmulOpLowering,
      ObserveOpLowering,
      QuantizeOpLowering>(typeConverter, patterns.getContext());
  // clang-format on
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

/// True when both matmul operands are grouped, with different group sizes.
static bool hasMismatchedGroups(MatmulOp op) {
  auto lhs = dyn_cast<QuantType>(op.getLhs().getType().getElementType());
  auto rhs = dyn_cast<QuantType>(op.getRhs().getType().getElementType());
  return lhs && rhs && lhs.isPerGroup() && rhs.isPerGroup() &&
         lhs.getGroupSize() != rhs.getGroupSize();
}

namespace {
struct ConvertLatticeToLinalgPass final
    : lattice::impl::ConvertLatticeToLinalgPassBase<
          ConvertLatticeToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Ops whose lowering is not written yet: say which, rather than leave
    // half-converted IR behind.
    WalkResult unsupported = module.walk([](Operation *op) {
      if (!isa<LatticeDialect>(op->getDialect()) ||
          isa<QuantizeOp, DequantizeOp, RequantizeOp, FakeQuantOp, ObserveOp>(
              op))
        return WalkResult::advance();
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        if (!hasMismatchedGroups(matmul))
          return WalkResult::advance();
        matmul.emitOpError("with lhs and rhs groups of different sizes is "
                           "not lowered by convert-lattice-to-linalg yet");
        return WalkResult::interrupt();
      }
      op->emitOpError("is not lowered by convert-lattice-to-linalg yet");
      return WalkResult::interrupt();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet decompositions(&getContext());
    populateLatticeDecompositionPatterns(decompositions);
    if (failed(applyPatternsGreedily(module, std::move(decompositions))))
      return signalPassFailure();

    LatticeTypeConverter typeConverter;
    ConversionTarget target(getContext());
    target.addIllegalDialect<LatticeDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return typeConverter.isLegal(op); });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return typeConverter.isSignatureLegal(op.getFunctionType()) &&
             typeConverter.isLegal(&op.getBody());
    });

    RewritePatternSet patterns(&getContext());
    populateLatticeToLinalgConversionPatterns(typeConverter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(
        patterns, typeConverter);
    populateCallOpTypeConversionPattern(patterns, typeConverter);
    populateReturnOpTypeConversionPattern(patterns, typeConverter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
