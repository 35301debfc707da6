//===- Quantize.cpp - Round-to-nearest weight and activation quantization -===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-quantize: float matmul weights become constant codes, scales and
// zero points chosen block by block (min-max, percentile or MSE clipping;
// absmean for ternary and binary codes), and activations are optionally
// quantized per token at run time. The scheme of each layer comes from the
// pass options, overridden by a `lattice.quantize` attribute on the matmul.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/ChannelSmoothing.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/GPTQ.h"
#include "lattice/Quant/QuantMath.h"
#include "lattice/Support/Statistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/ToolOutputFile.h"
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEQUANTIZEPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
enum class ActivationMode { None, Dynamic, Static };

/// The quantization of one layer, after options and overrides.
struct LayerConfig {
  /// The weight scheme; granularity, axis and group size are filled in for
  /// the [N, K] weight.
  QuantScheme scheme;
  FloatType scaleType;
  ClipMethod clip = ClipMethod::MinMax;
  double percentile = 99.9;
  ActivationMode activations = ActivationMode::None;
  unsigned activationBits = 8;
  double activationPercentile = 100.0;
  bool skip = false;
  /// GPTQ (error compensation through the input's X^T X) instead of
  /// rounding to nearest, with its dampening.
  bool gptq = false;
  double damp = 0.01;
  /// GPTQ's act-order (with static groups) and lazy batches.
  bool actOrder = false;
  int64_t blockSize = 128;
};

/// The raw, unparsed settings (options or an override dictionary).
struct Settings {
  std::string weightBits, granularity, scaleType, clip, activations, method;
  int64_t groupSize = 0;
  bool symmetric = true;
  double percentile = 0, activationPercentile = 0, damp = 0;
  unsigned activationBits = 0;
  bool skip = false;
  bool actOrder = false;
  int64_t blockSize = 0;
};
} // namespace

/// Parses `settings` into `config`; `emitError` reports the first bad value.
static LogicalResult parseSettings(const Settings &settings,
                                   MLIRContext *context,
                                   function_ref<InFlightDiagnostic()> emitError,
                                   LayerConfig &config) {
  llvm::Expected<QuantScheme> parsed = parseWeightScheme(
      settings.weightBits, settings.granularity, settings.groupSize,
      settings.symmetric, settings.scaleType);
  if (!parsed)
    return emitError() << llvm::toString(parsed.takeError());
  QuantScheme &scheme = config.scheme;
  scheme = *parsed;
  Builder builder(context);
  config.scaleType = scheme.scaleSemantics == &llvm::APFloat::IEEEsingle()
                         ? FloatType(builder.getF32Type())
                     : scheme.scaleSemantics == &llvm::APFloat::IEEEhalf()
                         ? FloatType(builder.getF16Type())
                         : FloatType(builder.getBF16Type());

  std::optional<ClipMethod> clip =
      llvm::StringSwitch<std::optional<ClipMethod>>(settings.clip)
          .Case("minmax", ClipMethod::MinMax)
          .Case("percentile", ClipMethod::Percentile)
          .Case("mse", ClipMethod::MSE)
          .Default(std::nullopt);
  if (!clip)
    return emitError() << "clip must be 'minmax', 'percentile' or 'mse', got '"
                       << settings.clip << "'";
  config.clip = *clip;
  if (!(settings.percentile > 50.0 && settings.percentile <= 100.0))
    return emitError() << "percentile must be in (50, 100], got "
                       << formatNumber(settings.percentile);
  config.percentile = settings.percentile;

  if (settings.activations == "none")
    config.activations = ActivationMode::None;
  else if (settings.activations == "dynamic")
    config.activations = ActivationMode::Dynamic;
  else if (settings.activations == "static")
    config.activations = ActivationMode::Static;
  else
    return emitError() << "activations must be 'none', 'dynamic' or "
                          "'static', got '"
                       << settings.activations << "'";
  if (settings.activationBits < 2 || settings.activationBits > 8)
    return emitError() << "activation-bits must be 2 to 8, got "
                       << settings.activationBits;
  config.activationBits = settings.activationBits;
  if (!(settings.activationPercentile > 50.0 &&
        settings.activationPercentile <= 100.0))
    return emitError() << "activation-percentile must be in (50, 100], got "
                       << formatNumber(settings.activationPercentile);
  config.activationPercentile = settings.activationPercentile;
  config.skip = settings.skip;
  if (settings.method != "rtn" && settings.method != "gptq")
    return emitError() << "method must be 'rtn' or 'gptq', got '"
                       << settings.method << "'";
  config.gptq = settings.method == "gptq";
  if (!(settings.damp > 0.0 && settings.damp <= 1.0))
    return emitError() << "damp must be in (0, 1], got "
                       << formatNumber(settings.damp);
  config.damp = settings.damp;
  config.actOrder = settings.actOrder;
  if (settings.blockSize <= 0)
    return emitError() << "block-size must be positive, got "
                       << settings.blockSize;
  config.blockSize = settings.blockSize;
  if (config.gptq && (scheme.storageKind == StorageKind::Ternary ||
                      scheme.storageKind == StorageKind::Binary))
    return emitError() << "method 'gptq' needs integer codes (weight-bits 2 "
                          "to 8), got '"
                       << settings.weightBits << "'";
  if (std::optional<std::string> problem = scheme.checkInvariants())
    return emitError() << *problem;
  return success();
}

