//===- FoldScales.cpp - Fold per-channel scales into neighbours -----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-fold-scales: channel_scale into constant weights, norm gains and
// matmul scales; dequantize into the matmul operand it feeds.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEFOLDSCALESPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// The constant scale of a channel_scale on the last axis, or nullopt.
static std::optional<std::vector<float>> getLastAxisScale(ChannelScaleOp op) {
  if (int64_t(op.getAxis()) != op.getInput().getType().getRank() - 1)
    return std::nullopt;
  return getConstantFloats(op.getScale());
}

/// `values` (row-major [rows, cols]) with element (r, c) multiplied by
/// `factor(r, c)`.
static std::vector<float>
scaleMatrix(ArrayRef<float> values, int64_t cols,
            function_ref<float(int64_t, int64_t)> factor) {
  std::vector<float> result(values.begin(), values.end());
  for (size_t i = 0; i < result.size(); ++i)
    result[i] *= factor(int64_t(i) / cols, int64_t(i) % cols);
  return result;
}

/// Replaces operand `operand` (a constant) by a constant of its type with
/// `values`.
static void replaceConstant(PatternRewriter &rewriter, Operation *user,
                            OpOperand &operand, ArrayRef<float> values) {
  Value old = operand.get();
  rewriter.setInsertionPoint(user);
  Value updated = createWeightConstant(
      rewriter, old.getLoc(), cast<RankedTensorType>(old.getType()), values);
  rewriter.modifyOpInPlace(user, [&] { operand.set(updated); });
}

namespace {
/// channel_scale(x, s) -> x, with s in the columns of every consuming
/// matmul's constant float weight.
struct FoldScaleIntoWeightColumns final : OpRewritePattern<ChannelScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ChannelScaleOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<std::vector<float>> scale = getLastAxisScale(op);
    if (!scale || op.use_empty())
      return failure();
    SmallVector<std::pair<MatmulOp, std::vector<float>>> users;
    for (OpOperand &use : op->getUses()) {
      auto matmul = dyn_cast<MatmulOp>(use.getOwner());
      if (!matmul || use.getOperandNumber() != 0 ||
          !isa<FloatType>(matmul.getRhs().getType().getElementType()))
        return failure();
      std::optional<std::vector<float>> weight =
          getConstantFloats(matmul.getRhs());
      if (!weight)
        return failure();
      users.emplace_back(matmul, std::move(*weight));
    }
    int64_t k = int64_t(scale->size());
    for (auto &[matmul, weight] : users) {
      replaceConstant(rewriter, matmul, matmul.getRhsMutable(),
                      scaleMatrix(weight, k, [&](int64_t, int64_t c) {
                        return (*scale)[c];
                      }));
    }
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

/// channel_scale(norm(x, g, b), s) -> norm(x, g * s, b * s).
struct FoldScaleIntoNorm final : OpRewritePattern<ChannelScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ChannelScaleOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<std::vector<float>> scale = getLastAxisScale(op);
    Operation *norm = op.getInput().getDefiningOp();
    if (!scale || !norm || !isa<RmsNormOp, LayerNormOp>(norm) ||
        !norm->hasOneUse())
      return failure();
    SmallVector<OpOperand *> operands = {&norm->getOpOperand(1)};
    if (auto layerNorm = dyn_cast<LayerNormOp>(norm); layerNorm.getBias())
      operands.push_back(&layerNorm.getBiasMutable()[0]);
    SmallVector<std::vector<float>> values;
    for (OpOperand *operand : operands) {
      std::optional<std::vector<float>> constant =
          getConstantFloats(operand->get());
      if (!constant)
        return failure();
      values.push_back(std::move(*constant));
    }
    for (auto [operand, vector] : llvm::zip(operands, values)) {
      for (auto [x, s] : llvm::zip(vector, *scale))
        x *= s;
      replaceConstant(rewriter, norm, *operand, vector);
    }
    rewriter.replaceOp(op, norm->getResult(0));
    return success();
  }
};

