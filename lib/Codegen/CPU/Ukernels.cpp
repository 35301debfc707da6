//===- Ukernels.cpp - Matmuls to calls of the runtime's microkernels ------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Float x 4-bit grouped matmuls with few rows (decode GEMVs) become calls of
// lattice_uk_matmul_f32_q4 (runtime/lattice_ukernels.h), which dequantizes
// with a table lookup across lanes that the vector dialect cannot express.
// The operands cross into the call as buffers, by address.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Ukernels.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/DialectConversion.h"

// The ABI of the microkernels: their flags.
#include "lattice_ukernels.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUUSEUKERNELSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

static constexpr StringLiteral kQ4Kernel = "lattice_uk_matmul_f32_q4";

/// The largest M the microkernel is used for: it dequantizes the weights
/// once per row of the activations.
static constexpr int64_t kMaxRows = 16;

bool mlir::lattice::isQ4UkernelCandidate(MatmulOp op) {
  RankedTensorType lhsType = op.getLhs().getType();
  RankedTensorType resultType = op.getType();
  auto rhs = dyn_cast<QuantType>(op.getRhs().getType().getElementType());
  if (!lhsType.getElementType().isF32() || lhsType.getRank() != 2 ||
      !lhsType.hasStaticShape() || lhsType.getDimSize(0) > kMaxRows ||
      !resultType.getElementType().isF32() ||
      !op.getRhs().getType().hasStaticShape() || !op.getAccumulator().isF32() ||
      !rhs)
    return false;
  bool fourBit =
      rhs.getBits() == 4 && (rhs.getStorageKind() == StorageKind::Signed ||
                             rhs.getStorageKind() == StorageKind::Unsigned);
  return fourBit && rhs.isPerGroup() && rhs.getAxis() == 1 &&
         rhs.getGroupSize() % 32 == 0 &&
         (rhs.getScaleType().isF16() || rhs.getScaleType().isF32());
}

namespace {
struct MatmulToQ4Ukernel final : OpConversionPattern<MatmulOp> {
  MatmulToQ4Ukernel(const TypeConverter &converter, MLIRContext *context,
                    int64_t numThreads)
      : OpConversionPattern(converter, context), numThreads(numThreads) {}

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isQ4UkernelCandidate(op))
      return failure();
    Location loc = op.getLoc();
    auto rhsType = cast<QuantType>(op.getRhs().getType().getElementType());
    ArrayRef<int64_t> lhsShape = op.getLhs().getType().getShape();
    int64_t m = lhsShape[0], k = lhsShape[1];
    int64_t n = op.getRhs().getType().getDimSize(0);
    Type i64 = rewriter.getI64Type();

    // Every operand by the address of its (read-only) buffer.
    auto address = [&](Value tensor) -> Value {
      auto type = cast<RankedTensorType>(tensor.getType());
      Value buffer = bufferization::ToBufferOp::create(
          rewriter, loc,
          MemRefType::get(type.getShape(), type.getElementType()), tensor,
          /*read_only=*/true);
      Value index =
          memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
      return arith::IndexCastOp::create(rewriter, loc, i64, index);
    };
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getI64IntegerAttr(value));
    };
    int64_t flags = 0;
    if (rhsType.getStorageKind() == StorageKind::Unsigned)
      flags |= LATTICE_UK_UNSIGNED;
    if (rhsType.getScaleType().isF16())
      flags |= LATTICE_UK_SCALE_F16;
    // A weight argument that the driver stored with rows interleaved.
    if (auto arg = dyn_cast<BlockArgument>(op.getRhs()))
      if (auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
        if (auto layout = func.getArgAttrOfType<StringAttr>(
                arg.getArgNumber(), kWeightLayoutAttrName);
            layout && layout.getValue() == kQ4Rows4Layout)
          flags |= LATTICE_UK_ROWS4;
    Value zeroPoint = constant(0);
    if (Value z = adaptor.getRhsZeroPoint()) {
      auto width = cast<RankedTensorType>(z.getType()).getElementTypeBitWidth();
      flags |= LATTICE_UK_ZERO_POINT |
               (int64_t(width) << LATTICE_UK_ZERO_POINT_SHIFT);
      zeroPoint = address(z);
    }

    auto resultType = MemRefType::get({m, n}, rewriter.getF32Type());
    Value result = memref::AllocOp::create(rewriter, loc, resultType,
                                           rewriter.getI64IntegerAttr(64));
    Value resultAddress = arith::IndexCastOp::create(
        rewriter, loc, i64,
        memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, result));
    SmallVector<Value> args = {address(adaptor.getLhs()),
                               address(adaptor.getRhs()),
                               address(adaptor.getRhsScale()),
                               zeroPoint,
                               resultAddress,
                               constant(m),
                               constant(n),
                               constant(k),
                               constant(rhsType.getGroupSize()),
                               constant(flags),
                               constant(numThreads)};
    func::CallOp::create(rewriter, loc, kQ4Kernel, TypeRange{}, args);
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, op.getType(), result, /*restrict=*/true, /*writable=*/true);
    return success();
  }

  int64_t numThreads;
};

struct CPUUseUkernelsPass final
    : lattice::impl::CPUUseUkernelsPassBase<CPUUseUkernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    bool any = false;
    module.walk([&](MatmulOp op) { any |= isQ4UkernelCandidate(op); });
    if (!any)
      return;

    // The kernel's declaration: eleven i64 (addresses, sizes, flags).
    if (!module.lookupSymbol(kQ4Kernel)) {
      OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
      SmallVector<Type> params(11, builder.getI64Type());
      auto decl = func::FuncOp::create(builder, module.getLoc(), kQ4Kernel,
                                       builder.getFunctionType(params, {}));
      decl.setPrivate();
    }

    // Quantized operands reach the call through casts to their storage
    // types; convert-lattice-to-linalg converts their producers and the
    // casts cancel out.
    LatticeTypeConverter typeConverter;
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect,
                           bufferization::BufferizationDialect,
                           func::FuncDialect, memref::MemRefDialect>();
    target.addDynamicallyLegalOp<MatmulOp>(
        [](MatmulOp op) { return !isQ4UkernelCandidate(op); });
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<MatmulToQ4Ukernel>(typeConverter, ctx,
                                    std::max<int64_t>(1, numThreads));
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    // The layouts are in the calls' flags now.
    module.walk([](func::FuncOp func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        func.removeArgAttr(i, kWeightLayoutAttrName);
    });
  }
};
} // namespace
