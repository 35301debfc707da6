//===- CopyAliasedResults.cpp - One value per function result -------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Repeated and argument results are copied, so that bufferization gives
// every result (every out-parameter of the C ABI) a buffer of its own.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_COPYALIASEDRESULTSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

namespace {
struct CopyAliasedResultsPass final
    : lattice::impl::CopyAliasedResultsPassBase<CopyAliasedResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      llvm::SmallDenseSet<Value> returned;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value value = operand.get();
        auto type = dyn_cast<RankedTensorType>(value.getType());
        if (!type || !type.hasStaticShape())
          continue;
        bool repeated = !returned.insert(value).second;
        if (!repeated && !isa<BlockArgument>(value))
          continue;
        Value empty = tensor::EmptyOp::create(b, ret.getLoc(), type.getShape(),
                                              type.getElementType());
        auto copy = linalg::CopyOp::create(b, ret.getLoc(), value, empty);
        operand.set(copy.getResult(0));
      }
    });
  }
};
} // namespace