/// Applies the `lattice.quantize` dictionary of `op` to `settings`.
static LogicalResult applyOverrides(MatmulOp op, DictionaryAttr overrides,
                                    Settings &settings) {
  for (NamedAttribute entry : overrides) {
    StringRef key = entry.getName().strref();
    Attribute value = entry.getValue();
    auto badValue = [&](StringRef expected) {
      return op.emitError()
             << "'" << kQuantizeOverridesAttrName << "' entry '" << key
             << "' must be " << expected << ", got " << value;
    };
    auto setString = [&](std::string &field) -> LogicalResult {
      if (auto string = dyn_cast<StringAttr>(value)) {
        field = string.str();
        return success();
      }
      return badValue("a string");
    };
    auto getInteger = [&]() -> std::optional<int64_t> {
      if (auto integer = dyn_cast<IntegerAttr>(value))
        return integer.getValue().getSExtValue();
      return std::nullopt;
    };
    LogicalResult result = success();
    if (key == "weight_bits") {
      if (std::optional<int64_t> bits = getInteger())
        settings.weightBits = std::to_string(*bits);
      else
        result = setString(settings.weightBits);
    } else if (key == "granularity") {
      result = setString(settings.granularity);
    } else if (key == "scale_type") {
      result = setString(settings.scaleType);
    } else if (key == "clip") {
      result = setString(settings.clip);
    } else if (key == "activations") {
      result = setString(settings.activations);
    } else if (key == "method") {
      result = setString(settings.method);
    } else if (key == "group_size" || key == "activation_bits" ||
               key == "block_size") {
      std::optional<int64_t> integer = getInteger();
      if (!integer || *integer < 0 || *integer > INT32_MAX)
        return badValue("a non-negative integer");
      if (key == "group_size")
        settings.groupSize = *integer;
      else if (key == "block_size")
        settings.blockSize = *integer;
      else
        settings.activationBits = unsigned(*integer);
    } else if (key == "symmetric" || key == "act_order") {
      auto flag = dyn_cast<BoolAttr>(value);
      if (!flag)
        return badValue("a boolean");
      (key == "symmetric" ? settings.symmetric : settings.actOrder) =
          flag.getValue();
    } else if (key == "percentile" || key == "activation_percentile" ||
               key == "damp") {
      auto number = dyn_cast<FloatAttr>(value);
      if (!number)
        return badValue("a float");
      (key == "percentile" ? settings.percentile
       : key == "damp"     ? settings.damp
                           : settings.activationPercentile) =
          number.getValueAsDouble();
    } else if (key == "skip") {
      if (!isa<UnitAttr>(value))
        return badValue("a unit attribute");
      settings.skip = true;
    } else {
      return op.emitError() << "'" << kQuantizeOverridesAttrName
                            << "' has unknown entry '" << key << "'";
    }
    if (failed(result))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Rewriting
//===----------------------------------------------------------------------===//

/// The accumulator of an integer matmul: i32 when K products of the largest
/// code magnitudes fit, i64 otherwise.
static IntegerType getAccumulatorType(Builder &b, int64_t run,
                                      const QuantScheme &lhs,
                                      const QuantScheme &rhs) {
  double bound = double(run) * double(lhs.getMaxCodeMagnitude()) *
                 double(rhs.getMaxCodeMagnitude());
  return bound <= double(INT32_MAX) ? b.getI32Type() : b.getI64Type();
}

namespace {
/// A quantized layer as the report describes it.
struct LayerReport {
  std::string name, scheme;
  double sqnr;
  std::optional<double> bitsPerWeight;
  /// With GPTQ: tr(D H D^T) of rounding to nearest and of GPTQ, relative to
  /// tr(W H W^T) (the output's error energy over its signal).
  std::optional<std::pair<double, double>> outputErrors;
  /// After lattice-split-outliers: the input channels left in float.
  std::optional<int64_t> floatChannels;
};

/// The version of the report file's schema (docs/Reports.md).
constexpr int64_t kReportVersion = 1;

/// Writes `layers` to `path` as the JSON report of lattice-quantize.
LogicalResult writeReport(StringRef path, ArrayRef<LayerReport> layers,
                          Location loc) {
  llvm::json::Array entries;
  for (const LayerReport &layer : layers) {
    llvm::json::Object entry{{"name", layer.name}, {"scheme", layer.scheme}};
    // JSON has no infinity: an exact layer's SQNR is null.
    entry["sqnr_db"] = std::isfinite(layer.sqnr) ? llvm::json::Value(layer.sqnr)
                                                 : llvm::json::Value(nullptr);
    if (layer.bitsPerWeight)
      entry["bits_per_weight"] = *layer.bitsPerWeight;
    if (layer.outputErrors) {
      entry["output_error_rtn"] = layer.outputErrors->first;
      entry["output_error"] = layer.outputErrors->second;
    }
    if (layer.floatChannels)
      entry["float_channels"] = *layer.floatChannels;
    entries.push_back(std::move(entry));
  }
  llvm::json::Object report{{"format", "lattice-quantize-report"},
                            {"version", kReportVersion},
                            {"layers", std::move(entries)}};
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return emitError(loc) << "lattice-quantize: cannot write the report '"
                          << path << "': " << ec.message();
  file.os() << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
            << "\n";
  file.keep();
  return success();
}

struct LatticeQuantizePass final
    : lattice::impl::LatticeQuantizePassBase<LatticeQuantizePass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    for (const std::string &pattern : skip) {
      llvm::Regex regex(pattern);
      std::string error;
      if (!regex.isValid(error))
        return emitError(UnknownLoc::get(context))
               << "lattice-quantize: skip pattern '" << pattern
               << "' is not a regular expression: " << error;
    }
    defaults.weightBits = weightBits;
    defaults.granularity = granularity;
    defaults.groupSize = groupSize;
    defaults.symmetric = symmetric;
    defaults.scaleType = scaleType;
    defaults.clip = clip;
    defaults.percentile = percentile;
    defaults.activations = activations;
    defaults.activationBits = activationBits;
    defaults.activationPercentile = activationPercentile;
    defaults.method = method;
    defaults.damp = damp;
    defaults.actOrder = actOrder;
    defaults.blockSize = blockSize;
    if (method == "gptq" && stats.empty())
      return emitError(UnknownLoc::get(context))
             << "lattice-quantize: method=gptq needs stats=<file> with the "
                "X^T X of every layer's input (lattice-compile --calib-xtx)";
    if (activations == "static" && stats.empty())
      return emitError(UnknownLoc::get(context))
             << "lattice-quantize: activations=static needs stats=<file> "
                "(written by lattice.calibrate)";
    if (!(qepAlpha >= 0.0 && qepAlpha <= 1.0))
      return emitError(UnknownLoc::get(context))
             << "lattice-quantize: qep-alpha must be in [0, 1], got "
             << formatNumber(qepAlpha);
    if (qep && stats.empty())
      return emitError(UnknownLoc::get(context))
             << "lattice-quantize: qep=true needs stats=<file> with QEP's "
                "statistics of every layer's input (lattice-compile gathers "
                "them for the -qep recipes)";
    if (!stats.empty()) {
      llvm::Expected<std::unique_ptr<StatisticsFile>> file =
          StatisticsFile::open(stats);
      if (!file)
        return emitError(UnknownLoc::get(context))
               << "lattice-quantize: " << llvm::toString(file.takeError());
      statistics = std::move(*file);
    }
    LayerConfig config;
    return parseSettings(
        defaults, context,
        [&]() {
          return emitError(UnknownLoc::get(context)) << "lattice-quantize: ";
        },
        config);
  }

  void runOnOperation() override {
    // Every matmul, for the model's first and last layer; the float ones
    // (of `layers`, if given) are quantized.
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp op) { matmuls.push_back(op); });
    // Regex is neither copyable nor thread-safe: compile the patterns here.
    SmallVector<llvm::Regex> skipPatterns;
    for (const std::string &pattern : skip)
      skipPatterns.emplace_back(pattern);
    SmallVector<std::pair<MatmulOp, bool>> selected;
    for (auto [index, op] : llvm::enumerate(matmuls)) {
      if (isa<QuantType>(op.getRhs().getType().getElementType()) ||
          isa<QuantType>(op.getLhs().getType().getElementType()))
        continue;
      if (!layers.empty() && !llvm::is_contained(layers, getLayerName(op)))
        continue;
      selected.push_back({op, index == 0 || index + 1 == matmuls.size()});
    }
    SmallVector<LayerReport> layerReports;
    QuantizedRhsCache quantizedRhs;
    auto start = std::chrono::steady_clock::now();
    for (auto [index, entry] : llvm::enumerate(selected)) {
      auto [op, isEdge] = entry;
      std::string name = getLayerName(op);
      if (failed(quantizeMatmul(op, skipPatterns, isEdge, layerReports,
                                quantizedRhs)))
        return signalPassFailure();
      if (progress)
        llvm::errs() << llvm::formatv(
            "lattice-quantize: layer {0} of {1} ({2}), {3:f1} s\n", index + 1,
            selected.size(), name.empty() ? "<unnamed>" : name,
            std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          start)
                .count());
    }
    if (!reportFile.empty() &&
        failed(writeReport(reportFile, layerReports, getOperation().getLoc())))
      return signalPassFailure();
  }

