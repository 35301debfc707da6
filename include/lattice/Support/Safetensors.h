//===- Safetensors.h - Reading safetensors files ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A validating reader of safetensors files (an 8-byte little-endian header
// size, a JSON header, then the tensor bytes), for weights and calibration
// statistics. Depends on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_SUPPORT_SAFETENSORS_H
#define LATTICE_SUPPORT_SAFETENSORS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::lattice {
/// One tensor of a safetensors file, pointing into the mapped file.
struct SafetensorsEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  llvm::ArrayRef<uint8_t> data;
};

/// A safetensors file, mapped and validated: every entry lies inside the
/// file and has as many bytes as its dtype and shape say.
class SafetensorsFile {
public:
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(llvm::StringRef path);

  const SafetensorsEntry *lookup(llvm::StringRef name) const;
  /// The string value of `key` in the header's `__metadata__`, if any.
  std::optional<llvm::StringRef> getMetadata(llvm::StringRef key) const;
  llvm::StringRef getPath() const { return path; }

private:
  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<SafetensorsEntry> entries;
  llvm::StringMap<std::string> metadata;
};
} // namespace mlir::lattice

#endif // LATTICE_SUPPORT_SAFETENSORS_H
