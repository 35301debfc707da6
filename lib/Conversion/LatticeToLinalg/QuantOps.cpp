//===- QuantOps.cpp - Lower quantize, dequantize and friends --------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// quantize and dequantize become elementwise linalg.generic ops over the
// blocks of their scheme, dynamic_quantize a min/max reduction before that;
// requantize and fake_quant are decomposed into them; observe disappears.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Matchers.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace mlir::lattice;
using namespace mlir::lattice::detail;

/// Constant per-tensor scales within [kMinReciprocalScale,
/// kMaxReciprocalScale] divide without a division (buildQuotient).
static constexpr float kMinReciprocalScale = 0x1p-64f;
static constexpr float kMaxReciprocalScale = 0x1p64f;

/// The value of `scale` when it is one constant for the whole tensor (a
/// static per-tensor scale) in the range where buildQuotient divides by
/// its reciprocal.
static std::optional<float> getReciprocalScale(Value scale) {
  DenseFPElementsAttr constant;
  if (!matchPattern(scale, m_Constant(&constant)) || !constant.isSplat())
    return std::nullopt;
  APFloat value = constant.getSplatValue<APFloat>();
  bool lost = false;
  value.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
  float s = value.convertToFloat();
  if (lost || !(s >= kMinReciprocalScale && s <= kMaxReciprocalScale))
    return std::nullopt;
  return s;
}

/// x / s in f32, correctly rounded. With a constant `reciprocalScale` s,
/// without a division (a vector division costs about as much as the rest
/// of the quantization): y = RN(1 / s), q = RN(x y), then one correction,
/// q' = RN(q + RN(x - q s) y) with both steps fused multiply-adds
/// (Markstein's, as division without a divide instruction is done). q' was
/// RN(x / s) bit for bit on every float x with x / s in about [2^-5, 2^13]
/// for 400 scales spread over the normal range wherever the scale is in
/// [2^-64, 2^64] (utils/check-reciprocal-quotient.c; quotients differed
/// only for scales below 2^-100, codes below 2^-120: the residual x - q s
/// underflows there). Smaller quotients round to 0 either way; for
/// |q| >= 2^24 (codes saturate) and NaN, q is kept.
static Value buildQuotient(OpBuilder &b, Location loc, Value x, Value scale,
                           std::optional<float> reciprocalScale) {
  if (!reciprocalScale)
    return arith::DivFOp::create(b, loc, x, scale);
  Value s = f32Constant(b, loc, *reciprocalScale);
  Value y = f32Constant(b, loc, 1.0f / *reciprocalScale);
  Value q = arith::MulFOp::create(b, loc, x, y);
  Value residual =
      math::FmaOp::create(b, loc, arith::NegFOp::create(b, loc, q), s, x);
  Value corrected = math::FmaOp::create(b, loc, residual, y, q);
  Value inRange = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                        math::AbsFOp::create(b, loc, q),
                                        f32Constant(b, loc, 0x1p24));
  return arith::SelectOp::create(b, loc, inRange, corrected, q);
}

/// q = clamp(round(x / s) + z, qmin, qmax) in f32, NaN to z; binary codes are
/// 1 (for +1) unless x / s < 0. Returns the code as the storage integer.
/// `reciprocalScale`: s when it is a constant that buildQuotient divides by
/// without a division.
static Value buildQuantizeScalar(OpBuilder &b, Location loc, QuantType type,
                                 RoundingMode rounding, Value x, Value scale,
                                 Value zeroPoint,
                                 std::optional<float> reciprocalScale) {
  Value scaled = buildQuotient(b, loc, toF32(b, loc, x), toF32(b, loc, scale),
                               reciprocalScale);
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

/// Whether `type`'s groups leave a shorter last one along the axis of a
/// tensor of `shape`.
static bool hasRaggedGroup(QuantType type, ArrayRef<int64_t> shape) {
  return type.isPerGroup() && shape[type.getAxis()] % type.getGroupSize() != 0;
}

/// A per-group scheme's view of `input`: the grouped axis, padded with zeros
/// to whole groups (padToWholeGroups; sub-byte codes widened to i8 first),
/// expanded into [ceil(D / g), g] so that blocks are indexed by a projected
/// permutation. Other schemes see `input` unchanged. `reassociation`
/// collapses the view back (to the padded size).
static Value
expandGroups(OpBuilder &b, Location loc, Value input, QuantType type,
             SmallVectorImpl<ReassociationIndices> &reassociation) {
  if (!type.isPerGroup())
    return input;
  int64_t axis = type.getAxis();
  if (hasRaggedGroup(type,
                     cast<RankedTensorType>(input.getType()).getShape()) &&
      isa<IntegerType>(getElementTypeOrSelf(input.getType())))
    input = widenCodes(b, loc, type, input);
  input = padToWholeGroups(b, loc, input, axis, type.getGroupSize());
  auto inputType = cast<RankedTensorType>(input.getType());
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
    // The verifier guarantees a static axis; it is whole groups now.
    shape.append({size / type.getGroupSize(), type.getGroupSize()});
    sizes.append({b.getIndexAttr(size / type.getGroupSize()),
                  b.getIndexAttr(type.getGroupSize())});
    reassociation.push_back({next, next + 1});
  }
  return tensor::ExpandShapeOp::create(b, loc, inputType.clone(shape), input,
                                       reassociation, sizes);
}

