//===- FuseElementwise.cpp - Elementwise fusion, not through broadcasts ---===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Upstream's elementwise fusion of linalg ops with a control that keeps
// producers read through a broadcast (per-row values) out of their
// consumers, where they would be recomputed for every element.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUFUSEELEMENTWISEPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

/// Upstream's rule: a producer with a single use.
static bool hasSingleUseProducer(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  return producer && producer->hasOneUse();
}

/// Upstream's rule, and the consumer reads every element of the producer's
/// result once (its indexing map for the operand is a permutation).
static bool isFusedWithoutRecomputation(OpOperand *operand) {
  if (!hasSingleUseProducer(operand))
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  return !consumer || consumer.getMatchingIndexingMap(operand).isPermutation();
}

/// Whether `op` reads a tensor of sub-byte codes.
static bool readsSubByteCodes(Operation *op) {
  return op && llvm::any_of(op->getOperandTypes(), [](Type type) {
           auto element = dyn_cast<IntegerType>(getElementTypeOrSelf(type));
           return element && element.getWidth() < 8;
         });
}

/// Upstream's rule, except for reshapes around an op that reads sub-byte
/// codes: a run of codes flattened to be read in one piece (the widening of
/// a shorter last group's codes) stays flat, since rows of codes need not
/// start on a byte, where vector loads of a row would have to.
static bool foldsReshape(OpOperand *operand) {
  return hasSingleUseProducer(operand) &&
         !readsSubByteCodes(operand->get().getDefiningOp()) &&
         !readsSubByteCodes(operand->getOwner());
}

namespace {
struct CPUFuseElementwisePass final
    : lattice::impl::CPUFuseElementwisePassBase<CPUFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns,
                                                 isFusedWithoutRecomputation);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, foldsReshape);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns,
                                                 hasSingleUseProducer);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
