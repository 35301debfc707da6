//===- LoadWeights.cpp - External weights into constants ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Float lattice.weight ops become arith.constant ops with the values of
// their safetensors files, so that the weight-rewriting passes see them.
// Large weights are `dense_resource` blobs over the mapped file (no copy;
// WeightBlobs.h), small ones `dense` attributes.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Dialect/Lattice/Transforms/WeightLoader.h"
#include "lattice/Support/Safetensors.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICELOADWEIGHTSPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

FailureOr<Value> WeightLoader::load(WeightOp op) {
  RankedTensorType type = op.getType();
  StringRef dtype = getSafetensorsDType(type.getElementType());
  if (dtype.empty())
    return op.emitError() << "weight '" << op.getName()
                          << "' has an element type that cannot be loaded: "
                          << type.getElementType();
  SmallString<256> path(dir);
  llvm::sys::path::append(path, op.getFile());
  std::shared_ptr<SafetensorsFile> &file = files[path];
  if (!file) {
    llvm::Expected<std::unique_ptr<SafetensorsFile>> opened =
        SafetensorsFile::open(path);
    if (!opened)
      return op.emitError() << "cannot load weight '" << op.getName()
                            << "': " << llvm::toString(opened.takeError());
    file = std::move(*opened);
  }
  const SafetensorsEntry *entry = file->lookup(op.getName());
  if (!entry)
    return op.emitError() << "weight '" << op.getName() << "' is not in '"
                          << path << "'";
  if (entry->dtype != dtype ||
      ArrayRef<int64_t>(entry->shape) != type.getShape()) {
    auto diag = op.emitError() << "weight '" << op.getName() << "' is "
                               << entry->dtype << " [";
    llvm::interleaveComma(entry->shape, diag);
    diag << "] in '" << path << "', the model expects " << type;
    return diag;
  }
  ArrayRef<char> bytes(reinterpret_cast<const char *>(entry->data.data()),
                       entry->data.size());
  Attribute value;
  if (type.getNumElements() >= kWeightBlobMinElements)
    value = getWeightBlobs(op.getContext())
                .addMapped(
                    type, op.getName(), bytes,
                    [file = file.get(), entry] { file->releasePages(*entry); },
                    [file](void *, size_t, size_t) mutable { file.reset(); });
  else
    value = DenseElementsAttr::getFromRawBuffer(type, bytes);
  OpBuilder builder(op);
  Location loc = NameLoc::get(op.getNameAttr(), op.getLoc());
  auto constant =
      arith::ConstantOp::create(builder, loc, type, cast<TypedAttr>(value));
  op.replaceAllUsesWith(constant.getResult());
  op.erase();
  return constant.getResult();
}

namespace {
struct LatticeLoadWeightsPass final
    : lattice::impl::LatticeLoadWeightsPassBase<LatticeLoadWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<WeightOp> weights;
    getOperation()->walk([&](WeightOp op) {
      if (isa<FloatType>(op.getType().getElementType()))
        weights.push_back(op);
    });
    WeightLoader loader(dir);
    for (WeightOp op : weights)
      if (failed(loader.load(op)))
        return signalPassFailure();
  }
};
} // namespace
