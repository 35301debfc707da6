//===- ModelAbiTest.cpp - The C ABI of compiled models --------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice_model_load, lattice_model_load_memory, lattice_model_run and the
// rest of lattice_runtime.h on a hand-written model (FakeModel.h): weights
// bound in place or copied, from memory or from a file; every bad argument
// and every damaged weights file answered with its status and a message;
// calls from several threads at once. The sanitizer build runs these under
// ASan and UBSan, which turns a read outside a weights file or a leak on a
// failed load into a failure.
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace lattice_test;

namespace {
const char *kHeader =
    R"({"w":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},)"
    R"("codes":{"dtype":"U8","shape":[3],"data_offsets":[32,35]},)"
    R"("scale":{"dtype":"F16","shape":[2],"data_offsets":[35,39]},)"
    R"("__metadata__":{"format":"pt"}})";

/// w = 1..8 (36), codes = 1, 2, 3 (6), scale = f16 1.0 and 2.0, whose bytes
/// add up to 0x3c + 0x40 (124).
std::string payload() {
  std::string bytes(39, '\0');
  for (int i = 0; i < 8; ++i) {
    float value = float(i + 1);
    std::memcpy(&bytes[4 * i], &value, 4);
  }
  bytes[32] = 1;
  bytes[33] = 2;
  bytes[34] = 3;
  bytes[36] = 0x3c;
  bytes[38] = 0x40;
  return bytes;
}
constexpr float kExpected = 4 + 36 + 6 + 124;

/// `header` padded with spaces so that the payload starts 64-byte aligned
/// in a 64-byte aligned buffer.
std::string alignedFile(std::string header, const std::string &data) {
  header.append((64 - (8 + header.size()) % 64) % 64, ' ');
  return makeSafetensors(header, data);
}

/// A 64-byte aligned copy of `bytes`.
struct AlignedBuffer {
  explicit AlignedBuffer(const std::string &bytes)
      : size(bytes.size()), data(static_cast<char *>(std::aligned_alloc(
                                64, (size + 63) / 64 * 64))) {
    std::memcpy(data, bytes.data(), size);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  size_t size;
  char *data;
};

float run(const lattice_model *model, float x = 1.0f) {
  float input[4] = {x, x, x, x}, output = -1;
  const void *inputs[] = {input};
  void *outputs[] = {&output};
  EXPECT_EQ(lattice_model_run(model, inputs, outputs), LATTICE_OK)
      << lattice_last_error();
  return output;
}

/// Loads `file` from memory; the status, and the message on failure.
lattice_status loadMemory(const std::string &file, std::string &message) {
  lattice_model_info info = makeFakeInfo();
  lattice_model *model = nullptr;
  lattice_status status =
      lattice_model_load_memory(&info, file.data(), file.size(), &model);
  message = status == LATTICE_OK ? "" : lattice_last_error();
  EXPECT_EQ(model == nullptr, status != LATTICE_OK);
  lattice_model_free(model);
  return status;
}

TEST(ModelAbi, RunsWeightsInPlaceAndCopied) {
  AlignedBuffer buffer(alignedFile(kHeader, payload()));
  lattice_model_info info = makeFakeInfo();
  lattice_model *model = nullptr;
  ASSERT_EQ(lattice_model_load_memory(&info, buffer.data, buffer.size, &model),
            LATTICE_OK)
      << lattice_last_error();
  EXPECT_EQ(lattice_model_get_info(model), &info);
  EXPECT_EQ(run(model), kExpected);
  EXPECT_EQ(run(model, 2.0f), kExpected + 4);
  // `w` is 64-byte aligned and used in place; `codes` (at offset 32) was
  // copied when the model loaded.
  size_t payloadStart = buffer.size - 39;
  float ten = 10.0f;
  std::memcpy(buffer.data + payloadStart, &ten, 4);
  buffer.data[payloadStart + 32] = 100;
  EXPECT_EQ(run(model), kExpected + 9);
  lattice_model_free(model);
}

TEST(ModelAbi, LoadsFromAFile) {
  char path[] = "/tmp/lattice-abi-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string file = makeSafetensors(kHeader, payload());
  ASSERT_EQ(write(fd, file.data(), file.size()), ssize_t(file.size()));
  close(fd);
  lattice_model_info info = makeFakeInfo();
  lattice_model *model = nullptr;
  ASSERT_EQ(lattice_model_load(&info, path, &model), LATTICE_OK)
      << lattice_last_error();
  EXPECT_EQ(run(model), kExpected);
  lattice_model_free(model);

  // The file is mapped: truncating it before loading is a format error, not
  // a read past the mapping.
  ASSERT_EQ(truncate(path, off_t(file.size() - 1)), 0);
  EXPECT_EQ(lattice_model_load(&info, path, &model), LATTICE_ERROR_FORMAT);
  EXPECT_EQ(model, nullptr);
  unlink(path);

  EXPECT_EQ(lattice_model_load(&info, path, &model), LATTICE_ERROR_IO);
  EXPECT_NE(std::string(lattice_last_error()).find(path), std::string::npos);
  EXPECT_EQ(lattice_model_load(&info, "/tmp", &model), LATTICE_ERROR_IO);
  EXPECT_STREQ(lattice_last_error(), "/tmp: not a regular file");
  EXPECT_EQ(lattice_model_load(&info, nullptr, &model), LATTICE_ERROR_ARGUMENT);
  EXPECT_STREQ(lattice_last_error(),
               "the model has weights: a weights file is required");
}

TEST(ModelAbi, NullArguments) {
  lattice_model_info info = makeFakeInfo();
  std::string file = makeSafetensors(kHeader, payload());
  lattice_model *model = nullptr;
  EXPECT_EQ(lattice_model_load(nullptr, "weights", &model),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_load(&info, "weights", nullptr),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(
      lattice_model_load_memory(nullptr, file.data(), file.size(), &model),
      LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_load_memory(&info, nullptr, 16, &model),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), nullptr),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_STREQ(lattice_last_error(),
               "lattice_model_load_memory: NULL argument");

  ASSERT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), &model),
            LATTICE_OK);
  float input[4] = {}, output = 0;
  const void *inputs[] = {input};
  void *outputs[] = {&output};
  const void *noInput[] = {nullptr};
  void *noOutput[] = {nullptr};
  EXPECT_EQ(lattice_model_run(nullptr, inputs, outputs),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_run(model, nullptr, outputs), LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_run(model, inputs, nullptr), LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_run(model, noInput, outputs), LATTICE_ERROR_ARGUMENT);
  EXPECT_STREQ(lattice_last_error(), "input 'x' is NULL");
  EXPECT_EQ(lattice_model_run(model, inputs, noOutput), LATTICE_ERROR_ARGUMENT);
  EXPECT_STREQ(lattice_last_error(), "output 'y' is NULL");
  EXPECT_EQ(lattice_model_run_device(model, noInput, outputs),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(output, 0.0f);

  EXPECT_EQ(lattice_model_set_threads(nullptr, 2), LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_set_threads(model, 0), LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_set_threads(model, -3), LATTICE_ERROR_ARGUMENT);
  EXPECT_EQ(lattice_model_set_threads(model, 2), LATTICE_OK);
  EXPECT_EQ(lattice_model_get_threads(model), 2);
  EXPECT_EQ(lattice_model_get_threads(nullptr), 0);
  EXPECT_EQ(lattice_model_get_info(nullptr), nullptr);
  lattice_model_free(model);
  lattice_model_free(nullptr);
}

