//===- WeightBlobs.cpp - Weights as resource blobs ------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include <cstring>

using namespace mlir;
using namespace mlir::lattice;

/// A resource key made of the characters that print as a bare identifier.
static std::string getBlobKey(StringRef name) {
  std::string key = name.empty() ? "weight" : name.str();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  if (llvm::isDigit(key.front()))
    key.insert(key.begin(), '_');
  return key;
}

DenseResourceElementsAttr
WeightBlobs::add(ShapedType type, StringRef name, AsmResourceBlob blob,
                 llvm::unique_function<void()> release) {
  auto attr =
      DenseResourceElementsAttr::get(type, getBlobKey(name), std::move(blob));
  std::lock_guard<std::mutex> lock(mutex);
  entries[attr.getRawHandle().getResource()] = std::move(release);
  return attr;
}

DenseResourceElementsAttr WeightBlobs::addCopy(ShapedType type, StringRef name,
                                               ArrayRef<char> data) {
  // 64-byte aligned, as the weights file stores them.
  return add(type, name,
             HeapAsmResourceBlob::allocateAndCopyWithAlign(
                 data, /*align=*/64, /*dataIsMutable=*/false),
             {});
}

DenseResourceElementsAttr
WeightBlobs::addMapped(ShapedType type, StringRef name, ArrayRef<char> data,
                       llvm::unique_function<void()> release,
                       AsmResourceBlob::DeleterFn deleter) {
  size_t align = alignof(std::max_align_t);
  while (align > 1 && reinterpret_cast<uintptr_t>(data.data()) % align)
    align /= 2;
  return add(type, name,
             UnmanagedAsmResourceBlob::allocateWithAlign(data, align,
                                                         std::move(deleter)),
             std::move(release));
}

void WeightBlobs::doneReading(DenseResourceElementsAttr attr) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = entries.find(attr.getRawHandle().getResource());
  if (it != entries.end() && it->second)
    it->second();
}

WeightBlobs::KeepWeights::KeepWeights(WeightBlobs &blobs, Operation *root)
    : blobs(blobs), root(root) {
  std::lock_guard<std::mutex> lock(blobs.mutex);
  blobs.keptRoots.push_back(root);
}

WeightBlobs::KeepWeights::~KeepWeights() {
  std::lock_guard<std::mutex> lock(blobs.mutex);
  llvm::erase(blobs.keptRoots, root);
}

void WeightBlobs::releaseUnused(Operation *root) {
  llvm::DenseSet<DialectResourceBlobManager::BlobEntry *> used;
  SmallVector<Operation *> roots = {root};
  {
    std::lock_guard<std::mutex> lock(mutex);
    llvm::append_range(roots, keptRoots);
  }
  for (Operation *top : roots)
    top->walk([&](Operation *op) {
      op->getAttrDictionary().walk([&](DenseResourceElementsAttr attr) {
        used.insert(attr.getRawHandle().getResource());
      });
    });
  std::lock_guard<std::mutex> lock(mutex);
  SmallVector<DialectResourceBlobManager::BlobEntry *> unused;
  for (auto &entry : entries)
    if (!used.contains(entry.first))
      unused.push_back(entry.first);
  for (DialectResourceBlobManager::BlobEntry *entry : unused) {
    // An empty blob: a stale reference reads no data (and the readers
    // below check the size) instead of freed memory.
    entry->setBlob(AsmResourceBlob());
    entries.erase(entry);
  }
}

bool WeightBlobs::contains(DenseResourceElementsAttr attr) {
  std::lock_guard<std::mutex> lock(mutex);
  return entries.contains(attr.getRawHandle().getResource());
}

WeightBlobs &mlir::lattice::getWeightBlobs(MLIRContext *context) {
  return context->getOrLoadDialect<LatticeDialect>()->getWeightBlobs();
}

void mlir::lattice::eraseUnusedWeight(Operation *op) {
  if (!op->use_empty())
    return;
  WeightBlobs &blobs = getWeightBlobs(op->getContext());
  bool heldBlob = false;
  op->getAttrDictionary().walk([&](DenseResourceElementsAttr attr) {
    heldBlob |= blobs.contains(attr);
  });
  Operation *root = op->getParentOp();
  op->erase();
  if (heldBlob && root)
    releaseUnusedWeights(root);
}

void mlir::lattice::releaseUnusedWeights(Operation *root) {
  while (Operation *parent = root->getParentOp())
    root = parent;
  getWeightBlobs(root->getContext()).releaseUnused(root);
}

//===----------------------------------------------------------------------===//
// Reading and creating constants
//===----------------------------------------------------------------------===//

