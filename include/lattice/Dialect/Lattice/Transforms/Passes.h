//===- Passes.h - Lattice transformation passes -----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declarations of the passes of the `lattice` dialect, generated from
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_H
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_H

#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::lattice {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_H
