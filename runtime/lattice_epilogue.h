/*===- lattice_epilogue.h - Bias, residual, activation of conv outputs ---===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The epilogue of the convolution and window kernels
 * (LATTICE_UK_EPILOGUE_* in lattice_ukernels.h): the bias, residual and
 * activation of the op that followed them in the model, applied to results
 * in registers as they are stored, instead of in a pass of its own over
 * the output. Internal to the runtime.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_EPILOGUE_H
#define LATTICE_EPILOGUE_H

#include "lattice_ukernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Every product and sum of an epilogue rounds on its own, as arith's ops
   do. */
#pragma STDC FP_CONTRACT OFF

typedef struct {
  const float *bias; /* one per output channel, or NULL */
  int kind;          /* LATTICE_UK_EPILOGUE_* */
  float p0, p1;
  /* A residual, or 0: the residual of the result stored at address A is
     at A + residual bytes (the output's layout, another buffer). */
  int residual;
  intptr_t residual_offset;
  /* Or, with `remap` (lattice_epilogue_layouts: a residual in another
     layout than the output's), at r + plane * r_plane + row * r_row +
     column, for A = y + plane * y_plane + row * y_row + column. */
  int remap;
  const float *y, *r;
  int64_t y_row, y_plane, r_row, r_plane;
} lattice_epilogue;

/* The epilogue of the kernel arguments `bias`, `kind`, `params` and
   `residual` for the output at `y`; 0 when the kind is unknown. */
static inline int lattice_epilogue_init(lattice_epilogue *e, int64_t bias,
                                        int64_t kind, int64_t params,
                                        int64_t residual, int64_t y) {
  if (kind < LATTICE_UK_EPILOGUE_NONE || kind > LATTICE_UK_EPILOGUE_HARDSIGMOID)
    return 0;
  uint32_t low = (uint32_t)params, high = (uint32_t)((uint64_t)params >> 32);
  e->bias = (const float *)(intptr_t)bias;
  e->kind = (int)kind;
  memcpy(&e->p0, &low, sizeof(float));
  memcpy(&e->p1, &high, sizeof(float));
  e->residual = residual != 0;
  e->residual_offset = residual ? (intptr_t)(residual - y) : 0;
  e->remap = 0;
  e->y = (const float *)(intptr_t)y;
  e->r = (const float *)(intptr_t)residual;
  e->y_row = e->y_plane = e->r_row = e->r_plane = 0;
  return 1;
}

/* Planes of the output rows `y_row` and planes `y_plane` floats apart, and
   of the residual r_row and r_plane apart (NCHW planes in frames of their
   own, as the interiors of padded buffers): where the two differ, the
   residual of each result is found from its plane, row and column. The
   vector epilogues then take runs of results within one row. */
static inline void lattice_epilogue_layouts(lattice_epilogue *e, int64_t y_row,
                                            int64_t y_plane, int64_t r_row,
                                            int64_t r_plane) {
  e->y_row = y_row;
  e->y_plane = y_plane;
  e->r_row = r_row;
  e->r_plane = r_plane;
  e->remap = e->residual && (y_row != r_row || y_plane != r_plane);
}

/* The epilogue that changes nothing. */
static inline lattice_epilogue lattice_epilogue_none(void) {
  lattice_epilogue e;
  memset(&e, 0, sizeof(e));
  e.kind = LATTICE_UK_EPILOGUE_NONE;
  return e;
}

/* Whether the epilogue changes anything. */
static inline int lattice_epilogue_active(const lattice_epilogue *e) {
  return e->bias || e->residual || e->kind != LATTICE_UK_EPILOGUE_NONE;
}

/* The residual of the result stored at `at`. */
static inline const float *lattice_epilogue_residual(const lattice_epilogue *e,
                                                     const float *at) {
  if (e->remap) {
    int64_t i = at - e->y, plane = i / e->y_plane, rest = i % e->y_plane;
    return e->r + plane * e->r_plane + rest / e->y_row * e->r_row +
           rest % e->y_row;
  }
  return (const float *)((intptr_t)at + e->residual_offset);
}

/* IEEE 754-2019 maximum and minimum (arith.maximumf, arith.minimumf). */
static inline float lattice_maximum(float a, float b) {
  if (a != a || b != b)
    return a != a ? a : b;
  if (a == b)
    return signbit(a) ? b : a;
  return a > b ? a : b;
}

static inline float lattice_minimum(float a, float b) {
  if (a != a || b != b)
    return a != a ? a : b;
  if (a == b)
    return signbit(a) ? a : b;
  return a < b ? a : b;
}

/* The epilogue of v, a result of output channel `channel` stored at
   `at`. */
