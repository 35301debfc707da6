//===- SmoothQuant.cpp - Migrate activation outliers into weights ---------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-smoothquant (Xiao et al., SmoothQuant): per input channel j,
// s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), and X W^T becomes
// (X diag(s)^-1)(W diag(s))^T, with diag(s)^-1 folded into the norm that
// produces X where it can be.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Dialect/Lattice/Utils/QuantMath.h"
#include "lattice/Support/Statistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include <algorithm>
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICESMOOTHQUANTPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// Name of the per-layer option attribute on lattice.matmul.
static constexpr StringLiteral kOptionsAttrName = "lattice.smoothquant";

/// Bounds of the smoothing factors.
static constexpr double kMinFactor = 1e-5, kMaxFactor = 1e5;

namespace {
/// One matmul of a group and its constant weight.
struct Layer {
  MatmulOp op;
  std::string name;
  std::vector<float> weight; // row-major [N, K]
  int64_t n = 0;
};
} // namespace

/// s_j = a_j^alpha / w_j^(1 - alpha), 1 where either maximum is zero,
/// clamped to [kMinFactor, kMaxFactor].
static std::vector<double> computeFactors(ArrayRef<float> actMax,
                                          ArrayRef<float> weightMax,
                                          double alpha) {
  std::vector<double> factors(actMax.size(), 1.0);
  for (size_t j = 0; j < actMax.size(); ++j) {
    double a = actMax[j], w = weightMax[j];
    if (a > 0 && w > 0)
      factors[j] = std::clamp(std::pow(a, alpha) / std::pow(w, 1.0 - alpha),
                              kMinFactor, kMaxFactor);
  }
  return factors;
}

/// The expected squared output error of W8A8 (per-channel symmetric int8
/// weights, per-tensor symmetric int8 activations) after smoothing by
/// `factors`, from the input's x^T x, row count and channel absmax.
static double estimateError(ArrayRef<Layer> layers, ArrayRef<float> actMax,
                            const ProbeStatistics &stats,
                            ArrayRef<double> factors) {
  int64_t k = factors.size();
  double actRange = 0;
  for (int64_t j = 0; j < k; ++j)
    actRange = std::max(actRange, double(actMax[j]) / factors[j]);
  double step = actRange / 127.0;
  double weightNorm = 0, weightError = 0;
  std::vector<double> row(k), delta(k);
  for (const Layer &layer : layers) {
    for (int64_t n = 0; n < layer.n; ++n) {
      double absmax = 0;
      for (int64_t j = 0; j < k; ++j) {
        row[j] = double(layer.weight[n * k + j]) * factors[j];
        absmax = std::max(absmax, std::fabs(row[j]));
        weightNorm += row[j] * row[j];
      }
      double scale = absmax > 0 ? absmax / 127.0 : 1.0;
      // The error of the weight row, seen through the smoothed input:
      // delta = (Q(w~) - w~) / s, then delta^T (X^T X) delta.
      for (int64_t j = 0; j < k; ++j)
        delta[j] =
            (std::nearbyint(row[j] / scale) * scale - row[j]) / factors[j];
      for (int64_t i = 0; i < k; ++i) {
        if (delta[i] == 0)
          continue;
        double dot = 0;
        for (int64_t j = 0; j < k; ++j)
          dot += double(stats.xtx[i * k + j]) * delta[j];
        weightError += delta[i] * dot;
      }
    }
  }
  return weightError + stats.rows * step * step / 12.0 * weightNorm;
}

namespace {
struct LatticeSmoothQuantPass final
    : lattice::impl::LatticeSmoothQuantPassBase<LatticeSmoothQuantPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    auto fail = [&]() {
      return emitError(UnknownLoc::get(context)) << "lattice-smoothquant: ";
    };
    if (!(alpha >= 0.0 && alpha <= 1.0))
      return fail() << "alpha must be in [0, 1], got " << formatNumber(alpha);
    if (stats.empty())
      return fail() << "stats=<file> is required (the statistics written by "
                       "lattice.calibrate)";
    llvm::Expected<std::unique_ptr<StatisticsFile>> file =
        StatisticsFile::open(stats);
    if (!file)
      return fail() << llvm::toString(file.takeError());
    statistics = std::move(*file);
    return success();
  }

  void runOnOperation() override;

private:
  LogicalResult smooth(Value input, MutableArrayRef<Layer> layers) const;
  FailureOr<double> getAlpha(MutableArrayRef<Layer> layers) const;

  std::shared_ptr<const StatisticsFile> statistics;
};
} // namespace