/// channel_scale(matmul(x, W), s) over N -> matmul with s in W's rows or in
/// its per-row scales.
struct FoldScaleIntoWeightRows final : OpRewritePattern<ChannelScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ChannelScaleOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<std::vector<float>> scale = getLastAxisScale(op);
    auto matmul = op.getInput().getDefiningOp<MatmulOp>();
    if (!scale || !matmul || !matmul->hasOneUse())
      return failure();
    RankedTensorType rhsType = matmul.getRhs().getType();
    if (!rhsType.hasStaticShape())
      return failure();
    int64_t k = rhsType.getDimSize(1);
    auto quantType = dyn_cast<QuantType>(rhsType.getElementType());
    if (!quantType) {
      std::optional<std::vector<float>> weight =
          getConstantFloats(matmul.getRhs());
      if (!weight)
        return failure();
      replaceConstant(rewriter, matmul, matmul.getRhsMutable(),
                      scaleMatrix(*weight, k, [&](int64_t r, int64_t) {
                        return (*scale)[r];
                      }));
    } else {
      // Scales stay positive: only positive factors fold into them.
      QuantScheme scheme = quantType.getScheme();
      std::optional<std::vector<float>> scales =
          getConstantFloats(matmul.getRhsScale());
      if (!scales || scheme.granularity == Granularity::PerTensor ||
          llvm::any_of(*scale, [](float s) { return !(s > 0); }))
        return failure();
      // Per-channel scales are [N]; per-group ones [N, ceil(K / group)].
      int64_t cols = int64_t(scales->size()) / rhsType.getDimSize(0);
      replaceConstant(rewriter, matmul, matmul.getRhsScaleMutable()[0],
                      scaleMatrix(*scales, cols, [&](int64_t r, int64_t) {
                        return (*scale)[r];
                      }));
    }
    rewriter.replaceOp(op, matmul.getResult());
    return success();
  }
};

/// matmul(dequantize(q, s, z), w) -> matmul(q, w) lhs_scale(s) ... (and the
/// same for the rhs) when the other operand is float.
struct FoldDequantizeIntoMatmul final : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    bool lhsFloat = isa<FloatType>(op.getLhs().getType().getElementType());
    bool rhsFloat = isa<FloatType>(op.getRhs().getType().getElementType());
    if (!lhsFloat || !rhsFloat)
      return failure();
    // The weight side first: W4A16 with the codes read in the reduction.
    if (auto dequantize = op.getRhs().getDefiningOp<DequantizeOp>()) {
      QuantScheme scheme = getScheme(dequantize);
      bool accepted =
          scheme.granularity == Granularity::PerTensor ||
          (scheme.granularity == Granularity::PerChannel && scheme.axis == 0) ||
          (scheme.granularity == Granularity::PerGroup && scheme.axis == 1);
      if (accepted) {
        rewriter.replaceOpWithNewOp<MatmulOp>(
            op, op.getType(), op.getLhs(), dequantize.getInput(), Value(),
            Value(), dequantize.getScale(), dequantize.getZeroPoint(),
            op.getAccumulatorAttr());
        return success();
      }
    }
    if (auto dequantize = op.getLhs().getDefiningOp<DequantizeOp>()) {
      QuantScheme scheme = getScheme(dequantize);
      int64_t last = op.getLhs().getType().getRank() - 1;
      bool accepted =
          scheme.granularity == Granularity::PerTensor ||
          (scheme.granularity == Granularity::PerChannel &&
           scheme.axis != last) ||
          (scheme.granularity == Granularity::PerGroup && scheme.axis == last);
      if (accepted) {
        rewriter.replaceOpWithNewOp<MatmulOp>(
            op, op.getType(), dequantize.getInput(), op.getRhs(),
            dequantize.getScale(), dequantize.getZeroPoint(), Value(), Value(),
            op.getAccumulatorAttr());
        return success();
      }
    }
    return failure();
  }

