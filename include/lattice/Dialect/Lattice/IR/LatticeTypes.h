//===- LatticeTypes.h - Lattice quantized element type ----------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declares `!lattice.quant`, the quantized element type.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_H
#define LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_H

#include "lattice/Quant/QuantEnums.h"
#include "lattice/Quant/QuantMath.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeOpsTypes.h.inc"

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICETYPES_H
