/*===- lattice_lanes.h - Strided loads of 16 f32 lanes on AVX-512 ---------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * What the convolution kernels read along an output row: the inputs of up
 * to 16 consecutive output pixels at a stride. Internal to the runtime.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_LANES_H
#define LATTICE_LANES_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

/* The mask of the first `lanes` (at most 16) lanes. */
__attribute__((target("avx512f"), always_inline)) static inline __mmask16
lattice_first_lanes(int64_t lanes) {
  return lanes >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << lanes) - 1);
}

/* src[j * stride] for the lanes j < `lanes` (at most 16; the others 0),
   reading no other element: a masked load at stride 1, the even lanes of
   two masked loads at stride 2, a gather otherwise. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
lattice_load_strided(const float *src, int64_t lanes, int64_t stride) {
  __mmask16 mask = lattice_first_lanes(lanes);
  if (stride == 1)
    return _mm512_maskz_loadu_ps(mask, src);
  if (stride == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
    int64_t read = 2 * lanes - 1; /* elements 0 .. read - 1 */
    __mmask16 hi = read > 16 ? lattice_first_lanes(read - 16) : 0;
    return _mm512_permutex2var_ps(
        _mm512_maskz_loadu_ps(lattice_first_lanes(read), src), even,
        _mm512_maskz_loadu_ps(hi, src + 16));
  }
  __m512i index = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32((int)stride));
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, src, 4);
}

/* The bits 0..7 of `mask` at the even bits 0..14. */
static inline uint32_t lattice_even_bits(uint32_t mask) {
  mask &= 0xff;
  mask = (mask | (mask << 4)) & 0x0f0f;
  mask = (mask | (mask << 2)) & 0x3333;
  return (mask | (mask << 1)) & 0x5555;
}

/* src[j * stride] for the lanes j in `valid`, `pad` in the others, reading
   no other element (those of the other lanes may be outside the buffer):
   lattice_load_strided with masks. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
lattice_load_strided_valid(const float *src, __mmask16 valid, int64_t stride,
                           __m512 pad) {
  if (stride == 1)
    return _mm512_mask_loadu_ps(pad, valid, src);
  if (stride == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
    __m512 v = _mm512_permutex2var_ps(
        _mm512_maskz_loadu_ps((__mmask16)lattice_even_bits(valid), src), even,
        _mm512_maskz_loadu_ps((__mmask16)lattice_even_bits(valid >> 8),
                              src + 16));
    return _mm512_mask_blend_ps(valid, pad, v);
  }
  __m512i index = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32((int)stride));
  return _mm512_mask_i32gather_ps(pad, valid, index, src, 4);
}

/* The 16 x 16 transpose of r (row i, lane j to row j, lane i). */
__attribute__((target("avx512f"), always_inline)) static inline void
lattice_transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  /* Within each 128-bit lane L, r[4b + q] now holds column 4L + q of rows
     4b .. 4b + 3. */
  for (int b = 0; b < 16; b += 4)
    for (int h = 0; h < 2; ++h) {
      __m512d x = _mm512_castps_pd(t[b + h]),
              y = _mm512_castps_pd(t[b + h + 2]);
      r[b + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, y));
      r[b + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, y));
    }
  for (int q = 0; q < 4; ++q) {
    __m512 u = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88),
           v = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd),
           u2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88),
           v2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
    t[q] = _mm512_shuffle_f32x4(u, u2, 0x88);
    t[8 + q] = _mm512_shuffle_f32x4(u, u2, 0xdd);
    t[4 + q] = _mm512_shuffle_f32x4(v, v2, 0x88);
    t[12 + q] = _mm512_shuffle_f32x4(v, v2, 0xdd);
  }
  for (int i = 0; i < 16; ++i)
    r[i] = t[i];
}
#endif

#endif /* LATTICE_LANES_H */
