//===- EpilogueTest.cpp - Bias, activation and padded convolution outputs -===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The epilogues of the convolution and window kernels
// (LATTICE_UK_EPILOGUE_*): each value bit-exact against the arith ops it
// replaces (IEEE maximum and minimum, products and sums rounded on their
// own), special values included, at the portable and AVX-512 levels; and
// the kernels' outputs with an epilogue (a bias, a residual, an
// activation) bit-exact against the same kernels' plain outputs with the
// epilogue applied after them, on every path (im2col tiles, the weight
// times the input, Winograd, depthwise by rows and by channels, pooling).
//
//===----------------------------------------------------------------------===//

#include "KernelLevels.h"
#include "lattice_epilogue.h"
#include "lattice_ukernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {
using lattice::test::addr;
using lattice::test::KernelConfig;
using lattice::test::kernelConfigs;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// IEEE 754-2019 maximum and minimum, written from the standard.
float maximum(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return kNaN;
  if (a == 0 && b == 0)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

float minimum(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return kNaN;
  if (a == 0 && b == 0)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

/// What arith's ops compute for the epilogue `kind` (one rounding each).
float reference(int kind, float v, const float *bias, float p0, float p1,
                const float *residual = nullptr) {
  volatile float t = bias ? v + *bias : v;
  if (residual)
    t = t + *residual;
  switch (kind) {
  case LATTICE_UK_EPILOGUE_RELU:
    return maximum(t, 0.0f);
  case LATTICE_UK_EPILOGUE_CLIP:
    return minimum(maximum(t, p0), p1);
  case LATTICE_UK_EPILOGUE_HARDSWISH:
  case LATTICE_UK_EPILOGUE_HARDSIGMOID: {
    volatile float product = t * p0;
    volatile float sum = product + p1;
    float s = minimum(maximum(sum, 0.0f), 1.0f);
    if (kind == LATTICE_UK_EPILOGUE_HARDSIGMOID)
      return s;
    volatile float result = t * s;
    return result;
  }
  default:
    return t;
  }
}

bool sameValue(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

int64_t packParams(float p0, float p1) {
  uint32_t low, high;
  std::memcpy(&low, &p0, 4);
  std::memcpy(&high, &p1, 4);
  return int64_t((uint64_t(high) << 32) | low);
}

const int kKinds[] = {LATTICE_UK_EPILOGUE_NONE, LATTICE_UK_EPILOGUE_RELU,
                      LATTICE_UK_EPILOGUE_CLIP, LATTICE_UK_EPILOGUE_HARDSWISH,
                      LATTICE_UK_EPILOGUE_HARDSIGMOID};

/// The kinds' parameters as the importer writes them: ReLU6's bounds, or
/// HardSwish's 1/6 and 1/2; CLIP also with a +0 lower bound.
std::pair<float, float> paramsOf(int kind, int variant) {
  if (kind == LATTICE_UK_EPILOGUE_CLIP)
    return variant ? std::make_pair(-0.5f, 0.25f) : std::make_pair(0.0f, 6.0f);
  if (kind == LATTICE_UK_EPILOGUE_HARDSWISH ||
      kind == LATTICE_UK_EPILOGUE_HARDSIGMOID)
    return variant ? std::make_pair(0.2f, 0.5f)
                   : std::make_pair(1.0f / 6.0f, 0.5f);
  return {0.0f, 0.0f};
}

TEST(Epilogue, ValuesMatchArith) {
  std::vector<float> values = {0.0f,   -0.0f,  kNaN,    -kNaN,   kInf,
                               -kInf,  1e-40f, -1e-40f, 3.0f,    -3.0f,
                               2.999f, -2.9f,  6.0f,    6.0001f, 0.25f,
                               -0.5f,  1.0f,   -1.0f,   0.5f,    -0.0001f};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
  for (int i = 0; i < 200; ++i)
    values.push_back(dist(rng));
  const float biases[] = {0.0f, -0.0f, 0.75f, -3.0f, kNaN};
  bool avx512 = __builtin_cpu_supports("avx512f");
  for (int kind : kKinds)
    for (int variant : {0, 1})
      for (int useBias : {0, 1})
        for (float bias : biases) {
          auto [p0, p1] = paramsOf(kind, variant);
          lattice_epilogue e;
          ASSERT_TRUE(lattice_epilogue_init(&e, useBias ? addr(&bias) : 0, kind,
                                            packParams(p0, p1), 0, 0));
          for (int vector : {0, 1}) {
            if (vector && !avx512)
              continue;
            std::vector<float> got = values;
            // Runs of every length from 0 to past two vectors.
            for (int64_t at = 0, length = 0; at < int64_t(got.size());
                 at += length, length = (length + 1) % 37) {
              int64_t run = std::min<int64_t>(length, int64_t(got.size()) - at);
              if (vector)
                lattice_epilogue_run_avx512(&e, got.data() + at, run, 0);
              else
                lattice_epilogue_run(&e, got.data() + at, run, 0);
            }
            for (size_t i = 0; i < values.size(); ++i) {
              float want =
                  reference(kind, values[i], useBias ? &bias : nullptr, p0, p1);
              ASSERT_TRUE(sameValue(got[i], want))
                  << "kind " << kind << " variant " << variant << " bias "
                  << (useBias ? bias : 0.0f) << " value " << values[i]
                  << " vector " << vector << ": " << got[i] << " want " << want;
            }
          }
        }
}

/// `plain` ([N, M, OH, OW], planes of `pixels`) with the epilogue applied
/// (no bias or residual where they are empty).
std::vector<float> finish(const std::vector<float> &plain, int64_t m,
                          int64_t pixels, int kind,
                          const std::vector<float> &bias, float p0, float p1,
                          const std::vector<float> &residual = {}) {
  std::vector<float> want(plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    int64_t o = int64_t(i) / pixels % m;
    want[i] = reference(kind, plain[i], bias.empty() ? nullptr : &bias[o], p0,
                        p1, residual.empty() ? nullptr : &residual[i]);
  }
  return want;
}

void expectSame(const std::vector<float> &got, const std::vector<float> &want) {
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(sameValue(got[i], want[i]))
        << "element " << i << ": " << got[i] << " want " << want[i];
}

std::vector<float> randomVector(size_t size, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(size);
  for (float &x : v)
    x = dist(rng);
  return v;
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, s;
};

const ConvCase kConvs[] = {
    // 3 x 3 at stride 2 (im2col tiles).
    {1, 3, 23, 29, 16, 3, 3, 2},
    {2, 5, 13, 11, 33, 3, 3, 2},
    // 1 x 1 at stride 1, pixels fill the panels: the weight times the
    // input (output channels are C's rows).
    {3, 6, 17, 19, 40, 1, 1, 1},
    // 1 x 1 whose output channels fill the panels (the tiles).
    {2, 8, 7, 7, 96, 1, 1, 1},
    // Winograd (3 x 3 at stride 1, 36 tiles or more).
    {2, 5, 21, 23, 37, 3, 3, 1},
    {1, 4, 30, 30, 64, 3, 3, 1},
};

TEST(Epilogue, ConvolutionOutputs) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    for (const ConvCase &t : kConvs) {
      SCOPED_TRACE(testing::Message()
                   << t.n << "x" << t.c << "x" << t.h << "x" << t.w << " m "
                   << t.m << " " << t.kh << "x" << t.kw << "/" << t.s);
      int64_t oh = (t.h - t.kh) / t.s + 1, ow = (t.w - t.kw) / t.s + 1;
      std::mt19937 rng(static_cast<unsigned>(t.c * 13 + t.m + t.h));
      std::vector<float> x = randomVector(t.n * t.c * t.h * t.w, rng);
      std::vector<float> wt = randomVector(t.m * t.c * t.kh * t.kw, rng);
      std::vector<float> bias = randomVector(t.m, rng);
      std::vector<float> plain(t.n * t.m * oh * ow);
      lattice_uk_conv2d_f32(addr(x.data()), addr(wt.data()), addr(plain.data()),
                            t.n, t.c, t.h, t.w, t.kh, t.kw, oh, ow, t.s, t.s, 1,
                            1, t.m, 0, LATTICE_UK_EPILOGUE_NONE, 0, 0,
                            LATTICE_UK_OUT_NCHW, 2);
      std::vector<float> residual = randomVector(plain.size(), rng);
      for (int kind : kKinds)
        for (int variant : {0, 1, 2}) {
          // No bias; a bias; a bias and a residual.
          SCOPED_TRACE(testing::Message()
                       << "kind " << kind << " variant " << variant);
          auto [p0, p1] = paramsOf(kind, 0);
          std::vector<float> got(plain.size(), kNaN);
          lattice_uk_conv2d_f32(
              addr(x.data()), addr(wt.data()), addr(got.data()), t.n, t.c, t.h,
              t.w, t.kh, t.kw, oh, ow, t.s, t.s, 1, 1, t.m,
              variant ? addr(bias.data()) : 0, kind, packParams(p0, p1),
              variant == 2 ? addr(residual.data()) : 0, LATTICE_UK_OUT_NCHW, 2);
          expectSame(got,
                     finish(plain, t.m, oh * ow, kind,
                            variant ? bias : std::vector<float>(), p0, p1,
                            variant == 2 ? residual : std::vector<float>()));
        }
      // Into the interior of padded planes (1 row above and below, 1
      // column left and 2 right), or from a residual in such planes, or
      // both: the frames stay as they were, and a residual in another
      // layout than the results' is read by plane, row and column.
      int64_t row = ow + 3, plane = (oh + 2) * row;
      auto framed = [&](const std::vector<float> &dense) {
        std::vector<float> planes(t.n * t.m * plane, -7.5f);
        for (int64_t b = 0; b < t.n * t.m; ++b)
          for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j)
              planes[b * plane + (i + 1) * row + j + 1] =
                  dense[(b * oh + i) * ow + j];
        return planes;
      };
      std::vector<float> framedResidual = framed(residual);
      for (auto [outputFramed, residualFramed] :
           {std::pair(true, true), std::pair(true, false),
            std::pair(false, true)})
        for (int kind : kKinds) {
          SCOPED_TRACE(testing::Message()
                       << "framed output " << outputFramed << " residual "
                       << residualFramed << ", kind " << kind);
          auto [p0, p1] = paramsOf(kind, 0);
          std::vector<float> got(
              outputFramed ? t.n * t.m * plane : plain.size(), -7.5f);
          int64_t flags = LATTICE_UK_OUT_NCHW;
          if (outputFramed)
            flags |= (int64_t(3) << LATTICE_UK_OUT_FRAME_W_SHIFT) |
                     (int64_t(2) << LATTICE_UK_OUT_FRAME_H_SHIFT);
          if (residualFramed)
            flags |= (int64_t(3) << LATTICE_UK_RESIDUAL_FRAME_W_SHIFT) |
                     (int64_t(2) << LATTICE_UK_RESIDUAL_FRAME_H_SHIFT);
          lattice_uk_conv2d_f32(
              addr(x.data()), addr(wt.data()),
              addr(got.data() + (outputFramed ? row + 1 : 0)), t.n, t.c, t.h,
              t.w, t.kh, t.kw, oh, ow, t.s, t.s, 1, 1, t.m, addr(bias.data()),
              kind, packParams(p0, p1),
              residualFramed ? addr(framedResidual.data() + row + 1)
                             : addr(residual.data()),
              flags, 2);
          std::vector<float> want =
              finish(plain, t.m, oh * ow, kind, bias, p0, p1, residual);
          expectSame(got, outputFramed ? framed(want) : want);
        }
    }
  }
}

