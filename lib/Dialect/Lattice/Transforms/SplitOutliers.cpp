//===- SplitOutliers.cpp - Outlier input channels in float (LLM.int8()) ---===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-split-outliers (Dettmers et al., LLM.int8()): the few input
// channels whose activations are far larger than the rest would set the
// scale of an 8-bit activation quantizer and flatten every other channel to
// a handful of codes. They are multiplied in float instead,
//
//   X W^T = (X diag(m)) (W diag(m))^T + X[:, O] W[:, O]^T,
//
// O the channels whose calibrated max |X_j| exceeds the threshold and m
// their 0/1 complement; lattice-quantize then quantizes the first product.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/ChannelSmoothing.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Support/Statistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICESPLITOUTLIERSPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
struct LatticeSplitOutliersPass final
    : lattice::impl::LatticeSplitOutliersPassBase<LatticeSplitOutliersPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    auto fail = [&]() {
      return emitError(UnknownLoc::get(context)) << "lattice-split-outliers: ";
    };
    if (!(threshold > 0) || !std::isfinite(threshold))
      return fail() << "threshold must be a positive number, got "
                    << formatNumber(threshold);
    return openRequiredStatistics(
        stats, "the statistics written by lattice.calibrate", fail, statistics);
  }

  void runOnOperation() override;

private:
  LogicalResult split(SmoothingGroup &group) const;

  std::shared_ptr<const StatisticsFile> statistics;
};
} // namespace

/// The columns `channels` of `input` (`[..., K]`), as a `[..., |channels|]`
/// tensor: a gather at constant indices, in the form the ONNX importer
/// gives `Gather`, which both code generators vectorize.
static Value gatherChannels(OpBuilder &b, Location loc, Value input,
                            ArrayRef<int32_t> channels) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  int64_t count = channels.size();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  sizes.back() = b.getIndexAttr(count);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  auto indexType = RankedTensorType::get({count}, b.getI32Type());
  Value indices = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(indexType, channels));
  MLIRContext *context = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  AffineMap lastDim =
      AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, context));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{indices},
             ValueRange{init}, ArrayRef<AffineMap>{lastDim, identity},
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               SmallVector<Value> coords;
               for (int64_t d = 0; d + 1 < rank; ++d)
                 coords.push_back(linalg::IndexOp::create(nb, nl, d));
               coords.push_back(arith::IndexCastOp::create(
                   nb, nl, nb.getIndexType(), args[0]));
               Value element = tensor::ExtractOp::create(nb, nl, input, coords);
               linalg::YieldOp::create(nb, nl, element);
             })
      .getResult(0);
}

/// `accumulator + addend`, elementwise, into `accumulator`'s buffer.
static Value addInto(OpBuilder &b, Location loc, Value accumulator,
                     Value addend) {
  auto type = cast<RankedTensorType>(accumulator.getType());
  int64_t rank = type.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{addend},
             ValueRange{accumulator}, ArrayRef<AffineMap>{identity, identity},
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value sum = arith::AddFOp::create(nb, nl, args[1], args[0]);
               linalg::YieldOp::create(nb, nl, sum);
             })
      .getResult(0);
}

void LatticeSplitOutliersPass::runOnOperation() {
  for (SmoothingGroup &group : collectSmoothingGroups(getOperation(), "split"))
    if (failed(split(group)))
      return signalPassFailure();
}

/// Whether a recipe file's rule keeps `op` in float.
static bool isKeptFloat(MatmulOp op) {
  auto overrides =
      op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName);
  return overrides && overrides.get("skip");
}

