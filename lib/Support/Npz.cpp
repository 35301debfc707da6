//===- Npz.cpp - Reading numpy .npz archives ------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Npz.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>
#include <cstring>
#include <zlib.h>

using namespace mlir::lattice;
using llvm::StringRef;

namespace {
/// Signatures of the zip records this reader uses.
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint16_t kZip64Extra = 0x0001;
constexpr uint16_t kStored = 0, kDeflated = 8;

/// Little-endian reads within `bytes`, failing past its end.
class Reader {
public:
  explicit Reader(llvm::ArrayRef<uint8_t> bytes) : bytes(bytes) {}

  bool has(uint64_t offset, uint64_t size) const {
    return offset <= bytes.size() && size <= bytes.size() - offset;
  }
  template <typename T>
  std::optional<T> read(uint64_t offset) const {
    if (!has(offset, sizeof(T)))
      return std::nullopt;
    return llvm::support::endian::read<T, llvm::endianness::little>(
        bytes.data() + offset);
  }

private:
  llvm::ArrayRef<uint8_t> bytes;
};

/// A member of the archive, from the central directory.
struct Member {
  std::string name;
  uint16_t method = 0;
  uint64_t compressedSize = 0, size = 0, localOffset = 0;
};
} // namespace

/// `text` from an archive as a message shows it: bytes outside printable
/// ASCII as \xHH.
static std::string printable(StringRef text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += char(c);
      continue;
    }
    out += "\\x";
    out += llvm::hexdigit(c >> 4, /*LowerCase=*/true);
    out += llvm::hexdigit(c & 15, /*LowerCase=*/true);
  }
  return out;
}

static llvm::Error fail(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError("%s: %s", path.str().c_str(),
                                 message.str().c_str());
}

/// Parses the central directory of the zip archive `bytes`.
static llvm::Expected<std::vector<Member>>
readDirectory(StringRef path, llvm::ArrayRef<uint8_t> bytes) {
  Reader r(bytes);
  // The end-of-directory record: 22 bytes and a comment of up to 64 KiB.
  std::optional<uint64_t> end;
  uint64_t lowest = bytes.size() > 22 + 65535 ? bytes.size() - 22 - 65535 : 0;
  for (uint64_t at = bytes.size() >= 22 ? bytes.size() - 22 : 0;
       bytes.size() >= 22 && at + 1 > lowest; --at) {
    if (r.read<uint32_t>(at) == kEndOfDirectory) {
      end = at;
      break;
    }
    if (at == 0)
      break;
  }
  if (!end)
    return fail(path, "not an .npz file (no zip directory)");
  uint64_t entries = *r.read<uint16_t>(*end + 10);
  uint64_t directory = *r.read<uint32_t>(*end + 16);
  if (entries == 0xffff || directory == 0xffffffff) {
    std::optional<uint32_t> locator = r.read<uint32_t>(*end - 20);
    std::optional<uint64_t> record = *end >= 20 && locator == kZip64Locator
                                         ? r.read<uint64_t>(*end - 12)
                                         : std::nullopt;
    if (!record || r.read<uint32_t>(*record) != kZip64EndOfDirectory ||
        !r.has(*record, 56))
      return fail(path, "a zip64 archive without its zip64 directory record");
    entries = *r.read<uint64_t>(*record + 32);
    directory = *r.read<uint64_t>(*record + 48);
  }
  std::vector<Member> members;
  uint64_t at = directory;
  for (uint64_t i = 0; i < entries; ++i) {
    if (r.read<uint32_t>(at) != kCentralHeader || !r.has(at, 46))
      return fail(path, "a damaged zip directory");
    Member m;
    uint16_t flags = *r.read<uint16_t>(at + 8);
    m.method = *r.read<uint16_t>(at + 10);
    m.compressedSize = *r.read<uint32_t>(at + 20);
    m.size = *r.read<uint32_t>(at + 24);
    uint16_t nameLength = *r.read<uint16_t>(at + 28);
    uint16_t extraLength = *r.read<uint16_t>(at + 30);
    uint16_t commentLength = *r.read<uint16_t>(at + 32);
    m.localOffset = *r.read<uint32_t>(at + 42);
    if (!r.has(at + 46, uint64_t(nameLength) + extraLength + commentLength))
      return fail(path, "a damaged zip directory");
    m.name.assign(reinterpret_cast<const char *>(bytes.data() + at + 46),
                  nameLength);
    if (flags & 1)
      return fail(path, "member '" + printable(m.name) + "' is encrypted");
    // The zip64 extra field holds the fields whose 32-bit value is all
    // ones, in this order.
    for (uint64_t e = at + 46 + nameLength, stop = e + extraLength;
         e + 4 <= stop;) {
      uint16_t id = *r.read<uint16_t>(e), size = *r.read<uint16_t>(e + 2);
      if (id == kZip64Extra) {
        uint64_t field = e + 4;
        for (uint64_t *value : {&m.size, &m.compressedSize, &m.localOffset})
          if (*value == 0xffffffff && field + 8 <= e + 4 + size) {
            *value = *r.read<uint64_t>(field);
            field += 8;
          }
      }
      e += 4 + uint64_t(size);
    }
    members.push_back(std::move(m));
    at += 46 + uint64_t(nameLength) + extraLength + commentLength;
  }
  return members;
}

