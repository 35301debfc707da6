//===- LatticeEnums.h - Enums of the Lattice dialect ------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The storage kind, granularity and rounding mode enums. Depends on LLVM
// Support (and the header-only mlir/Support/LLVM.h), so that the
// quantization math can use them without linking MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICEENUMS_H
#define LATTICE_DIALECT_LATTICE_IR_LATTICEENUMS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMapInfo.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <optional>

#include "lattice/Dialect/Lattice/IR/LatticeEnums.h.inc"

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICEENUMS_H