LogicalResult LatticeSplitOutliersPass::split(SmoothingGroup &group) const {
  // Layers that stay in float anyway are left as they are.
  llvm::erase_if(group.layers, [](const SmoothingLayer &layer) {
    return llvm::any_of(layer.ops, isKeptFloat);
  });
  if (group.layers.empty())
    return success();
  int64_t k = group.getK();
  MLIRContext *context = group.layers.front().front().getContext();
  auto skip = DictionaryAttr::get(
      context, {NamedAttribute(StringAttr::get(context, "skip"),
                               UnitAttr::get(context))});
  // Each matmul's input maxima (rescaled by a smoothing before), and the
  // union of outliers: a channel is one when any layer saw it above the
  // threshold, so that the matmuls sharing an input share its split.
  DenseMap<Operation *, std::vector<float>> inputMax;
  for (SmoothingLayer &layer : group.layers) {
    if (layer.name.empty())
      return layer.front().emitError(
          "splitting outliers needs a layer name to find the statistics of "
          "the matmul's input");
    for (MatmulOp op : layer.ops) {
      llvm::Expected<ProbeStatistics> probe =
          statistics->get(getInputProbeName(layer.name), k);
      if (!probe)
        return op.emitError() << "layer '" << layer.name
                              << "': " << llvm::toString(probe.takeError());
      rescaleStatistics(op, *probe);
      inputMax[op] = std::move(probe->absmax);
    }
  }
  std::vector<float> mask(k, 1.0f);
  SmallVector<int32_t> outliers;
  for (int64_t j = 0; j < k; ++j)
    if (llvm::any_of(inputMax, [&](const auto &entry) {
          return entry.second[j] > threshold;
        })) {
      outliers.push_back(int32_t(j));
      mask[j] = 0.0f;
    }
  int64_t count = outliers.size();
  auto countAttr = IntegerAttr::get(IntegerType::get(context, 64), count);
  auto remark = [&](MatmulOp op, StringRef layer) {
    if (report)
      op.emitRemark() << "layer '" << layer << "': " << count << " of " << k
                      << " input channels above " << formatNumber(threshold)
                      << " in float";
  };

  if (count == 0 || count == k) {
    for (SmoothingLayer &layer : group.layers)
      for (MatmulOp op : layer.ops) {
        op->setAttr(kFloatChannelsAttrName, countAttr);
        if (count == 0) {
          remark(op, layer.name);
          continue;
        }
        // Nothing would be left to quantize.
        op->setAttr(kQuantizeOverridesAttrName, skip);
        op.emitRemark() << "layer '" << layer.name << "': all " << k
                        << " input channels exceed " << formatNumber(threshold)
                        << "; kept in float";
      }
    return success();
  }

  // One mask and one gather per input, after its producer.
  DenseMap<Value, std::pair<Value, Value>> splitInputs;
  auto getSplitInput = [&](Value input) {
    auto [it, inserted] = splitInputs.try_emplace(input);
    if (!inserted)
      return it->second;
    OpBuilder b(context);
    if (Operation *producer = input.getDefiningOp())
      b.setInsertionPointAfter(producer);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
    Location loc = input.getLoc();
    auto type = cast<RankedTensorType>(input.getType());
    Value maskValue = createFloatConstant(
        b, loc, RankedTensorType::get({k}, type.getElementType()), mask);
    Value masked =
        ChannelScaleOp::create(b, loc, type, input, maskValue,
                               b.getI64IntegerAttr(type.getRank() - 1));
    it->second = {masked, gatherChannels(b, loc, input, outliers)};
    return it->second;
  };

  if (failed(group.readWeights()))
    return failure();
  for (SmoothingLayer &layer : group.layers) {
    // W diag(m) and W[:, O].
    int64_t n = layer.n;
    std::vector<float> kept(std::move(layer.weight)), outlierColumns(n * count);
    for (int64_t row = 0; row < n; ++row)
      for (auto [column, j] : llvm::enumerate(outliers)) {
        outlierColumns[row * count + column] = kept[row * k + j];
        kept[row * k + j] = 0.0f;
      }
    Operation *oldWeight = layer.rhs.getDefiningOp();
    OpBuilder b(oldWeight);
    Location loc = layer.rhs.getLoc();
    Value keptWeight = createWeightConstant(b, loc, layer.rhs.getType(), kept);
    auto outlierType =
        RankedTensorType::get({n, count}, layer.rhs.getType().getElementType());
    Value outlierWeight = createWeightConstant(
        b,
        NameLoc::get(StringAttr::get(context, layer.name + ".outliers"), loc),
        outlierType, outlierColumns);

    for (MatmulOp op : layer.ops) {
      // The range of the input the quantized matmul keeps.
      float range = 0.0f;
      for (auto [j, value] : llvm::enumerate(inputMax[op]))
        if (mask[j] != 0.0f)
          range = std::max(range, value);
      auto [masked, gathered] = getSplitInput(op.getLhs());
      b.setInsertionPointAfter(op);
      auto floatPart = MatmulOp::create(
          b, op.getLoc(), op.getResult().getType(), gathered, outlierWeight,
          Value(), Value(), Value(), Value(), op.getAccumulatorAttr());
      floatPart->setAttr(kQuantizeOverridesAttrName, skip);
      Value sum = addInto(b, op.getLoc(), op.getResult(), floatPart);
      op.getResult().replaceAllUsesExcept(sum, sum.getDefiningOp());
      op.getLhsMutable().assign(masked);
      op.getRhsMutable().assign(keptWeight);
      op->setAttr(kInputAbsMaxAttrName,
                  FloatAttr::get(Float32Type::get(context), range));
      op->setAttr(kFloatChannelsAttrName, countAttr);
      remark(op, layer.name);
    }
    layer.rhs = cast<TypedValue<RankedTensorType>>(keptWeight);
    eraseUnusedWeight(oldWeight);
  }
  return success();
}
