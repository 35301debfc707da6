//===- QuantMathTest.cpp - Tests of the quantization math -----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every expected value below is computed by hand from the rules documented in
// QuantMath.h, not by calling the code under test.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/QuantMath.h"
#include "gtest/gtest.h"
#include <cmath>
#include <limits>
#include <random>

using namespace mlir::lattice;

/// A per-tensor scheme.
static QuantScheme
makeScheme(StorageKind kind, unsigned bits, bool symmetric = true,
           const llvm::fltSemantics &scale = llvm::APFloat::IEEEsingle()) {
  QuantScheme scheme;
  scheme.storageKind = kind;
  scheme.bits = bits;
  scheme.symmetric = symmetric;
  scheme.scaleSemantics = &scale;
  return scheme;
}

/// `scheme` in groups of `groupSize` along `axis`.
static QuantScheme grouped(QuantScheme scheme, int64_t axis,
                           int64_t groupSize) {
  scheme.granularity = Granularity::PerGroup;
  scheme.axis = axis;
  scheme.groupSize = groupSize;
  return scheme;
}

/// `scheme` with one scale per index of `axis`.
static QuantScheme perChannel(QuantScheme scheme, int64_t axis) {
  scheme.granularity = Granularity::PerChannel;
  scheme.axis = axis;
  return scheme;
}

/// Returns the error message of `value`, or "" on success.
template <typename T>
static std::string errorOf(llvm::Expected<T> value) {
  if (value)
    return "";
  return llvm::toString(value.takeError());
}

/// Packs `codes`, checks the bytes, and checks that unpacking gives the codes
/// back.
static void expectPacking(const QuantScheme &scheme,
                          const std::vector<int64_t> &codes,
                          const std::vector<uint8_t> &expected) {
  llvm::Expected<std::vector<uint8_t>> bytes = packCodes(scheme, codes);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  EXPECT_EQ(*bytes, expected);
  llvm::Expected<std::vector<int64_t>> unpacked =
      unpackCodes(scheme, *bytes, codes.size());
  ASSERT_TRUE(bool(unpacked)) << llvm::toString(unpacked.takeError());
  EXPECT_EQ(*unpacked, codes);
}

