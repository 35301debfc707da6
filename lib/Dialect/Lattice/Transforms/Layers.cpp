//===- Layers.cpp - Names of layers and their calibration probes ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::lattice;

std::string mlir::lattice::getLayerName(MatmulOp op) {
  Value rhs = op.getRhs();
  if (auto weight = rhs.getDefiningOp<WeightOp>())
    return weight.getName().str();
  for (Location loc : {rhs.getLoc(), op.getLoc()})
    if (auto name = dyn_cast<NameLoc>(loc))
      return name.getName().str();
  return "";
}

std::string mlir::lattice::getInputProbeName(StringRef layer) {
  return (layer + ":input").str();
}

std::string mlir::lattice::getWeightProbeName(StringRef layer) {
  return (layer + ":weight").str();
}

std::string mlir::lattice::getOutputProbeName(StringRef layer) {
  return (layer + ":output").str();
}

bool mlir::lattice::hasFloatWeight(MatmulOp op) {
  RankedTensorType lhs = op.getLhs().getType(), rhs = op.getRhs().getType();
  if (!isa<FloatType>(lhs.getElementType()) ||
      !isa<FloatType>(rhs.getElementType()) || rhs.getRank() != 2 ||
      !rhs.hasStaticShape())
    return false;
  return op.getRhs().getDefiningOp<WeightOp>() ||
         matchPattern(op.getRhs(), m_Constant());
}

LogicalResult mlir::lattice::openRequiredStatistics(
    StringRef path, StringRef what, function_ref<InFlightDiagnostic()> fail,
    std::shared_ptr<const StatisticsFile> &statistics) {
  if (path.empty())
    return fail() << "stats=<file> is required (" << what << ")";
  llvm::Expected<std::unique_ptr<StatisticsFile>> file =
      StatisticsFile::open(path);
  if (!file)
    return fail() << llvm::toString(file.takeError());
  statistics = std::move(*file);
  return success();
}
