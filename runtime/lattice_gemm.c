/*===- lattice_gemm.c - Packed matrix-multiply microkernels ---------------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * GEMM in the GotoBLAS/BLIS shape, for the matmuls of compiled models:
 *
 * - B is packed into panels of 32 columns: panel[p][j] = B(p, n0 + j), K
 *   rows of 32 floats (or, for 8-bit codes, K/4 rows of 32 x 4 bytes: four
 *   consecutive k of a column side by side, the operand order of vpdpbusd).
 *   Columns past N are zero. A panel is packed once per thread and reused
 *   for every row of A that the thread computes against it; from B in any
 *   strides (a weight [N, K], an activation [K, N]), or dequantized from
 *   4-bit codes, so that dequantization is paid once per weight and call,
 *   not once per row of A.
 * - A is read in place, row-major with unit stride along K: the register
 *   tile broadcasts one element of each of MR rows per step of k. A
 *   convolution's im2col matrix is never built: the tiles take runs of
 *   output pixels along a row, and a table of offsets in the input for the
 *   k (conv_offsets).
 * - The register tile is MR rows x 32 columns of accumulators: 12 x 2 zmm on
 *   AVX-512, 6 x 2 ymm (one half panel at a time) on AVX2, and a portable
 *   loop elsewhere.
 * - The units of work, (batch, panel, block of rows), panel-major, are cut
 *   into runs that the threads of the pool (lattice_threads.h) claim one at
 *   a time, a few runs per thread: a thread repacks a panel only when its
 *   run moves to the next one, and a thread that the OS deschedules leaves
 *   its runs to the others.
 *
 * The level is chosen at run time from the CPU (and LATTICE_UKERNELS =
 * generic, avx2 or avx512, to test the others on one machine).
 *
 *===----------------------------------------------------------------------===*/

#include "lattice_epilogue.h"
#include "lattice_half.h"
#include "lattice_lanes.h"
#include "lattice_pack.h"
#include "lattice_threads.h"
#include "lattice_ukernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Columns of a packed panel (lattice_pack.h). */
#define NR LATTICE_PACK_NR
/* The most rows of A per unit of work: blocks of rows are balanced to at
   most MB (block_start), MB_CONV for convolutions. */
#define MB 48
#define MB_CONV 256
/* Units of work per thread that a convolution's blocks make at least. */
#define RUNS_WANTED 4
/* Steps of k in a chunk of a convolution's weight panel (conv_chunk): 32 KB,
   in the L1 cache with the input rows the tiles read. */
#define CONV_CHUNK_K 256
/* The rows of AVX-512's register tiles (tile_f32_avx512_rows), the level
   whose tiles share out the prefetches of a chunk (conv_chunk). */
#define MR_AVX512 12

/* The largest weight (bytes) of a GEMM that every thread reads whole when
   the threads split its rows (gemm_f32, gemm_s8): a few of them stay in
   each core's 2 MB L2. */
#define SHARED_WEIGHT_BYTES (256 << 10)

/*===----------------------------------------------------------------------===*/
/* Dispatch                                                                  */
/*===----------------------------------------------------------------------===*/

/* The level lattice_uk_select_level chose, or -1. */
static int selected_level = -1;

/* The vector level of this CPU. */
static int hardware_level(void) {
  int level = LATTICE_UK_LEVEL_GENERIC;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    level = LATTICE_UK_LEVEL_AVX2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    level = LATTICE_UK_LEVEL_AVX512;
#endif
  return level;
}

static int level_of(const char *name) {
  if (!strcmp(name, "generic"))
    return LATTICE_UK_LEVEL_GENERIC;
  if (!strcmp(name, "avx2"))
    return LATTICE_UK_LEVEL_AVX2;
  if (!strcmp(name, "avx512"))
    return LATTICE_UK_LEVEL_AVX512;
  return -1;
}

int lattice_uk_select_level(const char *name) {
  int level = name ? level_of(name) : -1;
  if (level < 0 || level > hardware_level())
    return -1;
  selected_level = level;
  return 0;
}

/* The level the kernels use: the selected one, else this CPU's, capped by
   LATTICE_UKERNELS. */
int lattice_uk_level(void) {
  if (selected_level >= 0)
    return selected_level;
  static int cached = -1;
  if (cached >= 0)
    return cached;
  int level = hardware_level();
  const char *choice = getenv("LATTICE_UKERNELS");
  int wanted = choice ? level_of(choice) : -1;
  if (wanted >= 0 && wanted < level)
    level = wanted;
  cached = level;
  return level;
}

/* Whether the CPU has AVX512-VNNI (vpdpbusd on zmm). */
static int cpu_has_vnni(void) {
#if defined(__x86_64__)
  return lattice_uk_level() == LATTICE_UK_LEVEL_AVX512 &&
         __builtin_cpu_supports("avx512vnni");
#else
  return 0;
#endif
}

/*===----------------------------------------------------------------------===*/
/* f32 GEMM                                                                  */
/*===----------------------------------------------------------------------===*/

/* A 2-D convolution of a padded NCHW input x [N, C, HP, WP] with KH x KW
   windows at strides SH, SW and dilations DH, DW: OH x OW outputs. */
typedef struct conv_geometry {
  const float *x;
  int64_t n, c, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw;
  /* An f32 NCHW output's rows and planes: ow and oh * ow apart, or more
     inside a frame (LATTICE_UK_OUT_FRAME_*); its residual's rows. */
  int64_t y_row, y_plane, r_row;
} conv_geometry;

typedef struct {
  const float *a;
  const void *b;
  float *c;
  int64_t batch, m, n, k;
  int64_t a_batch, a_row;
  int64_t b_batch, b_k, b_n;
  int64_t c_batch, c_row;
  int64_t flags;
  /* 4-bit B: scales, zero points and group size (LATTICE_UK_B_Q4). */
  const void *b_scale, *b_zero;
  int64_t group;
  /* A convolution's im2col matrix as A, read in place (conv_offsets). */
  const struct conv_geometry *conv;
  /* A is a weight [M, K] in the f32 panels of lattice_pack.h (rows in
     groups of 32, k-major): blocks are its panels. */
  int a_panels;
  /* A convolution's NCHW output: the epilogue of its results, whose
     output channels are C's columns (a convolution's im2col matrix as A)
     or its rows (a_panels: the weight as A). */
  const lattice_epilogue *epilogue;
  /* The tiles go on from the sums in C instead of from zero (a chunk of
     k after the one before, conv_chunk: the same sums in the same order
     as in one pass). */
  int resume;
  /* What the AVX-512 tiles prefetch at step k: prefetch + k *
     prefetch_step (and the line after), or, without it, the panel
     PREFETCH_BYTES ahead. */
  const char *prefetch;
  int64_t prefetch_step;
} f32_problem;

/* The 4-bit code of B(k, n) (a [N, K] weight packed two codes a byte). */
static int32_t q4_code(const f32_problem *p, int64_t n, int64_t k) {
  uint8_t byte = ((const uint8_t *)p->b)[n * (p->k / 2) + k / 2];
  int32_t code = (k & 1) ? byte >> 4 : byte & 0xf;
  if (!(p->flags & LATTICE_UK_UNSIGNED) && code >= 8)
    code -= 16;
  return code;
}

/* Element `index` of a zero-point array of `bits`-bit integers, or 0 when
   there is none. */
static int32_t zero_point_at(const void *zero, int64_t bits, int64_t index) {
  if (!zero)
    return 0;
  switch (bits) {
  case 8:
    return ((const int8_t *)zero)[index];
  case 16:
    return ((const int16_t *)zero)[index];
  case 32:
    return ((const int32_t *)zero)[index];
  default:
    return (int32_t)((const int64_t *)zero)[index];
  }
}

/* The scale and zero point (0 without LATTICE_UK_ZERO_POINT) of group
   `index` (column * groups + group) of a 4-bit weight. */
static void q4_scale_zero(const f32_problem *p, int64_t index, float *scale,
                          float *zero) {
  *scale = (p->flags & LATTICE_UK_SCALE_F16)
               ? lattice_half_to_float(((const uint16_t *)p->b_scale)[index])
               : ((const float *)p->b_scale)[index];
  *zero = (p->flags & LATTICE_UK_ZERO_POINT)
              ? (float)zero_point_at(
                    p->b_zero, (p->flags >> LATTICE_UK_ZERO_POINT_SHIFT) & 0xff,
                    index)
              : 0.0f;
}

/* The groups of a row of a 4-bit weight: the last one shorter when the
   group size does not divide K. */
static int64_t q4_groups(const f32_problem *p) {
  return (p->k + p->group - 1) / p->group;
}

/* Packs columns [n0, n0 + 32) of a 4-bit grouped weight, dequantized:
   (code - zero point) * scale, in f32, the arithmetic of the op. */
static void pack_q4(const f32_problem *p, int64_t n0, float *panel) {
  int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
  int64_t groups = q4_groups(p);
  for (int64_t j = 0; j < NR; ++j) {
    float *out = panel + j;
    if (j >= cols) {
      for (int64_t k = 0; k < p->k; ++k)
        out[k * NR] = 0.0f;
      continue;
    }
    int64_t n = n0 + j;
    for (int64_t g = 0; g < groups; ++g) {
      float scale, zero;
      q4_scale_zero(p, n * groups + g, &scale, &zero);
      /* Codes and zero points are small integers: code - zero is exact. */
      int64_t end = (g + 1) * p->group < p->k ? (g + 1) * p->group : p->k;
      for (int64_t k = g * p->group; k < end; ++k)
        out[k * NR] = ((float)q4_code(p, n, k) - zero) * scale;
    }
  }
}

#if defined(__x86_64__)
#define AVX512_PACK __attribute__((target("avx512f,avx512bw,avx512vl")))

/* pack_q4 for groups and a K that are multiples of 16: 16 codes of a
   column decoded in one vector, 16 columns transposed into 16 rows of the
   panel, instead of one strided store per element. The same arithmetic. */
AVX512_PACK static void pack_q4_avx512(const f32_problem *p, int64_t n0,
                                       float *panel) {
  int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
  int64_t groups = q4_groups(p), row_bytes = p->k / 2;
  const uint8_t *codes = p->b;
  int is_signed = !(p->flags & LATTICE_UK_UNSIGNED);
  for (int64_t j0 = 0; j0 < NR; j0 += 16) {
    for (int64_t g = 0; g < groups; ++g) {
      float scale[16], zero[16];
      for (int64_t j = 0; j < 16; ++j) {
        scale[j] = zero[j] = 0.0f;
        if (j0 + j < cols)
          q4_scale_zero(p, (n0 + j0 + j) * groups + g, &scale[j], &zero[j]);
      }
      int64_t end = (g + 1) * p->group < p->k ? (g + 1) * p->group : p->k;
      for (int64_t k0 = g * p->group; k0 < end; k0 += 16) {
        __m512 r[16];
        for (int64_t j = 0; j < 16; ++j) {
          if (j0 + j >= cols) {
            r[j] = _mm512_setzero_ps();
            continue;
          }
          __m128i bytes = _mm_loadl_epi64(
              (const __m128i *)(codes + (n0 + j0 + j) * row_bytes + k0 / 2));
          __m128i mask = _mm_set1_epi8(0x0f);
          /* Element 2i is byte i's low nibble, 2i + 1 its high one. */
          __m128i nibbles =
              _mm_unpacklo_epi8(_mm_and_si128(bytes, mask),
                                _mm_and_si128(_mm_srli_epi16(bytes, 4), mask));
          __m512i code = _mm512_cvtepu8_epi32(nibbles);
          if (is_signed) /* codes 8 .. 15 are -8 .. -1 */
            code =
                _mm512_sub_epi32(_mm512_xor_si512(code, _mm512_set1_epi32(8)),
                                 _mm512_set1_epi32(8));
          r[j] = _mm512_mul_ps(
              _mm512_sub_ps(_mm512_cvtepi32_ps(code), _mm512_set1_ps(zero[j])),
              _mm512_set1_ps(scale[j]));
        }
        lattice_transpose16(r);
        for (int64_t t = 0; t < 16; ++t)
          _mm512_storeu_ps(panel + (k0 + t) * NR + j0, r[t]);
      }
    }
  }
}