struct WindowCase {
  int64_t n, c, h, w, k, s, kind;
};

const WindowCase kWindowCases[] = {
    // Depthwise by rows (rows of 28 pixels or more) and by channels.
    {1, 18, 30, 60, 3, 2, LATTICE_UK_WINDOW_CONV},
    {2, 37, 11, 11, 5, 1, LATTICE_UK_WINDOW_CONV},
    {1, 20, 15, 17, 3, 2, LATTICE_UK_WINDOW_CONV},
    // Pooling, and global pooling (one output pixel).
    {1, 3, 16, 16, 3, 1, LATTICE_UK_WINDOW_MAX},
    {2, 3, 9, 9, 9, 1, LATTICE_UK_WINDOW_SUM},
};

TEST(Epilogue, WindowOutputs) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    for (const WindowCase &t : kWindowCases) {
      SCOPED_TRACE(testing::Message()
                   << t.n << "x" << t.c << "x" << t.h << "x" << t.w << " "
                   << t.k << "/" << t.s << " kind " << t.kind);
      int64_t oh = (t.h - t.k) / t.s + 1, ow = (t.w - t.k) / t.s + 1;
      std::mt19937 rng(static_cast<unsigned>(t.c * 5 + t.h));
      std::vector<float> x = randomVector(t.n * t.c * t.h * t.w, rng);
      std::vector<float> wt = randomVector(t.c * t.k * t.k, rng);
      std::vector<float> bias = randomVector(t.c, rng);
      int64_t weights = t.kind == LATTICE_UK_WINDOW_CONV ? addr(wt.data()) : 0;
      std::vector<float> plain(t.n * t.c * oh * ow);
      lattice_uk_window2d_f32(addr(x.data()), weights, addr(plain.data()), t.n,
                              t.c, 1, t.h, t.w, t.k, t.k, oh, ow, t.s, t.s, 1,
                              1, 1, t.kind, 0, LATTICE_UK_EPILOGUE_NONE, 0, 0,
                              2);
      std::vector<float> residual = randomVector(plain.size(), rng);
      for (int kind : kKinds)
        for (bool withResidual : {false, true}) {
          SCOPED_TRACE(testing::Message()
                       << "epilogue " << kind << " residual " << withResidual);
          auto [p0, p1] = paramsOf(kind, 1);
          std::vector<float> got(plain.size(), kNaN);
          lattice_uk_window2d_f32(addr(x.data()), weights, addr(got.data()),
                                  t.n, t.c, 1, t.h, t.w, t.k, t.k, oh, ow, t.s,
                                  t.s, 1, 1, 1, t.kind, addr(bias.data()), kind,
                                  packParams(p0, p1),
                                  withResidual ? addr(residual.data()) : 0, 2);
          expectSame(got,
                     finish(plain, t.c, oh * ow, kind, bias, p0, p1,
                            withResidual ? residual : std::vector<float>()));
        }
    }
  }
}

/// An unknown epilogue: the kernels write nothing.
TEST(Epilogue, KernelsRejectUnknownEpilogues) {
  lattice_epilogue e;
  EXPECT_FALSE(lattice_epilogue_init(&e, 0, 5, 0, 0, 0));
  EXPECT_FALSE(lattice_epilogue_init(&e, 0, -1, 0, 0, 0));
  EXPECT_TRUE(
      lattice_epilogue_init(&e, 0, LATTICE_UK_EPILOGUE_HARDSIGMOID, 0, 0, 0));
  std::vector<float> x(4 * 4, 1.0f), wt(9, 1.0f), y(16, 5.0f);
  lattice_uk_conv2d_f32(addr(x.data()), addr(wt.data()), addr(y.data()), 1, 1,
                        4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 9, 0, 0,
                        LATTICE_UK_OUT_NCHW, 1);
  lattice_uk_window2d_f32(addr(x.data()), addr(wt.data()), addr(y.data()), 1, 1,
                          1, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1,
                          LATTICE_UK_WINDOW_CONV, 0, -2, 0, 0, 1);
  for (float v : y)
    EXPECT_EQ(v, 5.0f);
}
} // namespace
