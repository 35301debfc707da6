//===- FoldBatchNorm.cpp - Fold channel affines into linear layers --------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-fold-batch-norm: y = x * a + b with constants a and b over one
// axis (an inference BatchNormalization, a channel scale or bias) goes into
// the weight rows and bias of the convolution or linear layer computing x.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Dialect/Lattice/Transforms/WeightLoader.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEFOLDBATCHNORMPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// The values of a float constant tensor (through reshapes, which keep the
/// elements' order), or nullopt.
static std::optional<std::vector<float>> getFloatsThroughReshapes(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op))
      break;
    v = op->getOperand(0);
  }
  if (!matchPattern(v, m_Constant()))
    return std::nullopt;
  return getConstantFloats(v);
}

/// The loops that index the non-unit dimensions of an operand of `type`
/// read through `map`, in order, or nullopt when a result is not a loop.
static std::optional<SmallVector<int64_t>> getNonUnitLoops(AffineMap map,
                                                           Type type) {
  auto shaped = dyn_cast<RankedTensorType>(type);
  if (!shaped || shaped.getRank() != map.getNumResults())
    return std::nullopt;
  SmallVector<int64_t> loops;
  for (auto [result, size] : llvm::zip(map.getResults(), shaped.getShape())) {
    auto d = dyn_cast<AffineDimExpr>(result);
    if (!d)
      return std::nullopt;
    if (size != 1)
      loops.push_back(d.getPosition());
  }
  return loops;
}

/// Whether `map` is the projection of its loops onto `dims`, in order.
static bool isProjectionOnto(AffineMap map, ArrayRef<int64_t> dims) {
  if (map.getNumResults() != dims.size())
    return false;
  for (auto [result, dim] : llvm::zip(map.getResults(), dims)) {
    auto d = dyn_cast<AffineDimExpr>(result);
    if (!d || int64_t(d.getPosition()) != dim)
      return false;
  }
  return true;
}

/// Erases the op defining `value` and the reshapes and constant before it
/// when nothing uses them any more.
static void eraseDeadConstant(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (!op->use_empty())
      return;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op)) {
      value = op->getOperand(0);
      op->erase();
      continue;
    }
    if (matchPattern(op, m_Constant()))
      eraseUnusedWeight(op);
    return;
  }
}

/// The op `value` is the only result of and the only user of, or null.
static Operation *getSingleUseProducer(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op || op->getNumResults() != 1 || !value.hasOneUse())
    return nullptr;
  return op;
}

namespace {
/// y = x * a + b elementwise, a and b (either may be absent) constant over
/// the output dimension `dim`.
struct ChannelAffine {
  linalg::GenericOp op;
  Value x;
  int64_t dim = -1;
  OpOperand *scale = nullptr, *bias = nullptr;
  std::vector<float> a, b;

  static std::optional<ChannelAffine> match(linalg::GenericOp op);
};

/// Where the channel of an affine comes from.
struct Producer {
  /// The weight whose leading dimensions (as many as `leading`) are the
  /// channel, in row-major order.
  OpOperand *weight = nullptr;
  unsigned leading = 0;
  /// A bias-add between the producer and the affine: its constant operand.
  OpOperand *bias = nullptr;
};
} // namespace

