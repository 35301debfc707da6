//===- AssignPrecision.cpp - Weight schemes per layer under a budget ------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Mixed-precision assignment from measured sensitivities: each weight layer
// takes the candidate scheme that the knapsack (or the annealer) picks, as
// entries of its lattice.quantize dictionary.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/PrecisionAssignment.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include <cmath>
#include <memory>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEASSIGNPRECISIONPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
/// A layer to assign: its op, weights and the candidates it can take.
struct Candidates {
  MatmulOp op;
  int64_t weights = 0;
  /// Indices into the file's candidates, parallel to `layer.options`.
  SmallVector<unsigned> offered;
  PrecisionLayer layer;
};

struct LatticeAssignPrecisionPass final
    : lattice::impl::LatticeAssignPrecisionPassBase<
          LatticeAssignPrecisionPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    auto error = [&]() {
      return emitError(UnknownLoc::get(context))
             << "lattice-assign-precision: ";
    };
    if (sensitivity.empty())
      return error() << "needs sensitivity=<file> (lattice-compile measures "
                        "it for the mixed recipe)";
    if (!(budget > 0) || !std::isfinite(budget))
      return error() << "budget must be a positive number of bits per "
                        "weight, got "
                     << formatNumber(budget);
    if (solver != "exact" && solver != "annealing")
      return error() << "unknown solver '" << solver
                     << "' (expected exact or annealing)";
    llvm::Expected<SensitivityFile> read = readSensitivityFile(sensitivity);
    if (!read)
      return error() << llvm::toString(read.takeError());
    file = std::make_shared<SensitivityFile>(std::move(*read));
    for (const std::string &name : file->candidates) {
      llvm::Expected<PrecisionCandidate> candidate =
          parsePrecisionCandidate(name);
      if (!candidate) // The reader checked them.
        return error() << llvm::toString(candidate.takeError());
      candidates.push_back(std::move(*candidate));
    }
    return success();
  }

  void runOnOperation() override;

private:
  FailureOr<SmallVector<Candidates>> collectLayers();
  LogicalResult writeReport(ArrayRef<Candidates> layers,
                            ArrayRef<unsigned> choice, int64_t weights);

  std::shared_ptr<const SensitivityFile> file;
  SmallVector<PrecisionCandidate> candidates;
};
} // namespace

/// Whether the recipe (a recipe file's keep_float) already keeps `op` in
/// float.
static bool isSkipped(MatmulOp op) {
  auto overrides =
      op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName);
  return overrides && overrides.get("skip");
}

