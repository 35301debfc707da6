//===- QuantMath.h - Quantization parameter math ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The numerics of the `lattice` dialect as plain C++: storage ranges, scale and
// zero-point computation, rounding, saturation, packing of sub-byte codes and
// the effective bits per weight of a scheme. The dialect's verifiers, folders,
// passes and lowerings use these functions so that there is exactly one
// definition of each rule. Depends on LLVM Support only.
//
// Arithmetic contract (mirrors the ops' documentation):
//   quantize:   q = clamp(round(float(x) / float(s)) + z, qmin, qmax)
//   dequantize: x = float(q - z) * float(s)
// with the division and multiplication done in IEEE f32, `round` the op's
// rounding mode, NaN quantizing to the zero point and +-Inf saturating.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_QUANT_QUANTMATH_H
#define LATTICE_QUANT_QUANTMATH_H

#include "lattice/Quant/QuantEnums.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::lattice {
/// Largest storage width of `sN`/`uN` codes.
constexpr unsigned kMaxStorageBits = 8;

/// A quantization scheme without its scale values: the dialect-independent
/// content of `!lattice.quant<...>`.
struct QuantScheme {
  StorageKind storageKind = StorageKind::Signed;
  /// Code width for `sN`/`uN`; ignored for ternary (2) and binary (1).
  unsigned bits = 8;
  /// Symmetric schemes have no zero point.
  bool symmetric = true;
  Granularity granularity = Granularity::PerTensor;
  /// Quantized axis for per-channel and per-group schemes.
  int64_t axis = 0;
  /// Elements per group along `axis` for per-group schemes.
  int64_t groupSize = 0;
  /// Semantics of the scale element type (f32, f16 or bf16).
  const llvm::fltSemantics *scaleSemantics = &llvm::APFloat::IEEEsingle();

  /// Returns a description of the first violated invariant, or std::nullopt
  /// when the scheme is well formed. The messages are the verifier's.
  std::optional<std::string> checkInvariants() const;

  /// Smallest and largest code.
  int64_t getStorageMin() const;
  int64_t getStorageMax() const;
  /// Bits one code occupies in memory.
  unsigned getStorageBits() const;
  /// Bits one code occupies in the layout of compiled code: the storage
  /// bits rounded up to 1, 2, 4 or 8, so that no code straddles a byte
  /// (3-bit codes take 4 bits, 5- to 7-bit codes 8).
  unsigned getContainerBits() const;
  /// Bits of one scale value.
  unsigned getScaleBits() const;
  /// Largest code magnitude used to map |x| <= absmax in a symmetric scheme:
  /// 2^(N-1) - 1 for sN, 2^N - 1 for uN, 1 for ternary and binary.
  int64_t getSymmetricMaxCode() const;
  /// True when `code` is a code of this scheme: in [qmin, qmax], and not 0
  /// for binary codes (-1 or +1).
  bool isValidCode(int64_t code) const;
  /// Largest |q - z| that can occur, for accumulator bounds.
  int64_t getMaxCodeMagnitude() const;
};

/// A scale and zero point for one tensor, channel or group.
struct QuantParams {
  /// The scale, already rounded to the scheme's scale type.
  double scale = 1.0;
  int64_t zeroPoint = 0;
  /// True when the range was degenerate (all zero, or too small for a normal
  /// f32 scale) and the documented fallback scale of 1.0 was used. Callers
  /// warn, naming the tensor or channel.
  bool degenerate = false;
};

/// Formats a number for a diagnostic: up to 9 significant digits (enough to
/// identify any f32), "nan" and "inf" spelled out.
std::string formatNumber(double value);

/// Rounds to the nearest integer, ties to even (IEEE roundTiesToEven),
/// independently of the floating-point environment.
inline float roundHalfToEven(float x) {
  // Floats of magnitude 2^23 or more are integers; NaN and infinities come
  // back as they are.
  if (!(std::fabs(x) < 8388608.0f))
    return x;
  float rounded = std::round(x); // halfway cases away from zero
  if (std::fabs(rounded - x) == 0.5f && (static_cast<int32_t>(rounded) & 1))
    rounded -= std::copysign(1.0f, x);
  return std::copysign(rounded, x); // -0.5 rounds to -0
}

