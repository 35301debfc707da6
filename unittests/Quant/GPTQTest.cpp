//===- GPTQTest.cpp - Tests of GPTQ -----------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The cases that do not need a reference implementation (those are in
// python/tests/test_gptq.py, against numpy): a diagonal X^T X couples no
// columns, so GPTQ rounds to nearest; the block size changes no code; and
// the invariants callers must keep.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/GPTQ.h"
#include "gtest/gtest.h"
#include <cmath>
#include <random>

using namespace mlir::lattice;

namespace {
QuantScheme perChannel4() {
  QuantScheme scheme;
  scheme.bits = 4;
  scheme.granularity = Granularity::PerChannel;
  scheme.axis = 0;
  return scheme;
}

/// Min-max parameters of a block.
llvm::Expected<QuantParams> minMax(const QuantScheme &scheme,
                                   llvm::ArrayRef<float> block) {
  auto [lo, hi] = std::minmax_element(block.begin(), block.end());
  QuantScheme one = scheme;
  one.granularity = Granularity::PerTensor;
  return computeQuantParams(one, *lo, *hi);
}
} // namespace

TEST(GPTQ, DiagonalHessianRoundsToNearest) {
  QuantScheme scheme = perChannel4();
  const int64_t n = 3, k = 5;
  std::vector<float> w = {0.3f,  -1.2f, 0.77f, 2.0f,  -0.1f, 1.0f, 0.5f, 0.25f,
                          -0.4f, 0.9f,  -3.0f, 0.01f, 0.6f,  1.7f, -2.2f};
  std::vector<float> h(k * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] = float(i + 1);
  auto choose = [&](llvm::ArrayRef<float> block) {
    return minMax(scheme, block);
  };
  llvm::Expected<GPTQResult> result =
      quantizeGPTQ(scheme, w, n, k, h, GPTQOptions(), choose);
  ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
  ASSERT_EQ(result->scales.size(), size_t(n));
  for (int64_t r = 0; r < n; ++r) {
    // Row r's scale is its absmax over 7; each code the rounded quotient.
    float absmax = 0;
    for (int64_t j = 0; j < k; ++j)
      absmax = std::max(absmax, std::fabs(w[r * k + j]));
    EXPECT_FLOAT_EQ(float(result->scales[r]), absmax / 7.0f);
    for (int64_t j = 0; j < k; ++j)
      EXPECT_EQ(
          result->codes[r * k + j],
          int64_t(std::nearbyint(w[r * k + j] / float(result->scales[r]))))
          << r << ", " << j;
  }
  EXPECT_DOUBLE_EQ(result->roundingError, result->compensatedError);
  EXPECT_EQ(result->damp, 0.01);
  EXPECT_EQ(result->deadChannels, 0);
}

