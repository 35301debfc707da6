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
 * and up to eight output rows go together, so that independent accumulators
 * hide the latency of the multiply-adds; 3 x 3 and 5 x 5 windows have their
 * own unrolled copies. A window that covers its whole plane (global
 * pooling) reads the plane in vectors instead. No im2col and no transposes:
 * each channel's plane is read in place. Results get the epilogue (a bias,
 * a residual, an activation: lattice_epilogue.h) as they are stored. Whole
 * planes are the units of work, unless there are too few of them for the
 * threads. Depthwise
 * convolutions with rows shorter than 28 pixels are the exception: they go
 * 16 channels a vector, through transposes (depthwise_channels_avx512).
 *
 * A padded input is read without its padding: the elements of a window
 * outside the input are the reduction's initial value (-inf or +0), which
 * the rows of the padding above or below get in every lane, and the vectors
 * whose lanes reach into the padding left or right get in masked loads
 * (the others run as without a padding); the transposes of the depthwise
 * kernel put the zeros around the planes in their buffer.
 *
 * The AVX2 and portable levels run the same loops over an array of 16
 * lanes, with the strides 1 and 2 as constants in their own copies, for the
 * C compiler to vectorize. The level of the GEMM kernels (lattice_uk_level)
 * picks one.
 *
 *===----------------------------------------------------------------------===*/

#include "lattice_epilogue.h"
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
/* Output rows computed together (one accumulator each), and the unit of
   the blocks of rows that planes are cut into when there are too few of
   them to spread over the threads. */
#define ROWS_PER_UNIT 8

typedef struct {
  const float *x, *w;
  float *y;
  int64_t n, groups, cg, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw, mult, kind;
  int64_t pt, pl; /* the padding's rows above and columns left of x */
  int inside;     /* every window inside x */
  /* The output rows [row_first, row_end) whose windows are inside x's
     rows. */
  int64_t row_first, row_end;
  int64_t row_blocks, unit_rows; /* blocks of rows a plane, rows a block */
  lattice_epilogue epilogue;
} window_problem;

/* The lanes j in [lo, hi) of `count` whose element x0 + j * stride is in
   [0, width) (none: lo = hi). */
static inline void lanes_inside(int64_t x0, int64_t stride, int64_t width,
                                int64_t count, int64_t *lo, int64_t *hi) {
  int64_t first = x0 >= 0 ? 0 : (-x0 + stride - 1) / stride;
  int64_t end = x0 >= width ? 0 : (width - x0 + stride - 1) / stride;
  *lo = first < count ? first : count;
  *hi = end < count ? end : count;
  if (*hi < *lo)
    *hi = *lo;
}

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
   otherwise. Elements outside the input are the padding's value (the
   reduction's initial one) where the problem is not `inside`. */
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
      int64_t r = oh * p->sh + i * p->dh - p->pt;
      int row_inside = r >= 0 && r < p->hp;
      int64_t row = (c * p->hp + r) * p->wp;
      for (int64_t l = 0; l < p->kw; ++l) {
        int64_t x0 = ow0 * sw + l * p->dw - p->pl;
        float w = kind == LATTICE_UK_WINDOW_CONV
                      ? wts[(c * p->kh + i) * p->kw + l]
                      : 0.0f;
        if (p->inside) {
          for (int64_t j = 0; j < count; ++j)
            acc[j] = window_step(acc[j], plane[row + x0 + j * sw], w, kind);
          continue;
        }
        int64_t lo = count, hi = count;
        if (row_inside)
          lanes_inside(x0, sw, p->wp, count, &lo, &hi);
        for (int64_t j = 0; j < lo; ++j)
          acc[j] = window_step(acc[j], init, w, kind);
        for (int64_t j = lo; j < hi; ++j)
          acc[j] = window_step(acc[j], plane[row + x0 + j * sw], w, kind);
        for (int64_t j = hi; j < count; ++j)
          acc[j] = window_step(acc[j], init, w, kind);
      }
    }
  for (int64_t j = 0; j < count; ++j)
    out[ow0 + j] = acc[j];
}

/* A unit of work: a block of rows [first, last) of one output plane (of
   output channel `channel`), with its group's input channels and its
   weights. */
typedef struct {
  const float *in, *wts;
  float *out;
  int64_t first, last, channel;
} window_unit;

