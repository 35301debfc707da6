//===- GemmTest.cpp - The runtime's GEMM microkernels against a reference -===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every vector level the CPU has (portable C, AVX2, AVX-512) on shapes that
// exercise the register tiles' edges: M and N not multiples of the tile, K
// of 1, batches, both layouts of B, accumulation. f32 results are compared
// with a double-precision reference within the error bound of a sum of K
// products; 8-bit results must be bit-exact (the i32 sums are exact and the
// epilogue rounds in the documented order).
//
//===----------------------------------------------------------------------===//

#include "KernelLevels.h"
#include "lattice_pack.h"
#include "lattice_threads.h"
#include "lattice_ukernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {
using lattice::test::addr;
using lattice::test::KernelConfig;
using lattice::test::kernelConfigs;

struct Shape {
  int64_t batch, m, n, k;
};

const Shape kShapes[] = {
    {1, 1, 1, 1},
    {1, 3, 5, 7},
    {1, 8, 32, 16},
    {1, 13, 33, 17},
    {1, 64, 73, 128},
    {2, 50, 100, 3},
    {3, 9, 64, 31},
    {1, 100, 65, 300},
    {1, 49, 31, 2},
    // Panels of 16 columns and fewer (the 16-column AVX-512 tiles).
    {1, 25, 16, 9},
    {2, 14, 48, 20},
};

/// f32 GEMM with B as a weight [N, K] (b_k = 1) or as [K, N] (b_n = 1), or
/// as a weight packed beforehand (batch 1).
/// B (K x N, element (k, n) at b[k * bK + n * bN]) in the f32 panels of
/// lattice_pack.h.
std::vector<float> packPanels(const float *b, int64_t bK, int64_t bN, int64_t n,
                              int64_t k) {
  int64_t panelFloats = lattice_pack_f32_panel_bytes(k) / 4;
  std::vector<float> panels(lattice_pack_panels(n) * panelFloats);
  for (int64_t p = 0; p < lattice_pack_panels(n); ++p)
    lattice_pack_f32_panel(b, bK, bN, p * LATTICE_PACK_NR, n, k,
                           panels.data() + p * panelFloats);
  return panels;
}

/// Runs `check` at every kernel level on 1 and on 2 of the pool's threads.
template <typename Check>
void atEveryLevelAndThreads(Check check) {
  for (const KernelConfig &config : kernelConfigs())
    for (int threads : {1, 2}) {
      SCOPED_TRACE(config.name());
      SCOPED_TRACE(threads);
      ASSERT_TRUE(config.select());
      int previous = lattice_set_call_threads(threads);
      check(threads);
      lattice_set_call_threads(previous);
    }
}

void checkF32(const Shape &s, bool weightLayout, bool accumulate,
              bool prepacked = false) {
  std::mt19937 rng(static_cast<unsigned>(s.m * 131 + s.n * 17 + s.k));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  // Padded rows (strides matter); a weight's rows padded too, unless it is
  // packed beforehand, as the keys of attention read in place are.
  int64_t lda = s.k + 3, ldc = s.n + 5,
          ldb = weightLayout && !prepacked ? s.k + 2 : s.k;
  int64_t bBatch = s.n * ldb;
  std::vector<float> a(s.batch * s.m * lda), b(s.batch * bBatch),
      c(s.batch * s.m * ldc);
  for (float &x : a)
    x = dist(rng);
  for (float &x : b)
    x = dist(rng);
  for (float &x : c)
    x = dist(rng);
  std::vector<float> before = c;
  int64_t bK = weightLayout ? 1 : s.n, bN = weightLayout ? ldb : 1;
  int64_t flags = accumulate ? LATTICE_UK_ACCUMULATE : 0;
  std::vector<float> panels;
  const float *bData = b.data();
  if (prepacked) {
    panels = packPanels(b.data(), bK, bN, s.n, s.k);
    bData = panels.data();
    flags |= LATTICE_UK_B_PACKED;
  }
  lattice_uk_gemm_f32(addr(a.data()), addr(bData), addr(c.data()), s.batch, s.m,
                      s.n, s.k, s.m * lda, lda, bBatch, bK, bN, s.m * ldc, ldc,
                      flags, 2);
  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        float got = c[bi * s.m * ldc + i * ldc + j];
        float old = before[bi * s.m * ldc + i * ldc + j];
        if (j >= s.n) {
          ASSERT_EQ(got, old) << "wrote past N at " << i << ", " << j;
          continue;
        }
        double want = accumulate ? old : 0.0, bound = 0.0;
        for (int64_t kk = 0; kk < s.k; ++kk) {
          double x = a[bi * s.m * lda + i * lda + kk];
          double w = b[bi * bBatch + kk * bK + j * bN];
          want += x * w;
          bound += std::fabs(x * w);
        }
        double tolerance = 1e-6 * (bound + (accumulate ? std::fabs(old) : 0)) *
                           std::sqrt(double(s.k) + 1);
        ASSERT_NEAR(got, want, tolerance + 1e-30)
            << "batch " << bi << " row " << i << " column " << j;
      }
}

