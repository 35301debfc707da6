//===- AWQ.cpp - Activation-aware weight scaling --------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-awq (Lin et al., AWQ): the input channels that carry large
// activations matter most to a layer's output, so their weights are scaled
// up before quantization (s_j = mean|x_j|^alpha) and the input down by the
// same factors. alpha is searched on a grid per group of layers sharing
// their input, minimising the output error of the quantized weights on the
// calibration data: tr(D H D^T), H = X^T X, D = W - Q(W diag(s)) diag(s)^-1.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/ChannelSmoothing.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/GPTQ.h"
#include "lattice/Quant/QuantMath.h"
#include "lattice/Support/Statistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include <algorithm>
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEAWQPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// Bounds of the scaling factors.
static constexpr double kMinFactor = 1e-4, kMaxFactor = 1e4;

/// The clipping ratios that the clip search tries.
static constexpr int kClipSteps = 10;
static constexpr double kClipStep = 0.05;

namespace {
/// What the search needs of one layer of a group.
struct LayerData {
  /// The scheme of the weight, or nullopt for a layer that stays in float
  /// (or gets binary or ternary codes, whose scales AWQ does not model).
  std::optional<QuantScheme> scheme;
  /// The input's X^T X, rescaled to the input the layer has now.
  std::vector<float> xtx;
};

struct LatticeAWQPass final
    : lattice::impl::LatticeAWQPassBase<LatticeAWQPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    auto fail = [&]() {
      return emitError(UnknownLoc::get(context)) << "lattice-awq: ";
    };
    // Integer codes only: AWQ's scales mean nothing to ternary or binary
    // codes' absmean scale.
    unsigned bits = 0;
    if (StringRef(weightBits).getAsInteger(10, bits) || bits < 2 ||
        bits > kMaxStorageBits)
      return fail() << "weight-bits must be 2 to 8, got '" << weightBits << "'";
    llvm::Expected<QuantScheme> parsed = parseWeightScheme(
        weightBits, granularity, groupSize, symmetric, scaleType);
    if (!parsed)
      return fail() << llvm::toString(parsed.takeError());
    defaults = *parsed;
    if (clip != "minmax" && clip != "mse")
      return fail() << "clip must be 'minmax' or 'mse', got '" << clip << "'";
    if (clip == "mse" && clipSearch)
      return fail() << "clip-search chooses the ranges itself; it needs "
                       "clip=minmax";
    if (grid < 1 || grid > 1000)
      return fail() << "grid must be 1 to 1000, got " << int64_t(grid);
    return openRequiredStatistics(
        stats,
        "statistics with the absmean and X^T X of every layer's input: "
        "lattice-compile --calib-xtx",
        fail, statistics);
  }

  void runOnOperation() override {
    for (SmoothingGroup &group :
         collectSmoothingGroups(getOperation(), "scaled"))
      if (failed(scale(group)))
        return signalPassFailure();
  }

private:
  LogicalResult scale(SmoothingGroup &group) const;
  std::optional<QuantScheme> getScheme(MatmulOp op, int64_t k) const;
  double getOutputError(ArrayRef<SmoothingLayer> layers,
                        ArrayRef<LayerData> data,
                        ArrayRef<double> factors) const;
  void searchClipping(SmoothingLayer &layer, const LayerData &data,
                      int64_t k) const;

  QuantScheme defaults;
  std::shared_ptr<const StatisticsFile> statistics;
};
} // namespace

/// The scheme that lattice-quantize will give `op`: the options, with the
/// entries of its `lattice.quantize` dictionary that change the scheme.
/// (Bad entries are lattice-quantize's to report.)
std::optional<QuantScheme> LatticeAWQPass::getScheme(MatmulOp op,
                                                     int64_t k) const {
  QuantScheme scheme = defaults;
  if (auto overrides =
          op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName)) {
    if (overrides.get("skip"))
      return std::nullopt;
    // A number, or its digits (as recipe files give it); "ternary" and
    // "binary" are not modelled.
    if (auto bits = overrides.getAs<IntegerAttr>("weight_bits")) {
      scheme.bits = bits.getInt();
    } else if (auto text = overrides.getAs<StringAttr>("weight_bits")) {
      unsigned width = 0;
      if (text.getValue().getAsInteger(10, width))
        return std::nullopt;
      scheme.bits = width;
    } else if (overrides.get("weight_bits")) {
      return std::nullopt;
    }
    if (auto flag = overrides.getAs<BoolAttr>("symmetric")) {
      scheme.symmetric = flag.getValue();
      scheme.storageKind =
          flag.getValue() ? StorageKind::Signed : StorageKind::Unsigned;
    }
    if (auto size = overrides.getAs<IntegerAttr>("group_size"))
      scheme.groupSize = size.getInt();
    if (auto text = overrides.getAs<StringAttr>("granularity")) {
      if (text.getValue() == "tensor")
        scheme.granularity = Granularity::PerTensor;
      else if (text.getValue() == "channel")
        scheme.granularity = Granularity::PerChannel;
      else if (text.getValue() == "group")
        scheme.granularity = Granularity::PerGroup;
    }
  }
  if (scheme.granularity == Granularity::PerGroup && scheme.groupSize < 1)
    scheme.granularity = Granularity::PerChannel;
  scheme.axis = scheme.granularity == Granularity::PerGroup ? 1 : 0;
  if (scheme.bits < 2 || scheme.bits > kMaxStorageBits ||
      scheme.checkInvariants())
    return std::nullopt;
  return scheme;
}

