//===- SafetensorsTest.cpp - Safetensors reader and writer ----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Safetensors.h"
#include "lattice/Support/Json.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"
#include <cstring>

using namespace mlir::lattice;

namespace {
/// A fresh directory, removed with its files at the end of the test.
class SafetensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("lattice-safetensors", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  }
  /// The names of the files in the directory.
  std::vector<std::string> listFiles() const {
    std::vector<std::string> names;
    std::error_code error;
    for (llvm::sys::fs::directory_iterator it(dir, error), end;
         !error && it != end; it.increment(error))
      names.push_back(llvm::sys::path::filename(it->path()).str());
    return names;
  }
  llvm::SmallString<128> dir;
};

template <typename T>
llvm::ArrayRef<uint8_t> bytesOf(const std::vector<T> &values) {
  return {reinterpret_cast<const uint8_t *>(values.data()),
          values.size() * sizeof(T)};
}

std::string message(llvm::Error error) {
  return error ? llvm::toString(std::move(error)) : "success";
}

TEST_F(SafetensorsTest, RoundTrip) {
  std::vector<float> weights = {1.0f, -2.5f, 3.0f, 0.0f, 5.0f, 6.25f};
  std::vector<int8_t> codes = {-128, -1, 0, 1, 127};
  std::vector<uint8_t> scalar = {42};
  std::pair<std::string, std::string> metadata[] = {{"format", "test"}};
  auto writer = SafetensorsWriter::create(file("t.safetensors"), metadata);
  ASSERT_TRUE(bool(writer)) << message(writer.takeError());
  EXPECT_EQ(message((*writer)->add("w", "F32", {2, 3}, bytesOf(weights))),
            "success");
  EXPECT_EQ(message((*writer)->add("codes", "I8", {5}, bytesOf(codes))),
            "success");
  EXPECT_EQ(message((*writer)->add("s", "U8", {}, bytesOf(scalar))), "success");
  ASSERT_EQ(message((*writer)->finish()), "success");
  // Only the file itself: the tensors' temporary file is gone.
  EXPECT_EQ(listFiles(), std::vector<std::string>{"t.safetensors"});

  auto read = SafetensorsFile::open(file("t.safetensors"));
  ASSERT_TRUE(bool(read)) << message(read.takeError());
  EXPECT_EQ((*read)->getMetadata("format"),
            std::optional<llvm::StringRef>(llvm::StringRef("test")));
  const SafetensorsEntry *w = (*read)->lookup("w");
  const SafetensorsEntry *c = (*read)->lookup("codes");
  const SafetensorsEntry *s = (*read)->lookup("s");
  ASSERT_TRUE(w && c && s);
  EXPECT_EQ(w->dtype, "F32");
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->data, bytesOf(weights));
  EXPECT_EQ(c->data, bytesOf(codes));
  EXPECT_EQ(s->shape, std::vector<int64_t>{});
  EXPECT_EQ(s->data, bytesOf(scalar));
  // Every tensor starts 64-byte aligned from the first.
  EXPECT_EQ((c->data.data() - w->data.data()) % 64, 0);
  EXPECT_EQ((s->data.data() - w->data.data()) % 64, 0);
}

TEST_F(SafetensorsTest, ReleasedPagesReadAgain) {
  // Large enough to cover whole pages, so that the pages really go.
  std::vector<float> values(1 << 16);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = float(i) * 0.5f;
  auto writer = SafetensorsWriter::create(file("big.safetensors"), {});
  ASSERT_TRUE(bool(writer));
  ASSERT_EQ(message((*writer)->add("x", "F32", {int64_t(values.size())},
                                   bytesOf(values))),
            "success");
  ASSERT_EQ(message((*writer)->finish()), "success");
  auto read = SafetensorsFile::open(file("big.safetensors"));
  ASSERT_TRUE(bool(read));
  const SafetensorsEntry *x = (*read)->lookup("x");
  ASSERT_TRUE(x);
  ASSERT_EQ(x->data, bytesOf(values));
  (*read)->releasePages(*x);
  EXPECT_EQ(x->data, bytesOf(values));
}

