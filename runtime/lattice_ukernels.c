/*===- lattice_ukernels.c - Microkernels called by compiled models --------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Float activations times 4-bit weights (W4A16). The weights are read in
 * the packed layout of docs/WeightLayout.md: byte i of a row holds codes 2i
 * (low nibble) and 2i + 1 (high nibble). Instead of reordering the codes,
 * the kernel splits each activation row once into its even and odd
 * elements, so that the low nibbles of 16 bytes pair with 16 even
 * activations and the high nibbles with 16 odd ones. A nibble becomes its
 * dequantized value with one table lookup across lanes (vpermps): the
 * 16-entry table holds (code - zero point) * scale for the group, built once
 * per group and row. The arithmetic is the op's: f32(q - z) * s, then a
 * fused multiply-add per element into 16 lane accumulators.
 *
 *===----------------------------------------------------------------------===*/

#include "lattice_ukernels.h"
#include "lattice_half.h"
#include "lattice_threads.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct {
  const float *x; /* [M, K] */
  const uint8_t *q;
  const void *s, *z;
  float *y; /* [M, N] */
  int64_t m, n, k, g, flags;
  const float *even, *odd; /* [M, K / 2]: x split by parity */
} problem;

static float scale_at(const problem *p, int64_t index) {
  if (p->flags & LATTICE_UK_SCALE_F16)
    return lattice_half_to_float(((const uint16_t *)p->s)[index]);
  return ((const float *)p->s)[index];
}

static int32_t zero_at(const problem *p, int64_t index) {
  if (!(p->flags & LATTICE_UK_ZERO_POINT))
    return 0;
  switch ((p->flags >> LATTICE_UK_ZERO_POINT_SHIFT) & 0xff) {
  case 8:
    return ((const int8_t *)p->z)[index];
  case 16:
    return ((const int16_t *)p->z)[index];
  case 32:
    return ((const int32_t *)p->z)[index];
  default:
    return (int32_t)((const int64_t *)p->z)[index];
  }
}

static int32_t code_at(const problem *p, int64_t row, int64_t col) {
  int64_t half = p->k / 2, offset = row * half + col / 2;
  if ((p->flags & LATTICE_UK_ROWS4) && row < p->n / 4 * 4) {
    int64_t byte = col / 2;
    offset = row / 4 * 4 * half + byte / 16 * 64 + row % 4 * 16 + byte % 16;
  }
  uint8_t byte = p->q[offset];
  int32_t nibble = (col & 1) ? byte >> 4 : byte & 0xf;
  if (!(p->flags & LATTICE_UK_UNSIGNED) && nibble >= 8)
    nibble -= 16;
  return nibble;
}

/* Rows [begin, end) of every output row, one element at a time. */
static void rows_generic(const problem *p, int64_t begin, int64_t end) {
  int64_t groups = p->k / p->g;
  for (int64_t row = begin; row < end; ++row)
    for (int64_t i = 0; i < p->m; ++i) {
      float acc = 0.0f;
      for (int64_t group = 0; group < groups; ++group) {
        float s = scale_at(p, row * groups + group);
        int32_t z = zero_at(p, row * groups + group);
        for (int64_t c = group * p->g; c < (group + 1) * p->g; ++c) {
          float w = (float)(code_at(p, row, c) - z) * s;
          acc = __builtin_fmaf(p->x[i * p->k + c], w, acc);
        }
      }
      p->y[i * p->n + row] = acc;
    }
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

/* Groups per row whose scales are staged as f32 (see rows_avx512_with). */
#define MAX_STAGED_GROUPS 512

/* Lane c holds the code of nibble c: c (u4) or c - 16 for c >= 8 (s4). */
AVX512 __attribute__((always_inline)) static inline __m512
codes_of(int64_t flags) {
  if (flags & LATTICE_UK_UNSIGNED)
    return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1);
}

