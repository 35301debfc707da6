//===- ExactMath.cpp - Correctly rounded square roots in kernels ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// libdevice's square roots are approximations unless a reflection parameter
// that MLIR does not set asks otherwise; the CPU's are correctly rounded.
// Kernels take LLVM's intrinsic instead, which NVPTX lowers to sqrt.rn, so
// that the GPU computes what the CPU computes.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_GPUEXACTMATHPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

/// sqrt(`x`) correctly rounded: NVVM's sqrt.rn intrinsic on a scalar, one
/// per element of a 1-D vector; null for other types.
static Value createExactSqrt(OpBuilder &b, Location loc, Value x) {
  Type type = x.getType();
  if (auto vector = dyn_cast<VectorType>(type)) {
    if (vector.getRank() != 1 || vector.isScalable())
      return {};
    Value result =
        arith::ConstantOp::create(b, loc, vector, b.getZeroAttr(vector));
    for (int64_t i = 0, e = vector.getDimSize(0); i < e; ++i) {
      Value root = createExactSqrt(
          b, loc, vector::ExtractOp::create(b, loc, x, i).getResult());
      if (!root)
        return {};
      result = vector::InsertOp::create(b, loc, root, result, i);
    }
    return result;
  }
  StringRef intrinsic = type.isF32()   ? "llvm.nvvm.sqrt.rn.f"
                        : type.isF64() ? "llvm.nvvm.sqrt.rn.d"
                                       : "";
  if (intrinsic.empty())
    return {};
  return LLVM::CallIntrinsicOp::create(b, loc, type, b.getStringAttr(intrinsic),
                                       x)
      .getResult(0);
}

namespace {
struct GPUExactMathPass final
    : lattice::impl::GPUExactMathPassBase<GPUExactMathPass> {
  void runOnOperation() override {
    SmallVector<Operation *> roots;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::SqrtOp, math::RsqrtOp>(op))
        roots.push_back(op);
    });
    for (Operation *op : roots) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value operand = op->getOperand(0);
      Value root = createExactSqrt(b, loc, operand);
      if (!root)
        continue; // (f16 and bf16: libdevice has no approximation there.)
      if (isa<math::RsqrtOp>(op)) {
        // 1 / sqrt(x), each correctly rounded, as convert-math-to-llvm
        // computes it on the CPU.
        Value one = arith::ConstantOp::create(b, loc, operand.getType(),
                                              b.getOneAttr(operand.getType()));
        root = arith::DivFOp::create(b, loc, one, root);
      }
      op->getResult(0).replaceAllUsesWith(root);
      op->erase();
    }
  }
};
} // namespace
