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
/// Hoists the destination of `insert` above the producer of its source when
/// it is a fill of a value into an empty tensor, used once each.
void hoistDestination(tensor::InsertSliceOp insert, DominanceInfo &dominance) {
  auto fill = insert.getDest().getDefiningOp<linalg::FillOp>();
  if (!fill || !fill->hasOneUse() || fill->getBlock() != insert->getBlock())
    return;
  auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
  if (!empty || !empty->hasOneUse() || empty->getBlock() != fill->getBlock() ||
      !empty.getDynamicSizes().empty())
    return;
  Operation *producer = insert.getSource().getDefiningOp();
  if (!producer || producer->getBlock() != insert->getBlock() ||
      !producer->isBeforeInBlock(empty))
    return;
  if (!dominance.properlyDominates(fill.getInputs()[0], producer))
    return;
  empty->moveBefore(producer);
  fill->moveBefore(producer);
}

struct CPUHoistPadDestinationsPass final
    : lattice::impl::CPUHoistPadDestinationsPassBase<
          CPUHoistPadDestinationsPass> {
  void runOnOperation() override {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    getOperation().walk([&](tensor::InsertSliceOp insert) {
      hoistDestination(insert, dominance);
    });
  }
};
} // namespace
