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
#endif

#endif /* LATTICE_LANES_H */
