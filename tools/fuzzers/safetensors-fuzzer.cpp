//===- safetensors-fuzzer.cpp - Fuzz the safetensors reader ---------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Reads the input as a safetensors file (weights files and statistics files
// alike go through this reader). A file the reader rejects is fine; one it
// accepts must keep its promise: every tensor's bytes lie inside the input
// (read here, so that ASan sees a read outside it) and are as many as its
// dtype and shape say.
//
//===----------------------------------------------------------------------===//

#include "FuzzerInput.h"
#include "lattice/Support/Safetensors.h"
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace mlir::lattice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<SafetensorsFile> file =
      lattice_fuzz::readInput(&SafetensorsFile::parse, data, size);
  if (!file)
    return 0;
  volatile uint8_t sink = 0;
  for (const std::string &name : file->getNames()) {
    const SafetensorsEntry *entry = file->lookup(name);
    if (!entry)
      abort();
    uint64_t count = 1;
    for (int64_t dim : entry->shape)
      count *= uint64_t(dim);
    if (count * uint64_t(getSafetensorsDTypeSize(entry->dtype)) !=
        entry->data.size())
      abort();
    for (uint8_t byte : entry->data)
      sink = sink ^ byte;
  }
  (void)file->getMetadata("format");
  return 0;
}
