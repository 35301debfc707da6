//===- LatticeDialect.cpp - Lattice dialect registration ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Registers the types, attributes and operations of the `lattice` dialect.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lattice;

#include "lattice/Dialect/Lattice/IR/LatticeOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeAttrs.cpp.inc"

void LatticeDialect::initialize() {
  weightBlobs = std::make_unique<WeightBlobs>();
  registerTypes();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lattice/Dialect/Lattice/IR/LatticeAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lattice/Dialect/Lattice/IR/LatticeOps.cpp.inc"
      >();
}
