//===- Calibration.h - Native calibration of a compiled model ---*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs the calibration build of a model (a library whose outputs after the
// model's own are its lattice.observe probes) inside lattice-compile on the
// samples of an .npz file, accumulates the statistics of every probe, and
// writes them as a statistics file (docs/Calibration.md).
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_TOOLS_LATTICE_COMPILE_CALIBRATION_H
#define LATTICE_TOOLS_LATTICE_COMPILE_CALIBRATION_H

#include "lattice/Support/Npz.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::lattice::compile {
struct CalibrationOptions {
  /// The calibration build: its shared library and weights file.
  llvm::StringRef library, weights;
  /// Outputs of the library before the first probe (the model's own).
  unsigned firstProbe = 0;
  /// The samples (an .npz archive, see openSamples), or null for
  /// `generatedSamples` generated ones (standard normal floats, integers
  /// uniform in [0, 64)).
  const NpzFile *samples = nullptr;
  unsigned generatedSamples = 8;
  /// Histogram bins of |x| per probe (0: no histograms).
  unsigned bins = 2048;
  /// Also x x^T of every `:input` probe (the Hessians of GPTQ, and
  /// SmoothQuant's alpha search).
  bool xtx = false;
  /// The statistics file to write.
  llvm::StringRef output;
  /// Filled with what makes the samples of `samples` degenerate for
  /// calibration (checkSamples), one sentence each.
  std::vector<std::string> *warnings = nullptr;
};

/// The statistics of QEP for some layers: the partly quantized model's
/// build and the float model's, run on the same samples.
struct CrossMomentOptions {
  /// The build of the partly quantized model and its weights; its outputs
  /// from `firstProbe` on are probes.
  llvm::StringRef library, weights;
  unsigned firstProbe = 0;
  /// The float model's build (the same probes, by name) and its weights.
  llvm::StringRef reference, referenceWeights;
  /// The probes to gather: x x^T and x_ref x^T of each.
  std::vector<std::string> probes;
  const NpzFile *samples = nullptr;
  unsigned generatedSamples = 8;
  llvm::StringRef output;
};

/// A layer whose candidate schemes are measured: its name, the name of its
/// [N, K] f32 weight in the build's weights file (stored plain, row-major).
struct SensitivityLayer {
  std::string name, weight;
  int64_t n = 0, k = 0;
};

/// Mixed precision's measurements: the float model's build, run on the
/// samples with one layer's weight at a time replaced by its rounding to
/// one candidate scheme (min-max per block, as lattice-quantize rounds).
struct SensitivityOptions {
  /// The float build (weights in their plain layout) and its weights.
  llvm::StringRef library, weights;
  const NpzFile *samples = nullptr;
  unsigned generatedSamples = 8;
  /// The first samples used, at most.
  unsigned maxSamples = 32;
  std::vector<SensitivityLayer> layers;
  std::vector<std::string> candidates;
  /// The model-level error: "kl" or "nsr" (measureSensitivity).
  std::string metric = "kl";
  /// The sensitivity file to write.
  llvm::StringRef output;
};

/// Measures, for each layer and candidate, the model's output error when
/// only that layer takes that candidate, and writes the sensitivity file
/// (docs/MixedPrecision.md). The error ("kl") is the mean over the rows of
/// every output (its last axis, as logits) and sample of the
/// Kullback-Leibler divergence of the rows' softmax from the float model's,
/// or ("nsr") sum (y - y_float)^2 over sum y_float^2.
llvm::Error measureSensitivity(const SensitivityOptions &options);

/// A compiled library against the float model, on the calibration
/// samples.
struct OutputCheckOptions {
  /// A float build of the model (its outputs named as the model's; probes
  /// after them are left out) and its weights.
  std::string reference, referenceWeights;
  /// The compiled library and its weights file (any path when the weights
  /// are embedded), and how many of its first outputs are the model's
  /// (probes follow them).
  std::string library, weights;
  unsigned outputs = 0;
  /// The samples (an .npz archive), or null for `generatedSamples`
  /// generated ones, as CalibrationOptions.
  const NpzFile *samples = nullptr;
  unsigned generatedSamples = 8;
  /// The first samples used, at most.
  unsigned maxSamples = 8;
};

/// The signal-to-noise ratio of one float output of the library against
/// the float model's, over all the samples: 10 log10(sum y_float^2 /
/// sum (y - y_float)^2), infinite where they are equal.
struct OutputQuality {
  std::string name;
  double sqnrDb = 0;
};

/// Runs both builds of OutputCheckOptions on the samples and measures each
/// float model output of the library that the float build has too (by
/// name) and whose float values are not all zero; `samplesUsed` says on how
/// many samples. Fails when a build does not load or run, or the samples do
/// not fit the library's inputs.
llvm::Expected<std::vector<OutputQuality>>
compareOutputs(const OutputCheckOptions &options, int64_t &samplesUsed);

/// Opens the .npz archive of calibration samples at `path`.
llvm::Expected<std::unique_ptr<NpzFile>> openSamples(llvm::StringRef path);

/// Runs the calibration; every failure (a sample that does not fit an
/// input, a library that does not load or run) is an error that says why.
llvm::Error calibrate(const CalibrationOptions &options);

/// Gathers QEP's statistics (docs/Calibration.md): per probe the min, max,
/// absmax and absmean of x, x x^T and x_ref x^T, x from the partly
/// quantized model, x_ref from the float model on the same sample.
llvm::Error calibrateCrossMoments(const CrossMomentOptions &options);
} // namespace mlir::lattice::compile

#endif // LATTICE_TOOLS_LATTICE_COMPILE_CALIBRATION_H