/* lattice_pack_f32_panel of a B read along K with unit stride (b_k == 1:
   a weight [N, K], or the keys of attention read in place): 16 columns of
   16 values of K at a time, transposed in registers. */
AVX512_PACK static void pack_f32_columns_avx512(const float *b, int64_t b_n,
                                                int64_t n0, int64_t n,
                                                int64_t k, float *panel) {
  int64_t cols = n - n0 < NR ? n - n0 : NR;
  for (int64_t j0 = 0; j0 < NR; j0 += 16) {
    for (int64_t k0 = 0; k0 < k; k0 += 16) {
      int64_t kn = k - k0 < 16 ? k - k0 : 16;
      __mmask16 lanes = (__mmask16)((1u << kn) - 1);
      __m512 r[16];
      for (int64_t j = 0; j < 16; ++j)
        r[j] = j0 + j < cols
                   ? _mm512_maskz_loadu_ps(lanes, b + (n0 + j0 + j) * b_n + k0)
                   : _mm512_setzero_ps();
      lattice_transpose16(r);
      for (int64_t t = 0; t < kn; ++t)
        _mm512_storeu_ps(panel + (k0 + t) * NR + j0, r[t]);
    }
  }
}
#endif

/* lattice_pack_f32_panel of a B whose rows are contiguous along N (b_n ==
   1: an NCHW activation [C, H * W] that a 1 x 1 convolution multiplies by
   its weight, the values of attention): per k, two masked 16-float loads
   and stores, instead of a call of memcpy and one of memset (MobileNetV3
   1-2 % faster). */
AVX512_PACK static void pack_f32_rows_avx512(const float *b, int64_t b_k,
                                             int64_t n0, int64_t n, int64_t k,
                                             float *panel) {
  _Static_assert(NR == 32, "two 16-float vectors per panel row");
  int64_t cols = n - n0 < NR ? n - n0 : NR;
  __mmask16 low =
      cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
  __mmask16 high = cols <= 16   ? (__mmask16)0
                   : cols >= 32 ? (__mmask16)0xFFFF
                                : (__mmask16)((1u << (cols - 16)) - 1);
  const float *row = b + n0;
  for (int64_t kk = 0; kk < k; ++kk, row += b_k) {
    _mm512_storeu_ps(panel + kk * NR, _mm512_maskz_loadu_ps(low, row));
    _mm512_storeu_ps(panel + kk * NR + 16,
                     _mm512_maskz_loadu_ps(high, row + 16));
  }
}

/* The panel of columns [n0, n0 + 32) of batch `bi`: packed into `buffer`,
   or where a prepacked B holds it. */
static const float *pack_f32(const f32_problem *p, int64_t bi, int64_t n0,
                             float *buffer) {
  if (p->flags & LATTICE_UK_B_PACKED)
    return (const float *)((const char *)p->b +
                           (n0 / NR) * lattice_pack_f32_panel_bytes(p->k));
  if (p->flags & LATTICE_UK_B_Q4) {
#if defined(__x86_64__)
    if (p->group % 16 == 0 && p->k % 16 == 0 &&
        lattice_uk_level() == LATTICE_UK_LEVEL_AVX512) {
      pack_q4_avx512(p, n0, buffer);
      return buffer;
    }
#endif
    pack_q4(p, n0, buffer);
    return buffer;
  }
#if defined(__x86_64__)
  if (p->b_k == 1 && p->b_n != 1 &&
      lattice_uk_level() == LATTICE_UK_LEVEL_AVX512) {
    pack_f32_columns_avx512((const float *)p->b + bi * p->b_batch, p->b_n, n0,
                            p->n, p->k, buffer);
    return buffer;
  }
  if (p->b_n == 1 && lattice_uk_level() == LATTICE_UK_LEVEL_AVX512) {
    pack_f32_rows_avx512((const float *)p->b + bi * p->b_batch, p->b_k, n0,
                         p->n, p->k, buffer);
    return buffer;
  }
#endif
  lattice_pack_f32_panel((const float *)p->b + bi * p->b_batch, p->b_k, p->b_n,
                         n0, p->n, p->k, buffer);
  return buffer;
}

/* C rows [m0, m0 + mr) x columns [n0, n0 + cols) from a packed panel: the
   portable register tile. Element (i, k) of A is a[i * p->a_row + k], or
   a[i * p->a_row + offsets[k]] when there are offsets (a convolution). */
static void tile_f32_generic(const f32_problem *p, const float *a,
                             const int64_t *offsets, const float *panel,
                             float *c, int64_t mr, int64_t cols) {
  for (int64_t i = 0; i < mr; ++i) {
    float acc[NR] = {0};
    float *out = c + i * p->c_row;
    if (p->resume)
      for (int64_t j = 0; j < cols; ++j)
        acc[j] = out[j];
    const float *row = a + i * p->a_row;
    for (int64_t k = 0; k < p->k; ++k) {
      float x = offsets ? row[offsets[k]] : row[k];
      for (int j = 0; j < NR; ++j)
        acc[j] = __builtin_fmaf(x, panel[k * NR + j], acc[j]);
    }
    for (int64_t j = 0; j < cols; ++j)
      out[j] = (p->flags & LATTICE_UK_ACCUMULATE) ? out[j] + acc[j] : acc[j];
  }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/* Stores `cols` (< 32) lanes of a 32-wide row held in a buffer. */
static void store_partial(float *out, const float *row, int64_t cols,
                          int accumulate) {
  for (int64_t j = 0; j < cols; ++j)
    out[j] = accumulate ? out[j] + row[j] : row[j];
}

/* Calls `fn(args..., mr)` with mr as a constant in 1..12 (the always-inline
   tile bodies then keep their accumulators in registers). */
#define DISPATCH_ROWS(mr, fn, ...)                                             \
  do {                                                                         \
    switch (mr) {                                                              \
    case 12:                                                                   \
      fn(__VA_ARGS__, 12);                                                     \
      break;                                                                   \
    case 11:                                                                   \
      fn(__VA_ARGS__, 11);                                                     \
      break;                                                                   \
    case 10:                                                                   \
      fn(__VA_ARGS__, 10);                                                     \
      break;                                                                   \
    case 9:                                                                    \
      fn(__VA_ARGS__, 9);                                                      \
      break;                                                                   \
    case 8:                                                                    \
      fn(__VA_ARGS__, 8);                                                      \
      break;                                                                   \
    case 7:                                                                    \
      fn(__VA_ARGS__, 7);                                                      \
      break;                                                                   \
    case 6:                                                                    \
      fn(__VA_ARGS__, 6);                                                      \
      break;                                                                   \
    case 5:                                                                    \
      fn(__VA_ARGS__, 5);                                                      \
      break;                                                                   \
    case 4:                                                                    \
      fn(__VA_ARGS__, 4);                                                      \
      break;                                                                   \
    case 3:                                                                    \
      fn(__VA_ARGS__, 3);                                                      \
      break;                                                                   \
    case 2:                                                                    \
      fn(__VA_ARGS__, 2);                                                      \
      break;                                                                   \
    default:                                                                   \
      fn(__VA_ARGS__, 1);                                                      \
      break;                                                                   \
    }                                                                          \
  } while (0)

/* The most rows of any register tile (the size of the tiles' accumulator
   arrays, whatever their level's MR). */
#define MR_MAX 12

/* The tiles read a panel's 128 bytes a step: they ask for those they will
   read PREFETCH_BYTES later. Weights stream from memory once per call, and
   the hardware prefetcher starts late on each panel (the weights of a
   whole model's GEMMs took up to a fifth more time without this); past a
   panel's end this fetches the next one, which the same thread reads next
   when its run of units goes on. */
#define PREFETCH_BYTES 8192

__attribute__((always_inline)) static inline void
prefetch_lines(const char *p) {
  _mm_prefetch(p, _MM_HINT_T0);
  _mm_prefetch(p + 64, _MM_HINT_T0);
}

/* AVX-512: `mr` rows (MR_AVX512 at most) x 32 columns in 2 * mr zmm
   accumulators, or x 16 columns in mr of them (`vectors` = 1) when the
   panel's columns past the first 16 are padding: the last panel of N = 16,
   40, 48 or 72, where the second half's multiply-adds were half the work
   for nothing. */
AVX512 __attribute__((always_inline)) static inline void
tile_f32_avx512_rows(const f32_problem *p, const float *a,
                     const int64_t *offsets, const float *panel, float *c,
                     int64_t cols, const int64_t lda, const int vectors,
                     const int mr) {
  __m512 acc[MR_AVX512][2];
  if (p->resume) {
    __mmask16 first = lattice_first_lanes(cols),
              second = cols > 16 ? lattice_first_lanes(cols - 16) : 0;
    for (int i = 0; i < mr; ++i) {
      acc[i][0] = _mm512_maskz_loadu_ps(first, c + i * p->c_row);
      acc[i][1] = _mm512_maskz_loadu_ps(second, c + i * p->c_row + 16);
    }
  } else {
    for (int i = 0; i < mr; ++i)
      acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  }
  const char *prefetch =
      p->prefetch ? p->prefetch : (const char *)panel + PREFETCH_BYTES;
  const int64_t prefetch_step =
      p->prefetch ? p->prefetch_step : NR * (int64_t)sizeof(float);
#define TILE_F32_AVX512_STEP(column)                                           \
  do {                                                                         \
    __m512 b0 = _mm512_loadu_ps(panel + k * NR);                               \
    __m512 b1 = vectors == 2 ? _mm512_loadu_ps(panel + k * NR + 16) : b0;      \
    prefetch_lines(prefetch + k * prefetch_step);                              \
    for (int i = 0; i < mr; ++i) {                                             \
      __m512 x = _mm512_set1_ps((column)[i * lda]);                            \
      acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);                           \
      if (vectors == 2)                                                        \
        acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);                         \
    }                                                                          \
  } while (0)
  /* Rows of A at a distance known at compile time (a convolution's, through
     offsets) go two steps of k at a time; rows lda apart at run time go one
     at a time: unrolled, the loads of A that the compiler hoists out of two
     steps do not fit in the registers, and the spills halve the speed. */
  if (offsets) {
#pragma clang loop unroll_count(2)
    for (int64_t k = 0; k < p->k; ++k)
      TILE_F32_AVX512_STEP(a + offsets[k]);
  } else {
#pragma clang loop unroll(disable)
    for (int64_t k = 0; k < p->k; ++k)
      TILE_F32_AVX512_STEP(a + k);
  }
#undef TILE_F32_AVX512_STEP
  int accumulate = (p->flags & LATTICE_UK_ACCUMULATE) != 0;
  for (int i = 0; i < mr; ++i) {
    float *out = c + i * p->c_row;
    if (vectors == 1) {
      __mmask16 mask = lattice_first_lanes(cols);
      if (accumulate)
        acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, acc[i][0]);
    } else if (cols == NR) {
      if (accumulate) {
        acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(out));
        acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(out + 16));
      }
      _mm512_storeu_ps(out, acc[i][0]);
      _mm512_storeu_ps(out + 16, acc[i][1]);
    } else {
      float row[NR] __attribute__((aligned(64)));
      _mm512_store_ps(row, acc[i][0]);
      _mm512_store_ps(row + 16, acc[i][1]);
      store_partial(out, row, cols, accumulate);
    }
  }
}

/* tile_f32_avx512_rows with `vectors` as a constant. */
#define TILE_F32_AVX512_VECTORS(cols, ...)                                     \
  do {                                                                         \
    if ((cols) <= 16)                                                          \
      DISPATCH_ROWS(__VA_ARGS__, 1);                                           \
    else                                                                       \
      DISPATCH_ROWS(__VA_ARGS__, 2);                                           \
  } while (0)

