//===- Passes.h - Lattice conversion passes ---------------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declarations of the conversion passes out of the `lattice` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CONVERSION_PASSES_H
#define LATTICE_CONVERSION_PASSES_H

#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "mlir/Pass/Pass.h"

namespace mlir::lattice {
#define GEN_PASS_REGISTRATION
#include "lattice/Conversion/Passes.h.inc"
} // namespace mlir::lattice

#endif // LATTICE_CONVERSION_PASSES_H
