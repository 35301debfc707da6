//===- WindowTest.cpp - Depthwise convolution and pooling kernels ---------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice_uk_window2d_f32 at every vector level the CPU has, against a
// direct loop: max and sum pooling bit-exact (the same f32 operations in
// the same order), grouped and depthwise convolution within the error bound
// of their sums of products. Shapes cover output rows shorter and longer than
// a vector, strides 1, 2 and 3, dilation, channel multipliers, several input
// channels per group and several images.
//
//===----------------------------------------------------------------------===//

#include "KernelLevels.h"
#include "lattice_ukernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {
using lattice::test::addr;
using lattice::test::KernelConfig;
using lattice::test::kernelConfigs;

/// Groups c of cg input channels each (pooling takes cg = mult = 1).
struct Window {
  int64_t n, c, h, w, kh, kw, s, d, mult, cg;
};

const Window kWindows[] = {
    {1, 3, 16, 16, 3, 3, 1, 1, 1, 1},
    {2, 5, 13, 40, 3, 3, 2, 1, 1, 1},
    {1, 4, 12, 12, 3, 3, 1, 2, 2, 1},
    {1, 2, 9, 70, 5, 5, 1, 1, 1, 1},
    {1, 3, 11, 50, 2, 2, 3, 1, 3, 1},
    {1, 1, 7, 7, 7, 7, 1, 1, 1, 1},
    {3, 2, 18, 35, 1, 1, 2, 1, 1, 1},
    {1, 2, 10, 21, 3, 3, 1, 1, 3, 4},
    {2, 3, 9, 40, 3, 2, 2, 1, 1, 2},
    // Global pooling (the window is the plane), rows longer than a vector;
    // one output pixel from a window narrower than its rows (one run per
    // row, not one per plane).
    {2, 3, 20, 37, 20, 37, 1, 1, 1, 1},
    {1, 2, 7, 9, 5, 5, 3, 1, 1, 1},
    // Planes of up to 8 rows in one go, and 9 rows (8 + 1).
    {1, 2, 13, 30, 5, 5, 1, 1, 1, 1},
    {1, 2, 11, 20, 3, 3, 1, 1, 1, 1},
    // Depthwise with rows shorter than a vector (16 channels a vector on
    // AVX-512): a partial group of channels, 2 images, strides, dilation,
    // rows of 7, 8 and 9 pixels.
    {2, 37, 11, 11, 5, 5, 1, 1, 1, 1},
    {1, 20, 15, 17, 3, 3, 2, 1, 1, 1},
    {1, 18, 13, 13, 3, 3, 1, 2, 1, 1},
    // Depthwise with rows of 28 pixels (in place, not by channels).
    {1, 18, 10, 32, 5, 5, 1, 1, 1, 1},
};

void checkWindow(const Window &s, int kind) {
  int64_t oh = (s.h - s.d * (s.kh - 1) - 1) / s.s + 1;
  int64_t ow = (s.w - s.d * (s.kw - 1) - 1) / s.s + 1;
  int64_t m = s.c * s.mult, window = s.cg * s.kh * s.kw;
  std::mt19937 rng(static_cast<unsigned>(s.c * 7 + s.h * 5 + s.w + kind));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(s.n * s.c * s.cg * s.h * s.w), wt(m * window),
      y(s.n * m * oh * ow, 123.0f);
  for (float &v : x)
    v = dist(rng);
  for (float &v : wt)
    v = dist(rng);
  lattice_uk_window2d_f32(addr(x.data()), addr(wt.data()), addr(y.data()), s.n,
                          s.c, s.cg, s.h, s.w, s.kh, s.kw, oh, ow, s.s, s.s,
                          s.d, s.d, s.mult, kind, 0, LATTICE_UK_EPILOGUE_NONE,
                          0, 0, 2);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          float want = kind == LATTICE_UK_WINDOW_MAX
                           ? -std::numeric_limits<float>::infinity()
                           : 0.0f;
          double exact = 0, bound = 0, magnitude = 0;
          for (int64_t c = 0; c < s.cg; ++c)
            for (int64_t u = 0; u < s.kh; ++u)
              for (int64_t v = 0; v < s.kw; ++v) {
                const float *plane =
                    x.data() + ((b * s.c + o / s.mult) * s.cg + c) * s.h * s.w;
                float a = plane[(i * s.s + u * s.d) * s.w + j * s.s + v * s.d];
                float f = wt[((o * s.cg + c) * s.kh + u) * s.kw + v];
                if (kind == LATTICE_UK_WINDOW_MAX)
                  want = std::fmax(want, a);
                else if (kind == LATTICE_UK_WINDOW_SUM)
                  want += a;
                exact += double(a) * f;
                bound += std::fabs(double(a) * f);
                magnitude += std::fabs(a);
              }
          float got = y[((b * m + o) * oh + i) * ow + j];
          // Sums into a single output pixel (global pooling) are associated
          // by vector lanes; other sums in the window's order.
          bool global = oh == 1 && ow == 1 && s.d == 1;
          if (kind == LATTICE_UK_WINDOW_CONV)
            ASSERT_NEAR(got, exact, 1e-6 * bound * window + 1e-30)
                << "image " << b << " channel " << o << " pixel " << i << ","
                << j;
          else if (kind == LATTICE_UK_WINDOW_SUM && global)
            ASSERT_NEAR(got, want, 1e-6 * magnitude * window)
                << "image " << b << " channel " << o;
          else
            ASSERT_EQ(got, want) << "image " << b << " channel " << o
                                 << " pixel " << i << "," << j;
        }
}