namespace {
const QuantScheme kS8 = makeScheme(StorageKind::Signed, 8);
const QuantScheme kU8Asym = makeScheme(StorageKind::Unsigned, 8, false);
const QuantScheme kS8Asym = makeScheme(StorageKind::Signed, 8, false);

//===----------------------------------------------------------------------===//
// Storage ranges and invariants
//===----------------------------------------------------------------------===//

TEST(QuantSchemeTest, StorageRanges) {
  struct Case {
    QuantScheme scheme;
    int64_t min, max;
    unsigned storageBits;
  } cases[] = {
      {kS8, -128, 127, 8},
      {makeScheme(StorageKind::Unsigned, 8), 0, 255, 8},
      {makeScheme(StorageKind::Signed, 4), -8, 7, 4},
      {makeScheme(StorageKind::Unsigned, 4), 0, 15, 4},
      {makeScheme(StorageKind::Signed, 3), -4, 3, 3},
      {makeScheme(StorageKind::Signed, 2), -2, 1, 2},
      {makeScheme(StorageKind::Unsigned, 1), 0, 1, 1},
      {makeScheme(StorageKind::Signed, 1, /*symmetric=*/false), -1, 0, 1},
      {makeScheme(StorageKind::Ternary, 2), -1, 1, 2},
      {makeScheme(StorageKind::Binary, 1), -1, 1, 1},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(c.scheme.getStorageMin(), c.min);
    EXPECT_EQ(c.scheme.getStorageMax(), c.max);
    EXPECT_EQ(c.scheme.getStorageBits(), c.storageBits);
    EXPECT_EQ(c.scheme.checkInvariants(), std::nullopt);
  }
}

TEST(QuantSchemeTest, MaxCodeMagnitude) {
  EXPECT_EQ(kS8.getMaxCodeMagnitude(), 128);
  EXPECT_EQ(kU8Asym.getMaxCodeMagnitude(), 255);
  EXPECT_EQ(makeScheme(StorageKind::Ternary, 2).getMaxCodeMagnitude(), 1);
  EXPECT_EQ(kS8.getSymmetricMaxCode(), 127);
  EXPECT_EQ(makeScheme(StorageKind::Unsigned, 4).getSymmetricMaxCode(), 15);
}

TEST(QuantSchemeTest, InvariantMessages) {
  EXPECT_EQ(makeScheme(StorageKind::Signed, 0).checkInvariants(),
            "storage width must be in [1, 8], got 0");
  EXPECT_EQ(makeScheme(StorageKind::Unsigned, 9).checkInvariants(),
            "storage width must be in [1, 8], got 9");
  EXPECT_EQ(makeScheme(StorageKind::Signed, 1).checkInvariants(),
            "symmetric signed storage needs at least 2 bits");
  EXPECT_EQ(makeScheme(StorageKind::Ternary, 2, false).checkInvariants(),
            "ternary storage must be symmetric");
  EXPECT_EQ(
      makeScheme(StorageKind::Signed, 8, true, llvm::APFloat::IEEEdouble())
          .checkInvariants(),
      "scale type must be f32, f16 or bf16");

  QuantScheme tensorWithAxis = kS8;
  tensorWithAxis.axis = 1;
  EXPECT_EQ(tensorWithAxis.checkInvariants(),
            "per-tensor scheme must not have an axis or a group size");
  QuantScheme channelWithGroup = perChannel(kS8, 0);
  channelWithGroup.groupSize = 4;
  EXPECT_EQ(channelWithGroup.checkInvariants(),
            "per-channel scheme must not have a group size");
  EXPECT_EQ(perChannel(kS8, -1).checkInvariants(),
            "quantized axis must be non-negative, got -1");
  EXPECT_EQ(grouped(kS8, 1, 0).checkInvariants(),
            "group size must be positive, got 0");
}

//===----------------------------------------------------------------------===//
// Rounding
//===----------------------------------------------------------------------===//

TEST(QuantMathTest, RoundHalfToEvenTies) {
  EXPECT_EQ(roundHalfToEven(0.5f), 0.0f);
  EXPECT_EQ(roundHalfToEven(1.5f), 2.0f);
  EXPECT_EQ(roundHalfToEven(2.5f), 2.0f);
  EXPECT_EQ(roundHalfToEven(3.5f), 4.0f);
  EXPECT_EQ(roundHalfToEven(-0.5f), 0.0f);
  EXPECT_TRUE(std::signbit(roundHalfToEven(-0.5f)));
  EXPECT_EQ(roundHalfToEven(-1.5f), -2.0f);
  EXPECT_EQ(roundHalfToEven(-2.5f), -2.0f);
  // Just off the tie.
  EXPECT_EQ(roundHalfToEven(2.4999998f), 2.0f);
  EXPECT_EQ(roundHalfToEven(2.5000002f), 3.0f);
  // Largest magnitudes with a fractional half: ulp is 0.5 in [2^22, 2^23).
  EXPECT_EQ(roundHalfToEven(4194304.5f), 4194304.0f);
  EXPECT_EQ(roundHalfToEven(8388607.5f), 8388608.0f);
  // Integral values and non-finite values pass through.
  EXPECT_EQ(roundHalfToEven(16777216.0f), 16777216.0f);
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(roundHalfToEven(inf), inf);
  EXPECT_TRUE(std::isnan(roundHalfToEven(std::nanf(""))));
}

TEST(QuantMathTest, RoundHalfToEvenMatchesTheDefaultRounding) {
  // As the default floating-point environment rounds (to nearest, ties to
  // even), sign of zero included: random floats of every magnitude below
  // 2^25, and every tie n + 1/2 of a range.
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uniform(-3.3e7f, 3.3e7f);
  auto check = [](float x) {
    float expected = std::nearbyint(x);
    float got = roundHalfToEven(x);
    return got == expected && std::signbit(got) == std::signbit(expected);
  };
  for (int i = 0; i < 200000; ++i) {
    float x = std::ldexp(uniform(rng), -(i % 26));
    ASSERT_TRUE(check(x)) << "x = " << x;
  }
  for (int n = -5000; n < 5000; ++n)
    ASSERT_TRUE(check(float(n) + 0.5f)) << "x = " << float(n) + 0.5f;
}

TEST(QuantMathTest, RoundNearestAway) {
  EXPECT_EQ(roundWithMode(2.5f, RoundingMode::NearestAway), 3.0f);
  EXPECT_EQ(roundWithMode(-2.5f, RoundingMode::NearestAway), -3.0f);
  EXPECT_EQ(roundWithMode(2.5f, RoundingMode::NearestEven), 2.0f);
}

//===----------------------------------------------------------------------===//
// Quantize / dequantize
//===----------------------------------------------------------------------===//

TEST(QuantMathTest, QuantizeRoundsTiesToEven) {
  // x / 0.5: 1.25 -> 2.5 -> 2; 1.75 -> 3.5 -> 4; -1.25 -> -2.5 -> -2.
  EXPECT_EQ(quantizeValue(kS8, 1.25f, 0.5f, 0), 2);
  EXPECT_EQ(quantizeValue(kS8, 1.75f, 0.5f, 0), 4);
  EXPECT_EQ(quantizeValue(kS8, -1.25f, 0.5f, 0), -2);
  EXPECT_EQ(quantizeValue(kS8, 1.25f, 0.5f, 0, RoundingMode::NearestAway), 3);
}

TEST(QuantMathTest, QuantizeSaturates) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantizeValue(kS8, 1000.0f, 1.0f, 0), 127);
  EXPECT_EQ(quantizeValue(kS8, -1000.0f, 1.0f, 0), -128);
  EXPECT_EQ(quantizeValue(kS8, inf, 1.0f, 0), 127);
  EXPECT_EQ(quantizeValue(kS8, -inf, 1.0f, 0), -128);
  EXPECT_EQ(quantizeValue(kS8, 3.0e38f, 1.0e-30f, 0), 127);
  // NaN goes to the zero point.
  EXPECT_EQ(quantizeValue(kS8, std::nanf(""), 1.0f, 0), 0);
  EXPECT_EQ(quantizeValue(kU8Asym, std::nanf(""), 1.0f, 37), 37);
}

