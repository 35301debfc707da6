//===- ChannelSmoothing.cpp - Per-input-channel weight rescaling ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/Transforms/ChannelSmoothing.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"
#include <cmath>
#include <functional>

using namespace mlir;
using namespace mlir::lattice;

LogicalResult SmoothingGroup::readWeights() {
  for (SmoothingLayer &layer : layers) {
    std::optional<std::vector<float>> weight = getConstantFloats(layer.rhs);
    if (!weight)
      return layer.front().emitError()
             << "layer '" << layer.name << "': cannot read the weight";
    layer.weight = std::move(*weight);
  }
  return success();
}

/// Whether `op` reshapes a tensor without touching its last dimension (a
/// `tensor.collapse_shape` whose last group is the source's last
/// dimension alone): per-channel factors pass through it unchanged.
static bool keepsChannels(Operation *op) {
  SmallVector<ReassociationIndices> groups;
  if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(op))
    groups = collapse.getReassociationIndices();
  else if (auto expand = dyn_cast_or_null<tensor::ExpandShapeOp>(op))
    groups = expand.getReassociationIndices();
  return !groups.empty() && groups.back().size() == 1;
}

/// The value whose channels `input` carries: `input` seen through
/// reshapes that keep the last dimension (an importer's [B, T, C] ->
/// [B * T, C] before each linear layer).
static Value getChannelSource(Value input) {
  while (Operation *op = input.getDefiningOp()) {
    if (!keepsChannels(op))
      break;
    input = op->getOperand(0);
  }
  return input;
}

/// Whether `value` has one use, through reshapes that keep the channels,
/// ending at `user`.
static bool onlyFeeds(Value value, Operation *user) {
  while (value.hasOneUse()) {
    Operation *owner = *value.getUsers().begin();
    if (owner == user)
      return true;
    if (!keepsChannels(owner))
      return false;
    value = owner->getResult(0);
  }
  return false;
}

