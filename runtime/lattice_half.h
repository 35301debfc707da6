/*===- lattice_half.h - IEEE half-precision scales for the kernels -*- C -*-===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The f32 value of an f16 scale, exactly (every half is a float), for the
 * microkernels' portable paths; internal to the runtime.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_HALF_H
#define LATTICE_HALF_H

#include <stdint.h>
#include <string.h>

static inline float lattice_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = (float)mantissa * (1.0f / 16777216.0f); /* subnormal: m * 2^-24 */
    uint32_t bits;
    memcpy(&bits, &value, 4);
    bits |= sign;
    memcpy(&value, &bits, 4);
    return value;
  }
  uint32_t bits = exponent == 31
                      ? sign | 0x7f800000u | (mantissa << 13)
                      : sign | ((exponent + 112) << 23) | (mantissa << 13);
  memcpy(&value, &bits, 4);
  return value;
}

#endif /* LATTICE_HALF_H */