std::optional<ChannelAffine> ChannelAffine::match(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !op.getIndexingMapsArray().back().isIdentity())
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType());
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  ChannelAffine affine;
  affine.op = op;
  Block *body = op.getBody();
  auto input = [&](Value scalar) -> OpOperand * {
    auto arg = dyn_cast<BlockArgument>(scalar);
    if (!arg || arg.getOwner() != body ||
        arg.getArgNumber() >= op.getNumDpsInputs())
      return nullptr;
    return op.getDpsInputOperand(arg.getArgNumber());
  };
  // The x operand read through the identity, the other a 1-D constant over
  // one dimension: records it as the scale or the bias.
  auto split = [&](Operation *scalarOp, bool isScale) -> Value {
    for (unsigned i = 0; i < 2; ++i) {
      OpOperand *c = input(scalarOp->getOperand(1 - i));
      if (!c)
        continue;
      std::optional<SmallVector<int64_t>> loops =
          getNonUnitLoops(op.getMatchingIndexingMap(c), c->get().getType());
      if (!loops || loops->size() != 1)
        continue;
      int64_t dim = loops->front();
      std::optional<std::vector<float>> values =
          getFloatsThroughReshapes(c->get());
      if (!values || int64_t(values->size()) != type.getDimSize(dim) ||
          (affine.dim >= 0 && affine.dim != dim))
        continue;
      affine.dim = dim;
      (isScale ? affine.scale : affine.bias) = c;
      (isScale ? affine.a : affine.b) = std::move(*values);
      return scalarOp->getOperand(i);
    }
    return {};
  };
  Value yielded = cast<linalg::YieldOp>(body->getTerminator()).getOperand(0);
  Value x = yielded;
  if (auto add = yielded.getDefiningOp<arith::AddFOp>())
    x = split(add, /*isScale=*/false);
  if (auto mul = x ? x.getDefiningOp<arith::MulFOp>() : arith::MulFOp())
    x = split(mul, /*isScale=*/true);
  OpOperand *xInput = x ? input(x) : nullptr;
  if (!xInput || (!affine.scale && !affine.bias) ||
      !op.getMatchingIndexingMap(xInput).isIdentity() ||
      xInput->get().getType() != type)
    return std::nullopt;
  affine.x = xInput->get();
  return affine;
}