/// Rounds `x` with `mode`.
float roundWithMode(float x, RoundingMode mode);

/// Computes the scale and zero point that cover [minValue, maxValue] with
/// `scheme` (min-max calibration). The range is widened to contain 0 so that
/// zero is exactly representable. Symmetric schemes use
/// s = max(|min|, |max|) / getSymmetricMaxCode(); asymmetric ones use
/// s = (max - min) / (qmax - qmin) and z = clamp(round(qmin - min / s)).
/// The scale is rounded to the scale type. A zero range, or one whose scale
/// would be below the smallest normal f32, yields s = 1, z = code of 0 and
/// `degenerate = true`. Fails on non-finite input, min > max, or a scale not
/// representable in the scale type.
llvm::Expected<QuantParams>
computeQuantParams(const QuantScheme &scheme, double minValue, double maxValue);

/// Quantizes one value: clamp(round(x / scale) + zeroPoint, qmin, qmax) in
/// f32, NaN to the zero point, +-Inf saturating; binary codes are the sign
/// of x (+1 for zero and NaN).
int64_t quantizeValue(const QuantScheme &scheme, float x, float scale,
                      int64_t zeroPoint,
                      RoundingMode mode = RoundingMode::NearestEven);

/// quantizeValue for a scheme that is not binary, its storage range
/// [qmin, qmax] given: for loops over many values of one block, where the
/// range is computed once (defined here so that such loops inline it).
inline int64_t quantizeInRange(float x, float scale, int64_t zeroPoint,
                               int64_t qmin, int64_t qmax,
                               RoundingMode mode = RoundingMode::NearestEven) {
  float scaled = x / scale;
  if (std::isnan(scaled))
    return std::clamp(zeroPoint, qmin, qmax);
  // Clamp in double before converting: the rounded value may be far outside
  // the int64 range (or infinite).
  float rounded = mode == RoundingMode::NearestEven ? roundHalfToEven(scaled)
                                                    : std::round(scaled);
  double shifted = double(rounded) + double(zeroPoint);
  return static_cast<int64_t>(std::clamp(shifted, double(qmin), double(qmax)));
}

/// Dequantizes one code: float(q - zeroPoint) * scale in f32.
inline float dequantizeValue(int64_t code, float scale, int64_t zeroPoint) {
  return static_cast<float>(code - zeroPoint) * scale;
}

/// The weight scheme of a row-major [N, K] weight that the options of
/// lattice-quantize (and lattice-awq) spell: `bits` "2" to "8", "ternary"
/// or "binary"; asymmetric codes unsigned; `granularity` "tensor",
/// "channel" (axis 0) or "group" (`groupSize` along K); `scaleType` "f32",
/// "f16" or "bf16". Fails with a message that names the option and the
/// value, checked in that order.
llvm::Expected<QuantScheme> parseWeightScheme(llvm::StringRef bits,
                                              llvm::StringRef granularity,
                                              int64_t groupSize, bool symmetric,
                                              llvm::StringRef scaleType);

/// The parameters of min-max over `block`'s range scaled by the factor in
/// {1, 0.99, ..., 0.50} whose squared rounding error on `block` is least
/// (MSE clipping; the first such factor on ties). Fails as
/// computeQuantParams does.
llvm::Expected<QuantParams> computeMSEParams(const QuantScheme &scheme,
                                             llvm::ArrayRef<float> block);

/// How the range of a block of weights is chosen: its minimum and maximum,
/// the percentile `percentile` of |x| (symmetric) or of x, or the factor of
/// the min-max range with the least squared error (computeMSEParams).
enum class ClipMethod { MinMax, Percentile, MSE };

/// The scale and zero point of one block of weights under `clip`; ternary
/// and binary blocks take their absmean as the scale.
llvm::Expected<QuantParams> chooseBlockParams(const QuantScheme &scheme,
                                              ClipMethod clip,
                                              double percentile,
                                              llvm::ArrayRef<float> block);

