//===- QuantMath.cpp - Quantization parameter math ------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements the dialect-independent numerics declared in QuantMath.h.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/QuantMath.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

using namespace mlir::lattice;
using llvm::createStringError;
using llvm::formatv;

#include "lattice/Quant/QuantEnums.cpp.inc"

std::string mlir::lattice::formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  return buffer;
}

//===----------------------------------------------------------------------===//
// QuantScheme
//===----------------------------------------------------------------------===//

/// Returns true for the scale semantics the dialect supports.
static bool isSupportedScaleSemantics(const llvm::fltSemantics *sem) {
  return sem == &llvm::APFloat::IEEEsingle() ||
         sem == &llvm::APFloat::IEEEhalf() || sem == &llvm::APFloat::BFloat();
}

std::optional<std::string> QuantScheme::checkInvariants() const {
  bool isInteger = storageKind == StorageKind::Signed ||
                   storageKind == StorageKind::Unsigned;
  if (isInteger && (bits < 1 || bits > kMaxStorageBits))
    return formatv("storage width must be in [1, {0}], got {1}",
                   kMaxStorageBits, bits)
        .str();
  if (storageKind == StorageKind::Signed && bits == 1 && symmetric)
    return std::string("symmetric signed storage needs at least 2 bits");
  if (!isInteger && !symmetric)
    return formatv("{0} storage must be symmetric",
                   stringifyStorageKind(storageKind))
        .str();
  if (!scaleSemantics || !isSupportedScaleSemantics(scaleSemantics))
    return std::string("scale type must be f32, f16 or bf16");
  switch (granularity) {
  case Granularity::PerTensor:
    if (axis != 0 || groupSize != 0)
      return std::string(
          "per-tensor scheme must not have an axis or a group size");
    break;
  case Granularity::PerChannel:
    if (axis < 0)
      return formatv("quantized axis must be non-negative, got {0}", axis)
          .str();
    if (groupSize != 0)
      return std::string("per-channel scheme must not have a group size");
    break;
  case Granularity::PerGroup:
    if (axis < 0)
      return formatv("quantized axis must be non-negative, got {0}", axis)
          .str();
    if (groupSize < 1)
      return formatv("group size must be positive, got {0}", groupSize).str();
    break;
  }
  return std::nullopt;
}

int64_t QuantScheme::getStorageMin() const {
  switch (storageKind) {
  case StorageKind::Signed:
    return -(int64_t(1) << (bits - 1));
  case StorageKind::Unsigned:
    return 0;
  case StorageKind::Ternary:
  case StorageKind::Binary:
    return -1;
  }
  llvm_unreachable("unknown storage kind");
}

int64_t QuantScheme::getStorageMax() const {
  switch (storageKind) {
  case StorageKind::Signed:
    return (int64_t(1) << (bits - 1)) - 1;
  case StorageKind::Unsigned:
    return (int64_t(1) << bits) - 1;
  case StorageKind::Ternary:
  case StorageKind::Binary:
    return 1;
  }
  llvm_unreachable("unknown storage kind");
}

unsigned QuantScheme::getStorageBits() const {
  switch (storageKind) {
  case StorageKind::Signed:
  case StorageKind::Unsigned:
    return bits;
  case StorageKind::Ternary:
    return 2;
  case StorageKind::Binary:
    return 1;
  }
  llvm_unreachable("unknown storage kind");
}

bool QuantScheme::isValidCode(int64_t code) const {
  return code >= getStorageMin() && code <= getStorageMax() &&
         !(storageKind == StorageKind::Binary && code == 0);
}

unsigned QuantScheme::getContainerBits() const {
  return llvm::PowerOf2Ceil(getStorageBits());
}

unsigned QuantScheme::getScaleBits() const {
  return llvm::APFloat::semanticsSizeInBits(*scaleSemantics);
}

int64_t QuantScheme::getSymmetricMaxCode() const {
  // sN maps absmax to 2^(N-1) - 1 (the code -2^(N-1) is never produced by
  // rounding), uN to 2^N - 1; ternary and binary to 1.
  return getStorageMax();
}