/// Follows the channel dimension `dim` of `value` back through single-use
/// reshapes, transposes and a bias-add to a matmul or a grouped
/// convolution with a constant weight.
static std::optional<Producer> findProducer(Value value, int64_t dim) {
  Producer producer;
  // The dimensions of `value` that the channel spans, row-major.
  SmallVector<int64_t> dims = {dim};
  while (Operation *op = getSingleUseProducer(value)) {
    auto shape = cast<RankedTensorType>(value.getType()).getShape();
    auto isUnit = [&](int64_t d) { return shape[d] == 1; };
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      // Every group the channel touches must be the channel's run of
      // non-unit dimensions.
      SmallVector<ReassociationIndices> groups =
          expand.getReassociationIndices();
      SmallVector<int64_t> source;
      for (auto [i, group] : llvm::enumerate(groups)) {
        SmallVector<int64_t> nonUnit(llvm::make_filter_range(
            group, [&](int64_t d) { return !isUnit(d); }));
        SmallVector<int64_t> tracked(llvm::make_filter_range(
            nonUnit, [&](int64_t d) { return llvm::is_contained(dims, d); }));
        if (tracked.empty())
          continue;
        if (tracked != nonUnit)
          return std::nullopt;
        source.push_back(i);
      }
      SmallVector<int64_t> order(
          llvm::make_filter_range(dims, [&](int64_t d) { return !isUnit(d); }));
      SmallVector<int64_t> expected;
      for (int64_t s : source)
        for (int64_t d : groups[s])
          if (!isUnit(d))
            expected.push_back(d);
      if (order != expected)
        return std::nullopt;
      dims = source;
      value = expand.getSrc();
      continue;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      auto sourceShape = collapse.getSrcType().getShape();
      SmallVector<ReassociationIndices> groups =
          collapse.getReassociationIndices();
      SmallVector<int64_t> source;
      for (int64_t d : dims)
        for (int64_t s : groups[d])
          if (sourceShape[s] != 1)
            source.push_back(s);
      dims = source;
      value = collapse.getSrc();
      continue;
    }
    if (auto matmul = dyn_cast<MatmulOp>(op)) {
      if (dims.size() != 1 || dims[0] != int64_t(shape.size()) - 1 ||
          !isa<FloatType>(matmul.getLhs().getType().getElementType()) ||
          !isa<FloatType>(matmul.getRhs().getType().getElementType()) ||
          !matmul.getRhs().hasOneUse())
        return std::nullopt;
      producer.weight = &matmul.getRhsMutable();
      producer.leading = 1;
      return producer;
    }
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || generic.getNumDpsInits() != 1)
      return std::nullopt;
    Block *body = generic.getBody();
    Value yielded = cast<linalg::YieldOp>(body->getTerminator()).getOperand(0);
    SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
    AffineMap outMap = maps.back();
    bool elementwise = generic.getNumLoops() == generic.getNumParallelLoops() &&
                       outMap.isIdentity();
    // A transpose: the channel is where the input map sends its loops.
    if (elementwise && generic.getNumDpsInputs() == 1 &&
        yielded == body->getArgument(0) && maps[0].isPermutation()) {
      SmallVector<int64_t> source;
      for (int64_t d : dims)
        source.push_back(*maps[0].getResultPosition(
            getAffineDimExpr(d, generic.getContext())));
      dims = source;
      value = generic.getDpsInputOperand(0)->get();
      continue;
    }
    // A bias-add: y + c, c constant over the channel.
    auto add = yielded.getDefiningOp<arith::AddFOp>();
    if (elementwise && !producer.bias && add && add->getBlock() == body &&
        generic.getNumDpsInputs() == 2) {
      OpOperand *y = nullptr, *c = nullptr;
      for (unsigned i = 0; i < 2; ++i) {
        auto lhs = dyn_cast<BlockArgument>(add->getOperand(i));
        auto rhs = dyn_cast<BlockArgument>(add->getOperand(1 - i));
        if (lhs && rhs && lhs.getOwner() == body && rhs.getOwner() == body &&
            lhs.getArgNumber() < 2 && rhs.getArgNumber() < 2 &&
            lhs.getArgNumber() != rhs.getArgNumber()) {
          y = generic.getDpsInputOperand(lhs.getArgNumber());
          c = generic.getDpsInputOperand(rhs.getArgNumber());
          if (maps[lhs.getArgNumber()].isIdentity() &&
              getNonUnitLoops(maps[rhs.getArgNumber()], c->get().getType()) ==
                  SmallVector<int64_t>(llvm::make_filter_range(
                      dims, [&](int64_t d) { return !isUnit(d); })) &&
              getFloatsThroughReshapes(c->get()) && c->get().hasOneUse())
            break;
        }
        y = c = nullptr;
      }
      if (!y)
        return std::nullopt;
      producer.bias = c;
      value = y->get();
      continue;
    }
    // A convolution written as a generic: out += x * w, out starting at
    // zero, with the channel's loops the weight's leading dimensions.
    auto accumulate = add;
    auto fill =
        generic.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
    FloatAttr start;
    if (!accumulate || generic.getNumDpsInputs() != 2 || !fill ||
        !matchPattern(fill.getInputs()[0], m_Constant(&start)) ||
        !start.getValue().isZero())
      return std::nullopt;
    Value acc = body->getArgument(2);
    Value product = accumulate.getLhs() == acc   ? accumulate.getRhs()
                    : accumulate.getRhs() == acc ? accumulate.getLhs()
                                                 : Value();
    auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
    if (!mul || mul->getBlock() != body)
      return std::nullopt;
    auto lhs = dyn_cast<BlockArgument>(mul.getLhs());
    auto rhs = dyn_cast<BlockArgument>(mul.getRhs());
    if (!lhs || !rhs || lhs.getOwner() != body || rhs.getOwner() != body ||
        lhs.getArgNumber() > 1 || rhs.getArgNumber() > 1 ||
        lhs.getArgNumber() == rhs.getArgNumber())
      return std::nullopt;
    // The loops of the channel's output dimensions lead the weight's map.
    SmallVector<int64_t> loops;
    for (int64_t d : dims) {
      auto loop = dyn_cast<AffineDimExpr>(outMap.getResult(d));
      if (!loop)
        return std::nullopt;
      loops.push_back(loop.getPosition());
    }
    for (OpOperand *w :
         {generic.getDpsInputOperand(0), generic.getDpsInputOperand(1)}) {
      AffineMap wMap = generic.getMatchingIndexingMap(w);
      if (wMap.getNumResults() < loops.size() ||
          !isProjectionOnto(wMap.getMajorSubMap(loops.size()), loops) ||
          !w->get().hasOneUse() ||
          !(matchPattern(w->get(), m_Constant()) ||
            w->get().getDefiningOp<WeightOp>()) ||
          !cast<RankedTensorType>(w->get().getType()).getElementType().isF32())
        continue;
      bool leadsOnly = llvm::all_of(
          wMap.getResults().drop_front(loops.size()), [&](AffineExpr e) {
            return llvm::none_of(
                loops, [&](int64_t l) { return e.isFunctionOfDim(l); });
          });
      if (!leadsOnly)
        continue;
      producer.weight = w;
      producer.leading = loops.size();
      return producer;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

namespace {
struct LatticeFoldBatchNormPass final
    : lattice::impl::LatticeFoldBatchNormPassBase<LatticeFoldBatchNormPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation()->walk(
        [&](linalg::GenericOp op) { candidates.push_back(op); });
    WeightLoader loader(dir);
    for (linalg::GenericOp op : candidates)
      if (failed(fold(op, loader)))
        return signalPassFailure();
  }

  /// Folds `op` when it is a channel affine after a linear layer.
  LogicalResult fold(linalg::GenericOp op, WeightLoader &loader) {
    std::optional<ChannelAffine> affine = ChannelAffine::match(op);
    if (!affine)
      return success();
    std::optional<Producer> producer = findProducer(affine->x, affine->dim);
    if (!producer || (affine->a.empty() && !producer->bias))
      return success();
    // The weight may still be external.
    if (auto external = producer->weight->get().getDefiningOp<WeightOp>())
      if (failed(loader.load(external)))
        return failure();
    std::optional<std::vector<float>> weight =
        getConstantFloats(producer->weight->get());
    if (!weight)
      return success();
    auto weightType = cast<RankedTensorType>(producer->weight->get().getType());
    int64_t channels = 1;
    for (int64_t d : weightType.getShape().take_front(producer->leading))
      channels *= d;
    size_t size = affine->a.empty() ? affine->b.size() : affine->a.size();
    // The bias: b, or the bias-add's constant times a plus b.
    std::vector<float> bias(channels, 0.0f);
    if (producer->bias)
      bias = *getFloatsThroughReshapes(producer->bias->get());
    if (int64_t(size) != channels || int64_t(bias.size()) != channels)
      return success();
    OpBuilder builder(op);
    Operation *oldWeight = producer->weight->get().getDefiningOp();
    if (!affine->a.empty()) {
      int64_t row = int64_t(weight->size()) / channels;
      for (size_t i = 0; i < weight->size(); ++i)
        (*weight)[i] *= affine->a[i / row];
      builder.setInsertionPoint(producer->weight->getOwner());
      producer->weight->set(createWeightConstant(builder, oldWeight->getLoc(),
                                                 weightType, *weight));
    }
    for (int64_t c = 0; c < channels; ++c)
      bias[c] = bias[c] * (affine->a.empty() ? 1.0f : affine->a[c]) +
                (affine->b.empty() ? 0.0f : affine->b[c]);
    Value result = affine->x;
    Value oldBias = producer->bias ? producer->bias->get() : Value();
    if (producer->bias) {
      auto type = cast<RankedTensorType>(producer->bias->get().getType());
      builder.setInsertionPoint(producer->bias->getOwner());
      producer->bias->set(createWeightConstant(
          builder, producer->bias->get().getLoc(), type, bias));
    } else if (!affine->b.empty()) {
      // The affine becomes the layer's bias-add.
      builder.setInsertionPoint(op);
      OpOperand *b = affine->bias;
      auto type = cast<RankedTensorType>(b->get().getType());
      Value constant =
          createWeightConstant(builder, b->get().getLoc(), type, bias);
      AffineMap bMap = op.getMatchingIndexingMap(b);
      auto add = linalg::GenericOp::create(
          builder, op.getLoc(), op.getResultTypes(),
          ValueRange{affine->x, constant},
          ValueRange{op.getDpsInitOperand(0)->get()},
          ArrayRef<AffineMap>{op.getIndexingMapsArray().back(), bMap,
                              op.getIndexingMapsArray().back()},
          op.getIteratorTypesArray(),
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value sum = arith::AddFOp::create(b, loc, args[0], args[1]);
            linalg::YieldOp::create(b, loc, sum);
          });
      result = add.getResult(0);
    }
    SmallVector<Value> replaced;
    for (OpOperand *operand : {affine->scale, affine->bias})
      if (operand)
        replaced.push_back(operand->get());
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
    if (oldWeight && oldWeight->use_empty())
      eraseUnusedWeight(oldWeight);
    if (oldBias)
      replaced.push_back(oldBias);
    for (Value value : replaced)
      eraseDeadConstant(value);
    return success();
  }
};
} // namespace
