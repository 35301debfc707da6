//===- Npz.h - Reading numpy .npz archives ----------------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A validating reader of the .npz archives that numpy.savez and
// numpy.savez_compressed write (a zip file of .npy arrays), for calibration
// data. Stored arrays are read in place from the mapped file; compressed
// ones are inflated when opened. Depends on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_SUPPORT_NPZ_H
#define LATTICE_SUPPORT_NPZ_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::lattice {
/// The element types of .npy arrays: numbers, booleans, and anything else
/// (strings, objects), which readers reject by name.
enum class NpyKind { Float, Signed, Unsigned, Bool, Other };

/// One array of an archive: a C-order array of `shape` whose elements are
/// `itemSize`-byte little-endian numbers of `kind`.
struct NpyArray {
  std::string name;
  /// The array's numpy dtype as the file spells it ("<f4", "|u1", ...).
  std::string descr;
  NpyKind kind = NpyKind::Float;
  unsigned itemSize = 0;
  std::vector<int64_t> shape;
  llvm::ArrayRef<uint8_t> data;

  int64_t getNumElements() const;
  /// Element `index` as a double (exact for every integer below 2^53).
  double getAsDouble(int64_t index) const;
};

/// An .npz archive, mapped and validated: every member is a C-order .npy
/// array whose data lies inside the archive (and, for numbers and
/// booleans, has as many bytes as its shape says).
class NpzFile {
public:
  static llvm::Expected<std::unique_ptr<NpzFile>> open(llvm::StringRef path);
  /// Validates the archive held in `buffer`; `path` names it in errors.
  static llvm::Expected<std::unique_ptr<NpzFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef path);

  /// The arrays, in the archive's order, named without the ".npy" suffix.
  llvm::ArrayRef<NpyArray> getArrays() const { return arrays; }
  const NpyArray *lookup(llvm::StringRef name) const;

private:
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  /// Inflated members of a compressed archive.
  std::vector<std::vector<uint8_t>> inflated;
  std::vector<NpyArray> arrays;
};
} // namespace mlir::lattice

#endif // LATTICE_SUPPORT_NPZ_H