TEST(GemmF32, MatchesReference) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(testing::Message()
                   << s.batch << "x" << s.m << "x" << s.n << "x" << s.k);
      checkF32(s, /*weightLayout=*/true, /*accumulate=*/false);
      checkF32(s, /*weightLayout=*/false, /*accumulate=*/false);
      checkF32(s, /*weightLayout=*/true, /*accumulate=*/true);
      if (s.batch == 1)
        checkF32(s, /*weightLayout=*/true, /*accumulate=*/false,
                 /*prepacked=*/true);
    }
  }
}

/// Convolution with the im2col matrix gathered by the kernel: against a
/// direct convolution in double precision, with the weight plain or packed.
///
/// With a `frame` (NCHW only), the output planes are the interior of padded
/// planes, `frame` rows above and below and `frame` columns left and
/// `frame` + 1 right of the results, which the kernel must leave as they
/// are.
void checkConv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t m,
               int64_t kh, int64_t kw, int64_t s, int64_t d, bool prepacked,
               bool nchw = false, bool winograd = false, int64_t frame = 0) {
  int64_t oh = (h - d * (kh - 1) - 1) / s + 1,
          ow = (w - d * (kw - 1) - 1) / s + 1;
  int64_t k = c * kh * kw;
  int64_t frameW = frame ? 2 * frame + 1 : 0, frameH = 2 * frame;
  int64_t yRow = ow + frameW, yPlane = (oh + frameH) * yRow;
  std::mt19937 rng(static_cast<unsigned>(n + c * 3 + h * 5 + m * 7 + s));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n * c * h * w), wt(m * k), y(n * m * yPlane, -7.5f);
  float *interior = y.data() + frame * yRow + frame;
  for (float &v : x)
    v = dist(rng);
  for (float &v : wt)
    v = dist(rng);
  std::vector<float> panels;
  const float *wData = wt.data();
  if (prepacked) {
    panels = packPanels(wt.data(), 1, k, m, k);
    wData = panels.data();
  }
  if (winograd) { // the weight as the compiler stores it for Winograd
    panels.resize(lattice_pack_winograd_f32_bytes(m, c) / 4);
    lattice_pack_winograd_f32(wt.data(), m, c, panels.data());
    wData = panels.data();
  }
  lattice_uk_conv2d_f32(
      addr(x.data()), addr(wData), addr(interior), n, c, h, w, kh, kw, oh, ow,
      s, s, d, d, m, 0, LATTICE_UK_EPILOGUE_NONE, 0, 0,
      (prepacked ? LATTICE_UK_B_PACKED : 0) | (nchw ? LATTICE_UK_OUT_NCHW : 0) |
          (winograd ? LATTICE_UK_B_WINOGRAD : 0) |
          (frameW << LATTICE_UK_OUT_FRAME_W_SHIFT) |
          (frameH << LATTICE_UK_OUT_FRAME_H_SHIFT),
      2);
  // The frame, untouched.
  for (int64_t b = 0; b < n * m; ++b)
    for (int64_t i = 0; i < oh + frameH; ++i)
      for (int64_t j = 0; j < yRow; ++j)
        if (i < frame || i >= frame + oh || j < frame || j >= frame + ow)
          ASSERT_EQ(y[b * yPlane + i * yRow + j], -7.5f)
              << "plane " << b << " frame row " << i << " column " << j;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < m; ++o) {
          double want = 0, bound = 0;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t u = 0; u < kh; ++u)
              for (int64_t v = 0; v < kw; ++v) {
                double a =
                    x[((b * c + ch) * h + i * s + u * d) * w + j * s + v * d];
                double f = wt[o * k + (ch * kh + u) * kw + v];
                want += a * f;
                bound += std::fabs(a * f);
              }
          float got = nchw ? interior[(b * m + o) * yPlane + i * yRow + j]
                           : y[((b * oh + i) * ow + j) * m + o];
          ASSERT_NEAR(got, want, 1e-6 * bound * std::sqrt(double(k)) + 1e-30)
              << "pixel " << b << "," << i << "," << j << " channel " << o;
        }
}