/// Inflates the raw deflate stream `in` into exactly `size` bytes.
static bool inflateRaw(llvm::ArrayRef<uint8_t> in, std::vector<uint8_t> &out,
                       uint64_t size) {
  out.resize(size);
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
    return false;
  stream.next_in = const_cast<Bytef *>(in.data());
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(size);
  int status = inflate(&stream, Z_FINISH);
  bool done = status == Z_STREAM_END && stream.total_out == size;
  inflateEnd(&stream);
  return done;
}

/// The value of `key` in the header dictionary of a .npy file: the text
/// after "'key':" up to the next ',' at depth 0 or the closing brace.
static std::optional<StringRef> getHeaderValue(StringRef header,
                                               StringRef key) {
  size_t at = header.find(("'" + key + "'").str());
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + key.size() + 2).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  rest = rest.ltrim();
  int depth = 0;
  for (size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    if (c == '(' || c == '[')
      ++depth;
    else if (c == ')' || c == ']')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      return rest.take_front(i).trim();
  }
  return std::nullopt;
}

/// Parses the .npy file `bytes` (member `name` of `path`) into `array`.
static llvm::Error parseNpy(StringRef path, StringRef name,
                            llvm::ArrayRef<uint8_t> bytes, NpyArray &array) {
  auto bad = [&](const llvm::Twine &why) {
    return fail(path, "array '" + printable(name) + "': " + why);
  };
  Reader r(bytes);
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    return bad("not a .npy array");
  uint8_t major = bytes[6];
  uint64_t headerLength, start;
  if (major == 1) {
    headerLength = *r.read<uint16_t>(8);
    start = 10;
  } else if (major == 2 || major == 3) {
    std::optional<uint32_t> length = r.read<uint32_t>(8);
    if (!length)
      return bad("a truncated .npy header");
    headerLength = *length;
    start = 12;
  } else {
    return bad("unknown .npy version " + llvm::Twine(unsigned(major)));
  }
  if (!r.has(start, headerLength))
    return bad("a truncated .npy header");
  StringRef header(reinterpret_cast<const char *>(bytes.data() + start),
                   headerLength);
  std::optional<StringRef> descr = getHeaderValue(header, "descr");
  std::optional<StringRef> order = getHeaderValue(header, "fortran_order");
  std::optional<StringRef> shape = getHeaderValue(header, "shape");
  if (!descr || !order || !shape || descr->size() < 2 ||
      !(descr->starts_with("'") && descr->ends_with("'")))
    return bad("a .npy header without descr, fortran_order and shape");
  if (*order != "False")
    return bad("Fortran order; save a C-order array (numpy.ascontiguousarray)");
  array.descr = descr->drop_front().drop_back().str();
  StringRef dims = *shape;
  if (!dims.consume_front("(") || !dims.consume_back(")"))
    return bad("a .npy shape that is not a tuple: " + printable(*shape));
  llvm::SmallVector<StringRef> parts;
  dims.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t size;
    if (part.getAsInteger(10, size) || size < 0)
      return bad("a .npy shape with a bad size: " + printable(*shape));
    array.shape.push_back(size);
  }
  // The dtype: byte order, kind letter, item size.
  StringRef d = array.descr;
  char byteOrder = d.empty() ? '?' : d[0];
  char letter = d.size() > 1 ? d[1] : '?';
  unsigned itemSize = 0;
  bool sized = d.size() > 2 && !d.drop_front(2).getAsInteger(10, itemSize);
  array.kind = NpyKind::Other;
  if (sized && (byteOrder == '<' || byteOrder == '|' ||
                (byteOrder == '=' && llvm::sys::IsLittleEndianHost))) {
    if (letter == 'f' && (itemSize == 2 || itemSize == 4 || itemSize == 8))
      array.kind = NpyKind::Float;
    else if (letter == 'i' && llvm::is_contained({1u, 2u, 4u, 8u}, itemSize))
      array.kind = NpyKind::Signed;
    else if (letter == 'u' && llvm::is_contained({1u, 2u, 4u, 8u}, itemSize))
      array.kind = NpyKind::Unsigned;
    else if (letter == 'b' && itemSize == 1)
      array.kind = NpyKind::Bool;
  }
  array.itemSize = array.kind == NpyKind::Other ? 0 : itemSize;
  array.data = bytes.drop_front(start + headerLength);
  if (array.kind != NpyKind::Other) {
    // Sizes as the file may claim them: products checked against the data.
    uint64_t need = itemSize;
    for (int64_t size : array.shape) {
      if (size != 0 && need > array.data.size() / uint64_t(size)) {
        need = UINT64_MAX;
        break;
      }
      need *= uint64_t(size);
    }
    if (array.data.size() < need)
      return bad("fewer bytes than its shape needs");
    array.data = array.data.take_front(need);
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<NpzFile>> NpzFile::open(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read '%s': %s",
                                   path.str().c_str(),
                                   buffer.getError().message().c_str());
  return parse(std::move(*buffer), path);
}

