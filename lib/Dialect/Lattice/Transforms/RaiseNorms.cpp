//===- RaiseNorms.cpp - Raise decomposed norms to lattice ops -------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-raise-norms: RMS, layer and L2 norms spelled out as elementwise
// and reduction linalg.generic ops (as frontends export them) become
// lattice.rms_norm, lattice.layer_norm and lattice.normalize, and constant
// gains and biases applied to them go into the ops.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICERAISENORMSPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

//===----------------------------------------------------------------------===//
// Reading elementwise and reduction generics
//===----------------------------------------------------------------------===//

/// The static shape without its unit dimensions.
static SmallVector<int64_t> getNonUnitShape(ShapedType type) {
  SmallVector<int64_t> shape;
  for (int64_t d : type.getShape())
    if (d != 1)
      shape.push_back(d);
  return shape;
}

/// `value` with reshapes that only add or drop unit dimensions looked
/// through (they keep the elements' order).
static Value skipUnitReshapes(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op))
      break;
    Value source = op->getOperand(0);
    auto from = cast<RankedTensorType>(source.getType());
    auto to = cast<RankedTensorType>(value.getType());
    if (!from.hasStaticShape() || !to.hasStaticShape() ||
        getNonUnitShape(from) != getNonUnitShape(to))
      break;
    value = source;
  }
  return value;
}