std::optional<ArrayRef<uint8_t>>
mlir::lattice::getBlobData(DenseResourceElementsAttr attr) {
  ShapedType type = attr.getType();
  const AsmResourceBlob *blob = attr.getRawHandle().getBlob();
  if (!blob || !type.hasStaticShape() || type.getElementTypeBitWidth() % 8)
    return std::nullopt;
  ArrayRef<char> data = blob->getData();
  if (uint64_t(data.size()) !=
      uint64_t(type.getNumElements()) * (type.getElementTypeBitWidth() / 8))
    return std::nullopt;
  return ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data.data()),
                           data.size());
}

/// The raw little-endian element `index` of `bytes` elements `data`.
static uint64_t getRawElement(ArrayRef<uint8_t> data, int64_t index,
                              unsigned bytes) {
  uint64_t raw = 0;
  std::memcpy(&raw, data.data() + index * bytes, bytes);
  return raw;
}

std::optional<std::vector<float>>
mlir::lattice::getConstantFloats(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  std::vector<float> values;
  auto toF32 = [](APFloat element) {
    bool losesInfo = false;
    element.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
    return element.convertToFloat();
  };
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    values.reserve(dense.getNumElements());
    for (const APFloat &element : dense.getValues<APFloat>())
      values.push_back(toF32(element));
    return values;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  auto floatType =
      resource ? dyn_cast<FloatType>(resource.getType().getElementType())
               : FloatType();
  if (!floatType)
    return std::nullopt;
  std::optional<ArrayRef<uint8_t>> data = getBlobData(resource);
  if (!data)
    return std::nullopt;
  int64_t count = resource.getNumElements();
  values.resize(count);
  if (floatType.isF32()) {
    std::memcpy(values.data(), data->data(), data->size());
  } else {
    unsigned bits = floatType.getWidth();
    for (int64_t i = 0; i < count; ++i)
      values[i] =
          toF32(APFloat(floatType.getFloatSemantics(),
                        APInt(bits, getRawElement(*data, i, bits / 8))));
  }
  getWeightBlobs(resource.getContext()).doneReading(resource);
  return values;
}

std::optional<std::vector<int64_t>>
mlir::lattice::getConstantInts(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  std::vector<int64_t> values;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    values.reserve(dense.getNumElements());
    for (const APInt &element : dense.getValues<APInt>())
      values.push_back(element.getSExtValue());
    return values;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  auto intType =
      resource ? dyn_cast<IntegerType>(resource.getType().getElementType())
               : IntegerType();
  if (!intType || intType.getWidth() > 64)
    return std::nullopt;
  std::optional<ArrayRef<uint8_t>> data = getBlobData(resource);
  if (!data)
    return std::nullopt;
  unsigned bits = intType.getWidth();
  int64_t count = resource.getNumElements();
  values.reserve(count);
  for (int64_t i = 0; i < count; ++i)
    values.push_back(
        APInt(bits, getRawElement(*data, i, bits / 8)).getSExtValue());
  getWeightBlobs(resource.getContext()).doneReading(resource);
  return values;
}

/// The name that a weight created at `loc` goes by.
static StringRef getWeightName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().strref();
  return "weight";
}

Value mlir::lattice::createWeightConstant(OpBuilder &b, Location loc,
                                          RankedTensorType type,
                                          ArrayRef<float> values) {
  auto floatType = cast<FloatType>(type.getElementType());
  if (type.getNumElements() < kWeightBlobMinElements ||
      floatType.getWidth() % 8 || floatType.getWidth() > 64)
    return createFloatConstant(b, loc, type, values);
  unsigned bytes = floatType.getWidth() / 8;
  std::vector<char> data(values.size() * bytes);
  if (floatType.isF32()) {
    std::memcpy(data.data(), values.data(), data.size());
  } else {
    for (auto [i, x] : llvm::enumerate(values)) {
      APFloat element(x);
      bool losesInfo = false;
      element.convert(floatType.getFloatSemantics(),
                      APFloat::rmNearestTiesToEven, &losesInfo);
      uint64_t raw = element.bitcastToAPInt().getZExtValue();
      std::memcpy(data.data() + i * bytes, &raw, bytes);
    }
  }
  auto attr =
      getWeightBlobs(b.getContext()).addCopy(type, getWeightName(loc), data);
  return arith::ConstantOp::create(b, loc, type, attr);
}

Value mlir::lattice::createCodeConstant(OpBuilder &b, Location loc,
                                        RankedTensorType type,
                                        ArrayRef<int8_t> codes) {
  if (type.getNumElements() < kWeightBlobMinElements)
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, codes));
  auto attr =
      getWeightBlobs(b.getContext())
          .addCopy(type, getWeightName(loc),
                   ArrayRef<char>(reinterpret_cast<const char *>(codes.data()),
                                  codes.size()));
  return arith::ConstantOp::create(b, loc, type, attr);
}
