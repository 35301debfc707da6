//===- ImportQuant.cpp - Upstream quant IR to the lattice dialect ---------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-import-quant: !quant.uniform tensors become !lattice.quant tensors,
// quant.qcast/dcast/scast become lattice.quantize/dequantize/scast. The
// whole module is checked before anything changes.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/QuantMath.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/Builders.h"
#include <cmath>
#include <limits>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEIMPORTQUANTPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
/// An upstream quantized type in lattice terms.
struct ImportedType {
  QuantType type;
  std::vector<float> scales;
  /// Empty when the lattice type is symmetric.
  std::vector<int64_t> zeroPoints;
};
} // namespace

/// Whether `type` is or holds an upstream quantized element type.
static bool isUpstreamQuant(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  return isa<quant::QuantizedType>(type);
}

/// Converts the element type of the tensor type `type`; `emitError` reports
/// why it cannot be.
static FailureOr<ImportedType>
importType(Type type, function_ref<InFlightDiagnostic()> emitError) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return emitError() << "quantized values must be ranked tensors, got "
                       << type;
  auto quantType = cast<quant::QuantizedType>(tensor.getElementType());
  if (isa<quant::UniformQuantizedSubChannelType>(quantType))
    return emitError() << "sub-channel quantized types are not supported: "
                       << quantType;
  auto uniform = dyn_cast<quant::UniformQuantizedType>(quantType);
  auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(quantType);
  if (!uniform && !perAxis)
    return emitError() << "only !quant.uniform types can be imported, got "
                       << quantType;
  unsigned width = quantType.getStorageTypeIntegralWidth();
  bool isSigned = quantType.isSigned();
  if (width > kMaxStorageBits)
    return emitError() << "storage of " << width << " bits is wider than "
                       << kMaxStorageBits << " bits: " << quantType;
  if (quantType.getStorageTypeMin() !=
          quant::QuantizedType::getDefaultMinimumForInteger(isSigned, width) ||
      quantType.getStorageTypeMax() !=
          quant::QuantizedType::getDefaultMaximumForInteger(isSigned, width))
    return emitError() << "narrowed storage range ["
                       << quantType.getStorageTypeMin() << ", "
                       << quantType.getStorageTypeMax()
                       << "] is not supported; lattice codes use the whole "
                          "range of the storage type: "
                       << quantType;

  ImportedType result;
  SmallVector<double> scales;
  SmallVector<int64_t> zeroPoints;
  if (uniform) {
    scales.push_back(uniform.getScale());
    zeroPoints.push_back(uniform.getZeroPoint());
  } else {
    llvm::append_range(scales, perAxis.getScales());
    llvm::append_range(zeroPoints, perAxis.getZeroPoints());
  }
  for (double scale : scales) {
    float rounded = float(scale);
    if (!(std::isnormal(rounded) && rounded > 0))
      return emitError() << "scale " << formatNumber(scale)
                         << " is not a positive normal f32: " << quantType;
    result.scales.push_back(rounded);
  }
  bool symmetric =
      isSigned && llvm::all_of(zeroPoints, [](int64_t z) { return z == 0; });
  if (!symmetric)
    result.zeroPoints.assign(zeroPoints.begin(), zeroPoints.end());

  Builder b(type.getContext());
  StorageKind kind = isSigned ? StorageKind::Signed : StorageKind::Unsigned;
  if (perAxis)
    result.type = QuantType::getChecked(
        emitError, b.getContext(), kind, width, b.getF32Type(),
        Granularity::PerChannel, int64_t(perAxis.getQuantizedDimension()),
        /*groupSize=*/int64_t(0), symmetric);
  else
    result.type = QuantType::getChecked(emitError, kind, width, b.getF32Type(),
                                        symmetric);
  if (!result.type)
    return failure();
  if (failed(result.type.verifyForShape(emitError, tensor.getShape())))
    return failure();
  return result;
}

namespace {
struct LatticeImportQuantPass final
    : lattice::impl::LatticeImportQuantPassBase<LatticeImportQuantPass> {
  using Base::Base;

  void runOnOperation() override;
};
} // namespace

