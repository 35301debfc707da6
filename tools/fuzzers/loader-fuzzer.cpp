//===- loader-fuzzer.cpp - Fuzz the runtime's weights loader --------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Gives the input to lattice_model_load_memory as the weights file of a
// hand-written model (unittests/Runtime/FakeModel.h: three weights of
// different dtypes), as a compiled library's loader would get a damaged or
// hostile file. A rejection must set a message; a file that loads must bind
// every weight to bytes inside the input (or an aligned copy of them): the
// model then runs, and its entry point reads every weight byte, which ASan
// checks.
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace lattice_test;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A copy of exactly `size` bytes, so that a read past it is a report
  // (libFuzzer's own buffer is exact too, but the copy is also aligned, so
  // that tensors at aligned offsets are bound in place).
  std::vector<uint8_t> bytes(data, data + size);
  lattice_model_info info = makeFakeInfo();
  lattice_model *model = nullptr;
  lattice_status status =
      lattice_model_load_memory(&info, bytes.data(), bytes.size(), &model);
  if (status != LATTICE_OK) {
    if (model != nullptr || lattice_last_error()[0] == '\0')
      abort();
    return 0;
  }
  float input[4] = {1, 2, 3, 4}, output = 0;
  const void *inputs[] = {input};
  void *outputs[] = {&output};
  if (lattice_model_run(model, inputs, outputs) != LATTICE_OK)
    abort();
  lattice_model_free(model);
  return 0;
}