llvm::Expected<std::unique_ptr<NpzFile>>
NpzFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer, StringRef path) {
  auto file = std::unique_ptr<NpzFile>(new NpzFile());
  file->buffer = std::move(buffer);
  llvm::ArrayRef<uint8_t> bytes(
      reinterpret_cast<const uint8_t *>(file->buffer->getBufferStart()),
      file->buffer->getBufferSize());
  llvm::Expected<std::vector<Member>> members = readDirectory(path, bytes);
  if (!members)
    return members.takeError();
  Reader r(bytes);
  for (const Member &m : *members) {
    if (!StringRef(m.name).ends_with(".npy"))
      return fail(path,
                  "member '" + printable(m.name) + "' is not a .npy array");
    std::optional<uint16_t> nameLength = r.read<uint16_t>(m.localOffset + 26);
    std::optional<uint16_t> extraLength = r.read<uint16_t>(m.localOffset + 28);
    if (r.read<uint32_t>(m.localOffset) != kLocalHeader || !nameLength ||
        !extraLength)
      return fail(path,
                  "member '" + printable(m.name) + "' has a damaged header");
    uint64_t data = m.localOffset + 30 + *nameLength + *extraLength;
    if (!r.has(data, m.compressedSize))
      return fail(path, "member '" + printable(m.name) + "' lies past the end");
    llvm::ArrayRef<uint8_t> stored = bytes.slice(data, m.compressedSize);
    llvm::ArrayRef<uint8_t> contents;
    if (m.method == kStored) {
      if (m.size != m.compressedSize)
        return fail(path,
                    "member '" + printable(m.name) + "' has a damaged header");
      contents = stored;
    } else if (m.method == kDeflated) {
      // Deflate shrinks data at most 1032 times; a header that claims more
      // (or more than one inflate call takes) is damaged, not a reason to
      // allocate what it says.
      if (m.size / 1032 > m.compressedSize + 1 || m.size > UINT32_MAX)
        return fail(path, "member '" + printable(m.name) + "' claims " +
                              llvm::Twine(m.size) + " bytes from " +
                              llvm::Twine(m.compressedSize));
      file->inflated.emplace_back();
      if (!inflateRaw(stored, file->inflated.back(), m.size))
        return fail(path,
                    "member '" + printable(m.name) + "' does not inflate");
      contents = file->inflated.back();
    } else {
      return fail(path, "member '" + printable(m.name) +
                            "' uses compression method " +
                            llvm::Twine(m.method) +
                            " (numpy.savez and savez_compressed write 0 "
                            "and 8)");
    }
    NpyArray array;
    array.name = StringRef(m.name).drop_back(4).str();
    if (llvm::Error error = parseNpy(path, array.name, contents, array))
      return std::move(error);
    file->arrays.push_back(std::move(array));
  }
  return file;
}

const NpyArray *NpzFile::lookup(StringRef name) const {
  for (const NpyArray &array : arrays)
    if (array.name == name)
      return &array;
  return nullptr;
}

int64_t NpyArray::getNumElements() const {
  int64_t count = 1;
  for (int64_t size : shape)
    count *= size;
  return count;
}

/// An IEEE half as a double.
static double halfToDouble(uint16_t h) {
  int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double value = exponent == 0    ? std::ldexp(mantissa, -24)
                 : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                  : std::ldexp(mantissa | 0x400, exponent - 25);
  return (h & 0x8000) ? -value : value;
}

double NpyArray::getAsDouble(int64_t index) const {
  const uint8_t *p = data.data() + index * itemSize;
  using llvm::support::endian::read16le;
  using llvm::support::endian::read32le;
  using llvm::support::endian::read64le;
  switch (kind) {
  case NpyKind::Float:
    if (itemSize == 2)
      return halfToDouble(read16le(p));
    if (itemSize == 4)
      return llvm::bit_cast<float>(read32le(p));
    return llvm::bit_cast<double>(read64le(p));
  case NpyKind::Signed:
    switch (itemSize) {
    case 1:
      return int8_t(*p);
    case 2:
      return int16_t(read16le(p));
    case 4:
      return int32_t(read32le(p));
    default:
      return double(int64_t(read64le(p)));
    }
  case NpyKind::Unsigned:
    switch (itemSize) {
    case 1:
      return *p;
    case 2:
      return read16le(p);
    case 4:
      return read32le(p);
    default:
      return double(read64le(p));
    }
  case NpyKind::Bool:
    return *p != 0;
  case NpyKind::Other:
    break;
  }
  return NAN;
}
