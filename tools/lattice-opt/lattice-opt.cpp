//===- lattice-opt.cpp - Lattice optimizer driver -------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The opt-style driver: parses MLIR with the `lattice` dialect and the
// upstream dialects our pipelines use, runs the requested passes and
// pipelines, and prints the result. All option handling is MlirOptMain's.
//
//===----------------------------------------------------------------------===//

#include "lattice/InitAll.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::lattice::registerLatticePasses();
  mlir::DialectRegistry registry;
  mlir::lattice::registerLatticeDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Lattice optimizer driver\n", registry));
}
