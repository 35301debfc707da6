//===- ExternalizeWeights.cpp - Weights into a weights file ---------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The weights of the entry function (external weights, quantized constants,
// float constants in blobs) become trailing arguments, and their tensors,
// in the layout the generated code reads, a safetensors file that the
// compiled library maps.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/PackWeights.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Codegen/Ukernels.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_EXTERNALIZEWEIGHTSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
/// A weight of the model: a lattice.weight, a quantized constant (the codes
/// of an arith.constant behind a lattice.scast), or a float constant in a
/// blob (a weight that lattice-load-weights mapped, kept in float or
/// rewritten by the recipe).
struct WeightSource {
  Operation *op;
  /// Identifies the tensor: ops with the same key share one argument.
  std::string key;
  std::string name;
  RankedTensorType type;
  /// For constants: the stored elements (codes one byte each), in a blob or
  /// in `storage`, and their safetensors dtype.
  std::string dtype;
  ArrayRef<uint8_t> bytes;
  std::vector<uint8_t> storage;
  /// The blob that holds `bytes`, if any.
  DenseResourceElementsAttr blob;
};
} // namespace

/// Collects the weights of `func`. Constants are named after their
/// location's name when they have one (lattice-load-weights and
/// lattice-quantize name them after the weight they hold or replace),
/// otherwise "constant.<n>".
static FailureOr<SmallVector<WeightSource>> collectWeights(func::FuncOp func) {
  SmallVector<WeightSource> sources;
  unsigned numConstants = 0;
  llvm::StringSet<> usedNames;
  func.walk([&](WeightOp weight) { usedNames.insert(weight.getName()); });
  auto addConstant = [&](Operation *op, RankedTensorType type, StringRef dtype,
                         ArrayRef<uint8_t> bytes, std::vector<uint8_t> storage,
                         DenseResourceElementsAttr blob) {
    std::string name;
    if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
      name = nameLoc.getName().str();
    while (name.empty() || usedNames.contains(name))
      name = "constant." + std::to_string(numConstants++);
    usedNames.insert(name);
    WeightSource source{op,    "\n" + name,        name, type, dtype.str(),
                        bytes, std::move(storage), blob};
    if (!source.storage.empty())
      source.bytes = source.storage;
    sources.push_back(std::move(source));
  };
  WalkResult result = func.walk([&](Operation *op) {
    if (auto weight = dyn_cast<WeightOp>(op)) {
      sources.push_back({op,
                         (weight.getFile() + "\n" + weight.getName()).str(),
                         weight.getName().str(),
                         weight.getType(),
                         {},
                         {},
                         {},
                         {}});
      return WalkResult::advance();
    }
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      if (!blob || !type || !isa<FloatType>(type.getElementType()))
        return WalkResult::advance();
      StringRef dtype = getSafetensorsDType(type.getElementType());
      std::optional<ArrayRef<uint8_t>> bytes = getBlobData(blob);
      if (dtype.empty() || !bytes) {
        op->emitError() << "constant of type " << type
                        << " has no data that the weights file can hold";
        return WalkResult::interrupt();
      }
      addConstant(op, type, dtype, *bytes, {}, blob);
      return WalkResult::advance();
    }
    auto cast = dyn_cast<StorageCastOp>(op);
    auto quantType = cast ? dyn_cast<QuantType>(cast.getType().getElementType())
                          : QuantType();
    if (!quantType)
      return WalkResult::advance();
    StringRef dtype =
        quantType.getStorageKind() == StorageKind::Unsigned ? "U8" : "I8";
    Attribute value;
    if (!matchPattern(cast.getInput(), m_Constant(&value)))
      return WalkResult::advance();
    if (auto codes = dyn_cast<DenseIntElementsAttr>(value)) {
      std::vector<uint8_t> storage;
      storage.reserve(codes.getNumElements());
      for (const APInt &code : codes.getValues<APInt>())
        storage.push_back(uint8_t(code.getZExtValue()));
      addConstant(op, cast.getType(), dtype, {}, std::move(storage), {});
      return WalkResult::advance();
    }
    auto blob = dyn_cast<DenseResourceElementsAttr>(value);
    if (!blob)
      return WalkResult::advance();
    std::optional<ArrayRef<uint8_t>> bytes = getBlobData(blob);
    if (!bytes || !blob.getType().getElementType().isInteger(8)) {
      op->emitError() << "quantized constant of type " << blob.getType()
                      << " has no data that the weights file can hold";
      return WalkResult::interrupt();
    }
    addConstant(op, cast.getType(), dtype, *bytes, {}, blob);
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  return sources;
}

/// Replaces every weight of `func` (collectWeights) by a new argument after
/// the existing ones, reading and packing its tensor into `writer` one at a
/// time; the argument describes the stored tensor (kStoredWeightAttrName).
/// With microkernels for a target of `ukernelVectorBits`-bit vectors (0: no
/// microkernels), a weight whose every use is the rhs of a matmul that a
/// microkernel covers, all wanting one layout (getUkernelWeightLayout), is
/// stored in that layout, and its argument says so (kWeightLayoutAttrName).
static LogicalResult externalizeWeights(func::FuncOp func, StringRef modelDir,
                                        unsigned ukernelVectorBits,
                                        SafetensorsWriter &writer) {
  llvm::StringMap<std::unique_ptr<SafetensorsFile>> files;
  llvm::StringMap<unsigned> argumentOf;
  FailureOr<SmallVector<WeightSource>> collected = collectWeights(func);
  if (failed(collected))
    return failure();
  SmallVector<WeightSource> &sources = *collected;
  // The layout of each weight: the one every use of every op that reads it
  // wants, or "" (linear).
  llvm::StringMap<std::string> layouts;
  for (const WeightSource &source : sources) {
    std::optional<StringRef> wanted;
    bool agree = ukernelVectorBits && !source.op->use_empty();
    for (OpOperand &use : source.op->getUses()) {
      auto matmul = dyn_cast<MatmulOp>(use.getOwner());
      StringRef layout = matmul && use.get() == matmul.getRhs()
                             ? getUkernelWeightLayout(matmul, ukernelVectorBits)
                             : StringRef();
      agree = agree && !layout.empty() && (!wanted || *wanted == layout);
      wanted = layout;
    }
    std::string layout = agree ? wanted->str() : "";
    auto [it, inserted] = layouts.try_emplace(source.key, layout);
    if (!inserted && it->second != layout)
      it->second.clear();
  }
  for (const WeightSource &source : sources) {
    Operation *op = source.op;
    if (!argumentOf.contains(source.key)) {
      std::string layout = layouts.lookup(source.key);
      auto pack = [&]() -> llvm::Expected<PackedWeight> {
        if (auto weight = dyn_cast<WeightOp>(op)) {
          SmallString<256> path(modelDir);
          llvm::sys::path::append(path, weight.getFile());
          auto &file = files[path];
          if (!file) {
            auto opened = SafetensorsFile::open(path);
            if (!opened)
              return opened.takeError();
            file = std::move(*opened);
          }
          auto packed = packWeight(*file, source.name, source.type, layout);
          if (const SafetensorsEntry *entry = file->lookup(source.name))
            file->releasePages(*entry);
          return packed;
        }
        SafetensorsEntry entry;
        entry.dtype = source.dtype;
        entry.shape.assign(source.type.getShape().begin(),
                           source.type.getShape().end());
        entry.data = source.bytes;
        auto packed =
            packWeight(entry, "constant", source.name, source.type, layout);
        if (source.blob)
          getWeightBlobs(func.getContext()).doneReading(source.blob);
        return packed;
      };
      llvm::Expected<PackedWeight> packed = pack();
      if (!packed)
        return op->emitError() << llvm::toString(packed.takeError());
      argumentOf[source.key] = func.getNumArguments();
      if (failed(func.insertArgument(func.getNumArguments(), source.type, {},
                                     op->getLoc())))
        return failure();
      Builder b(func.getContext());
      func.setArgAttr(
          func.getNumArguments() - 1, kStoredWeightAttrName,
          b.getDictionaryAttr({
              b.getNamedAttr("name", b.getStringAttr(packed->name)),
              b.getNamedAttr("dtype", b.getStringAttr(packed->dtype)),
              b.getNamedAttr("shape", b.getDenseI64ArrayAttr(packed->shape)),
          }));
      if (!layout.empty())
        func.setArgAttr(func.getNumArguments() - 1, kWeightLayoutAttrName,
                        StringAttr::get(func.getContext(), layout));
      if (llvm::Error error = writer.add(packed->name, packed->dtype,
                                         packed->shape, packed->bytes))
        return op->emitError() << llvm::toString(std::move(error));
    }
    op->getResult(0).replaceAllUsesWith(
        func.getArgument(argumentOf[source.key]));
    Operation *codes =
        isa<StorageCastOp>(op) ? op->getOperand(0).getDefiningOp() : nullptr;
    op->erase();
    if (codes && codes->use_empty())
      codes->erase();
  }
  // The blobs of the constants now in the weights file.
  releaseUnusedWeights(func);
  return success();
}

namespace {
struct ExternalizeWeightsPass final
    : lattice::impl::ExternalizeWeightsPassBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (weightsFile.empty()) {
      module.emitError("lattice-externalize-weights: weights-file=<path> is "
                       "required");
      return signalPassFailure();
    }
    FailureOr<func::FuncOp> entryFunc = findEntry(module);
    if (failed(entryFunc))
      return signalPassFailure();
    auto writer = SafetensorsWriter::create(weightsFile, kWeightsFileMetadata);
    if (!writer) {
      module.emitError() << llvm::toString(writer.takeError());
      return signalPassFailure();
    }
    if (failed(
            externalizeWeights(*entryFunc, dir, ukernelVectorBits, **writer)))
      return signalPassFailure();
    if (llvm::Error error = (*writer)->finish()) {
      module.emitError() << llvm::toString(std::move(error));
      return signalPassFailure();
    }
  }

  /// The function named `entry`, or the only public one with a body.
  FailureOr<func::FuncOp> findEntry(ModuleOp module) {
    func::FuncOp found;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() ||
          (entry.empty() ? !func.isPublic() : func.getName() != entry))
        continue;
      if (found) {
        module.emitError("lattice-externalize-weights: more than one public "
                         "function; choose one with entry=<name>");
        return failure();
      }
      found = func;
    }
    if (!found) {
      InFlightDiagnostic diag =
          module.emitError("lattice-externalize-weights: ");
      if (entry.empty())
        diag << "no public function";
      else
        diag << "no function '" << entry << "'";
      return failure();
    }
    return found;
  }
};
} // namespace
