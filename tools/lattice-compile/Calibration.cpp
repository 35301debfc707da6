//===- Calibration.cpp - Native calibration of a compiled model -----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"
#include "lattice/Quant/PrecisionAssignment.h"
#include "lattice/Quant/QuantMath.h"
#include "lattice/Support/Npz.h"
#include "lattice/Support/Safetensors.h"
#include "lattice_runtime.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <random>

using namespace mlir::lattice;
using namespace mlir::lattice::compile;
using llvm::StringRef;

namespace {
/// The offset of row i's first element (i, i) in the packed upper triangle
/// of a [c, c] matrix, rows one after the other.
static inline int64_t getPackedRow(int64_t i, int64_t c) {
  return i * c - i * (i - 1) / 2;
}

/// sums[i][j] += sum over the `n` rows b of left[b][i] * right[b][j] ([n, c]
/// rows), for j >= i into the packed upper triangle `sums` when `upper` (x
/// x^T, which is symmetric: half the memory), for every j into the [c, c]
/// row-major `sums` otherwise; each sum's terms in row order. Compiled for
/// the widest vectors the CPU has.
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
accumulateOuterProducts(double *sums, const double *left, const double *right,
                        int64_t n, int64_t c, bool upper) {
  for (int64_t i = 0; i < c; ++i) {
    // out[j] is element (i, j).
    double *out = upper ? sums + getPackedRow(i, c) - i : sums + i * c;
    int64_t first = upper ? i : 0;
    int64_t b = 0;
    // Four rows per pass over the sums' row (the same additions, in the
    // same order, with the partial sum in a register).
    for (; b + 4 <= n; b += 4) {
      const double *r0 = right + b * c, *r1 = r0 + c, *r2 = r1 + c,
                   *r3 = r2 + c;
      const double *l0 = left + b * c;
      double x0 = l0[i], x1 = l0[c + i], x2 = l0[2 * c + i], x3 = l0[3 * c + i];
      for (int64_t j = first; j < c; ++j) {
        double v = out[j];
        v += x0 * r0[j];
        v += x1 * r1[j];
        v += x2 * r2[j];
        v += x3 * r3[j];
        out[j] = v;
      }
    }
    for (; b < n; ++b) {
      const double *row = right + b * c;
      double xi = left[b * c + i];
      for (int64_t j = first; j < c; ++j)
        out[j] += xi * row[j];
    }
  }
}

/// The rows of a sample, a block of up to 64 at a time: the block's sums
/// in double (each row of them updated by all its rows while it is in
/// cache, each sum adding its terms row by row, in order), then added to
/// `sums` in float, the file's precision (a model's x x^T in double were
/// as large as its weights; this way the sums round once per block, not
/// once per row). `reference` (or null) gives x_ref x^T instead of x x^T.
/// `partial` holds a block's sums (one buffer for every probe of a
/// calibration run). Returns the rows added.
static int64_t accumulateMoments(std::vector<float> &sums,
                                 std::vector<double> &partial, const float *x,
                                 const float *reference, int64_t count,
                                 int64_t channels) {
  constexpr int64_t kBlock = 64;
  int64_t total = count / channels;
  int64_t size = std::min(total, kBlock) * channels;
  std::vector<double> block(size), referenceBlock(reference ? size : 0);
  if (partial.size() < sums.size())
    partial.resize(sums.size());
  for (int64_t r0 = 0; r0 < total; r0 += kBlock) {
    int64_t n = std::min(kBlock, total - r0);
    for (int64_t e = 0; e < n * channels; ++e)
      block[e] = x[r0 * channels + e];
    if (reference)
      for (int64_t e = 0; e < n * channels; ++e)
        referenceBlock[e] = reference[r0 * channels + e];
    std::fill(partial.begin(), partial.begin() + sums.size(), 0.0);
    accumulateOuterProducts(partial.data(),
                            reference ? referenceBlock.data() : block.data(),
                            block.data(), n, channels, !reference);
    for (size_t e = 0; e < sums.size(); ++e)
      sums[e] = float(double(sums[e]) + partial[e]);
  }
  return total;
}

/// The statistics of one probe (docs/Calibration.md), accumulated in
/// double precision as numpy does (x x^T: by blocks of rows, see
/// accumulateMoments).
struct ProbeStatistics {
  std::string name;
  unsigned output = 0;
  int64_t channels = 1;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  /// Per channel: max |x| and the sum of |x| over `channelRows` values.
  std::vector<double> absmax, abssum, histogram;
  int64_t channelRows = 0;
  /// Sum of x x^T over the rows of x (channels last), its upper triangle
  /// packed, when asked for; and the rows summed. With QEP's statistics,
  /// also the sum of x_ref x^T ([C, C]).
  std::vector<float> xtx, cross;
  int64_t rows = 0;

  /// Adds `count` values of the probe (and of the float model's probe,
  /// `reference`, for the cross moment); `partial` is accumulateMoments'
  /// scratch.
  void update(const float *x, int64_t count, std::vector<double> &partial,
              const float *reference = nullptr) {
    for (int64_t i = 0; i < count; ++i) {
      double v = x[i];
      min = std::min(min, v);
      max = std::max(max, v);
      double &channel = absmax[i % channels];
      channel = std::max(channel, std::fabs(v));
      abssum[i % channels] += std::fabs(v);
    }
    channelRows += count / channels;
    if (!xtx.empty())
      rows += accumulateMoments(xtx, partial, x, nullptr, count, channels);
    if (!cross.empty())
      accumulateMoments(cross, partial, x, reference, count, channels);
  }

