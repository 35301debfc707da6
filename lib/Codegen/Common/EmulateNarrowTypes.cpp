//===- EmulateNarrowTypes.cpp - Pack sub-byte integers in bytes -----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Sub-byte codes (i1, i2, i4) are logical element types up to bufferization;
// this pass gives them their in-memory layout: memrefs become flat i8 buffers
// holding the codes LSB-first, and their loads, stores and vector transfers
// become byte accesses with shifts and masks. The rewrites are upstream's
// narrow-type emulation; the vector ones are then simplified into shuffles.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/NarrowTypeEmulationConverter.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_EMULATENARROWTYPESPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

static bool isMultiDimSubByteMemRef(Type type) {
  auto memrefType = dyn_cast<MemRefType>(type);
  if (!memrefType || memrefType.getRank() < 2)
    return false;
  auto intType = dyn_cast<IntegerType>(memrefType.getElementType());
  return intType && intType.getWidth() < 8;
}

namespace {
/// The upstream rewrites read the static strides of the original memref
/// through memref.extract_strided_metadata and leave the op behind unused;
/// on a function argument no pattern resolves it. Erase it.
struct EraseUnusedStridedMetadata final
    : OpConversionPattern<memref::ExtractStridedMetadataOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(memref::ExtractStridedMetadataOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op->use_empty())
      return rewriter.notifyMatchFailure(op, "metadata is used");
    rewriter.eraseOp(op);
    return success();
  }
};

/// The address of a packed buffer is the address of its bytes (microkernel
/// calls pass buffers by address).
struct ConvertExtractAlignedPointer final
    : OpConversionPattern<memref::ExtractAlignedPointerAsIndexOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(memref::ExtractAlignedPointerAsIndexOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<memref::ExtractAlignedPointerAsIndexOp>(
        op, adaptor.getSource());
    return success();
  }
};

/// A constant global of sub-byte integers becomes a global of bytes holding
/// the packed codes (element i in bits [i*b, (i+1)*b), LSB first, as the
/// emulated loads read them); its uses follow through the type converter.
struct ConvertSubByteGlobal final : OpConversionPattern<memref::GlobalOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(memref::GlobalOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MemRefType type = op.getType();
    auto newType =
        dyn_cast_or_null<MemRefType>(getTypeConverter()->convertType(type));
    if (!newType || newType == type)
      return rewriter.notifyMatchFailure(op, "not a sub-byte memref");
    auto initial = dyn_cast_or_null<DenseIntElementsAttr>(
        op.getInitialValue().value_or(Attribute()));
    if (!initial || !type.hasStaticShape() || !newType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a constant global");
    unsigned width = type.getElementTypeBitWidth();
    SmallVector<uint8_t> bytes(newType.getNumElements(), 0);
    int64_t index = 0;
    for (const APInt &value : initial.getValues<APInt>()) {
      uint64_t bit = uint64_t(index++) * width;
      bytes[bit / 8] |= uint8_t(value.getZExtValue() << (bit % 8));
    }
    auto bytesType =
        RankedTensorType::get(newType.getShape(), newType.getElementType());
    rewriter.replaceOpWithNewOp<memref::GlobalOp>(
        op, op.getSymName(), op.getSymVisibilityAttr(), newType,
        DenseElementsAttr::get(bytesType, ArrayRef<uint8_t>(bytes)),
        op.getConstant(), op.getAlignmentAttr());
    return success();
  }
};

struct ConvertSubByteGetGlobal final
    : OpConversionPattern<memref::GetGlobalOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(memref::GetGlobalOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type newType = getTypeConverter()->convertType(op.getType());
    if (!newType)
      return rewriter.notifyMatchFailure(op, "unconvertible type");
    rewriter.replaceOpWithNewOp<memref::GetGlobalOp>(op, newType,
                                                     op.getNameAttr());
    return success();
  }
};

/// A vector load of sub-byte codes that carries an alignment starts on a
/// byte boundary (lattice-gpu-distribute sets one on such loads alone): it
/// becomes one aligned load of the bytes holding the codes. Upstream's
/// rewrite drops the alignment and, for indices it cannot prove byte
/// aligned, reads byte by byte.
struct ConvertAlignedSubByteVectorLoad final
    : OpConversionPattern<vector::LoadOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(vector::LoadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    VectorType type = op.getVectorType();
    auto element = dyn_cast<IntegerType>(type.getElementType());
    auto bytes = dyn_cast<MemRefType>(adaptor.getBase().getType());
    if (!op.getAlignment() || !element || element.getWidth() >= 8 ||
        8 % element.getWidth() != 0 || type.getRank() != 1 ||
        type.getNumElements() * element.getWidth() % 8 != 0 || !bytes ||
        bytes.getRank() != 1 || !bytes.getElementType().isInteger(8) ||
        adaptor.getIndices().size() != 1)
      return rewriter.notifyMatchFailure(op, "not an aligned 1-D load");
    Location loc = op.getLoc();
    int64_t perByte = 8 / element.getWidth();
    Value index = arith::DivUIOp::create(
        rewriter, loc, adaptor.getIndices().front(),
        arith::ConstantIndexOp::create(rewriter, loc, perByte));
    auto load = vector::LoadOp::create(
        rewriter, loc,
        VectorType::get({type.getNumElements() / perByte},
                        bytes.getElementType()),
        adaptor.getBase(), index, op.getNontemporal(),
        llvm::MaybeAlign(*op.getAlignment()));
    rewriter.replaceOpWithNewOp<vector::BitCastOp>(op, type, load);
    return success();
  }
};