TEST(ModelAbi, ModelDescriptions) {
  std::string file = makeSafetensors(kHeader, payload());
  lattice_model *model = nullptr;
  lattice_model_info info = makeFakeInfo();
  info.abi_version = LATTICE_ABI_VERSION + 1;
  EXPECT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), &model),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_NE(std::string(lattice_last_error()).find("ABI version"),
            std::string::npos);
  info = makeFakeInfo();
  info.device = 7;
  EXPECT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), &model),
            LATTICE_ERROR_ARGUMENT);
  EXPECT_STREQ(lattice_last_error(), "unknown device 7");
  EXPECT_EQ(model, nullptr);
}

TEST(ModelAbi, DamagedWeightsFiles) {
  struct Case {
    std::string file;
    lattice_status status;
    const char *message;
  };
  std::string data = payload();
  std::string tooLarge = makeSafetensors(kHeader, data);
  tooLarge[5] = 1; // a header size of 2^40 and more
  const Case cases[] = {
      {"", LATTICE_ERROR_FORMAT, "<memory>: too short for a safetensors file"},
      {"\x10\0\0\0\0\0\0", LATTICE_ERROR_FORMAT,
       "<memory>: too short for a safetensors file"},
      {tooLarge, LATTICE_ERROR_FORMAT, "does not fit in the file"},
      {makeSafetensors("[]", data), LATTICE_ERROR_FORMAT,
       "<memory>: header: malformed JSON"},
      {makeSafetensors(R"({"w":)", data), LATTICE_ERROR_FORMAT, "malformed"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[2,4],)"
                       R"("data_offsets":[0,32]}})",
                       data),
       LATTICE_ERROR_MISMATCH, "<memory>: weight 'codes' is missing"},
      {makeSafetensors(R"({"w":{"dtype":"F16","shape":[2,4],)"
                       R"("data_offsets":[0,16]}})",
                       data),
       LATTICE_ERROR_MISMATCH,
       "<memory>: tensor 'w' is F16, the model expects F32"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[4,2],)"
                       R"("data_offsets":[0,32]}})",
                       data),
       LATTICE_ERROR_MISMATCH, "has another shape than the model expects"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[2,4],)"
                       R"("data_offsets":[8,40]}})",
                       data),
       LATTICE_ERROR_FORMAT,
       "<memory>: tensor 'w': data_offsets [8, 40] do not hold 32 bytes "
       "inside the file"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[2,4],)"
                       R"("data_offsets":[18446744073709551615,31]}})",
                       data),
       LATTICE_ERROR_FORMAT, "do not hold 32 bytes"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[2,4]}})", data),
       LATTICE_ERROR_FORMAT, "lacks dtype, shape or data_offsets"},
      {makeSafetensors(R"({"w":{"dtype":"F32","shape":[2,4],)"
                       R"("data_offsets":[0,32]},"w":{"dtype":"F32",)"
                       R"("shape":[2,4],"data_offsets":[0,32]}})",
                       data),
       LATTICE_ERROR_FORMAT, "<memory>: tensor 'w' appears twice"},
      {makeSafetensors(R"({"w":{"shape":[1,1,1,1,1,1,1,1,1]}})", data),
       LATTICE_ERROR_FORMAT, "tensor rank above 8"},
      {makeSafetensors(
           R"({"w":{"dtype":"F32","shape":[99999999999999999999]}})", data),
       LATTICE_ERROR_FORMAT, "integer overflow"},
      {makeSafetensors(R"({"x":[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]})",
                       data),
       LATTICE_ERROR_FORMAT, "JSON nested too deeply"},
      {makeSafetensors("{\"w\\u0041\":1}", data), LATTICE_ERROR_FORMAT,
       "unsupported escape in a JSON string"},
      {makeSafetensors("{\"" + std::string(2000, 'a') + "\":1}", data),
       LATTICE_ERROR_FORMAT, "JSON string too long"},
  };
  for (const Case &c : cases) {
    std::string message;
    EXPECT_EQ(loadMemory(c.file, message), c.status) << message;
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "got: " << message << "\nexpected: " << c.message;
  }
}

