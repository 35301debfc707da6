//===- FakeModel.h - A model description for the runtime's ABI tests ------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What a library from lattice-compile exports, written by hand: one input,
// three weights of different dtypes, one output and a workspace. Its entry
// point reads every byte of every weight and of the input and writes the
// workspace, so that a weight bound to memory outside its file, or a
// workspace of the wrong size, is an AddressSanitizer report when the model
// runs. Used by the C ABI tests and by the loader's fuzzer.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_UNITTESTS_RUNTIME_FAKEMODEL_H
#define LATTICE_UNITTESTS_RUNTIME_FAKEMODEL_H

#include "lattice_runtime.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace lattice_test {
inline const lattice_tensor_info kFakeInputs[] = {
    {"x", LATTICE_F32, 1, {4}, 16}};
inline const lattice_tensor_info kFakeWeights[] = {
    {"w", LATTICE_F32, 2, {2, 4}, 32},
    {"codes", LATTICE_U8, 1, {3}, 3},
    {"scale", LATTICE_F16, 1, {2}, 4}};
inline const lattice_tensor_info kFakeOutputs[] = {
    {"y", LATTICE_F32, 1, {1}, 4}};
inline constexpr uint64_t kFakeWorkspaceBytes = 40;

/// y = the sum of x, of w, and of the bytes of codes and scale.
inline void fakeEntry(void **args) {
  const auto *x = static_cast<const float *>(args[0]);
  const auto *w = static_cast<const float *>(args[1]);
  const auto *codes = static_cast<const uint8_t *>(args[2]);
  const auto *scale = static_cast<const uint8_t *>(args[3]);
  auto *y = static_cast<float *>(args[4]);
  auto *workspace = static_cast<uint8_t *>(args[5]);
  float sum = 0;
  for (int i = 0; i < 4; ++i)
    sum += x[i];
  for (int i = 0; i < 8; ++i)
    sum += w[i];
  for (int i = 0; i < 3; ++i)
    sum += codes[i];
  for (int i = 0; i < 4; ++i)
    sum += scale[i];
  std::memset(workspace, 0xff, kFakeWorkspaceBytes);
  *y = sum;
}

inline lattice_model_info makeFakeInfo() {
  lattice_model_info info{};
  info.abi_version = LATTICE_ABI_VERSION;
  info.name = "fake";
  info.num_inputs = 1;
  info.num_outputs = 1;
  info.num_weights = 3;
  info.inputs = kFakeInputs;
  info.outputs = kFakeOutputs;
  info.weights = kFakeWeights;
  info.entry = fakeEntry;
  info.device = LATTICE_DEVICE_CPU;
  info.workspace_bytes = kFakeWorkspaceBytes;
  return info;
}

/// A safetensors file: the 8-byte size of `header`, `header`, `payload`.
inline std::string makeSafetensors(const std::string &header,
                                   const std::string &payload) {
  std::string file(8, '\0');
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i)
    file[i] = char((size >> (8 * i)) & 0xff);
  return file + header + payload;
}
} // namespace lattice_test

#endif // LATTICE_UNITTESTS_RUNTIME_FAKEMODEL_H