/// One code of a vector of codes unpacked from bytes, `vector.extract
/// (vector.bitcast %bytes)[i]`, is a shift of the 32-bit word holding it:
/// backends unpack codes from a register better than from a vector of i4.
struct ExtractSubByteCode final : OpRewritePattern<vector::ExtractOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::ExtractOp op,
                                PatternRewriter &rewriter) const override {
    auto bitcast = op.getSource().getDefiningOp<vector::BitCastOp>();
    auto code = dyn_cast<IntegerType>(op.getResult().getType());
    if (!bitcast || !code || code.getWidth() >= 8 ||
        bitcast.getResultVectorType().getRank() != 1 ||
        !bitcast.getSourceVectorType().getElementType().isInteger(8) ||
        op.hasDynamicPosition())
      return rewriter.notifyMatchFailure(op, "not a code of bytes");
    Location loc = op.getLoc();
    int64_t numBits = bitcast.getSourceVectorType().getNumElements() * 8;
    int64_t word = numBits % 32 == 0 ? 32 : numBits % 16 == 0 ? 16 : 8;
    int64_t bit = op.getStaticPosition()[0] * code.getWidth();
    auto wordType = rewriter.getIntegerType(word);
    Value words = vector::BitCastOp::create(
        rewriter, loc, VectorType::get({numBits / word}, wordType),
        bitcast.getSource());
    Value value = vector::ExtractOp::create(rewriter, loc, words, bit / word);
    if (bit % word != 0)
      value = arith::ShRUIOp::create(
          rewriter, loc, value,
          arith::ConstantIntOp::create(rewriter, loc, wordType, bit % word));
    rewriter.replaceOpWithNewOp<arith::TruncIOp>(op, code, value);
    return success();
  }
};

struct EmulateNarrowTypesPass final
    : lattice::impl::EmulateNarrowTypesPassBase<EmulateNarrowTypesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // Transfers become 1-D loads and stores (masked where they were), the
    // forms that the emulation rewrites.
    RewritePatternSet transferPatterns(ctx);
    vector::populateVectorTransferLoweringPatterns(transferPatterns,
                                                   /*maxTransferRank=*/1);
    if (failed(applyPatternsGreedily(module, std::move(transferPatterns))))
      return signalPassFailure();

    // The vector emulation needs 1-D memrefs: accesses to sub-byte memrefs
    // are first rewritten onto flat views of them.
    SmallVector<Operation *> subByteAccesses;
    module.walk([&](Operation *op) {
      if (isa<vector::LoadOp, vector::StoreOp, vector::MaskedLoadOp,
              vector::MaskedStoreOp, memref::LoadOp, memref::StoreOp>(op) &&
          llvm::any_of(op->getOperandTypes(), isMultiDimSubByteMemRef))
        subByteAccesses.push_back(op);
    });
    RewritePatternSet flattenPatterns(ctx);
    memref::populateFlattenVectorOpsOnMemrefPatterns(flattenPatterns);
    memref::populateFlattenMemrefOpsPatterns(flattenPatterns);
    if (failed(applyOpPatternsGreedily(subByteAccesses,
                                       std::move(flattenPatterns))))
      return signalPassFailure();

    // Memory is addressed in bytes; arithmetic on the codes keeps its types.
    arith::NarrowTypeEmulationConverter typeConverter(/*targetBitwidth=*/8);
    memref::populateMemRefNarrowTypeEmulationConversions(typeConverter);

    ConversionTarget target(*ctx);
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return typeConverter.isSignatureLegal(op.getFunctionType()) &&
             typeConverter.isLegal(&op.getBody());
    });
    auto isLegal = [&](Operation *op) { return typeConverter.isLegal(op); };
    target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp>(isLegal);
    target.addDynamicallyLegalDialect<
        arith::ArithDialect, vector::VectorDialect, memref::MemRefDialect,
        affine::AffineDialect>(isLegal);
    target.addDynamicallyLegalOp<memref::GlobalOp>([&](memref::GlobalOp op) {
      return typeConverter.isLegal(op.getType());
    });

    RewritePatternSet patterns(ctx);
    patterns.add<EraseUnusedStridedMetadata, ConvertAlignedSubByteVectorLoad>(
        typeConverter, ctx, /*benefit=*/2);
    patterns.add<ConvertExtractAlignedPointer, ConvertSubByteGetGlobal,
                 ConvertSubByteGlobal>(typeConverter, ctx);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(
        patterns, typeConverter);
    populateCallOpTypeConversionPattern(patterns, typeConverter);
    populateReturnOpTypeConversionPattern(patterns, typeConverter);
    arith::populateArithNarrowTypeEmulationPatterns(typeConverter, patterns);
    memref::populateMemRefNarrowTypeEmulationPatterns(typeConverter, patterns);
    vector::populateVectorNarrowTypeEmulationPatterns(typeConverter, patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();

    // bitcast + extsi/extui/sitofp of i4 and i2 vectors into shuffles and
    // shifts that the backend turns into a few byte instructions.
    RewritePatternSet rewrites(ctx);
    vector::populateVectorNarrowTypeRewritePatterns(rewrites);
    rewrites.add<ExtractSubByteCode>(ctx);
    if (failed(applyPatternsGreedily(module, std::move(rewrites))))
      return signalPassFailure();
  }
};
} // namespace
