//===- HoistVectorTransfers.cpp - Keep accumulators in registers ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUHOISTVECTORTRANSFERSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

namespace {
struct CPUHoistVectorTransfersPass final
    : lattice::impl::CPUHoistVectorTransfersPassBase<
          CPUHoistVectorTransfersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    linalg::hoistRedundantVectorBroadcasts(rewriter, func);
    // Only out of loops known to run: a hoisted read-write pair around a
    // loop that runs zero times would still write, which is wrong inside a
    // parallel loop whose threads own other parts of the buffer.
    linalg::hoistRedundantVectorTransfers(func, /*verifyNonZeroTrip=*/true);
  }
};
} // namespace
