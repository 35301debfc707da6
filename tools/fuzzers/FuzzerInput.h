//===- FuzzerInput.h - The fuzzers' input as a file in memory ---*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The file-format fuzzers give their input to a reader as a file held in
// memory (a copy of exactly its bytes, so that ASan sees a read past it),
// and go on only with what the reader accepts.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_TOOLS_FUZZERS_FUZZERINPUT_H
#define LATTICE_TOOLS_FUZZERS_FUZZERINPUT_H

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace lattice_fuzz {
/// What `reader` (a function of a MemoryBuffer and a name, returning an
/// Expected<std::unique_ptr<T>>) makes of the input, or null when it
/// rejects it.
template <typename Reader>
auto readInput(Reader reader, const uint8_t *data, size_t size)
    -> std::remove_reference_t<decltype(*reader(nullptr, ""))> {
  auto result = reader(llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(
                           reinterpret_cast<const char *>(data), size)),
                       "<input>");
  if (!result) {
    llvm::consumeError(result.takeError());
    return nullptr;
  }
  return std::move(*result);
}
} // namespace lattice_fuzz

#endif // LATTICE_TOOLS_FUZZERS_FUZZERINPUT_H
