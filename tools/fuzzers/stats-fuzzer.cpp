//===- stats-fuzzer.cpp - Fuzz the statistics reader ----------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Reads the input as a statistics file (docs/Calibration.md) and asks it for
// every probe it names, as the passes do: min and max alone, then with the
// per-channel maxima its absmax tensor implies and every optional field
// (absmean, X^T X and its row count, QEP's cross moment), then the range and
// percentiles the quantizers derive. Rejections are fine; statistics that
// pass the reader's checks must be what they claim (finite values, maxima
// that are not negative).
//
//===----------------------------------------------------------------------===//

#include "FuzzerInput.h"
#include "lattice/Support/Statistics.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace mlir::lattice;

static void check(const ProbeStatistics &stats) {
  if (!std::isfinite(stats.min) || !std::isfinite(stats.max) ||
      stats.min > stats.max)
    abort();
  for (float x : stats.absmax)
    if (!(x >= 0) || !std::isfinite(x))
      abort();
  double range = stats.getRange();
  double median = stats.getAbsPercentile(50);
  double top = stats.getAbsPercentile(99.99);
  if (!(median >= 0) || !(top >= 0) || !(range >= 0))
    abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<SafetensorsFile> file =
      lattice_fuzz::readInput(&SafetensorsFile::parse, data, size);
  if (!file)
    return 0;
  // The probes (by their min), and the channel count of each one's absmax:
  // the passes ask for their layer's, which these stand in for.
  std::vector<std::pair<std::string, int64_t>> probes;
  for (const std::string &name : file->getNames()) {
    auto [probe, field] = llvm::StringRef(name).rsplit('.');
    if (field != "min")
      continue;
    const SafetensorsEntry *absmax = file->lookup((probe + ".absmax").str());
    probes.emplace_back(probe.str(), absmax && absmax->shape.size() == 1
                                         ? absmax->shape[0]
                                         : 4);
  }
  llvm::Expected<std::unique_ptr<StatisticsFile>> stats =
      StatisticsFile::fromSafetensors(std::move(file));
  if (!stats) {
    llvm::consumeError(stats.takeError());
    return 0;
  }
  for (const auto &[probe, size] : probes) {
    llvm::Expected<ProbeStatistics> plain = (*stats)->get(probe, std::nullopt);
    if (plain)
      check(*plain);
    else
      llvm::consumeError(plain.takeError());
    for (int64_t channels : {size, int64_t(1)}) {
      llvm::Expected<ProbeStatistics> full = (*stats)->get(
          probe, channels,
          ProbeFields::XtX | ProbeFields::AbsMean | ProbeFields::Cross);
      if (full)
        check(*full);
      else
        llvm::consumeError(full.takeError());
    }
  }
  return 0;
}