static inline window_unit window_unit_of(const window_problem *p, int64_t u) {
  int64_t plane = u / p->row_blocks, block = u % p->row_blocks;
  int64_t outputs = p->groups * p->mult;
  int64_t b = plane / outputs, o = plane % outputs;
  window_unit unit;
  unit.in = p->x + (b * p->groups + o / p->mult) * p->cg * p->hp * p->wp;
  unit.wts = p->w ? p->w + o * p->cg * p->kh * p->kw : NULL;
  unit.out = p->y + plane * p->oh * p->ow;
  unit.channel = o;
  unit.first = block * p->unit_rows;
  unit.last =
      unit.first + p->unit_rows < p->oh ? unit.first + p->unit_rows : p->oh;
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
      lattice_epilogue_run(&p->epilogue, row, p->ow, unit.channel);
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

/* window_step on 16 lanes. */
AVX512 __attribute__((always_inline)) static inline __m512
window_step_avx512(__m512 acc, __m512 x, __m512 w, const int kind) {
  if (kind == LATTICE_UK_WINDOW_MAX)
    /* maxps returns its second operand when either is NaN. */
    return _mm512_mask_mov_ps(_mm512_max_ps(x, acc),
                              _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
  if (kind == LATTICE_UK_WINDOW_SUM)
    return _mm512_add_ps(acc, x);
  return _mm512_fmadd_ps(x, w, acc);
}

/* What window_pixels_avx512 checks against the input's edges: nothing
   (every window inside), its columns (the windows of the vector's lanes
   reach into the padding left or right), or its rows and columns. */
enum { WINDOW_INSIDE = 0, WINDOW_COLUMNS = 1, WINDOW_ROWS_COLUMNS = 2 };
/* The window's columns whose lanes window_pixels_avx512 works out once. */
#define WINDOW_COLUMN_MASKS 16

/* The lanes j < `lanes` whose column x0 + j * stride is in [0, width). */
AVX512 __attribute__((always_inline)) static inline __mmask16
window_columns_avx512(int64_t x0, int64_t stride, int64_t width,
                      int64_t lanes) {
  __m512i column = _mm512_add_epi32(
      _mm512_set1_epi32((int)x0),
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                           12, 13, 14, 15),
                         _mm512_set1_epi32((int)stride)));
  return _mm512_cmpge_epi32_mask(column, _mm512_setzero_si512()) &
         _mm512_cmplt_epi32_mask(column, _mm512_set1_epi32((int)width)) &
         lattice_first_lanes(lanes);
}

/* window_pixels in registers, for `rows` (a constant) consecutive output
   rows from `oh` at once: independent accumulators that hide the latency
   of the multiply-adds, one broadcast of each weight. Elements outside
   the input are the padding's value (the reduction's initial one), in
   masked loads, where `checked` says (WINDOW_*). */
