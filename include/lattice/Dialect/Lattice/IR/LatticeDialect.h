//===- LatticeDialect.h - Lattice dialect -----------------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declares the `lattice` dialect and its attributes.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICEDIALECT_H
#define LATTICE_DIALECT_LATTICE_IR_LATTICEDIALECT_H

#include "lattice/Quant/QuantEnums.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Dialect.h"
#include <memory>

namespace mlir::lattice {
class WeightBlobs;
} // namespace mlir::lattice

#include "lattice/Dialect/Lattice/IR/LatticeOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeAttrs.h.inc"

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICEDIALECT_H
