//===- Safetensors.cpp - Reading safetensors files ------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Safetensors.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"

using namespace mlir::lattice;
using llvm::createStringError;
using llvm::Expected;
using llvm::StringRef;

/// Bytes per element of a safetensors dtype, or 0 when unknown.
static int64_t getDTypeSize(StringRef dtype) {
  return llvm::StringSwitch<int64_t>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL"}, 1)
      .Default(0);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read '%s': %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  auto file = std::make_unique<SafetensorsFile>();
  file->path = path.str();
  file->buffer = std::move(*buffer);
  StringRef contents = file->buffer->getBuffer();
  auto fail = [&](const llvm::Twine &message) {
    return createStringError(std::errc::invalid_argument, "%s: %s",
                             path.str().c_str(), message.str().c_str());
  };
  if (contents.size() < 8)
    return fail("too short for a safetensors file");
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | static_cast<uint8_t>(contents[i]);
  if (headerSize > contents.size() - 8)
    return fail("header size " + llvm::Twine(headerSize) +
                " does not fit in the file");
  StringRef header = contents.substr(8, headerSize);
  auto payload = llvm::arrayRefFromStringRef(contents.substr(8 + headerSize));
  Expected<llvm::json::Value> json = llvm::json::parse(header);
  if (!json)
    return fail("header is not JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fail("header is not a JSON object");
  for (const auto &[key, value] : *root) {
    if (key == "__metadata__") {
      const llvm::json::Object *object = value.getAsObject();
      if (!object)
        return fail("__metadata__ is not a JSON object");
      for (const auto &[name, item] : *object) {
        std::optional<StringRef> string = item.getAsString();
        if (!string)
          return fail("__metadata__ entry '" + StringRef(name) +
                      "' is not a string");
        file->metadata[name] = string->str();
      }
      continue;
    }
    const llvm::json::Object *object = value.getAsObject();
    if (!object)
      return fail("tensor '" + StringRef(key) + "' is not a JSON object");
    std::optional<StringRef> dtype = object->getString("dtype");
    const llvm::json::Array *shape = object->getArray("shape");
    const llvm::json::Array *offsets = object->getArray("data_offsets");
    if (!dtype || !shape || !offsets || offsets->size() != 2)
      return fail("tensor '" + StringRef(key) +
                  "' lacks dtype, shape or data_offsets");
    SafetensorsEntry entry;
    entry.dtype = dtype->str();
    int64_t elementSize = getDTypeSize(*dtype);
    if (elementSize == 0)
      return fail("tensor '" + StringRef(key) + "' has unknown dtype '" +
                  *dtype + "'");
    uint64_t count = 1;
    for (const llvm::json::Value &dim : *shape) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size || *size < 0)
        return fail("tensor '" + StringRef(key) + "' has a bad shape");
      if (*size != 0 && count > (uint64_t(1) << 62) / uint64_t(*size))
        return fail("tensor '" + StringRef(key) + "' is too large");
      count *= uint64_t(*size);
      entry.shape.push_back(*size);
    }
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *begin > *end ||
        uint64_t(*end) > payload.size() ||
        uint64_t(*end - *begin) != count * uint64_t(elementSize))
      return fail("tensor '" + StringRef(key) +
                  "' has data_offsets that do not match its size or lie "
                  "outside the file");
    entry.data = payload.slice(*begin, *end - *begin);
    file->entries[key] = std::move(entry);
  }
  return file;
}

const SafetensorsEntry *SafetensorsFile::lookup(StringRef name) const {
  auto it = entries.find(name);
  return it == entries.end() ? nullptr : &it->second;
}

std::optional<StringRef> SafetensorsFile::getMetadata(StringRef key) const {
  auto it = metadata.find(key);
  if (it == metadata.end())
    return std::nullopt;
  return StringRef(it->second);
}
