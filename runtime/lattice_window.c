/*===- lattice_window.c - Depthwise convolution and pooling kernels -------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Ops that slide a window over the channels of an NCHW tensor group by
 * group: grouped and depthwise convolution, max and sum pooling. Output
 * rows are computed 16 pixels at a time, the window's elements in turn: one
 * load of 16 inputs per element (at unit stride a plain load, at stride 2
 * the even lanes of two, else a gather), one fused multiply-add, max or add
 * per element and lane. On AVX-512 the loads are masked at the end of a row
 * and four output rows go together, so that four independent accumulators
 * hide the latency of the multiply-adds. No im2col and no transposes: each
 * channel's plane is read in place.
 *
 * The AVX2 and portable levels run the same loops over an array of 16
 * lanes, with the strides 1 and 2 as constants in their own copies, for the
 * C compiler to vectorize. The level of the GEMM kernels (lattice_uk_level)
 * picks one.
 *
 *===----------------------------------------------------------------------===*/

#include "lattice_lanes.h"
#include "lattice_threads.h"
#include "lattice_ukernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Output pixels computed together: a 512-bit vector of f32. */
#define LANES 16
/* Output rows per unit of work: planes are cut into blocks of rows so that
   a few large planes still spread over the threads. */
#define ROWS_PER_UNIT 4

typedef struct {
  const float *x, *w;
  float *y;
  int64_t n, groups, cg, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw, mult, kind;
  int64_t row_blocks;
} window_problem;

/* One element of the window into the accumulator `acc`: max propagates
   NaN, as arith.maximumf does. */
__attribute__((always_inline)) static inline float
window_step(float acc, float x, float w, const int kind) {
  if (kind == LATTICE_UK_WINDOW_MAX)
    return (acc != acc || x < acc) ? acc : x;
  if (kind == LATTICE_UK_WINDOW_SUM)
    return acc + x;
  return __builtin_fmaf(x, w, acc);
}

/* Output pixels [ow0, ow0 + lanes) of row `oh` of one output plane;
   `plane` is the first input channel of its group, `wts` its CG x KH x KW
   weights. LANES lanes with `full` (a constant trip count), `lanes`
   otherwise. */
__attribute__((always_inline)) static inline void
window_pixels(const window_problem *p, const float *plane, const float *wts,
              float *out, int64_t oh, int64_t ow0, int64_t lanes,
              const int64_t sw, const int kind, const int full) {
  float acc[LANES];
  const float init = kind == LATTICE_UK_WINDOW_MAX ? -INFINITY : 0.0f;
  const int64_t count = full ? LANES : lanes;
  for (int64_t j = 0; j < count; ++j)
    acc[j] = init;
  for (int64_t c = 0; c < p->cg; ++c)
    for (int64_t i = 0; i < p->kh; ++i) {
      const float *row =
          plane + ((c * p->hp) + oh * p->sh + i * p->dh) * p->wp + ow0 * sw;
      for (int64_t l = 0; l < p->kw; ++l) {
        const float *src = row + l * p->dw;
        float w = kind == LATTICE_UK_WINDOW_CONV
                      ? wts[(c * p->kh + i) * p->kw + l]
                      : 0.0f;
        for (int64_t j = 0; j < count; ++j)
          acc[j] = window_step(acc[j], src[j * sw], w, kind);
      }
    }
  for (int64_t j = 0; j < count; ++j)
    out[ow0 + j] = acc[j];
}

/* A unit of work: a block of ROWS_PER_UNIT rows [first, last) of one
   output plane, with its group's input channels and its weights. */
typedef struct {
  const float *in, *wts;
  float *out;
  int64_t first, last;
} window_unit;