AVX512 static void tile_f32_avx512(const f32_problem *p, const float *a,
                                   const int64_t *offsets, const float *panel,
                                   float *c, int64_t mr, int64_t cols) {
  /* A convolution at stride 1 or 2: the pixels' distance as a constant, so
     that the broadcasts take one pointer and constant offsets (at twice
     the speed). */
  if (offsets && p->a_row == 1)
    TILE_F32_AVX512_VECTORS(cols, mr, tile_f32_avx512_rows, p, a, offsets,
                            panel, c, cols, 1);
  else if (offsets && p->a_row == 2)
    TILE_F32_AVX512_VECTORS(cols, mr, tile_f32_avx512_rows, p, a, offsets,
                            panel, c, cols, 2);
  else if (offsets)
    TILE_F32_AVX512_VECTORS(cols, mr, tile_f32_avx512_rows, p, a, offsets,
                            panel, c, cols, p->a_row);
  else
    TILE_F32_AVX512_VECTORS(cols, mr, tile_f32_avx512_rows, p, a, NULL, panel,
                            c, cols, p->a_row);
}
#undef TILE_F32_AVX512_VECTORS

/* AVX2: MR rows x 16 columns (half a panel) in 2 * MR ymm accumulators. */
#define MR_AVX2 6

AVX2 __attribute__((always_inline)) static inline void
tile_f32_avx2_rows(const f32_problem *p, const float *a, const int64_t *offsets,
                   const float *panel, float *c, int64_t cols,
                   const int64_t lda, const int mr) {
  int accumulate = (p->flags & LATTICE_UK_ACCUMULATE) != 0;
  for (int half = 0; half < 2; ++half) {
    int64_t first = 16 * half;
    if (first >= cols)
      break;
    int64_t n = cols - first < 16 ? cols - first : 16;
    __m256 acc[MR_MAX][2];
    for (int i = 0; i < mr; ++i) {
      if (p->resume) {
        float row[16] __attribute__((aligned(32))) = {0};
        memcpy(row, c + i * p->c_row + first, sizeof(float) * (size_t)n);
        acc[i][0] = _mm256_load_ps(row);
        acc[i][1] = _mm256_load_ps(row + 8);
      } else {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
      }
    }
    for (int64_t k = 0; k < p->k; ++k) {
      __m256 b0 = _mm256_loadu_ps(panel + k * NR + first);
      __m256 b1 = _mm256_loadu_ps(panel + k * NR + first + 8);
      const float *column = a + (offsets ? offsets[k] : k);
      for (int i = 0; i < mr; ++i) {
        __m256 x = _mm256_broadcast_ss(column + i * lda);
        acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
      }
    }
    for (int i = 0; i < mr; ++i) {
      float *out = c + i * p->c_row + first;
      if (n == 16) {
        if (accumulate) {
          acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(out));
          acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(out + 8));
        }
        _mm256_storeu_ps(out, acc[i][0]);
        _mm256_storeu_ps(out + 8, acc[i][1]);
      } else {
        float row[16] __attribute__((aligned(32)));
        _mm256_store_ps(row, acc[i][0]);
        _mm256_store_ps(row + 8, acc[i][1]);
        store_partial(out, row, n, accumulate);
      }
    }
  }
}

AVX2 static void tile_f32_avx2(const f32_problem *p, const float *a,
                               const int64_t *offsets, const float *panel,
                               float *c, int64_t mr, int64_t cols) {
  if (offsets && p->a_row == 1)
    DISPATCH_ROWS(mr, tile_f32_avx2_rows, p, a, offsets, panel, c, cols, 1);
  else
    DISPATCH_ROWS(mr, tile_f32_avx2_rows, p, a, offsets, panel, c, cols,
                  p->a_row);
}
#endif

/* The first row of block `b` when `m` rows go in `blocks` blocks of sizes
   that differ by one at most (49 rows in 2 blocks are 25 and 24, not 48
   and 1: a block of one row costs a pass over the panels as a full one
   does). */
static int64_t block_start(int64_t m, int64_t blocks, int64_t b) {
  return b * (m / blocks) + (b < m % blocks ? b : m % blocks);
}

/* The rows of register tile `t` when `rows` rows go in tiles of at most
   `mr`: as many tiles as needed, of sizes that differ by one at most (49
   rows in tiles of 12 are 10, 10, 10, 10, 9: no tile of one row). */
static int64_t tile_rows(int64_t rows, int64_t mr, int64_t t) {
  int64_t tiles = (rows + mr - 1) / mr;
  return rows / tiles + (t < rows % tiles);
}

/* C rows [0, rows) x columns [0, cols) (a block of them at `c`) against
   a packed panel; `a` is the first row of A (tile_f32_generic). */
static void rows_f32(const f32_problem *p, int level, const float *a,
                     const int64_t *offsets, const float *panel, float *c,
                     int64_t rows, int64_t cols) {
#if defined(__x86_64__)
  if (level == LATTICE_UK_LEVEL_AVX512) {
    for (int64_t i = 0, t = 0; i < rows; ++t) {
      int64_t mr = tile_rows(rows, MR_AVX512, t);
      tile_f32_avx512(p, a + i * p->a_row, offsets, panel, c + i * p->c_row, mr,
                      cols);
      i += mr;
    }
    return;
  }
  if (level == LATTICE_UK_LEVEL_AVX2) {
    for (int64_t i = 0, t = 0; i < rows; ++t) {
      int64_t mr = tile_rows(rows, MR_AVX2, t);
      tile_f32_avx2(p, a + i * p->a_row, offsets, panel, c + i * p->c_row, mr,
                    cols);
      i += mr;
    }
    return;
  }
#endif
  (void)level;
  tile_f32_generic(p, a, offsets, panel, c, rows, cols);
}

/* Whether the windows of consecutive output rows follow one another in x
   as those of one row do (sw apart): a 1 x 1 convolution at stride 1
   without padding. */
static int rows_adjoin(const conv_geometry *g) {
  return g->wp * g->sh == g->ow * g->sw;
}

/* The element of an NCHW output `y` for output channel `channel` at pixel
   i of the im2col matrix (image, row and column of the output). */
static float *conv_out(const conv_geometry *g, float *y, int64_t channels,
                       int64_t channel, int64_t i) {
  int64_t pixels = g->oh * g->ow, r = i % pixels;
  return y + ((i / pixels) * channels + channel) * g->y_plane +
         r / g->ow * g->y_row + r % g->ow;
}

/* The run of pixels from row i (< m1) of a convolution's im2col matrix
   whose windows are sw apart in x (along an output row, or the whole image
   when rows adjoin): its length, and where in x the window of its first
   pixel starts (`source`). */
static int64_t pixel_run(const conv_geometry *g, int64_t i, int64_t m1,
                         int64_t *source) {
  int64_t pixels = g->oh * g->ow;
  int64_t n = i / pixels, r = i % pixels, oh = r / g->ow, ow = r % g->ow;
  *source = (n * g->c * g->hp + oh * g->sh) * g->wp + ow * g->sw;
  int64_t left = rows_adjoin(g) ? pixels - r : g->ow - ow;
  return left < m1 - i ? left : m1 - i;
}

/* The runs of pixels of rows [m0, m1) (at most MB) of a convolution's
   im2col matrix (pixel_run): where each starts in the block and in x, and
   its length. */
typedef struct {
  int64_t count;
  int64_t start[MB], source[MB], length[MB];
} pixel_runs;

static void find_runs(const conv_geometry *g, int64_t m0, int64_t m1,
                      pixel_runs *runs) {
  runs->count = 0;
  for (int64_t i = m0; i < m1; i += runs->length[runs->count++]) {
    runs->start[runs->count] = i - m0;
    runs->length[runs->count] = pixel_run(g, i, m1, &runs->source[runs->count]);
  }
}

/* The offset in x of column k of a convolution's im2col matrix from the
   window's first element: k = (c * kh + y) * kw + x, the order of the
   weight [M, C, KH, KW] flattened, is x[c, y * dh, x * dw] of the window.
   Row i of the matrix (output pixel n, oh, ow) is the window at x[n, 0, oh
   * sh, ow * sw]: the tiles read the matrix in place, a run of pixels along
   an output row sw elements apart, and never gather it. */
static void conv_offsets(const conv_geometry *g, int64_t *offsets) {
  for (int64_t c = 0, k = 0; c < g->c; ++c)
    for (int64_t y = 0; y < g->kh; ++y)
      for (int64_t x = 0; x < g->kw; ++x)
        offsets[k++] = (c * g->hp + y * g->dh) * g->wp + x * g->dw;
}

/* Rows [0, rows) x columns [0, cols) of a block of C (NR floats a row) to
   y[j * plane + i] (a run of pixels of an NCHW output, one plane per
   channel, of channels from `channel`), with the output's epilogue. */
static void store_planes(const float *block, int64_t rows, int64_t cols,
                         float *y, int64_t plane, const lattice_epilogue *e,
                         int64_t channel) {
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i)
      y[j * plane + i] = lattice_epilogue_value(e, block[i * NR + j],
                                                channel + j, y + j * plane + i);
}

#if defined(__x86_64__)
/* store_planes in 16 x 16 transposes; `block` has whole groups of 16
   rows. The epilogue is applied in registers. */
AVX512 static void store_planes_avx512(const float *block, int64_t rows,
                                       int64_t cols, float *y, int64_t plane,
                                       const lattice_epilogue *epilogue,
                                       int64_t channel) {
  const lattice_epilogue e = *epilogue; /* (lattice_epilogue_avx512) */
  int active = lattice_epilogue_active(&e);
  for (int64_t i0 = 0; i0 < rows; i0 += 16) {
    __mmask16 lanes = lattice_first_lanes(rows - i0);
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
      __m512 r[16];
      for (int t = 0; t < 16; ++t)
        r[t] = _mm512_loadu_ps(block + (i0 + t) * NR + j0);
      lattice_transpose16(r);
      for (int64_t j = 0; j < 16 && j0 + j < cols; ++j)
        _mm512_mask_storeu_ps(
            y + (j0 + j) * plane + i0, lanes,
            active ? lattice_epilogue_avx512(
                         &e, r[j],
                         lattice_epilogue_bias_avx512(&e, channel + j0 + j),
                         y + (j0 + j) * plane + i0, lanes)
                   : r[j]);
    }
  }
}
#endif

typedef struct {
  const f32_problem *p;
  int level;
  int64_t panels, blocks, run;
  int panel_major; /* a convolution's units go panel by panel */
  int row_major;   /* a GEMM's units go block by block (gemm_f32) */
  int64_t align;   /* blocks start at multiples of this many rows */
} f32_work;

/* The first row of block `block` of w's rows (block_start), at a multiple
   of w->align. */
static int64_t work_block_start(const f32_work *w, int64_t block) {
  int64_t lines = (w->p->m + w->align - 1) / w->align;
  int64_t row = block_start(lines, w->blocks, block) * w->align;
  return row < w->p->m ? row : w->p->m;
}

/* The steps of k that a convolution's register tiles take together, when
   `tiles` of them read the same panel of a K-deep weight. A panel larger
   than the L1 cache streams from memory in the first tile, which reads it
   faster than one core's share of the memory bandwidth, and from the L2
   cache in the others: in chunks, the tiles read each chunk from the L1
   cache while they prefetch the next one from memory together. */
static int64_t conv_chunk(int64_t k, int64_t tiles) {
  return tiles > 1 && k > 2 * CONV_CHUNK_K ? CONV_CHUNK_K : k;
}

/* Stores the run of pixels [i, i + length) of a convolution's NCHW output
   from its rows in `staged` (NR floats a row), columns [n0, n0 + cols), a
   row at a time into framed planes (or with a framed residual). */
static void store_run(const conv_geometry *g, int level, const float *staged,
                      float *c, int64_t n, int64_t n0, int64_t i,
                      int64_t length, int64_t cols,
                      const lattice_epilogue *epilogue) {
  int whole = g->y_row == g->ow && g->r_row == g->ow;
  for (int64_t j = 0, part; j < length; j += part) {
    part = whole ? length : g->ow - (i + j) % g->ow;
    if (part > length - j)
      part = length - j;
    float *y = conv_out(g, c, n, n0, i + j);
#if defined(__x86_64__)
    if (level == LATTICE_UK_LEVEL_AVX512)
      store_planes_avx512(staged + j * NR, part, cols, y, g->y_plane, epilogue,
                          n0);
    else
#endif
      store_planes(staged + j * NR, part, cols, y, g->y_plane, epilogue, n0);
  }
  (void)level;
}