private:
  /// A quantized weight: its codes (cast to the quantized type), scales and
  /// zero points.
  struct QuantizedRhs {
    Value weight, scale, zeroPoint;
  };
  /// Quantized weights by float weight, then by settings. An entry goes
  /// when its float weight does (the key must not outlive the value).
  using QuantizedRhsCache = DenseMap<Value, llvm::StringMap<QuantizedRhs>>;

  LogicalResult quantizeMatmul(MatmulOp op, ArrayRef<llvm::Regex> skipPatterns,
                               bool isEdge,
                               SmallVectorImpl<LayerReport> &layers,
                               QuantizedRhsCache &quantizedRhs) const;
  Value quantizeActivations(OpBuilder &b, MatmulOp op,
                            const LayerConfig &config, Value &scale) const;
  FailureOr<std::vector<float>> getQEPTarget(MatmulOp op, StringRef layer,
                                             const LayerConfig &config,
                                             ArrayRef<float> values, int64_t n,
                                             int64_t k) const;
  llvm::Expected<QuantizedWeight>
  quantizeWeightGPTQ(MatmulOp op, StringRef layer, const LayerConfig &config,
                     ArrayRef<float> values, int64_t n, int64_t k,
                     std::optional<std::pair<double, double>> &errors) const;
  Value quantizeActivationsStatically(OpBuilder &b, MatmulOp op,
                                      const LayerConfig &config,
                                      Value &scale) const;

  Settings defaults;
  /// The statistics file of `stats`, shared by clones of the pass.
  std::shared_ptr<const StatisticsFile> statistics;
};
} // namespace