static inline window_unit window_unit_of(const window_problem *p, int64_t u) {
  int64_t plane = u / p->row_blocks, block = u % p->row_blocks;
  int64_t outputs = p->groups * p->mult;
  int64_t b = plane / outputs, o = plane % outputs;
  window_unit unit;
  unit.in = p->x + (b * p->groups + o / p->mult) * p->cg * p->hp * p->wp;
  unit.wts = p->w ? p->w + o * p->cg * p->kh * p->kw : NULL;
  unit.out = p->y + plane * p->oh * p->ow;
  unit.first = block * ROWS_PER_UNIT;
  unit.last =
      unit.first + ROWS_PER_UNIT < p->oh ? unit.first + ROWS_PER_UNIT : p->oh;
  return unit;
}

/* Units [begin, end) of the work. */
__attribute__((always_inline)) static inline void
window_units(const window_problem *p, int64_t begin, int64_t end,
             const int64_t sw, const int kind) {
  for (int64_t u = begin; u < end; ++u) {
    window_unit unit = window_unit_of(p, u);
    for (int64_t oh = unit.first; oh < unit.last; ++oh) {
      float *row = unit.out + oh * p->ow;
      int64_t ow0 = 0;
      for (; ow0 + LANES <= p->ow; ow0 += LANES)
        window_pixels(p, unit.in, unit.wts, row, oh, ow0, LANES, sw, kind, 1);
      if (ow0 < p->ow)
        window_pixels(p, unit.in, unit.wts, row, oh, ow0, p->ow - ow0, sw, kind,
                      0);
    }
  }
}

/* `units` with the kind, and the strides 1 and 2, as constants of their own
   copy. */
#define WINDOW_STRIDES(units, p, begin, end, kind)                             \
  do {                                                                         \
    if ((p)->sw == 1)                                                          \
      units(p, begin, end, 1, kind);                                           \
    else if ((p)->sw == 2)                                                     \
      units(p, begin, end, 2, kind);                                           \
    else                                                                       \
      units(p, begin, end, (p)->sw, kind);                                     \
  } while (0)

#define WINDOW_DISPATCH(units, p, begin, end)                                  \
  do {                                                                         \
    if ((p)->kind == LATTICE_UK_WINDOW_CONV)                                   \
      WINDOW_STRIDES(units, p, begin, end, LATTICE_UK_WINDOW_CONV);            \
    else if ((p)->kind == LATTICE_UK_WINDOW_MAX)                               \
      WINDOW_STRIDES(units, p, begin, end, LATTICE_UK_WINDOW_MAX);             \
    else                                                                       \
      WINDOW_STRIDES(units, p, begin, end, LATTICE_UK_WINDOW_SUM);             \
  } while (0)