TEST(Conv2dF32, MatchesDirectConvolution) {
  // On the pool's threads too: the units go by channels or by pixels
  // (blocks of whole cache lines of an NCHW output) depending on the sizes.
  atEveryLevelAndThreads([](int) {
    checkConv(1, 3, 16, 16, 8, 3, 3, 1, 1, false);
    // 3 x 3 at stride 1 below Winograd's 36 tiles (7 x 7 outputs).
    checkConv(2, 6, 9, 9, 40, 3, 3, 1, 1, true, /*nchw=*/true);
    checkConv(2, 5, 13, 11, 33, 3, 3, 2, 1, true);
    checkConv(1, 4, 12, 12, 40, 3, 3, 1, 2, true);
    checkConv(1, 7, 9, 20, 64, 1, 5, 1, 1, false);
    checkConv(1, 16, 30, 30, 24, 7, 7, 2, 1, true);
    // Output rows of many register tiles, at strides 1, 2 and 3.
    checkConv(1, 3, 9, 100, 20, 3, 3, 1, 1, true);
    checkConv(1, 2, 11, 90, 17, 3, 3, 2, 1, false);
    checkConv(1, 3, 10, 41, 9, 2, 2, 3, 1, true);
    // Blocks of pixels that end inside a row and span images (dilated: at
    // dilation 1, Winograd's); an output row longer than a block.
    checkConv(3, 4, 14, 32, 35, 3, 3, 1, 2, true);
    checkConv(1, 2, 5, 600, 9, 3, 3, 1, 1, false);
    // NCHW outputs: partial groups of 16 pixels and channels, rows of one
    // pixel, several images.
    checkConv(2, 5, 13, 11, 33, 3, 3, 2, 1, true, /*nchw=*/true);
    checkConv(1, 3, 9, 100, 20, 3, 3, 1, 1, false, /*nchw=*/true);
    checkConv(3, 4, 14, 32, 35, 3, 3, 1, 2, true, /*nchw=*/true);
    checkConv(2, 3, 8, 3, 64, 3, 3, 1, 1, true, /*nchw=*/true);
    // 16 channels, one 16-column tile: a CNN's stem at stride 2.
    checkConv(1, 3, 23, 29, 16, 3, 3, 2, 1, true, /*nchw=*/true);
    // 3 x 3 windows at stride 1 over 36 tiles of 2 x 2 outputs or more
    // (Winograd on AVX-512): odd output sizes, several images and blocks
    // of tiles, blocks that end inside a tile row, both layouts.
    checkConv(2, 5, 21, 23, 37, 3, 3, 1, 1, true);
    checkConv(2, 5, 21, 23, 37, 3, 3, 1, 1, false, /*nchw=*/true);
    checkConv(1, 17, 30, 40, 70, 3, 3, 1, 1, true, /*nchw=*/true);
    // 1 x 1 windows at stride 1: runs of pixels across output rows, blocks
    // that span images.
    checkConv(3, 6, 17, 19, 40, 1, 1, 1, 1, true);
    checkConv(3, 6, 17, 19, 40, 1, 1, 1, 1, false, /*nchw=*/true);
    // Into NCHW as the weight times the input (pixels fill the panels
    // better than 40 channels), the weight in panels; 96 channels of 49
    // pixels stay pixel-major.
    checkConv(3, 6, 17, 19, 40, 1, 1, 1, 1, true, /*nchw=*/true);
    checkConv(2, 8, 7, 7, 96, 1, 1, 1, 1, true, /*nchw=*/true);
    // Into the interior of padded planes: by pixels (a frame turns off
    // the runs across rows of 1 x 1 convolutions, and the weight times the
    // input), by channel panels, Winograd.
    checkConv(1, 3, 23, 29, 16, 3, 3, 2, 1, true, /*nchw=*/true,
              /*winograd=*/false, /*frame=*/1);
    checkConv(2, 40, 9, 9, 72, 3, 3, 1, 1, true, /*nchw=*/true,
              /*winograd=*/false, /*frame=*/2);
    checkConv(3, 6, 17, 19, 40, 1, 1, 1, 1, true, /*nchw=*/true,
              /*winograd=*/false, /*frame=*/1);
    checkConv(2, 8, 7, 7, 96, 1, 1, 1, 1, true, /*nchw=*/true,
              /*winograd=*/false, /*frame=*/3);
    checkConv(2, 5, 21, 23, 37, 3, 3, 1, 1, false, /*nchw=*/true,
              /*winograd=*/true, /*frame=*/1);
    // Weights deeper than two chunks of k (K = 549), read by several
    // register tiles: the tiles go through k in chunks, into both layouts
    // and framed planes.
    checkConv(1, 61, 9, 9, 40, 3, 3, 1, 1, true, /*nchw=*/true,
              /*winograd=*/false, /*frame=*/1);
    checkConv(2, 61, 9, 9, 40, 3, 3, 1, 1, false);
    // Weights in the Winograd layout.
    checkConv(2, 5, 21, 23, 37, 3, 3, 1, 1, false, /*nchw=*/true,
              /*winograd=*/true);
    checkConv(1, 17, 30, 40, 70, 3, 3, 1, 1, false, /*nchw=*/false,
              /*winograd=*/true);
    // 14 x 14 outputs, 49 tiles (ResNet-18's third stage): three blocks and
    // a block of one tile, the weight transformed per call or stored so.
    checkConv(1, 8, 16, 16, 24, 3, 3, 1, 1, true, /*nchw=*/true);
    checkConv(2, 8, 16, 16, 24, 3, 3, 1, 1, false, /*nchw=*/true,
              /*winograd=*/true);
  });
}