AVX512 __attribute__((always_inline)) static inline void window_pixels_avx512(
    const window_problem *p, const lattice_epilogue *epilogue, __m512 bias,
    const float *plane, const float *wts, float *out, int64_t oh, int64_t ow0,
    int64_t lanes, const int64_t sw, const int64_t kh, const int64_t kw,
    const int64_t dw, const int kind, const int checked, const int rows) {
  const __m512 init =
      _mm512_set1_ps(kind == LATTICE_UK_WINDOW_MAX ? -INFINITY : 0.0f);
  __m512 acc[ROWS_PER_UNIT];
  for (int r = 0; r < rows; ++r)
    acc[r] = init;
  if (checked) {
    /* The lanes of each column of the window inside the input: the same
       in every row. */
    __mmask16 valid[WINDOW_COLUMN_MASKS];
    for (int64_t l = 0; l < kw && l < WINDOW_COLUMN_MASKS; ++l)
      valid[l] =
          window_columns_avx512(ow0 * sw + l * dw - p->pl, sw, p->wp, lanes);
    for (int64_t c = 0; c < p->cg; ++c)
      for (int64_t i = 0; i < kh; ++i) {
        const float *line[ROWS_PER_UNIT];
        int inside[ROWS_PER_UNIT];
        for (int r = 0; r < rows; ++r) {
          int64_t y = (oh + r) * p->sh + i * p->dh - p->pt;
          inside[r] = checked == WINDOW_COLUMNS || (y >= 0 && y < p->hp);
          line[r] = plane + (c * p->hp + y) * p->wp + ow0 * sw - p->pl;
        }
        for (int64_t l = 0; l < kw; ++l) {
          __m512 w = kind == LATTICE_UK_WINDOW_CONV
                         ? _mm512_set1_ps(wts[(c * kh + i) * kw + l])
                         : _mm512_setzero_ps();
          __mmask16 columns =
              l < WINDOW_COLUMN_MASKS
                  ? valid[l]
                  : window_columns_avx512(ow0 * sw + l * dw - p->pl, sw, p->wp,
                                          lanes);
          for (int r = 0; r < rows; ++r) {
            __m512 x = inside[r] ? lattice_load_strided_valid(line[r] + l * dw,
                                                              columns, sw, init)
                                 : init;
            acc[r] = window_step_avx512(acc[r], x, w, kind);
          }
        }
      }
  } else {
    /* A pointer per row, moved down the window: with a constant KW and unit
       dilation, each element's load is one of them and a constant offset. */
    const float *line[ROWS_PER_UNIT];
    for (int r = 0; r < rows; ++r)
      line[r] = plane + ((oh + r) * p->sh - p->pt) * p->wp + ow0 * sw - p->pl;
    const int64_t down = p->dh * p->wp, next = (p->hp - kh * p->dh) * p->wp;
    const float *taps = wts;
    for (int64_t c = 0; c < p->cg; ++c) {
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t l = 0; l < kw; ++l) {
          __m512 w = kind == LATTICE_UK_WINDOW_CONV ? _mm512_set1_ps(taps[l])
                                                    : _mm512_setzero_ps();
          for (int r = 0; r < rows; ++r) {
            __m512 x = lattice_load_strided(line[r] + l * dw, lanes, sw);
            acc[r] = window_step_avx512(acc[r], x, w, kind);
          }
        }
        for (int r = 0; r < rows; ++r)
          line[r] += down;
        if (kind == LATTICE_UK_WINDOW_CONV)
          taps += kw;
      }
      for (int r = 0; r < rows; ++r)
        line[r] += next;
    }
  }
  int active = lattice_epilogue_active(epilogue);
  for (int r = 0; r < rows; ++r)
    _mm512_mask_storeu_ps(
        out + (oh + r) * p->ow + ow0, lattice_first_lanes(lanes),
        active ? lattice_epilogue_avx512(epilogue, acc[r], bias,
                                         out + (oh + r) * p->ow + ow0,
                                         lattice_first_lanes(lanes))
               : acc[r]);
}

/* A window that covers its whole plane once (global pooling: one output
   pixel, unit strides): the plane in 16-lane vectors, four independent
   accumulators (a chain of dependent adds per plane was latency-bound on
   the 7 x 7 and 14 x 14 planes of squeeze-and-excitation blocks), reduced
   across the lanes at the end. Rows without padding between them
   (wp == kw) are one run; otherwise each row is. Sums are then associated
   by lanes, not in the window's order. */
#define PLANE_ACCUMULATORS 4

AVX512 __attribute__((always_inline)) static inline void
window_plane_avx512(const window_problem *p, const float *plane, float *out,
                    const int kind) {
  const __m512 init =
      _mm512_set1_ps(kind == LATTICE_UK_WINDOW_MAX ? -INFINITY : 0.0f);
  const __m512 none = _mm512_setzero_ps();
  __m512 acc[PLANE_ACCUMULATORS];
  for (int a = 0; a < PLANE_ACCUMULATORS; ++a)
    acc[a] = init;
  int64_t runs = p->wp == p->kw ? 1 : p->kh;
  int64_t length = p->wp == p->kw ? p->kh * p->kw : p->kw;
  int next = 0;
  for (int64_t i = 0; i < runs; ++i) {
    const float *run = plane + i * p->wp;
    int64_t l = 0;
    for (; l + PLANE_ACCUMULATORS * LANES <= length;
         l += PLANE_ACCUMULATORS * LANES)
      for (int a = 0; a < PLANE_ACCUMULATORS; ++a)
        acc[a] = window_step_avx512(
            acc[a], _mm512_loadu_ps(run + l + a * LANES), none, kind);
    for (; l < length; l += LANES) {
      /* Lanes past the run's end load the accumulator's initial value. */
      __m512 x =
          _mm512_mask_loadu_ps(init, lattice_first_lanes(length - l), run + l);
      acc[next] = window_step_avx512(acc[next], x, none, kind);
      next = (next + 1) % PLANE_ACCUMULATORS;
    }
  }
  for (int a = 1; a < PLANE_ACCUMULATORS; ++a)
    acc[0] = window_step_avx512(acc[0], acc[a], none, kind);
  if (kind == LATTICE_UK_WINDOW_MAX) {
    /* A NaN anywhere is the result, as in window_step. */
    __mmask16 nan = _mm512_cmp_ps_mask(acc[0], acc[0], _CMP_UNORD_Q);
    *out = nan ? NAN : _mm512_reduce_max_ps(acc[0]);
  } else {
    *out = _mm512_reduce_add_ps(acc[0]);
  }
}

