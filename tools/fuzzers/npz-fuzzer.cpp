//===- npz-fuzzer.cpp - Fuzz the .npz reader of calibration data ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Reads the input as an .npz archive of calibration data (zip directory,
// stored and deflated members, .npy headers). Rejections are fine; an
// archive that the reader accepts must keep its promise: every number or
// boolean array holds as many bytes as its shape says, inside the input or
// the inflated member, and each element reads as a double.
//
//===----------------------------------------------------------------------===//

#include "FuzzerInput.h"
#include "lattice/Support/Npz.h"
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace mlir::lattice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<NpzFile> file =
      lattice_fuzz::readInput(&NpzFile::parse, data, size);
  if (!file)
    return 0;
  volatile double sink = 0;
  for (const NpyArray &array : file->getArrays()) {
    if (file->lookup(array.name) == nullptr)
      abort();
    if (array.kind == NpyKind::Other)
      continue;
    int64_t count = array.getNumElements();
    if (count < 0 || uint64_t(count) * array.itemSize != array.data.size())
      abort();
    for (int64_t i = 0; i < count; ++i)
      sink = sink + array.getAsDouble(i);
  }
  return 0;
}