TEST(Conv2dF32, ChunksOfKSumAsOnePass) {
  // Tiles that go through a deep weight in chunks of k resume from the
  // chunk before's sums: the same sums in the same order as the GEMM of the
  // im2col matrix, which goes through k in one pass. Runs of 7 pixels, the
  // last of 3 panels 8 columns wide, K = 549 (two chunks and a part); 7 x 7
  // outputs, below Winograd's 36 tiles.
  const int64_t c = 61, h = 9, w = 9, m = 72, oh = 7, ow = 7, k = c * 9;
  const int64_t pixels = oh * ow;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(c * h * w), wt(m * k), im2col(pixels * k);
  for (float &v : x)
    v = dist(rng);
  for (float &v : wt)
    v = dist(rng);
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t u = 0; u < 3; ++u)
          for (int64_t v = 0; v < 3; ++v)
            im2col[(i * ow + j) * k + (ch * 3 + u) * 3 + v] =
                x[(ch * h + i + u) * w + j + v];
  std::vector<float> panels = packPanels(wt.data(), 1, k, m, k);
  atEveryLevelAndThreads([&](int threads) {
    std::vector<float> gemm(pixels * m), conv(pixels * m), planes(m * pixels);
    lattice_uk_gemm_f32(addr(im2col.data()), addr(panels.data()),
                        addr(gemm.data()), 1, pixels, m, k, 0, k, 0, 1, k, 0, m,
                        LATTICE_UK_B_PACKED, threads);
    for (bool nchw : {false, true})
      lattice_uk_conv2d_f32(
          addr(x.data()), addr(panels.data()),
          addr(nchw ? planes.data() : conv.data()), 1, c, h, w, 3, 3, oh, ow, 1,
          1, 1, 1, m, 0, LATTICE_UK_EPILOGUE_NONE, 0, 0,
          LATTICE_UK_B_PACKED | (nchw ? LATTICE_UK_OUT_NCHW : 0), threads);
    for (int64_t i = 0; i < pixels; ++i)
      for (int64_t o = 0; o < m; ++o) {
        ASSERT_EQ(conv[i * m + o], gemm[i * m + o])
            << "pixel " << i << " channel " << o;
        ASSERT_EQ(planes[o * pixels + i], gemm[i * m + o])
            << "NCHW pixel " << i << " channel " << o;
      }
  });
}