  /// Counts |x| into the bins of [0, range] as numpy.histogram does: the
  /// bin from the scaled value, corrected against the edges of
  /// numpy.linspace, the last bin closed.
  void updateHistogram(const float *x, int64_t count) {
    int64_t bins = histogram.size();
    double range = std::max(std::fabs(min), std::fabs(max));
    if (range == 0)
      range = 1.0;
    double step = range / double(bins);
    auto edge = [&](int64_t i) { return i == bins ? range : double(i) * step; };
    for (int64_t i = 0; i < count; ++i) {
      double v = std::fabs(double(x[i]));
      int64_t bin = static_cast<int64_t>(v / range * double(bins));
      if (bin >= bins)
        bin = bins - 1;
      if (v < edge(bin))
        --bin;
      else if (v >= edge(bin + 1) && bin != bins - 1)
        ++bin;
      histogram[bin] += 1;
    }
  }
};

/// A loaded calibration build: the runtime's entry points, the model with
/// its weights, and buffers for one sample's inputs and outputs.
class Library {
public:
  ~Library() {
    if (model)
      rt.free(model);
  }

  /// Loads `path` with the weights file `weights`.
  static llvm::Expected<std::unique_ptr<Library>> open(StringRef path,
                                                       StringRef weights);
  /// Loads `path` with the weights file image `image`, which must outlive
  /// the library and may change between reload() calls.
  static llvm::Expected<std::unique_ptr<Library>>
  openInMemory(StringRef path, llvm::ArrayRef<uint8_t> image);
  /// Loads the model again from the image (after a change to its weights).
  llvm::Error reload();

  const lattice_model_info &getInfo() const { return *info; }
  /// Runs the model on the input buffers (filled by the caller).
  llvm::Error run(int64_t sample);
  std::vector<std::vector<uint8_t>> &getInputBuffers() { return inputs; }
  const float *getOutput(unsigned i) const {
    return reinterpret_cast<const float *>(outputs[i].data());
  }
  int64_t getOutputSize(unsigned i) const {
    return info->outputs[i].num_bytes / sizeof(float);
  }

private:
  struct Runtime {
    const lattice_model_info *(*info)(void);
    lattice_status (*load)(const lattice_model_info *, const char *,
                           lattice_model **);
    lattice_status (*loadMemory)(const lattice_model_info *, const void *,
                                 size_t, lattice_model **);
    lattice_status (*run)(const lattice_model *, const void *const *,
                          void *const *);
    void (*free)(lattice_model *);
    const char *(*lastError)(void);
  } rt;
  /// Opens the library at `path` and finds the runtime's entry points;
  /// loads no weights.
  static llvm::Expected<std::unique_ptr<Library>> bind(StringRef path);
  /// Buffers for the inputs and outputs of one run.
  void allocateBuffers();

  const lattice_model_info *info = nullptr;
  lattice_model *model = nullptr;
  llvm::ArrayRef<uint8_t> image;
  std::vector<std::vector<uint8_t>> inputs, outputs;
  std::vector<const void *> inputPointers;
  std::vector<void *> outputPointers;
};
} // namespace

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message.str());
}