/* Runs [begin, end) of the units of an f32 GEMM. */
static void gemm_f32_runs(void *context, int64_t begin, int64_t end) {
  const f32_work *w = context;
  const f32_problem *p = w->p;
  int64_t units = p->batch * w->panels * w->blocks;
  float *buffer =
      (p->flags & LATTICE_UK_B_PACKED)
          ? NULL
          : lattice_scratch(sizeof(float) * NR * (size_t)(p->k > 0 ? p->k : 1),
                            0);
  if (!buffer && !(p->flags & LATTICE_UK_B_PACKED))
    return; /* out of memory */
  const float *panel = NULL;
  int64_t last = end * w->run < units ? end * w->run : units;
  if (p->conv) {
    /* Units block-major, or panel-major (panel_major); each run of pixels
       along an output row is a row block of its own. */
    const conv_geometry *g = p->conv;
    int64_t *offsets = lattice_scratch(sizeof(int64_t) * (size_t)p->k, 1);
    if (!offsets)
      return; /* out of memory */
    conv_offsets(g, offsets);
    f32_problem q = *p;
    q.a_row = g->sw;
    /* An NCHW output: each run's block of C in a buffer, then stored a
       plane per channel. */
    int nchw = (p->flags & LATTICE_UK_OUT_NCHW) != 0;
    float *staged = NULL;
    if (nchw) {
      /* A run's rows, or a block's (MB_CONV + 15 at most) when its runs go
         through k in chunks; store_planes_avx512 reads whole groups of 16
         rows from any row of a run stored a row at a time. */
      staged = lattice_scratch(sizeof(float) * NR * (MB_CONV + 48), 2);
      if (!staged)
        return; /* out of memory */
      q.c_row = NR;
    }
    lattice_epilogue epilogue =
        p->epilogue ? *p->epilogue : lattice_epilogue_none();
    for (int64_t u = begin * w->run; u < last; ++u) {
      int64_t block = w->panel_major ? u % w->blocks : u / w->panels;
      int64_t n0 = (w->panel_major ? u / w->blocks : u % w->panels) * NR;
      int64_t m0 = work_block_start(w, block),
              m1 = work_block_start(w, block + 1);
      int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
      panel = pack_f32(p, 0, n0, buffer);
      /* The block's register tiles, and the chunks of k they go through
         together (conv_chunk). */
      int64_t tiles = 0;
      for (int64_t i = m0, length, source; i < m1; i += length) {
        length = pixel_run(g, i, m1, &source);
        tiles += (length + MR_AVX512 - 1) / MR_AVX512;
      }
      int64_t chunk = conv_chunk(p->k, tiles);
      q.prefetch = NULL;
      for (int64_t k0 = 0; k0 < p->k; k0 += chunk) {
        q.k = p->k - k0 < chunk ? p->k - k0 : chunk;
        q.resume = k0 > 0;
        if (chunk < p->k) {
          /* The block's tiles share out the next chunk's prefetches. */
          q.prefetch = (const char *)(panel + (k0 + q.k) * NR);
          q.prefetch_step = (NR * (int64_t)sizeof(float) + tiles - 1) / tiles;
        }
        for (int64_t i = m0, length, source; i < m1; i += length) {
          length = pixel_run(g, i, m1, &source);
          float *c = !nchw          ? p->c + i * p->c_row + n0
                     : chunk < p->k ? staged + (i - m0) * NR
                                    : staged;
          rows_f32(&q, w->level, g->x + source, offsets + k0, panel + k0 * NR,
                   c, length, cols);
          if (q.prefetch)
            q.prefetch +=
                (length + MR_AVX512 - 1) / MR_AVX512 * q.k * q.prefetch_step;
          if (nchw && chunk == p->k)
            store_run(g, w->level, staged, p->c, p->n, n0, i, length, cols,
                      &epilogue);
        }
      }
      if (nchw && chunk < p->k)
        for (int64_t i = m0, length, source; i < m1; i += length) {
          length = pixel_run(g, i, m1, &source);
          store_run(g, w->level, staged + (i - m0) * NR, p->c, p->n, n0, i,
                    length, cols, &epilogue);
        }
    }
    return;
  }
  /* A in panels: a block's rows are k-major, NR apart. */
  int64_t *offsets = NULL;
  f32_problem q = *p;
  if (p->a_panels) {
    offsets = lattice_scratch(sizeof(int64_t) * (size_t)p->k, 1);
    if (!offsets)
      return; /* out of memory */
    for (int64_t k = 0; k < p->k; ++k)
      offsets[k] = k * NR;
    q.a_row = 1;
  }
  int64_t packed = -1; /* the (batch, panel) index in `panel` */
  for (int64_t u = begin * w->run; u < last; ++u) {
    /* Block-major (row_major, one image) or panel-major. */
    int64_t which = w->row_major ? u % w->panels : u / w->blocks;
    int64_t block = w->row_major ? u / w->panels : u % w->blocks;
    int64_t bi = which / w->panels, n0 = (which % w->panels) * NR;
    if (which != packed) {
      panel = pack_f32(p, bi, n0, buffer);
      packed = which;
    }
    int64_t m0 = work_block_start(w, block),
            m1 = work_block_start(w, block + 1);
    const float *a = p->a + bi * p->a_batch + m0 * p->a_row;
    if (p->a_panels) {
      m0 = block * NR;
      m1 = m0 + NR < p->m ? m0 + NR : p->m;
      a = p->a + block * (lattice_pack_f32_panel_bytes(p->k) / 4);
    }
    int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
    float *c = p->c + bi * p->c_batch + m0 * p->c_row + n0;
    rows_f32(&q, w->level, a, offsets, panel, c, m1 - m0, cols);
    /* Rows of output channels: their epilogue while they are in cache. */
    if (p->epilogue)
      for (int64_t r = m0; r < m1; ++r) {
#if defined(__x86_64__)
        if (w->level == LATTICE_UK_LEVEL_AVX512)
          lattice_epilogue_run_avx512(p->epilogue, c + (r - m0) * p->c_row,
                                      cols, r);
        else
#endif
          lattice_epilogue_run(p->epilogue, c + (r - m0) * p->c_row, cols, r);
      }
  }
}

static void gemm_f32(const f32_problem *p, int64_t threads) {
  if (p->m <= 0 || p->n <= 0 || p->batch <= 0)
    return;
  /* A convolution's blocks are larger: they cost one pass over the
     weights each, and its tiles read the input in place (the weights of
     the last layers of a CNN, 9 MB for 49 pixels, were read twice). */
  int64_t mb = p->conv ? MB_CONV : p->a_panels ? NR : MB;
  f32_work w = {p,
                lattice_uk_level(),
                (p->n + NR - 1) / NR,
                (p->m + mb - 1) / mb,
                0,
                0,
                0,
                1};
  threads = lattice_work_threads(threads, p->batch * p->m * p->n * p->k);
  /* Enough units for the threads to balance (a small image's 196 pixels
     against 3 panels made 3 units for 2 threads), but blocks of at least a
     register tile's rows. */
  int64_t wanted = (RUNS_WANTED * threads + w.panels - 1) / w.panels;
  if (p->conv && w.blocks < wanted)
    w.blocks = wanted < (p->m + MR_MAX - 1) / MR_MAX
                   ? wanted
                   : (p->m + MR_MAX - 1) / MR_MAX;
  /* An NCHW output goes panel by panel: a thread's runs then write whole
     planes of its channels. Block by block, the threads' blocks met in a
     cache line of every channel's plane, which went back and forth between
     the cores (a 1 x 1 convolution of 40 to 120 channels over 14 x 14
     pixels was slower on 2 threads than on 1). */
  w.panel_major = p->conv && (p->flags & LATTICE_UK_OUT_NCHW);
  /* Unless the input is larger than the weight (the first layers of a
     CNN: few channels over many pixels): then each thread reads the rows
     of the input under its block of pixels, not all of it, and writes
     those pixels of every channel, with blocks of whole cache lines so
     that the threads' blocks do not share one. */
  if (w.panel_major &&
      p->conv->n * p->conv->c * p->conv->hp * p->conv->wp > p->k * p->n) {
    w.panel_major = 0;
    w.align = 16;
    int64_t lines = (p->m + w.align - 1) / w.align;
    if (w.blocks > lines)
      w.blocks = lines;
  }
  /* A packed weight that stays in each core's cache, with a block of rows
     for each thread: the threads split the rows (each reads the whole
     weight), so that each writes the rows of C that the next op, split by
     rows, reads on the same core. Otherwise they split the panels (each
     reads half of a weight that streams from memory). */
  w.row_major = !p->conv && !p->a_panels && p->batch == 1 &&
                (p->flags & LATTICE_UK_B_PACKED) &&
                p->k * p->n * (int64_t)sizeof(float) <= SHARED_WEIGHT_BYTES &&
                w.blocks >= threads && threads > 1;
  int64_t units = p->batch * w.panels * w.blocks;
  w.run = lattice_run_length(threads, units);
  lattice_parallel_for(gemm_f32_runs, &w, 0, (units + w.run - 1) / w.run, 1);
}

void lattice_uk_gemm_f32(int64_t a, int64_t b, int64_t c, int64_t batch,
                         int64_t m, int64_t n, int64_t k, int64_t a_batch,
                         int64_t a_row, int64_t b_batch, int64_t b_k,
                         int64_t b_n, int64_t c_batch, int64_t c_row,
                         int64_t flags, int64_t threads) {
  f32_problem p = {.a = (const float *)(intptr_t)a,
                   .b = (const void *)(intptr_t)b,
                   .c = (float *)(intptr_t)c,
                   .batch = batch,
                   .m = m,
                   .n = n,
                   .k = k,
                   .a_batch = a_batch,
                   .a_row = a_row,
                   .b_batch = b_batch,
                   .b_k = b_k,
                   .b_n = b_n,
                   .c_batch = c_batch,
                   .c_row = c_row,
                   .flags = flags & ~(int64_t)LATTICE_UK_B_Q4};
  gemm_f32(&p, threads);
}

void lattice_uk_gemm_f32_q4(int64_t a, int64_t b, int64_t s, int64_t z,
                            int64_t c, int64_t m, int64_t n, int64_t k,
                            int64_t g, int64_t flags, int64_t threads) {
  f32_problem p = {.a = (const float *)(intptr_t)a,
                   .b = (const void *)(intptr_t)b,
                   .c = (float *)(intptr_t)c,
                   .batch = 1,
                   .m = m,
                   .n = n,
                   .k = k,
                   .a_row = k,
                   .c_row = n,
                   .flags = (flags | LATTICE_UK_B_Q4) &
                            ~(int64_t)LATTICE_UK_ACCUMULATE,
                   .b_scale = (const void *)(intptr_t)s,
                   .b_zero = (const void *)(intptr_t)z,
                   .group = g};
  gemm_f32(&p, threads);
}

/*===----------------------------------------------------------------------===*/
/* Winograd convolution                                                      */
/*===----------------------------------------------------------------------===*/

/* 3 x 3 windows at stride and dilation 1 over 36 tiles or more
   (lattice_uk_conv2d_f32_winograd) take Winograd's F(2 x 2, 3 x 3): each
   2 x 2 block of outputs (a tile) is A^T [sum over c of U_c (.) V_c] A,
   with U_c = G g_c G^T the transformed 3 x 3 weight of input channel c and
   V_c = B^T d_c B the transformed 4 x 4 input window: 16 products per tile
   and channel instead of 36.

   - U[xi] (xi = 4 * row + column of the 4 x 4 transform), [C][M], comes
     from the compiler (LATTICE_UK_B_WINOGRAD) or is computed per call on
     the pool: 16 M C floats.
   - Tiles go in blocks of WINO_TILES (raster order over the image's tile
     grid). For each block, V[xi] is written as a packed GEMM panel (C rows
     of 32 tiles), then the 16 products [M, C] x [C, 32] run on the f32
     register tiles (U read k-major through offsets, as a convolution's
     input is), then the output transform writes the block's outputs.
   - On AVX-512 the transforms go 16 tiles a vector along a tile row: the
     input columns 2t .. 2t + 3 of tile t come from two loads and four
     permutes per input row, and the two output columns of each tile are
     interleaved back. The portable transforms do the same arithmetic a
     tile at a time.

   The transforms' sums round too; their coefficients are 0, 1/2 and 1, so
   the error stays within a few ulps of the largest products' sums. */
