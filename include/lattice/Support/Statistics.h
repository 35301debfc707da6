//===- Statistics.h - Calibration statistics files --------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The statistics that calibration records for every `lattice.observe` probe
// and that quantization passes read back. The file is safetensors with
// `"format": "lattice-stats"` and `"version": "1"` in its metadata; for a
// probe named P it holds (docs/Calibration.md):
//
//   P.min, P.max   F32 []      extremes over all calibration inputs
//   P.absmax       F32 [C]     max |x| per channel (probes with an axis)
//   P.absmean      F32 [C]     mean |x| per channel (optional)
//   P.histogram    F32 [B]     counts of |x| in B equal bins of [0, R],
//                              R = max(|P.min|, |P.max|)
//   P.xtx          F32 [C, C]  sum of x x^T over the rows of x (optional)
//   P.rows         F32 []      number of rows summed into P.xtx
//   P.cross        F32 [C, C]  sum of x_ref x^T over the rows, x_ref the
//                              float model's input where x is the partly
//                              quantized model's (QEP statistics only)
//
// Every tensor is checked when it is read: dtype, shape, finiteness and
// ordering, with messages that name the tensor.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_SUPPORT_STATISTICS_H
#define LATTICE_SUPPORT_STATISTICS_H

#include "lattice/Support/Safetensors.h"
#include <optional>

namespace mlir::lattice {
/// The statistics of one probe.
struct ProbeStatistics {
  float min = 0, max = 0;
  /// Per-channel absolute maximum and mean; empty unless requested.
  std::vector<float> absmax, absmean;
  /// Counts of |x| in equal bins of [0, getRange()]; may be empty.
  std::vector<float> histogram;
  /// Row-major [C, C] sum of x x^T and the number of rows; empty unless
  /// requested.
  std::vector<float> xtx;
  double rows = 0;
  /// Row-major [C, C] sum of x_ref x^T (QEP's cross moment); empty unless
  /// requested.
  std::vector<float> cross;

  /// max(|min|, |max|).
  double getRange() const;
  /// The `percentile`-th percentile of |x| (in (0, 100]), from the histogram
  /// (the upper edge of the bin where the cumulative count reaches it);
  /// the range when there is no histogram.
  double getAbsPercentile(double percentile) const;
};

/// The optional statistics of a probe that a pass asks for.
enum class ProbeFields : unsigned {
  None = 0,
  XtX = 1,
  AbsMean = 2,
  /// x_ref x^T, with x x^T.
  Cross = 4,
};
inline ProbeFields operator|(ProbeFields a, ProbeFields b) {
  return ProbeFields(unsigned(a) | unsigned(b));
}
inline bool operator&(ProbeFields a, ProbeFields b) {
  return (unsigned(a) & unsigned(b)) != 0;
}

/// A validated statistics file.
class StatisticsFile {
public:
  static constexpr llvm::StringLiteral kFormat = "lattice-stats";
  static constexpr llvm::StringLiteral kVersion = "1";

  /// Opens `path`; fails unless it is a safetensors file whose metadata
  /// names this format and version.
  static llvm::Expected<std::unique_ptr<StatisticsFile>>
  open(llvm::StringRef path);
  /// The statistics in `file`, with the checks of open().
  static llvm::Expected<std::unique_ptr<StatisticsFile>>
  fromSafetensors(std::unique_ptr<SafetensorsFile> file);

  /// Reads and checks the statistics of `probe`: min and max always (and
  /// the histogram when present), the per-channel absmax when `channels` is
  /// set (it must have that many), and the `fields` asked for.
  llvm::Expected<ProbeStatistics>
  get(llvm::StringRef probe, std::optional<int64_t> channels,
      ProbeFields fields = ProbeFields::None) const;

  llvm::StringRef getPath() const { return file->getPath(); }

private:
  llvm::Expected<std::vector<float>> read(llvm::StringRef name,
                                          llvm::ArrayRef<int64_t> shape) const;

  std::unique_ptr<SafetensorsFile> file;
};
} // namespace mlir::lattice

#endif // LATTICE_SUPPORT_STATISTICS_H