void LatticeSmoothQuantPass::runOnOperation() {
  // Float matmuls with constant weights, grouped by their input.
  llvm::MapVector<Value, SmallVector<Layer>> groups;
  getOperation().walk([&](MatmulOp op) {
    if (!isa<FloatType>(op.getLhs().getType().getElementType()) ||
        !isa<FloatType>(op.getRhs().getType().getElementType()))
      return;
    Layer layer{op, getLayerName(op), {}, 0};
    std::optional<std::vector<float>> weight = getConstantFloats(op.getRhs());
    if (!weight || !op.getRhs().getType().hasStaticShape()) {
      op.emitWarning() << "layer '" << layer.name
                       << "': the weight is not a constant; not smoothed";
      return;
    }
    layer.weight = std::move(*weight);
    layer.n = op.getRhs().getType().getDimSize(0);
    groups[op.getLhs()].push_back(std::move(layer));
  });
  for (auto &[input, layers] : groups)
    if (failed(smooth(input, layers)))
      return signalPassFailure();
}

FailureOr<double>
LatticeSmoothQuantPass::getAlpha(MutableArrayRef<Layer> layers) const {
  std::optional<double> chosen;
  Layer *chooser = nullptr;
  for (Layer &layer : layers) {
    Attribute attr = layer.op->getAttr(kOptionsAttrName);
    if (!attr)
      continue;
    auto dict = dyn_cast<DictionaryAttr>(attr);
    if (!dict)
      return layer.op.emitError() << "'" << kOptionsAttrName
                                  << "' must be a dictionary, got " << attr;
    for (NamedAttribute entry : dict)
      if (entry.getName() != "alpha")
        return layer.op.emitError()
               << "'" << kOptionsAttrName << "' has unknown entry '"
               << entry.getName().strref() << "'";
    auto value = dyn_cast_or_null<FloatAttr>(dict.get("alpha"));
    if (!value)
      return layer.op.emitError()
             << "'" << kOptionsAttrName << "' entry 'alpha' must be a float";
    double alphaValue = value.getValueAsDouble();
    if (!(alphaValue >= 0.0 && alphaValue <= 1.0))
      return layer.op.emitError()
             << "layer '" << layer.name << "': alpha must be in [0, 1], got "
             << formatNumber(alphaValue);
    if (chosen && *chosen != alphaValue) {
      InFlightDiagnostic diag =
          layer.op.emitError()
          << "layer '" << layer.name << "' sets alpha "
          << formatNumber(alphaValue) << " but shares its input with layer '"
          << chooser->name << "', which sets " << formatNumber(*chosen);
      diag.attachNote(chooser->op.getLoc()) << "the other layer";
      return diag;
    }
    chosen = alphaValue;
    chooser = &layer;
  }
  return chosen.value_or(double(alpha));
}