LogicalResult LatticeQuantizePass::quantizeMatmul(
    MatmulOp op, ArrayRef<llvm::Regex> skipPatterns, bool isEdge,
    SmallVectorImpl<LayerReport> &layers,
    QuantizedRhsCache &quantizedRhs) const {
  std::string name = getLayerName(op);
  StringRef layer = name.empty() ? StringRef("<unnamed>") : StringRef(name);
  Settings settings = defaults;
  if (isEdge && !edgeBits.empty()) {
    settings.weightBits = edgeBits;
    settings.granularity = "channel";
  }
  if (auto overrides =
          op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName)) {
    if (failed(applyOverrides(op, overrides, settings)))
      return failure();
  } else if (Attribute other = op->getAttr(kQuantizeOverridesAttrName)) {
    return op.emitError() << "'" << kQuantizeOverridesAttrName
                          << "' must be a dictionary, got " << other;
  }
  LayerConfig config;
  if (failed(parseSettings(
          settings, op.getContext(),
          [&]() { return op.emitError() << "layer '" << layer << "': "; },
          config)))
    return failure();
  op->removeAttr(kQuantizeOverridesAttrName);
  std::optional<int64_t> floatChannels;
  if (auto count = op->getAttrOfType<IntegerAttr>(kFloatChannelsAttrName))
    floatChannels = count.getInt();
  if (config.skip || llvm::any_of(skipPatterns, [&](const llvm::Regex &regex) {
        return regex.match(name);
      }))
    return success();

  RankedTensorType weightType = op.getRhs().getType();
  // The quantized matmul, from the quantized weight: `op`'s lhs quantized
  // if the activations are, `op` replaced, the float weight erased once
  // nothing reads it.
  auto replaceMatmul = [&](const QuantizedRhs &rhs) -> LogicalResult {
    OpBuilder b(op);
    Value lhs = op.getLhs(), lhsScale;
    Type accumulator = b.getF32Type();
    if (config.activations != ActivationMode::None) {
      lhs = quantizeActivations(b, op, config, lhsScale);
      if (!lhs)
        return failure();
      auto lhsQuant = cast<QuantType>(
          cast<RankedTensorType>(lhs.getType()).getElementType());
      const QuantScheme &scheme = config.scheme;
      int64_t run = scheme.granularity == Granularity::PerGroup
                        ? scheme.groupSize
                        : weightType.getDimSize(1);
      accumulator = getAccumulatorType(b, run, lhsQuant.getScheme(), scheme);
    }
    Value result = MatmulOp::create(b, op.getLoc(), op.getType(), lhs,
                                    rhs.weight, lhsScale, Value(), rhs.scale,
                                    rhs.zeroPoint, TypeAttr::get(accumulator));
    Value floatValue = op.getRhs();
    Operation *floatWeight = floatValue.getDefiningOp();
    op.replaceAllUsesWith(result);
    op.erase();
    if (floatValue.use_empty())
      quantizedRhs.erase(floatValue);
    // Its blob goes once no op reads it: one float copy at a time.
    eraseUnusedWeight(floatWeight);
    return success();
  };

  // A weight that several matmuls share (an unrolled recurrence's) is
  // quantized once for the settings they share: its codes are stored once.
  std::string cacheKey;
  llvm::raw_string_ostream(cacheKey)
      << int(config.scheme.storageKind) << ' ' << config.scheme.bits << ' '
      << int(config.scheme.granularity) << ' ' << config.scheme.groupSize << ' '
      << config.scheme.symmetric << ' ' << config.scaleType << ' '
      << int(config.clip) << ' ' << config.percentile << ' ' << config.gptq
      << ' ' << config.damp << ' ' << config.actOrder << ' '
      << config.blockSize;
  llvm::StringMap<QuantizedRhs> &quantizedForms = quantizedRhs[op.getRhs()];
  if (auto cached = quantizedForms.find(cacheKey);
      cached != quantizedForms.end()) {
    Operation *codes = cached->second.weight.getDefiningOp();
    if (codes->getBlock() == op->getBlock() && codes->isBeforeInBlock(op))
      return replaceMatmul(cached->second);
  }

  std::optional<std::vector<float>> values = getConstantFloats(op.getRhs());
  if (!values || !weightType.hasStaticShape()) {
    op.emitWarning() << "layer '" << layer
                     << "': the weight is not a constant; left in float";
    return success();
  }
  int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  for (auto [index, x] : llvm::enumerate(*values))
    if (!std::isfinite(x))
      return op.emitError()
             << "layer '" << layer << "': weight element [" << index / k << ", "
             << index % k << "] is " << formatNumber(x);
  // Output channels that are zero: the layer computes nothing there (a
  // pruned or untrained channel, or weights that did not load).
  SmallVector<int64_t> zeroRows;
  for (int64_t row = 0; row < n; ++row)
    if (llvm::all_of(ArrayRef<float>(*values).slice(row * k, k),
                     [](float x) { return x == 0.0f; }))
      zeroRows.push_back(row);
  if (zeroRows.size() == size_t(n))
    op.emitWarning() << "layer '" << layer
                     << "': the weight is zero everywhere";
  else if (!zeroRows.empty())
    op.emitWarning()
        << "layer '" << layer << "': output channel " << zeroRows.front()
        << " of " << n << " is zero"
        << (zeroRows.size() > 1
                ? llvm::formatv(" (and {0} more)", zeroRows.size() - 1).str()
                : std::string());
  if (qep) {
    FailureOr<std::vector<float>> target =
        getQEPTarget(op, layer, config, *values, n, k);
    if (failed(target))
      return failure();
    values = std::move(*target);
  }
  std::optional<std::pair<double, double>> outputErrors;
  llvm::Expected<QuantizedWeight> quantized =
      config.gptq
          ? quantizeWeightGPTQ(op, layer, config, *values, n, k, outputErrors)
          : quantizeWeight(config.scheme, config.clip, config.percentile,
                           *values, n, k);
  if (!quantized)
    return op.emitError() << "layer '" << layer
                          << "': " << llvm::toString(quantized.takeError());

  // The codes and scales go where the float weight is defined, so that
  // every matmul reading it can read them.
  OpBuilder b(op);
  if (Operation *floatWeight = op.getRhs().getDefiningOp();
      floatWeight && floatWeight->getBlock() == op->getBlock())
    b.setInsertionPointAfter(floatWeight);
  Location loc = op.getLoc();
  Location weightLoc =
      name.empty() ? op.getRhs().getLoc() : NameLoc::get(b.getStringAttr(name));
  const QuantScheme &scheme = config.scheme;
  auto quantType = QuantType::get(
      b.getContext(), scheme.storageKind, scheme.bits, config.scaleType,
      scheme.granularity, scheme.axis, scheme.groupSize, scheme.symmetric);
  auto quantTensorType = weightType.clone(quantType);

  SmallVector<int8_t> bytes;
  bytes.reserve(quantized->codes.size());
  for (int64_t code : quantized->codes)
    bytes.push_back(static_cast<int8_t>(code));
  Value codes = createCodeConstant(
      b, weightLoc, weightType.clone(b.getI8Type()), ArrayRef<int8_t>(bytes));
  Value weight = StorageCastOp::create(b, weightLoc, quantTensorType, codes);

  // The scales are already rounded to the scale type: float holds them.
  SmallVector<float> scales(quantized->scales.begin(), quantized->scales.end());
  auto [weightScale, weightZeroPoint] = createQuantParamConstants(
      b, loc, quantType, weightType.getShape(), scales, quantized->zeroPoints);

  QuantizedRhs rhs{weight, weightScale, weightZeroPoint};
  quantizedForms[cacheKey] = rhs;
  if (failed(replaceMatmul(rhs)))
    return failure();

  if (quantized->degenerateBlocks > 0)
    emitRemark(loc) << "layer '" << layer
                    << "': " << quantized->degenerateBlocks
                    << " all-zero blocks use the fallback scale 1";
  if (report || !reportFile.empty()) {
    llvm::Expected<StorageCost> cost =
        computeStorageCost(scheme, weightType.getShape());
    double sqnr = quantized->noise > 0
                      ? 10.0 * std::log10(quantized->signal / quantized->noise)
                      : INFINITY;
    std::optional<double> bits;
    if (cost)
      bits = cost->bitsPerElement;
    else
      llvm::consumeError(cost.takeError());
    std::string schemeText;
    llvm::raw_string_ostream(schemeText) << quantType;
    if (report) {
      auto remark = emitRemark(loc);
      remark << "layer '" << layer << "': '" << schemeText << "', weight SQNR "
             << formatNumber(std::round(sqnr * 100) / 100) << " dB";
      if (bits)
        remark << ", " << formatNumber(*bits) << " bits per weight";
      if (outputErrors)
        remark << ", output error " << formatNumber(outputErrors->second)
               << " (rounding to nearest: " << formatNumber(outputErrors->first)
               << ")";
      if (floatChannels)
        remark << ", " << *floatChannels << " input channels in float";
    }
    layers.push_back(
        {layer.str(), schemeText, sqnr, bits, outputErrors, floatChannels});
  }
  return success();
}

