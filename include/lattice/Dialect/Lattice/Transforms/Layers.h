//===- Layers.h - Names of layers and their calibration probes --*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// How passes name a layer, and the probes that calibration puts on it: the
// names by which statistics are written and looked up again.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_LAYERS_H
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_LAYERS_H

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Support/Statistics.h"
#include <memory>
#include <string>

namespace mlir::lattice {
/// The layer name of a matmul: the weight's name when it is a
/// lattice.weight, else the name location of the weight or of the matmul,
/// else "".
std::string getLayerName(MatmulOp op);

/// Whether `op` multiplies float activations by a float weight of static
/// shape [N, K] that is a constant or a lattice.weight: a layer whose
/// weight quantization (and mixed-precision assignment) applies to.
bool hasFloatWeight(MatmulOp op);

/// The probe on the lhs of layer `layer`: "<layer>:input".
std::string getInputProbeName(StringRef layer);

/// Opens the statistics file `path` that a pass cannot run without:
/// `fail()` starts the pass's errors ("lattice-awq: "), `what` says what the
/// file holds ("the statistics written by lattice.calibrate").
LogicalResult
openRequiredStatistics(StringRef path, StringRef what,
                       function_ref<InFlightDiagnostic()> fail,
                       std::shared_ptr<const StatisticsFile> &statistics);

/// The probe on the weight of layer `layer`: "<layer>:weight".
std::string getWeightProbeName(StringRef layer);

/// The name of the probe on the result of `layer`'s matmul.
std::string getOutputProbeName(StringRef layer);

/// The dictionary attribute of a matmul through which lattice-quantize
/// takes per-layer settings (a mixed-precision pass, a recipe file).
inline constexpr StringLiteral kQuantizeOverridesAttrName = "lattice.quantize";

/// The attribute that lattice-smoothquant puts on the matmuls it smooths:
/// the absolute maximum of the smoothed input over the calibration data
/// (max_j max|X_j| / s_j, from the statistics it read), which
/// lattice-quantize's static activation scales take instead of statistics
/// of the smoothed model.
inline constexpr StringLiteral kInputAbsMaxAttrName = "lattice.input_absmax";

/// The attribute that lattice-split-outliers puts on the matmuls it
/// rewrites: how many of their input channels it sent through a float
/// matmul (i64), which the report of lattice-quantize gives per layer.
inline constexpr StringLiteral kFloatChannelsAttrName =
    "lattice.float_channels";
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_LAYERS_H