void LatticeImportQuantPass::runOnOperation() {
  ModuleOp module = getOperation();
  // Check everything first: the module changes only if all of it converts.
  DenseMap<Type, ImportedType> imported;
  WalkResult checked = module.walk([&](Operation *op) {
    SmallVector<Type> types(op->getResultTypes());
    for (Region &region : op->getRegions())
      for (Block &block : region)
        llvm::append_range(types, block.getArgumentTypes());
    llvm::append_range(types, op->getOperandTypes());
    if (auto func = dyn_cast<func::FuncOp>(op))
      llvm::append_range(types, func.getResultTypes());
    bool usesQuant = false;
    for (Type type : types) {
      if (!isUpstreamQuant(type))
        continue;
      usesQuant = true;
      if (imported.count(type))
        continue;
      FailureOr<ImportedType> result =
          importType(type, [&]() { return op->emitOpError(); });
      if (failed(result))
        return WalkResult::interrupt();
      imported[type] = std::move(*result);
    }
    if (!usesQuant || isa<func::FuncOp, func::ReturnOp, func::CallOp>(op))
      return WalkResult::advance();
    if (auto scast = dyn_cast<quant::StorageCastOp>(op)) {
      Type storage = isUpstreamQuant(scast.getInput().getType())
                         ? scast.getResult().getType()
                         : scast.getInput().getType();
      auto tensor = dyn_cast<RankedTensorType>(storage);
      if (!tensor || !tensor.getElementType().isSignlessInteger(8)) {
        op->emitOpError() << "codes of type " << storage
                          << " cannot be imported; lattice.scast takes i8 "
                             "tensors";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    }
    if (isa<quant::QuantizeCastOp, quant::DequantizeCastOp>(op))
      return WalkResult::advance();
    op->emitOpError() << "uses upstream quantized types, which "
                         "lattice-import-quant converts only through "
                         "quant.qcast, quant.dcast and quant.scast";
    return WalkResult::interrupt();
  });
  if (checked.wasInterrupted())
    return signalPassFailure();

  auto convert = [&](Type type) -> Type {
    auto it = imported.find(type);
    if (it == imported.end())
      return type;
    return cast<RankedTensorType>(type).clone(it->second.type);
  };
  // Rewrite the casts, reading parameters from the upstream types (taken
  // before any rewrite changes the type of a cast's operand).
  SmallVector<std::pair<Operation *, Type>> casts;
  module.walk([&](Operation *op) {
    if (isa<quant::QuantizeCastOp, quant::StorageCastOp>(op))
      casts.emplace_back(op, op->getResult(0).getType());
    else if (isa<quant::DequantizeCastOp>(op))
      casts.emplace_back(op, op->getOperand(0).getType());
  });
  for (auto [op, upstreamType] : casts) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value input = op->getOperand(0);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value replacement;
    if (isa<quant::StorageCastOp>(op)) {
      replacement = StorageCastOp::create(b, loc, convert(resultType), input);
    } else {
      const ImportedType &params = imported.find(upstreamType)->second;
      // A per-axis dimension may be dynamic; the type fixes its size.
      SmallVector<int64_t> shape(resultType.getShape());
      if (params.type.isPerChannel())
        shape[params.type.getAxis()] = int64_t(params.scales.size());
      auto [scale, zeroPoint] = createQuantParamConstants(
          b, loc, params.type, shape, params.scales, params.zeroPoints);
      if (isa<quant::QuantizeCastOp>(op))
        replacement =
            QuantizeOp::create(b, loc, convert(resultType), input, scale,
                               zeroPoint, RoundingMode::NearestEven);
      else
        replacement =
            DequantizeOp::create(b, loc, resultType, input, scale, zeroPoint);
    }
    op->getResult(0).replaceAllUsesWith(replacement);
    op->erase();
  }
  // Retype every remaining value and function signature.
  module.walk([&](Operation *op) {
    for (Value result : op->getResults())
      result.setType(convert(result.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          argument.setType(convert(argument.getType()));
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      FunctionType type = func.getFunctionType();
      SmallVector<Type> inputs, results;
      for (Type t : type.getInputs())
        inputs.push_back(convert(t));
      for (Type t : type.getResults())
        results.push_back(convert(t));
      func.setType(FunctionType::get(func.getContext(), inputs, results));
    }
  });
}
