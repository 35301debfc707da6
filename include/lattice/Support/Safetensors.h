//===- Safetensors.h - Reading safetensors files ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A validating reader and a streaming writer of safetensors files (an 8-byte
// little-endian header size, a JSON header, then the tensor bytes), for
// weights and calibration statistics. Depends on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_SUPPORT_SAFETENSORS_H
#define LATTICE_SUPPORT_SAFETENSORS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::lattice {
/// Bytes per element of a safetensors dtype (F32, I8, ...), or 0 when
/// unknown.
int64_t getSafetensorsDTypeSize(llvm::StringRef dtype);

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
  /// Validates the file held in `buffer`; `path` names it in errors.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef path);

  const SafetensorsEntry *lookup(llvm::StringRef name) const;
  /// The names of the tensors, sorted.
  std::vector<std::string> getNames() const;
  /// The string value of `key` in the header's `__metadata__`, if any.
  std::optional<llvm::StringRef> getMetadata(llvm::StringRef key) const;
  llvm::StringRef getPath() const { return path; }
  /// The whole file, header included: an entry's bytes start at
  /// `entry.data.data() - getBytes().data()`.
  llvm::ArrayRef<uint8_t> getBytes() const {
    return {reinterpret_cast<const uint8_t *>(buffer->getBufferStart()),
            buffer->getBufferSize()};
  }
  /// Lets the system drop the pages of `entry`'s bytes from this process's
  /// memory: the mapping stays valid (the pages are read again from the
  /// file when touched), only resident memory shrinks.
  void releasePages(const SafetensorsEntry &entry) const;

private:
  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<SafetensorsEntry> entries;
  llvm::StringMap<std::string> metadata;
};

/// Writes a safetensors file one tensor at a time, holding none of them:
/// the bytes of each tensor go to a temporary file beside the output as
/// they are added, and finish() writes the header and then those bytes
/// after it. Tensors start at 64-byte aligned offsets. A writer destroyed
/// before finish() leaves no file behind.
class SafetensorsWriter {
public:
  using Metadata = llvm::ArrayRef<std::pair<std::string, std::string>>;

  /// A writer of `path`, with `metadata` as its `__metadata__`.
  static llvm::Expected<std::unique_ptr<SafetensorsWriter>>
  create(llvm::StringRef path, Metadata metadata);
  ~SafetensorsWriter();

  /// Adds the tensor `name` (a safetensors dtype, a shape, and its bytes,
  /// whose count must match them).
  llvm::Error add(llvm::StringRef name, llvm::StringRef dtype,
                  llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<uint8_t> bytes);
  /// Writes the file; nothing can be added after.
  llvm::Error finish();

private:
  SafetensorsWriter() = default;
  struct Tensor {
    std::string name, dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::string path, dataPath;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<Tensor> tensors;
  llvm::StringMap<bool> names;
  std::unique_ptr<llvm::raw_fd_ostream> data;
  uint64_t size = 0;
};
} // namespace mlir::lattice

#endif // LATTICE_SUPPORT_SAFETENSORS_H