/// The linear layer whose output enters `product` (an elementwise product
/// of two tensors, as SwiGLU's up projection enters it) as one factor and
/// goes nowhere else; a channel factor of the product is then a factor of
/// that layer's output rows. Null when there is none.
static MatmulOp getLinearFactor(linalg::GenericOp product) {
  if (product.getNumDpsInputs() != 2 || product.getNumDpsInits() != 1 ||
      product.getNumReductionLoops() != 0 ||
      !llvm::all_of(product.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return {};
  Block &body = product.getRegion().front();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  auto mul = yield ? yield.getOperand(0).getDefiningOp<arith::MulFOp>()
                   : arith::MulFOp();
  ArrayRef<BlockArgument> inputs = body.getArguments().take_front(2);
  if (!mul || &body.front() != mul.getOperation() ||
      !llvm::is_contained(inputs, mul.getLhs()) ||
      !llvm::is_contained(inputs, mul.getRhs()) || mul.getLhs() == mul.getRhs())
    return {};
  for (Value input : product.getDpsInputs()) {
    auto matmul = getChannelSource(input).getDefiningOp<MatmulOp>();
    if (matmul && isa<FloatType>(matmul.getRhs().getType().getElementType()) &&
        matmul.getRhs().getType().hasStaticShape() &&
        matchPattern(matmul.getRhs(), m_Constant()) &&
        onlyFeeds(matmul.getResult(), product))
      return matmul;
  }
  return {};
}

SmallVector<SmoothingGroup>
mlir::lattice::collectSmoothingGroups(Operation *root, StringRef action) {
  // Float matmuls with static constant weights.
  SmallVector<MatmulOp> matmuls;
  root->walk([&](MatmulOp op) {
    if (!isa<FloatType>(op.getLhs().getType().getElementType()) ||
        !isa<FloatType>(op.getRhs().getType().getElementType()))
      return;
    if (!op.getRhs().getType().hasStaticShape() ||
        !matchPattern(op.getRhs(), m_Constant())) {
      op.emitWarning() << "layer '" << getLayerName(op)
                       << "': the weight is not a constant; not " << action;
      return;
    }
    matmuls.push_back(op);
  });

  // Union-find over the matmuls, joined through shared inputs and weights.
  SmallVector<unsigned> parent(matmuls.size());
  auto find = [&](unsigned i) {
    while (parent[i] != i)
      i = parent[i] = parent[parent[i]];
    return i;
  };
  DenseMap<Value, unsigned> firstUser;
  for (auto [index, op] : llvm::enumerate(matmuls)) {
    parent[index] = index;
    for (Value value : {getChannelSource(op.getLhs()), Value(op.getRhs())}) {
      auto [it, inserted] = firstUser.try_emplace(value, index);
      if (!inserted)
        parent[find(index)] = find(it->second);
    }
  }

  llvm::MapVector<unsigned, SmoothingGroup> groups;
  for (unsigned index = 0, e = matmuls.size(); index < e; ++index) {
    MatmulOp op = matmuls[index];
    SmoothingGroup &group = groups[find(index)];
    group.inputs.insert(op.getLhs());
    auto layer = llvm::find_if(group.layers, [&](const SmoothingLayer &layer) {
      return layer.rhs == op.getRhs();
    });
    if (layer != group.layers.end()) {
      layer->ops.push_back(op);
      continue;
    }
    // The weight is read when its group is rewritten: one group's weights
    // are in memory at a time.
    group.layers.push_back({{op},
                            getLayerName(op),
                            {},
                            op.getRhs().getType().getDimSize(0),
                            op.getRhs()});
  }
  SmallVector<SmoothingGroup> result;
  for (auto &entry : groups)
    result.push_back(std::move(entry.second));
  return result;
}

/// Folds diag(`inverse`) into the gain (and bias) of the norm producing
/// `input` (through reshapes that keep the channels) when `layers` are its
/// only users.
static LogicalResult foldIntoProducer(Value input,
                                      ArrayRef<SmoothingLayer> layers,
                                      ArrayRef<float> inverse) {
  std::function<bool(OpOperand &)> isGroupUse = [&](OpOperand &use) {
    Operation *owner = use.getOwner();
    if (keepsChannels(owner))
      return llvm::all_of(owner->getResult(0).getUses(), isGroupUse);
    return use.getOperandNumber() == 0 &&
           llvm::any_of(layers, [&](const SmoothingLayer &layer) {
             return llvm::any_of(layer.ops, [&](MatmulOp op) {
               return op.getOperation() == owner;
             });
           });
  };
  input = getChannelSource(input);
  if (!llvm::all_of(input.getUses(), isGroupUse))
    return failure();
  Operation *producer = input.getDefiningOp();
  auto foldInto = [&](OpOperand &gainOperand,
                      OpOperand *biasOperand) -> LogicalResult {
    std::optional<std::vector<float>> gain =
        getConstantFloats(gainOperand.get());
    std::optional<std::vector<float>> bias;
    if (biasOperand) {
      bias = getConstantFloats(biasOperand->get());
      if (!bias)
        return failure();
    }
    if (!gain)
      return failure();
    OpBuilder b(producer);
    auto rescale = [&](OpOperand &operand, std::vector<float> values) {
      for (auto [value, factor] : llvm::zip_equal(values, inverse))
        value *= factor;
      Value old = operand.get();
      operand.set(createFloatConstant(
          b, old.getLoc(), cast<RankedTensorType>(old.getType()), values));
      if (Operation *def = old.getDefiningOp(); def && def->use_empty())
        def->erase();
    };
    rescale(gainOperand, *gain);
    if (biasOperand)
      rescale(*biasOperand, *bias);
    return success();
  };
  if (auto norm = dyn_cast_or_null<RmsNormOp>(producer))
    return foldInto(norm.getWeightMutable(), nullptr);
  if (auto norm = dyn_cast_or_null<LayerNormOp>(producer))
    return foldInto(norm.getWeightMutable(),
                    norm.getBias() ? &norm.getBiasMutable()[0] : nullptr);
  // x = a * (u W^T) elementwise: diag(inverse) scales the rows of W.
  auto product = dyn_cast_or_null<linalg::GenericOp>(producer);
  MatmulOp linear = product ? getLinearFactor(product) : MatmulOp();
  if (!linear)
    return failure();
  TypedValue<RankedTensorType> rhs = linear.getRhs();
  int64_t rows = rhs.getType().getDimSize(0), k = rhs.getType().getDimSize(1);
  std::optional<std::vector<float>> weight = getConstantFloats(rhs);
  if (!weight || rows != int64_t(inverse.size()))
    return failure();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j)
      (*weight)[r * k + j] *= inverse[r];
  Operation *old = rhs.getDefiningOp();
  OpBuilder b(old);
  linear.getRhsMutable().assign(
      createWeightConstant(b, rhs.getLoc(), rhs.getType(), *weight));
  eraseUnusedWeight(old);
  return success();
}

void mlir::lattice::rescaleStatistics(MatmulOp op, ProbeStatistics &stats) {
  auto rescale = op->getAttrOfType<DenseF32ArrayAttr>(kInputRescaleAttrName);
  if (!rescale)
    return;
  int64_t k = rescale.size();
  auto scaleChannels = [&](std::vector<float> &values) {
    if (int64_t(values.size()) == k)
      for (int64_t j = 0; j < k; ++j)
        values[j] *= std::fabs(rescale[j]);
  };
  scaleChannels(stats.absmax);
  scaleChannels(stats.absmean);
  if (int64_t(stats.xtx.size()) == k * k)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        stats.xtx[i * k + j] *= rescale[i] * rescale[j];
}

void mlir::lattice::applySmoothing(SmoothingGroup &group,
                                   ArrayRef<double> factors, StringRef what) {
  MutableArrayRef<SmoothingLayer> layers = group.layers;
  int64_t k = group.getK();
  // W diag(s): scale column j of every weight by s_j, once per weight
  // however many matmuls use it.
  for (SmoothingLayer &layer : layers) {
    std::vector<float> scaled(layer.weight.size());
    for (int64_t n = 0; n < layer.n; ++n)
      for (int64_t j = 0; j < k; ++j)
        scaled[n * k + j] = float(double(layer.weight[n * k + j]) * factors[j]);
    Operation *oldWeight = layer.rhs.getDefiningOp();
    OpBuilder b(oldWeight);
    Value newWeight = createWeightConstant(b, layer.rhs.getLoc(),
                                           layer.rhs.getType(), scaled);
    for (MatmulOp op : layer.ops)
      op.getRhsMutable().assign(newWeight);
    layer.rhs = cast<TypedValue<RankedTensorType>>(newWeight);
    // Its blob goes once no op reads it.
    eraseUnusedWeight(oldWeight);
    // Frees the copy (assigning {} would keep its capacity).
    std::vector<float>().swap(layer.weight);
  }

  if (llvm::all_of(factors, [](double f) { return f == 1.0; }))
    return;
  // diag(s)^-1 on every input.
  std::vector<float> inverse(k);
  for (int64_t j = 0; j < k; ++j)
    inverse[j] = float(1.0 / factors[j]);
  for (SmoothingLayer &layer : layers)
    for (MatmulOp op : layer.ops) {
      std::vector<float> rescale(inverse);
      if (auto old =
              op->getAttrOfType<DenseF32ArrayAttr>(kInputRescaleAttrName);
          old && int64_t(old.size()) == k)
        for (int64_t j = 0; j < k; ++j)
          rescale[j] *= old[j];
      op->setAttr(kInputRescaleAttrName,
                  DenseF32ArrayAttr::get(op.getContext(), rescale));
    }
  unsigned kept = 0;
  Location loc = layers.front().front().getLoc();
  // Inputs that reshape one folded source need nothing more.
  llvm::SmallDenseSet<Value> folded;
  for (Value input : group.inputs) {
    Value source = getChannelSource(input);
    if (folded.contains(source))
      continue;
    if (succeeded(foldIntoProducer(input, layers, inverse))) {
      folded.insert(source);
      continue;
    }
    auto inputType = cast<RankedTensorType>(input.getType());
    OpBuilder b(input.getContext());
    if (Operation *producer = input.getDefiningOp())
      b.setInsertionPointAfter(producer);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
    auto scaleType = RankedTensorType::get({k}, inputType.getElementType());
    Value scale = createFloatConstant(b, loc, scaleType, inverse);
    Value scaled =
        ChannelScaleOp::create(b, loc, inputType, input, scale,
                               b.getI64IntegerAttr(inputType.getRank() - 1));
    for (SmoothingLayer &layer : layers)
      for (MatmulOp op : layer.ops)
        if (op.getLhs() == input)
          op.getLhsMutable().assign(scaled);
    ++kept;
  }
  if (kept == 0)
    return;
  InFlightDiagnostic remark = emitRemark(loc);
  remark << "layer '" << layers.front().name
         << "': the producer of its input cannot absorb the " << what
         << "; kept an explicit lattice.channel_scale";
  if (group.inputs.size() > 1)
    remark << " on " << kept << " of " << group.inputs.size() << " inputs";
}
