//===- KernelLevels.h - Helpers of the microkernel tests --------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H
#define LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H

#include "lattice_ukernels.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lattice::test {
/// The vector levels of the microkernels that this CPU can run.
inline std::vector<std::string> availableLevels() {
  std::vector<std::string> levels;
  for (const char *name : {"generic", "avx2", "avx512"})
    if (lattice_uk_select_level(name) == 0)
      levels.push_back(name);
  return levels;
}

/// A pointer as the kernels take it.
inline int64_t addr(const void *p) {
  return static_cast<int64_t>(uintptr_t(p));
}
} // namespace lattice::test

#endif // LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H