#define WINO_TILES NR
/* The panels of V (and of the products) of the 16 xi are this many floats
   more than their data apart: at a power of two apart, the 16 stores of
   one channel's transform all fall in one set of the L1 cache. */
#define WINO_SKEW 16

typedef struct {
  const conv_geometry *g;
  const float *w; /* the weight, [M, C * 9] or in panels */
  int packed;
  int64_t m;
  const float *u; /* [16][C][M] */
  float *u_out;   /* where wino_weights writes U */
  float *y;
  int nchw;
  const lattice_epilogue *epilogue; /* of an NCHW output */
  int level;
  int64_t tiles_h, tiles_w, blocks, run;
} wino_work;

/* U of the output channels of panels [begin, end) (32 channels each), from
   the weight in panels or plain, into the caller's buffer. */
static void wino_weights(void *context, int64_t begin, int64_t end) {
  const wino_work *w = context;
  int64_t c = w->g->c, k = c * 9, m = w->m;
  int64_t panel_floats = lattice_pack_f32_panel_bytes(k) / 4;
  for (int64_t p = begin; p < end; ++p) {
    int64_t o0 = p * NR, lanes = m - o0 < NR ? m - o0 : NR;
    for (int64_t ch = 0; ch < c; ++ch) {
      float g[9][NR];
      for (int t = 0; t < 9; ++t)
        for (int64_t l = 0; l < lanes; ++l)
          g[t][l] = w->packed ? w->w[p * panel_floats + (ch * 9 + t) * NR + l]
                              : w->w[(o0 + l) * k + ch * 9 + t];
      lattice_winograd_f32_weights(g, lanes, w->u_out + ch * m + o0, c * m);
    }
  }
}

/* B^T d B of the 4 x 4 window d (its row transform t first, as the vector
   transform does) into v[xi * v_panel]. */
static void wino_transform_input(const float d[4][4], float *v,
                                 int64_t v_panel) {
  float t[4][4];
  for (int r = 0; r < 4; ++r) {
    t[r][0] = d[r][0] - d[r][2];
    t[r][1] = d[r][1] + d[r][2];
    t[r][2] = d[r][2] - d[r][1];
    t[r][3] = d[r][1] - d[r][3];
  }
  for (int j = 0; j < 4; ++j) {
    v[j * v_panel] = t[0][j] - t[2][j];
    v[(4 + j) * v_panel] = t[1][j] + t[2][j];
    v[(8 + j) * v_panel] = t[2][j] - t[1][j];
    v[(12 + j) * v_panel] = t[1][j] - t[3][j];
  }
}

/* V of the `len` tiles from tile (ty, tx0) of image `n`, at columns [j0,
   j0 + len) of the block's panels v[xi] (C rows of 32, v_panel floats
   apart); input outside x is 0. */
static void wino_input(const conv_geometry *g, int64_t n, int64_t ty,
                       int64_t tx0, int64_t len, float *v, int64_t v_panel,
                       int64_t j0) {
  for (int64_t c = 0; c < g->c; ++c) {
    const float *plane = g->x + (n * g->c + c) * g->hp * g->wp;
    for (int64_t l = 0; l < len; ++l) {
      float d[4][4];
      for (int r = 0; r < 4; ++r)
        for (int q = 0; q < 4; ++q) {
          int64_t y = 2 * ty + r, x = 2 * (tx0 + l) + q;
          d[r][q] = y < g->hp && x < g->wp ? plane[y * g->wp + x] : 0.0f;
        }
      wino_transform_input(d, v + c * NR + j0 + l, v_panel);
    }
  }
}

/* A^T q A of the 16 products q[xi * stride] of a tile: out[r][s]. */
static void wino_transform_output(const float *q, int64_t stride,
                                  float out[2][2]) {
  float r0[4], r1[4];
  for (int j = 0; j < 4; ++j) {
    r0[j] = (q[j * stride] + q[(4 + j) * stride]) + q[(8 + j) * stride];
    r1[j] = (q[(4 + j) * stride] - q[(8 + j) * stride]) - q[(12 + j) * stride];
  }
  out[0][0] = (r0[0] + r0[1]) + r0[2];
  out[0][1] = (r0[1] - r0[2]) - r0[3];
  out[1][0] = (r1[0] + r1[1]) + r1[2];
  out[1][1] = (r1[1] - r1[2]) - r1[3];
}

/* The element of y for output channel o at (oy, ox) of image n. */
static float *wino_out(const wino_work *w, int64_t n, int64_t o, int64_t oy,
                       int64_t ox) {
  const conv_geometry *g = w->g;
  return w->nchw ? w->y + (n * w->m + o) * g->y_plane + oy * g->y_row + ox
                 : w->y + ((n * g->oh + oy) * g->ow + ox) * w->m + o;
}

/* The outputs of the `len` tiles from tile (ty, tx0) of image `n`, from
   columns [j0, j0 + len) of the block's products p[xi] (M rows of 32,
   p_panel floats apart). */
static void wino_output(const wino_work *w, int64_t n, int64_t ty, int64_t tx0,
                        int64_t len, const float *p, int64_t p_panel,
                        int64_t j0) {
  const conv_geometry *g = w->g;
  for (int64_t o = 0; o < w->m; ++o)
    for (int64_t l = 0; l < len; ++l) {
      float out[2][2];
      wino_transform_output(p + o * NR + j0 + l, p_panel, out);
      for (int r = 0; r < 2 && 2 * ty + r < g->oh; ++r)
        for (int s = 0; s < 2 && 2 * (tx0 + l) + s < g->ow; ++s) {
          float *at = wino_out(w, n, o, 2 * ty + r, 2 * (tx0 + l) + s);
          *at = w->nchw ? lattice_epilogue_value(w->epilogue, out[r][s], o, at)
                        : out[r][s];
        }
    }
}

#if defined(__x86_64__)
/* The lanes of `count` elements (0 when count <= 0). */
AVX512 static inline __mmask16 wino_lanes(int64_t count) {
  return count > 0 ? lattice_first_lanes(count) : 0;
}

/* wino_input for up to 16 tiles, a vector. */
AVX512 static void wino_input_avx512(const conv_geometry *g, int64_t n,
                                     int64_t ty, int64_t tx0, int64_t len,
                                     float *v, int64_t v_panel, int64_t j0) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                         22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                        23, 25, 27, 29, 31);
  __mmask16 store = lattice_first_lanes(len);
  int64_t x0 = 2 * tx0, valid = g->wp - x0; /* input columns from x0 */
  if (valid > 2 * len + 2)
    valid = 2 * len + 2;
  __mmask16 m0 = wino_lanes(valid), m1 = wino_lanes(valid - 16),
            m2 = wino_lanes(valid - 2), m3 = wino_lanes(valid - 18);
  for (int64_t c = 0; c < g->c; ++c) {
    const float *plane = g->x + (n * g->c + c) * g->hp * g->wp + x0;
    __m512 t[4][4];
    for (int r = 0; r < 4; ++r) {
      int64_t y = 2 * ty + r;
      __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
      if (y < g->hp) {
        const float *row = plane + y * g->wp;
        __m512 lo = _mm512_maskz_loadu_ps(m0, row),
               hi = _mm512_maskz_loadu_ps(m1, row + 16),
               lo2 = _mm512_maskz_loadu_ps(m2, row + 2),
               hi2 = _mm512_maskz_loadu_ps(m3, row + 18);
        d0 = _mm512_permutex2var_ps(lo, even, hi);   /* x[2t] */
        d1 = _mm512_permutex2var_ps(lo, odd, hi);    /* x[2t + 1] */
        d2 = _mm512_permutex2var_ps(lo2, even, hi2); /* x[2t + 2] */
        d3 = _mm512_permutex2var_ps(lo2, odd, hi2);  /* x[2t + 3] */
      }
      t[r][0] = _mm512_sub_ps(d0, d2);
      t[r][1] = _mm512_add_ps(d1, d2);
      t[r][2] = _mm512_sub_ps(d2, d1);
      t[r][3] = _mm512_sub_ps(d1, d3);
    }
    float *out = v + c * NR + j0;
    for (int j = 0; j < 4; ++j) {
      _mm512_mask_storeu_ps(out + j * v_panel, store,
                            _mm512_sub_ps(t[0][j], t[2][j]));
      _mm512_mask_storeu_ps(out + (4 + j) * v_panel, store,
                            _mm512_add_ps(t[1][j], t[2][j]));
      _mm512_mask_storeu_ps(out + (8 + j) * v_panel, store,
                            _mm512_sub_ps(t[2][j], t[1][j]));
      _mm512_mask_storeu_ps(out + (12 + j) * v_panel, store,
                            _mm512_sub_ps(t[1][j], t[3][j]));
    }
  }
}

/* wino_output for up to 16 tiles, a vector. */
AVX512 static void wino_output_avx512(const wino_work *w, int64_t n, int64_t ty,
                                      int64_t tx0, int64_t len, const float *p,
                                      int64_t p_panel, int64_t j0) {
  const conv_geometry *g = w->g;
  const __m512i low =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28,
                                         13, 29, 14, 30, 15, 31);
  __mmask16 load = lattice_first_lanes(len);
  int64_t x0 = 2 * tx0, count = g->ow - x0; /* output columns from x0 */
  if (count > 2 * len)
    count = 2 * len;
  __mmask16 first = wino_lanes(count), second = wino_lanes(count - 16);
  const lattice_epilogue e = *w->epilogue; /* (lattice_epilogue_avx512) */
  int active = w->nchw && lattice_epilogue_active(&e);
  for (int64_t o = 0; o < w->m; ++o) {
    __m512 q[16];
    for (int xi = 0; xi < 16; ++xi)
      q[xi] = _mm512_maskz_loadu_ps(load, p + xi * p_panel + o * NR + j0);
    __m512 r0[4], r1[4];
    for (int j = 0; j < 4; ++j) {
      r0[j] = _mm512_add_ps(_mm512_add_ps(q[j], q[4 + j]), q[8 + j]);
      r1[j] = _mm512_sub_ps(_mm512_sub_ps(q[4 + j], q[8 + j]), q[12 + j]);
    }
    __m512 rows[2][2] = {{_mm512_add_ps(_mm512_add_ps(r0[0], r0[1]), r0[2]),
                          _mm512_sub_ps(_mm512_sub_ps(r0[1], r0[2]), r0[3])},
                         {_mm512_add_ps(_mm512_add_ps(r1[0], r1[1]), r1[2]),
                          _mm512_sub_ps(_mm512_sub_ps(r1[1], r1[2]), r1[3])}};
    for (int r = 0; r < 2 && 2 * ty + r < g->oh; ++r) {
      __m512 a = _mm512_permutex2var_ps(rows[r][0], low, rows[r][1]),
             b = _mm512_permutex2var_ps(rows[r][0], high, rows[r][1]);
      if (w->nchw) {
        float *out = wino_out(w, n, o, 2 * ty + r, x0);
        if (active) {
          __m512 bias = lattice_epilogue_bias_avx512(&e, o);
          a = lattice_epilogue_avx512(&e, a, bias, out, first);
          b = lattice_epilogue_avx512(&e, b, bias, out + 16, second);
        }
        _mm512_mask_storeu_ps(out, first, a);
        _mm512_mask_storeu_ps(out + 16, second, b);
        continue;
      }
      float values[32] __attribute__((aligned(64)));
      _mm512_store_ps(values, a);
      _mm512_store_ps(values + 16, b);
      for (int64_t l = 0; l < count; ++l)
        *wino_out(w, n, o, 2 * ty + r, x0 + l) = values[l];
    }
  }
}
#endif