/// The splat float of a constant tensor (through reshapes), or nullopt.
static std::optional<double> getSplatFloat(Value tensor) {
  while (Operation *op = tensor.getDefiningOp()) {
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op))
      break;
    tensor = op->getOperand(0);
  }
  DenseFPElementsAttr attr;
  if (!matchPattern(tensor, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

namespace {
/// A linalg.generic on f32 tensors whose output map is the identity and
/// whose body computes one scalar from its inputs.
struct Generic {
  // (The op's accessors are not const.)
  mutable linalg::GenericOp op;

  /// The generic defining `value` (through unit reshapes), or null (also
  /// for a null value).
  static Generic get(Value value) {
    if (!value)
      return {};
    auto op = skipUnitReshapes(value).getDefiningOp<linalg::GenericOp>();
    if (!op || op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
        !isa<RankedTensorType>(op.getResultTypes()[0]) ||
        !cast<RankedTensorType>(op.getResultTypes()[0])
             .getElementType()
             .isF32())
      return {};
    return {op};
  }

  /// get(value) when that generic is elementwise: every loop parallel and
  /// the output map the identity.
  static Generic getElementwise(Value value) {
    Generic g = get(value);
    if (!g || g.op.getNumLoops() != g.op.getNumParallelLoops() ||
        !g.op.getIndexingMapsArray().back().isIdentity())
      return {};
    return g;
  }

  explicit operator bool() const { return bool(op); }

  /// The body's yielded value.
  Value yielded() const {
    return cast<linalg::YieldOp>(op.getBody()->getTerminator()).getOperand(0);
  }

  /// The op in the body defining the yielded value, if it is `OpTy`.
  template <typename OpTy>
  OpTy yieldedOp() const {
    return yielded().getDefiningOp<OpTy>();
  }

  /// The input operand that the body value `scalar` reads, or null.
  OpOperand *getInput(Value scalar) const {
    auto arg = dyn_cast<BlockArgument>(scalar);
    if (!arg || arg.getOwner() != op.getBody() ||
        arg.getArgNumber() >= op.getNumDpsInputs())
      return nullptr;
    return op.getDpsInputOperand(arg.getArgNumber());
  }

  /// The value of the body value `scalar` when it is the same at every
  /// point: a constant in the body or an element of a splat constant.
  std::optional<double> getScalar(Value scalar) const {
    FloatAttr attr;
    if (matchPattern(scalar, m_Constant(&attr)))
      return attr.getValueAsDouble();
    if (OpOperand *input = getInput(scalar))
      return getSplatFloat(input->get());
    return std::nullopt;
  }

  /// The tensor that the body value `scalar` reads element by element
  /// (through the identity map), or null.
  Value getIdentityInput(Value scalar) const {
    OpOperand *input = getInput(scalar);
    if (!input || getSplatFloat(input->get()) ||
        !op.getMatchingIndexingMap(input).isIdentity())
      return {};
    return input->get();
  }

  /// The tensor that the body value `scalar` reads once per row (its map
  /// drops the last dimension: a value per row broadcast along it), or
  /// null.
  Value getRowInput(Value scalar) const {
    OpOperand *input = getInput(scalar);
    if (!input || getSplatFloat(input->get()))
      return {};
    AffineMap map = op.getMatchingIndexingMap(input);
    unsigned rank = op.getNumLoops();
    if (rank == 0 ||
        map != AffineMap::getMultiDimIdentityMap(rank, op.getContext())
                   .getMajorSubMap(rank - 1))
      return {};
    return input->get();
  }

  /// getRowInput, or an input read elementwise that broadcasts a value per
  /// row (Expand).
  Value getRowOperand(Value scalar) const {
    if (Value row = getRowInput(scalar))
      return row;
    Value full = getIdentityInput(scalar);
    Generic broadcast = Generic::getElementwise(full);
    if (!broadcast || broadcast.op.getNumLoops() != op.getNumLoops())
      return {};
    return broadcast.getRowInput(broadcast.yielded());
  }
};
} // namespace

/// A binary scalar op's operands in both orders.
static SmallVector<std::pair<Value, Value>, 2> bothOrders(Operation *op) {
  return {{op->getOperand(0), op->getOperand(1)},
          {op->getOperand(1), op->getOperand(0)}};
}

/// x for `value` = x * x elementwise (Pow(x, 2) or Mul(x, x)).
static Value matchSquare(Value value) {
  Generic g = Generic::getElementwise(value);
  if (!g)
    return {};
  auto mul = g.yieldedOp<arith::MulFOp>();
  if (!mul)
    return {};
  Value lhs = g.getIdentityInput(mul.getLhs());
  Value rhs = g.getIdentityInput(mul.getRhs());
  return lhs && lhs == rhs ? lhs : Value();
}

/// x for `value` = the sum over the last axis of x, one value per row.
static Value matchLastAxisSum(Value value) {
  Generic g = Generic::get(value);
  if (!g)
    return {};
  linalg::GenericOp op = g.op;
  unsigned rank = op.getNumLoops();
  if (rank == 0 || op.getNumDpsInputs() != 1 ||
      op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return {};
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[0].isIdentity() ||
      maps[1] != AffineMap::getMultiDimIdentityMap(rank, op.getContext())
                     .getMajorSubMap(rank - 1))
    return {};
  // The accumulator starts at zero.
  auto fill = op.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  std::optional<double> start;
  FloatAttr startAttr;
  if (fill && matchPattern(fill.getInputs()[0], m_Constant(&startAttr)))
    start = startAttr.getValueAsDouble();
  auto add = g.yieldedOp<arith::AddFOp>();
  if (!start || *start != 0.0 || !add)
    return {};
  Value acc = op.getBody()->getArgument(1);
  for (auto [a, b] : bothOrders(add))
    if (b == acc && g.getInput(a))
      return op.getDpsInputOperand(0)->get();
  return {};
}

/// x for `value` = the mean over the last axis of x (the sum times 1 / n).
static Value matchLastAxisMean(Value value) {
  Generic g = Generic::getElementwise(value);
  if (!g)
    return {};
  auto mul = g.yieldedOp<arith::MulFOp>();
  if (!mul)
    return {};
  for (auto [a, b] : bothOrders(mul)) {
    Value sum = g.getIdentityInput(a);
    std::optional<double> factor = g.getScalar(b);
    Value x = sum ? matchLastAxisSum(sum) : Value();
    if (!x || !factor)
      continue;
    int64_t n = cast<RankedTensorType>(x.getType()).getShape().back();
    if (std::abs(*factor * double(n) - 1.0) < 1e-6)
      return x;
  }
  return {};
}

/// (t, eps) for `value` = sqrt(t + eps), eps a positive constant.
static std::optional<std::pair<Value, double>> matchSqrtPlusEps(Value value) {
  Generic sqrtGeneric = Generic::getElementwise(value);
  if (!sqrtGeneric)
    return std::nullopt;
  auto sqrt = sqrtGeneric.yieldedOp<math::SqrtOp>();
  Value sum = sqrt ? sqrtGeneric.getIdentityInput(sqrt.getOperand()) : Value();
  Generic addGeneric = Generic::getElementwise(sum);
  if (!addGeneric)
    return std::nullopt;
  auto add = addGeneric.yieldedOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  for (auto [a, b] : bothOrders(add)) {
    Value t = addGeneric.getIdentityInput(a);
    std::optional<double> eps = addGeneric.getScalar(b);
    if (t && eps && *eps > 0 && std::isfinite(*eps))
      return std::make_pair(t, *eps);
  }
  return std::nullopt;
}

/// Whether `a` and `b` are the same tensor up to unit reshapes.
static bool isSame(Value a, Value b) {
  return a && b && skipUnitReshapes(a) == skipUnitReshapes(b);
}

/// The tensor `value` divides by, one value per row: D for x / D or
/// x * (1 / D); x is returned in `numerator`.
static Value matchDivisionByRow(Generic g, Value &numerator) {
  if (auto div = g.yieldedOp<arith::DivFOp>()) {
    numerator = g.getIdentityInput(div.getLhs());
    return numerator ? g.getRowOperand(div.getRhs()) : Value();
  }
  auto mul = g.yieldedOp<arith::MulFOp>();
  if (!mul)
    return {};
  for (auto [a, b] : bothOrders(mul)) {
    Value x = g.getIdentityInput(a);
    Value inverse = x ? g.getRowOperand(b) : Value();
    Generic inv = Generic::getElementwise(inverse);
    if (!inv)
      continue;
    auto div = inv.yieldedOp<arith::DivFOp>();
    std::optional<double> one =
        div ? inv.getScalar(div.getLhs()) : std::nullopt;
    Value d = one && *one == 1.0 ? inv.getIdentityInput(div.getRhs()) : Value();
    if (d) {
      numerator = x;
      return d;
    }
  }
  return {};
}

/// `value` when it is a 1-D f32 constant of `size` elements (through
/// reshapes that only drop unit dimensions), else null.
static Value getChannelConstant(Value value, int64_t size) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != 1 || type.getDimSize(0) != size ||
      !type.getElementType().isF32())
    return {};
  Operation *source = skipUnitReshapes(value).getDefiningOp();
  if (!source || !(isa<WeightOp>(source) || matchPattern(source, m_Constant())))
    return {};
  return value;
}

