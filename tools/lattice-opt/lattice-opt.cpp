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
// pipelines, and prints the result. Option handling is MlirOptMain's; the
// driver only refuses to write its output over its input, which the parser
// is still reading from (a crash, not an error, otherwise).
//
//===----------------------------------------------------------------------===//

#include "lattice/InitAll.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/WithColor.h"

int main(int argc, char **argv) {
  mlir::lattice::registerLatticePasses();
  mlir::DialectRegistry registry;
  mlir::lattice::registerLatticeDialects(registry);
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "Lattice optimizer driver\n", registry);
  if (inputFile != "-" && outputFile != "-" &&
      llvm::sys::fs::equivalent(inputFile, outputFile)) {
    llvm::WithColor::error(llvm::errs(), "lattice-opt")
        << "the output file '" << outputFile
        << "' is the input file; write the output elsewhere\n";
    return 1;
  }
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry));
}