/// The lazy batches only reorder the updates: every block size (1, ones
/// that do not divide K or a group, whole groups, more than K) gives the
/// codes and output error of one block of all columns, per channel and per
/// group, in storage order and with act-order.
TEST(GPTQ, BlockSizeChangesNoCode) {
  const int64_t n = 12, k = 96, rowsOfX = 200;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(n * k), x(rowsOfX * k), h(k * k, 0.0f);
  for (float &v : w)
    v = normal(rng);
  // Correlated inputs: each column leans on the one before it.
  for (int64_t r = 0; r < rowsOfX; ++r)
    for (int64_t j = 0; j < k; ++j)
      x[r * k + j] = normal(rng) * (1.0f + float(j % 7)) +
                     (j ? 0.8f * x[r * k + j - 1] : 0);
  for (int64_t r = 0; r < rowsOfX; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += x[r * k + i] * x[r * k + j];
  QuantScheme perGroup = perChannel4();
  perGroup.bits = 3;
  perGroup.granularity = Granularity::PerGroup;
  perGroup.axis = 1;
  perGroup.groupSize = 32;
  // Groups of 40 over K = 96: the last of each row has 16 columns.
  QuantScheme ragged = perGroup;
  ragged.groupSize = 40;
  for (const QuantScheme &scheme : {perChannel4(), perGroup, ragged})
    for (bool actOrder : {false, true}) {
      auto choose = [&](llvm::ArrayRef<float> block) {
        return minMax(scheme, block);
      };
      auto run = [&](int64_t blockSize) {
        GPTQOptions options;
        options.actOrder = actOrder;
        options.blockSize = blockSize;
        return quantizeGPTQ(scheme, w, n, k, h, options, choose);
      };
      llvm::Expected<GPTQResult> whole = run(k);
      ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
      EXPECT_LT(whole->compensatedError, whole->roundingError);
      for (int64_t blockSize : {1, 5, 32, 40, 128, 1000}) {
        SCOPED_TRACE(testing::Message()
                     << "granularity " << int(scheme.granularity)
                     << ", act-order " << actOrder << ", block " << blockSize);
        llvm::Expected<GPTQResult> blocked = run(blockSize);
        ASSERT_TRUE(bool(blocked)) << llvm::toString(blocked.takeError());
        EXPECT_EQ(blocked->codes, whole->codes);
        EXPECT_EQ(blocked->scales, whole->scales);
        EXPECT_NEAR(blocked->compensatedError, whole->compensatedError,
                    1e-9 * whole->compensatedError);
      }
    }
}

TEST(GPTQ, RejectsWhatCallersMustNotPass) {
  QuantScheme scheme = perChannel4();
  std::vector<float> w(4, 1.0f), h = {1, 0, 0, 1};
  auto choose = [&](llvm::ArrayRef<float> block) {
    return minMax(scheme, block);
  };
  auto message = [&](const QuantScheme &s, int64_t n, int64_t k, double damp) {
    GPTQOptions options;
    options.damp = damp;
    llvm::Expected<GPTQResult> result =
        quantizeGPTQ(s, w, n, k, h, options, choose);
    EXPECT_FALSE(bool(result));
    return result ? std::string() : llvm::toString(result.takeError());
  };
  EXPECT_EQ(message(scheme, 3, 2, 0.01),
            "GPTQ: the weight is not [3, 2] or X^T X not [2, 2]");
  QuantScheme binary = scheme;
  binary.storageKind = StorageKind::Binary;
  EXPECT_EQ(message(binary, 2, 2, 0.01),
            "GPTQ quantizes integer schemes (not binary or ternary)");
  EXPECT_EQ(message(scheme, 2, 2, 0.0),
            "GPTQ: dampening must be positive, got 0");
  GPTQOptions noBlock;
  noBlock.blockSize = 0;
  llvm::Expected<GPTQResult> result =
      quantizeGPTQ(scheme, w, 2, 2, h, noBlock, choose);
  ASSERT_FALSE(bool(result));
  EXPECT_EQ(llvm::toString(result.takeError()),
            "GPTQ: the block size must be positive, got 0");
}

TEST(QEP, TargetSolvesTheNormalEquations) {
  // At alpha = 1 (and a negligible dampening) W* = W C G^-1: W* G = W C.
  const int64_t n = 2, k = 3;
  std::vector<float> w = {1.0f, -0.5f, 0.25f, 0.3f, 0.9f, -1.0f};
  std::vector<float> g = {4.0f, 1.0f, 0.5f, 1.0f, 3.0f, 0.2f, 0.5f, 0.2f, 2.0f};
  std::vector<float> c = {4.5f, 0.8f, 0.4f, 1.2f, 2.5f, 0.1f, 0.3f, 0.6f, 2.2f};
  double damp = 1e-9;
  llvm::Expected<std::vector<float>> target =
      computeQEPTarget(w, n, k, g, c, 1.0, damp);
  ASSERT_TRUE(bool(target)) << llvm::toString(target.takeError());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < k; ++j) {
      double lhs = 0, rhs = 0;
      for (int64_t i = 0; i < k; ++i) {
        lhs += double((*target)[r * k + i]) * g[i * k + j];
        rhs += double(w[r * k + i]) * c[i * k + j];
      }
      EXPECT_NEAR(lhs, rhs, 1e-5) << "row " << r << ", column " << j;
    }
  // At alpha = 0 the weight stays.
  llvm::Expected<std::vector<float>> same =
      computeQEPTarget(w, n, k, g, c, 0.0, damp);
  ASSERT_TRUE(bool(same));
  EXPECT_EQ(*same, w);
}

TEST(QEP, RejectsBadStatistics) {
  std::vector<float> w = {1.0f, 2.0f};
  std::vector<float> g = {1.0f, 0.0f, 0.0f, 1.0f};
  double damp = 0.01;
  llvm::Expected<std::vector<float>> shape =
      computeQEPTarget(w, 1, 2, g, {1.0f}, 0.5, damp);
  ASSERT_FALSE(bool(shape));
  EXPECT_EQ(llvm::toString(shape.takeError()),
            "QEP: the statistics are not [k, k]");
  llvm::Expected<std::vector<float>> nan =
      computeQEPTarget(w, 1, 2, g, {1.0f, NAN, 0.0f, 1.0f}, 0.5, damp);
  ASSERT_FALSE(bool(nan));
  EXPECT_EQ(llvm::toString(nan.takeError()),
            "QEP: the statistics are not finite");
  // A negative diagonal that no dampening outgrows.
  std::vector<float> indefinite = {1.0f, 0.0f, 0.0f, -1e9f};
  llvm::Expected<std::vector<float>> hopeless =
      computeQEPTarget(w, 1, 2, indefinite, g, 0.5, damp);
  ASSERT_FALSE(bool(hopeless));
  EXPECT_NE(llvm::toString(hopeless.takeError())
                .find("QEP: X^ ^T X^ is not positive definite even with "
                      "dampening"),
            std::string::npos);
}