TEST_F(SafetensorsTest, Errors) {
  std::vector<float> values = {1.0f, 2.0f};
  auto writer = SafetensorsWriter::create(file("e.safetensors"), {});
  ASSERT_TRUE(bool(writer));
  EXPECT_EQ(message((*writer)->add("x", "F32", {2}, bytesOf(values))),
            "success");
  EXPECT_NE(message((*writer)->add("x", "F32", {2}, bytesOf(values)))
                .find("tensor 'x' is written twice or has a reserved name"),
            std::string::npos);
  EXPECT_NE(message((*writer)->add("__metadata__", "F32", {2}, bytesOf(values)))
                .find("is written twice or has a reserved name"),
            std::string::npos);
  EXPECT_NE(message((*writer)->add("y", "F32", {3}, bytesOf(values)))
                .find("tensor 'y' has 8 bytes, not those of F32 of its shape"),
            std::string::npos);
  EXPECT_NE(message((*writer)->add("z", "F32", {-2}, bytesOf(values)))
                .find("not those of F32 of its shape"),
            std::string::npos);
  EXPECT_NE(message((*writer)->add("q", "X9", {2}, bytesOf(values)))
                .find("not those of X9 of its shape"),
            std::string::npos);
  ASSERT_EQ(message((*writer)->finish()), "success");
  EXPECT_NE(message((*writer)->add("later", "F32", {2}, bytesOf(values)))
                .find("tensor 'later' added after the file was written"),
            std::string::npos);
  EXPECT_NE(message((*writer)->finish()).find("cannot write"),
            std::string::npos);
  // The file holds the one tensor that was accepted.
  auto read = SafetensorsFile::open(file("e.safetensors"));
  ASSERT_TRUE(bool(read));
  EXPECT_TRUE((*read)->lookup("x"));
  EXPECT_FALSE((*read)->lookup("y"));
}

/// A header nested a hundred thousand levels deep is an error, not a stack
/// overflow in the recursive JSON parser.
TEST_F(SafetensorsTest, DeeplyNestedHeader) {
  std::string header(100000, '[');
  {
    std::error_code error;
    llvm::raw_fd_ostream out(file("deep.safetensors"), error);
    ASSERT_FALSE(error);
    uint64_t size = header.size();
    for (int i = 0; i < 8; ++i)
      out << char((size >> (8 * i)) & 0xff);
    out << header;
  }
  auto read = SafetensorsFile::open(file("deep.safetensors"));
  ASSERT_FALSE(bool(read));
  EXPECT_NE(message(read.takeError())
                .find("header is not JSON: JSON nested more than 64 levels "
                      "deep (at offset 64)"),
            std::string::npos);
}

TEST(ParseJson, Nesting) {
  EXPECT_TRUE(bool(parseJson("[[[1]]]", 3)));
  EXPECT_EQ(message(parseJson("[[[1]]]", 2).takeError()),
            "JSON nested more than 2 levels deep (at offset 2)");
  // Brackets inside strings, escaped quotes included, do not nest.
  EXPECT_TRUE(bool(parseJson(R"({"a": "[[[\"[[["})", 1)));
  // Closing brackets do not make the depth negative.
  EXPECT_FALSE(bool(parseJson("]]][[[", 2)));
  EXPECT_EQ(message(parseJson("{\"a\": [1,", 4).takeError()).find("nested"),
            std::string::npos);
}

TEST(ParseJson, DuplicateKeys) {
  EXPECT_EQ(
      message(parseJson(R"({"a": 1, "b": {"a": 2}, "a": 3})").takeError()),
      "JSON object has the key \"a\" twice (at offset 24)");
  // Keys of different objects, values that look like keys, and strings in
  // arrays are not keys of one object.
  EXPECT_TRUE(
      bool(parseJson(R"({"a": {"a": "a"}, "b": ["a", "a"], "c": "b"})")));
  EXPECT_TRUE(bool(parseJson(R"([{"a": 1}, {"a": 2}])")));
}

TEST_F(SafetensorsTest, AbandonedWriterLeavesNothing) {
  {
    std::vector<float> values = {1.0f};
    auto writer = SafetensorsWriter::create(file("a.safetensors"), {});
    ASSERT_TRUE(bool(writer));
    ASSERT_EQ(message((*writer)->add("x", "F32", {1}, bytesOf(values))),
              "success");
  }
  EXPECT_EQ(listFiles(), std::vector<std::string>{});
}

TEST_F(SafetensorsTest, UnwritableDirectory) {
  auto writer = SafetensorsWriter::create(file("missing/x.safetensors"), {});
  ASSERT_FALSE(bool(writer));
  EXPECT_NE(message(writer.takeError()).find("cannot write"),
            std::string::npos);
}
} // namespace
