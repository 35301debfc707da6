//===- Ukernels.h - What the CPU microkernels cover -------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Shared by lattice-cpu-use-ukernels and the driver, which stores the weights
// of covered matmuls in the microkernel's layout.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_UKERNELS_H
#define LATTICE_CODEGEN_UKERNELS_H

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"

namespace mlir::lattice {
/// True when lattice-cpu-use-ukernels, for a target with `vectorBits`-bit
/// vectors, turns `op` into a call of the W4A16 GEMV microkernel: f32
/// [M, K] activations (M <= 16), s4 or u4 weights in groups of a multiple of
/// 32 along K with f16 or f32 scales, f32 result, AVX-512.
bool isQ4UkernelCandidate(MatmulOp op, unsigned vectorBits);

/// True when lattice-cpu-use-ukernels turns `op` into a call of any
/// microkernel (the GEMV above, or a packed GEMM): never when its weight is
/// an argument stored in another layout than getUkernelWeightLayout's.
bool isUkernelCandidate(MatmulOp op, unsigned vectorBits);

/// The function-argument attribute naming the layout of a weight argument
/// whose bytes are not in the linear packed layout.
inline constexpr llvm::StringLiteral kWeightLayoutAttrName = "lattice.layout";
/// Its value for 4-bit codes with rows interleaved by four in 16-byte chunks
/// (docs/WeightLayout.md).
inline constexpr llvm::StringLiteral kQ4Rows4Layout = "q4-rows4";
/// Its value for f32 and s8 weights [N, K] stored in the panels of the GEMM
/// microkernels (runtime/lattice_pack.h).
inline constexpr llvm::StringLiteral kF32PanelsLayout = "f32-panels32";
inline constexpr llvm::StringLiteral kS8PanelsLayout = "s8-panels32";
/// Its value for the f32 weights [M, C * 9] of 3 x 3 convolutions that the
/// kernel computes with Winograd's F(2 x 2, 3 x 3): the transformed weights
/// (lattice_pack_winograd_f32).
inline constexpr llvm::StringLiteral kF32WinogradLayout = "f32-winograd2x2";

/// The layout in which lattice-cpu-use-ukernels wants the weight (rhs) of
/// `op` when it is a function argument: one of the above, or "" for the
/// linear layout.
llvm::StringRef getUkernelWeightLayout(MatmulOp op, unsigned vectorBits);

/// The convolution kernels whose calls take an output epilogue (bias,
/// epilogue, params, residual; see runtime/lattice_ukernels.h), and where
/// it starts in their arguments: lattice-cpu-use-ukernels passes none, and
/// lattice-cpu-fuse-ukernel-epilogues folds the op after the call into it.
inline constexpr llvm::StringLiteral kConvF32Kernel = "lattice_uk_conv2d_f32";
inline constexpr llvm::StringLiteral kWindowF32Kernel =
    "lattice_uk_window2d_f32";
inline constexpr unsigned kConvF32EpilogueArg = 16;
inline constexpr unsigned kWindowF32EpilogueArg = 18;
/// The argument of the output's address in both calls.
inline constexpr unsigned kUkernelResultArg = 2;
/// The attribute on the to_buffer ops through which microkernel calls read
/// their tensor operands: a number, unique in the module.
inline constexpr llvm::StringLiteral kUkernelOperandAttrName =
    "lattice.ukernel_operand";
} // namespace mlir::lattice

#endif // LATTICE_CODEGEN_UKERNELS_H