/* window_pixels_avx512 for `rows` (at most ROWS_PER_UNIT) rows from `oh`,
   with the window's size and unit dilation as constants where it is 3 x 3
   or 5 x 5 (most depthwise convolutions): its loops then unroll, and each
   element is a load at a constant offset and a multiply-add. */
#define WINDOW_SIZES(fn, p, ...)                                               \
  do {                                                                         \
    if ((p)->kh == 3 && (p)->kw == 3 && (p)->dw == 1)                          \
      fn(__VA_ARGS__, 3, 3, 1);                                                \
    else if ((p)->kh == 5 && (p)->kw == 5 && (p)->dw == 1)                     \
      fn(__VA_ARGS__, 5, 5, 1);                                                \
    else                                                                       \
      fn(__VA_ARGS__, (p)->kh, (p)->kw, (p)->dw);                              \
  } while (0)

AVX512 __attribute__((always_inline)) static inline void
window_rows_sized_avx512(const window_problem *p, const window_unit *unit,
                         int64_t oh, int64_t rows, const int64_t sw,
                         const int kind, const int64_t kh, const int64_t kw,
                         const int64_t dw) {
  /* A copy the stores cannot alias (lattice_epilogue_avx512). */
  const lattice_epilogue epilogue = p->epilogue;
  __m512 bias = lattice_epilogue_bias_avx512(&epilogue, unit->channel);
  for (int64_t ow0 = 0; ow0 < p->ow; ow0 += LANES) {
    int64_t lanes = p->ow - ow0;
    /* Whether the windows of this vector's lanes are inside the input's
       columns; the rows whose windows are inside its rows, from `oh`. */
    int64_t last = (lanes < LANES ? lanes : LANES) - 1;
    int columns =
        p->inside || (ow0 * sw - p->pl >= 0 &&
                      (ow0 + last) * sw + (kw - 1) * dw - p->pl < p->wp);
    int64_t first = p->row_first < oh ? 0 : p->row_first - oh;
    int64_t end = p->row_end < oh ? 0 : p->row_end - oh;
    first = first < rows ? first : rows;
    end = end < first ? first : end < rows ? end : rows;
#define WINDOW_ROWS(from, count, checked)                                      \
  window_pixels_avx512(p, &epilogue, bias, unit->in, unit->wts, unit->out,     \
                       from, ow0, lanes, sw, kh, kw, dw, kind, checked, count)
    /* Rows whose windows reach into the padding above or below, one at a
       time, the padding's value in masked loads. */
    for (int64_t r = 0; r < first; ++r)
      WINDOW_ROWS(oh + r, 1, WINDOW_ROWS_COLUMNS);
    for (int64_t r = end; r < rows; ++r)
      WINDOW_ROWS(oh + r, 1, WINDOW_ROWS_COLUMNS);
    /* Each row is one chain of dependent multiply-adds: 8 rows at once keep
       both FMA pipes busy; the rest goes in 4, 2 and 1 (fewer copies of the
       unrolled body than one per count, as fast). */
#define WINDOW_GROUP(count)                                                    \
  if (end - first >= (count)) {                                                \
    if (columns)                                                               \
      WINDOW_ROWS(oh + first, count, WINDOW_INSIDE);                           \
    else                                                                       \
      WINDOW_ROWS(oh + first, count, WINDOW_COLUMNS);                          \
    first += (count);                                                          \
  }
    WINDOW_GROUP(8)
    WINDOW_GROUP(4)
    WINDOW_GROUP(2)
    WINDOW_GROUP(1)
#undef WINDOW_GROUP
#undef WINDOW_ROWS
  }
}