TEST(QuantMathTest, ZeroPointAtStorageLimits) {
  // u8 with z = 255: every non-positive value is representable down to -255.
  EXPECT_EQ(quantizeValue(kU8Asym, 0.0f, 1.0f, 255), 255);
  EXPECT_EQ(quantizeValue(kU8Asym, -255.0f, 1.0f, 255), 0);
  EXPECT_EQ(quantizeValue(kU8Asym, -300.0f, 1.0f, 255), 0);
  EXPECT_EQ(quantizeValue(kU8Asym, 1.0f, 1.0f, 255), 255);
  // u8 with z = 0: negatives saturate at 0.
  EXPECT_EQ(quantizeValue(kU8Asym, -1.0f, 1.0f, 0), 0);
  // s8 with z = -128: 0.0 is the smallest code.
  EXPECT_EQ(quantizeValue(kS8Asym, 0.0f, 1.0f, -128), -128);
  EXPECT_EQ(quantizeValue(kS8Asym, 255.0f, 1.0f, -128), 127);
  EXPECT_EQ(quantizeValue(kS8Asym, -1.0f, 1.0f, -128), -128);
  // u8, z = 128: 127.5 -> 128 (even) + 128 = 256 -> 255.
  EXPECT_EQ(quantizeValue(kU8Asym, 127.5f, 1.0f, 128), 255);
}

TEST(QuantMathTest, TernaryAndBinaryCodes) {
  QuantScheme ternary = makeScheme(StorageKind::Ternary, 2);
  EXPECT_EQ(quantizeValue(ternary, 0.4f, 1.0f, 0), 0);
  EXPECT_EQ(quantizeValue(ternary, 0.5f, 1.0f, 0), 0);
  EXPECT_EQ(quantizeValue(ternary, 0.6f, 1.0f, 0), 1);
  EXPECT_EQ(quantizeValue(ternary, 1.5f, 1.0f, 0), 1);
  EXPECT_EQ(quantizeValue(ternary, -0.7f, 1.0f, 0), -1);
  QuantScheme binary = makeScheme(StorageKind::Binary, 1);
  EXPECT_EQ(quantizeValue(binary, 0.0f, 1.0f, 0), 1);
  EXPECT_EQ(quantizeValue(binary, -0.1f, 1.0f, 0), -1);
  EXPECT_EQ(quantizeValue(binary, 3.0f, 1.0f, 0), 1);
  EXPECT_EQ(quantizeValue(binary, std::nanf(""), 1.0f, 0), 1);
}

TEST(QuantMathTest, Dequantize) {
  EXPECT_EQ(dequantizeValue(5, 0.25f, 2), 0.75f);
  EXPECT_EQ(dequantizeValue(-128, 0.5f, 0), -64.0f);
  EXPECT_EQ(dequantizeValue(0, 0.5f, 255), -127.5f);
}

