//===- GPTQ.h - Error-compensating weight quantization ----------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// GPTQ (Frantar et al., 2023): a weight [N, K] quantized one input column at
// a time, each column's rounding error spread over the columns not yet
// quantized through the inverse of the layer's input Hessian H = X^T X, so
// that the output error ||X W^T - X Q^T|| rather than the weight error is
// what is minimised.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_QUANT_GPTQ_H
#define LATTICE_QUANT_GPTQ_H

#include "lattice/Quant/QuantMath.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <vector>

namespace mlir::lattice {
/// The options of GPTQ.
struct GPTQOptions {
  /// Dampening added to H's diagonal, as a fraction of its mean diagonal.
  double damp = 0.01;
  /// Act-order: the columns go in order of decreasing H diagonal (the most
  /// active inputs first, while the most columns are left to absorb their
  /// errors). Group parameters are then static: chosen from the weight
  /// before compensation, so that groups stay in storage order.
  bool actOrder = false;
  /// Columns quantized between two updates of the columns after them (the
  /// paper's lazy batches): within a block each quantized column updates
  /// the block's later columns, then the block's errors update the rest at
  /// once. Per-group schemes round it up to whole groups, so that a group's
  /// parameters see every update before them. The codes do not depend on
  /// it (up to the rounding of the sums); the time does, a little.
  int64_t blockSize = 128;
};

/// A weight quantized by GPTQ, its blocks (scales, zero points) in the
/// storage order of the scheme (row-major codes).
struct GPTQResult {
  std::vector<int64_t> codes;
  std::vector<double> scales;
  std::vector<int64_t> zeroPoints;
  int64_t degenerateBlocks = 0;
  /// Input channels whose diagonal of H was zero (never active in the
  /// calibration data): their weights are zero in the result.
  int64_t deadChannels = 0;
  /// The dampening used: `damp`, or more when H + damp was not positive
  /// definite (each retry multiplies it by 10).
  double damp = 0;
  /// tr(D H D^T) for D = W - dequant(Q): the output error summed over the
  /// calibration rows, for rounding to nearest and for GPTQ; and tr(W H W^T),
  /// the output's energy.
  double roundingError = 0, compensatedError = 0, outputEnergy = 0;
};

/// Chooses the scale and zero point of one block of a weight from its
/// values.
using ChooseBlockParams =
    llvm::function_ref<llvm::Expected<QuantParams>(llvm::ArrayRef<float>)>;

/// Quantizes the row-major weight `w` [n, k] under `scheme` (any integer
/// scheme but binary and ternary; per-tensor, per-channel along the rows,
/// or per-group along K) with H = `xtx` [k, k] (symmetric, row-major).
/// Per-tensor and per-channel parameters are chosen from the weight before
/// compensation, a group's when its first column is reached, from its
/// compensated values (as GPTQ does), or before compensation with
/// `actOrder`. Fails when the block size is not positive, when `xtx` is not
/// symmetric
/// (to a relative 1e-5) or not finite, when H is not positive definite
/// after 8 increases of the dampening, or when `choose` fails.
llvm::Expected<GPTQResult> quantizeGPTQ(const QuantScheme &scheme,
                                        llvm::ArrayRef<float> w, int64_t n,
                                        int64_t k, llvm::ArrayRef<float> xtx,
                                        const GPTQOptions &options,
                                        ChooseBlockParams choose);

/// QEP's target (seed 002): the weight W* that a layer fed the partly
/// quantized model's input X^ needs for the float model's output, moved
/// by `alpha` in [0, 1] from W towards it:
///
///   W* = W + alpha W (C - G) (G + damp mean(diag G) I)^-1
///
/// with G = X^ ^T X^ (`xtx`) and C = X^T X^ (`cross`, X the float model's
/// input), both [k, k] row-major (W C G^-1 minimises ||X W^T - X^ W*^T||).
/// The dampening is raised as in quantizeGPTQ when G is not positive
/// definite (`damp` gets the value used). Fails on non-finite statistics.
llvm::Expected<std::vector<float>> computeQEPTarget(llvm::ArrayRef<float> w,
                                                    int64_t n, int64_t k,
                                                    llvm::ArrayRef<float> xtx,
                                                    llvm::ArrayRef<float> cross,
                                                    double alpha, double &damp);

/// For each row-major [n, k] matrix D of `matrices`, tr(D H D^T) with H =
/// `xtx` [k, k]: the squared output error, summed over the calibration
/// rows, of a weight error D on inputs whose X^T X is H.
std::vector<double>
computeOutputErrors(llvm::ArrayRef<float> xtx, int64_t n, int64_t k,
                    llvm::ArrayRef<const double *> matrices);
} // namespace mlir::lattice

#endif // LATTICE_QUANT_GPTQ_H