llvm::Expected<std::unique_ptr<Library>> Library::bind(StringRef path) {
  // RTLD_LOCAL: the library's copy of the runtime stays its own. (A library
  // is loaded once per process: the handle is not closed, as the runtime's
  // pool threads may still run its code.)
  void *handle = dlopen(path.str().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return fail("cannot load the calibration build '" + path +
                "': " + dlerror());
  auto result = std::make_unique<Library>();
  Runtime &rt = result->rt;
  auto symbol = [&](const char *name) { return dlsym(handle, name); };
  rt.info =
      reinterpret_cast<decltype(rt.info)>(symbol("lattice_model_info_v1"));
  rt.load = reinterpret_cast<decltype(rt.load)>(symbol("lattice_model_load"));
  rt.loadMemory = reinterpret_cast<decltype(rt.loadMemory)>(
      symbol("lattice_model_load_memory"));
  rt.run = reinterpret_cast<decltype(rt.run)>(symbol("lattice_model_run"));
  rt.free = reinterpret_cast<decltype(rt.free)>(symbol("lattice_model_free"));
  rt.lastError =
      reinterpret_cast<decltype(rt.lastError)>(symbol("lattice_last_error"));
  if (!rt.info || !rt.load || !rt.loadMemory || !rt.run || !rt.free ||
      !rt.lastError)
    return fail("'" + path + "' is not a model library");
  result->info = rt.info();
  return result;
}

void Library::allocateBuffers() {
  for (uint32_t i = 0; i < info->num_inputs; ++i) {
    inputs.emplace_back(info->inputs[i].num_bytes);
    inputPointers.push_back(inputs.back().data());
  }
  for (uint32_t i = 0; i < info->num_outputs; ++i) {
    outputs.emplace_back(info->outputs[i].num_bytes);
    outputPointers.push_back(outputs.back().data());
  }
}

llvm::Expected<std::unique_ptr<Library>> Library::open(StringRef path,
                                                       StringRef weights) {
  llvm::Expected<std::unique_ptr<Library>> result = bind(path);
  if (!result)
    return result.takeError();
  Library &library = **result;
  if (library.rt.load(library.info, weights.str().c_str(), &library.model) !=
      LATTICE_OK)
    return fail("cannot load the calibration build: " +
                StringRef(library.rt.lastError()));
  library.allocateBuffers();
  return result;
}

llvm::Expected<std::unique_ptr<Library>>
Library::openInMemory(StringRef path, llvm::ArrayRef<uint8_t> image) {
  llvm::Expected<std::unique_ptr<Library>> result = bind(path);
  if (!result)
    return result.takeError();
  (*result)->image = image;
  if (llvm::Error error = (*result)->reload())
    return std::move(error);
  (*result)->allocateBuffers();
  return result;
}

llvm::Error Library::reload() {
  if (model)
    rt.free(model);
  model = nullptr;
  if (rt.loadMemory(info, image.data(), image.size(), &model) != LATTICE_OK)
    return fail("cannot load the calibration build: " +
                StringRef(rt.lastError()));
  return llvm::Error::success();
}

llvm::Error Library::run(int64_t sample) {
  if (rt.run(model, inputPointers.data(), outputPointers.data()) == LATTICE_OK)
    return llvm::Error::success();
  return fail("the calibration build failed on sample " + llvm::Twine(sample) +
              ": " + rt.lastError());
}

namespace {
/// The samples of one model input.
struct InputSamples {
  const lattice_tensor_info *info = nullptr;
  const NpyArray *array = nullptr;
  int64_t elements = 1; // per sample
  /// Generated samples, when there is no file.
  std::vector<double> generated;

  double get(int64_t sample, int64_t i) const {
    return at(sample * elements + i);
  }
  /// Element `index` of all the samples in a row.
  double at(int64_t index) const {
    return array ? array->getAsDouble(index) : generated[index];
  }
};
} // namespace

/// `v` as %.15g writes it: an integer without a fraction.
static std::string formatExact(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.15g", v);
  return text;
}

static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "(";
  for (auto [i, size] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(size);
  return text + (shape.size() == 1 ? ",)" : ")");
}

static StringRef getTypeName(int32_t dtype) {
  switch (dtype) {
  case LATTICE_F32:
    return "float32";
  case LATTICE_F16:
    return "float16";
  case LATTICE_BF16:
    return "bfloat16";
  case LATTICE_I8:
    return "int8";
  case LATTICE_U8:
    return "uint8";
  case LATTICE_I32:
    return "int32";
  }
  return "an unknown type";
}

/// The range of the integer input types, or nullopt for floats.
static std::optional<std::pair<double, double>> getIntegerRange(int32_t d) {
  switch (d) {
  case LATTICE_I8:
    return std::make_pair(-128.0, 127.0);
  case LATTICE_U8:
    return std::make_pair(0.0, 255.0);
  case LATTICE_I32:
    return std::make_pair(-2147483648.0, 2147483647.0);
  }
  return std::nullopt;
}

/// Matches the model's inputs with the arrays of `file` (or generates
/// samples); returns the sample count.
static llvm::Expected<int64_t> getSamples(const lattice_model_info &info,
                                          const NpzFile *file,
                                          unsigned generatedSamples,
                                          std::vector<InputSamples> &inputs) {
  std::optional<int64_t> count;
  std::mt19937_64 random(0);
  for (uint32_t i = 0; i < info.num_inputs; ++i) {
    const lattice_tensor_info &t = info.inputs[i];
    InputSamples input;
    input.info = &t;
    llvm::ArrayRef<int64_t> shape(t.shape, t.rank);
    for (int64_t size : shape)
      input.elements *= size;
    if (t.dtype != LATTICE_F32 && !getIntegerRange(t.dtype))
      return fail("input '" + StringRef(t.name) + "' is " +
                  getTypeName(t.dtype) + ", which calibration does not fill");
    if (!file) {
      count = generatedSamples;
      input.generated.resize(*count * input.elements);
      std::normal_distribution<double> normal;
      std::uniform_int_distribution<int> token(0, 63);
      for (double &v : input.generated)
        v = t.dtype == LATTICE_F32 ? double(float(normal(random)))
                                   : double(token(random));
      inputs.push_back(std::move(input));
      continue;
    }
    // Arrays are named after the input, or after its position (as
    // lattice.compile saves a list of samples).
    input.array = file->lookup(t.name);
    if (!input.array)
      input.array = file->lookup("input" + std::to_string(i));
    if (!input.array) {
      std::vector<std::string> names;
      for (const NpyArray &array : file->getArrays())
        names.push_back(array.name);
      llvm::sort(names);
      return fail(
          "calibration data has no array for input '" + StringRef(t.name) +
          "' (it has " +
          (names.empty() ? std::string("none") : llvm::join(names, ", ")) +
          ")");
    }
    const NpyArray &array = *input.array;
    if (array.kind == NpyKind::Other) {
      // (The dtype as the archive spells it, unprintable bytes as '?'.)
      std::string descr = array.descr;
      for (char &c : descr)
        if (c < 0x20 || c >= 0x7f)
          c = '?';
      return fail("calibration input '" + StringRef(t.name) + "' has dtype " +
                  descr + ", not a number");
    }
    int64_t samples;
    llvm::ArrayRef<int64_t> got = array.shape;
    if (got == shape)
      samples = 1;
    else if (got.size() == shape.size() + 1 && got.drop_front() == shape)
      samples = got.front();
    else
      return fail("calibration input '" + StringRef(t.name) + "' has shape " +
                  formatShape(got) + "; expected " + formatShape(shape) +
                  " or (samples, " + formatShape(shape).substr(1));
    if (count && samples != *count)
      return fail("calibration input '" + StringRef(t.name) + "' has " +
                  llvm::Twine(samples) + " samples, the others " +
                  llvm::Twine(*count));
    count = samples;
    // Every value fits the input's type.
    std::optional<std::pair<double, double>> range = getIntegerRange(t.dtype);
    for (int64_t s = 0; s < samples; ++s)
      for (int64_t e = 0; e < input.elements; ++e) {
        double v = input.get(s, e);
        if (!std::isfinite(v))
          return fail("calibration input '" + StringRef(t.name) +
                      "' holds NaN or Inf in sample " + llvm::Twine(s));
        if (range &&
            (v != std::trunc(v) || v < range->first || v > range->second))
          return fail("calibration input '" + StringRef(t.name) + "' holds " +
                      formatExact(v) + " in sample " + llvm::Twine(s) +
                      ", which " + getTypeName(t.dtype) + " cannot hold");
      }
    inputs.push_back(std::move(input));
  }
  if (!count || *count == 0)
    return fail("calibration data holds no samples");
  return *count;
}

/// What makes calibration samples degenerate: statistics gathered on them
/// misrepresent the activations, and the scales chosen from them are poor,
/// although nothing is invalid. One sentence per finding.
static std::vector<std::string>
checkSamples(llvm::ArrayRef<InputSamples> inputs, int64_t samples) {
  std::vector<std::string> warnings;
  if (samples == 1)
    warnings.push_back("calibration data holds a single sample: ranges and "
                       "channel statistics of one input misrepresent the "
                       "model's activations");
  for (const InputSamples &input : inputs) {
    if (input.info->dtype != LATTICE_F32)
      continue; // (Token ids and other integers are not activations.)
    std::string name =
        ("calibration input '" + StringRef(input.info->name) + "'").str();
    int64_t count = samples * input.elements;
    double first = input.at(0), largest = 0;
    int64_t largestAt = 0, denormals = 0, firstDenormal = -1;
    bool constant = true;
    for (int64_t i = 0; i < count; ++i) {
      double v = input.at(i);
      constant &= v == first;
      double magnitude = std::fabs(v);
      if (magnitude > largest) {
        largest = magnitude;
        largestAt = i;
      }
      if (magnitude != 0 && magnitude < double(FLT_MIN)) {
        if (denormals++ == 0)
          firstDenormal = i;
      }
    }
    auto where = [&](int64_t i) {
      return ("sample " + llvm::Twine(i / input.elements) + ", element " +
              llvm::Twine(i % input.elements))
          .str();
    };
    if (constant) {
      warnings.push_back(name + " is " + formatExact(first) +
                         " everywhere: its statistics say nothing of the "
                         "activations");
      continue;
    }
    if (denormals)
      warnings.push_back(name + " holds " + std::to_string(denormals) +
                         (denormals == 1 ? " denormal value ("
                                         : " denormal values (the first ") +
                         formatExact(input.at(firstDenormal)) + ", " +
                         where(firstDenormal) + ")");
    // A value so large that an 8-bit scale set by it (largest / 127) rounds
    // most of the others to zero.
    int64_t flattened = 0, nonzero = 0;
    for (int64_t i = 0; i < count; ++i) {
      double magnitude = std::fabs(input.at(i));
      if (magnitude == 0)
        continue;
      ++nonzero;
      flattened += magnitude < largest / 254;
    }
    if (nonzero > 1 && 2 * flattened > nonzero)
      warnings.push_back(
          name + " holds " + formatExact(input.at(largestAt)) + " (" +
          where(largestAt) + "), against which " +
          std::to_string((100 * flattened + nonzero / 2) / nonzero) +
          " % of its nonzero values are below half an 8-bit step: one "
          "outlier sets the range");
  }
  return warnings;
}

/// Writes sample `s` of every input into `buffers` in the input's type.
static void fillInputs(llvm::ArrayRef<InputSamples> inputs, int64_t s,
                       std::vector<std::vector<uint8_t>> &buffers) {
  for (auto [input, buffer] : llvm::zip(inputs, buffers))
    for (int64_t e = 0; e < input.elements; ++e) {
      double v = input.get(s, e);
      switch (input.info->dtype) {
      case LATTICE_F32: {
        float f = float(v);
        std::memcpy(buffer.data() + 4 * e, &f, 4);
        break;
      }
      case LATTICE_I32: {
        int32_t i = int32_t(v);
        std::memcpy(buffer.data() + 4 * e, &i, 4);
        break;
      }
      default:
        buffer[e] = static_cast<uint8_t>(int32_t(v));
        break;
      }
    }
}

llvm::Expected<std::unique_ptr<NpzFile>>
mlir::lattice::compile::openSamples(StringRef path) {
  llvm::Expected<std::unique_ptr<NpzFile>> opened = NpzFile::open(path);
  if (!opened)
    return fail("cannot read calibration data: " +
                llvm::toString(opened.takeError()));
  return opened;
}

/// The probes of `library` (its outputs from `firstProbe` on), with their
/// histograms' bins, x x^T for `:input` probes when `xtx` is set.
static llvm::Expected<std::vector<ProbeStatistics>>
getProbes(const lattice_model_info &info, unsigned firstProbe, unsigned bins,
          bool xtx) {
  std::vector<ProbeStatistics> probes;
  for (uint32_t i = firstProbe; i < info.num_outputs; ++i) {
    const lattice_tensor_info &t = info.outputs[i];
    if (t.dtype != LATTICE_F32)
      return fail("probe '" + StringRef(t.name) + "' is not float32");
    ProbeStatistics p;
    p.name = t.name;
    p.output = i;
    p.channels = t.rank > 0 ? t.shape[t.rank - 1] : 1;
    p.absmax.assign(std::max<int64_t>(p.channels, 1), 0.0);
    p.abssum.assign(p.absmax.size(), 0.0);
    p.histogram.assign(bins, 0.0);
    // x^T x of matmul inputs only: weights need no Hessian.
    if (xtx && StringRef(p.name).ends_with(":input"))
      p.xtx.assign(getPackedRow(p.channels, p.channels), 0.0);
    probes.push_back(std::move(p));
  }
  if (probes.empty())
    return fail("the model has no float matmul to observe (one whose matmuls "
                "are all quantized already, as a pre-quantized model's, needs "
                "no calibration: compile it with --recipe f32)");
  return probes;
}

/// Writes the statistics file `path` (docs/Calibration.md).
static llvm::Error writeStatistics(StringRef path,
                                   llvm::ArrayRef<ProbeStatistics> probes,
                                   int64_t samples, bool histograms) {
  std::pair<std::string, std::string> metadata[] = {
      {"format", "lattice-stats"},
      {"version", "1"},
      {"samples", std::to_string(samples)}};
  auto writer = SafetensorsWriter::create(path, metadata);
  if (!writer)
    return writer.takeError();
  llvm::Error error = llvm::Error::success();
  auto addFloats = [&](std::string name, std::vector<int64_t> shape,
                       llvm::ArrayRef<float> floats) {
    if (!error)
      error = (*writer)->add(
          name, "F32", shape,
          llvm::ArrayRef(reinterpret_cast<const uint8_t *>(floats.data()),
                         floats.size() * sizeof(float)));
  };
  auto add = [&](std::string name, std::vector<int64_t> shape,
                 llvm::ArrayRef<double> values) {
    addFloats(std::move(name), std::move(shape),
              std::vector<float>(values.begin(), values.end()));
  };
  for (const ProbeStatistics &p : probes) {
    add(p.name + ".min", {}, {p.min});
    add(p.name + ".max", {}, {p.max});
    int64_t channels = p.absmax.size();
    add(p.name + ".absmax", {channels}, p.absmax);
    std::vector<double> absmean(p.abssum);
    for (double &v : absmean)
      v /= double(std::max<int64_t>(p.channelRows, 1));
    add(p.name + ".absmean", {channels}, absmean);
    if (histograms)
      add(p.name + ".histogram", {int64_t(p.histogram.size())}, p.histogram);
    if (!p.xtx.empty()) {
      // Both triangles from the packed upper one.
      int64_t c = p.channels;
      std::vector<float> full(c * c);
      for (int64_t i = 0; i < c; ++i)
        for (int64_t j = i; j < c; ++j)
          full[i * c + j] = full[j * c + i] =
              p.xtx[getPackedRow(i, c) + (j - i)];
      addFloats(p.name + ".xtx", {p.channels, p.channels}, full);
      add(p.name + ".rows", {}, {double(p.rows)});
    }
    if (!p.cross.empty())
      addFloats(p.name + ".cross", {p.channels, p.channels}, p.cross);
  }
  if (error)
    return error;
  return (*writer)->finish();
}

llvm::Error mlir::lattice::compile::calibrate(const CalibrationOptions &o) {
  llvm::Expected<std::unique_ptr<Library>> library =
      Library::open(o.library, o.weights);
  if (!library)
    return library.takeError();
  const lattice_model_info &info = (*library)->getInfo();
  std::vector<InputSamples> inputs;
  llvm::Expected<int64_t> samples =
      getSamples(info, o.samples, o.generatedSamples, inputs);
  if (!samples)
    return samples.takeError();
  if (o.samples && o.warnings)
    *o.warnings = checkSamples(inputs, *samples);
  llvm::Expected<std::vector<ProbeStatistics>> probes =
      getProbes(info, o.firstProbe, o.bins, o.xtx);
  if (!probes)
    return probes.takeError();
  // Two passes: the range of each probe, then its histogram in that range.
  std::vector<double> partial;
  for (int pass = 0; pass < (o.bins ? 2 : 1); ++pass)
    for (int64_t s = 0; s < *samples; ++s) {
      fillInputs(inputs, s, (*library)->getInputBuffers());
      if (llvm::Error error = (*library)->run(s))
        return error;
      for (ProbeStatistics &p : *probes) {
        const float *x = (*library)->getOutput(p.output);
        int64_t count = (*library)->getOutputSize(p.output);
        if (pass == 0)
          p.update(x, count, partial);
        else
          p.updateHistogram(x, count);
      }
    }
  // The model's weights leave memory before the statistics are written.
  library->reset();
  return writeStatistics(o.output, *probes, *samples, o.bins != 0);
}

namespace {
/// A float build of a model and another build of it (partly or wholly
/// quantized), loaded, with the samples that both run.
struct BuildPair {
  std::unique_ptr<Library> reference, library;
  std::vector<InputSamples> referenceInputs, inputs;
  int64_t samples = 0;

  /// Runs sample `s` through both builds.
  llvm::Error run(int64_t s) {
    fillInputs(inputs, s, library->getInputBuffers());
    fillInputs(referenceInputs, s, reference->getInputBuffers());
    if (llvm::Error error = library->run(s))
      return error;
    return reference->run(s);
  }
};
} // namespace

/// Loads the float build `reference` and the build `library` (with their
/// weights files) and reads the samples (`file`, or `generated` ones) for
/// both.
static llvm::Expected<BuildPair>
openBuildPair(StringRef reference, StringRef referenceWeights,
              StringRef library, StringRef weights, const NpzFile *file,
              unsigned generated) {
  BuildPair pair;
  llvm::Expected<std::unique_ptr<Library>> opened =
      Library::open(reference, referenceWeights);
  if (!opened)
    return opened.takeError();
  pair.reference = std::move(*opened);
  opened = Library::open(library, weights);
  if (!opened)
    return opened.takeError();
  pair.library = std::move(*opened);
  llvm::Expected<int64_t> samples =
      getSamples(pair.library->getInfo(), file, generated, pair.inputs);
  if (!samples)
    return samples.takeError();
  if (llvm::Expected<int64_t> same = getSamples(
          pair.reference->getInfo(), file, generated, pair.referenceInputs);
      !same)
    return same.takeError();
  pair.samples = *samples;
  return std::move(pair);
}

llvm::Error
mlir::lattice::compile::calibrateCrossMoments(const CrossMomentOptions &o) {
  llvm::Expected<BuildPair> pair =
      openBuildPair(o.reference, o.referenceWeights, o.library, o.weights,
                    o.samples, o.generatedSamples);
  if (!pair)
    return pair.takeError();
  std::unique_ptr<Library> &library = pair->library;
  const lattice_model_info &info = library->getInfo();
  const lattice_model_info &referenceInfo = pair->reference->getInfo();
  llvm::Expected<std::vector<ProbeStatistics>> all =
      getProbes(info, o.firstProbe, /*bins=*/0, /*xtx=*/false);
  if (!all)
    return all.takeError();
  // The probes asked for, each with the reference's output of its name.
  std::vector<ProbeStatistics> probes;
  std::vector<unsigned> referenceOutputs;
  for (ProbeStatistics &p : *all) {
    if (!llvm::is_contained(o.probes, p.name))
      continue;
    std::optional<unsigned> match;
    for (uint32_t i = 0; i < referenceInfo.num_outputs; ++i)
      if (p.name == referenceInfo.outputs[i].name &&
          referenceInfo.outputs[i].num_bytes ==
              info.outputs[p.output].num_bytes)
        match = i;
    if (!match)
      return fail("the float model has no probe '" + p.name +
                  "' of the same shape");
    p.xtx.assign(getPackedRow(p.channels, p.channels), 0.0);
    p.cross.assign(p.channels * p.channels, 0.0);
    referenceOutputs.push_back(*match);
    probes.push_back(std::move(p));
  }
  if (probes.size() != o.probes.size())
    return fail(
        "the partly quantized model lacks some of the probes asked for");
  std::vector<double> partial;
  for (int64_t s = 0; s < pair->samples; ++s) {
    if (llvm::Error error = pair->run(s))
      return error;
    for (auto [p, output] : llvm::zip(probes, referenceOutputs))
      p.update(library->getOutput(p.output), library->getOutputSize(p.output),
               partial, pair->reference->getOutput(output));
  }
  int64_t samples = pair->samples;
  pair->reference.reset();
  library.reset();
  return writeStatistics(o.output, probes, samples, /*histograms=*/false);
}

llvm::Expected<std::vector<OutputQuality>>
mlir::lattice::compile::compareOutputs(const OutputCheckOptions &o,
                                       int64_t &samplesUsed) {
  llvm::Expected<BuildPair> pair =
      openBuildPair(o.reference, o.referenceWeights, o.library, o.weights,
                    o.samples, o.generatedSamples);
  if (!pair)
    return pair.takeError();
  const lattice_model_info &info = pair->library->getInfo();
  const lattice_model_info &floatInfo = pair->reference->getInfo();
  samplesUsed = std::min<int64_t>(pair->samples, o.maxSamples);
  // The library's float outputs and the float model's of the same name.
  struct Match {
    uint32_t output, reference;
    double signal = 0, noise = 0;
  };
  std::vector<Match> matches;
  for (uint32_t i = 0; i < std::min(info.num_outputs, o.outputs); ++i)
    for (uint32_t j = 0; j < floatInfo.num_outputs; ++j)
      if (StringRef(info.outputs[i].name) == floatInfo.outputs[j].name &&
          info.outputs[i].dtype == LATTICE_F32 &&
          floatInfo.outputs[j].dtype == LATTICE_F32 &&
          info.outputs[i].num_bytes == floatInfo.outputs[j].num_bytes) {
        matches.push_back({i, j});
        break;
      }
  for (int64_t s = 0; s < samplesUsed; ++s) {
    if (llvm::Error error = pair->run(s))
      return std::move(error);
    for (Match &match : matches) {
      const float *y = pair->library->getOutput(match.output);
      const float *want = pair->reference->getOutput(match.reference);
      for (int64_t e = 0, n = pair->library->getOutputSize(match.output); e < n;
           ++e) {
        double d = double(y[e]) - double(want[e]);
        match.signal += double(want[e]) * double(want[e]);
        match.noise += d * d;
      }
    }
  }
  std::vector<OutputQuality> result;
  for (const Match &match : matches) {
    if (!(match.signal > 0) || !std::isfinite(match.signal))
      continue;
    double sqnr = match.noise == 0 ? std::numeric_limits<double>::infinity()
                  : std::isfinite(match.noise)
                      ? 10 * std::log10(match.signal / match.noise)
                      : -std::numeric_limits<double>::infinity();
    result.push_back({info.outputs[match.output].name, sqnr});
  }
  return result;
}

/// The log-softmax of each row of `row` values of `y` (`count` in all).
static void logSoftmaxRows(const float *y, int64_t count, int64_t row,
                           double *out) {
  for (int64_t start = 0; start + row <= count; start += row) {
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t e = start; e < start + row; ++e)
      top = std::max(top, double(y[e]));
    double sum = 0;
    for (int64_t e = start; e < start + row; ++e)
      sum += std::exp(double(y[e]) - top);
    double log = top + std::log(sum);
    for (int64_t e = start; e < start + row; ++e)
      out[e] = double(y[e]) - log;
  }
}

