//===- Matmul.cpp - Lower lattice.matmul ----------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice.matmul becomes linalg reductions: the float path dequantizes
// inside the reduction, the integer path sums codes in the accumulator type
// per run of K and applies the scales in an epilogue.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::lattice;
using namespace mlir::lattice::detail;

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

/// Expands the last dimension of an operand into [ceil(K / group), group],
/// casting a dynamic K to the static `k` first and padding it with zeros to
/// whole groups (padToWholeGroups; sub-byte codes widened to i8 first): a
/// zero code or activation adds nothing when the other operand's zero point
/// is 0, as the verifier requires of integer products.
static Value expandK(OpBuilder &b, Location loc, const MatmulOperand &operand,
                     int64_t k, int64_t group) {
  Value value = operand.value;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  if (ShapedType::isDynamic(shape.back())) {
    shape.back() = k;
    value = tensor::CastOp::create(b, loc, type.clone(shape), value);
  }
  if (k % group != 0 && operand.type)
    value = widenCodes(b, loc, operand.type, value);
  value = padToWholeGroups(b, loc, value, type.getRank() - 1, group);
  type = cast<RankedTensorType>(value.getType());
  k = llvm::alignTo(k, group);
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

namespace {
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
      lhs.value = expandK(rewriter, loc, lhs, k, space.group);
      rhs.value = expandK(rewriter, loc, rhs, k, space.group);
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
                 // The product may fuse with the accumulation (FMA).
                 auto contract = arith::FastMathFlagsAttr::get(
                     nb.getContext(), arith::FastMathFlags::contract);
                 Value product = arith::MulFOp::create(nb, nl, a, w, contract);
                 linalg::YieldOp::create(
                     nb, nl,
                     arith::AddFOp::create(nb, nl, args.back(), product,
                                           contract)
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
} // namespace

void mlir::lattice::detail::populateMatmulLoweringPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<MatmulOpLowering>(typeConverter, patterns.getContext());
}