/// Rounds `block` to nearest into `out`, with the min-max range scaled by
/// `ratio` or, with `mse`, the range of MSE clipping; false when the scheme
/// has no parameters for it.
static bool roundBlock(const QuantScheme &scheme, ArrayRef<float> block,
                       double ratio, MutableArrayRef<double> out,
                       bool mse = false) {
  auto [lo, hi] = std::minmax_element(block.begin(), block.end());
  llvm::Expected<QuantParams> params =
      mse ? computeMSEParams(scheme, block)
          : computeQuantParams(scheme, double(*lo) * ratio,
                               double(*hi) * ratio);
  if (!params) {
    llvm::consumeError(params.takeError());
    return false;
  }
  int64_t qmin = scheme.getStorageMin(), qmax = scheme.getStorageMax();
  float scale = float(params->scale);
  for (auto [x, q] : llvm::zip_equal(block, out))
    q = double(dequantizeValue(
        quantizeInRange(x, scale, params->zeroPoint, qmin, qmax), scale,
        params->zeroPoint));
  return true;
}

double LatticeAWQPass::getOutputError(ArrayRef<SmoothingLayer> layers,
                                      ArrayRef<LayerData> data,
                                      ArrayRef<double> factors) const {
  int64_t k = factors.size();
  double total = 0;
  for (auto [layer, d] : llvm::zip_equal(layers, data)) {
    if (!d.scheme)
      continue;
    int64_t n = layer.n;
    std::vector<float> scaled(n * k);
    for (int64_t e = 0; e < n * k; ++e)
      scaled[e] = float(double(layer.weight[e]) * factors[e % k]);
    std::vector<double> error(n * k);
    for (int64_t start = 0, length; start < n * k; start += length) {
      length = getBlockLength(*d.scheme, n, k, start);
      if (!roundBlock(*d.scheme, ArrayRef<float>(scaled).slice(start, length),
                      1.0, MutableArrayRef<double>(error).slice(start, length),
                      clip == "mse"))
        return INFINITY;
    }
    for (int64_t e = 0; e < n * k; ++e)
      error[e] = double(layer.weight[e]) - error[e] / factors[e % k];
    total += computeOutputErrors(d.xtx, n, k, {error.data()})[0];
  }
  return total;
}

/// AWQ's clipping search: for every block of the (scaled) weight, the
/// range min-max times r in {1, 0.95, ..., 0.5} whose rounding error,
/// seen through the block's part of X^T X, is least; the weight is
/// clamped to it, so that lattice-quantize's min-max range is that range.
void LatticeAWQPass::searchClipping(SmoothingLayer &layer,
                                    const LayerData &data, int64_t k) const {
  const QuantScheme &scheme = *data.scheme;
  if (scheme.granularity == Granularity::PerTensor)
    return;
  int64_t n = layer.n;
  std::vector<double> rounded(getBlockLength(scheme, n, k, 0)),
      error(rounded.size());
  for (int64_t start = 0, length; start < n * k; start += length) {
    length = getBlockLength(scheme, n, k, start);
    int64_t column = start % k;
    MutableArrayRef<float> block =
        MutableArrayRef<float>(layer.weight).slice(start, length);
    double bestError = INFINITY, bestRatio = 1.0;
    for (int step = 0; step <= kClipSteps; ++step) {
      double ratio = 1.0 - kClipStep * step;
      if (!roundBlock(scheme, block, ratio,
                      MutableArrayRef<double>(rounded).take_front(length)))
        continue;
      for (int64_t j = 0; j < length; ++j)
        error[j] = double(block[j]) - rounded[j];
      double e = 0;
      for (int64_t i = 0; i < length; ++i) {
        if (error[i] == 0)
          continue;
        const float *h = data.xtx.data() + (column + i) * k + column;
        double dot = 0;
        for (int64_t j = 0; j < length; ++j)
          dot += double(h[j]) * error[j];
        e += error[i] * dot;
      }
      if (e < bestError) {
        bestError = e;
        bestRatio = ratio;
      }
    }
    if (bestRatio == 1.0)
      continue;
    auto [lo, hi] = std::minmax_element(block.begin(), block.end());
    float low = float(double(*lo) * bestRatio),
          high = float(double(*hi) * bestRatio);
    for (float &x : block)
      x = std::clamp(x, low, high);
  }
}