/// The map from the `rank` dimensions of an expandGroups view to the block
/// (scale and zero-point index) of `type`.
static AffineMap getBlockMap(OpBuilder &b, QuantType type, int64_t rank) {
  if (type.isPerTensor())
    return AffineMap::get(rank, 0, {}, b.getContext());
  if (type.isPerChannel())
    return AffineMap::get(rank, 0, b.getAffineDimExpr(type.getAxis()));
  // Every dimension but the position inside the group (axis + 1).
  SmallVector<AffineExpr> dims;
  for (int64_t dim = 0; dim < rank; ++dim)
    if (dim != type.getAxis() + 1)
      dims.push_back(b.getAffineDimExpr(dim));
  return AffineMap::get(rank, 0, dims, b.getContext());
}

/// Computes, for every element of `input`, `body(element, scale, zero point)`
/// with the scale (and zero point) of its block under `type`'s granularity.
static Value buildBlockwiseGeneric(
    OpBuilder &b, Location loc, Value input, QuantType type, Value scale,
    Value zeroPoint, Type resultElementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
  auto inputType = cast<RankedTensorType>(input.getType());
  SmallVector<ReassociationIndices> reassociation;
  Value source = expandGroups(b, loc, input, type, reassociation);
  int64_t rank = cast<RankedTensorType>(source.getType()).getRank();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap scaleMap = getBlockMap(b, type, rank);
  // Sub-byte codes of a padded view are produced in i8, sliced, then
  // narrowed (see widenCodes).
  Type storedType = resultElementType;
  auto narrow = dyn_cast<IntegerType>(resultElementType);
  if (!narrow || narrow.getWidth() >= 8 ||
      !hasRaggedGroup(type, inputType.getShape()))
    narrow = nullptr;
  else
    resultElementType = b.getI8Type();

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
        if (narrow)
          result =
              widenCode(nested, nestedLoc, type, result, nested.getI8Type());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  Value result = generic.getResult(0);
  if (!type.isPerGroup())
    return result;
  SmallVector<int64_t> padded(inputType.getShape());
  padded[type.getAxis()] =
      llvm::alignTo(padded[type.getAxis()], type.getGroupSize());
  result = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(padded, resultElementType), result,
      reassociation);
  result = sliceAxis(b, loc, result, type.getAxis(),
                     inputType.getDimSize(type.getAxis()));
  if (!narrow)
    return result;
  return mapElements(b, loc, result, storedType,
                     [&](OpBuilder &nested, Location nestedLoc, Value code) {
                       return arith::TruncIOp::create(nested, nestedLoc,
                                                      storedType, code);
                     });
}

