/*===- lattice_ukernels.h - Microkernels called by compiled models --------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The ABI between lattice-compile's CPU pipeline (option `ukernels`) and the
 * runtime: hand-written kernels for the matmuls and convolutions whose
 * register tiles, packing or inner loop (a 16-entry table lookup across
 * lanes) the vector dialect cannot express. Pointers are passed as
 * integers, as the compiled code extracts them from its buffers. The
 * kernels run on the runtime's pool (lattice_threads.h).
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
  LATTICE_UK_UNSIGNED = 1,           /* u4 codes (else s4, two's complement) */
  LATTICE_UK_SCALE_F16 = 2,          /* f16 scales (else f32) */
  LATTICE_UK_ZERO_POINT = 4,         /* asymmetric: a zero point per group */
  LATTICE_UK_ROWS4 = 16,             /* rows interleaved by four (see below) */
  LATTICE_UK_ACCUMULATE = 32,        /* GEMM: C += A B (else C = A B) */
  LATTICE_UK_B_Q4 = 64,              /* internal: B is 4-bit codes */
  LATTICE_UK_B_PACKED = 128,         /* GEMM: B is a weight stored in panels
                                        (lattice_pack.h) */
  LATTICE_UK_ZERO_POINT_SHIFT = 8,   /* bits 8..15: zero-point width (8..64) */
  LATTICE_UK_A_UNSIGNED = 1 << 16,   /* 8-bit GEMM: u8 A codes (else s8) */
  LATTICE_UK_A_ZERO_POINT = 1 << 17, /* 8-bit GEMM: zero points of A (their
                                        width in bits 8..15) */
  LATTICE_UK_A_PER_ROW = 1 << 18,    /* 8-bit GEMM: A's scale and zero point
                                        per row (else per tensor) */
  LATTICE_UK_OUT_NCHW = 1 << 19,     /* f32 convolution: y is [N, M, OH, OW]
                                        (else pixel-major) */
  LATTICE_UK_B_WINOGRAD = 1 << 20,   /* f32 convolution: w is in the Winograd
                                        layout (lattice_pack.h) */
  LATTICE_UK_OUT_FRAME_W_SHIFT = 24, /* f32 convolution into NCHW: bits 24..31
                                        and 32..39, the columns and rows */
  LATTICE_UK_OUT_FRAME_H_SHIFT = 32, /* that frame each output plane, and
                                        bits 40..47 and 48..55 those that */
  LATTICE_UK_RESIDUAL_FRAME_W_SHIFT = 40, /* frame each plane of the
                                             residual */
  LATTICE_UK_RESIDUAL_FRAME_H_SHIFT = 48  /* (see lattice_uk_conv2d_f32) */
};

/* The most columns or rows of a frame around the output or residual planes
   of lattice_uk_conv2d_f32. */
#define LATTICE_UK_OUT_FRAME_MAX 255

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

/* Selects the vector level of the microkernels for this process: "generic"
   (portable C), "avx2" or "avx512". Returns 0, or -1 when the name is
   unknown or the CPU lacks the level. Without a selection the kernels use
   the best level of the CPU, capped by the environment variable
   LATTICE_UKERNELS (one of the same names). For tests and comparisons. */
int lattice_uk_select_level(const char *name);

/* The vector levels of the microkernels. */
enum {
  LATTICE_UK_LEVEL_GENERIC = 0, /* portable C */
  LATTICE_UK_LEVEL_AVX2 = 1,
  LATTICE_UK_LEVEL_AVX512 = 2,
};

/* The level in use. */
int lattice_uk_level(void);

/* Batched f32 GEMM: for each b < batch, C_b[M, N] = A_b[M, K] B_b(K, N)
   (with LATTICE_UK_ACCUMULATE, C_b += A_b B_b). Element (i, k) of A_b is at
   a + b * a_batch + i * a_row + k, B_b(k, n) at b + b * b_batch + k * b_k +
   n * b_n (a weight [N, K] has b_k = 1, b_n = K), C_b(i, n) at c + b *
   c_batch + i * c_row + n; strides in elements. f32 arithmetic with fused
   multiply-adds, summed in order along K for each output. With
   LATTICE_UK_B_PACKED, b is an [N, K] weight already in the f32 panels of
   lattice_pack.h (batch 1; the strides of B are not used). Runs on the
   pool (lattice_threads.h), on at most `threads` threads and the call's
   thread count. */
void lattice_uk_gemm_f32(int64_t a, int64_t b, int64_t c, int64_t batch,
                         int64_t m, int64_t n, int64_t k, int64_t a_batch,
                         int64_t a_row, int64_t b_batch, int64_t b_k,
                         int64_t b_n, int64_t c_batch, int64_t c_row,
                         int64_t flags, int64_t threads);

/* GEMM of f32 activations and 4-bit grouped weights: the arguments and
   arithmetic of lattice_uk_matmul_f32_q4 (without LATTICE_UK_ROWS4): each
   weight is dequantized to f32 once per call, (q - z) * s, and multiplied
   as lattice_uk_gemm_f32 does. For M large enough that dequantizing every
   weight once pays off. K is even (rows of whole bytes); `g` need not
   divide it: each row has ceil(K / g) groups, the last one shorter. */
