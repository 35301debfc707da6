//===- KernelLevels.h - Helpers of the microkernel tests --------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H
#define LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H

#include "lattice_threads.h"
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

/// A configuration of the kernels: a vector level, and the thread count
/// of the calling thread's parallel loops (lattice_set_call_threads), by
/// which the kernels split their work.
struct KernelConfig {
  std::string level;
  int threads;

  std::string name() const {
    return level + ", " + std::to_string(threads) + " thread(s)";
  }
  /// Makes this the configuration of the calling thread; false when the
  /// CPU lacks the level.
  bool select() const {
    lattice_set_call_threads(threads);
    return lattice_uk_select_level(level.c_str()) == 0;
  }
};

/// Every level this CPU can run, on 2 threads and then on 1 (the calling
/// thread is left with 1, the default).
inline std::vector<KernelConfig> kernelConfigs() {
  std::vector<KernelConfig> configs;
  for (const std::string &level : availableLevels())
    for (int threads : {2, 1})
      configs.push_back({level, threads});
  return configs;
}

/// A pointer as the kernels take it.
inline int64_t addr(const void *p) {
  return static_cast<int64_t>(uintptr_t(p));
}
} // namespace lattice::test

#endif // LATTICE_UNITTESTS_RUNTIME_KERNELLEVELS_H