llvm::Error
mlir::lattice::compile::measureSensitivity(const SensitivityOptions &o) {
  // The weights file, in memory: each candidate's weight is written over
  // the layer's before the model is loaded again.
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::open(o.weights);
  if (!file)
    return file.takeError();
  llvm::ArrayRef<uint8_t> bytes = (*file)->getBytes();
  size_t rounded = (bytes.size() + 63) / 64 * 64;
  std::unique_ptr<uint8_t, decltype(&std::free)> image(
      static_cast<uint8_t *>(std::aligned_alloc(64, rounded ? rounded : 64)),
      &std::free);
  if (!image)
    return fail("out of memory copying the weights of the float build");
  std::memcpy(image.get(), bytes.data(), bytes.size());
  // Where each layer's weight lies in the image; the mapped file is then
  // released (the image is the one copy kept).
  std::vector<size_t> offsets;
  for (const SensitivityLayer &layer : o.layers) {
    const SafetensorsEntry *entry = (*file)->lookup(layer.weight);
    if (!entry)
      return fail("layer '" + layer.name + "': its weight '" + layer.weight +
                  "' is not in the float build's weights file (a constant "
                  "kept in the code); mixed precision measures weights that "
                  "are stored in weights files");
    if (entry->dtype != "F32" ||
        entry->shape != std::vector<int64_t>{layer.n, layer.k})
      return fail("layer '" + layer.name +
                  "': the float build's weights have no plain f32 [" +
                  llvm::Twine(layer.n) + ", " + llvm::Twine(layer.k) +
                  "] tensor '" + layer.weight + "'");
    offsets.push_back(entry->data.data() - bytes.data());
  }
  size_t imageSize = bytes.size();
  file->reset();
  llvm::Expected<std::unique_ptr<Library>> library =
      Library::openInMemory(o.library, {image.get(), imageSize});
  if (!library)
    return library.takeError();
  const lattice_model_info &info = (*library)->getInfo();
  for (uint32_t i = 0; i < info.num_outputs; ++i)
    if (info.outputs[i].dtype != LATTICE_F32)
      return fail("output '" + StringRef(info.outputs[i].name) +
                  "' is not float32: mixed precision measures the error of "
                  "float outputs");
  std::vector<InputSamples> inputs;
  llvm::Expected<int64_t> available =
      getSamples(info, o.samples, o.generatedSamples, inputs);
  if (!available)
    return available.takeError();
  int64_t samples = std::min<int64_t>(*available, o.maxSamples);

  if (o.metric != "kl" && o.metric != "nsr")
    return fail("unknown sensitivity metric '" + o.metric +
                "' (expected kl or nsr)");
  bool kl = o.metric == "kl";
  // Runs every sample; `visit` sees each output's values, the length of its
  // rows (its last axis) and its offset in the sample's outputs.
  auto runAll = [&](llvm::function_ref<void(int64_t, const float *, int64_t,
                                            int64_t, int64_t)>
                        visit) -> llvm::Error {
    for (int64_t s = 0; s < samples; ++s) {
      fillInputs(inputs, s, (*library)->getInputBuffers());
      if (llvm::Error error = (*library)->run(s))
        return error;
      int64_t offset = 0;
      for (uint32_t i = 0; i < info.num_outputs; ++i) {
        int64_t count = (*library)->getOutputSize(i);
        const lattice_tensor_info &t = info.outputs[i];
        int64_t row = t.rank > 0 && t.shape[t.rank - 1] > 0
                          ? t.shape[t.rank - 1]
                          : std::max<int64_t>(count, 1);
        visit(s, (*library)->getOutput(i), count, row, offset);
        offset += count;
      }
    }
    return llvm::Error::success();
  };
  // The float model's outputs (for KL their log-softmax along the last
  // axis), their energy and their rows.
  std::vector<std::vector<double>> reference(samples);
  double signal = 0, rows = 0;
  bool finite = true;
  if (llvm::Error error = runAll(
          [&](int64_t s, const float *y, int64_t count, int64_t row, int64_t) {
            for (int64_t e = 0; e < count; ++e) {
              signal += double(y[e]) * double(y[e]);
              finite = finite && std::isfinite(y[e]);
            }
            size_t at = reference[s].size();
            reference[s].resize(at + count);
            if (kl)
              logSoftmaxRows(y, count, row, reference[s].data() + at);
            else
              std::copy(y, y + count, reference[s].begin() + at);
            rows += double(count / row);
          }))
    return error;
  if (!finite || !(signal > 0))
    return fail("the float model's outputs on the calibration samples are " +
                std::string(finite ? "all zero" : "not finite") +
                ": no error can be measured against them");

  std::vector<PrecisionCandidate> candidates;
  for (const std::string &name : o.candidates) {
    llvm::Expected<PrecisionCandidate> candidate =
        parsePrecisionCandidate(name);
    if (!candidate)
      return candidate.takeError();
    candidates.push_back(std::move(*candidate));
  }
  SensitivityFile result;
  result.metric =
      kl ? "kl: the mean over the outputs' rows (their last axis) of the "
           "Kullback-Leibler divergence of their softmax from the float "
           "model's, with only the layer quantized"
         : "nsr: the sum of squared differences of the outputs from the "
           "float model's over the sum of their squares, with only the layer "
           "quantized";
  result.samples = samples;
  result.candidates = o.candidates;
  for (auto [layer, offset] : llvm::zip_equal(o.layers, offsets)) {
    uint8_t *stored = image.get() + offset;
    std::vector<float> values(layer.n * layer.k);
    std::memcpy(values.data(), stored, values.size() * sizeof(float));
    SensitivityFile::Layer measured{layer.name, {}};
    for (const PrecisionCandidate &candidate : candidates) {
      if (candidate.keepFloat) {
        measured.errors.push_back(0.0);
        continue;
      }
      llvm::Expected<QuantizedWeight> quantized = quantizeWeight(
          candidate.scheme, ClipMethod::MinMax, 0, values, layer.n, layer.k);
      if (!quantized) {
        // A scheme that cannot quantize this weight: not a candidate here.
        llvm::consumeError(quantized.takeError());
        measured.errors.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      BlockIndexer blocks(candidate.scheme, {layer.n, layer.k});
      std::vector<float> rounded(values.size());
      for (size_t i = 0; i < rounded.size(); ++i) {
        int64_t block = blocks.getBlock(int64_t(i));
        rounded[i] = dequantizeValue(
            quantized->codes[i], float(quantized->scales[block]),
            quantized->zeroPoints.empty() ? 0 : quantized->zeroPoints[block]);
      }
      std::memcpy(stored, rounded.data(), rounded.size() * sizeof(float));
      if (llvm::Error error = (*library)->reload())
        return error;
      double sum = 0;
      std::vector<double> logq;
      if (llvm::Error error =
              runAll([&](int64_t s, const float *y, int64_t count, int64_t row,
                         int64_t offset) {
                const double *ref = reference[s].data() + offset;
                if (!kl) {
                  for (int64_t e = 0; e < count; ++e) {
                    double d = double(y[e]) - ref[e];
                    sum += d * d;
                  }
                  return;
                }
                logq.resize(count);
                logSoftmaxRows(y, count, row, logq.data());
                for (int64_t e = 0; e < count; ++e)
                  sum += std::exp(ref[e]) * (ref[e] - logq[e]);
              }))
        return error;
      double error = kl ? sum / rows : sum / signal;
      // Outputs that overflow or turn NaN: an error no candidate that keeps
      // them finite comes near.
      measured.errors.push_back(std::isfinite(error) ? std::max(error, 0.0)
                                                     : 1e30);
    }
    std::memcpy(stored, values.data(), values.size() * sizeof(float));
    result.layers.push_back(std::move(measured));
  }
  return writeSensitivityFile(o.output, result);
}