AVX512 __attribute__((always_inline)) static inline void
window_rows_avx512(const window_problem *p, const window_unit *unit, int64_t oh,
                   int64_t rows, const int64_t sw, const int kind) {
  WINDOW_SIZES(window_rows_sized_avx512, p, p, unit, oh, rows, sw, kind);
}

AVX512 __attribute__((always_inline)) static inline void
window_units_avx512(const window_problem *p, int64_t begin, int64_t end,
                    const int64_t sw, const int kind) {
  int global = kind != LATTICE_UK_WINDOW_CONV && p->oh == 1 && p->ow == 1 &&
               p->dh == 1 && p->dw == 1 && p->inside && p->pt == 0 &&
               p->pl == 0;
  for (int64_t u = begin; u < end; ++u) {
    window_unit unit = window_unit_of(p, u);
    if (global) {
      window_plane_avx512(p, unit.in, unit.out, kind);
      lattice_epilogue_run(&p->epilogue, unit.out, 1, unit.channel);
      continue;
    }
    for (int64_t oh = unit.first; oh < unit.last; oh += ROWS_PER_UNIT) {
      int64_t rows = unit.last - oh;
      window_rows_avx512(p, &unit, oh,
                         rows < ROWS_PER_UNIT ? rows : ROWS_PER_UNIT, sw, kind);
    }
  }
}

AVX512 static void window_avx512(const window_problem *p, int64_t begin,
                                 int64_t end) {
  WINDOW_DISPATCH(window_units_avx512, p, begin, end);
}

/* Depthwise convolutions with short output rows (7 pixels leave most lanes
   of a row's vector idle) go 16 channels a vector instead: the 16 input
   planes are transposed to channel-minor in a buffer, each output pixel is
   a multiply-add per window element on 16 channels (DEPTHWISE_PIXELS pixels
   at once, independent accumulators), and the results are transposed back.
   The same multiply-adds in the same order as the rows' path, so the same
   results. */
#define DEPTHWISE_PIXELS 8

/* Rows of 28 pixels (seven eighths of two vectors) run faster in place than
   through the transposes (MobileNetV3 2 % faster); rows of 14, level. */
static int depthwise_by_channels(const window_problem *p) {
  return p->kind == LATTICE_UK_WINDOW_CONV && p->cg == 1 && p->mult == 1 &&
         p->ow < 28;
}

/* DEPTHWISE_PIXELS output pixels from (oh, ow0) of the 16 channels (past
   the row's end, into the next row or the buffers' slack, which later
   pixels overwrite): taps[t] holds window element t of each. The window's
   size and the stride are constants where they are 3 x 3 or 5 x 5 and 1
   or 2, so that the taps unroll into loads at constant offsets. */
AVX512 __attribute__((always_inline)) static inline void
depthwise_pixels_avx512(const window_problem *p, const float *in,
                        const float *taps, float *out, int64_t oh, int64_t ow0,
                        const int64_t kh, const int64_t kw, const int64_t sw) {
  __m512 acc[DEPTHWISE_PIXELS];
  for (int q = 0; q < DEPTHWISE_PIXELS; ++q)
    acc[q] = _mm512_setzero_ps();
  const float *x = in + ((oh * p->sh) * p->wp + ow0 * sw) * LANES;
  for (int64_t i = 0; i < kh; ++i) {
    const float *row = x + i * p->dh * p->wp * LANES;
    for (int64_t l = 0; l < kw; ++l) {
      __m512 w = _mm512_loadu_ps(taps + (i * kw + l) * LANES);
      for (int q = 0; q < DEPTHWISE_PIXELS; ++q)
        acc[q] = _mm512_fmadd_ps(
            _mm512_loadu_ps(row + (q * sw + l * p->dw) * LANES), w, acc[q]);
    }
  }
  for (int q = 0; q < DEPTHWISE_PIXELS; ++q)
    _mm512_storeu_ps(out + (oh * p->ow + ow0 + q) * LANES, acc[q]);
}

AVX512 __attribute__((always_inline)) static inline void
depthwise_plane_avx512(const window_problem *p, const float *in,
                       const float *taps, float *out, const int64_t kh,
                       const int64_t kw, const int64_t sw) {
  for (int64_t oh = 0; oh < p->oh; ++oh)
    for (int64_t ow0 = 0; ow0 < p->ow; ow0 += DEPTHWISE_PIXELS)
      depthwise_pixels_avx512(p, in, taps, out, oh, ow0, kh, kw, sw);
}