/// IEEE half bits of a float that has an exact half representation.
uint16_t toHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000;
  int32_t exponent = int32_t((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = (bits >> 13) & 0x3ff;
  return uint16_t(sign | (uint32_t(exponent) << 10) | mantissa);
}

float fromHalf(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t bits =
      sign | ((((h >> 10) & 0x1f) + 112) << 23) | (uint32_t(h & 0x3ff) << 13);
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

/// f32 x 4-bit grouped GEMM: the reference dequantizes as the op does.
void checkQ4(int64_t m, int64_t n, int64_t k, int64_t group, int64_t flags) {
  std::mt19937 rng(static_cast<unsigned>(m * 7 + n * 3 + k + flags));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::uniform_int_distribution<int> nibble(0, 15), zeroDist(-3, 3);
  std::vector<float> a(m * k), c(m * n);
  for (float &x : a)
    x = dist(rng);
  std::vector<uint8_t> codes(n * k / 2);
  for (uint8_t &byte : codes)
    byte = uint8_t(nibble(rng) | (nibble(rng) << 4));
  int64_t groups = (k + group - 1) / group;
  std::vector<float> scales(n * groups);
  std::vector<uint16_t> halves(n * groups);
  std::vector<int8_t> zeros(n * groups);
  for (int64_t i = 0; i < n * groups; ++i) {
    halves[i] = toHalf(0.25f + 0.125f * float(i % 7));
    scales[i] = fromHalf(halves[i]);
    zeros[i] = int8_t(zeroDist(rng));
  }
  bool f16 = flags & LATTICE_UK_SCALE_F16;
  bool hasZero = flags & LATTICE_UK_ZERO_POINT;
  lattice_uk_gemm_f32_q4(
      addr(a.data()), addr(codes.data()),
      f16 ? addr(halves.data()) : addr(scales.data()),
      hasZero ? addr(zeros.data()) : 0, addr(c.data()), m, n, k, group,
      flags | (hasZero ? 8 << LATTICE_UK_ZERO_POINT_SHIFT : 0), 2);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = 0, bound = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        uint8_t byte = codes[j * (k / 2) + kk / 2];
        int code = (kk & 1) ? byte >> 4 : byte & 0xf;
        if (!(flags & LATTICE_UK_UNSIGNED) && code >= 8)
          code -= 16;
        int64_t g = j * groups + kk / group;
        float w =
            (float(code) - (hasZero ? float(zeros[g]) : 0.0f)) * scales[g];
        want += double(a[i * k + kk]) * w;
        bound += std::fabs(double(a[i * k + kk]) * w);
      }
      ASSERT_NEAR(c[i * n + j], want, 1e-6 * bound * std::sqrt(double(k)))
          << "row " << i << " column " << j;
    }
}

