//===- PrecisionAssignmentTest.cpp - Tests of the precision solvers -------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Both solvers against brute force on small random instances, and the
// problems they must refuse.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/PrecisionAssignment.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "gtest/gtest.h"
#include <cmath>
#include <limits>
#include <random>

using namespace mlir::lattice;

namespace {
/// A random instance: layers of 64 to 4096 weights, each with candidates at
/// 2, 3, 4 and 8 bits (plus 16/32 bits of scale per group of 32 or 128),
/// and errors that fall with the bits, scaled per layer.
std::vector<PrecisionLayer> randomLayers(std::mt19937_64 &random,
                                         unsigned numLayers) {
  std::uniform_int_distribution<int> size(1, 64);
  std::uniform_real_distribution<double> gain(0.01, 10.0), jitter(0.5, 1.5);
  std::vector<PrecisionLayer> layers(numLayers);
  for (auto [l, layer] : llvm::enumerate(layers)) {
    layer.name = "layer" + std::to_string(l);
    double weights = 64.0 * size(random);
    double sensitivity = gain(random);
    for (int bits : {2, 3, 4, 8}) {
      double perWeight = bits + 16.0 / (bits == 8 ? 128 : 32);
      layer.options.push_back(
          {weights * perWeight,
           sensitivity * std::pow(4.0, -bits) * jitter(random)});
    }
  }
  return layers;
}

/// The least error within `budget`, by trying every assignment.
double bruteForce(const std::vector<PrecisionLayer> &layers, double budget) {
  std::vector<unsigned> choice(layers.size(), 0);
  double best = INFINITY;
  for (;;) {
    PrecisionOption total = evaluateAssignment(layers, choice);
    if (total.bits <= budget)
      best = std::min(best, total.error);
    size_t l = 0;
    while (l < layers.size() && ++choice[l] == layers[l].options.size())
      choice[l++] = 0;
    if (l == layers.size())
      return best;
  }
}

TEST(PrecisionAssignment, ExactMatchesBruteForce) {
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<PrecisionLayer> layers = randomLayers(random, 2 + trial % 5);
    double smallest = getSmallestBudget(layers);
    double largest = 0;
    for (const PrecisionLayer &layer : layers)
      largest += layer.options.back().bits;
    double budget = smallest + (largest - smallest) * (trial % 10) / 9.0;
    auto choice = assignPrecisionExact(layers, budget);
    ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
    PrecisionOption total = evaluateAssignment(layers, *choice);
    EXPECT_LE(total.bits, budget);
    EXPECT_NEAR(total.error, bruteForce(layers, budget), 1e-12 * total.error);
  }
}

TEST(PrecisionAssignment, CoarseUnitsStayWithinTheBudget) {
  // With fewer units than the budget has bits the costs round up: the
  // result still fits, and is close to the optimum.
  std::mt19937_64 random(11);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<PrecisionLayer> layers = randomLayers(random, 6);
    double budget = getSmallestBudget(layers) * 1.6;
    auto choice = assignPrecisionExact(layers, budget, /*maxUnits=*/64);
    ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
    PrecisionOption total = evaluateAssignment(layers, *choice);
    EXPECT_LE(total.bits, budget);
    EXPECT_LE(total.error, 2 * bruteForce(layers, budget));
  }
}

TEST(PrecisionAssignment, AnnealingFindsTheOptimum) {
  std::mt19937_64 random(3);
  int optimal = 0, trials = 20;
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<PrecisionLayer> layers = randomLayers(random, 5);
    double budget = getSmallestBudget(layers) * (1.2 + 0.05 * trial);
    AnnealingOptions options;
    options.steps = 400;
    options.parallel = 16;
    options.seed = trial;
    auto choice = assignPrecisionAnnealed(layers, budget, options);
    ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
    PrecisionOption total = evaluateAssignment(layers, *choice);
    EXPECT_LE(total.bits, budget);
    double best = bruteForce(layers, budget);
    EXPECT_LE(total.error, 1.5 * best);
    optimal += total.error <= best * (1 + 1e-12);
  }
  EXPECT_GE(optimal, trials * 8 / 10);
}