//===----------------------------------------------------------------------===//
// Scale and zero point
//===----------------------------------------------------------------------===//

TEST(QuantMathTest, SymmetricScale) {
  llvm::Expected<QuantParams> params = computeQuantParams(kS8, -1.0, 2.0);
  ASSERT_TRUE(bool(params));
  EXPECT_EQ(params->scale, double(float(2.0 / 127.0)));
  EXPECT_EQ(params->zeroPoint, 0);
  EXPECT_FALSE(params->degenerate);
}

TEST(QuantMathTest, AsymmetricScaleAndZeroPoint) {
  // u8 over [-1, 3]: s = 4 / 255, z = round(1 / s) = round(63.75) = 64.
  llvm::Expected<QuantParams> u8 = computeQuantParams(kU8Asym, -1.0, 3.0);
  ASSERT_TRUE(bool(u8));
  EXPECT_EQ(u8->scale, double(float(4.0 / 255.0)));
  EXPECT_EQ(u8->zeroPoint, 64);
  // s8 over the same range: z = round(-128 + 63.75) = -64.
  llvm::Expected<QuantParams> s8 = computeQuantParams(kS8Asym, -1.0, 3.0);
  ASSERT_TRUE(bool(s8));
  EXPECT_EQ(s8->zeroPoint, -64);
  // A positive range is widened to contain 0: z is qmin.
  llvm::Expected<QuantParams> positive = computeQuantParams(kU8Asym, 2.0, 5.0);
  ASSERT_TRUE(bool(positive));
  EXPECT_EQ(positive->scale, double(float(5.0 / 255.0)));
  EXPECT_EQ(positive->zeroPoint, 0);
}

TEST(QuantMathTest, ZeroTensorUsesFallbackScale) {
  for (const QuantScheme &scheme : {kS8, kU8Asym, kS8Asym}) {
    llvm::Expected<QuantParams> params = computeQuantParams(scheme, 0.0, 0.0);
    ASSERT_TRUE(bool(params));
    EXPECT_EQ(params->scale, 1.0);
    EXPECT_EQ(params->zeroPoint, 0);
    EXPECT_TRUE(params->degenerate);
    // Zeros quantize to the code of zero and come back exactly.
    int64_t code =
        quantizeValue(scheme, 0.0f, float(params->scale), params->zeroPoint);
    EXPECT_EQ(dequantizeValue(code, float(params->scale), params->zeroPoint),
              0.0f);
  }
}

TEST(QuantMathTest, ConstantTensorIsRepresentable) {
  // min == max == 3: the range becomes [0, 3], s = 3 / 255, 3 -> code 255.
  llvm::Expected<QuantParams> params = computeQuantParams(kU8Asym, 3.0, 3.0);
  ASSERT_TRUE(bool(params));
  EXPECT_FALSE(params->degenerate);
  EXPECT_EQ(params->zeroPoint, 0);
  float scale = float(params->scale);
  EXPECT_EQ(quantizeValue(kU8Asym, 3.0f, scale, 0), 255);
  EXPECT_NEAR(dequantizeValue(255, scale, 0), 3.0f, 3.0f * 1e-6f);
}

TEST(QuantMathTest, SubnormalRangeIsDegenerate) {
  llvm::Expected<QuantParams> params = computeQuantParams(kS8, 0.0, 1.0e-40);
  ASSERT_TRUE(bool(params));
  EXPECT_TRUE(params->degenerate);
  EXPECT_EQ(params->scale, 1.0);
}

TEST(QuantMathTest, ScaleRoundsToScaleType) {
  // 3 / 127 = 2^-6 * 1.51181...: f16 keeps 10 fraction bits (1548 / 1024),
  // bf16 keeps 7 (194 / 128, rounded up).
  QuantScheme f16 =
      makeScheme(StorageKind::Signed, 8, true, llvm::APFloat::IEEEhalf());
  QuantScheme bf16 =
      makeScheme(StorageKind::Signed, 8, true, llvm::APFloat::BFloat());
  llvm::Expected<QuantParams> half = computeQuantParams(f16, 0.0, 3.0);
  llvm::Expected<QuantParams> brain = computeQuantParams(bf16, 0.0, 3.0);
  ASSERT_TRUE(bool(half));
  ASSERT_TRUE(bool(brain));
  EXPECT_EQ(half->scale, 1548.0 / 1024.0 / 64.0);
  EXPECT_EQ(brain->scale, 194.0 / 128.0 / 64.0);
  // Ternary and binary: s = absmax.
  llvm::Expected<QuantParams> ternary =
      computeQuantParams(makeScheme(StorageKind::Ternary, 2), -0.5, 2.0);
  ASSERT_TRUE(bool(ternary));
  EXPECT_EQ(ternary->scale, 2.0);
  // Unsigned symmetric covers [0, max]: s = 3 / 15.
  llvm::Expected<QuantParams> u4 =
      computeQuantParams(makeScheme(StorageKind::Unsigned, 4), -1.0, 3.0);
  ASSERT_TRUE(bool(u4));
  EXPECT_EQ(u4->scale, double(float(0.2)));
}