TEST(GemmF32Q4, MatchesReference) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    checkQ4(17, 40, 64, 32, LATTICE_UK_SCALE_F16);
    checkQ4(64, 96, 256, 128, LATTICE_UK_SCALE_F16);
    checkQ4(5, 33, 64, 16, 0);
    checkQ4(20, 31, 96, 32, LATTICE_UK_UNSIGNED | LATTICE_UK_ZERO_POINT);
    // Groups that are not a multiple of 16 (decoded element by element).
    checkQ4(7, 20, 48, 24, LATTICE_UK_ZERO_POINT);
    // A shorter last group: K = 80 in groups of 32 (the vector decoder),
    // K = 30 in groups of 8 and K = 14 in one group of 64.
    checkQ4(9, 35, 80, 32, LATTICE_UK_SCALE_F16);
    checkQ4(6, 17, 30, 8, LATTICE_UK_UNSIGNED | LATTICE_UK_ZERO_POINT);
    checkQ4(4, 40, 14, 64, 0);
  }
}

/// An [N, K] s8 weight in the panels of lattice_pack.h.
std::vector<int8_t> packS8(const std::vector<int8_t> &w, int64_t n, int64_t k) {
  int64_t panelBytes = lattice_pack_s8_panel_bytes(k);
  std::vector<int8_t> panels(lattice_pack_panels(n) * panelBytes);
  for (int64_t p = 0; p < lattice_pack_panels(n); ++p)
    lattice_pack_s8_panel(w.data(), p * LATTICE_PACK_NR, n, k,
                          panels.data() + p * panelBytes);
  return panels;
}

/// 8-bit GEMM: bit-exact against the documented arithmetic; with
/// LATTICE_UK_B_PACKED in `flags`, the weight is packed beforehand.
void checkS8(int64_t m, int64_t n, int64_t k, int64_t flags) {
  std::mt19937 rng(static_cast<unsigned>(m * 5 + n * 11 + k + flags));
  std::uniform_int_distribution<int> code(-128, 127), ucode(0, 255),
      zeroDist(-20, 20);
  std::uniform_real_distribution<float> scaleDist(0.001f, 0.1f);
  bool perRow = flags & LATTICE_UK_A_PER_ROW;
  bool hasZero = flags & LATTICE_UK_A_ZERO_POINT;
  bool isUnsigned = flags & LATTICE_UK_A_UNSIGNED;
  std::vector<int8_t> a(m * k), b(n * k), za(perRow ? m : 1);
  for (int8_t &x : a)
    x = int8_t(isUnsigned ? ucode(rng) : code(rng));
  for (int8_t &x : b)
    x = int8_t(code(rng));
  for (int8_t &z : za)
    z = int8_t(zeroDist(rng));
  std::vector<float> sa(perRow ? m : 1), sb(n), c(m * n, -1.0f);
  std::vector<uint16_t> sbHalf(n);
  for (float &s : sa)
    s = scaleDist(rng);
  for (int64_t j = 0; j < n; ++j) {
    sbHalf[j] = toHalf(0.0625f * float(1 + j % 5));
    sb[j] =
        (flags & LATTICE_UK_SCALE_F16) ? fromHalf(sbHalf[j]) : scaleDist(rng);
  }
  // Zero points as i8 for s8 codes, as i16 for u8 ones (the types the op
  // allows).
  std::vector<int16_t> za16(za.begin(), za.end());
  if (hasZero)
    flags |= int64_t(isUnsigned ? 16 : 8) << LATTICE_UK_ZERO_POINT_SHIFT;
  const void *zeroData = isUnsigned ? static_cast<const void *>(za16.data())
                                    : static_cast<const void *>(za.data());
  std::vector<int8_t> panels;
  const int8_t *bData = b.data();
  if (flags & LATTICE_UK_B_PACKED)
    bData = (panels = packS8(b, n, k)).data();
  lattice_uk_gemm_s8(addr(a.data()), addr(sa.data()),
                     hasZero ? addr(zeroData) : 0, addr(bData),
                     (flags & LATTICE_UK_SCALE_F16) ? addr(sbHalf.data())
                                                    : addr(sb.data()),
                     addr(c.data()), m, n, k, flags, 2);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t zero = hasZero ? za[perRow ? i : 0] : 0;
      int32_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        int32_t x = isUnsigned ? int32_t(uint8_t(a[i * k + kk]))
                               : int32_t(a[i * k + kk]);
        sum += (x - zero) * int32_t(b[j * k + kk]);
      }
      float want = float(sum) * sa[perRow ? i : 0] * sb[j];
      ASSERT_EQ(c[i * n + j], want) << "row " << i << " column " << j;
    }
}

