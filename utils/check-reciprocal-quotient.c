/*===- check-reciprocal-quotient.c - Division by a constant scale ---------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Checks the quotient that the lowering of lattice.quantize uses for a
 * constant per-tensor scale s (buildQuotient in
 * lib/Conversion/LatticeToLinalg/QuantOps.cpp) against IEEE division: with
 * y = RN(1/s), q = RN(x y), r = RN(x - q s) and q' = RN(q + r y) (fused
 * multiply-adds), for `scales` scales (eight chosen ones, then random
 * normal ones), on every float x whose quotient lies within about
 * [2^-5, 2^13] (16 binades of x, both signs): the quotients bit for bit
 * where x / s is a normal float below 2^24, and round-half-even of both
 * where |x / s| < 4096. Prints the scales with a mismatch (and the first
 * eight) and the total; the lowering keeps the division outside
 * [2^-64, 2^64], where mismatches appear (below 2^-100).
 *
 *   clang -O3 -march=native -ffp-contract=off check-reciprocal-quotient.c \
 *     -o check -lm && ./check 400
 *
 *===----------------------------------------------------------------------===*/

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float asFloat(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t asBits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

int main(int argc, char **argv) {
  int scales = argc > 1 ? atoi(argv[1]) : 100;
  const uint32_t chosen[] = {0x3f800000, 0x3f7fffff, 0x3f800001, 0x40400000,
                             0x00800000, 0x7e7fffff, 0x3c010204, 0x3fffffff};
  srand(777);
  long total = 0;
  for (int t = 0; t < scales; ++t) {
    float s;
    if (t < 8) {
      s = asFloat(chosen[t]);
    } else {
      uint32_t mantissa =
          (((uint32_t)rand() << 8) ^ (uint32_t)rand()) & 0x7fffff;
      s = asFloat(((uint32_t)(1 + rand() % 253) << 23) | mantissa);
    }
    float y = 1.0f / s;
    int exponent = (asBits(s) >> 23) & 0xff;
    int lo = exponent - 4 < 0 ? 0 : exponent - 4;
    int hi = exponent + 12 > 254 ? 254 : exponent + 12;
    long quotients = 0, codes = 0;
    for (uint32_t sign = 0; sign < 2; ++sign)
      for (uint32_t u = (uint32_t)lo << 23; u < (uint32_t)(hi + 1) << 23; ++u) {
        float x = asFloat(u | (sign << 31));
        float d = x / s;
        float q = x * y;
        float r = fmaf(-q, s, x);
        float corrected = fabsf(q) < 0x1p24f ? fmaf(r, y, q) : q;
        if (fabsf(d) >= 0x1p-126f && fabsf(d) < 0x1p24f &&
            asBits(d) != asBits(corrected))
          ++quotients;
        if (fabsf(d) < 4096.0f && rintf(d) != rintf(corrected))
          ++codes;
      }
    if (quotients || codes || t < 8)
      printf("s=%a quotient mismatches %ld rounded mismatches %ld\n", s,
             quotients, codes);
    total += quotients + codes;
  }
  printf("total %ld over %d scales\n", total, scales);
  return 0;
}