/// QEP's target for the weight `values` of `op`, from the statistics of
/// its input; null after an error.
FailureOr<std::vector<float>> LatticeQuantizePass::getQEPTarget(
    MatmulOp op, StringRef layer, const LayerConfig &config,
    ArrayRef<float> values, int64_t n, int64_t k) const {
  llvm::Expected<ProbeStatistics> probe =
      statistics->get(getInputProbeName(layer), k, ProbeFields::Cross);
  if (!probe)
    return op.emitError() << "layer '" << layer
                          << "': " << llvm::toString(probe.takeError());
  double damp = config.damp;
  llvm::Expected<std::vector<float>> target =
      computeQEPTarget(values, n, k, probe->xtx, probe->cross, qepAlpha, damp);
  if (!target)
    return op.emitError() << "layer '" << layer
                          << "': " << llvm::toString(target.takeError());
  if (damp > config.damp)
    op.emitWarning() << "layer '" << layer
                     << "': the X^T X of the partly quantized model's input "
                        "plus the dampening is not positive definite; QEP's "
                        "dampening raised to "
                     << formatNumber(damp);
  if (report) {
    double moved = 0, norm = 0;
    for (auto [w, t] : llvm::zip_equal(values, *target)) {
      moved += (double(t) - double(w)) * (double(t) - double(w));
      norm += double(w) * double(w);
    }
    op.emitRemark() << "layer '" << layer << "': QEP moved the weight by "
                    << formatNumber(norm > 0 ? std::sqrt(moved / norm) : 0)
                    << " of its norm";
  }
  return std::move(*target);
}