/* Calls `transform(args..., ty, tx, len, j0)` for the runs of tiles [t0,
   t1) of a block along tile rows, at most 16 tiles each. */
#define WINO_SEGMENTS(w, t0, t1, transform, ...)                               \
  for (int64_t t = (t0), len; t < (t1); t += len) {                            \
    int64_t ty = t / (w)->tiles_w, tx = t % (w)->tiles_w;                      \
    len = (w)->tiles_w - tx < (t1) - t ? (w)->tiles_w - tx : (t1) - t;         \
    if (len > 16)                                                              \
      len = 16;                                                                \
    transform(__VA_ARGS__, ty, tx, len, t - (t0));                             \
  }

/* The transforms with the buffers' strides last, in the order that
   WINO_SEGMENTS passes the rest. */
#define WINO_INPUT(fn, g, n, v, v_panel, ty, tx, len, j0)                      \
  fn(g, n, ty, tx, len, v, v_panel, j0)
#define WINO_OUTPUT(fn, w, n, p, p_panel, ty, tx, len, j0)                     \
  fn(w, n, ty, tx, len, p, p_panel, j0)

/* Runs [begin, end) of the units (image, block of tiles). */
static void wino_blocks(void *context, int64_t begin, int64_t end) {
  const wino_work *w = context;
  const conv_geometry *g = w->g;
  int64_t c = g->c, m = w->m, tiles = w->tiles_h * w->tiles_w;
  int64_t v_panel = c * NR + WINO_SKEW, p_panel = m * NR + WINO_SKEW;
  float *v = lattice_scratch(sizeof(float) * 16 * (size_t)v_panel, 0);
  float *p = lattice_scratch(sizeof(float) * 16 * (size_t)p_panel, 1);
  int64_t *offsets = lattice_scratch(sizeof(int64_t) * (size_t)c, 2);
  if (!v || !p || !offsets)
    return; /* out of memory */
  for (int64_t k = 0; k < c; ++k)
    offsets[k] = k * m;
  f32_problem q = {.k = c, .a_row = 1, .c_row = NR};
  int64_t units = g->n * w->blocks;
  int64_t last = end * w->run < units ? end * w->run : units;
  for (int64_t u = begin * w->run; u < last; ++u) {
    int64_t n = u / w->blocks, t0 = (u % w->blocks) * WINO_TILES;
    int64_t t1 = t0 + WINO_TILES < tiles ? t0 + WINO_TILES : tiles;
#if defined(__x86_64__)
    if (w->level == LATTICE_UK_LEVEL_AVX512)
      WINO_SEGMENTS(w, t0, t1, WINO_INPUT, wino_input_avx512, g, n, v, v_panel)
    else
#endif
      WINO_SEGMENTS(w, t0, t1, WINO_INPUT, wino_input, g, n, v, v_panel)
    if (t1 - t0 < WINO_TILES) /* the panels' unused columns */
      for (int xi = 0; xi < 16; ++xi)
        for (int64_t r = 0; r < c; ++r)
          memset(v + xi * v_panel + r * NR + (t1 - t0), 0,
                 sizeof(float) * (size_t)(WINO_TILES - (t1 - t0)));
    for (int xi = 0; xi < 16; ++xi)
      rows_f32(&q, w->level, w->u + xi * m * c, offsets, v + xi * v_panel,
               p + xi * p_panel, m, t1 - t0);
#if defined(__x86_64__)
    if (w->level == LATTICE_UK_LEVEL_AVX512)
      WINO_SEGMENTS(w, t0, t1, WINO_OUTPUT, wino_output_avx512, w, n, p,
                    p_panel)
    else
#endif
      WINO_SEGMENTS(w, t0, t1, WINO_OUTPUT, wino_output, w, n, p, p_panel)
  }
}

static void conv_winograd(const conv_geometry *g, const float *weight,
                          int64_t flags, int64_t m, float *y,
                          const lattice_epilogue *epilogue, int64_t threads) {
  wino_work w = {g,
                 weight,
                 (flags & LATTICE_UK_B_PACKED) != 0,
                 m,
                 weight,
                 NULL,
                 y,
                 (flags & LATTICE_UK_OUT_NCHW) != 0,
                 epilogue,
                 lattice_uk_level(),
                 (g->oh + 1) / 2,
                 (g->ow + 1) / 2,
                 0,
                 0};
  w.blocks = (w.tiles_h * w.tiles_w + WINO_TILES - 1) / WINO_TILES;
  if (!(flags & LATTICE_UK_B_WINOGRAD)) {
    /* U is shared by the pool's threads: in the caller's own buffer, which
       the blocks do not use. */
    float *u = lattice_scratch(sizeof(float) * 16 * (size_t)(m * g->c), 3);
    if (!u)
      return; /* out of memory */
    w.u = w.u_out = u;
    int64_t panels = lattice_pack_panels(m);
    lattice_parallel_for(
        wino_weights, &w, 0, panels,
        lattice_run_length(lattice_work_threads(threads, 16 * m * g->c),
                           panels));
  }
  /* A block at a time: each is worth a claim (its transforms and 16
     products, 30 us on ResNet-18's first stage), and in runs of four the
     threads finished up to four blocks apart (that stage's convolutions
     5 % slower on 2 threads). */
  int64_t units = g->n * w.blocks;
  w.run = lattice_work_threads(threads,
                               g->n * w.tiles_h * w.tiles_w * 16 * g->c * m) > 1
              ? 1
              : units;
  lattice_parallel_for(wino_blocks, &w, 0, (units + w.run - 1) / w.run, 1);
}

void lattice_uk_conv2d_f32(int64_t x, int64_t w, int64_t y, int64_t n,
                           int64_t c, int64_t hp, int64_t wp, int64_t kh,
                           int64_t kw, int64_t oh, int64_t ow, int64_t sh,
                           int64_t sw, int64_t dh, int64_t dw, int64_t m,
                           int64_t bias, int64_t epilogue, int64_t params,
                           int64_t residual, int64_t flags, int64_t threads) {
  /* The frames of the output's and the residual's planes. */
  int64_t frame_w = (flags >> LATTICE_UK_OUT_FRAME_W_SHIFT) & 0xff,
          frame_h = (flags >> LATTICE_UK_OUT_FRAME_H_SHIFT) & 0xff,
          residual_w = (flags >> LATTICE_UK_RESIDUAL_FRAME_W_SHIFT) & 0xff,
          residual_h = (flags >> LATTICE_UK_RESIDUAL_FRAME_H_SHIFT) & 0xff;
  if (!(flags & LATTICE_UK_OUT_NCHW))
    frame_w = frame_h = 0;
  if (!(flags & LATTICE_UK_OUT_NCHW) || !residual)
    residual_w = residual_h = 0;
  conv_geometry g = {(const float *)(intptr_t)x,
                     n,
                     c,
                     hp,
                     wp,
                     kh,
                     kw,
                     oh,
                     ow,
                     sh,
                     sw,
                     dh,
                     dw,
                     ow + frame_w,
                     (oh + frame_h) * (ow + frame_w),
                     ow + residual_w};
  int64_t k = c * kh * kw;
  /* An NCHW output's epilogue (ignored for pixel-major outputs). */
  int nchw = (flags & LATTICE_UK_OUT_NCHW) != 0;
  lattice_epilogue finish = lattice_epilogue_none();
  if (nchw &&
      !lattice_epilogue_init(&finish, bias, epilogue, params, residual, y))
    return;
  lattice_epilogue_layouts(&finish, g.y_row, g.y_plane, g.r_row,
                           (oh + residual_h) * g.r_row);
  const lattice_epilogue *active =
      lattice_epilogue_active(&finish) ? &finish : NULL;
  /* 1 x 1 at stride 1 into NCHW, without padding along rows nor frames:
     per image, y[M, OH * OW] = w[M, C] x[C, OH * OW], a GEMM with the
     weight as A and the input as B, which needs no transposes; when the
     pixels fill the panels' 32 columns better than the output channels
     do. */
  int64_t pixels = oh * ow;
  if (kh == 1 && kw == 1 && sh == 1 && sw == 1 && wp == ow &&
      (flags & LATTICE_UK_OUT_NCHW) && !(flags & LATTICE_UK_B_WINOGRAD) &&
      (frame_w | frame_h | residual_w | residual_h) == 0 &&
      (pixels + NR - 1) / NR * NR * m <= (m + NR - 1) / NR * NR * pixels) {
    f32_problem p = {.a = (const float *)(intptr_t)w,
                     .b = (const void *)(intptr_t)x,
                     .c = (float *)(intptr_t)y,
                     .batch = n,
                     .m = m,
                     .n = pixels,
                     .k = c,
                     .a_row = c,
                     .b_batch = c * hp * wp,
                     .b_k = hp * wp,
                     .b_n = 1,
                     .c_batch = m * pixels,
                     .c_row = pixels,
                     .a_panels = (flags & LATTICE_UK_B_PACKED) != 0,
                     .epilogue = active};
    gemm_f32(&p, threads);
    return;
  }
  if ((flags & LATTICE_UK_B_WINOGRAD) ||
      lattice_uk_conv2d_f32_winograd(kh, kw, oh, ow, sh, sw, dh, dw)) {
    conv_winograd(&g, (const float *)(intptr_t)w, flags, m,
                  (float *)(intptr_t)y, &finish, threads);
    return;
  }
  f32_problem p = {.b = (const void *)(intptr_t)w,
                   .c = (float *)(intptr_t)y,
                   .batch = 1,
                   .m = n * oh * ow,
                   .n = m,
                   .k = k,
                   .b_k = 1,
                   .b_n = k,
                   .c_row = m,
                   .flags = flags & (LATTICE_UK_B_PACKED | LATTICE_UK_OUT_NCHW),
                   .conv = &g,
                   .epilogue = active};
  gemm_f32(&p, threads);
}

/*===----------------------------------------------------------------------===*/
/* 8-bit GEMM                                                                */
/*===----------------------------------------------------------------------===*/

/* A of an 8-bit GEMM is stored by register tiles: the rows of each block
   (block_start) go in tiles of at most MR_S8 (tile_rows), and a tile of
   `mr` rows, from its first row r0, holds the 4 codes (k = 4q .. 4q + 3)
   of its row r0 + r at r0 * K4 + (q * mr + r) * 4. A tile reads one
   stream, and its broadcasts are one pointer and constant offsets. */
#define MR_S8 8

typedef struct {
  const uint8_t *a; /* unsigned: the codes + 128 for signed ones */
  const int8_t *b;  /* [N, K] */
  float *c;
  int64_t m, n, k, k4, blocks;
  /* Per-tensor (stride 0) or per-row values of A. */
  const float *a_scale;
  int64_t a_scale_stride;
  const void *a_zero; /* of a_zero_bits bits */
  int64_t a_zero_stride, a_zero_bits;
  const void *b_scale;
  int64_t flags;
} s8_problem;

/* The zero point of A's row `row`, or 0. */
static int32_t a_zero_of(const s8_problem *p, int64_t row) {
  return zero_point_at(p->a_zero, p->a_zero_bits, row * p->a_zero_stride);
}

/* Rows [m0, m1) (a block) of C against a packed panel, portably: C = f32(sum_k
   (a - za) * b) * sa * sb from the unsigned dot products (a + 128 for signed a)
   minus (128 + za) times the column sums. The i32 arithmetic wraps as
   vpdpbusd's does (in unsigned integers here): intermediate sums may leave
   the i32 range, and the final one, which the op proves inside it, is
   exact. */
