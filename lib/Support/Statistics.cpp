//===- Statistics.cpp - Calibration statistics files ----------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Statistics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir::lattice;
using llvm::Expected;
using llvm::StringRef;

static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [index, size] : llvm::enumerate(shape))
    text += (index ? ", " : "") + std::to_string(size);
  return text + "]";
}

double ProbeStatistics::getRange() const {
  return std::max(std::fabs(double(min)), std::fabs(double(max)));
}

double ProbeStatistics::getAbsPercentile(double percentile) const {
  double range = getRange();
  double total = 0;
  for (float count : histogram)
    total += count;
  if (histogram.empty() || total <= 0 || percentile >= 100.0)
    return range;
  double target = total * percentile / 100.0, cumulative = 0;
  for (auto [bin, count] : llvm::enumerate(histogram)) {
    cumulative += count;
    if (cumulative >= target)
      return range * double(bin + 1) / double(histogram.size());
  }
  return range;
}

Expected<std::unique_ptr<StatisticsFile>> StatisticsFile::open(StringRef path) {
  Expected<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  return fromSafetensors(std::move(*file));
}

Expected<std::unique_ptr<StatisticsFile>>
StatisticsFile::fromSafetensors(std::unique_ptr<SafetensorsFile> file) {
  StringRef path = file->getPath();
  std::optional<StringRef> format = file->getMetadata("format");
  if (format != kFormat)
    return llvm::createStringError(
        "%s: not a statistics file (its metadata lacks \"format\": \"%s\")",
        path.str().c_str(), kFormat.data());
  std::optional<StringRef> version = file->getMetadata("version");
  if (version != kVersion)
    return llvm::createStringError(
        "%s: statistics version '%s' is not supported (this build reads "
        "version %s)",
        path.str().c_str(), version ? version->str().c_str() : "",
        kVersion.data());
  auto result = std::make_unique<StatisticsFile>();
  result->file = std::move(file);
  return result;
}

Expected<std::vector<float>>
StatisticsFile::read(StringRef name, llvm::ArrayRef<int64_t> shape) const {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError("%s: tensor '%s' %s",
                                   getPath().str().c_str(), name.str().c_str(),
                                   message.str().c_str());
  };
  const SafetensorsEntry *entry = file->lookup(name);
  if (!entry)
    return fail("is missing (were the statistics gathered on this model?)");
  if (entry->dtype != "F32")
    return fail("has dtype " + entry->dtype + ", expected F32");
  if (llvm::ArrayRef<int64_t>(entry->shape) != shape)
    return fail("has shape " + formatShape(entry->shape) + ", expected " +
                formatShape(shape));
  std::vector<float> values(entry->data.size() / sizeof(float));
  if (!values.empty()) // (memcpy from or to null is undefined, even of 0 bytes)
    std::memcpy(values.data(), entry->data.data(), entry->data.size());
  // The copy is what the passes keep: the mapped pages go back (a model's
  // X^T X are as large as its weights; read layer after layer, they stayed
  // resident until the end).
  file->releasePages(*entry);
  for (auto [index, x] : llvm::enumerate(values))
    if (!std::isfinite(x))
      return fail(llvm::formatv("holds {0} at index {1}",
                                std::isnan(x) ? "NaN" : "Inf", index));
  return values;
}

