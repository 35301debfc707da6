/*===- lattice_pack.h - Panel layouts of the GEMM microkernels ---*- C -*-===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The packed layouts of B that the GEMM microkernels read
 * (docs/WeightLayout.md): one implementation, used by the kernels to pack
 * B at run time and by lattice-compile to store weights packed, so that a
 * call reads them as they are.
 *
 * A panel holds 32 columns of B (N), zero past N:
 *
 * - f32: K rows of 32 floats; float j of row k is B(k, n0 + j).
 * - s8: K4 = K rounded up to a multiple of 4; K4 / 4 rows of 32 x 4 bytes;
 *   byte 4 j + t of row q is B(4 q + t, n0 + j), zero past K; then the 32
 *   column sums over K as i32 (the correction that turns the unsigned dot
 *   products of vpdpbusd back into signed ones).
 *
 * Panels follow one another: panel p of a packed weight starts at
 * p * lattice_pack_*_panel_bytes(k).
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_PACK_H
#define LATTICE_PACK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Columns per panel. */
#define LATTICE_PACK_NR 32

/* Bytes of one f32 panel of a K-deep B. */
int64_t lattice_pack_f32_panel_bytes(int64_t k);

/* Bytes of one s8 panel (codes and column sums) of a K-deep B. */
int64_t lattice_pack_s8_panel_bytes(int64_t k);

/* Number of panels of an N-wide B. */
int64_t lattice_pack_panels(int64_t n);

/* Packs columns [n0, n0 + 32) of an f32 B of N columns and K rows, whose
   element (k, n) is at b[k * b_k + n * b_n], into `panel`. */
void lattice_pack_f32_panel(const float *b, int64_t b_k, int64_t b_n,
                            int64_t n0, int64_t n, int64_t k, float *panel);

/* Packs columns [n0, n0 + 32) of an s8 weight [N, K] (row n of the weight
   is column n of B) into `panel`, column sums included. */
void lattice_pack_s8_panel(const int8_t *w, int64_t n0, int64_t n, int64_t k,
                           int8_t *panel);

/* Winograd F(2 x 2, 3 x 3) transforms of 3 x 3 weights, `lanes` (at most
   32) output channels side by side: g[t][j] is tap t (3 * row + column) of
   channel j, and u[xi * stride + j] gets element xi (4 * row + column) of
   G g G^T, with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
void lattice_winograd_f32_weights(const float g[9][LATTICE_PACK_NR],
                                  int64_t lanes, float *u, int64_t stride);

/* Bytes of a weight [M, C * 9] of 3 x 3 windows in the Winograd layout. */
int64_t lattice_pack_winograd_f32_bytes(int64_t m, int64_t c);

/* A weight w [M, C * 9] of 3 x 3 windows (M output and C input channels)
   in the Winograd layout of lattice_uk_conv2d_f32: U[xi][c][m], the
   transforms of lattice_winograd_f32_weights, 16 matrices [C, M]. */
void lattice_pack_winograd_f32(const float *w, int64_t m, int64_t c, float *u);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_PACK_H */
