//===- parser-fuzzer.cpp - Fuzz the parser, verifiers and passes ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A libFuzzer entry point in the style of upstream's mlir-parser-fuzzer: it
// parses the input as MLIR text with every dialect lattice-opt registers,
// discarding diagnostics (an error is not a crash). When the input parses and
// verifies, it also runs canonicalization, lattice-report-storage and
// convert-lattice-to-linalg and prints the result, since passes must not crash
// on verifier-valid IR.
//
//===----------------------------------------------------------------------===//

#include "lattice/Conversion/Passes.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/InitAll.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"
#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const DialectRegistry *registry = [] {
    auto *result = new DialectRegistry();
    lattice::registerLatticeDialects(*result);
    return result;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler discard(&context,
                                  [](Diagnostic &) { return success(); });

  // MLIR's lexer reads the byte after the buffer as its terminator, so the
  // input is copied into a NUL-terminated string (tools read files the same
  // way).
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module)
    return 0;

  PassManager pm(&context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(lattice::createLatticeReportStoragePass());
  pm.addPass(lattice::createConvertLatticeToLinalgPass());
  (void)pm.run(*module);

  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  return 0;
}
