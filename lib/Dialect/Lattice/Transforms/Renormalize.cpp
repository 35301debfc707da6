//===- Renormalize.cpp - Put quantized unit vectors back on the sphere ----===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-renormalize: dequantized activations that were unit vectors are
// normalized again, and the row norms of quantized unit-norm weights are
// folded into their per-row scales (seed 000: nGPT-style models).
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/QuantMath.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include <cmath>

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICERENORMALIZEPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// The normalize that `value` comes from, through quantization ops only.
/// Whether a reshape keeps the rows of the last dimension intact (the last
/// dimension is its own reassociation group), as flattening the leading
/// dimensions before a matmul does.
template <typename ReshapeOp>
static bool keepsRows(ReshapeOp op) {
  SmallVector<ReassociationIndices> groups = op.getReassociationIndices();
  return !groups.empty() && groups.back().size() == 1;
}

static NormalizeOp getSphereSource(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto normalize = dyn_cast<NormalizeOp>(def))
      return normalize;
    bool transparent = isa<QuantizeOp, DynamicQuantizeOp, DequantizeOp,
                           FakeQuantOp, ObserveOp>(def);
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def))
      transparent = keepsRows(collapse);
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def))
      transparent = keepsRows(expand);
    if (!transparent)
      return {};
    value = def->getOperand(0);
  }
  return {};
}

namespace {
struct LatticeRenormalizePass final
    : lattice::impl::LatticeRenormalizePassBase<LatticeRenormalizePass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    if (!(tolerance > 0.0 && tolerance < 1.0))
      return emitError(UnknownLoc::get(context))
             << "lattice-renormalize: tolerance must be in (0, 1), got "
             << formatNumber(tolerance);
    return success();
  }

  void runOnOperation() override {
    SmallVector<Operation *> activations;
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](Operation *op) {
      if (isa<DequantizeOp, FakeQuantOp>(op) &&
          getSphereSource(op->getOperand(0)))
        activations.push_back(op);
      else if (auto matmul = dyn_cast<MatmulOp>(op))
        if (getSphereSource(matmul.getLhs()))
          matmuls.push_back(matmul);
    });
    for (Operation *op : activations)
      renormalizeActivation(op);
    for (MatmulOp op : matmuls)
      foldRowNorms(op);
  }

private:
  void renormalizeActivation(Operation *op) const;
  void foldRowNorms(MatmulOp op) const;
};
} // namespace

void LatticeRenormalizePass::renormalizeActivation(Operation *op) const {
  Value result = op->getResult(0);
  if (result.use_empty() || llvm::all_of(result.getUsers(), [](Operation *u) {
        return isa<NormalizeOp>(u);
      }))
    return;
  NormalizeOp source = getSphereSource(op->getOperand(0));
  OpBuilder b(op->getContext());
  b.setInsertionPointAfter(op);
  auto renormalized = NormalizeOp::create(b, op->getLoc(), result.getType(),
                                          result, source.getEpsilonAttr());
  result.replaceAllUsesExcept(renormalized.getResult(), renormalized);
}

void LatticeRenormalizePass::foldRowNorms(MatmulOp op) const {
  std::string name = getLayerName(op);
  auto skip = [&](StringRef why) {
    if (report)
      emitRemark(op.getLoc()) << "layer '" << name << "': " << why;
  };
  RankedTensorType rhsType = op.getRhs().getType();
  auto quantType = dyn_cast<QuantType>(rhsType.getElementType());
  if (!quantType || !rhsType.hasStaticShape())
    return;
  auto storageCast = op.getRhs().getDefiningOp<StorageCastOp>();
  std::optional<std::vector<int64_t>> codes =
      storageCast ? getConstantInts(storageCast.getInput()) : std::nullopt;
  std::optional<std::vector<float>> scales =
      getConstantFloats(op.getRhsScale());
  std::optional<std::vector<int64_t>> zeroPoints;
  if (Value zeroPoint = op.getRhsZeroPoint())
    zeroPoints = getConstantInts(zeroPoint);
  if (!codes || !scales || (op.getRhsZeroPoint() && !zeroPoints))
    return skip("the weight codes or scales are not constants");
  QuantScheme scheme = quantType.getScheme();
  if (scheme.granularity == Granularity::PerTensor)
    return skip("one per-tensor scale cannot carry per-row norms");

  int64_t n = rhsType.getDimSize(0), k = rhsType.getDimSize(1);
  BlockIndexer blocks(scheme, rhsType.getShape());
  std::vector<double> norms(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      int64_t index = i * k + j, block = blocks.getBlock(index);
      int64_t zero = zeroPoints ? (*zeroPoints)[block] : 0;
      double w = double((*scales)[block]) * double((*codes)[index] - zero);
      norms[i] += w * w;
    }
    norms[i] = std::sqrt(norms[i]);
    if (std::fabs(norms[i] - 1.0) > tolerance)
      return skip((llvm::Twine("row ") + llvm::Twine(i) + " has norm " +
                   formatNumber(norms[i]) + ", not 1 within the tolerance")
                      .str());
  }
  // Blocks lie within one row (per-channel on axis 0, groups on axis 1).
  std::vector<float> folded(scales->size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      int64_t block = blocks.getBlock(i * k + j);
      folded[block] = float(double((*scales)[block]) / norms[i]);
    }
  OpBuilder b(op);
  Value oldScale = op.getRhsScale();
  op.getRhsScaleMutable().assign(
      createFloatConstant(b, oldScale.getLoc(),
                          cast<RankedTensorType>(oldScale.getType()), folded));
  if (Operation *def = oldScale.getDefiningOp(); def && def->use_empty())
    def->erase();
  if (report) {
    double worst = 0;
    for (double norm : norms)
      worst = std::max(worst, std::fabs(norm - 1.0));
    emitRemark(op.getLoc()) << "layer '" << name
                            << "': row norms folded into the scales (largest "
                               "deviation from 1 was "
                            << formatNumber(worst) << ")";
  }
}