private:
  static QuantScheme getScheme(DequantizeOp op) {
    return cast<QuantType>(op.getInput().getType().getElementType())
        .getScheme();
  }
};

/// quantize(dequantize(q, s1, z1), s2, z2) -> requantize(q, s1, z1 to s2,
/// z2): the same f32 arithmetic, by requantize's definition, without the
/// float tensor in between. The dequantized tensor must be f32 (a narrower
/// type would round in between).
struct FoldDequantizeQuantize final : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto dequantize = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dequantize || !dequantize.getType().getElementType().isF32())
      return failure();
    rewriter.replaceOpWithNewOp<RequantizeOp>(
        op, op.getType(), dequantize.getInput(), dequantize.getScale(),
        dequantize.getZeroPoint(), op.getScale(), op.getZeroPoint(),
        op.getRoundingAttr());
    return success();
  }
};

/// The single scale and zero point of a per-tensor operand, when constant.
static std::optional<std::pair<float, int64_t>>
getTensorParams(Value quantized, Value scale, Value zeroPoint) {
  auto type = cast<QuantType>(
      cast<RankedTensorType>(quantized.getType()).getElementType());
  if (type.getGranularity() != Granularity::PerTensor)
    return std::nullopt;
  std::optional<std::vector<float>> scales = getConstantFloats(scale);
  std::optional<std::vector<int64_t>> zeroPoints =
      zeroPoint ? getConstantInts(zeroPoint)
                : std::optional<std::vector<int64_t>>(std::vector<int64_t>{0});
  if (!scales || !zeroPoints || scales->size() != 1 || zeroPoints->size() != 1)
    return std::nullopt;
  return std::make_pair((*scales)[0], (*zeroPoints)[0]);
}

/// requantize(requantize(q, a to b), b to c) -> requantize(q, a to c) when
/// the first step is lossless: s_a = m * s_b exactly for an integer m and
/// every code maps into b's range, so b holds (q - z_a) * m exactly and
/// dequantizes to the same f32 value as q does. Otherwise double rounding
/// can differ from single rounding and the chain stays.
struct CollapseLosslessRequantize final : OpRewritePattern<RequantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RequantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<RequantizeOp>();
    if (!inner)
      return failure();
    auto a = getTensorParams(inner.getInput(), inner.getInputScale(),
                             inner.getInputZeroPoint());
    auto b = getTensorParams(inner.getResult(), inner.getOutputScale(),
                             inner.getOutputZeroPoint());
    auto c = getTensorParams(op.getInput(), op.getInputScale(),
                             op.getInputZeroPoint());
    if (!a || !b || !c || b->first != c->first || b->second != c->second)
      return failure();
    float ratio = a->first / b->first;
    if (!(ratio >= 1) || ratio != std::floor(ratio) || ratio > 1 << 24 ||
        ratio * b->first != a->first)
      return failure();
    QuantScheme from =
        cast<QuantType>(inner.getInput().getType().getElementType())
            .getScheme();
    QuantScheme to =
        cast<QuantType>(inner.getType().getElementType()).getScheme();
    int64_t m = int64_t(ratio);
    for (int64_t code : {from.getStorageMin(), from.getStorageMax()}) {
      int64_t mapped = (code - a->second) * m + b->second;
      if (mapped < to.getStorageMin() || mapped > to.getStorageMax())
        return failure();
    }
    rewriter.replaceOpWithNewOp<RequantizeOp>(
        op, op.getType(), inner.getInput(), inner.getInputScale(),
        inner.getInputZeroPoint(), op.getOutputScale(), op.getOutputZeroPoint(),
        op.getRoundingAttr());
    return success();
  }
};

struct LatticeFoldScalesPass final
    : lattice::impl::LatticeFoldScalesPassBase<LatticeFoldScalesPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<CollapseLosslessRequantize, FoldDequantizeIntoMatmul,
                 FoldDequantizeQuantize, FoldScaleIntoNorm,
                 FoldScaleIntoWeightColumns, FoldScaleIntoWeightRows>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