/// Runs `check(case, kind)` at every kernel level for each of `cases`
/// (whose `window(case)` is its Window) and each kind it takes: pooling
/// only where cg and mult are 1.
template <typename Case, size_t N, typename WindowOf, typename Check>
void atEveryLevelAndKind(const Case (&cases)[N], WindowOf window, Check check) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    for (const Case &c : cases)
      for (int kind : {LATTICE_UK_WINDOW_CONV, LATTICE_UK_WINDOW_MAX,
                       LATTICE_UK_WINDOW_SUM}) {
        const Window &s = window(c);
        if (kind != LATTICE_UK_WINDOW_CONV && (s.cg != 1 || s.mult != 1))
          continue;
        SCOPED_TRACE(kind);
        SCOPED_TRACE(s.w);
        check(c, kind);
      }
  }
}

TEST(Window2dF32, MatchesDirectLoops) {
  atEveryLevelAndKind(
      kWindows, [](const Window &s) -> const Window & { return s; },
      checkWindow);
}

/// A window problem over an input padded by (top, left, bottom, right).
struct Padded {
  Window window; // h and w: the input's, without the padding
  int64_t top, left, bottom, right;
};

const Padded kPadded[] = {
    // Pooling and depthwise rows longer than a vector, strides 1 to 3,
    // padding on every side or some.
    {{1, 3, 16, 40, 3, 3, 1, 1, 1, 1}, 1, 1, 1, 1},
    {{2, 5, 13, 40, 3, 3, 2, 1, 1, 1}, 1, 1, 0, 0},
    {{1, 2, 9, 70, 5, 5, 1, 1, 1, 1}, 2, 2, 2, 2},
    {{1, 3, 11, 50, 2, 2, 3, 1, 3, 1}, 0, 1, 1, 0},
    // More padding than the windows reach into (rows and columns of
    // padding alone), dilation, 8 rows and more, several input channels
    // per group and a channel multiplier.
    {{1, 2, 12, 36, 3, 3, 1, 2, 1, 1}, 3, 4, 3, 4},
    {{1, 2, 20, 33, 3, 3, 1, 1, 2, 3}, 1, 1, 1, 1},
    // Depthwise rows shorter than 28 pixels (16 channels a vector on
    // AVX-512): partial groups of channels, strides 1 and 2, 5 x 5.
    {{2, 37, 11, 11, 5, 5, 1, 1, 1, 1}, 2, 2, 2, 2},
    {{1, 20, 14, 14, 3, 3, 2, 1, 1, 1}, 1, 1, 1, 1},
    {{1, 18, 7, 7, 3, 3, 1, 1, 1, 1}, 0, 1, 2, 1},
};