/// The scale (in f32, already rounded to the scale type) and zero point
/// (f32, integral; null for symmetric schemes) of a block whose range,
/// widened to contain 0, is [lo, hi]. Degenerate, infinite and overflowing
/// scales fall back to 1 with zero point 0.
static std::pair<Value, Value> buildBlockParams(OpBuilder &b, Location loc,
                                                QuantType type, Type scaleType,
                                                Value lo, Value hi) {
  double qmin = double(type.getStorageMin());
  double qmax = double(type.getStorageMax());
  Value scale;
  if (type.isAsymmetric()) {
    Value range = arith::SubFOp::create(b, loc, hi, lo);
    scale =
        arith::DivFOp::create(b, loc, range, f32Constant(b, loc, qmax - qmin));
  } else {
    Value magnitude = type.getStorageKind() == StorageKind::Unsigned
                          ? hi
                          : arith::MaximumFOp::create(
                                b, loc, arith::NegFOp::create(b, loc, lo), hi)
                                .getResult();
    scale = arith::DivFOp::create(b, loc, magnitude, f32Constant(b, loc, qmax));
  }
  scale = toF32(b, loc, fromF32(b, loc, scale, scaleType));
  Value one = f32Constant(b, loc, 1.0);
  Value usable = arith::AndIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, scale,
                            f32Constant(b, loc, double(FLT_MIN))),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, scale,
                            f32Constant(b, loc, double(INFINITY))));
  Value safeScale = arith::SelectOp::create(b, loc, usable, scale, one);
  if (!type.isAsymmetric())
    return {safeScale, Value()};
  Value offset = arith::DivFOp::create(b, loc, lo, safeScale);
  Value zeroPoint = math::RoundEvenOp::create(
      b, loc, arith::SubFOp::create(b, loc, f32Constant(b, loc, qmin), offset));
  zeroPoint = arith::MinimumFOp::create(
      b, loc,
      arith::MaximumFOp::create(b, loc, zeroPoint, f32Constant(b, loc, qmin)),
      f32Constant(b, loc, qmax));
  zeroPoint = arith::SelectOp::create(b, loc, usable, zeroPoint,
                                      f32Constant(b, loc, 0.0));
  return {safeScale, zeroPoint};
}

namespace {
/// quantize -> linalg.generic producing storage integers.
struct QuantizeOpLowering final : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<QuantType>(op.getType().getElementType());
    RoundingMode rounding = op.getRounding();
    std::optional<float> reciprocalScale =
        type.isPerTensor() ? getReciprocalScale(adaptor.getScale())
                           : std::nullopt;
    Value result = buildBlockwiseGeneric(
        rewriter, op.getLoc(), adaptor.getInput(), type, adaptor.getScale(),
        adaptor.getZeroPoint(), getStorageType(type),
        [&](OpBuilder &b, Location loc, Value x, Value s, Value z) {
          return buildQuantizeScalar(b, loc, type, rounding, x, s, z,
                                     reciprocalScale);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// dynamic_quantize -> a min/max reduction per block, the block parameters,
/// and the quantize generic.
struct DynamicQuantizeOpLowering final
    : OpConversionPattern<DynamicQuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DynamicQuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<QuantType>(op.getResult().getType().getElementType());
    auto scaleType = op.getScale().getType();
    Type scaleElementType = scaleType.getElementType();
    Value input = adaptor.getInput();

    // Block minimum and maximum, started at 0 so that the range contains
    // it; minnumf/maxnumf skip NaN elements.
    SmallVector<ReassociationIndices> reassociation;
    Value source = expandGroups(rewriter, loc, input, type, reassociation);
    int64_t rank = cast<RankedTensorType>(source.getType()).getRank();
    AffineMap blockMap = getBlockMap(rewriter, type, rank);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::reduction);
    for (AffineExpr expr : blockMap.getResults())
      iterators[cast<AffineDimExpr>(expr).getPosition()] =
          utils::IteratorType::parallel;
    SmallVector<OpFoldResult> blockSizes =
        tensor::getMixedSizes(rewriter, loc, op.getScale());
    Value zeros =
        buildZeroTensor(rewriter, loc, blockSizes, rewriter.getF32Type());
    auto range = linalg::GenericOp::create(
        rewriter, loc, TypeRange{zeros.getType(), zeros.getType()},
        ValueRange{source}, ValueRange{zeros, zeros},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank), blockMap,
                            blockMap},
        iterators, [&](OpBuilder &b, Location nl, ValueRange args) {
          Value x = toF32(b, nl, args[0]);
          linalg::YieldOp::create(
              b, nl,
              ValueRange{arith::MinNumFOp::create(b, nl, args[1], x),
                         arith::MaxNumFOp::create(b, nl, args[2], x)});
        });

    // Scale and zero point of every block.
    SmallVector<Type> paramTypes = {scaleType};
    SmallVector<Value> paramInits = {
        tensor::EmptyOp::create(rewriter, loc, blockSizes, scaleElementType)};
    if (op.getZeroPoint()) {
      paramTypes.push_back(op.getZeroPoint().getType());
      paramInits.push_back(tensor::EmptyOp::create(
          rewriter, loc, blockSizes,
          op.getZeroPoint().getType().getElementType()));
    }
    int64_t blockRank = scaleType.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(blockRank);
    SmallVector<AffineMap> paramMaps(2 + paramInits.size(), identity);
    auto params = linalg::GenericOp::create(
        rewriter, loc, paramTypes, range.getResults(), paramInits, paramMaps,
        SmallVector<utils::IteratorType>(blockRank,
                                         utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nl, ValueRange args) {
          auto [scale, zeroPoint] =
              buildBlockParams(b, nl, type, scaleElementType, args[0], args[1]);
          SmallVector<Value> results = {
              fromF32(b, nl, scale, scaleElementType)};
          if (zeroPoint)
            results.push_back(arith::FPToSIOp::create(
                b, nl, args.back().getType(), zeroPoint));
          linalg::YieldOp::create(b, nl, results);
        });
    Value scale = params.getResult(0);
    Value zeroPoint = op.getZeroPoint() ? params.getResult(1) : Value();

    RoundingMode rounding = op.getRounding();
    Value codes = buildBlockwiseGeneric(
        rewriter, loc, input, type, scale, zeroPoint, getStorageType(type),
        [&](OpBuilder &b, Location nl, Value x, Value s, Value z) {
          return buildQuantizeScalar(b, nl, type, rounding, x, s, z,
                                     std::nullopt);
        });
    SmallVector<Value> results = {codes, scale};
    if (zeroPoint)
      results.push_back(zeroPoint);
    rewriter.replaceOp(op, results);
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