static void window_generic(const window_problem *p, int64_t begin,
                           int64_t end) {
  WINDOW_DISPATCH(window_units, p, begin, end);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void
window_avx2(const window_problem *p, int64_t begin, int64_t end) {
  WINDOW_DISPATCH(window_units, p, begin, end);
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/* window_pixels in registers, for `rows` (a constant) consecutive output
   rows from `oh` at once: independent accumulators that hide the latency
   of the multiply-adds, one broadcast of each weight. */
AVX512 __attribute__((always_inline)) static inline void
window_pixels_avx512(const window_problem *p, const float *plane,
                     const float *wts, float *out, int64_t oh, int64_t ow0,
                     int64_t lanes, const int64_t sw, const int kind,
                     const int rows) {
  __m512 acc[ROWS_PER_UNIT];
  for (int r = 0; r < rows; ++r)
    acc[r] = _mm512_set1_ps(kind == LATTICE_UK_WINDOW_MAX ? -INFINITY : 0.0f);
  const float *first = plane + oh * p->sh * p->wp + ow0 * sw;
  for (int64_t k = 0; k < p->cg * p->kh; ++k)
    for (int64_t l = 0; l < p->kw; ++l) {
      /* Window element (c, i, l) of k = c * KH + i. */
      int64_t c = k / p->kh, i = k % p->kh;
      const float *src = first + (c * p->hp + i * p->dh) * p->wp + l * p->dw;
      __m512 w = kind == LATTICE_UK_WINDOW_CONV
                     ? _mm512_set1_ps(wts[k * p->kw + l])
                     : _mm512_setzero_ps();
      for (int r = 0; r < rows; ++r) {
        __m512 x = lattice_load_strided(src + r * p->sh * p->wp, lanes, sw);
        if (kind == LATTICE_UK_WINDOW_MAX)
          /* maxps returns its second operand when either is NaN. */
          acc[r] =
              _mm512_mask_mov_ps(_mm512_max_ps(x, acc[r]),
                                 _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
        else if (kind == LATTICE_UK_WINDOW_SUM)
          acc[r] = _mm512_add_ps(acc[r], x);
        else
          acc[r] = _mm512_fmadd_ps(x, w, acc[r]);
      }
    }
  for (int r = 0; r < rows; ++r)
    _mm512_mask_storeu_ps(out + (oh + r) * p->ow + ow0,
                          lattice_first_lanes(lanes), acc[r]);
}

AVX512 __attribute__((always_inline)) static inline void
window_units_avx512(const window_problem *p, int64_t begin, int64_t end,
                    const int64_t sw, const int kind) {
  for (int64_t u = begin; u < end; ++u) {
    window_unit unit = window_unit_of(p, u);
    for (int64_t ow0 = 0; ow0 < p->ow; ow0 += LANES) {
      if (unit.last - unit.first == ROWS_PER_UNIT) {
        window_pixels_avx512(p, unit.in, unit.wts, unit.out, unit.first, ow0,
                             p->ow - ow0, sw, kind, ROWS_PER_UNIT);
        continue;
      }
      for (int64_t oh = unit.first; oh < unit.last; ++oh)
        window_pixels_avx512(p, unit.in, unit.wts, unit.out, oh, ow0,
                             p->ow - ow0, sw, kind, 1);
    }
  }
}

AVX512 static void window_avx512(const window_problem *p, int64_t begin,
                                 int64_t end) {
  WINDOW_DISPATCH(window_units_avx512, p, begin, end);
}
#endif

/* Units [begin, end) at the level of the GEMM kernels. */
static void window_runs(void *context, int64_t begin, int64_t end) {
  const window_problem *p = context;
#if defined(__x86_64__)
  int level = lattice_uk_level();
  if (level == LATTICE_UK_LEVEL_AVX512) {
    window_avx512(p, begin, end);
    return;
  }
  if (level == LATTICE_UK_LEVEL_AVX2) {
    window_avx2(p, begin, end);
    return;
  }
#endif
  window_generic(p, begin, end);
}

void lattice_uk_window2d_f32(int64_t x, int64_t w, int64_t y, int64_t n,
                             int64_t groups, int64_t cg, int64_t hp, int64_t wp,
                             int64_t kh, int64_t kw, int64_t oh, int64_t ow,
                             int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                             int64_t mult, int64_t kind, int64_t threads) {
  if (n <= 0 || groups <= 0 || cg <= 0 || oh <= 0 || ow <= 0 || mult <= 0 ||
      kind < 0 || kind > LATTICE_UK_WINDOW_SUM ||
      (kind != LATTICE_UK_WINDOW_CONV && (cg != 1 || mult != 1)))
    return;
  window_problem p = {.x = (const float *)(intptr_t)x,
                      .w = (const float *)(intptr_t)w,
                      .y = (float *)(intptr_t)y,
                      .n = n,
                      .groups = groups,
                      .cg = cg,
                      .hp = hp,
                      .wp = wp,
                      .kh = kh,
                      .kw = kw,
                      .oh = oh,
                      .ow = ow,
                      .sh = sh,
                      .sw = sw,
                      .dh = dh,
                      .dw = dw,
                      .mult = mult,
                      .kind = kind,
                      .row_blocks = (oh + ROWS_PER_UNIT - 1) / ROWS_PER_UNIT};
  int64_t units = n * groups * mult * p.row_blocks;
  lattice_parallel_for(window_runs, &p, 0, units,
                       lattice_run_length(threads, units));
}