LogicalResult
LatticeSmoothQuantPass::smooth(Value input,
                               MutableArrayRef<Layer> layers) const {
  auto inputType = cast<RankedTensorType>(input.getType());
  // K from the static weights: the input's last dimension may be dynamic.
  int64_t k = layers.front().op.getRhs().getType().getDimSize(1);
  FailureOr<double> groupAlpha = getAlpha(layers);
  if (failed(groupAlpha))
    return failure();
  for (Layer &layer : layers)
    layer.op->removeAttr(kOptionsAttrName);

  // Activation maxima: the probes of all layers of the group see the same
  // input; take the largest.
  std::vector<float> actMax(k, 0.0f);
  std::optional<ProbeStatistics> xtxStats;
  for (Layer &layer : layers) {
    if (layer.name.empty())
      return layer.op.emitError("SmoothQuant needs a layer name to find the "
                                "statistics of the matmul's input");
    bool withXtX = alphaSearch && !xtxStats;
    llvm::Expected<ProbeStatistics> probe =
        statistics->get(getInputProbeName(layer.name), k, withXtX);
    if (!probe)
      return layer.op.emitError() << "layer '" << layer.name
                                  << "': " << llvm::toString(probe.takeError());
    for (int64_t j = 0; j < k; ++j)
      actMax[j] = std::max(actMax[j], probe->absmax[j]);
    if (withXtX)
      xtxStats = std::move(*probe);
  }
  std::vector<float> weightMax(k, 0.0f);
  for (const Layer &layer : layers)
    for (int64_t n = 0; n < layer.n; ++n)
      for (int64_t j = 0; j < k; ++j)
        weightMax[j] =
            std::max(weightMax[j], std::fabs(layer.weight[n * k + j]));

  double chosenAlpha = *groupAlpha;
  if (alphaSearch) {
    double best = INFINITY;
    for (int step = 0; step <= 20; ++step) {
      double candidate = 0.05 * step;
      double error =
          estimateError(layers, actMax, *xtxStats,
                        computeFactors(actMax, weightMax, candidate));
      if (error < best) {
        best = error;
        chosenAlpha = candidate;
      }
    }
    emitRemark(layers.front().op.getLoc())
        << "layer '" << layers.front().name << "'"
        << (layers.size() > 1 ? " and the layers sharing its input" : "")
        << ": alpha " << formatNumber(std::round(chosenAlpha * 100) / 100);
  }
  std::vector<double> factors = computeFactors(actMax, weightMax, chosenAlpha);

  // W diag(s): scale column j of every weight by s_j.
  for (Layer &layer : layers) {
    std::vector<float> scaled(layer.weight.size());
    for (int64_t n = 0; n < layer.n; ++n)
      for (int64_t j = 0; j < k; ++j)
        scaled[n * k + j] = float(double(layer.weight[n * k + j]) * factors[j]);
    Value rhs = layer.op.getRhs();
    OpBuilder b(layer.op);
    Operation *oldWeight = rhs.getDefiningOp();
    layer.op.getRhsMutable().assign(createFloatConstant(
        b, rhs.getLoc(), layer.op.getRhs().getType(), scaled));
    if (oldWeight->use_empty())
      oldWeight->erase();
  }

  // diag(s)^-1: into the gain (and bias) of the norm producing X when the
  // group is its only user, else an explicit channel_scale.
  std::vector<float> inverse(k);
  for (int64_t j = 0; j < k; ++j)
    inverse[j] = float(1.0 / factors[j]);
  auto isGroupUse = [&](OpOperand &use) {
    return llvm::any_of(layers, [&](Layer &layer) {
      return use.getOwner() == layer.op.getOperation() &&
             use.getOperandNumber() == 0;
    });
  };
  Operation *producer = input.getDefiningOp();
  bool onlyGroupUses = llvm::all_of(input.getUses(), isGroupUse);
  auto foldInto = [&](OpOperand &gainOperand, OpOperand *biasOperand) {
    std::optional<std::vector<float>> gain =
        getConstantFloats(gainOperand.get());
    std::optional<std::vector<float>> bias;
    if (biasOperand) {
      bias = getConstantFloats(biasOperand->get());
      if (!bias)
        return false;
    }
    if (!gain)
      return false;
    OpBuilder b(producer);
    auto rescale = [&](OpOperand &operand, std::vector<float> values) {
      for (int64_t j = 0; j < k; ++j)
        values[j] *= inverse[j];
      Value old = operand.get();
      operand.set(createFloatConstant(
          b, old.getLoc(), cast<RankedTensorType>(old.getType()), values));
      if (Operation *def = old.getDefiningOp(); def && def->use_empty())
        def->erase();
    };
    rescale(gainOperand, *gain);
    if (biasOperand)
      rescale(*biasOperand, *bias);
    return true;
  };
  bool folded = false;
  if (onlyGroupUses) {
    if (auto norm = dyn_cast_or_null<RmsNormOp>(producer))
      folded = foldInto(norm.getWeightMutable(), nullptr);
    else if (auto norm = dyn_cast_or_null<LayerNormOp>(producer))
      folded = foldInto(norm.getWeightMutable(),
                        norm.getBias() ? &norm.getBiasMutable()[0] : nullptr);
  }
  if (folded)
    return success();

  OpBuilder b(layers.front().op.getContext());
  if (producer)
    b.setInsertionPointAfter(producer);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
  Location loc = layers.front().op.getLoc();
  auto scaleType = RankedTensorType::get({k}, inputType.getElementType());
  Value scale = createFloatConstant(b, loc, scaleType, inverse);
  Value scaled =
      ChannelScaleOp::create(b, loc, inputType, input, scale,
                             b.getI64IntegerAttr(inputType.getRank() - 1));
  for (Layer &layer : layers)
    layer.op.getLhsMutable().assign(scaled);
  emitRemark(loc)
      << "layer '" << layers.front().name
      << "': the producer of its input cannot absorb the "
         "smoothing factors; kept an explicit lattice.channel_scale";
  return success();
}