static void rows_s8_generic(const s8_problem *p, int64_t n0, int64_t m0,
                            int64_t m1, const int8_t *panel,
                            const int32_t *sums) {
  int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
  uint32_t offset = (p->flags & LATTICE_UK_A_UNSIGNED) ? 0 : 128;
  for (int64_t r0 = m0, t = 0, mr; r0 < m1; r0 += mr, ++t) {
    mr = tile_rows(m1 - m0, MR_S8, t);
    for (int64_t i = r0; i < r0 + mr; ++i) {
      uint32_t dot[NR] = {0};
      const uint8_t *row = p->a + r0 * p->k4 + (i - r0) * 4;
      for (int64_t q = 0; q < p->k4 / 4; ++q)
        for (int j = 0; j < NR; ++j)
          for (int b = 0; b < 4; ++b)
            dot[j] += (uint32_t)((int32_t)row[q * mr * 4 + b] *
                                 panel[q * NR * 4 + j * 4 + b]);
      uint32_t zero = offset + (uint32_t)a_zero_of(p, i);
      float sa = p->a_scale[i * p->a_scale_stride];
      float *out = p->c + i * p->n + n0;
      for (int64_t j = 0; j < cols; ++j) {
        float sb =
            (p->flags & LATTICE_UK_SCALE_F16)
                ? lattice_half_to_float(((const uint16_t *)p->b_scale)[n0 + j])
                : ((const float *)p->b_scale)[n0 + j];
        int32_t total = (int32_t)(dot[j] - zero * (uint32_t)sums[j]);
        out[j] = (float)total * sa * sb;
      }
    }
  }
}

#if defined(__x86_64__)
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* Rows [m0, m0 + mr) of C: one register tile of A (s8_problem). */
VNNI __attribute__((always_inline)) static inline void
tile_s8_vnni_rows(const s8_problem *p, int64_t m0, int64_t n0,
                  const int8_t *panel, const int32_t *sums, const int mr) {
  __m512i acc[MR_MAX][2];
  for (int i = 0; i < mr; ++i)
    acc[i][0] = acc[i][1] = _mm512_setzero_si512();
  const uint8_t *a = p->a + m0 * p->k4;
  for (int64_t q = 0; q < p->k4 / 4; ++q) {
    __m512i b0 = _mm512_loadu_si512(panel + q * NR * 4);
    __m512i b1 = _mm512_loadu_si512(panel + q * NR * 4 + 64);
    prefetch_lines((const char *)(panel + q * NR * 4) + PREFETCH_BYTES);
    for (int i = 0; i < mr; ++i) {
      int32_t quad;
      memcpy(&quad, a + (q * mr + i) * 4, 4);
      __m512i x = _mm512_set1_epi32(quad);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], x, b0);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], x, b1);
    }
  }
  /* The epilogue in vectors: (dot - zero * sum) * sa * sb. */
  int64_t cols = p->n - n0 < NR ? p->n - n0 : NR;
  __mmask16 mask0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
  __mmask16 mask1 =
      cols >= NR ? 0xffff
                 : (cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1));
  __m512 sb0, sb1;
  if (p->flags & LATTICE_UK_SCALE_F16) {
    const uint16_t *s = (const uint16_t *)p->b_scale + n0;
    sb0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask0, s));
    sb1 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask1, s + 16));
  } else {
    const float *s = (const float *)p->b_scale + n0;
    sb0 = _mm512_maskz_loadu_ps(mask0, s);
    sb1 = _mm512_maskz_loadu_ps(mask1, s + 16);
  }
  __m512i sum0 = _mm512_loadu_si512(sums), sum1 = _mm512_loadu_si512(sums + 16);
  int offset = (p->flags & LATTICE_UK_A_UNSIGNED) ? 0 : 128;
  for (int i = 0; i < mr; ++i) {
    int64_t row = m0 + i;
    int32_t zero = offset + a_zero_of(p, row);
    __m512 sa = _mm512_set1_ps(p->a_scale[row * p->a_scale_stride]);
    __m512i z = _mm512_set1_epi32(zero);
    __m512 r0 = _mm512_cvtepi32_ps(
        _mm512_sub_epi32(acc[i][0], _mm512_mullo_epi32(z, sum0)));
    __m512 r1 = _mm512_cvtepi32_ps(
        _mm512_sub_epi32(acc[i][1], _mm512_mullo_epi32(z, sum1)));
    float *out = p->c + row * p->n + n0;
    _mm512_mask_storeu_ps(out, mask0,
                          _mm512_mul_ps(_mm512_mul_ps(r0, sa), sb0));
    _mm512_mask_storeu_ps(out + 16, mask1,
                          _mm512_mul_ps(_mm512_mul_ps(r1, sa), sb1));
  }
}

VNNI static void rows_s8_vnni(const s8_problem *p, int64_t n0, int64_t m0,
                              int64_t m1, const int8_t *panel,
                              const int32_t *sums) {
  for (int64_t i = m0, t = 0; i < m1; i += tile_rows(m1 - m0, MR_S8, t++)) {
    DISPATCH_ROWS(tile_rows(m1 - m0, MR_S8, t), tile_s8_vnni_rows, p, i, n0,
                  panel, sums);
  }
}
#endif

#if defined(__x86_64__)
/* The quads of a tile of 8 rows of A (pack_s8_rows), 4 at a time: each
   group of 4 quads of rows 0-3 and of rows 4-7 is a 4 x 4 transpose of
   dwords. Returns how many quads it wrote (a multiple of 4). */
static int64_t pack_s8_tile8(const uint8_t *a, int64_t k, uint32_t flips,
                             uint8_t *tile) {
  const __m128i flip = _mm_set1_epi32((int)flips);
  int64_t quads = k / 4 / 4 * 4;
  for (int64_t q = 0; q < quads; q += 4) {
    for (int half = 0; half < 2; ++half) {
      __m128i x[4];
      for (int i = 0; i < 4; ++i)
        x[i] = _mm_xor_si128(
            _mm_loadu_si128((const __m128i *)(a + (4 * half + i) * k + q * 4)),
            flip);
      __m128i t0 = _mm_unpacklo_epi32(x[0], x[1]),
              t1 = _mm_unpacklo_epi32(x[2], x[3]),
              t2 = _mm_unpackhi_epi32(x[0], x[1]),
              t3 = _mm_unpackhi_epi32(x[2], x[3]);
      __m128i column[4] = {
          _mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1),
          _mm_unpacklo_epi64(t2, t3), _mm_unpackhi_epi64(t2, t3)};
      for (int j = 0; j < 4; ++j)
        _mm_storeu_si128((__m128i *)(tile + ((q + j) * 8 + 4 * half) * 4),
                         column[j]);
    }
  }
  return quads;
}
#endif

/* Block `b` of A [M, K] into the tiled layout of s8_problem, as unsigned
   bytes (x ^ flip), padded with zeros to K4 along K: padding multiplies
   zero columns of B, so any value gives 0. */
static void pack_s8_rows(const uint8_t *a, int64_t m, int64_t k, int64_t k4,
                         int64_t blocks, int64_t b, uint8_t flip,
                         uint8_t *out) {
  uint32_t flips = flip * 0x01010101u;
  int64_t m0 = block_start(m, blocks, b), m1 = block_start(m, blocks, b + 1);
  for (int64_t r0 = m0, t = 0, mr; r0 < m1; r0 += mr, ++t) {
    mr = tile_rows(m1 - m0, MR_S8, t);
    uint8_t *tile = out + r0 * k4;
    /* Quads before `first` are in the tile already (the portable level
       packs every quad itself). */
    int64_t first = 0;
#if defined(__x86_64__)
    if (mr == 8 && lattice_uk_level() != LATTICE_UK_LEVEL_GENERIC)
      first = pack_s8_tile8(a + r0 * k, k, flips, tile);
#endif
    for (int64_t r = 0; r < mr; ++r) {
      const uint8_t *row = a + (r0 + r) * k;
      for (int64_t q = first; q < k / 4; ++q) {
        uint32_t quad;
        memcpy(&quad, row + 4 * q, 4);
        quad ^= flips;
        memcpy(tile + (q * mr + r) * 4, &quad, 4);
      }
      if (k % 4) {
        uint8_t tail[4] = {0, 0, 0, 0};
        for (int64_t j = 0; j < k % 4; ++j)
          tail[j] = row[k / 4 * 4 + j] ^ flip;
        memcpy(tile + (k / 4 * mr + r) * 4, tail, 4);
      }
    }
  }
}

typedef struct {
  const s8_problem *p;
  int vnni;
  int64_t panels, blocks, run;
} s8_work;

/* Panel `which` of B: in place when the weight is packed, else packed into
   `buffer`; its column sums at `*sums`. */
static const int8_t *s8_panel(const s8_problem *p, int64_t which,
                              int8_t *buffer, const int32_t **sums) {
  int64_t panel_bytes = lattice_pack_s8_panel_bytes(p->k);
  const int8_t *panel = buffer;
  if (p->flags & LATTICE_UK_B_PACKED)
    panel = p->b + which * panel_bytes;
  else
    lattice_pack_s8_panel(p->b, which * NR, p->n, p->k, buffer);
  *sums = (const int32_t *)(panel + p->k4 * NR);
  return panel;
}

/* Rows [m0, m1) of C against a panel, at the best level. */
static void rows_s8(const s8_work *w, int64_t n0, int64_t m0, int64_t m1,
                    const int8_t *panel, const int32_t *sums) {
#if defined(__x86_64__)
  if (w->vnni) {
    rows_s8_vnni(w->p, n0, m0, m1, panel, sums);
    return;
  }
#endif
  rows_s8_generic(w->p, n0, m0, m1, panel, sums);
}

/* The panel buffer of this thread when B is not packed; NULL when out of
   memory. */
static int8_t *s8_panel_buffer(const s8_problem *p) {
  static int8_t packed;
  return (p->flags & LATTICE_UK_B_PACKED)
             ? &packed
             : lattice_scratch((size_t)lattice_pack_s8_panel_bytes(p->k), 0);
}

/* Runs [begin, end) of the units of an 8-bit GEMM: panel-major. */
static void gemm_s8_runs(void *context, int64_t begin, int64_t end) {
  const s8_work *w = context;
  const s8_problem *p = w->p;
  int64_t units = w->panels * w->blocks;
  int8_t *buffer = s8_panel_buffer(p);
  if (!buffer)
    return; /* out of memory */
  const int8_t *panel = NULL;
  const int32_t *sums = NULL;
  int64_t packed = -1;
  int64_t last = end * w->run < units ? end * w->run : units;
  for (int64_t u = begin * w->run; u < last; ++u) {
    int64_t which = u / w->blocks, block = u % w->blocks;
    if (which != packed) {
      panel = s8_panel(p, which, buffer, &sums);
      packed = which;
    }
    rows_s8(w, which * NR, block_start(p->m, p->blocks, block),
            block_start(p->m, p->blocks, block + 1), panel, sums);
  }
}

/* An 8-bit GEMM whose A (m rows, k columns) `pack` writes into the tiled
   layout of s8_problem, in `blocks` blocks of rows, on up to `threads`
   threads: the arguments of lattice_uk_gemm_s8 otherwise. */
typedef struct {
  void (*pack)(void *context, int64_t m, int64_t k, int64_t k4, int64_t blocks,
               int64_t block, uint8_t *out);
  void *context;
} s8_source;

typedef struct {
  const s8_source *source;
  int64_t m, k, k4, blocks;
  uint8_t *out;
} s8_packing;

static void pack_s8_blocks(void *context, int64_t begin, int64_t end) {
  const s8_packing *w = context;
  for (int64_t b = begin; b < end; ++b)
    w->source->pack(w->source->context, w->m, w->k, w->k4, w->blocks, b,
                    w->out);
}

typedef struct {
  const s8_work *work;
  s8_packing *packing;
} s8_block_work;

/* Blocks [begin, end) of an 8-bit GEMM, each packed and multiplied by
   every panel by the thread that takes it. */
static void gemm_s8_blocks(void *context, int64_t begin, int64_t end) {
  const s8_block_work *bw = context;
  const s8_problem *p = bw->work->p;
  for (int64_t b = begin; b < end; ++b) {
    pack_s8_blocks(bw->packing, b, b + 1);
    /* The panel buffer after the packing, which may have grown the same
       scratch slot (a convolution gathers its block there). */
    int8_t *buffer = s8_panel_buffer(p);
    if (!buffer)
      return; /* out of memory */
    int64_t m0 = block_start(p->m, p->blocks, b),
            m1 = block_start(p->m, p->blocks, b + 1);
    for (int64_t which = 0; which < bw->work->panels; ++which) {
      const int32_t *sums;
      const int8_t *panel = s8_panel(p, which, buffer, &sums);
      rows_s8(bw->work, which * NR, m0, m1, panel, sums);
    }
  }
}