void lattice_uk_gemm_f32_q4(int64_t a, int64_t b, int64_t s, int64_t z,
                            int64_t c, int64_t m, int64_t n, int64_t k,
                            int64_t g, int64_t flags, int64_t threads);

/* Whether lattice_uk_conv2d_f32 computes a convolution of this geometry
   with Winograd's F(2 x 2, 3 x 3) (3 x 3 windows at stride and dilation 1,
   36 tiles of 2 x 2 outputs or more: from an 11 x 11 output), whose weight
   may then be in the Winograd layout (LATTICE_UK_B_WINOGRAD). Each float
   of the transformed weight, 16/9 the weight's size, serves a multiply-add
   per tile: over ResNet-18's 14 x 14 outputs (49 tiles) Winograd is 1.2-1.4x
   as fast as the direct convolution with the weights from memory, over its
   7 x 7 (16 tiles) 0.7x as fast. Inline: the compiler chooses the weights'
   layout with it. */
static inline int lattice_uk_conv2d_f32_winograd(int64_t kh, int64_t kw,
                                                 int64_t oh, int64_t ow,
                                                 int64_t sh, int64_t sw,
                                                 int64_t dh, int64_t dw) {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 &&
         ((oh + 1) / 2) * ((ow + 1) / 2) >= 36;
}

/* What the convolution and window kernels apply to each output value v of
   output channel o before they store it: the epilogue of the op that
   followed them in the model (a bias, a residual and an activation). With
   a bias (f32, one per output channel; none when its address is 0), t =
   v + bias[o], else t = v; with a residual (f32, the output's shape and
   layout, in another buffer; none when its address is 0), t is then t +
   residual at the result's place; the result is
     NONE:        t
     RELU:        maximum(t, 0)
     CLIP:        minimum(maximum(t, p0), p1)
     HARDSWISH:   t * minimum(maximum(t * p0 + p1, 0), 1)
     HARDSIGMOID: minimum(maximum(t * p0 + p1, 0), 1)
   with p0 and p1 the f32 values whose bits are the low and high halves of
   the `params` argument, maximum and minimum those of IEEE 754-2019 (NaN
   propagates, -0 < +0; a CLIP's p1 is not -0), and every product and sum
   rounded to f32 (no fused multiply-adds): what arith's addf, mulf,
   maximumf and minimumf compute. An unknown epilogue makes the kernel
   write nothing. */
enum {
  LATTICE_UK_EPILOGUE_NONE = 0,
  LATTICE_UK_EPILOGUE_RELU = 1,
  LATTICE_UK_EPILOGUE_CLIP = 2,
  LATTICE_UK_EPILOGUE_HARDSWISH = 3,
  LATTICE_UK_EPILOGUE_HARDSIGMOID = 4,
};

/* 2-D convolution as a GEMM whose A is the im2col matrix of the input,
   read in place from x and never stored: y[p, m] = sum over
   (c, i, j) of x[n, c, oh * sh + i * dh, ow * sw + j * dw] * w[m, c, i, j]
   for each output pixel p = (n * OH + oh) * OW + ow, with f32 arithmetic
   summed in order of (c, i, j) (as lattice_uk_gemm_f32 does for the
   im2col matrix). x is the padded input [N, C, HP, WP] (NCHW), w the
   weight [M, C * KH * KW] (with LATTICE_UK_B_PACKED, in the f32 panels of
   lattice_pack.h; with LATTICE_UK_B_WINOGRAD, where
   lattice_uk_conv2d_f32_winograd holds, in its Winograd layout), y [N * OH
   * OW, M] (pixel-major) or, with LATTICE_UK_OUT_NCHW, [N, M, OH, OW]
   with the epilogue `epilogue` (LATTICE_UK_EPILOGUE_*, with `bias`,
   `params` and `residual`) applied; without LATTICE_UK_OUT_NCHW those four
   arguments are ignored. An NCHW output may lie inside a frame (the
   interior of the next layer's padded buffer): with FW and FH in the flags'
   LATTICE_UK_OUT_FRAME_* bits (at most LATTICE_UK_OUT_FRAME_MAX), y's
   planes are [OH + FH, OW + FW] and y points at the first result, which
   the kernel writes without touching the frame. The residual's planes may
   be framed too, by their LATTICE_UK_RESIDUAL_FRAME_* bits. Winograd
   convolutions sum in another order, and round in the transforms too
   (lattice_gemm.c). */
void lattice_uk_conv2d_f32(int64_t x, int64_t w, int64_t y, int64_t n,
                           int64_t c, int64_t hp, int64_t wp, int64_t kh,
                           int64_t kw, int64_t oh, int64_t ow, int64_t sh,
                           int64_t sw, int64_t dh, int64_t dw, int64_t m,
                           int64_t bias, int64_t epilogue, int64_t params,
                           int64_t residual, int64_t flags, int64_t threads);