Expected<ProbeStatistics> StatisticsFile::get(StringRef probe,
                                              std::optional<int64_t> channels,
                                              ProbeFields fields) const {
  ProbeStatistics stats;
  std::string prefix = probe.str() + ".";
  auto readScalar = [&](StringRef field, auto &out) -> llvm::Error {
    Expected<std::vector<float>> value = read(prefix + field.str(), {});
    if (!value)
      return value.takeError();
    out = (*value)[0];
    return llvm::Error::success();
  };
  if (llvm::Error error = readScalar("min", stats.min))
    return std::move(error);
  if (llvm::Error error = readScalar("max", stats.max))
    return std::move(error);
  if (stats.min > stats.max)
    return llvm::createStringError(
        "%s: tensor '%smin' (%g) is greater than '%smax' (%g)",
        getPath().str().c_str(), prefix.c_str(), double(stats.min),
        prefix.c_str(), double(stats.max));
  auto checkNonNegative = [&](StringRef field,
                              llvm::ArrayRef<float> values) -> llvm::Error {
    for (auto [index, x] : llvm::enumerate(values))
      if (x < 0)
        return llvm::createStringError(
            "%s: tensor '%s%s' holds the negative value %g at index %zu",
            getPath().str().c_str(), prefix.c_str(), field.str().c_str(),
            double(x), index);
    return llvm::Error::success();
  };
  std::string histogramName = prefix + "histogram";
  if (const SafetensorsEntry *entry = file->lookup(histogramName)) {
    if (entry->shape.size() != 1 || entry->shape[0] < 1)
      return llvm::createStringError(
          "%s: tensor '%s' has shape %s, expected [bins]",
          getPath().str().c_str(), histogramName.c_str(),
          formatShape(entry->shape).c_str());
    Expected<std::vector<float>> histogram = read(histogramName, entry->shape);
    if (!histogram)
      return histogram.takeError();
    stats.histogram = std::move(*histogram);
    if (llvm::Error error = checkNonNegative("histogram", stats.histogram))
      return std::move(error);
  }
  if (channels) {
    Expected<std::vector<float>> absmax = read(prefix + "absmax", {*channels});
    if (!absmax)
      return absmax.takeError();
    stats.absmax = std::move(*absmax);
    if (llvm::Error error = checkNonNegative("absmax", stats.absmax))
      return std::move(error);
    // Gathered on the same values, the largest channel maximum is the
    // tensor's largest magnitude (both are exact maxima of f32 values).
    float largest = 0.0f;
    for (float x : stats.absmax)
      largest = std::max(largest, x);
    float magnitude = std::max(std::fabs(stats.min), std::fabs(stats.max));
    if (!stats.absmax.empty() && largest != magnitude)
      return llvm::createStringError(
          "%s: tensor '%sabsmax' does not fit '%smin' and '%smax': its "
          "largest value is %g, their largest magnitude %g (were they "
          "gathered on the same data?)",
          getPath().str().c_str(), prefix.c_str(), prefix.c_str(),
          prefix.c_str(), double(largest), double(magnitude));
  }
  int64_t size = channels.value_or(0);
  if (fields & ProbeFields::AbsMean) {
    Expected<std::vector<float>> absmean = read(prefix + "absmean", {size});
    if (!absmean)
      return absmean.takeError();
    stats.absmean = std::move(*absmean);
    if (llvm::Error error = checkNonNegative("absmean", stats.absmean))
      return std::move(error);
  }
  if (fields & ProbeFields::Cross) {
    Expected<std::vector<float>> cross = read(prefix + "cross", {size, size});
    if (!cross)
      return cross.takeError();
    stats.cross = std::move(*cross);
  }
  if (fields & (ProbeFields::XtX | ProbeFields::Cross)) {
    Expected<std::vector<float>> xtx = read(prefix + "xtx", {size, size});
    if (!xtx)
      return xtx.takeError();
    stats.xtx = std::move(*xtx);
    if (llvm::Error error = readScalar("rows", stats.rows))
      return std::move(error);
    // A count of rows: whole, and within the 2^53 that a double counts
    // exactly (f32 holds larger values).
    if (!(stats.rows >= 1) || stats.rows != std::floor(stats.rows) ||
        stats.rows > 9007199254740992.0)
      return llvm::createStringError(
          "%s: tensor '%srows' must be a whole number of rows from 1 to "
          "2^53, got %g",
          getPath().str().c_str(), prefix.c_str(), double(stats.rows));
  }
  return stats;
}