/// Quantizes the weight of `op` with GPTQ, H from the X^T X of its input's
/// statistics; `errors` gets the relative output errors of rounding to
/// nearest and of GPTQ.
llvm::Expected<QuantizedWeight> LatticeQuantizePass::quantizeWeightGPTQ(
    MatmulOp op, StringRef layer, const LayerConfig &config,
    ArrayRef<float> values, int64_t n, int64_t k,
    std::optional<std::pair<double, double>> &errors) const {
  if (!statistics)
    return llvm::createStringError(
        "method=gptq needs stats=<file> with the X^T X of the layer's input");
  llvm::Expected<ProbeStatistics> probe =
      statistics->get(getInputProbeName(layer), k, ProbeFields::XtX);
  if (!probe)
    return probe.takeError();
  // QEP's statistics are those of the model as it is; others were
  // gathered before SmoothQuant or AWQ rescaled the input.
  if (!qep)
    rescaleStatistics(op, *probe);
  GPTQOptions options;
  options.damp = config.damp;
  options.actOrder = config.actOrder;
  options.blockSize = config.blockSize;
  llvm::Expected<GPTQResult> result =
      quantizeGPTQ(config.scheme, values, n, k, probe->xtx, options,
                   [&](ArrayRef<float> block) {
                     return chooseBlockParams(config.scheme, config.clip,
                                              config.percentile, block);
                   });
  if (!result)
    return result.takeError();
  if (result->damp > config.damp)
    op.emitWarning() << "layer '" << layer
                     << "': X^T X plus the dampening is not positive "
                        "definite; dampening raised to "
                     << formatNumber(result->damp);
  if (result->deadChannels > 0)
    op.emitWarning() << "layer '" << layer << "': " << result->deadChannels
                     << " of " << k
                     << " input channels are zero on every calibration row; "
                        "their weights are set to zero";
  QuantizedWeight quantized;
  quantized.codes = std::move(result->codes);
  quantized.scales = std::move(result->scales);
  quantized.zeroPoints = std::move(result->zeroPoints);
  quantized.degenerateBlocks = result->degenerateBlocks;
  BlockIndexer blocks(config.scheme, {n, k});
  for (auto [index, x] : llvm::enumerate(values)) {
    int64_t block = blocks.getBlock(index);
    float q = dequantizeValue(
        quantized.codes[index], float(quantized.scales[block]),
        quantized.zeroPoints.empty() ? 0 : quantized.zeroPoints[block]);
    double diff = double(x) - double(q);
    quantized.signal += double(x) * double(x);
    quantized.noise += diff * diff;
  }
  double energy = result->outputEnergy;
  if (energy > 0)
    errors = std::make_pair(result->roundingError / energy,
                            result->compensatedError / energy);
  return quantized;
}

