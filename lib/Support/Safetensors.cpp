//===- Safetensors.cpp - Reading safetensors files ------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Safetensors.h"
#include "lattice/Support/Json.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include <sys/mman.h>

using namespace mlir::lattice;
using llvm::createStringError;
using llvm::Expected;
using llvm::StringRef;

int64_t mlir::lattice::getSafetensorsDTypeSize(StringRef dtype) {
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
  return parse(std::move(*buffer), path);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer,
                       StringRef path) {
  auto file = std::make_unique<SafetensorsFile>();
  file->path = path.str();
  file->buffer = std::move(buffer);
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
  Expected<llvm::json::Value> json = parseJson(header);
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
    int64_t elementSize = getSafetensorsDTypeSize(*dtype);
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

std::vector<std::string> SafetensorsFile::getNames() const {
  std::vector<std::string> names;
  for (const auto &entry : entries)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}

std::optional<StringRef> SafetensorsFile::getMetadata(StringRef key) const {
  auto it = metadata.find(key);
  if (it == metadata.end())
    return std::nullopt;
  return StringRef(it->second);
}

void SafetensorsFile::releasePages(const SafetensorsEntry &entry) const {
  if (entry.data.empty() ||
      buffer->getBufferKind() != llvm::MemoryBuffer::MemoryBuffer_MMap)
    return;
  // Whole pages only: those at the ends may hold other tensors, which stay.
  uint64_t page = llvm::sys::Process::getPageSizeEstimate();
  auto begin = reinterpret_cast<uintptr_t>(entry.data.data());
  uintptr_t end = begin + entry.data.size();
  begin = llvm::alignTo(begin, page);
  end = llvm::alignDown(end, page);
  if (begin < end)
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

//===----------------------------------------------------------------------===//
// SafetensorsWriter
//===----------------------------------------------------------------------===//

static constexpr uint64_t kTensorAlignment = 64;

Expected<std::unique_ptr<SafetensorsWriter>>
SafetensorsWriter::create(StringRef path, Metadata metadata) {
  std::unique_ptr<SafetensorsWriter> writer(new SafetensorsWriter());
  writer->path = path.str();
  writer->metadata.assign(metadata.begin(), metadata.end());
  int fd;
  llvm::SmallString<256> dataPath;
  if (std::error_code error =
          llvm::sys::fs::createUniqueFile(path + ".%%%%%%.part", fd, dataPath))
    return createStringError(error, "cannot write '%s': %s", path.str().c_str(),
                             error.message().c_str());
  writer->dataPath = dataPath.str().str();
  writer->data =
      std::make_unique<llvm::raw_fd_ostream>(fd, /*shouldClose=*/true);
  return writer;
}

SafetensorsWriter::~SafetensorsWriter() {
  data.reset();
  if (!dataPath.empty())
    llvm::sys::fs::remove(dataPath);
}

llvm::Error SafetensorsWriter::add(StringRef name, StringRef dtype,
                                   llvm::ArrayRef<int64_t> shape,
                                   llvm::ArrayRef<uint8_t> bytes) {
  auto fail = [&](const llvm::Twine &message) {
    return createStringError(std::errc::invalid_argument, "%s: tensor '%s' %s",
                             path.c_str(), name.str().c_str(),
                             message.str().c_str());
  };
  if (!data)
    return fail("added after the file was written");
  if (name == "__metadata__" || !names.try_emplace(name, true).second)
    return fail("is written twice or has a reserved name");
  // A negative size makes the count huge: a mismatch like any other.
  uint64_t count = 1;
  for (int64_t size : shape)
    count *= size < 0 ? UINT64_MAX : uint64_t(size);
  if (getSafetensorsDTypeSize(dtype) == 0 ||
      count * getSafetensorsDTypeSize(dtype) != bytes.size())
    return fail("has " + llvm::Twine(bytes.size()) + " bytes, not those of " +
                dtype + " of its shape");
  data->write_zeros(llvm::alignTo(size, kTensorAlignment) - size);
  size = llvm::alignTo(size, kTensorAlignment);
  data->write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  tensors.push_back({name.str(), dtype.str(),
                     std::vector<int64_t>(shape.begin(), shape.end()), size,
                     size + bytes.size()});
  size += bytes.size();
  if (data->has_error())
    return createStringError(data->error(), "cannot write '%s': %s",
                             dataPath.c_str(), data->error().message().c_str());
  return llvm::Error::success();
}

llvm::Error SafetensorsWriter::finish() {
  auto fail = [](StringRef file, std::error_code error) {
    return createStringError(error, "cannot write '%s': %s", file.str().c_str(),
                             error.message().c_str());
  };
  if (!data)
    return fail(path, std::make_error_code(std::errc::bad_file_descriptor));
  data->close();
  std::error_code dataError = data->error();
  data->clear_error();
  data.reset();
  if (dataError)
    return fail(dataPath, dataError);

  llvm::json::Object header, fields;
  for (const auto &[key, value] : metadata)
    fields[key] = value;
  header["__metadata__"] = std::move(fields);
  for (const Tensor &tensor : tensors)
    header[tensor.name] = llvm::json::Object{
        {"dtype", tensor.dtype},
        {"shape", llvm::json::Array(tensor.shape)},
        {"data_offsets", llvm::json::Array{tensor.begin, tensor.end}}};
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(header));
  // Pad with spaces so that the data starts 64-byte aligned.
  text.resize(llvm::alignTo(8 + text.size(), kTensorAlignment) - 8, ' ');

  std::error_code error;
  llvm::raw_fd_ostream out(path, error, llvm::sys::fs::OF_None);
  if (error)
    return fail(path, error);
  uint64_t headerSize = text.size();
  for (int i = 0; i < 8; ++i)
    out << static_cast<char>((headerSize >> (8 * i)) & 0xff);
  out << text;
  // The tensors, copied in chunks (read, not mapped: a mapping would count
  // the whole file as this process's memory).
  llvm::Expected<llvm::sys::fs::file_t> in =
      llvm::sys::fs::openNativeFileForRead(dataPath);
  if (!in)
    return in.takeError();
  std::vector<char> chunk(size_t(4) << 20);
  for (uint64_t copied = 0; copied < size && !error;) {
    llvm::Expected<size_t> read = llvm::sys::fs::readNativeFile(
        *in, llvm::MutableArrayRef<char>(chunk.data(), chunk.size()));
    if (!read)
      error = llvm::errorToErrorCode(read.takeError());
    else if (*read == 0)
      error = std::make_error_code(std::errc::io_error);
    else
      out.write(chunk.data(), *read);
    copied += read ? *read : 0;
  }
  llvm::sys::fs::closeFile(*in);
  llvm::sys::fs::remove(dataPath);
  dataPath.clear();
  out.close();
  if (!error)
    error = out.error();
  out.clear_error();
  if (error)
    return fail(path, error);
  return llvm::Error::success();
}