LogicalResult LatticeAWQPass::scale(SmoothingGroup &group) const {
  MutableArrayRef<SmoothingLayer> layers = group.layers;
  int64_t k = group.getK();
  Location loc = layers.front().front().getLoc();
  // mean |x| per channel (the mean over the group's probes: one input, or
  // the steps of a recurrence), and each layer's X^T X.
  std::vector<double> absmean(k, 0.0);
  SmallVector<LayerData> data;
  bool quantized = false;
  for (SmoothingLayer &layer : layers) {
    if (layer.name.empty())
      return layer.front().emitError(
          "AWQ needs a layer name to find the statistics of the matmul's "
          "input");
    LayerData d;
    d.scheme = getScheme(layer.front(), k);
    quantized |= d.scheme.has_value();
    llvm::Expected<ProbeStatistics> probe =
        statistics->get(getInputProbeName(layer.name), k,
                        ProbeFields::XtX | ProbeFields::AbsMean);
    if (!probe)
      return layer.front().emitError()
             << "layer '" << layer.name
             << "': " << llvm::toString(probe.takeError());
    rescaleStatistics(layer.front(), *probe);
    for (int64_t j = 0; j < k; ++j)
      absmean[j] += double(probe->absmean[j]) / double(layers.size());
    d.xtx = std::move(probe->xtx);
    data.push_back(std::move(d));
  }
  if (!quantized)
    return success();
  // Channels that no calibration row reached: nothing to weigh them by.
  int64_t dead = llvm::count(absmean, 0.0);
  if (dead > 0)
    layers.front().front().emitWarning()
        << "layer '" << layers.front().name << "': " << dead << " of " << k
        << " input channels (the first: "
        << llvm::find(absmean, 0.0) - absmean.begin()
        << ") are zero on every calibration row; their scales stay 1";
  if (failed(group.readWeights()))
    return failure();

  // s = mean|x|^alpha, normalised so that max(s) min(s) = 1 (as AWQ
  // does); channels that are never active keep 1.
  auto getFactors = [&](double alpha) {
    std::vector<double> factors(k, 1.0);
    double lo = INFINITY, hi = 0;
    for (int64_t j = 0; j < k; ++j)
      if (absmean[j] > 0) {
        factors[j] = std::pow(absmean[j], alpha);
        lo = std::min(lo, factors[j]);
        hi = std::max(hi, factors[j]);
      }
    double norm = hi > 0 ? std::sqrt(lo * hi) : 1.0;
    for (int64_t j = 0; j < k; ++j)
      if (absmean[j] > 0)
        factors[j] = std::clamp(factors[j] / norm, kMinFactor, kMaxFactor);
    return factors;
  };
  double bestAlpha = 0, unscaled = 0, best = INFINITY;
  for (int64_t step = 0; step <= grid; ++step) {
    double alpha = double(step) / double(grid);
    double error = getOutputError(layers, data, getFactors(alpha));
    if (step == 0)
      unscaled = error;
    if (error < best) {
      best = error;
      bestAlpha = alpha;
    }
  }
  double energy = 0;
  for (auto [layer, d] : llvm::zip_equal(layers, data)) {
    if (!d.scheme)
      continue;
    std::vector<double> weight(layer.weight.begin(), layer.weight.end());
    energy += computeOutputErrors(d.xtx, layer.n, k, {weight.data()})[0];
  }
  InFlightDiagnostic remark = emitRemark(loc);
  remark << "layer '" << layers.front().name << "'"
         << (layers.size() > 1 ? " and the layers sharing its input" : "")
         << ": alpha " << formatNumber(bestAlpha);
  if (energy > 0)
    remark << ", output error " << formatNumber(best / energy)
           << " (unscaled: " << formatNumber(unscaled / energy) << ")";
  remark.report();

  std::vector<double> factors = getFactors(bestAlpha);
  bool identity = llvm::all_of(factors, [](double f) { return f == 1.0; });
  if (identity && !clipSearch) {
    for (SmoothingLayer &layer : layers)
      std::vector<float>().swap(layer.weight);
    return success();
  }
  if (clipSearch) {
    // The clipping of the weights as they will be quantized: scaled, each
    // block's error seen through the X^T X of the scaled input.
    for (auto [layer, d] : llvm::zip_equal(layers, data)) {
      if (!d.scheme)
        continue;
      for (int64_t e = 0, e_end = layer.n * k; e < e_end; ++e)
        layer.weight[e] = float(double(layer.weight[e]) * factors[e % k]);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          d.xtx[i * k + j] =
              float(double(d.xtx[i * k + j]) / (factors[i] * factors[j]));
      searchClipping(layer, d, k);
      for (int64_t e = 0, e_end = layer.n * k; e < e_end; ++e)
        layer.weight[e] = float(double(layer.weight[e]) / factors[e % k]);
    }
  }
  applySmoothing(group, factors, "AWQ scales");
  return success();
}
