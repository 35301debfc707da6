//===- ChannelSmoothing.h - Per-input-channel weight rescaling --*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The rewrite that SmoothQuant and AWQ share: X W^T = (X diag(s)^-1)
// (W diag(s))^T for one factor s_j per input channel, with diag(s)^-1
// folded into the producer of X where it can be. The passes differ in how
// they choose s.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_CHANNELSMOOTHING_H
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_CHANNELSMOOTHING_H

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Support/Statistics.h"
#include "llvm/ADT/SetVector.h"
#include <string>
#include <vector>

namespace mlir::lattice {
/// One constant weight of a smoothing group and the matmuls that use it
/// (several in an unrolled recurrence).
struct SmoothingLayer {
  SmallVector<MatmulOp, 1> ops;
  std::string name;
  /// Row-major [N, K]; read by readWeights, freed by applySmoothing.
  std::vector<float> weight;
  int64_t n = 0;
  TypedValue<RankedTensorType> rhs;

  MatmulOp front() const { return ops.front(); }
};

/// Matmuls that must share their factors: those with a common input (Q, K
/// and V) and those with a common weight, transitively.
struct SmoothingGroup {
  SmallVector<SmoothingLayer> layers;
  llvm::SetVector<Value> inputs;

  /// K, from the static weights (the input's last dimension may be
  /// dynamic).
  int64_t getK() const { return layers.front().rhs.getType().getDimSize(1); }
  /// Reads every layer's weight; false (after an error on the layer) when
  /// one cannot be read.
  LogicalResult readWeights();
};

/// The groups of float matmuls with static constant weights under `root`,
/// in program order; a matmul whose weight is not a constant gets a warning
/// that it is not `action` ("smoothed", "scaled").
SmallVector<SmoothingGroup> collectSmoothingGroups(Operation *root,
                                                   StringRef action);

/// The attribute on a matmul whose input was rescaled after calibration:
/// the per-channel factors (f32 array, K of them) by which its input is now
/// the input the statistics saw multiplied. GPTQ rescales the probe's
/// X^T X by them.
inline constexpr StringLiteral kInputRescaleAttrName = "lattice.input_rescale";

/// Rescales the statistics of `op`'s input probe (its absmax, absmean and
/// X^T X) by the factors of its `lattice.input_rescale`, if any, into those
/// of the input it has now.
void rescaleStatistics(MatmulOp op, ProbeStatistics &stats);

/// Multiplies column j of every weight of `group` by factors[j] (the
/// weights read by readWeights, and freed) and the group's inputs by
/// 1 / factors[j]: in the gain (and bias) of the `lattice.rms_norm` or
/// `lattice.layer_norm` producing an input whose only users are the group
/// (through reshapes that keep the last dimension), or in the rows of the
/// linear layer whose output is one factor of an elementwise product that
/// produces the input (SwiGLU's up projection), else by an explicit
/// `lattice.channel_scale`, with a remark that names the group's first
/// layer and calls the factors `what` ("smoothing factors", "AWQ scales").
/// Every matmul records the rescaling in `lattice.input_rescale`. Factors
/// that are all 1 change the weights only (as AWQ's clipping does).
void applySmoothing(SmoothingGroup &group, ArrayRef<double> factors,
                    StringRef what);
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_CHANNELSMOOTHING_H