static void gemm_s8(const s8_source *source, int64_t a_scale, int64_t a_zero,
                    int64_t b, int64_t b_scale, int64_t c, int64_t m, int64_t n,
                    int64_t k, int64_t flags, int64_t threads) {
  if (m <= 0 || n <= 0)
    return;
  int64_t k4 = (k + 3) / 4 * 4;
  /* A as unsigned bytes (vpdpbusd multiplies unsigned by signed ones),
     padded along K to a multiple of 4. */
  uint8_t *ua = lattice_scratch((size_t)(m * k4), 1);
  if (!ua)
    return;
  int64_t blocks = (m + MB - 1) / MB;
  s8_packing packing = {source, m, k, k4, blocks, ua};
  threads = lattice_work_threads(threads, m * n * k);
  s8_problem p = {
      ua,
      (const int8_t *)(intptr_t)b,
      (float *)(intptr_t)c,
      m,
      n,
      k,
      k4,
      blocks,
      (const float *)(intptr_t)a_scale,
      (flags & LATTICE_UK_A_PER_ROW) ? 1 : 0,
      (flags & LATTICE_UK_A_ZERO_POINT) ? (const void *)(intptr_t)a_zero : NULL,
      (flags & LATTICE_UK_A_PER_ROW) ? 1 : 0,
      (flags >> LATTICE_UK_ZERO_POINT_SHIFT) & 0xff,
      (const void *)(intptr_t)b_scale,
      flags};
  s8_work w = {&p, cpu_has_vnni(), (n + NR - 1) / NR, blocks, 0};
  /* A weight that stays in each core's cache (SHARED_WEIGHT_BYTES at
     most) with a block of rows for each thread: each thread packs and
     multiplies its own blocks, against the whole weight; its rows of C are
     then where the next op, split by rows, reads them. Otherwise the
     threads split the panels (each reads half of a weight that streams
     from memory), after A is packed. */
  if (k4 * n <= SHARED_WEIGHT_BYTES && blocks >= threads && threads > 1) {
    s8_block_work bw = {&w, &packing};
    lattice_parallel_for(gemm_s8_blocks, &bw, 0, blocks, 1);
    return;
  }
  lattice_parallel_for(pack_s8_blocks, &packing, 0, blocks,
                       lattice_run_length(threads, blocks));
  int64_t units = w.panels * w.blocks;
  w.run = lattice_run_length(threads, units);
  lattice_parallel_for(gemm_s8_runs, &w, 0, (units + w.run - 1) / w.run, 1);
}

typedef struct {
  const uint8_t *a;
  uint8_t flip;
} s8_matrix;

static void pack_s8_matrix(void *context, int64_t m, int64_t k, int64_t k4,
                           int64_t blocks, int64_t block, uint8_t *out) {
  const s8_matrix *a = context;
  pack_s8_rows(a->a, m, k, k4, blocks, block, a->flip, out);
}

void lattice_uk_gemm_s8(int64_t a, int64_t a_scale, int64_t a_zero, int64_t b,
                        int64_t b_scale, int64_t c, int64_t m, int64_t n,
                        int64_t k, int64_t flags, int64_t threads) {
  s8_matrix matrix = {(const uint8_t *)(intptr_t)a,
                      (flags & LATTICE_UK_A_UNSIGNED) ? 0 : 0x80};
  s8_source source = {pack_s8_matrix, &matrix};
  gemm_s8(&source, a_scale, a_zero, b, b_scale, c, m, n, k, flags, threads);
}

/* The quantized im2col matrix of a convolution (lattice_uk_conv2d_s8). */
typedef struct {
  conv_geometry g;
  const float *column_scale; /* or NULL */
  float scale, zero, lo, hi;
  uint8_t flip;
} s8_conv;

/* lattice.quantize of one value (nearest even): round(v / s) + z clamped
   to the codes' range, z for NaN. */
static int32_t quantize_value(const s8_conv *q, float v) {
  float scaled = v / q->scale;
  float code = scaled != scaled ? q->zero : rintf(scaled) + q->zero;
  code = code < q->lo ? q->lo : code;
  code = code > q->hi ? q->hi : code;
  return (int32_t)code;
}

/* The k-quad-major block of rows [m0, m1) of the quantized im2col matrix
   (code (r, k) at ((k / 4) * rows + r - m0) * 4 + k % 4), portably. */
static void gather_s8_conv(const s8_conv *q, int64_t m0, int64_t m1, int64_t k4,
                           uint8_t *block) {
  const conv_geometry *g = &q->g;
  pixel_runs runs;
  find_runs(g, m0, m1, &runs);
  int64_t rows = m1 - m0, k = g->c * g->kh * g->kw;
  for (int64_t kk = 0; kk < k4; ++kk) {
    int64_t c = kk / (g->kh * g->kw), y = kk / g->kw % g->kh, x = kk % g->kw;
    const float *base = g->x + (c * g->hp + y * g->dh) * g->wp + x * g->dw;
    float cs = q->column_scale && kk < k ? q->column_scale[kk] : 1.0f;
    for (int64_t r = 0; r < runs.count; ++r)
      for (int64_t j = 0; j < runs.length[r]; ++j) {
        uint8_t byte = 0;
        if (kk < k) {
          float v = base[runs.source[r] + j * g->sw];
          if (q->column_scale)
            v *= cs;
          byte = (uint8_t)quantize_value(q, v) ^ q->flip;
        }
        block[((kk / 4) * rows + runs.start[r] + j) * 4 + kk % 4] = byte;
      }
  }
}

#if defined(__x86_64__)
/* gather_s8_conv with 16 pixels of a run a vector: 4 columns quantized and
   interleaved into the 16 dwords of their quad. */
AVX512 static void gather_s8_conv_avx512(const s8_conv *q, int64_t m0,
                                         int64_t m1, int64_t k4,
                                         uint8_t *block) {
  const conv_geometry *g = &q->g;
  pixel_runs runs;
  find_runs(g, m0, m1, &runs);
  int64_t rows = m1 - m0, k = g->c * g->kh * g->kw;
  const __m512 scale = _mm512_set1_ps(q->scale), zero = _mm512_set1_ps(q->zero),
               lo = _mm512_set1_ps(q->lo), hi = _mm512_set1_ps(q->hi);
  const __m512i bytes = _mm512_set1_epi32(0xff),
                flip = _mm512_set1_epi32(q->flip);
  /* The window element (c, y, x) of column kk, advanced column by column
     (no division per column: small planes have few pixels per column). */
  int64_t c = 0, y = 0, x = 0;
  for (int64_t quad = 0; quad < k4 / 4; ++quad) {
    const float *base[4];
    float cs[4];
    for (int t = 0; t < 4; ++t) {
      int64_t kk = quad * 4 + t;
      base[t] = kk < k ? g->x + (c * g->hp + y * g->dh) * g->wp + x * g->dw
                       : g->x; /* padding: not read */
      cs[t] = q->column_scale && kk < k ? q->column_scale[kk] : 1.0f;
      if (++x == g->kw) {
        x = 0;
        if (++y == g->kh) {
          y = 0;
          ++c;
        }
      }
    }
    uint8_t *out = block + quad * rows * 4;
    for (int64_t r = 0; r < runs.count; ++r)
      for (int64_t j = 0; j < runs.length[r]; j += 16) {
        int64_t lanes = runs.length[r] - j;
        __m512i dwords = _mm512_setzero_si512();
        for (int t = 0; t < 4 && quad * 4 + t < k; ++t) {
          __m512 v = lattice_load_strided(base[t] + runs.source[r] + j * g->sw,
                                          lanes, g->sw);
          if (q->column_scale)
            v = _mm512_mul_ps(v, _mm512_set1_ps(cs[t]));
          __m512 scaled = _mm512_div_ps(v, scale);
          __m512 code = _mm512_add_ps(
              _mm512_roundscale_ps(scaled, _MM_FROUND_TO_NEAREST_INT |
                                               _MM_FROUND_NO_EXC),
              zero);
          code = _mm512_mask_mov_ps(
              code, _mm512_cmp_ps_mask(scaled, scaled, _CMP_UNORD_Q), zero);
          code = _mm512_min_ps(_mm512_max_ps(code, lo), hi);
          __m512i byte = _mm512_xor_si512(
              _mm512_and_si512(_mm512_cvttps_epi32(code), bytes), flip);
          dwords = _mm512_or_si512(dwords, _mm512_slli_epi32(byte, 8 * t));
        }
        _mm512_mask_storeu_epi32(out + (runs.start[r] + j) * 4,
                                 lattice_first_lanes(lanes), dwords);
      }
  }
}
#endif

/* Block `block` of the quantized im2col matrix in the tiled layout: its
   quad-major gather, then each register tile's rows copied out of it. */
static void pack_s8_conv(void *context, int64_t m, int64_t k, int64_t k4,
                         int64_t blocks, int64_t block, uint8_t *out) {
  (void)k;
  const s8_conv *q = context;
  int64_t m0 = block_start(m, blocks, block),
          m1 = block_start(m, blocks, block + 1), rows = m1 - m0;
  uint8_t *gathered = lattice_scratch((size_t)(rows * k4), 0);
  if (!gathered)
    return;
#if defined(__x86_64__)
  if (lattice_uk_level() == LATTICE_UK_LEVEL_AVX512)
    gather_s8_conv_avx512(q, m0, m1, k4, gathered);
  else
#endif
    gather_s8_conv(q, m0, m1, k4, gathered);
  /* Rows of a tile are a few dwords a quad: moved inline (a call of memcpy
     per quad took a quarter of the convolution's time). */
  for (int64_t r0 = m0, t = 0, mr; r0 < m1; r0 += mr, ++t) {
    mr = tile_rows(rows, MR_S8, t);
    uint32_t *tile = (uint32_t *)(out + r0 * k4);
    const uint32_t *from = (const uint32_t *)gathered + (r0 - m0);
    for (int64_t quad = 0; quad < k4 / 4; ++quad)
      for (int64_t r = 0; r < mr; ++r)
        tile[quad * mr + r] = from[quad * rows + r];
  }
}

void lattice_uk_conv2d_s8(int64_t x, int64_t column_scale, int64_t a_scale,
                          int64_t a_zero, int64_t w, int64_t w_scale, int64_t y,
                          int64_t n, int64_t c, int64_t hp, int64_t wp,
                          int64_t kh, int64_t kw, int64_t oh, int64_t ow,
                          int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                          int64_t m, int64_t flags, int64_t threads) {
  if (n <= 0 || c <= 0 || kh <= 0 || kw <= 0 || oh <= 0 || ow <= 0)
    return;
  int32_t zero = zero_point_at(
      (flags & LATTICE_UK_A_ZERO_POINT) ? (const void *)(intptr_t)a_zero : NULL,
      (flags >> LATTICE_UK_ZERO_POINT_SHIFT) & 0xff, 0);
  int is_unsigned = (flags & LATTICE_UK_A_UNSIGNED) != 0;
  s8_conv q = {{(const float *)(intptr_t)x, n, c, hp, wp, kh, kw, oh, ow, sh,
                sw, dh, dw, ow, oh * ow, ow},
               (const float *)(intptr_t)column_scale,
               *(const float *)(intptr_t)a_scale,
               (float)zero,
               is_unsigned ? 0.0f : -128.0f,
               is_unsigned ? 255.0f : 127.0f,
               is_unsigned ? 0 : 0x80};
  s8_source source = {pack_s8_conv, &q};
  gemm_s8(&source, a_scale, a_zero, w, w_scale, y, n * oh * ow, m, c * kh * kw,
          flags & ~(int64_t)LATTICE_UK_A_PER_ROW, threads);
}
