//===- HoistPadDestinations.cpp - Padded buffers before their producers ---===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Moves the zero-filled destination of a padding above the producer of the
// padded value, so that empty-tensor elimination lets the producer write
// into the padded buffer instead of a copy of the value being made into it.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUHOISTPADDESTINATIONSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

namespace {
/// Gives `insert` a destination of its own above the producer of its source
/// when that destination is a fill of a value into an empty tensor: a
/// `bufferization.alloc_tensor` (which, unlike `tensor.empty`, CSE does not
/// merge with the other paddings of the same shape) and a fill of it.
void hoistDestination(tensor::InsertSliceOp insert, DominanceInfo &dominance) {
  auto fill = insert.getDest().getDefiningOp<linalg::FillOp>();
  if (!fill || fill->getBlock() != insert->getBlock())
    return;
  auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
  if (!empty || !empty.getDynamicSizes().empty())
    return;
  Operation *producer = insert.getSource().getDefiningOp();
  if (!producer || producer->getBlock() != insert->getBlock() ||
      !dominance.properlyDominates(fill.getInputs()[0], producer))
    return;
  OpBuilder builder(producer);
  auto buffer = bufferization::AllocTensorOp::create(
      builder, empty.getLoc(), empty.getType(), ValueRange());
  auto ownFill = linalg::FillOp::create(builder, fill.getLoc(),
                                        fill.getInputs(), buffer.getResult());
  insert.getDestMutable().assign(ownFill.getResult(0));
  if (fill->use_empty())
    fill->erase();
  if (empty->use_empty())
    empty->erase();
}

struct CPUHoistPadDestinationsPass final
    : lattice::impl::CPUHoistPadDestinationsPassBase<
          CPUHoistPadDestinationsPass> {
  void runOnOperation() override {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    SmallVector<tensor::InsertSliceOp> inserts;
    getOperation().walk(
        [&](tensor::InsertSliceOp insert) { inserts.push_back(insert); });
    for (tensor::InsertSliceOp insert : inserts)
      hoistDestination(insert, dominance);
  }
};
} // namespace