/// Quantizes the lhs of `op`: statically per tensor, or dynamically per token
/// (one scale per row of the flattened [M, K] view: rank-1 inputs get one
/// scale, rank-2 inputs a scale per row). Returns null after an error.
Value LatticeQuantizePass::quantizeActivations(OpBuilder &b, MatmulOp op,
                                               const LayerConfig &config,
                                               Value &scale) const {
  if (config.activations == ActivationMode::Static)
    return quantizeActivationsStatically(b, op, config, scale);
  RankedTensorType lhsType = op.getLhs().getType();
  Location loc = op.getLoc();
  if (lhsType.getRank() > 2) {
    op.emitError() << "dynamic activation quantization of a rank-"
                   << lhsType.getRank()
                   << " lhs is not supported yet; flatten it to [M, K]";
    return {};
  }
  FloatType f32 = b.getF32Type();
  QuantType quantType =
      lhsType.getRank() == 2
          ? QuantType::get(b.getContext(), StorageKind::Signed,
                           config.activationBits, f32, Granularity::PerChannel,
                           /*axis=*/0, /*groupSize=*/0, /*symmetric=*/true)
          : QuantType::get(StorageKind::Signed, config.activationBits, f32);
  auto resultType = lhsType.clone(quantType);
  auto scaleType =
      RankedTensorType::get(quantType.getScaleShape(lhsType.getShape()), f32);
  auto quantize =
      DynamicQuantizeOp::create(b, loc, TypeRange{resultType, scaleType},
                                op.getLhs(), RoundingMode::NearestEven);
  scale = quantize.getScale();
  return quantize.getResult();
}

