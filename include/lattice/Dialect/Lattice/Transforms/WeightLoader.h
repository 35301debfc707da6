//===- WeightLoader.h - Load external weights as constants ------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Replaces `lattice.weight` ops with constants holding their values, as
// lattice-load-weights does for every float weight; passes that rewrite a
// few weights of a model not loaded yet load those with it.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_WEIGHTLOADER_H
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_WEIGHTLOADER_H

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "llvm/ADT/StringMap.h"
#include <memory>
#include <string>

namespace mlir::lattice {
class SafetensorsFile;

/// Loads float weights from their safetensors files (relative to `dir`),
/// keeping each file open for the weights that follow.
class WeightLoader {
public:
  explicit WeightLoader(StringRef dir) : dir(dir.str()) {}

  /// Replaces `op` with an arith.constant of its values (a blob over the
  /// mapped file when large, see LatticeLoadWeightsPass) located at the
  /// weight's name, and returns it; emits an error naming the weight and
  /// fails when the file or tensor is missing or does not match.
  FailureOr<Value> load(WeightOp op);

private:
  std::string dir;
  llvm::StringMap<std::shared_ptr<SafetensorsFile>> files;
};
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_WEIGHTLOADER_H
