//===- Passes.h - Lattice code generation passes ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declarations of the code generation passes: the target-neutral ones and
// those of each target. The pipelines built from them are in
// lattice/Pipelines/Pipelines.h.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_PASSES_H
#define LATTICE_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::lattice {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "lattice/Codegen/Passes.h.inc"

/// The unit attribute of the function argument that receives the workspace
/// (lattice-cpu-plan-workspace with `argument`).
inline constexpr llvm::StringLiteral kWorkspaceAttrName = "lattice.workspace";

/// The dictionary attribute of an argument that lattice-externalize-weights
/// made of a weight: the tensor in the weights file (`name`, `dtype`, a
/// safetensors dtype, and `shape`, as stored).
inline constexpr llvm::StringLiteral kStoredWeightAttrName =
    "lattice.stored_weight";

/// The function attribute that gives the size of its workspace in bytes.
inline constexpr llvm::StringLiteral kWorkspaceBytesAttrName =
    "lattice.workspace_bytes";
} // namespace mlir::lattice

#endif // LATTICE_CODEGEN_PASSES_H
