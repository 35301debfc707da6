/*===- lattice_ukernels.h - Microkernels called by compiled models --------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The ABI between lattice-compile's CPU pipeline (option `ukernels`) and the
 * runtime: hand-written kernels for the matmuls whose inner loop needs an
 * instruction the vector dialect cannot express (a 16-entry table lookup
 * across lanes). Pointers are passed as integers, as the compiled code
 * extracts them from its buffers.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_UKERNELS_H
#define LATTICE_UKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of lattice_uk_matmul_f32_q4. */
enum {
  LATTICE_UK_UNSIGNED = 1,        /* u4 codes (else s4, two's complement) */
  LATTICE_UK_SCALE_F16 = 2,       /* f16 scales (else f32) */
  LATTICE_UK_ZERO_POINT = 4,      /* asymmetric: a zero point per group */
  LATTICE_UK_ROWS4 = 16,          /* rows interleaved by four (see below) */
  LATTICE_UK_ZERO_POINT_SHIFT = 8 /* bits 8..15: zero-point width (8..64) */
};

/* y[m, n] = sum_k x[m, k] * ((q[n, k] - z[n, k / g]) * s[n, k / g]) with
   f32 arithmetic: x is [M, K] f32, q is [N, K] 4-bit codes packed LSB-first
   (code k of a row in byte k / 2, low nibble first; rows start on a byte as
   K is even), s and z are [N, K / g], y is [M, N] f32. With
   LATTICE_UK_ROWS4 the rows of q are interleaved by four: 16-byte chunk c
   of rows 4b..4b+3 at byte 4b * K/2 + 64c + 16(row - 4b); rows after the
   last full block of four stay linear (K is then a multiple of 32). g is even
   and divides K. Runs on up to `threads` threads. Uses AVX-512 where the CPU
   has it (and g is a multiple of 32), a portable loop elsewhere or when the
   environment variable LATTICE_UKERNELS is `generic`. */
void lattice_uk_matmul_f32_q4(int64_t x, int64_t q, int64_t s, int64_t z,
                              int64_t y, int64_t m, int64_t n, int64_t k,
                              int64_t g, int64_t flags, int64_t threads);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_UKERNELS_H */