/// A constant `[size]` tensor of ones, for a norm without gain.
static Value createOnes(PatternRewriter &rewriter, Location loc, int64_t size) {
  auto type = RankedTensorType::get({size}, rewriter.getF32Type());
  return arith::ConstantOp::create(rewriter, loc, type,
                                   DenseElementsAttr::get(type, 1.0f));
}

/// Whether `value` is sqrt(sum(x * x)) over the last axis.
static bool isL2NormOf(Value value, Value x) {
  Generic g = Generic::getElementwise(value);
  auto sqrt = g ? g.yieldedOp<math::SqrtOp>() : nullptr;
  Value sum = sqrt ? g.getIdentityInput(sqrt.getOperand()) : Value();
  return sum && isSame(matchSquare(matchLastAxisSum(sum)), x);
}

/// The floor eps when `value` is max(||x||, eps) (or Clip(||x||, eps, +inf)),
/// or 1e-12 (lattice.normalize's default, a no-op on every row that is not
/// zero) when it is ||x||; else nullopt.
static std::optional<double> matchL2Norm(Value value, Value x) {
  if (isL2NormOf(value, x))
    return 1e-12;
  Generic clip = Generic::getElementwise(value);
  if (!clip)
    return std::nullopt;
  Value maxValue = clip.yielded();
  if (auto min = clip.yieldedOp<arith::MinimumFOp>()) {
    for (auto [a, b] : bothOrders(min)) {
      std::optional<double> high = clip.getScalar(b);
      if (high && std::isinf(*high) && *high > 0)
        maxValue = a;
    }
  }
  auto max = maxValue.getDefiningOp<arith::MaximumFOp>();
  if (!max || max->getBlock() != clip.op.getBody())
    return std::nullopt;
  for (auto [a, b] : bothOrders(max)) {
    std::optional<double> eps = clip.getScalar(b);
    Value norm = clip.getIdentityInput(a);
    if (eps && *eps > 0 && std::isfinite(*eps) && norm && isL2NormOf(norm, x))
      return eps;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
/// x / sqrt(mean(x^2) + eps) -> lattice.rms_norm;
/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) -> lattice.layer_norm;
/// x / max(sqrt(sum(x^2)), eps) -> lattice.normalize (all over the last
/// axis; a division by a row value is also a product with its reciprocal).
struct RaiseNormCore final : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    Generic g = Generic::getElementwise(op.getResult(0));
    if (!g || g.op != op || op.getNumLoops() == 0)
      return failure();
    auto type = cast<RankedTensorType>(op.getResult(0).getType());
    int64_t size = type.getShape().back();
    Value numerator;
    Value divisor = matchDivisionByRow(g, numerator);
    if (!divisor || numerator.getType() != type)
      return failure();
    Location loc = op.getLoc();
    if (auto sqrt = matchSqrtPlusEps(divisor)) {
      auto [moment, eps] = *sqrt;
      Value squared = matchSquare(matchLastAxisMean(moment));
      if (!isSame(squared, numerator))
        return failure();
      // The numerator centred on its mean: a layer norm of the uncentred x.
      if (Generic sub = Generic::getElementwise(numerator)) {
        if (auto subOp = sub.yieldedOp<arith::SubFOp>()) {
          Value x = sub.getIdentityInput(subOp.getLhs());
          Value mean = sub.getRowInput(subOp.getRhs());
          if (x && mean && isSame(matchLastAxisMean(mean), x)) {
            rewriter.replaceOpWithNewOp<LayerNormOp>(
                op, type, x, createOnes(rewriter, loc, size), Value(),
                rewriter.getF32FloatAttr(eps));
            return success();
          }
        }
      }
      rewriter.replaceOpWithNewOp<RmsNormOp>(op, type, numerator,
                                             createOnes(rewriter, loc, size),
                                             rewriter.getF32FloatAttr(eps));
      return success();
    }
    // x / max(||x||, eps) (Clip's upper bound, when there is one, is +inf)
    // or x / ||x||, the norm broadcast over the row or not.
    std::optional<double> eps = matchL2Norm(divisor, numerator);
    if (!eps)
      return failure();
    rewriter.replaceOpWithNewOp<NormalizeOp>(op, type, numerator,
                                             rewriter.getF32FloatAttr(*eps));
    return success();
  }
};