/* The dequantization table of one group: lane c holds (code(c) - z) * s. */
AVX512 __attribute__((always_inline)) static inline __m512
group_table(const problem *p, int64_t flags, int64_t index) {
  __m512 codes = codes_of(flags);
  if (flags & LATTICE_UK_ZERO_POINT)
    codes = _mm512_sub_ps(codes, _mm512_set1_ps((float)zero_at(p, index)));
  float scale = (flags & LATTICE_UK_SCALE_F16)
                    ? _cvtsh_ss(((const uint16_t *)p->s)[index])
                    : ((const float *)p->s)[index];
  return _mm512_mul_ps(codes, _mm512_set1_ps(scale));
}

/* Rows per block: the kernel's register tile, and the interleave factor of
   LATTICE_UK_ROWS4. */
#define ROWS 4
/* Software prefetch distance along a row of codes. */
#define PREFETCH_BYTES 256

/* Rows [begin, end) in blocks of ROWS; needs g % 32 == 0. Each row keeps
   two accumulators (even and odd columns) so that consecutive fused
   multiply-adds do not wait on each other. */
AVX512 __attribute__((always_inline)) static inline void
rows_avx512_with(const problem *p, int64_t flags, int64_t begin, int64_t end) {
  int64_t groups = p->k / p->g, half = p->k / 2, bytesPerGroup = p->g / 2;
  // Linear rows: chunk j of row r at codes[r] + j. Interleaved rows: at
  // codes[r] + 4 j, one stream for the block's rows.
  const int interleaved = (flags & LATTICE_UK_ROWS4) != 0;
  const int64_t stride = interleaved ? ROWS : 1;
  // f16 scales of a block's rows are converted 16 at a time up front.
  const int staged = (flags & LATTICE_UK_SCALE_F16) &&
                     !(flags & LATTICE_UK_ZERO_POINT) && groups % 16 == 0 &&
                     groups <= MAX_STAGED_GROUPS;
  float scales[ROWS][MAX_STAGED_GROUPS];
  int64_t row = begin;
  for (; row + ROWS <= end; row += ROWS) {
    const uint8_t *codes[ROWS];
    for (int r = 0; r < ROWS; ++r)
      codes[r] =
          interleaved ? p->q + row * half + 16 * r : p->q + (row + r) * half;
    if (staged)
      for (int r = 0; r < ROWS; ++r)
        for (int64_t g16 = 0; g16 < groups; g16 += 16)
          _mm512_storeu_ps(&scales[r][g16],
                           _mm512_cvtph_ps(_mm256_loadu_si256(
                               (const __m256i *)((const uint16_t *)p->s +
                                                 (row + r) * groups + g16))));
    for (int64_t i = 0; i < p->m; ++i) {
      const float *even = p->even + i * half, *odd = p->odd + i * half;
      __m512 accEven[ROWS], accOdd[ROWS];
      for (int r = 0; r < ROWS; ++r) {
        accEven[r] = _mm512_setzero_ps();
        accOdd[r] = _mm512_setzero_ps();
      }
      for (int64_t group = 0; group < groups; ++group) {
        __m512 table[ROWS];
        for (int r = 0; r < ROWS; ++r)
          table[r] = staged ? _mm512_mul_ps(codes_of(flags),
                                            _mm512_set1_ps(scales[r][group]))
                            : group_table(p, flags, (row + r) * groups + group);
        for (int64_t j = group * bytesPerGroup; j < (group + 1) * bytesPerGroup;
             j += 16) {
          __m512 xe = _mm512_loadu_ps(even + j);
          __m512 xo = _mm512_loadu_ps(odd + j);
          for (int r = 0; r < ROWS; ++r) {
            if (interleaved ? r == 0 : (j & 63) == 0)
              _mm_prefetch((const char *)(codes[r] + stride * j +
                                          stride * PREFETCH_BYTES),
                           _MM_HINT_T0);
            __m512i low = _mm512_cvtepu8_epi32(
                _mm_loadu_si128((const __m128i *)(codes[r] + stride * j)));
            __m512i high = _mm512_srli_epi32(low, 4);
            accEven[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(low, table[r]),
                                         xe, accEven[r]);
            accOdd[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(high, table[r]),
                                        xo, accOdd[r]);
          }
        }
      }
      for (int r = 0; r < ROWS; ++r)
        p->y[i * p->n + row + r] =
            _mm512_reduce_add_ps(_mm512_add_ps(accEven[r], accOdd[r]));
    }
  }
  rows_generic(p, row, end);
}

