//===- QuantOps.cpp - Lower quantize, dequantize and friends --------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// quantize and dequantize become elementwise linalg.generic ops over the
// blocks of their scheme; requantize and fake_quant are decomposed into
// them; observe disappears.
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

using namespace mlir;
using namespace mlir::lattice;
using namespace mlir::lattice::detail;

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

void mlir::lattice::detail::populateQuantOpLoweringPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<DequantizeOpLowering, ObserveOpLowering, QuantizeOpLowering>(
      typeConverter, patterns.getContext());
}
