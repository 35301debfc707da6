//===- LatticeToLinalg.cpp - Lower lattice ops to linalg ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The portable lowering of the `lattice` dialect: the type converter (quantized
// tensors become tensors of storage integers), the pattern sets, and the
// pass. The patterns live next to this file, one op family per file.
//
//===----------------------------------------------------------------------===//

#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "LoweringUtils.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CONVERTLATTICETOLINALGPASS
#include "lattice/Conversion/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

//===----------------------------------------------------------------------===//
// Type conversion
//===----------------------------------------------------------------------===//

LatticeTypeConverter::LatticeTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](RankedTensorType type) -> Type {
    if (auto quantType = dyn_cast<QuantType>(type.getElementType()))
      return type.clone(detail::getStorageType(quantType));
    return type;
  });
  // Values that cross between converted and unconverted code (an earlier
  // partial conversion, such as the CPU microkernel calls) go through casts
  // that cancel out once both sides are converted.
  auto cast = [](OpBuilder &builder, Type type, ValueRange inputs,
                 Location loc) -> Value {
    return UnrealizedConversionCastOp::create(builder, loc, type, inputs)
        .getResult(0);
  };
  addSourceMaterialization(cast);
  addTargetMaterialization(cast);
}

//===----------------------------------------------------------------------===//
// Pattern population
//===----------------------------------------------------------------------===//

void mlir::lattice::populateLatticeToLinalgConversionPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  detail::populateQuantOpLoweringPatterns(typeConverter, patterns);
  detail::populateMatmulLoweringPatterns(typeConverter, patterns);
  detail::populateNormLoweringPatterns(typeConverter, patterns);
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

/// True when both matmul operands are grouped, with different group sizes.
static bool hasMismatchedGroups(MatmulOp op) {
  auto lhs = dyn_cast<QuantType>(op.getLhs().getType().getElementType());
  auto rhs = dyn_cast<QuantType>(op.getRhs().getType().getElementType());
  return lhs && rhs && lhs.isPerGroup() && rhs.isPerGroup() &&
         lhs.getGroupSize() != rhs.getGroupSize();
}

namespace {
struct ConvertLatticeToLinalgPass final
    : lattice::impl::ConvertLatticeToLinalgPassBase<
          ConvertLatticeToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    LatticeTypeConverter typeConverter;
    // Ops whose lowering is not written yet: say which, rather than leave
    // half-converted IR behind. Besides lattice ops, that is any other op on
    // quantized tensors but the function ops, whose types are converted.
    WalkResult unsupported = module.walk([&](Operation *op) {
      if (!isa<LatticeDialect>(op->getDialect())) {
        // Casts left by an earlier partial conversion (microkernel calls)
        // are resolved with the function signatures.
        if (isa<func::FuncOp, func::CallOp, func::ReturnOp,
                UnrealizedConversionCastOp>(op) ||
            typeConverter.isLegal(op))
          return WalkResult::advance();
        op->emitOpError("on quantized tensors is not lowered by "
                        "convert-lattice-to-linalg yet");
        return WalkResult::interrupt();
      }
      if (isa<ChannelScaleOp, DequantizeOp, DynamicQuantizeOp, FakeQuantOp,
              LayerNormOp, NormalizeOp, ObserveOp, QuantizeOp, RequantizeOp,
              RmsNormOp, StorageCastOp>(op))
        return WalkResult::advance();
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        if (!hasMismatchedGroups(matmul))
          return WalkResult::advance();
        matmul.emitOpError("with lhs and rhs groups of different sizes is "
                           "not lowered by convert-lattice-to-linalg yet");
        return WalkResult::interrupt();
      }
      op->emitOpError("is not lowered by convert-lattice-to-linalg yet");
      return WalkResult::interrupt();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet decompositions(&getContext());
    populateLatticeDecompositionPatterns(decompositions);
    if (failed(applyPatternsGreedily(module, std::move(decompositions))))
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<LatticeDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return typeConverter.isLegal(op); });
    target.addLegalOp<UnrealizedConversionCastOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return typeConverter.isSignatureLegal(op.getFunctionType()) &&
             typeConverter.isLegal(&op.getBody());
    });

    RewritePatternSet patterns(&getContext());
    populateLatticeToLinalgConversionPatterns(typeConverter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(
        patterns, typeConverter);
    populateCallOpTypeConversionPattern(patterns, typeConverter);
    populateReturnOpTypeConversionPattern(patterns, typeConverter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