#define DEPTHWISE_STRIDES(p, in, taps, out, kh, kw)                            \
  do {                                                                         \
    if ((p)->sw == 1)                                                          \
      depthwise_plane_avx512(p, in, taps, out, kh, kw, 1);                     \
    else if ((p)->sw == 2)                                                     \
      depthwise_plane_avx512(p, in, taps, out, kh, kw, 2);                     \
    else                                                                       \
      depthwise_plane_avx512(p, in, taps, out, kh, kw, (p)->sw);               \
  } while (0)

/* Elements [0, count) of `channels` (at most 16) planes `plane` apart
   from x, rows of `width`, to `in` channel-minor (16 floats an element,
   zero past the channels): element (y, x) to (y + top, x + left) of the
   buffer's [rows, columns], if there. */
AVX512 static void depthwise_transpose_avx512(const float *x, int64_t plane,
                                              int64_t count, int64_t channels,
                                              float *in, int64_t width,
                                              int64_t top, int64_t left,
                                              int64_t rows, int64_t columns) {
  int dense = top == 0 && left == 0 && columns == width;
  for (int64_t pos = 0, y = 0, col = 0; pos < count; pos += LANES) {
    __mmask16 lanes = lattice_first_lanes(count - pos);
    __m512 r[LANES];
    for (int64_t ch = 0; ch < LANES; ++ch)
      r[ch] = ch < channels ? _mm512_maskz_loadu_ps(lanes, x + ch * plane + pos)
                            : _mm512_setzero_ps();
    lattice_transpose16(r);
    for (int64_t j = 0; j < LANES && pos + j < count; ++j) {
      if (dense)
        _mm512_storeu_ps(in + (pos + j) * LANES, r[j]);
      else if (y + top < rows && col + left < columns)
        _mm512_storeu_ps(in + ((y + top) * columns + col + left) * LANES, r[j]);
      if (++col == width) {
        col = 0;
        ++y;
      }
    }
  }
}