TEST(QuantMathTest, BadRangesAreErrors) {
  double nan = std::nan("");
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(errorOf(computeQuantParams(kS8, nan, 1.0)),
            "range [nan, 1] is not finite");
  EXPECT_EQ(errorOf(computeQuantParams(kS8, -inf, 1.0)),
            "range [-inf, 1] is not finite");
  EXPECT_EQ(errorOf(computeQuantParams(kS8, 2.0, 1.0)),
            "range [2, 1] is empty (min > max)");
  QuantScheme f16 =
      makeScheme(StorageKind::Signed, 8, true, llvm::APFloat::IEEEhalf());
  EXPECT_EQ(errorOf(computeQuantParams(f16, -1.0e7, 1.0e7)),
            "scale 78740.1575 for range [-10000000, 10000000] overflows the "
            "scale type");
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

TEST(PackingTest, FourBitOddLength) {
  // Low nibble first: (1, -1) -> 0xF1, (7, -8) -> 0x87, (3) -> 0x03.
  expectPacking(makeScheme(StorageKind::Signed, 4), {1, -1, 7, -8, 3},
                {0xF1, 0x87, 0x03});
  expectPacking(makeScheme(StorageKind::Unsigned, 4), {15, 0, 9}, {0x0F, 0x09});
}

TEST(PackingTest, TwoBitOddLength) {
  // 01, 10, 11, 00 from bit 0 up -> 0b00111001; then 01.
  expectPacking(makeScheme(StorageKind::Signed, 2), {1, -2, -1, 0, 1},
                {0x39, 0x01});
}

TEST(PackingTest, ThreeBitCrossesBytes) {
  // 011, 100, 111: bits 0-2, 3-5, 6-8 -> 0b11100011, 0b00000001.
  expectPacking(makeScheme(StorageKind::Signed, 3), {3, -4, -1}, {0xE3, 0x01});
}

TEST(PackingTest, TernaryAndBinary) {
  // Ternary is 2-bit two's complement: -1 -> 11, 0 -> 00, 1 -> 01.
  expectPacking(makeScheme(StorageKind::Ternary, 2), {-1, 0, 1}, {0x13});
  // Binary: +1 -> 1, -1 -> 0.
  expectPacking(makeScheme(StorageKind::Binary, 1),
                {1, -1, -1, 1, 1, 1, -1, 1, 1}, {0xB9, 0x01});
  expectPacking(kS8, {-128, 127, 0}, {0x80, 0x7F, 0x00});
  expectPacking(kS8, {}, {});
}

TEST(PackingTest, Errors) {
  QuantScheme s4 = makeScheme(StorageKind::Signed, 4);
  EXPECT_EQ(errorOf(packCodes(s4, {0, 8})),
            "code 8 at index 1 is outside the storage range");
  EXPECT_EQ(errorOf(packCodes(makeScheme(StorageKind::Binary, 1), {0})),
            "code 0 at index 0 is outside the storage range");
  EXPECT_EQ(errorOf(unpackCodes(s4, {0x11, 0x01}, 2)),
            "2 codes need 1 bytes, got 2");
  EXPECT_EQ(errorOf(unpackCodes(s4, {0x11, 0x31}, 3)),
            "padding bits of the last byte are not zero");
  EXPECT_EQ(
      errorOf(unpackCodes(makeScheme(StorageKind::Ternary, 2), {0x02}, 1)),
      "invalid ternary bit pattern 0b10 at index 0");
  EXPECT_EQ(errorOf(getPackedSize(s4, -1)), "negative code count -1");
  EXPECT_EQ(*getPackedSize(kS8, int64_t(1) << 59), int64_t(1) << 59);
  EXPECT_EQ(errorOf(getPackedSize(kS8, int64_t(1) << 62)),
            "packed size of 4611686018427387904 codes overflows");
  EXPECT_EQ(errorOf(getPackedSize(s4, std::numeric_limits<int64_t>::max())),
            "packed size of 9223372036854775807 codes overflows");
}

//===----------------------------------------------------------------------===//
// Effective bits per weight
//===----------------------------------------------------------------------===//

TEST(StorageCostTest, BitsPerWeight) {
  const llvm::fltSemantics &half = llvm::APFloat::IEEEhalf();
  // Q4_0-like: 4 bits + one f16 scale per 32 weights = 4.5.
  QuantScheme q40 =
      grouped(makeScheme(StorageKind::Signed, 4, true, half), 1, 32);
  llvm::Expected<StorageCost> cost = computeStorageCost(q40, {4096, 4096});
  ASSERT_TRUE(bool(cost));
  EXPECT_EQ(cost->numScales, 4096 * 128);
  EXPECT_EQ(cost->bitsPerElement, 4.5);
  // Asymmetric: the 4-bit zero point adds 4 / 32.
  QuantScheme asym =
      grouped(makeScheme(StorageKind::Unsigned, 4, false, half), 1, 32);
  EXPECT_EQ(computeStorageCost(asym, {64, 64})->bitsPerElement, 4.625);
  // Per-channel int8 with f32 scales: 8 + 32 / 4096.
  EXPECT_EQ(
      computeStorageCost(perChannel(kS8, 0), {4096, 4096})->bitsPerElement,
      8.0078125);
  // Per-tensor on a tiny tensor: the scale dominates, (4 * 8 + 32) / 4.
  EXPECT_EQ(computeStorageCost(kS8, {2, 2})->bitsPerElement, 16.0);
  // Ternary codes take 2 bits: (256 * 2 + 16) / 256.
  QuantScheme ternary =
      makeScheme(StorageKind::Ternary, 2, true, llvm::APFloat::BFloat());
  EXPECT_EQ(computeStorageCost(ternary, {16, 16})->bitsPerElement, 2.0625);
  // Groups of 32 over K = 48: two scales a row, the second for 16 weights:
  // (48 x 8 + 2 x 32) / 48.
  llvm::Expected<StorageCost> ragged =
      computeStorageCost(grouped(kS8, 1, 32), {4, 48});
  ASSERT_TRUE(bool(ragged));
  EXPECT_EQ(ragged->numScales, 8);
  EXPECT_EQ(ragged->totalBits, 4 * (48 * 8 + 2 * 32));
}

TEST(BlockIndexerTest, RaggedLastGroup) {
  // [2, 5] in groups of 2 along axis 1: blocks 0 0 1 1 2 | 3 3 4 4 5.
  BlockIndexer rows(grouped(kS8, 1, 2), {2, 5});
  std::vector<int64_t> blocks;
  for (int64_t e = 0; e < 10; ++e)
    blocks.push_back(rows.getBlock(e));
  EXPECT_EQ(blocks, (std::vector<int64_t>{0, 0, 1, 1, 2, 3, 3, 4, 4, 5}));
  // [3, 2] in groups of 2 along axis 0: scale shape [2, 2], the second
  // row of groups holding row 2 alone.
  BlockIndexer columns(grouped(kS8, 0, 2), {3, 2});
  blocks.clear();
  for (int64_t e = 0; e < 6; ++e)
    blocks.push_back(columns.getBlock(e));
  EXPECT_EQ(blocks, (std::vector<int64_t>{0, 1, 0, 1, 2, 3}));
}

TEST(StorageCostTest, Errors) {
  EXPECT_EQ(errorOf(computeStorageCost(grouped(kS8, 1, 0), {4, 48})),
            "group size 0 is not positive");
  EXPECT_EQ(errorOf(computeStorageCost(perChannel(kS8, 2), {4, 48})),
            "axis 2 is out of range for rank 2");
  EXPECT_EQ(errorOf(computeStorageCost(kS8, {4, 0})),
            "shape [4, 0] must be static and non-empty");
  EXPECT_EQ(errorOf(computeStorageCost(kS8, {int64_t(1) << 62, 8})),
            "element count overflows int64");
  EXPECT_EQ(errorOf(computeStorageCost(kS8, {int64_t(1) << 60, 4})),
            "storage size overflows int64");
}
} // namespace
