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
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/ChannelSmoothing.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/QuantMath.h"
#include "lattice/Support/Statistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
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
static double estimateError(ArrayRef<SmoothingLayer> layers,
                            ArrayRef<float> actMax,
                            const ProbeStatistics &stats,
                            ArrayRef<double> factors) {
  int64_t k = factors.size();
  double actRange = 0;
  for (int64_t j = 0; j < k; ++j)
    actRange = std::max(actRange, double(actMax[j]) / factors[j]);
  double step = actRange / 127.0;
  double weightNorm = 0, weightError = 0;
  std::vector<double> row(k), delta(k);
  for (const SmoothingLayer &layer : layers) {
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
    return openRequiredStatistics(
        stats, "the statistics written by lattice.calibrate", fail, statistics);
  }

  void runOnOperation() override;

private:
  LogicalResult smooth(SmoothingGroup &group) const;
  FailureOr<double> getAlpha(ArrayRef<SmoothingLayer> layers) const;

  std::shared_ptr<const StatisticsFile> statistics;
};
} // namespace

void LatticeSmoothQuantPass::runOnOperation() {
  for (SmoothingGroup &group :
       collectSmoothingGroups(getOperation(), "smoothed"))
    if (failed(smooth(group)))
      return signalPassFailure();
}

FailureOr<double>
LatticeSmoothQuantPass::getAlpha(ArrayRef<SmoothingLayer> layers) const {
  std::optional<double> chosen;
  MatmulOp chooser;
  for (const SmoothingLayer &layer : layers) {
    for (MatmulOp op : layer.ops) {
      Attribute attr = op->getAttr(kOptionsAttrName);
      if (!attr)
        continue;
      auto dict = dyn_cast<DictionaryAttr>(attr);
      if (!dict)
        return op.emitError() << "'" << kOptionsAttrName
                              << "' must be a dictionary, got " << attr;
      for (NamedAttribute entry : dict)
        if (entry.getName() != "alpha")
          return op.emitError()
                 << "'" << kOptionsAttrName << "' has unknown entry '"
                 << entry.getName().strref() << "'";
      auto value = dyn_cast_or_null<FloatAttr>(dict.get("alpha"));
      if (!value)
        return op.emitError()
               << "'" << kOptionsAttrName << "' entry 'alpha' must be a float";
      double alphaValue = value.getValueAsDouble();
      if (!(alphaValue >= 0.0 && alphaValue <= 1.0))
        return op.emitError()
               << "layer '" << layer.name << "': alpha must be in [0, 1], got "
               << formatNumber(alphaValue);
      if (chosen && *chosen != alphaValue) {
        InFlightDiagnostic diag = op.emitError()
                                  << "layer '" << layer.name << "' sets alpha "
                                  << formatNumber(alphaValue)
                                  << " but shares its input with layer '"
                                  << getLayerName(chooser) << "', which sets "
                                  << formatNumber(*chosen);
        diag.attachNote(chooser.getLoc()) << "the other layer";
        return diag;
      }
      chosen = alphaValue;
      chooser = op;
    }
  }
  return chosen.value_or(double(alpha));
}

LogicalResult LatticeSmoothQuantPass::smooth(SmoothingGroup &group) const {
  MutableArrayRef<SmoothingLayer> layers = group.layers;
  int64_t k = group.getK();
  FailureOr<double> groupAlpha = getAlpha(layers);
  if (failed(groupAlpha))
    return failure();
  for (SmoothingLayer &layer : layers)
    for (MatmulOp op : layer.ops)
      op->removeAttr(kOptionsAttrName);

  // Activation maxima: the probes of the group's layers see its inputs;
  // take the largest.
  std::vector<float> actMax(k, 0.0f);
  std::optional<ProbeStatistics> xtxStats;
  // Each layer's own maxima, for the range of its smoothed input.
  std::vector<std::vector<float>> layerMax;
  for (SmoothingLayer &layer : layers) {
    if (layer.name.empty())
      return layer.front().emitError(
          "SmoothQuant needs a layer name to find the statistics of the "
          "matmul's input");
    bool withXtX = alphaSearch && !xtxStats;
    llvm::Expected<ProbeStatistics> probe =
        statistics->get(getInputProbeName(layer.name), k,
                        withXtX ? ProbeFields::XtX : ProbeFields::None);
    if (!probe)
      return layer.front().emitError()
             << "layer '" << layer.name
             << "': " << llvm::toString(probe.takeError());
    for (int64_t j = 0; j < k; ++j)
      actMax[j] = std::max(actMax[j], probe->absmax[j]);
    layerMax.push_back(probe->absmax);
    if (withXtX)
      xtxStats = std::move(*probe);
  }
  if (failed(group.readWeights()))
    return failure();
  std::vector<float> weightMax(k, 0.0f);
  for (const SmoothingLayer &layer : layers)
    for (int64_t n = 0; n < layer.n; ++n)
      for (int64_t j = 0; j < k; ++j)
        weightMax[j] =
            std::max(weightMax[j], std::fabs(layer.weight[n * k + j]));

  Location loc = layers.front().front().getLoc();
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
    emitRemark(loc) << "layer '" << layers.front().name << "'"
                    << (layers.size() > 1 ? " and the layers sharing its input"
                                          : "")
                    << ": alpha "
                    << formatNumber(std::round(chosenAlpha * 100) / 100);
  }
  std::vector<double> factors = computeFactors(actMax, weightMax, chosenAlpha);

  std::vector<float> inverse(k);
  for (int64_t j = 0; j < k; ++j)
    inverse[j] = float(1.0 / factors[j]);
  // The range of each layer's smoothed input, as f32 arithmetic scales it
  // (rounding is monotonic: the maximum of the products is the product of
  // the maximum).
  for (auto [layer, maxima] : llvm::zip(layers, layerMax)) {
    float range = 0.0f;
    for (int64_t j = 0; j < k; ++j)
      range = std::max(range, maxima[j] * inverse[j]);
    for (MatmulOp op : layer.ops)
      op->setAttr(kInputAbsMaxAttrName,
                  FloatAttr::get(Float32Type::get(op.getContext()), range));
  }
  applySmoothing(group, factors, "smoothing factors");
  return success();
}