/// A weight quantized block by block (rounding to nearest).
struct QuantizedWeight {
  std::vector<int64_t> codes;
  std::vector<double> scales;
  std::vector<int64_t> zeroPoints;
  /// sum x^2 and sum (x - dequant(q))^2 over the weight.
  double signal = 0, noise = 0;
  int64_t degenerateBlocks = 0;
};

/// The length of the block of `scheme` that starts at element `start` of a
/// row-major [n, k] weight: the whole weight, a row, or a group (a row's
/// last group shorter when the group size does not divide k).
int64_t getBlockLength(const QuantScheme &scheme, int64_t n, int64_t k,
                       int64_t start);

/// Quantizes a row-major [N, K] weight block by block, each block's
/// parameters chosen by chooseBlockParams. Blocks are contiguous in
/// row-major order: the whole tensor, one row, or one group of a row (the
/// last group of each row shorter when the group size does not divide K).
/// Fails when `values` does not hold N x K values.
llvm::Expected<QuantizedWeight>
quantizeWeight(const QuantScheme &scheme, ClipMethod clip, double percentile,
               llvm::ArrayRef<float> values, int64_t n, int64_t k);

/// Maps the row-major index of an element of a tensor to the row-major index
/// of its block (its scale and zero point) under a scheme: 0 per tensor, the
/// index along the axis per channel, and the index into the scale tensor of
/// shape getScaleShape() per group.
class BlockIndexer {
public:
  /// `shape` is static and fits the scheme (axis in range), as the
  /// verifiers guarantee; a group size that does not divide the axis leaves
  /// a shorter last group.
  BlockIndexer(const QuantScheme &scheme, llvm::ArrayRef<int64_t> shape);
  int64_t getBlock(int64_t element) const;

private:
  Granularity granularity;
  int64_t axisSize = 1, innerSize = 1, groupSize = 1, groupsAlong = 1;
};

/// Quantizes a whole tensor (row-major `values` of static `shape`) with
/// per-block `scales` and `zeroPoints` (empty when symmetric), element by
/// element as quantizeValue does.
std::vector<int64_t>
quantizeTensor(const QuantScheme &scheme, llvm::ArrayRef<int64_t> shape,
               llvm::ArrayRef<float> values, llvm::ArrayRef<float> scales,
               llvm::ArrayRef<int64_t> zeroPoints,
               RoundingMode mode = RoundingMode::NearestEven);

/// Number of bytes that `count` codes of `scheme` occupy when packed.
/// Fails when the size overflows int64.
llvm::Expected<int64_t> getPackedSize(const QuantScheme &scheme, int64_t count);

/// Packs codes into a little-endian bit stream: code i occupies bits
/// [i*b, (i+1)*b) counting from bit 0 of byte 0, as its b low bits in two's
/// complement (ternary: 2-bit two's complement; binary: 1 for +1, 0 for -1).
/// The last byte is padded with zero bits. Fails on a code outside the
/// storage range.
llvm::Expected<std::vector<uint8_t>> packCodes(const QuantScheme &scheme,
                                               llvm::ArrayRef<int64_t> codes);

/// Inverse of packCodes. Fails when `bytes` is not exactly the packed size of
/// `count` codes, when padding bits are not zero, or on the ternary bit
/// pattern 0b10 that encodes no code.
llvm::Expected<std::vector<int64_t>> unpackCodes(const QuantScheme &scheme,
                                                 llvm::ArrayRef<uint8_t> bytes,
                                                 int64_t count);

/// Memory cost of a quantized tensor of `shape`.
struct StorageCost {
  int64_t numElements = 0;
  int64_t numScales = 0;
  /// Code, scale and zero-point bits (zero points are stored at the code
  /// width).
  int64_t totalBits = 0;
  /// totalBits / numElements: effective bits per weight.
  double bitsPerElement = 0.0;
};

/// Computes the storage cost of a static `shape` under `scheme`. Fails on an
/// empty or dynamic shape, an axis out of range, a group size that does not
/// divide the axis, or overflow.
llvm::Expected<StorageCost> computeStorageCost(const QuantScheme &scheme,
                                               llvm::ArrayRef<int64_t> shape);
} // namespace mlir::lattice

#endif // LATTICE_QUANT_QUANTMATH_H