TEST(PrecisionAssignment, AnnealingTakesAnyObjective) {
  // Not additive: the error is the largest of the layers' errors, which the
  // knapsack cannot express. Brute force over the same objective.
  std::mt19937_64 random(5);
  std::vector<PrecisionLayer> layers = randomLayers(random, 5);
  double budget = getSmallestBudget(layers) * 1.5;
  auto maxError = [&](llvm::ArrayRef<unsigned> choice) {
    double worst = 0;
    for (auto [l, k] : llvm::enumerate(choice))
      worst = std::max(worst, layers[l].options[k].error);
    return worst;
  };
  // A smooth stand-in for the maximum: the 8-norm of the expected errors.
  auto relaxed = [&](llvm::ArrayRef<std::vector<double>> p,
                     llvm::MutableArrayRef<std::vector<double>> gradient) {
    std::vector<double> expected(layers.size(), 0);
    double sum = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      for (size_t c = 0; c < p[l].size(); ++c)
        expected[l] += p[l][c] * layers[l].options[c].error;
      sum += std::pow(expected[l], 8);
    }
    double norm = std::pow(sum, 1.0 / 8);
    for (size_t l = 0; l < layers.size(); ++l)
      for (size_t c = 0; c < p[l].size(); ++c)
        gradient[l][c] +=
            std::pow(expected[l] / norm, 7) * layers[l].options[c].error;
    return norm;
  };
  AnnealingOptions options;
  options.steps = 500;
  options.parallel = 16;
  auto choice =
      assignPrecisionAnnealed(layers, budget, relaxed, maxError, options);
  ASSERT_TRUE(bool(choice)) << llvm::toString(choice.takeError());
  EXPECT_LE(evaluateAssignment(layers, *choice).bits, budget);
  std::vector<unsigned> all(layers.size(), 0);
  double best = INFINITY;
  for (;;) {
    if (evaluateAssignment(layers, all).bits <= budget)
      best = std::min(best, maxError(all));
    size_t l = 0;
    while (l < layers.size() && ++all[l] == layers[l].options.size())
      all[l++] = 0;
    if (l == layers.size())
      break;
  }
  EXPECT_DOUBLE_EQ(maxError(*choice), best);
}

TEST(PrecisionAssignment, RefusesWhatCannotBeAssigned) {
  std::vector<PrecisionLayer> layers = {{"a", {{100, 1}, {200, 0.5}}},
                                        {"b", {{50, 2}}}};
  auto message = [](llvm::Expected<std::vector<unsigned>> result) {
    EXPECT_FALSE(bool(result));
    return result ? std::string() : llvm::toString(result.takeError());
  };
  EXPECT_EQ(message(assignPrecisionExact(layers, 149)),
            "a budget of 149 bits is below the smallest feasible one, 150 "
            "bits (every layer's cheapest candidate)");
  EXPECT_NE(message(assignPrecisionExact(layers, -1)).find("150 bits"),
            std::string::npos);
  EXPECT_NE(message(assignPrecisionAnnealed(layers, 0)).find("150 bits"),
            std::string::npos);
  EXPECT_EQ(message(assignPrecisionExact({}, 10)),
            "no layer to assign a precision to");
  std::vector<PrecisionLayer> empty = {{"c", {}}};
  EXPECT_EQ(message(assignPrecisionExact(empty, 10)),
            "layer 'c' has no candidate scheme");
  std::vector<PrecisionLayer> bad = {{"d", {{10, NAN}}}};
  EXPECT_NE(message(assignPrecisionExact(bad, 10)).find("not finite"),
            std::string::npos);
  // The smallest budget itself is feasible: every layer at its cheapest.
  auto fits = assignPrecisionExact(layers, 150);
  ASSERT_TRUE(bool(fits));
  EXPECT_EQ(*fits, (std::vector<unsigned>{0, 0}));
  auto roomy = assignPrecisionExact(layers, 250);
  ASSERT_TRUE(bool(roomy));
  EXPECT_EQ(*roomy, (std::vector<unsigned>{1, 0}));
  // Any budget above the dearest assignment, infinity included, buys it.
  for (double budget : {250.0, 1e300, double(INFINITY)}) {
    auto exact = assignPrecisionExact(layers, budget);
    ASSERT_TRUE(bool(exact));
    EXPECT_EQ(*exact, (std::vector<unsigned>{1, 0}));
    auto annealed = assignPrecisionAnnealed(layers, budget);
    ASSERT_TRUE(bool(annealed));
    EXPECT_EQ(*annealed, (std::vector<unsigned>{1, 0}));
  }
  EXPECT_EQ(message(assignPrecisionExact(layers, NAN)),
            "the budget is not a number");
}
} // namespace

