//===- PrecisionAssignment.h - Schemes per layer under a budget -*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Mixed-precision assignment: each layer takes one of its candidate schemes,
// each with a storage cost in bits and a measured error, so that the summed
// cost stays within a budget and the model's error is least. Two solvers:
//
// - assignPrecisionExact, for an additive error (the model's error taken as
//   the sum of what each layer's scheme alone costs it): the multiple-choice
//   knapsack, solved by dynamic programming over the budget.
// - assignPrecisionAnnealed, for any error of the whole assignment: parallel
//   quasi-quantum annealing (Ichikawa and Arai, 2025) on relaxed choices, one
//   probability per layer and candidate, with an entropy term whose weight
//   goes from negative (spread the choices) to positive (commit to one) and a
//   term that keeps the parallel solutions apart.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_QUANT_PRECISIONASSIGNMENT_H
#define LATTICE_QUANT_PRECISIONASSIGNMENT_H

#include "lattice/Quant/QuantMath.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::lattice {
/// A candidate scheme of a layer's [N, K] weight, as sensitivity and
/// recipe files spell it: "<bits>/g<size>" (symmetric codes of 2 to 8 bits
/// in groups of <size> along K, f16 scales, as the w4a16 recipes store
/// them), "<bits>/channel" (one f32 scale per output channel, as w8a16) or
/// "float" (kept in f32).
struct PrecisionCandidate {
  std::string name;
  bool keepFloat = false;
  /// The settings of lattice-quantize that give the scheme (its
  /// `lattice.quantize` overrides): weight bits, granularity, group size,
  /// scale type.
  std::string weightBits, granularity, scaleType;
  int64_t groupSize = 0;
  QuantScheme scheme;
};

/// Parses a candidate; the message says what is expected.
llvm::Expected<PrecisionCandidate>
parsePrecisionCandidate(llvm::StringRef text);

/// The bits that an [N, K] weight takes under `candidate` (codes, scales and
/// zero points; 32 a weight in float): ceil(K / g) scales a row for groups
/// of g.
llvm::Expected<int64_t> getCandidateBits(const PrecisionCandidate &candidate,
                                         int64_t n, int64_t k);

/// The candidates that lattice-compile measures by default: 2, 3 and 4 bits
/// in groups of 32, 3 and 4 bits in groups of 128, 8 bits per channel.
llvm::ArrayRef<llvm::StringLiteral> getDefaultPrecisionCandidates();

/// The errors of the candidate schemes of each layer, as lattice-compile
/// measures them (docs/MixedPrecision.md): a JSON file.
struct SensitivityFile {
  /// What an error is (for readers), and the calibration samples it was
  /// measured on.
  std::string metric;
  int64_t samples = 0;
  std::vector<std::string> candidates;
  struct Layer {
    std::string name;
    /// Per candidate, in the order of `candidates`; NaN where the layer
    /// cannot take it.
    std::vector<double> errors;
  };
  std::vector<Layer> layers;
};

/// Reads a sensitivity file; every problem is an error naming the file, the
/// key and the value.
llvm::Expected<SensitivityFile> readSensitivityFile(llvm::StringRef path);

/// Writes `file` to `path`.
llvm::Error writeSensitivityFile(llvm::StringRef path,
                                 const SensitivityFile &file);

/// One candidate of one layer: what it costs to store (codes, scales and
/// zero points, in bits) and the error it brings.
struct PrecisionOption {
  double bits = 0;
  double error = 0;
};

/// A layer and its candidates (at least one).
struct PrecisionLayer {
  std::string name;
  std::vector<PrecisionOption> options;
};

/// The cheapest assignment's cost in bits: the smallest feasible budget.
double getSmallestBudget(llvm::ArrayRef<PrecisionLayer> layers);

/// The dearest assignment's cost in bits: a larger budget changes nothing.
double getLargestBudget(llvm::ArrayRef<PrecisionLayer> layers);

/// The summed bits and error of `choice` (an option index per layer).
PrecisionOption evaluateAssignment(llvm::ArrayRef<PrecisionLayer> layers,
                                   llvm::ArrayRef<unsigned> choice);

/// Fails with a message when `layers` cannot be assigned within
/// `budgetBits`: no layers, a layer without options (or more than 255), a
/// cost or error that is negative or not finite, a budget that is NaN or
/// below getSmallestBudget (which the message gives). Budgets above
/// getLargestBudget, infinite ones included, act as that budget.
llvm::Error checkAssignmentProblem(llvm::ArrayRef<PrecisionLayer> layers,
                                   double budgetBits);

/// The assignment of least summed error whose summed bits are at most
/// `budgetBits`, by dynamic programming over the budget. Costs are counted
/// above each layer's cheapest option, in units of their greatest common
/// divisor (whole bits; a bit when they are fractions). The result is
/// optimal when the budget's slack over the cheapest assignment holds at
/// most `maxUnits` units; beyond, the unit is a multiple of that divisor,
/// costs are rounded up to it, and the result still fits the budget but
/// may not be optimal. Ties go to the cheaper assignment. Memory: a byte
/// per layer and unit.
llvm::Expected<std::vector<unsigned>>
assignPrecisionExact(llvm::ArrayRef<PrecisionLayer> layers, double budgetBits,
                     int64_t maxUnits = 1 << 20);

/// The settings of assignPrecisionAnnealed.
struct AnnealingOptions {
  /// Relaxed solutions optimized together, and gradient steps.
  unsigned parallel = 64;
  unsigned steps = 2000;
  /// Adam's step size on the choices' logits.
  double learningRate = 0.1;
  /// The entropy term's weight goes linearly from `gammaMin` to `gammaMax`.
  double gammaMin = -2.0, gammaMax = 0.5;
  /// Weight of the diversity term (the spread of the parallel solutions).
  double diversity = 0.3;
  /// Weight of the penalty on bits over the budget (relative to the
  /// objective's scale at the cheapest assignment).
  double penalty = 10.0;
  uint64_t seed = 0;
};

/// The error of a relaxed assignment: `probability[l][c]` is the weight of
/// option c of layer l (each layer's sum is 1). Returns the error and adds
/// its derivative by each probability to `gradient`, of the same shape.
using RelaxedObjective = llvm::function_ref<double(
    llvm::ArrayRef<std::vector<double>> probability,
    llvm::MutableArrayRef<std::vector<double>> gradient)>;

/// The error of a discrete assignment (an option index per layer).
using DiscreteObjective =
    llvm::function_ref<double(llvm::ArrayRef<unsigned> choice)>;

/// An assignment within `budgetBits` that minimizes `discrete` (whose
/// relaxation is `relaxed`), by parallel quasi-quantum annealing. Each step
/// rounds every parallel solution to its most probable options, repairs one
/// over the budget by moving layers to cheaper options (least error added
/// per bit saved first), and keeps the best. Not guaranteed optimal; the
/// cheapest assignment is the fallback, so a result always fits.
llvm::Expected<std::vector<unsigned>>
assignPrecisionAnnealed(llvm::ArrayRef<PrecisionLayer> layers,
                        double budgetBits, RelaxedObjective relaxed,
                        DiscreteObjective discrete,
                        const AnnealingOptions &options = {});

/// The additive objective of `layers` (the sum of each chosen option's
/// error) for assignPrecisionAnnealed.
llvm::Expected<std::vector<unsigned>>
assignPrecisionAnnealed(llvm::ArrayRef<PrecisionLayer> layers,
                        double budgetBits,
                        const AnnealingOptions &options = {});
} // namespace mlir::lattice

#endif // LATTICE_QUANT_PRECISIONASSIGNMENT_H