TEST(ModelAbi, ConcurrentCalls) {
  std::string file = makeSafetensors(kHeader, payload());
  lattice_model_info info = makeFakeInfo();
  lattice_model *model = nullptr;
  ASSERT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), &model),
            LATTICE_OK);
  // Calls that find the workspace taken allocate their own.
  std::vector<std::thread> threads;
  std::vector<float> results(4 * 50);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        float input[4] = {float(t), float(t), float(t), float(t)}, output = 0;
        const void *inputs[] = {input};
        void *outputs[] = {&output};
        if (lattice_model_run(model, inputs, outputs) == LATTICE_OK)
          results[t * 50 + i] = output;
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 50; ++i)
      EXPECT_EQ(results[t * 50 + i], kExpected - 4 + 4 * t);
  lattice_model_free(model);
}

TEST(ModelAbi, ThreadCountFromTheEnvironment) {
  std::string file = makeSafetensors(kHeader, payload());
  lattice_model_info info = makeFakeInfo();
  const char *saved = std::getenv("LATTICE_NUM_THREADS");
  std::string previous = saved ? saved : "";
  for (const char *bad : {"0", "-1", "4097", "2x", "99999999999999999999"}) {
    setenv("LATTICE_NUM_THREADS", bad, 1);
    lattice_model *model = nullptr;
    EXPECT_EQ(
        lattice_model_load_memory(&info, file.data(), file.size(), &model),
        LATTICE_ERROR_ARGUMENT)
        << bad;
    EXPECT_EQ(model, nullptr);
    EXPECT_EQ(std::string(lattice_last_error()),
              "LATTICE_NUM_THREADS='" + std::string(bad) +
                  "' is not a thread count (1 to 4096)");
  }
  setenv("LATTICE_NUM_THREADS", "3", 1);
  lattice_model *model = nullptr;
  ASSERT_EQ(lattice_model_load_memory(&info, file.data(), file.size(), &model),
            LATTICE_OK);
  EXPECT_EQ(lattice_model_get_threads(model), 3);
  EXPECT_EQ(run(model), kExpected);
  lattice_model_free(model);
  if (saved)
    setenv("LATTICE_NUM_THREADS", previous.c_str(), 1);
  else
    unsetenv("LATTICE_NUM_THREADS");
}
} // namespace