namespace {
/// scast -> the codes in storage integers: a new constant for constant
/// codes, otherwise an elementwise conversion (binary codes are one bit,
/// set for +1).
struct StorageCastOpLowering final : OpConversionPattern<StorageCastOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(StorageCastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto resultType =
        cast<RankedTensorType>(getTypeConverter()->convertType(op.getType()));
    if (auto quantType = dyn_cast<QuantType>(op.getType().getElementType())) {
      bool binary = quantType.getStorageKind() == StorageKind::Binary;
      IntegerType storage = getStorageType(quantType);
      DenseIntElementsAttr codes;
      if (matchPattern(input, m_Constant(&codes))) {
        auto converted = codes.mapValues(storage, [&](const APInt &code) {
          return binary ? APInt(1, code.isStrictlyPositive())
                        : code.trunc(storage.getWidth());
        });
        rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType,
                                                       converted);
        return success();
      }
      rewriter.replaceOp(
          op, mapElements(
                  rewriter, loc, input, storage,
                  [&](OpBuilder &b, Location nestedLoc, Value code) -> Value {
                    if (binary)
                      return arith::CmpIOp::create(
                          b, nestedLoc, arith::CmpIPredicate::sge, code,
                          arith::ConstantOp::create(b, nestedLoc,
                                                    b.getI8IntegerAttr(0)));
                    if (storage.getWidth() == 8)
                      return code;
                    return arith::TruncIOp::create(b, nestedLoc, storage, code);
                  }));
      return success();
    }
    auto quantType = cast<QuantType>(op.getInput().getType().getElementType());
    rewriter.replaceOp(
        op, mapElements(rewriter, loc, input, rewriter.getI8Type(),
                        [&](OpBuilder &b, Location nestedLoc, Value code) {
                          if (quantType.getContainerBits() == 8)
                            return code;
                          return extendCode(b, nestedLoc, quantType, code,
                                            b.getI8Type());
                        }));
    return success();
  }
};
} // namespace

void mlir::lattice::detail::populateQuantOpLoweringPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<DequantizeOpLowering, DynamicQuantizeOpLowering,
               ObserveOpLowering, QuantizeOpLowering, StorageCastOpLowering>(
      typeConverter, patterns.getContext());
}
