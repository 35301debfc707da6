//===- PackWeights.cpp - Weights in the layout of compiled code -----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/PackWeights.h"
#include "lattice/Codegen/Ukernels.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "lattice/Quant/QuantMath.h"
#include "llvm/ADT/StringExtras.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cstring>

#include "lattice_pack.h"

using namespace mlir::lattice;
using llvm::createStringError;
using llvm::Expected;
using llvm::StringRef;

/// Rows of `rowBytes` bytes, in blocks of four: chunk c (16 bytes) of rows
/// 4b..4b+3 stored one after the other; rows after the last full block stay
/// as they are.
static std::vector<uint8_t> interleaveRowsByFour(llvm::ArrayRef<uint8_t> bytes,
                                                 int64_t rows,
                                                 int64_t rowBytes) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  int64_t blocks = rows / 4, chunks = rowBytes / 16;
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t r = 0; r < 4; ++r)
        std::copy_n(bytes.begin() + (4 * b + r) * rowBytes + 16 * c, 16,
                    out.begin() + 4 * b * rowBytes + 64 * c + 16 * r);
  return out;
}

/// An [N, K] weight in the GEMM panels of lattice_pack.h, `panelBytes` per
/// 32 columns, each packed by `packPanel(n0, out)`.
template <typename PackPanel>
static std::vector<uint8_t> packPanels(int64_t n, int64_t panelBytes,
                                       PackPanel packPanel) {
  int64_t panels = lattice_pack_panels(n);
  std::vector<uint8_t> out(panels * panelBytes);
  for (int64_t p = 0; p < panels; ++p)
    packPanel(p * LATTICE_PACK_NR, out.data() + p * panelBytes);
  return out;
}

Expected<PackedWeight> mlir::lattice::packWeight(const SafetensorsFile &file,
                                                 StringRef name,
                                                 mlir::RankedTensorType type,
                                                 StringRef layout) {
  const SafetensorsEntry *entry = file.lookup(name);
  if (!entry)
    return createStringError(std::errc::invalid_argument,
                             "%s: tensor '%s' does not exist",
                             file.getPath().str().c_str(), name.str().c_str());
  return packWeight(*entry, file.getPath(), name, type, layout);
}