/// 8-bit convolution: bit-exact against the documented arithmetic, an
/// im2col matrix scaled by column, quantized (round half to even, NaN to the
/// zero point, clamped), and summed in i32.
void checkConvS8(int64_t c, int64_t h, int64_t w, int64_t m, int64_t kh,
                 int64_t kw, int64_t s, int64_t d, int64_t flags,
                 bool columnScale) {
  int64_t n = 2, oh = (h - d * (kh - 1) - 1) / s + 1,
          ow = (w - d * (kw - 1) - 1) / s + 1, k = c * kh * kw;
  std::mt19937 rng(static_cast<unsigned>(c * 3 + h * 5 + m * 7 + s + flags));
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f), pos(0.5f, 2.0f);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<float> x(n * c * h * w), cs(k), sw(m), y(n * oh * ow * m);
  for (float &v : x)
    v = dist(rng);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[7] = std::numeric_limits<float>::infinity();
  x[9] = 1000.0f;       // far outside the range: clamped
  x[11] = 0.5f * 0.02f; // a tie: rounds to even
  for (float &v : cs)
    v = columnScale ? pos(rng) : 1.0f;
  for (float &v : sw)
    v = pos(rng) * 0.01f;
  std::vector<int8_t> wt(m * k);
  for (int8_t &v : wt)
    v = int8_t(code(rng));
  bool isUnsigned = flags & LATTICE_UK_A_UNSIGNED;
  float sa = 0.02f;
  int16_t za = (flags & LATTICE_UK_A_ZERO_POINT) ? (isUnsigned ? 128 : -3) : 0;
  if (flags & LATTICE_UK_A_ZERO_POINT)
    flags |= int64_t(16) << LATTICE_UK_ZERO_POINT_SHIFT;
  std::vector<int8_t> panels;
  const int8_t *wData = wt.data();
  if (flags & LATTICE_UK_B_PACKED)
    wData = (panels = packS8(wt, m, k)).data();
  lattice_uk_conv2d_s8(addr(x.data()), columnScale ? addr(cs.data()) : 0,
                       addr(&sa), addr(&za), addr(wData), addr(sw.data()),
                       addr(y.data()), n, c, h, w, kh, kw, oh, ow, s, s, d, d,
                       m, flags, 2);
  float lo = isUnsigned ? 0.0f : -128.0f, hi = isUnsigned ? 255.0f : 127.0f;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        std::vector<int32_t> a(k);
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t u = 0; u < kh; ++u)
            for (int64_t v = 0; v < kw; ++v) {
              int64_t col = (ch * kh + u) * kw + v;
              float value =
                  x[((b * c + ch) * h + i * s + u * d) * w + j * s + v * d];
              if (columnScale)
                value *= cs[col];
              float scaled = value / sa;
              float q = std::isnan(scaled) ? float(za)
                                           : std::nearbyint(scaled) + float(za);
              a[col] = int32_t(std::min(std::max(q, lo), hi));
            }
        for (int64_t o = 0; o < m; ++o) {
          int32_t sum = 0;
          for (int64_t col = 0; col < k; ++col)
            sum += (a[col] - za) * int32_t(wt[o * k + col]);
          float want = float(sum) * sa * sw[o];
          ASSERT_EQ(y[((b * oh + i) * ow + j) * m + o], want)
              << "pixel " << b << "," << i << "," << j << " channel " << o;
        }
      }
}