/* Kinds of lattice_uk_window2d_f32 (the low 8 bits of its `kind`). */
enum {
  LATTICE_UK_WINDOW_CONV = 0, /* depthwise convolution: sum of x * w */
  LATTICE_UK_WINDOW_MAX = 1,  /* max pooling (NaN propagates) */
  LATTICE_UK_WINDOW_SUM = 2,  /* sum pooling (the average's numerator) */
};

/* The padding of lattice_uk_window2d_f32's input, in its `kind`: rows above
   and columns left of the input (at most LATTICE_UK_WINDOW_PAD_MAX each);
   windows may also reach past its last row and column. */
enum {
  LATTICE_UK_WINDOW_PAD_TOP_SHIFT = 8,
  LATTICE_UK_WINDOW_PAD_LEFT_SHIFT = 16,
};
#define LATTICE_UK_WINDOW_PAD_MAX 255

/* An op that slides a KH x KW window over the channels of an NCHW input
   group by group: for output channel o = g * mult + j (j < mult) of group
   g < groups and image b, y[b, o, oh, ow] is the reduction over (c, i, l),
   in that order, of x[b, g * cg + c, oh * sh + i * dh, ow * sw + l * dw]
   (c < cg), multiplied by w[o, c, i, l] and summed (LATTICE_UK_WINDOW_CONV:
   a grouped convolution, depthwise with cg = 1, from 0), or their max (from
   -inf) or sum (from 0) for pooling, where cg and mult are 1. x is the
   input [N, groups * cg, HP, WP], w [groups * mult, cg, KH, KW] (read for
   CONV only), y [N, groups * mult, OH, OW] with the epilogue
   (LATTICE_UK_EPILOGUE_*, `bias`, `params` and `residual`) applied to each
   result. With a padding in `kind` (LATTICE_UK_WINDOW_PAD_*), the rows and
   columns of the windows start that far above and left of x's, and the
   elements of a window outside x are the padding's value: -inf for MAX,
   +0 otherwise (reduced as an element of x would be, so that the results
   are those of x padded with them); without, every window is inside x.
   f32 arithmetic, fused multiply-adds for
   CONV; on AVX-512, a sum over a window that covers its whole plane
   (global pooling) is associated by vector lanes instead. */
void lattice_uk_window2d_f32(int64_t x, int64_t w, int64_t y, int64_t n,
                             int64_t groups, int64_t cg, int64_t hp, int64_t wp,
                             int64_t kh, int64_t kw, int64_t oh, int64_t ow,
                             int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                             int64_t mult, int64_t kind, int64_t bias,
                             int64_t epilogue, int64_t params, int64_t residual,
                             int64_t threads);

/* 8-bit GEMM: y[m, n] = f32(sum_k (a[m, k] - za) * w[n, k]) * sa * sw[n],
   the sum exact in i32. a is [M, K] s8 codes (u8 with
   LATTICE_UK_A_UNSIGNED); with LATTICE_UK_A_ZERO_POINT, za is an integer
   zero point of the width in bits 8..15 (8 to 64; else 0); sa (f32) and za
   are one per tensor, or one per row of a with LATTICE_UK_A_PER_ROW; w is [N,
   K] s8 codes and sw f32 (f16 with LATTICE_UK_SCALE_F16), one per row of w. The
   product f32(sum) * sa * sw is rounded in that order. Uses AVX512-VNNI where
   the CPU has it. */
void lattice_uk_gemm_s8(int64_t a, int64_t a_scale, int64_t a_zero, int64_t b,
                        int64_t b_scale, int64_t c, int64_t m, int64_t n,
                        int64_t k, int64_t flags, int64_t threads);

/* A 2-D convolution with 8-bit activations: lattice_uk_gemm_s8 whose A is
   the im2col matrix of the padded NCHW f32 input x (the layout of
   lattice_uk_conv2d_f32), each column k = (c * KH + i) * KW + j multiplied
   by column_scale[k] (f32; none when column_scale is 0) and quantized as
   lattice.quantize does per tensor with the f32 scale at a_scale and the
   zero point at a_zero (LATTICE_UK_A_ZERO_POINT, its width in bits 8..15):
   round-half-even of v / scale, plus the zero point, clamped to the s8 (or
   u8, LATTICE_UK_A_UNSIGNED) range, the zero point for NaN. w is the [M, C *
   KH * KW] s8 weight (with LATTICE_UK_B_PACKED, in the panels of
   lattice_pack.h), w_scale its scales per output channel (f16 with
   LATTICE_UK_SCALE_F16), y [N * OH * OW, M] (pixel-major), with
   lattice_uk_gemm_s8's arithmetic. The matrix is quantized block by block
   and never stored whole. */
void lattice_uk_conv2d_s8(int64_t x, int64_t column_scale, int64_t a_scale,
                          int64_t a_zero, int64_t w, int64_t w_scale, int64_t y,
                          int64_t n, int64_t c, int64_t hp, int64_t wp,
                          int64_t kh, int64_t kw, int64_t oh, int64_t ow,
                          int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                          int64_t m, int64_t flags, int64_t threads);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_UKERNELS_H */