Expected<PackedWeight> mlir::lattice::packWeight(const SafetensorsEntry &source,
                                                 StringRef origin,
                                                 StringRef name,
                                                 mlir::RankedTensorType type,
                                                 StringRef layout) {
  auto fail = [&](const llvm::Twine &message) {
    return createStringError(std::errc::invalid_argument, "%s: tensor '%s' %s",
                             origin.str().c_str(), name.str().c_str(),
                             message.str().c_str());
  };
  const SafetensorsEntry *entry = &source;
  if (llvm::ArrayRef<int64_t>(entry->shape) != type.getShape()) {
    std::string expected, found;
    llvm::raw_string_ostream(expected) << llvm::formatv(
        "[{0:$[, ]}]",
        llvm::make_range(type.getShape().begin(), type.getShape().end()));
    llvm::raw_string_ostream(found)
        << llvm::formatv("[{0:$[, ]}]", llvm::make_range(entry->shape.begin(),
                                                         entry->shape.end()));
    return fail("has shape " + found + ", the model expects " + expected);
  }
  PackedWeight weight;
  weight.name = name.str();
  weight.shape = entry->shape;

  auto quantType =
      llvm::dyn_cast<mlir::lattice::QuantType>(type.getElementType());
  if (!quantType) {
    StringRef dtype = getSafetensorsDType(type.getElementType());
    if (dtype.empty())
      return fail("has an element type that weights cannot have");
    if (entry->dtype != dtype)
      return fail("is " + entry->dtype + ", the model expects " + dtype);
    weight.dtype = dtype.str();
    weight.bytes.assign(entry->data.begin(), entry->data.end());
    if (layout == kF32PanelsLayout && dtype == "F32" && type.getRank() == 2) {
      int64_t n = type.getDimSize(0), k = type.getDimSize(1);
      std::vector<float> values(n * k);
      std::memcpy(values.data(), weight.bytes.data(), weight.bytes.size());
      weight.bytes = packPanels(
          n, lattice_pack_f32_panel_bytes(k), [&](int64_t n0, uint8_t *out) {
            lattice_pack_f32_panel(values.data(), /*b_k=*/1, /*b_n=*/k, n0, n,
                                   k, reinterpret_cast<float *>(out));
          });
      weight.shape = {int64_t(weight.bytes.size() / sizeof(float))};
    }
    if (layout == kF32WinogradLayout && dtype == "F32" && type.getRank() == 2 &&
        type.getDimSize(1) % 9 == 0) {
      int64_t m = type.getDimSize(0), c = type.getDimSize(1) / 9;
      std::vector<float> values(m * c * 9);
      std::memcpy(values.data(), weight.bytes.data(), weight.bytes.size());
      weight.bytes.assign(lattice_pack_winograd_f32_bytes(m, c), 0);
      lattice_pack_winograd_f32(values.data(), m, c,
                                reinterpret_cast<float *>(weight.bytes.data()));
      weight.shape = {int64_t(weight.bytes.size() / sizeof(float))};
    }
    return weight;
  }

  // Codes, one per element: I8 for signed, ternary and binary (-1/+1)
  // codes, U8 for unsigned ones.
  mlir::lattice::QuantScheme scheme = quantType.getScheme();
  bool isUnsigned = scheme.storageKind == mlir::lattice::StorageKind::Unsigned;
  StringRef codeDType = isUnsigned ? "U8" : "I8";
  if (entry->dtype != codeDType)
    return fail("is " + entry->dtype + ", the model expects its " + codeDType +
                " codes");
  std::vector<int64_t> codes;
  codes.reserve(entry->data.size());
  for (uint8_t byte : entry->data)
    codes.push_back(isUnsigned ? int64_t(byte)
                               : int64_t(static_cast<int8_t>(byte)));
  for (auto [index, code] : llvm::enumerate(codes))
    if (!scheme.isValidCode(code))
      return fail("holds code " + llvm::Twine(code) + " at element " +
                  llvm::Twine(index) + ", outside the range of " +
                  llvm::Twine(scheme.getStorageBits()) + "-bit codes");
  // Codes are packed in containers of 1, 2, 4 or 8 bits (3-bit codes take a
  // nibble), the width the generated code reads.
  if (scheme.getContainerBits() != scheme.getStorageBits())
    scheme.bits = scheme.getContainerBits();
  if (scheme.getStorageBits() == 8) {
    weight.dtype = codeDType.str();
    weight.bytes.assign(entry->data.begin(), entry->data.end());
    if (layout == kS8PanelsLayout && !isUnsigned && type.getRank() == 2) {
      int64_t n = type.getDimSize(0), k = type.getDimSize(1);
      std::vector<int8_t> codes8(entry->data.begin(), entry->data.end());
      weight.bytes = packPanels(
          n, lattice_pack_s8_panel_bytes(k), [&](int64_t n0, uint8_t *out) {
            lattice_pack_s8_panel(codes8.data(), n0, n, k,
                                  reinterpret_cast<int8_t *>(out));
          });
      weight.shape = {int64_t(weight.bytes.size())};
    }
    return weight;
  }
  Expected<std::vector<uint8_t>> packed = packCodes(scheme, codes);
  if (!packed)
    return fail(llvm::toString(packed.takeError()));
  weight.dtype = "U8";
  weight.shape = {int64_t(packed->size())};
  weight.bytes = std::move(*packed);
  if (layout == kQ4Rows4Layout)
    weight.bytes = interleaveRowsByFour(weight.bytes, type.getDimSize(0),
                                        type.getDimSize(1) / 2);
  return weight;
}