TEST(Conv2dS8, BitExact) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    // K not a multiple of 4, strides, dilation, rows longer than a vector,
    // more than one block of rows, 1 x 1 windows.
    checkConvS8(3, 9, 40, 5, 3, 3, 1, 1, 0, true);
    checkConvS8(4, 13, 21, 33, 3, 3, 2, 1, LATTICE_UK_B_PACKED, true);
    checkConvS8(2, 12, 12, 8, 3, 2, 1, 2, LATTICE_UK_A_ZERO_POINT, false);
    checkConvS8(5, 7, 30, 40, 1, 1, 2, 1,
                LATTICE_UK_A_UNSIGNED | LATTICE_UK_A_ZERO_POINT, true);
    // 1 x 1 at stride 1: runs of pixels across output rows.
    checkConvS8(5, 7, 30, 40, 1, 1, 1, 1, LATTICE_UK_B_PACKED, true);
    // A small plain weight and enough work for 2 threads: each thread
    // gathers its blocks and packs the weight's panels in turn.
    checkConvS8(16, 20, 20, 40, 3, 3, 1, 1, 0, true);
  }
}

/// A K at which the kernels' unsigned dot products (a + 128) leave the i32
/// range though the true sum does not: 70000 * 255 * 127 > 2^31 >
/// 70000 * 127 * 127. Their wrapping arithmetic must still give it exactly.
TEST(GemmS8, IntermediateSumsWrap) {
  const int64_t k = 70000, n = 33;
  std::vector<int8_t> a(k, 127), b(n * k, 127);
  float sa = 1.0f;
  std::vector<float> sb(n, 1.0f), c(n);
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    lattice_uk_gemm_s8(addr(a.data()), addr(&sa), 0, addr(b.data()),
                       addr(sb.data()), addr(c.data()), 1, n, k, 0, 1);
    for (int64_t j = 0; j < n; ++j)
      ASSERT_EQ(c[j], float(int32_t(k * 127 * 127))) << "column " << j;
  }
}

TEST(GemmS8, BitExact) {
  for (const KernelConfig &config : kernelConfigs()) {
    SCOPED_TRACE(config.name());
    ASSERT_TRUE(config.select());
    for (int64_t flags :
         {int64_t(0), int64_t(LATTICE_UK_A_PER_ROW),
          int64_t(LATTICE_UK_A_ZERO_POINT | LATTICE_UK_SCALE_F16),
          int64_t(LATTICE_UK_A_UNSIGNED | LATTICE_UK_A_ZERO_POINT |
                  LATTICE_UK_A_PER_ROW),
          int64_t(LATTICE_UK_B_PACKED | LATTICE_UK_A_PER_ROW)}) {
      SCOPED_TRACE(flags);
      checkS8(1, 1, 1, flags);
      checkS8(8, 32, 16, flags);
      checkS8(13, 33, 17, flags);
      checkS8(64, 73, 130, flags);
      checkS8(50, 100, 3, flags);
      checkS8(97, 40, 45, flags); // three blocks, tiles of 8 and 9 rows
    }
  }
}
} // namespace