/* rows_avx512_with specialized for the common flag sets, so that the
   table construction has no branches. */
AVX512 static void rows_avx512(const problem *p, int64_t begin, int64_t end) {
  const int64_t kind = LATTICE_UK_UNSIGNED | LATTICE_UK_SCALE_F16 |
                       LATTICE_UK_ZERO_POINT | LATTICE_UK_ROWS4;
  switch (p->flags & kind) {
  case LATTICE_UK_SCALE_F16 | LATTICE_UK_ROWS4:
    return rows_avx512_with(p, LATTICE_UK_SCALE_F16 | LATTICE_UK_ROWS4, begin,
                            end);
  case LATTICE_UK_SCALE_F16:
    return rows_avx512_with(p, LATTICE_UK_SCALE_F16, begin, end);
  default:
    return rows_avx512_with(p, p->flags, begin, end);
  }
}
#endif

typedef struct {
  const problem *p;
  int vectorized;
} gemv_work;

/* Blocks [begin, end) of 16 rows. */
static void gemv_blocks(void *context, int64_t begin, int64_t end) {
  const gemv_work *w = context;
  for (int64_t b = begin; b < end; ++b) {
    int64_t first = b * 16, last = first + 16 < w->p->n ? first + 16 : w->p->n;
#if defined(__x86_64__)
    if (w->vectorized) {
      rows_avx512(w->p, first, last);
      continue;
    }
#endif
    rows_generic(w->p, first, last);
  }
}

void lattice_uk_matmul_f32_q4(int64_t x, int64_t q, int64_t s, int64_t z,
                              int64_t y, int64_t m, int64_t n, int64_t k,
                              int64_t g, int64_t flags, int64_t threads) {
  problem p = {(const float *)(intptr_t)x,
               (const uint8_t *)(intptr_t)q,
               (const void *)(intptr_t)s,
               (const void *)(intptr_t)z,
               (float *)(intptr_t)y,
               m,
               n,
               k,
               g,
               flags,
               NULL,
               NULL};
  int vectorized = 0;
  float *split = NULL;
#if defined(__x86_64__)
  /* The AVX-512 level (lattice_uk_level) also has F16C. */
  if (g % 32 == 0 && lattice_uk_level() >= LATTICE_UK_LEVEL_AVX512)
    split = malloc(sizeof(float) * (size_t)(m * k));
  if (split) {
    /* Activations by parity: even[i][j] = x[i][2j], odd[i][j] = x[i][2j+1]. */
    int64_t half = k / 2;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < half; ++j) {
        split[i * half + j] = p.x[i * k + 2 * j];
        split[m * half + i * half + j] = p.x[i * k + 2 * j + 1];
      }
    p.even = split;
    p.odd = split + m * half;
    vectorized = 1;
  }
#endif
  /* Blocks of 16 rows (a multiple of ROWS) on the pool's threads, at most
     `threads` of them. */
  int64_t blocks = (n + 15) / 16;
  int previous = lattice_get_call_threads();
  if (threads > 0 && threads < previous)
    lattice_set_call_threads((int)threads);
  gemv_work w = {&p, vectorized};
  lattice_parallel_for(gemv_blocks, &w, 0, blocks, 1);
  lattice_set_call_threads(previous);
  free(split);
}
