//===- ModelInterface.h - The C API of a compiled model ---------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What the C API of a compiled model says (its inputs, outputs and weights,
// docs/Runtime.md), read from the entry function after
// lattice-externalize-weights, and the typed header and C glue that
// lattice-compile writes beside the object code.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_MODELINTERFACE_H
#define LATTICE_CODEGEN_MODELINTERFACE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::lattice {
/// One input, output or weight of a compiled model (lattice_tensor_info).
struct ModelTensor {
  /// The name in the model description.
  std::string name;
  /// The parameter name in the typed C wrapper (inputs and outputs).
  std::string identifier;
  /// The lattice_dtype enumerator suffix: F32, F16, BF16, I8, I32, U8.
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t numBytes = 0;
};

/// The C API of a compiled model.
struct ModelInterface {
  /// The prefix of its C functions (a C identifier).
  std::string name;
  std::vector<ModelTensor> inputs, weights, outputs;
  /// The workspace that the runtime allocates for the temporaries.
  uint64_t workspaceBytes = 0;
  bool cuda = false;
  /// The weights file to embed in the library, or empty.
  std::string embeddedWeights;

  /// The symbol of the compiled entry function: `<name>_forward`.
  std::string getEntrySymbol() const { return name + "_forward"; }
};

/// Describes `entry`, after lattice-externalize-weights, as the model
/// `name`: its inputs and outputs (named by their `lattice.name` attribute,
/// else input<i> and output<i>), then its weights (the trailing arguments
/// with `lattice.stored_weight`), and removes those attributes, which LLVM
/// has no use for. Fails with a diagnostic on a tensor that the C ABI
/// cannot pass (not statically shaped, rank above 8, another element type).
FailureOr<ModelInterface> describeModel(func::FuncOp entry,
                                        llvm::StringRef name);

/// Checks that the C ABI can pass every input and output of `entry` (as
/// describeModel does), before any work is spent on its weights.
LogicalResult verifyModelSignature(func::FuncOp entry);

/// Writes the typed header: `<name>_load`, `<name>_run` and `<name>_free`.
void writeModelHeader(llvm::raw_ostream &os, const ModelInterface &model);

/// Writes the C glue: the model description that the runtime checks, the
/// trampoline to the entry function, the typed wrappers, and the embedded
/// weights when there are any. `headerName` is the header to include.
void writeModelGlue(llvm::raw_ostream &os, const ModelInterface &model,
                    llvm::StringRef headerName);
} // namespace mlir::lattice

#endif // LATTICE_CODEGEN_MODELINTERFACE_H