/// Quantizes the lhs of `op` per tensor with a constant scale from the
/// layer's input statistics. Returns null after an error.
Value LatticeQuantizePass::quantizeActivationsStatically(
    OpBuilder &b, MatmulOp op, const LayerConfig &config, Value &scale) const {
  std::string layer = getLayerName(op);
  // The range that SmoothQuant computed for a smoothed input covers the
  // whole of it: the scale of the 100th percentile.
  std::optional<double> range;
  if (auto absmax = op->getAttrOfType<FloatAttr>(kInputAbsMaxAttrName)) {
    if (config.activationPercentile == 100.0)
      range = absmax.getValueAsDouble();
    op->removeAttr(kInputAbsMaxAttrName);
  }
  if (!range && !statistics) {
    op.emitError() << "layer '" << layer
                   << "': activations=static needs statistics; pass "
                      "stats=<file> (written by lattice.calibrate)";
    return {};
  }
  if (!range && layer.empty()) {
    op.emitError("activations=static needs a layer name to find the "
                 "statistics of the matmul's input");
    return {};
  }
  if (!range) {
    llvm::Expected<ProbeStatistics> probe =
        statistics->get(getInputProbeName(layer), std::nullopt);
    if (!probe) {
      op.emitError() << "layer '" << layer
                     << "': " << llvm::toString(probe.takeError());
      return {};
    }
    range = probe->getAbsPercentile(config.activationPercentile);
  }
  FloatType f32 = b.getF32Type();
  auto quantType =
      QuantType::get(StorageKind::Signed, config.activationBits, f32);
  llvm::Expected<QuantParams> params =
      computeQuantParams(quantType.getScheme(), -*range, *range);
  if (!params) {
    op.emitError() << "layer '" << layer
                   << "': " << llvm::toString(params.takeError());
    return {};
  }
  RankedTensorType lhsType = op.getLhs().getType();
  Location loc = op.getLoc();
  scale = createQuantParamConstants(b, loc, quantType, lhsType.getShape(),
                                    {float(params->scale)}, {})
              .first;
  return QuantizeOp::create(b, loc, lhsType.clone(quantType), op.getLhs(),
                            scale, Value(), RoundingMode::NearestEven);
}