/// For an elementwise `op` computing `ScalarOp(n, c)`: the norm op `NormOp`
/// (one of `NormOps`) that n is the only use of, and c, a constant over
/// the last axis.
template <typename ScalarOp, typename... NormOps>
static std::optional<std::pair<Operation *, Value>>
matchNormWithChannelConstant(linalg::GenericOp op) {
  Generic g = Generic::getElementwise(op.getResult(0));
  if (!g || g.op != op || op.getNumLoops() == 0)
    return std::nullopt;
  auto scalarOp = g.yieldedOp<ScalarOp>();
  if (!scalarOp)
    return std::nullopt;
  auto type = cast<RankedTensorType>(op.getResult(0).getType());
  AffineMap lastAxis =
      AffineMap::getMultiDimIdentityMap(type.getRank(), op.getContext())
          .getMinorSubMap(1);
  for (auto [a, b] : bothOrders(scalarOp)) {
    Value normValue = g.getIdentityInput(a);
    OpOperand *input = g.getInput(b);
    if (!normValue || !input || normValue.getType() != type ||
        !normValue.hasOneUse() ||
        op.getMatchingIndexingMap(input) != lastAxis ||
        !isa_and_nonnull<NormOps...>(normValue.getDefiningOp()))
      continue;
    if (Value c = getChannelConstant(input->get(), type.getShape().back()))
      return std::make_pair(normValue.getDefiningOp(), c);
  }
  return std::nullopt;
}

/// norm(x, ones) * g -> norm(x, g), for a constant gain g over the last
/// axis and a norm with no other user (and no bias).
struct FoldGainIntoNorm final : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto found =
        matchNormWithChannelConstant<arith::MulFOp, RmsNormOp, LayerNormOp>(op);
    if (!found)
      return failure();
    auto [norm, gain] = *found;
    OpOperand &weight = norm->getOpOperand(1);
    std::optional<double> current = getSplatFloat(weight.get());
    auto layerNorm = dyn_cast<LayerNormOp>(norm);
    if (!current || *current != 1.0 || (layerNorm && layerNorm.getBias()))
      return failure();
    rewriter.modifyOpInPlace(norm, [&, gain = gain] { weight.set(gain); });
    rewriter.replaceOp(op, norm->getResult(0));
    return success();
  }
};

/// layer_norm(x, g) + b -> layer_norm(x, g, b), for a constant bias b over
/// the last axis and a norm with no other user.
struct FoldBiasIntoLayerNorm final : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto found = matchNormWithChannelConstant<arith::AddFOp, LayerNormOp>(op);
    if (!found)
      return failure();
    auto norm = cast<LayerNormOp>(found->first);
    if (norm.getBias())
      return failure();
    rewriter.replaceOpWithNewOp<LayerNormOp>(
        op, norm.getType(), norm.getInput(), norm.getWeight(), found->second,
        norm.getEpsilonAttr());
    rewriter.eraseOp(norm);
    return success();
  }
};

struct LatticeRaiseNormsPass final
    : lattice::impl::LatticeRaiseNormsPassBase<LatticeRaiseNormsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseNormCore, FoldGainIntoNorm, FoldBiasIntoLayerNorm>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