/// A padded problem: the kernel given the padding in its kind computes
/// exactly what it computes over the input padded beforehand with the
/// padding's value (-inf for max pooling, +0 otherwise), signed zeros and
/// all.
void checkPadded(const Padded &t, int kind) {
  const Window &s = t.window;
  int64_t hp = s.h + t.top + t.bottom, wp = s.w + t.left + t.right;
  int64_t oh = (hp - s.d * (s.kh - 1) - 1) / s.s + 1;
  int64_t ow = (wp - s.d * (s.kw - 1) - 1) / s.s + 1;
  int64_t m = s.c * s.mult, planes = s.n * s.c * s.cg;
  float pad = kind == LATTICE_UK_WINDOW_MAX
                  ? -std::numeric_limits<float>::infinity()
                  : 0.0f;
  std::mt19937 rng(static_cast<unsigned>(s.c * 7 + s.h * 5 + s.w + kind));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(planes * s.h * s.w), wt(m * s.cg * s.kh * s.kw),
      xp(planes * hp * wp, pad);
  for (float &v : x)
    v = dist(rng) < -0.8f ? -0.0f : dist(rng);
  for (float &v : wt)
    v = dist(rng);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < s.h; ++i)
      for (int64_t j = 0; j < s.w; ++j)
        xp[(p * hp + i + t.top) * wp + j + t.left] = x[(p * s.h + i) * s.w + j];
  std::vector<float> want(s.n * m * oh * ow, 5.0f), got(want.size(), 7.0f);
  lattice_uk_window2d_f32(addr(xp.data()), addr(wt.data()), addr(want.data()),
                          s.n, s.c, s.cg, hp, wp, s.kh, s.kw, oh, ow, s.s, s.s,
                          s.d, s.d, s.mult, kind, 0, LATTICE_UK_EPILOGUE_NONE,
                          0, 0, 2);
  lattice_uk_window2d_f32(addr(x.data()), addr(wt.data()), addr(got.data()),
                          s.n, s.c, s.cg, s.h, s.w, s.kh, s.kw, oh, ow, s.s,
                          s.s, s.d, s.d, s.mult,
                          kind | (t.top << LATTICE_UK_WINDOW_PAD_TOP_SHIFT) |
                              (t.left << LATTICE_UK_WINDOW_PAD_LEFT_SHIFT),
                          0, LATTICE_UK_EPILOGUE_NONE, 0, 0, 2);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
        << "output " << i << ": " << got[i] << " for " << want[i];
}

TEST(Window2dF32, PaddingAsIfPadded) {
  atEveryLevelAndKind(
      kPadded, [](const Padded &t) -> const Window & { return t.window; },
      checkPadded);
}

/// Max pooling propagates NaN, as arith.maximumf does, wherever it is in
/// the window.
TEST(Window2dF32, MaxPropagatesNaN) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    const int64_t h = 4, w = 40;
    std::vector<float> x(h * w, 1.0f), y(3 * 38, 0.0f);
    x[1 * w + 20] = std::numeric_limits<float>::quiet_NaN();
    x[0] = std::numeric_limits<float>::quiet_NaN();
    lattice_uk_window2d_f32(addr(x.data()), 0, addr(y.data()), 1, 1, 1, h, w, 2,
                            3, 3, 38, 1, 1, 1, 1, 1, LATTICE_UK_WINDOW_MAX, 0,
                            LATTICE_UK_EPILOGUE_NONE, 0, 0, 2);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 38; ++j) {
        bool nan = (i <= 1 && j >= 18 && j <= 20) || (i == 0 && j == 0);
        EXPECT_EQ(std::isnan(y[i * 38 + j]), nan) << i << "," << j;
      }
    // Global pooling: one NaN anywhere in the plane, or none.
    for (int64_t at : {int64_t(-1), int64_t(0), int64_t(77), h * w - 1}) {
      std::vector<float> plane(h * w, 2.0f);
      plane[5] = 7.0f;
      if (at >= 0)
        plane[at] = std::numeric_limits<float>::quiet_NaN();
      float out = 0.0f;
      lattice_uk_window2d_f32(addr(plane.data()), 0, addr(&out), 1, 1, 1, h, w,
                              h, w, 1, 1, 1, 1, 1, 1, 1, LATTICE_UK_WINDOW_MAX,
                              0, LATTICE_UK_EPILOGUE_NONE, 0, 0, 1);
      if (at >= 0)
        EXPECT_TRUE(std::isnan(out)) << "NaN at " << at;
      else
        EXPECT_EQ(out, 7.0f);
    }
  }
}
} // namespace