namespace {
TEST(PrecisionAssignment, CandidatesAndTheirBits) {
  auto bits = [](llvm::StringRef text, int64_t n, int64_t k) -> int64_t {
    auto candidate = parsePrecisionCandidate(text);
    EXPECT_TRUE(bool(candidate));
    if (!candidate) {
      llvm::consumeError(candidate.takeError());
      return -1;
    }
    auto result = getCandidateBits(*candidate, n, k);
    if (!result) {
      llvm::consumeError(result.takeError());
      return -1;
    }
    return *result;
  };
  // 4.5 bits a weight: 4-bit codes and an f16 scale per 32.
  EXPECT_EQ(bits("4/g32", 128, 256), 128 * 256 * 4 + 128 * 8 * 16);
  EXPECT_EQ(bits("4/g128", 128, 256), 128 * 256 * 4 + 128 * 2 * 16);
  EXPECT_EQ(bits("2/g32", 128, 256), 128 * 256 * 2 + 128 * 8 * 16);
  EXPECT_EQ(bits("8/channel", 128, 256), 128 * 256 * 8 + 128 * 32);
  EXPECT_EQ(bits("float", 128, 256), 128 * 256 * 32);
  // A group that does not divide K: two scales a row, the second for the
  // last 16 weights, set by them alone.
  EXPECT_EQ(bits("4/g32", 128, 48), 128 * 48 * 4 + 128 * 2 * 16);
  auto g32 = parsePrecisionCandidate("4/g32");
  ASSERT_TRUE(bool(g32));
  std::vector<float> weight(128 * 48, 1.0f);
  for (int64_t r = 0; r < 128; ++r)
    for (int64_t j = 32; j < 48; ++j)
      weight[r * 48 + j] = 7.0f;
  auto ragged =
      quantizeWeight(g32->scheme, ClipMethod::MinMax, 0, weight, 128, 48);
  ASSERT_TRUE(bool(ragged)) << llvm::toString(ragged.takeError());
  ASSERT_EQ(ragged->scales.size(), 256u);
  EXPECT_NEAR(ragged->scales[0], 1.0 / 7.0, 1e-3); // f16
  EXPECT_EQ(ragged->scales[1], 1.0);
  EXPECT_EQ(ragged->codes[0], 7);
  EXPECT_EQ(ragged->codes[47], 7);
  auto misshapen =
      quantizeWeight(g32->scheme, ClipMethod::MinMax, 0, weight, 128, 64);
  ASSERT_FALSE(bool(misshapen));
  EXPECT_EQ(llvm::toString(misshapen.takeError()),
            "a weight of 6144 values is not 128 x 64");
  for (const char *bad : {"4", "1/g32", "9/channel", "4/g0", "4/x", "four/g32",
                          "4/g-32", "4/g99999999999", "", "Float"}) {
    auto candidate = parsePrecisionCandidate(bad);
    ASSERT_FALSE(bool(candidate)) << bad;
    EXPECT_EQ(llvm::toString(candidate.takeError()),
              "candidate '" + std::string(bad) +
                  "': expected <bits>/g<group size>, <bits>/channel or float");
  }
  for (llvm::StringRef name : getDefaultPrecisionCandidates())
    EXPECT_GT(bits(name, 64, 128), 0) << name.str();
}
} // namespace

namespace {
TEST(PrecisionAssignment, SensitivityFileRoundTrip) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("sensitivity", "json", path));
  SensitivityFile file;
  file.metric = "output noise-to-signal ratio";
  file.samples = 3;
  file.candidates = {"2/g32", "8/channel", "float"};
  file.layers = {{"a", {0.5, 0.001, 0}},
                 {"b", {std::numeric_limits<double>::quiet_NaN(), 2e-9, 0}}};
  ASSERT_FALSE(bool(writeSensitivityFile(path, file)));
  auto read = readSensitivityFile(path);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->metric, file.metric);
  EXPECT_EQ(read->samples, 3);
  EXPECT_EQ(read->candidates, file.candidates);
  ASSERT_EQ(read->layers.size(), 2u);
  EXPECT_EQ(read->layers[1].name, "b");
  // An error that was not measured stays so; the others come back exactly.
  EXPECT_TRUE(std::isnan(read->layers[1].errors[0]));
  EXPECT_EQ(read->layers[1].errors[1], 2e-9);
  EXPECT_EQ(read->layers[0].errors, file.layers[0].errors);
  llvm::sys::fs::remove(path);
}
} // namespace