FailureOr<SmallVector<Candidates>> LatticeAssignPrecisionPass::collectLayers() {
  llvm::StringMap<const SensitivityFile::Layer *> measured;
  for (const SensitivityFile::Layer &layer : file->layers)
    measured[layer.name] = &layer;
  llvm::StringSet<> seen;
  SmallVector<Candidates> layers;
  WalkResult walk = getOperation().walk([&](MatmulOp op) {
    if (!hasFloatWeight(op))
      return WalkResult::advance();
    std::string name = getLayerName(op);
    if (isSkipped(op)) {
      seen.insert(name);
      return WalkResult::advance();
    }
    if (name.empty()) {
      op.emitError() << "lattice-assign-precision: a weight layer without a "
                        "name cannot be looked up in the sensitivity file";
      return WalkResult::interrupt();
    }
    const SensitivityFile::Layer *errors = measured.lookup(name);
    if (!errors) {
      op.emitError() << "lattice-assign-precision: layer '" << name
                     << "' has no measurement in sensitivity file '"
                     << sensitivity << "'";
      return WalkResult::interrupt();
    }
    seen.insert(name);
    int64_t n = op.getRhs().getType().getDimSize(0),
            k = op.getRhs().getType().getDimSize(1);
    Candidates layer{op, n * k, {}, PrecisionLayer{name, {}}};
    for (auto [index, candidate] : llvm::enumerate(candidates)) {
      llvm::Expected<int64_t> bits = getCandidateBits(candidate, n, k);
      if (!bits) {
        llvm::consumeError(bits.takeError());
        continue;
      }
      double error = errors->errors[index];
      if (std::isnan(error))
        continue;
      layer.offered.push_back(unsigned(index));
      layer.layer.options.push_back({double(*bits), error});
    }
    if (layer.offered.empty()) {
      op.emitError() << "lattice-assign-precision: layer '" << name << "' ("
                     << n << " x " << k
                     << ") can take none of the measured candidates";
      return WalkResult::interrupt();
    }
    layers.push_back(std::move(layer));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  for (const SensitivityFile::Layer &layer : file->layers)
    if (!seen.contains(layer.name))
      getOperation().emitWarning()
          << "lattice-assign-precision: sensitivity file '" << sensitivity
          << "' measures layer '" << layer.name
          << "', which the module does not have";
  return layers;
}

void LatticeAssignPrecisionPass::runOnOperation() {
  FailureOr<SmallVector<Candidates>> collected = collectLayers();
  if (failed(collected))
    return signalPassFailure();
  SmallVector<Candidates> &layers = *collected;
  if (layers.empty()) {
    getOperation().emitWarning()
        << "lattice-assign-precision: no float weight layer to assign";
    return;
  }
  std::vector<PrecisionLayer> problem;
  int64_t weights = 0;
  for (const Candidates &layer : layers) {
    problem.push_back(layer.layer);
    weights += layer.weights;
  }
  double smallest = getSmallestBudget(problem) / double(weights);
  if (budget < smallest) {
    getOperation().emitError()
        << "lattice-assign-precision: a budget of " << formatNumber(budget)
        << " bits per weight is below the smallest feasible one, "
        << llvm::formatv("{0:f4}", smallest)
        << " bits per weight (every layer at its cheapest candidate)";
    return signalPassFailure();
  }
  // The budget's bits, down to a whole number: costs are whole bits.
  double budgetBits = std::floor(budget * double(weights));
  llvm::Expected<std::vector<unsigned>> choice =
      solver == "exact" ? assignPrecisionExact(problem, budgetBits)
                        : assignPrecisionAnnealed(problem, budgetBits);
  if (!choice) {
    getOperation().emitError()
        << "lattice-assign-precision: " << llvm::toString(choice.takeError());
    return signalPassFailure();
  }
  Builder b(&getContext());
  for (auto [layer, option] : llvm::zip_equal(layers, *choice)) {
    const PrecisionCandidate &candidate = candidates[layer.offered[option]];
    NamedAttrList entries;
    if (auto existing =
            layer.op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName))
      entries.assign(existing.getValue());
    if (candidate.keepFloat) {
      entries.set("skip", b.getUnitAttr());
    } else {
      entries.set("weight_bits", b.getStringAttr(candidate.weightBits));
      entries.set("granularity", b.getStringAttr(candidate.granularity));
      entries.set("scale_type", b.getStringAttr(candidate.scaleType));
      if (candidate.granularity == "group")
        entries.set("group_size", b.getI64IntegerAttr(candidate.groupSize));
      else
        entries.erase("group_size");
    }
    layer.op->setAttr(kQuantizeOverridesAttrName,
                      entries.getDictionary(&getContext()));
    const PrecisionOption &chosen = layer.layer.options[option];
    layer.op.emitRemark() << "layer '" << layer.layer.name
                          << "': " << candidate.name << ", "
                          << llvm::formatv("{0:f3}",
                                           chosen.bits / double(layer.weights))
                          << " bits per weight, error "
                          << formatNumber(chosen.error);
  }
  if (!report.empty() && failed(writeReport(layers, *choice, weights)))
    return signalPassFailure();
}

LogicalResult LatticeAssignPrecisionPass::writeReport(
    ArrayRef<Candidates> layers, ArrayRef<unsigned> choice, int64_t weights) {
  llvm::json::Array entries;
  double bits = 0, error = 0, smallest = 0;
  for (auto [layer, option] : llvm::zip_equal(layers, choice)) {
    double perWeight = 1.0 / double(layer.weights);
    llvm::json::Array offered;
    for (auto [index, measured] :
         llvm::zip_equal(layer.offered, layer.layer.options))
      offered.push_back(
          llvm::json::Object{{"scheme", candidates[index].name},
                             {"bits_per_weight", measured.bits * perWeight},
                             {"error", measured.error}});
    const PrecisionOption &chosen = layer.layer.options[option];
    bits += chosen.bits;
    error += chosen.error;
    entries.push_back(
        llvm::json::Object{{"name", layer.layer.name},
                           {"weights", layer.weights},
                           {"scheme", candidates[layer.offered[option]].name},
                           {"bits_per_weight", chosen.bits * perWeight},
                           {"error", chosen.error},
                           {"candidates", std::move(offered)}});
  }
  std::vector<PrecisionLayer> problem;
  for (const Candidates &layer : layers)
    problem.push_back(layer.layer);
  smallest = getSmallestBudget(problem);
  llvm::json::Object root{
      {"version", 1},
      {"solver", std::string(solver)},
      {"metric", file->metric},
      {"samples", file->samples},
      {"budget_bits_per_weight", double(budget)},
      {"bits_per_weight", bits / double(weights)},
      {"smallest_bits_per_weight", smallest / double(weights)},
      {"weights", weights},
      {"error", error},
      {"layers", std::move(entries)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(report, ec, llvm::sys::fs::OF_Text);
  if (!ec) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
    os.close();
    if (os.has_error())
      ec = os.error();
  }
  if (ec)
    return getOperation().emitError()
           << "lattice-assign-precision: cannot write '" << report
           << "': " << ec.message();
  return success();
}
