/*===- lattice_epilogue.h - Bias, activation and padded stores ------------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The output side of the convolution and window kernels
 * (LATTICE_UK_EPILOGUE_* in lattice_ukernels.h): where a result goes in
 * its possibly padded NCHW output, the zeroed frame around it, and the
 * bias and activation applied to each run of results while it is still
 * in the core's cache, instead of a pass of their own over memory after
 * the kernel. Internal to the runtime.
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
  /* Planes of yh x yw; result (oh, ow) at (top + oh, left + ow). */
  int64_t yh, yw, top, left;
  int64_t oh, ow;
} lattice_output;

/* The output of the kernel arguments (epilogue, params, yh, yw, top, left)
   for OH x OW results; 0 when they are invalid (an unknown epilogue, a
   result that does not fit its plane). */
static inline int lattice_output_init(lattice_output *o, int64_t bias,
                                      int64_t epilogue, int64_t params,
                                      int64_t yh, int64_t yw, int64_t top,
                                      int64_t left, int64_t oh, int64_t ow) {
  if (epilogue < LATTICE_UK_EPILOGUE_NONE ||
      epilogue > LATTICE_UK_EPILOGUE_HARDSIGMOID || top < 0 || left < 0 ||
      oh > yh - top || ow > yw - left)
    return 0;
  uint32_t low = (uint32_t)params, high = (uint32_t)((uint64_t)params >> 32);
  o->bias = (const float *)(intptr_t)bias;
  o->kind = (int)epilogue;
  memcpy(&o->p0, &low, sizeof(float));
  memcpy(&o->p1, &high, sizeof(float));
  o->yh = yh;
  o->yw = yw;
  o->top = top;
  o->left = left;
  o->oh = oh;
  o->ow = ow;
  return 1;
}

/* The output of a kernel without an epilogue or padding. */
static inline lattice_output lattice_output_plain(int64_t oh, int64_t ow) {
  lattice_output o = {NULL, LATTICE_UK_EPILOGUE_NONE, 0, 0, oh, ow, 0, 0, oh,
                      ow};
  return o;
}

/* Whether results are stored as they are, and planes have no frame. */
static inline int lattice_output_is_plain(const lattice_output *o) {
  return !o->bias && o->kind == LATTICE_UK_EPILOGUE_NONE && o->yh == o->oh &&
         o->yw == o->ow;
}

static inline int lattice_output_has_epilogue(const lattice_output *o) {
  return o->bias || o->kind != LATTICE_UK_EPILOGUE_NONE;
}

static inline int64_t lattice_output_plane(const lattice_output *o) {
  return o->yh * o->yw;
}

