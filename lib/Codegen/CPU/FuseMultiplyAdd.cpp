//===- FuseMultiplyAdd.cpp - Contractible reductions into vector.fma ------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// vector.multi_reduction <add> of a contractible product over outer
// dimensions becomes a chain of vector.fma, one per reduced position.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUFUSEMULTIPLYADDPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

namespace {
/// multi_reduction<add>(mulf{contract}(a, b), acc) over dimensions that do
/// not include the innermost one -> acc = fma(a[i], b[i], acc) for every
/// reduced position i, in row-major order.
struct ReductionOfProductToFma final
    : OpRewritePattern<vector::MultiDimReductionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getKind() != vector::CombiningKind::ADD)
      return failure();
    auto mul = op.getSource().getDefiningOp<arith::MulFOp>();
    // A product with other users would be computed twice.
    if (!mul || !mul->hasOneUse() ||
        !bitEnumContainsAll(mul.getFastmath(), arith::FastMathFlags::contract))
      return failure();
    VectorType sourceType = op.getSourceVectorType();
    auto resultType = dyn_cast<VectorType>(op.getDestType());
    int64_t rank = sourceType.getRank();
    SmallVector<bool> reduced = op.getReductionMask();
    if (!resultType || sourceType.isScalable() || reduced.back())
      return failure();

    // Reduced dimensions first, the kept ones (the result's shape) after.
    SmallVector<int64_t> permutation, reducedShape;
    for (int64_t dim = 0; dim < rank; ++dim)
      if (reduced[dim]) {
        permutation.push_back(dim);
        reducedShape.push_back(sourceType.getDimSize(dim));
      }
    for (int64_t dim = 0; dim < rank; ++dim)
      if (!reduced[dim])
        permutation.push_back(dim);
    Location loc = op.getLoc();
    auto transpose = [&](Value value) -> Value {
      return vector::TransposeOp::create(rewriter, loc, value, permutation);
    };
    Value lhs = transpose(mul.getLhs()), rhs = transpose(mul.getRhs());
    Value acc = op.getAcc();
    int64_t count = computeProduct(reducedShape);
    SmallVector<int64_t> strides = computeStrides(reducedShape);
    for (int64_t linear = 0; linear < count; ++linear) {
      SmallVector<int64_t> position = delinearize(linear, strides);
      Value a = vector::ExtractOp::create(rewriter, loc, lhs, position);
      Value b = vector::ExtractOp::create(rewriter, loc, rhs, position);
      acc = vector::FMAOp::create(rewriter, loc, a, b, acc);
    }
    rewriter.replaceOp(op, acc);
    return success();
  }
};

struct CPUFuseMultiplyAddPass final
    : lattice::impl::CPUFuseMultiplyAddPassBase<CPUFuseMultiplyAddPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReductionOfProductToFma>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