static inline float lattice_epilogue_value(const lattice_epilogue *e, float v,
                                           int64_t channel, const float *at) {
  float t = e->bias ? v + e->bias[channel] : v;
  if (e->residual)
    t = t + *lattice_epilogue_residual(e, at);
  switch (e->kind) {
  case LATTICE_UK_EPILOGUE_RELU:
    return lattice_maximum(t, 0.0f);
  case LATTICE_UK_EPILOGUE_CLIP:
    return lattice_minimum(lattice_maximum(t, e->p0), e->p1);
  case LATTICE_UK_EPILOGUE_HARDSWISH:
  case LATTICE_UK_EPILOGUE_HARDSIGMOID: {
    float s = t * e->p0;
    s = s + e->p1;
    s = lattice_minimum(lattice_maximum(s, 0.0f), 1.0f);
    return e->kind == LATTICE_UK_EPILOGUE_HARDSWISH ? t * s : s;
  }
  default:
    return t;
  }
}

/* The epilogue of `length` results of `channel` at v, in place. */
static inline void lattice_epilogue_run(const lattice_epilogue *e, float *v,
                                        int64_t length, int64_t channel) {
  if (!lattice_epilogue_active(e))
    return;
  for (int64_t i = 0; i < length; ++i)
    v[i] = lattice_epilogue_value(e, v[i], channel, v + i);
}

#if defined(__x86_64__)
#define LATTICE_EPILOGUE_AVX512                                                \
  __attribute__((target("avx512f,avx512bw,avx512vl,fma"), always_inline))

/* maximum(t, c) for a c that is not NaN: maxps gives its second operand
   when either is NaN or both are zeros, so t then; a -0 against a +0 c
   becomes +0 by adding +0, which changes no other value. */
LATTICE_EPILOGUE_AVX512 static inline __m512
lattice_maximum_avx512(__m512 t, __m512 c, int c_is_plus_zero) {
  __m512 r = _mm512_max_ps(c, t);
  return c_is_plus_zero ? _mm512_add_ps(r, _mm512_setzero_ps()) : r;
}

/* minimum(t, c) for a c that is neither NaN nor -0: minps gives t when
   either is NaN, or both are zeros (then c is +0 and t the minimum). */
LATTICE_EPILOGUE_AVX512 static inline __m512 lattice_minimum_avx512(__m512 t,
                                                                    __m512 c) {
  return _mm512_min_ps(c, t);
}

/* The epilogue of the `lanes` of 16 results of one channel (whose bias
   is broadcast in `bias`) that are stored at `at`. Callers keep `e` in a
   local copy: through a pointer that their stores of floats might alias,
   its fields would be loaded again after each store. */
LATTICE_EPILOGUE_AVX512 static inline __m512
lattice_epilogue_avx512(const lattice_epilogue *e, __m512 v, __m512 bias,
                        const float *at, __mmask16 lanes) {
  __m512 t = e->bias ? _mm512_add_ps(v, bias) : v;
  if (e->residual)
    t = _mm512_add_ps(
        t, _mm512_maskz_loadu_ps(lanes, lattice_epilogue_residual(e, at)));
  const __m512 zero = _mm512_setzero_ps();
  switch (e->kind) {
  case LATTICE_UK_EPILOGUE_RELU:
    return lattice_maximum_avx512(t, zero, 1);
  case LATTICE_UK_EPILOGUE_CLIP:
    return lattice_minimum_avx512(
        lattice_maximum_avx512(t, _mm512_set1_ps(e->p0),
                               e->p0 == 0.0f && !signbit(e->p0)),
        _mm512_set1_ps(e->p1));
  case LATTICE_UK_EPILOGUE_HARDSWISH:
  case LATTICE_UK_EPILOGUE_HARDSIGMOID: {
    __m512 s = _mm512_add_ps(_mm512_mul_ps(t, _mm512_set1_ps(e->p0)),
                             _mm512_set1_ps(e->p1));
    s = lattice_minimum_avx512(lattice_maximum_avx512(s, zero, 1),
                               _mm512_set1_ps(1.0f));
    return e->kind == LATTICE_UK_EPILOGUE_HARDSWISH ? _mm512_mul_ps(t, s) : s;
  }
  default:
    return t;
  }
}

/* The bias of `channel` broadcast (0 without a bias). */
LATTICE_EPILOGUE_AVX512 static inline __m512
lattice_epilogue_bias_avx512(const lattice_epilogue *e, int64_t channel) {
  return _mm512_set1_ps(e->bias ? e->bias[channel] : 0.0f);
}

/* lattice_epilogue_run on 16 lanes. */
__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) static inline void
lattice_epilogue_run_avx512(const lattice_epilogue *epilogue, float *v,
                            int64_t length, int64_t channel) {
  const lattice_epilogue e = *epilogue;
  if (!lattice_epilogue_active(&e))
    return;
  __m512 bias = lattice_epilogue_bias_avx512(&e, channel);
  int64_t i = 0;
  for (; i + 16 <= length; i += 16)
    _mm512_storeu_ps(v + i, lattice_epilogue_avx512(&e, _mm512_loadu_ps(v + i),
                                                    bias, v + i, 0xffff));
  if (i < length) {
    __mmask16 lanes = (__mmask16)((1u << (length - i)) - 1);
    _mm512_mask_storeu_ps(
        v + i, lanes,
        lattice_epilogue_avx512(&e, _mm512_maskz_loadu_ps(lanes, v + i), bias,
                                v + i, lanes));
  }
}
#endif

#endif /* LATTICE_EPILOGUE_H */