/* Where result (oh, ow) of a plane that starts at `plane` goes. */
static inline float *lattice_output_at(const lattice_output *o, float *plane,
                                       int64_t oh, int64_t ow) {
  return plane + (o->top + oh) * o->yw + o->left + ow;
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

static inline float lattice_epilogue_value(const lattice_output *o, float v,
                                           int64_t channel) {
  float t = o->bias ? v + o->bias[channel] : v;
  switch (o->kind) {
  case LATTICE_UK_EPILOGUE_RELU:
    return lattice_maximum(t, 0.0f);
  case LATTICE_UK_EPILOGUE_CLIP:
    return lattice_minimum(lattice_maximum(t, o->p0), o->p1);
  case LATTICE_UK_EPILOGUE_HARDSWISH:
  case LATTICE_UK_EPILOGUE_HARDSIGMOID: {
    float s = t * o->p0;
    s = s + o->p1;
    s = lattice_minimum(lattice_maximum(s, 0.0f), 1.0f);
    return o->kind == LATTICE_UK_EPILOGUE_HARDSWISH ? t * s : s;
  }
  default:
    return t;
  }
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

/* The epilogue of 16 results of one channel (its bias broadcast in
   `bias`). */
LATTICE_EPILOGUE_AVX512 static inline __m512
lattice_epilogue_avx512(const lattice_output *o, __m512 v, __m512 bias) {
  __m512 t = o->bias ? _mm512_add_ps(v, bias) : v;
  const __m512 zero = _mm512_setzero_ps();
  switch (o->kind) {
  case LATTICE_UK_EPILOGUE_RELU:
    return lattice_maximum_avx512(t, zero, 1);
  case LATTICE_UK_EPILOGUE_CLIP:
    return lattice_minimum_avx512(
        lattice_maximum_avx512(t, _mm512_set1_ps(o->p0),
                               o->p0 == 0.0f && !signbit(o->p0)),
        _mm512_set1_ps(o->p1));
  case LATTICE_UK_EPILOGUE_HARDSWISH:
  case LATTICE_UK_EPILOGUE_HARDSIGMOID: {
    __m512 s = _mm512_add_ps(_mm512_mul_ps(t, _mm512_set1_ps(o->p0)),
                             _mm512_set1_ps(o->p1));
    s = lattice_minimum_avx512(lattice_maximum_avx512(s, zero, 1),
                               _mm512_set1_ps(1.0f));
    return o->kind == LATTICE_UK_EPILOGUE_HARDSWISH ? _mm512_mul_ps(t, s) : s;
  }
  default:
    return t;
  }
}

/* The epilogue of `length` results of `channel` at v, in place. */
__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) static inline void
lattice_epilogue_run_avx512(const lattice_output *o, float *v, int64_t length,
                            int64_t channel) {
  __m512 bias = _mm512_set1_ps(o->bias ? o->bias[channel] : 0.0f);
  int64_t i = 0;
  for (; i + 16 <= length; i += 16)
    _mm512_storeu_ps(v + i,
                     lattice_epilogue_avx512(o, _mm512_loadu_ps(v + i), bias));
  if (i < length) {
    __mmask16 lanes = (__mmask16)((1u << (length - i)) - 1);
    _mm512_mask_storeu_ps(
        v + i, lanes,
        lattice_epilogue_avx512(o, _mm512_maskz_loadu_ps(lanes, v + i), bias));
  }
}
#endif

/* The epilogue of `length` results of `channel` at v, in place, with
   AVX-512 where `avx512`. */
static inline void lattice_epilogue_run(const lattice_output *o, float *v,
                                        int64_t length, int64_t channel,
                                        int avx512) {
  if (!lattice_output_has_epilogue(o))
    return;
#if defined(__x86_64__)
  if (avx512) {
    lattice_epilogue_run_avx512(o, v, length, channel);
    return;
  }
#endif
  (void)avx512;
  for (int64_t i = 0; i < length; ++i)
    v[i] = lattice_epilogue_value(o, v[i], channel);
}

/* `count` zeros at `at`: a padding's one to four elements by plain stores
   (a call of memset, or a masked vector store, cost more than the row's
   results), more by memset. */
static inline void lattice_zero(float *at, int64_t count) {
  switch (count) {
  case 4:
    at[3] = 0.0f;
    __attribute__((fallthrough));
  case 3:
    at[2] = 0.0f;
    __attribute__((fallthrough));
  case 2:
    at[1] = 0.0f;
    __attribute__((fallthrough));
  case 1:
    at[0] = 0.0f;
    __attribute__((fallthrough));
  case 0:
    return;
  default:
    memset(at, 0, sizeof(float) * (size_t)count);
  }
}

/* Zeroes the frame of the plane that starts at `plane`: the gaps between
   its rows of results, each one run (the padding below and right of one
   row and left of the next), and the rows above and below. The kernels
   zero a plane's frame once, with the first unit of work that writes the
   plane, as a pass of a few stores per row. */
static inline void lattice_output_zero_frame(const lattice_output *o,
                                             float *plane) {
  if (o->yh == o->oh && o->yw == o->ow)
    return;
  lattice_zero(plane, o->top * o->yw + o->left);
  int64_t gap = o->yw - o->ow;
  for (int64_t oh = 0; oh + 1 < o->oh; ++oh)
    lattice_zero(lattice_output_at(o, plane, oh, o->ow), gap);
  float *end = lattice_output_at(o, plane, o->oh - 1, o->ow);
  lattice_zero(end, plane + o->yh * o->yw - end);
}

#endif /* LATTICE_EPILOGUE_H */