/* Units [begin, end): (image, 16 channels). */
AVX512 static void depthwise_channels_avx512(void *context, int64_t begin,
                                             int64_t end) {
  const window_problem *p = context;
  int64_t plane_in = p->hp * p->wp, plane_out = p->oh * p->ow;
  int64_t taps_count = p->kh * p->kw;
  /* The planes in the buffer: the input's, or, with a padding, the rows and
     columns that the windows span, the padding's zeros around the input
     (q: the problem over the buffer's planes). */
  window_problem q = *p;
  if (!p->inside) {
    q.hp = (p->oh - 1) * p->sh + (p->kh - 1) * p->dh + 1;
    q.wp = (p->ow - 1) * p->sw + (p->kw - 1) * p->dw + 1;
  }
  int64_t plane_buffer = q.hp * q.wp;
  const lattice_epilogue epilogue = p->epilogue;
  int active = lattice_epilogue_active(&epilogue);
  int64_t blocks = (p->groups + LANES - 1) / LANES;
  /* Slack past the planes for the pixels past a row's end. */
  int64_t slack = DEPTHWISE_PIXELS * (p->sw + 1);
  float *in = lattice_scratch(
      sizeof(float) * LANES *
          (size_t)(plane_buffer + plane_out + 2 * slack + taps_count),
      0);
  if (!in)
    return; /* out of memory */
  float *out = in + (plane_buffer + slack) * LANES,
        *taps = out + (plane_out + slack) * LANES;
  for (int64_t u = begin; u < end; ++u) {
    int64_t b = u / blocks, c0 = (u % blocks) * LANES;
    int64_t channels = p->groups - c0 < LANES ? p->groups - c0 : LANES;
    const float *x = p->x + (b * p->groups + c0) * plane_in;
    for (int64_t t = 0; t < taps_count; ++t)
      for (int64_t ch = 0; ch < LANES; ++ch)
        taps[t * LANES + ch] =
            ch < channels ? p->w[(c0 + ch) * taps_count + t] : 0.0f;
    if (p->inside) {
      depthwise_transpose_avx512(x, plane_in, plane_in, channels, in, p->wp, 0,
                                 0, p->hp, p->wp);
    } else {
      /* The padding's zeros around the input's elements, which go to
         their place in the buffer's rows. */
      for (int64_t yb = 0; yb < q.hp; ++yb) {
        int64_t y = yb - p->pt, first = q.wp, end = q.wp;
        if (y >= 0 && y < p->hp)
          lanes_inside(-p->pl, 1, p->wp, q.wp, &first, &end);
        for (int64_t j = 0; j < q.wp; ++j)
          if (j < first || j >= end)
            _mm512_storeu_ps(in + (yb * q.wp + j) * LANES, _mm512_setzero_ps());
      }
      depthwise_transpose_avx512(x, plane_in, plane_in, channels, in, p->wp,
                                 p->pt, p->pl, q.hp, q.wp);
    }
    if (p->kh == 3 && p->kw == 3)
      DEPTHWISE_STRIDES(&q, in, taps, out, 3, 3);
    else if (p->kh == 5 && p->kw == 5)
      DEPTHWISE_STRIDES(&q, in, taps, out, 5, 5);
    else
      DEPTHWISE_STRIDES(&q, in, taps, out, p->kh, p->kw);
    float *y = p->y + (b * p->groups + c0) * plane_out;
    for (int64_t pos = 0; pos < plane_out; pos += LANES) {
      __mmask16 count = lattice_first_lanes(plane_out - pos);
      __m512 r[LANES];
      for (int64_t j = 0; j < LANES; ++j)
        r[j] = pos + j < plane_out ? _mm512_loadu_ps(out + (pos + j) * LANES)
                                   : _mm512_setzero_ps();
      lattice_transpose16(r);
      for (int64_t ch = 0; ch < channels; ++ch)
        _mm512_mask_storeu_ps(
            y + ch * plane_out + pos, count,
            active ? lattice_epilogue_avx512(
                         &epilogue, r[ch],
                         lattice_epilogue_bias_avx512(&epilogue, c0 + ch),
                         y + ch * plane_out + pos, count)
                   : r[ch]);
    }
  }
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
                             int64_t mult, int64_t kind, int64_t bias,
                             int64_t epilogue, int64_t params, int64_t residual,
                             int64_t threads) {
  lattice_epilogue finish;
  int64_t pt = (kind >> LATTICE_UK_WINDOW_PAD_TOP_SHIFT) & 0xff,
          pl = (kind >> LATTICE_UK_WINDOW_PAD_LEFT_SHIFT) & 0xff;
  kind &= 0xff;
  if (n <= 0 || groups <= 0 || cg <= 0 || oh <= 0 || ow <= 0 || mult <= 0 ||
      kind > LATTICE_UK_WINDOW_SUM ||
      (kind != LATTICE_UK_WINDOW_CONV && (cg != 1 || mult != 1)) ||
      !lattice_epilogue_init(&finish, bias, epilogue, params, residual, y))
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
                      .pt = pt,
                      .pl = pl,
                      .inside = pt == 0 && pl == 0 &&
                                (oh - 1) * sh + (kh - 1) * dh < hp &&
                                (ow - 1) * sw + (kw - 1) * dw < wp,
                      .row_first = (pt + sh - 1) / sh,
                      .row_end = hp - 1 - (kh - 1) * dh + pt < 0
                                     ? 0
                                     : (hp - 1 - (kh - 1) * dh + pt) / sh + 1,
                      .row_blocks = 1,
                      .unit_rows = oh,
                      .epilogue = finish};
  /* Whole planes are the units, unless there are too few of them to keep
     every thread busy: then blocks of ROWS_PER_UNIT rows. */
  int64_t planes = n * groups * mult;
  if (planes < 4 * lattice_get_call_threads() && oh > ROWS_PER_UNIT) {
    p.unit_rows = ROWS_PER_UNIT;
    p.row_blocks = (oh + ROWS_PER_UNIT - 1) / ROWS_PER_UNIT;
  }
  int64_t work = planes * oh * ow * kh * kw;
#if defined(__x86_64__)
  if (lattice_uk_level() == LATTICE_UK_LEVEL_AVX512 &&
      depthwise_by_channels(&p)) {
    int64_t units = n * ((groups + LANES - 1) / LANES);
    lattice_parallel_for(
        depthwise_channels_avx512, &p, 0, units,
        lattice_run_length(lattice_work_threads(threads, work), units));
    return;
  }
#endif
  int64_t units = planes * p.row_blocks;
  lattice_parallel_for(
      window_runs, &p, 0, units,
      lattice_run_length(lattice_work_threads(threads, work), units));
}
