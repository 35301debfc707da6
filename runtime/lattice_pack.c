/*===- lattice_pack.c - Panel layouts of the GEMM microkernels ------------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Packing of B into the panels of lattice_pack.h. Portable C: the compiler
 * (lattice-compile) and the kernels (at run time, for B that is not a
 * prepacked weight) share it.
 *
 *===----------------------------------------------------------------------===*/

#include "lattice_pack.h"

#include <string.h>

#define NR LATTICE_PACK_NR

int64_t lattice_pack_f32_panel_bytes(int64_t k) {
  return k * NR * (int64_t)sizeof(float);
}

int64_t lattice_pack_s8_panel_bytes(int64_t k) {
  return (k + 3) / 4 * 4 * NR + NR * (int64_t)sizeof(int32_t);
}

int64_t lattice_pack_panels(int64_t n) { return (n + NR - 1) / NR; }

void lattice_pack_f32_panel(const float *b, int64_t b_k, int64_t b_n,
                            int64_t n0, int64_t n, int64_t k, float *panel) {
  int64_t cols = n - n0 < NR ? n - n0 : NR;
  if (b_n == 1) {
    /* Rows of B are contiguous along n: one copy per k. */
    for (int64_t kk = 0; kk < k; ++kk) {
      memcpy(panel + kk * NR, b + kk * b_k + n0, sizeof(float) * cols);
      memset(panel + kk * NR + cols, 0, sizeof(float) * (NR - cols));
    }
    return;
  }
  /* A column of the panel is a row of a weight [N, K] (b_k == 1), or any
     stride: 8 x 8 blocks keep both sides' accesses local. */
  for (int64_t k0 = 0; k0 < k; k0 += 8) {
    int64_t kn = k - k0 < 8 ? k - k0 : 8;
    for (int64_t j = 0; j < NR; ++j) {
      float *out = panel + k0 * NR + j;
      if (j >= cols) {
        for (int64_t kk = 0; kk < kn; ++kk)
          out[kk * NR] = 0.0f;
        continue;
      }
      const float *in = b + (n0 + j) * b_n + k0 * b_k;
      for (int64_t kk = 0; kk < kn; ++kk)
        out[kk * NR] = in[kk * b_k];
    }
  }
}

void lattice_pack_s8_panel(const int8_t *w, int64_t n0, int64_t n, int64_t k,
                           int8_t *panel) {
  int64_t cols = n - n0 < NR ? n - n0 : NR;
  int64_t k4 = (k + 3) / 4 * 4;
  int32_t sums[NR] = {0};
  memset(panel, 0, (size_t)(k4 * NR));
  for (int64_t j = 0; j < cols; ++j) {
    const int8_t *row = w + (n0 + j) * k;
    int32_t sum = 0;
    for (int64_t kk = 0; kk < k; ++kk) {
      panel[(kk / 4) * NR * 4 + j * 4 + (kk % 4)] = row[kk];
      sum += row[kk];
    }
    sums[j] = sum;
  }
  memcpy(panel + k4 * NR, sums, sizeof(sums));
}

void lattice_winograd_f32_weights(const float g[9][NR], int64_t lanes, float *u,
                                  int64_t stride) {
  for (int64_t l = 0; l < lanes; ++l) {
    float t[4][3];
    for (int j = 0; j < 3; ++j) { /* G g */
      t[0][j] = g[j][l];
      t[1][j] = 0.5f * (g[j][l] + g[3 + j][l] + g[6 + j][l]);
      t[2][j] = 0.5f * (g[j][l] - g[3 + j][l] + g[6 + j][l]);
      t[3][j] = g[6 + j][l];
    }
    for (int i = 0; i < 4; ++i) { /* (G g) G^T */
      u[(4 * i) * stride + l] = t[i][0];
      u[(4 * i + 1) * stride + l] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      u[(4 * i + 2) * stride + l] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      u[(4 * i + 3) * stride + l] = t[i][2];
    }
  }
}

int64_t lattice_pack_winograd_f32_bytes(int64_t m, int64_t c) {
  return 16 * m * c * (int64_t)sizeof(float);
}

void lattice_pack_winograd_f32(const float *w, int64_t m, int64_t c, float *u) {
  for (int64_t o0 = 0; o0 < m; o0 += NR) {
    int64_t lanes = m - o0 < NR ? m - o0 : NR;
    for (int64_t ch = 0; ch < c; ++ch) {
      float g[9][NR];
      for (int t = 0; t < 9; ++t)
        for (int64_t l = 0; l < lanes; ++l)
          g[t][l] = w[(o0 + l) * c * 9 + ch * 9 + t];
      /* U[xi] is [C, M]: element (ch, o0 + l) of matrix xi. */
      lattice_winograd_f32_weights(g, lanes, u + ch * m + o0, c * m);
    }
  }
}