int64_t QuantScheme::getMaxCodeMagnitude() const {
  if (!symmetric)
    return getStorageMax() - getStorageMin();
  return std::max(-getStorageMin(), getStorageMax());
}

//===----------------------------------------------------------------------===//
// Rounding, quantization and dequantization
//===----------------------------------------------------------------------===//

float mlir::lattice::roundWithMode(float x, RoundingMode mode) {
  switch (mode) {
  case RoundingMode::NearestEven:
    return roundHalfToEven(x);
  case RoundingMode::NearestAway:
    return std::round(x);
  }
  llvm_unreachable("unknown rounding mode");
}

int64_t mlir::lattice::quantizeValue(const QuantScheme &scheme, float x,
                                     float scale, int64_t zeroPoint,
                                     RoundingMode mode) {
  if (scheme.storageKind == StorageKind::Binary)
    return x / scale < 0.0f ? -1 : 1;
  return quantizeInRange(x, scale, zeroPoint, scheme.getStorageMin(),
                         scheme.getStorageMax(), mode);
}

//===----------------------------------------------------------------------===//
// Scale and zero-point computation
//===----------------------------------------------------------------------===//

/// Rounds `value` to `sem` (ties to even). Returns std::nullopt when it
/// overflows to infinity.
static std::optional<double> roundToSemantics(double value,
                                              const llvm::fltSemantics &sem) {
  llvm::APFloat rounded(value);
  bool losesInfo = false;
  rounded.convert(sem, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  if (rounded.isInfinity())
    return std::nullopt;
  return rounded.convertToDouble();
}

llvm::Expected<QuantParams>
mlir::lattice::computeQuantParams(const QuantScheme &scheme, double minValue,
                                  double maxValue) {
  if (!std::isfinite(minValue) || !std::isfinite(maxValue))
    return createStringError(formatv("range [{0}, {1}] is not finite",
                                     formatNumber(minValue),
                                     formatNumber(maxValue)));
  if (minValue > maxValue)
    return createStringError(formatv("range [{0}, {1}] is empty (min > max)",
                                     formatNumber(minValue),
                                     formatNumber(maxValue)));

  // Widen to contain zero, so that 0.0 has an exact code.
  double lo = std::min(minValue, 0.0);
  double hi = std::max(maxValue, 0.0);
  int64_t qmin = scheme.getStorageMin();
  int64_t qmax = scheme.getStorageMax();

  double scale;
  if (!scheme.symmetric) {
    scale = (hi - lo) / double(qmax - qmin);
  } else if (scheme.storageKind == StorageKind::Unsigned) {
    // Unsigned symmetric codes cover [0, hi]; negative values saturate at 0.
    scale = hi / double(scheme.getSymmetricMaxCode());
  } else {
    scale = std::max(-lo, hi) / double(scheme.getSymmetricMaxCode());
  }

  std::optional<double> rounded =
      roundToSemantics(scale, *scheme.scaleSemantics);
  if (!rounded)
    return createStringError(formatv(
        "scale {0} for range [{1}, {2}] overflows the scale type",
        formatNumber(scale), formatNumber(minValue), formatNumber(maxValue)));

  QuantParams params;
  // Arithmetic happens in f32: a scale below the smallest normal f32 has a
  // reciprocal that overflows, so such ranges count as zero ranges.
  if (!(*rounded >= double(FLT_MIN))) {
    params.scale = 1.0;
    params.zeroPoint = 0;
    params.degenerate = true;
    return params;
  }
  params.scale = *rounded;
  if (!scheme.symmetric) {
    double zp =
        double(roundHalfToEven(float(double(qmin) - lo / params.scale)));
    params.zeroPoint =
        static_cast<int64_t>(std::clamp(zp, double(qmin), double(qmax)));
  }
  return params;
}

mlir::lattice::BlockIndexer::BlockIndexer(const QuantScheme &scheme,
                                          llvm::ArrayRef<int64_t> shape)
    : granularity(scheme.granularity) {
  if (granularity == Granularity::PerTensor)
    return;
  int64_t axis = scheme.axis;
  axisSize = shape[axis];
  for (int64_t size : shape.drop_front(axis + 1))
    innerSize *= size;
  if (granularity == Granularity::PerGroup) {
    groupSize = scheme.groupSize;
    groupsAlong = llvm::divideCeil(axisSize, groupSize);
  }
}

int64_t mlir::lattice::BlockIndexer::getBlock(int64_t element) const {
  switch (granularity) {
  case Granularity::PerTensor:
    return 0;
  case Granularity::PerChannel:
    return (element / innerSize) % axisSize;
  case Granularity::PerGroup: {
    int64_t inner = element % innerSize;
    int64_t along = (element / innerSize) % axisSize;
    int64_t outer = element / (innerSize * axisSize);
    return (outer * groupsAlong + along / groupSize) * innerSize + inner;
  }
  }
  llvm_unreachable("unknown granularity");
}

std::vector<int64_t> mlir::lattice::quantizeTensor(
    const QuantScheme &scheme, llvm::ArrayRef<int64_t> shape,
    llvm::ArrayRef<float> values, llvm::ArrayRef<float> scales,
    llvm::ArrayRef<int64_t> zeroPoints, RoundingMode mode) {
  BlockIndexer indexer(scheme, shape);
  std::vector<int64_t> codes(values.size());
  for (auto [index, value] : llvm::enumerate(values)) {
    int64_t block = indexer.getBlock(index);
    codes[index] =
        quantizeValue(scheme, value, scales[block],
                      zeroPoints.empty() ? 0 : zeroPoints[block], mode);
  }
  return codes;
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

llvm::Expected<int64_t> mlir::lattice::getPackedSize(const QuantScheme &scheme,
                                                     int64_t count) {
  if (count < 0)
    return createStringError(formatv("negative code count {0}", count));
  std::optional<int64_t> totalBits =
      llvm::checkedMul<int64_t>(count, scheme.getStorageBits());
  if (!totalBits || *totalBits > INT64_MAX - 7)
    return createStringError(
        formatv("packed size of {0} codes overflows", count));
  return (*totalBits + 7) / 8;
}

llvm::Expected<std::vector<uint8_t>>
mlir::lattice::packCodes(const QuantScheme &scheme,
                         llvm::ArrayRef<int64_t> codes) {
  llvm::Expected<int64_t> size = getPackedSize(scheme, codes.size());
  if (!size)
    return size.takeError();
  std::vector<uint8_t> bytes(*size, 0);
  unsigned width = scheme.getStorageBits();
  uint64_t mask = (uint64_t(1) << width) - 1;
  for (auto [index, code] : llvm::enumerate(codes)) {
    if (!scheme.isValidCode(code))
      return createStringError(formatv(
          "code {0} at index {1} is outside the storage range", code, index));
    uint64_t bitsOfCode = scheme.storageKind == StorageKind::Binary
                              ? uint64_t(code > 0)
                              : uint64_t(code) & mask;
    // Codes are at most 8 bits wide, so one code spans at most two bytes.
    uint64_t bitOffset = index * width;
    uint64_t shifted = bitsOfCode << (bitOffset % 8);
    bytes[bitOffset / 8] |= static_cast<uint8_t>(shifted);
    if ((bitOffset % 8) + width > 8)
      bytes[bitOffset / 8 + 1] |= static_cast<uint8_t>(shifted >> 8);
  }
  return bytes;
}

llvm::Expected<std::vector<int64_t>>
mlir::lattice::unpackCodes(const QuantScheme &scheme,
                           llvm::ArrayRef<uint8_t> bytes, int64_t count) {
  llvm::Expected<int64_t> size = getPackedSize(scheme, count);
  if (!size)
    return size.takeError();
  if (int64_t(bytes.size()) != *size)
    return createStringError(formatv("{0} codes need {1} bytes, got {2}", count,
                                     *size, bytes.size()));
  unsigned width = scheme.getStorageBits();
  uint64_t mask = (uint64_t(1) << width) - 1;
  std::vector<int64_t> codes;
  codes.reserve(count);
  for (int64_t index = 0; index < count; ++index) {
    uint64_t bitOffset = uint64_t(index) * width;
    uint64_t window = bytes[bitOffset / 8];
    if ((bitOffset % 8) + width > 8)
      window |= uint64_t(bytes[bitOffset / 8 + 1]) << 8;
    uint64_t raw = (window >> (bitOffset % 8)) & mask;
    int64_t code;
    switch (scheme.storageKind) {
    case StorageKind::Unsigned:
      code = int64_t(raw);
      break;
    case StorageKind::Binary:
      code = raw ? 1 : -1;
      break;
    case StorageKind::Ternary:
      if (raw == 0b10)
        return createStringError(
            formatv("invalid ternary bit pattern 0b10 at index {0}", index));
      [[fallthrough]];
    case StorageKind::Signed:
      // Sign-extend from `width` bits.
      code = int64_t(raw ^ (uint64_t(1) << (width - 1))) -
             (int64_t(1) << (width - 1));
      break;
    }
    codes.push_back(code);
  }
  uint64_t usedBits = uint64_t(count) * width;
  if (usedBits % 8 != 0 && (bytes.back() >> (usedBits % 8)) != 0)
    return createStringError("padding bits of the last byte are not zero");
  return codes;
}

//===----------------------------------------------------------------------===//
// Storage cost
//===----------------------------------------------------------------------===//

llvm::Expected<StorageCost>
mlir::lattice::computeStorageCost(const QuantScheme &scheme,
                                  llvm::ArrayRef<int64_t> shape) {
  StorageCost cost;
  cost.numElements = 1;
  for (int64_t dim : shape) {
    if (dim <= 0)
      return createStringError(formatv(
          "shape [{0}] must be static and non-empty",
          llvm::join(llvm::map_range(
                         shape, [](int64_t d) { return std::to_string(d); }),
                     ", ")));
    std::optional<int64_t> product = llvm::checkedMul(cost.numElements, dim);
    if (!product)
      return createStringError("element count overflows int64");
    cost.numElements = *product;
  }
  bool needsAxis = scheme.granularity != Granularity::PerTensor;
  if (needsAxis && scheme.axis >= int64_t(shape.size()))
    return createStringError(formatv("axis {0} is out of range for rank {1}",
                                     scheme.axis, shape.size()));
  switch (scheme.granularity) {
  case Granularity::PerTensor:
    cost.numScales = 1;
    break;
  case Granularity::PerChannel:
    cost.numScales = shape[scheme.axis];
    break;
  case Granularity::PerGroup:
    if (scheme.groupSize <= 0)
      return createStringError(
          formatv("group size {0} is not positive", scheme.groupSize));
    // Groups along the axis, the last one ragged where the size does not
    // divide it.
    cost.numScales = cost.numElements / shape[scheme.axis] *
                     llvm::divideCeil(shape[scheme.axis], scheme.groupSize);
    break;
  }
  int64_t bitsPerScale =
      scheme.getScaleBits() + (scheme.symmetric ? 0 : scheme.getStorageBits());
  std::optional<int64_t> codeBits =
      llvm::checkedMul<int64_t>(cost.numElements, scheme.getStorageBits());
  std::optional<int64_t> scaleBits =
      llvm::checkedMul<int64_t>(cost.numScales, bitsPerScale);
  std::optional<int64_t> total = codeBits && scaleBits
                                     ? llvm::checkedAdd(*codeBits, *scaleBits)
                                     : std::nullopt;
  if (!total)
    return createStringError("storage size overflows int64");
  cost.totalBits = *total;
  cost.bitsPerElement = double(cost.totalBits) / double(cost.numElements);
  return cost;
}

/// Squared error of quantizing `block` with `params`.
static double getBlockError(const QuantScheme &scheme,
                            llvm::ArrayRef<float> block,
                            const QuantParams &params) {
  double error = 0;
  for (float x : block) {
    int64_t code =
        quantizeValue(scheme, x, float(params.scale), params.zeroPoint);
    double diff = double(x) - double(dequantizeValue(code, float(params.scale),
                                                     params.zeroPoint));
    error += diff * diff;
  }
  return error;
}

llvm::Expected<QuantParams>
mlir::lattice::computeMSEParams(const QuantScheme &scheme,
                                llvm::ArrayRef<float> block) {
  auto [minIt, maxIt] = std::minmax_element(block.begin(), block.end());
  double lo = *minIt, hi = *maxIt;
  llvm::Expected<QuantParams> best = computeQuantParams(scheme, lo, hi);
  if (!best)
    return best.takeError();
  double bestError = getBlockError(scheme, block, *best);
  for (int step = 1; step <= 50; ++step) {
    double factor = 1.0 - 0.01 * step;
    llvm::Expected<QuantParams> candidate =
        computeQuantParams(scheme, lo * factor, hi * factor);
    if (!candidate)
      return candidate.takeError();
    double error = getBlockError(scheme, block, *candidate);
    if (error < bestError) {
      bestError = error;
      *best = *candidate;
    }
  }
  return best;
}

llvm::Expected<QuantScheme>
mlir::lattice::parseWeightScheme(llvm::StringRef bits,
                                 llvm::StringRef granularity, int64_t groupSize,
                                 bool symmetric, llvm::StringRef scaleType) {
  auto fail = [](const llvm::Twine &message) {
    return llvm::createStringError(message.str());
  };
  QuantScheme scheme;
  unsigned width = 0;
  if (bits == "ternary") {
    scheme.storageKind = StorageKind::Ternary;
  } else if (bits == "binary") {
    scheme.storageKind = StorageKind::Binary;
  } else if (!bits.getAsInteger(10, width) && width >= 2 &&
             width <= kMaxStorageBits) {
    scheme.storageKind = StorageKind::Signed;
    scheme.bits = width;
  } else {
    return fail("weight-bits must be 2 to 8, 'ternary' or 'binary', got '" +
                bits + "'");
  }
  scheme.symmetric = symmetric;
  if (!symmetric) {
    if (scheme.storageKind != StorageKind::Signed)
      return fail(bits + " codes are symmetric; use symmetric=true");
    // Asymmetric codes are unsigned, with the zero point inside the range.
    scheme.storageKind = StorageKind::Unsigned;
  }
  if (granularity == "tensor") {
    scheme.granularity = Granularity::PerTensor;
  } else if (granularity == "channel") {
    scheme.granularity = Granularity::PerChannel;
    scheme.axis = 0;
  } else if (granularity == "group") {
    if (groupSize < 1)
      return fail("group-size must be positive, got " + llvm::Twine(groupSize));
    scheme.granularity = Granularity::PerGroup;
    scheme.axis = 1;
    scheme.groupSize = groupSize;
  } else {
    return fail("granularity must be 'tensor', 'channel' or 'group', got '" +
                granularity + "'");
  }
  if (scaleType == "f32")
    scheme.scaleSemantics = &llvm::APFloat::IEEEsingle();
  else if (scaleType == "f16")
    scheme.scaleSemantics = &llvm::APFloat::IEEEhalf();
  else if (scaleType == "bf16")
    scheme.scaleSemantics = &llvm::APFloat::BFloat();
  else
    return fail("scale-type must be 'f32', 'f16' or 'bf16', got '" + scaleType +
                "'");
  return scheme;
}

/// Value at quantile `q` in [0, 1] of sorted `values`, linearly interpolated.
static double quantile(llvm::ArrayRef<float> sorted, double q) {
  double position = q * double(sorted.size() - 1);
  size_t below = size_t(std::floor(position));
  size_t above = std::min(below + 1, sorted.size() - 1);
  double fraction = position - double(below);
  return double(sorted[below]) * (1 - fraction) +
         double(sorted[above]) * fraction;
}

llvm::Expected<QuantParams>
mlir::lattice::chooseBlockParams(const QuantScheme &scheme, ClipMethod clip,
                                 double percentile,
                                 llvm::ArrayRef<float> block) {
  if (scheme.storageKind == StorageKind::Ternary ||
      scheme.storageKind == StorageKind::Binary) {
    double sum = 0;
    for (float x : block)
      sum += std::fabs(double(x));
    double absmean = sum / double(block.size());
    // computeQuantParams maps [-m, m] to the codes +-1 with scale m, so
    // passing the absmean as the range gives the absmean scale, rounded to
    // the scale type, with its fallback for all-zero blocks.
    return computeQuantParams(scheme, -absmean, absmean);
  }
  auto [minIt, maxIt] = std::minmax_element(block.begin(), block.end());
  double lo = *minIt, hi = *maxIt;
  switch (clip) {
  case ClipMethod::MinMax:
    return computeQuantParams(scheme, lo, hi);
  case ClipMethod::Percentile: {
    double q = percentile / 100.0;
    std::vector<float> sorted(block.begin(), block.end());
    if (scheme.symmetric) {
      for (float &x : sorted)
        x = std::fabs(x);
      std::sort(sorted.begin(), sorted.end());
      double magnitude = quantile(sorted, q);
      return computeQuantParams(scheme, std::max(lo, -magnitude),
                                std::min(hi, magnitude));
    }
    std::sort(sorted.begin(), sorted.end());
    return computeQuantParams(scheme, quantile(sorted, 1 - q),
                              quantile(sorted, q));
  }
  case ClipMethod::MSE:
    return computeMSEParams(scheme, block);
  }
  llvm_unreachable("unknown clip method");
}

int64_t mlir::lattice::getBlockLength(const QuantScheme &scheme, int64_t n,
                                      int64_t k, int64_t start) {
  switch (scheme.granularity) {
  case Granularity::PerTensor:
    return n * k;
  case Granularity::PerChannel:
    return k;
  case Granularity::PerGroup:
    return std::min(scheme.groupSize, k - start % k);
  }
  llvm_unreachable("unknown granularity");
}

llvm::Expected<QuantizedWeight>
mlir::lattice::quantizeWeight(const QuantScheme &scheme, ClipMethod clip,
                              double percentile, llvm::ArrayRef<float> values,
                              int64_t n, int64_t k) {
  int64_t blockSize = scheme.granularity == Granularity::PerTensor ? n * k
                      : scheme.granularity == Granularity::PerChannel
                          ? k
                          : scheme.groupSize;
  if (n <= 0 || k <= 0 || int64_t(values.size()) / n != k ||
      int64_t(values.size()) % n != 0)
    return llvm::createStringError(
        llvm::formatv("a weight of {0} values is not {1} x {2}", values.size(),
                      n, k)
            .str());
  if (blockSize <= 0)
    return llvm::createStringError(
        llvm::formatv("group size {0} is not positive", blockSize).str());
  QuantizedWeight result;
  result.codes.resize(values.size());
  // Blocks run along rows; a group size that does not divide K leaves a
  // shorter last group in each row.
  for (int64_t start = 0; start < int64_t(values.size());) {
    int64_t length = getBlockLength(scheme, n, k, start);
    llvm::ArrayRef<float> block = values.slice(start, length);
    llvm::Expected<QuantParams> params =
        chooseBlockParams(scheme, clip, percentile, block);
    if (!params)
      return params.takeError();
    result.degenerateBlocks += params->degenerate;
    result.scales.push_back(params->scale);
    if (!scheme.symmetric)
      result.zeroPoints.push_back(params->zeroPoint);
    bool binary = scheme.storageKind == StorageKind::Binary;
    int64_t qmin = scheme.getStorageMin(), qmax = scheme.getStorageMax();
    for (auto [offset, x] : llvm::enumerate(block)) {
      int64_t code = binary ? quantizeValue(scheme, x, float(params->scale),
                                            params->zeroPoint)
                            : quantizeInRange(x, float(params->scale),
                                              params->zeroPoint, qmin, qmax);
      result.codes[start + offset] = code;
      double diff =
          double(x) - double(dequantizeValue(code, float(params->scale),
                                             params->zeroPoint));
      result.signal += double(x) * double(x);
      result.noise += diff * diff;
    }
    start += length;
  }
  return result;
}
