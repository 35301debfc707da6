//===- LatticeOps.cpp - Lattice operations --------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Verifiers and folders of the `lattice` operations. Every invariant that the
// ops' documentation lists is checked here, so that passes and lowerings can
// rely on it; each message has a case in test/Dialect/Lattice/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace mlir::lattice;

//===----------------------------------------------------------------------===//
// Shared verification helpers
//===----------------------------------------------------------------------===//

/// Checks the constant values of a scale tensor, when it is a constant: each
/// scale must be finite, positive and a normal f32 (its reciprocal is used in
/// f32 arithmetic).
static LogicalResult verifyConstantScales(Operation *op, StringRef role,
                                          Value scale) {
  DenseFPElementsAttr values;
  if (!matchPattern(scale, m_Constant(&values)))
    return success();
  int64_t count = values.isSplat() ? 1 : values.getNumElements();
  auto it = values.value_begin<APFloat>();
  for (int64_t index = 0; index < count; ++index, ++it) {
    double value = (*it).convertToDouble();
    // NaN fails both comparisons, so test for it explicitly.
    if (!std::isfinite(value) || value < double(FLT_MIN))
      return op->emitOpError()
             << role << "scale " << formatNumber(value) << " at index " << index
             << " is not a finite, positive, normal f32 value";
  }
  return success();
}

/// Checks the constant values of a zero-point tensor, when it is a constant:
/// each must lie in the storage range of `quantType`.
static LogicalResult verifyConstantZeroPoints(Operation *op, StringRef role,
                                              Value zeroPoint,
                                              QuantType quantType) {
  DenseIntElementsAttr values;
  if (!matchPattern(zeroPoint, m_Constant(&values)))
    return success();
  int64_t qmin = quantType.getStorageMin(), qmax = quantType.getStorageMax();
  int64_t count = values.isSplat() ? 1 : values.getNumElements();
  auto it = values.value_begin<APInt>();
  for (int64_t index = 0; index < count; ++index, ++it) {
    int64_t value = (*it).getSExtValue();
    if (value < qmin || value > qmax)
      return op->emitOpError() << role << "zero point " << value << " at index "
                               << index << " is outside the storage range ["
                               << qmin << ", " << qmax << "]";
  }
  return success();
}

/// Verifies the scale and zero point that accompany a quantized tensor of
/// type `tensorType`: the scheme fits the shape, the scale has the type the
/// scheme implies, and the zero point is present exactly when the scheme is
/// asymmetric, with the scale's shape and a wide enough element type. `role`
/// prefixes every message (e.g. "rhs ").
static LogicalResult verifyQuantParams(Operation *op, StringRef role,
                                       RankedTensorType tensorType, Value scale,
                                       Value zeroPoint) {
  auto quantType = cast<QuantType>(tensorType.getElementType());
  auto emitError = [&]() { return op->emitOpError() << role; };
  if (failed(quantType.verifyForShape(emitError, tensorType.getShape())))
    return failure();

  auto expectedScaleType = RankedTensorType::get(
      quantType.getScaleShape(tensorType.getShape()), quantType.getScaleType());
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (scaleType.getElementType() != expectedScaleType.getElementType() ||
      failed(verifyCompatibleShape(scaleType, expectedScaleType)))
    return emitError() << "scale type " << scaleType << " does not match "
                       << expectedScaleType << " implied by the scheme";
  if (failed(verifyConstantScales(op, role, scale)))
    return failure();

  if (quantType.getSymmetric()) {
    if (zeroPoint)
      return emitError() << "symmetric scheme takes no zero point";
    return success();
  }
  if (!zeroPoint)
    return emitError() << "asymmetric scheme requires a zero point";
  auto zeroPointType = cast<RankedTensorType>(zeroPoint.getType());
  if (failed(verifyCompatibleShape(zeroPointType, expectedScaleType)))
    return emitError() << "zero point type " << zeroPointType
                       << " does not have the scale's shape";
  // Zero points are read as signed integers of their width (8 to 64 bits, as
  // the operand constraint guarantees).
  unsigned width = zeroPointType.getElementTypeBitWidth();
  int64_t qmin = quantType.getStorageMin(), qmax = quantType.getStorageMax();
  bool fits = width == 64 || (qmin >= -(int64_t(1) << (width - 1)) &&
                              qmax <= (int64_t(1) << (width - 1)) - 1);
  if (!fits)
    return emitError() << "zero point element type "
                       << zeroPointType.getElementType()
                       << " cannot hold the storage range [" << qmin << ", "
                       << qmax << "]";
  return verifyConstantZeroPoints(op, role, zeroPoint, quantType);
}

/// Verifies that `result` has the shape of `input`.
static LogicalResult verifySameShape(Operation *op, Type input, Type result) {
  auto inputShape = cast<ShapedType>(input).getShape();
  auto resultShape = cast<ShapedType>(result).getShape();
  if (inputShape != resultShape)
    return op->emitOpError("input and result shapes must match");
  return success();
}

/// Verifies a 1-D parameter vector (norm weight or bias, channel scale) that
/// multiplies dimension `axis` of `input`.
static LogicalResult verifyChannelVector(Operation *op, StringRef name,
                                         Value vector, RankedTensorType input,
                                         int64_t axis) {
  auto vectorType = cast<RankedTensorType>(vector.getType());
  if (vectorType.getRank() != 1)
    return op->emitOpError()
           << name << " must be a 1-D tensor, got " << vectorType;
  int64_t size = vectorType.getDimSize(0), dim = input.getDimSize(axis);
  if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(dim) &&
      size != dim)
    return op->emitOpError()
           << name << " has " << size << " elements but dimension " << axis
           << " of the input has " << dim;
  if (vectorType.getElementType() != input.getElementType())
    return op->emitOpError()
           << name << " element type " << vectorType.getElementType()
           << " does not match the input element type "
           << input.getElementType();
  return success();
}

/// Verifies the input and epsilon of an op that normalises over the last
/// dimension.
static LogicalResult verifyNormalizedInput(Operation *op,
                                           RankedTensorType input,
                                           const APFloat &epsilon) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  if (input.getShape().back() == 0)
    return op->emitOpError("normalized (last) dimension must not be empty");
  if (!epsilon.isFiniteNonZero() || epsilon.isNegative())
    return op->emitOpError() << "epsilon must be finite and positive, got "
                             << formatNumber(epsilon.convertToDouble());
  return success();
}

/// Returns true when `a` and `b` are the same value or equal constants.
static bool isSameValue(Value a, Value b) {
  if (a == b)
    return true;
  Attribute attrA, attrB;
  return a && b && matchPattern(a, m_Constant(&attrA)) &&
         matchPattern(b, m_Constant(&attrB)) && attrA == attrB;
}

//===----------------------------------------------------------------------===//
// QuantizeOp, DynamicQuantizeOp, DequantizeOp, RequantizeOp, FakeQuantOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  if (failed(verifySameShape(*this, getInput().getType(), getType())))
    return failure();
  return verifyQuantParams(*this, "", getType(), getScale(), getZeroPoint());
}

LogicalResult DynamicQuantizeOp::verify() {
  if (failed(
          verifySameShape(*this, getInput().getType(), getResult().getType())))
    return failure();
  return verifyQuantParams(*this, "", getResult().getType(), getScale(),
                           getZeroPoint());
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifySameShape(*this, getInput().getType(), getType())))
    return failure();
  return verifyQuantParams(*this, "", getInput().getType(), getScale(),
                           getZeroPoint());
}

LogicalResult RequantizeOp::verify() {
  if (failed(verifySameShape(*this, getInput().getType(), getType())) ||
      failed(verifyQuantParams(*this, "input ", getInput().getType(),
                               getInputScale(), getInputZeroPoint())))
    return failure();
  return verifyQuantParams(*this, "output ", getType(), getOutputScale(),
                           getOutputZeroPoint());
}

OpFoldResult RequantizeOp::fold(FoldAdaptor) {
  // Same scheme and same scale/zero-point values: every code maps to itself.
  if (getInput().getType() == getType() &&
      isSameValue(getInputScale(), getOutputScale()) &&
      isSameValue(getInputZeroPoint(), getOutputZeroPoint()))
    return getInput();
  return {};
}

LogicalResult FakeQuantOp::verify() {
  auto quantType =
      RankedTensorType::get(getInput().getType().getShape(), getScheme());
  return verifyQuantParams(*this, "", quantType, getScale(), getZeroPoint());
}

StringRef mlir::lattice::getSafetensorsDType(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  if (type.isInteger(8))
    return "I8";
  if (type.isInteger(32))
    return "I32";
  return "";
}

Value mlir::lattice::createFloatConstant(OpBuilder &b, Location loc,
                                         RankedTensorType type,
                                         ArrayRef<float> values) {
  auto elementType = cast<FloatType>(type.getElementType());
  SmallVector<APFloat> converted;
  converted.reserve(values.size());
  for (float x : values) {
    APFloat value(x);
    bool losesInfo = false;
    value.convert(elementType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
    converted.push_back(value);
  }
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, converted));
}

std::pair<Value, Value> mlir::lattice::createQuantParamConstants(
    OpBuilder &b, Location loc, QuantType type, ArrayRef<int64_t> shape,
    ArrayRef<float> scales, ArrayRef<int64_t> zeroPoints) {
  auto scaleType =
      RankedTensorType::get(type.getScaleShape(shape), type.getScaleType());
  Value scale = createFloatConstant(b, loc, scaleType, scales);
  if (type.getSymmetric())
    return {scale, Value()};
  IntegerType zpType =
      type.getStorageMax() <= 127 ? b.getI8Type() : b.getI16Type();
  SmallVector<APInt> values;
  for (int64_t zp : zeroPoints)
    values.push_back(APInt(zpType.getWidth(), zp, /*isSigned=*/true));
  Value zeroPoint = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(scaleType.clone(zpType), values));
  return {scale, zeroPoint};
}

namespace {
/// quantize(constant, constant scale[, constant zero point]) becomes a
/// constant of codes: the quantization of constants at compile time.
struct QuantizeConstant final : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shape");
    std::optional<std::vector<float>> values = getConstantFloats(op.getInput());
    std::optional<std::vector<float>> scales = getConstantFloats(op.getScale());
    if (!values || !scales)
      return rewriter.notifyMatchFailure(op, "input or scale not constant");
    std::vector<int64_t> zeroPoints;
    if (Value zeroPoint = op.getZeroPoint()) {
      std::optional<std::vector<int64_t>> constant = getConstantInts(zeroPoint);
      if (!constant)
        return rewriter.notifyMatchFailure(op, "zero point not constant");
      zeroPoints = std::move(*constant);
    }
    auto quantType = cast<QuantType>(type.getElementType());
    std::vector<int64_t> codes =
        quantizeTensor(quantType.getScheme(), type.getShape(), *values, *scales,
                       zeroPoints, op.getRounding());
    SmallVector<int8_t> bytes(codes.begin(), codes.end());
    Value constant = createCodeConstant(rewriter, op.getLoc(),
                                        type.clone(rewriter.getI8Type()),
                                        ArrayRef<int8_t>(bytes));
    rewriter.replaceOpWithNewOp<StorageCastOp>(op, type, constant);
    return success();
  }
};
} // namespace

void QuantizeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                             MLIRContext *context) {
  results.add<QuantizeConstant>(context);
}

//===----------------------------------------------------------------------===//
// StorageCastOp
//===----------------------------------------------------------------------===//

LogicalResult StorageCastOp::verify() {
  RankedTensorType inputType = getInput().getType(), resultType = getType();
  auto inputQuant = dyn_cast<QuantType>(inputType.getElementType());
  auto resultQuant = dyn_cast<QuantType>(resultType.getElementType());
  if (bool(inputQuant) == bool(resultQuant))
    return emitOpError("casts between an i8 tensor and a quantized tensor, "
                       "got ")
           << inputType << " to " << resultType;
  if (failed(verifySameShape(*this, inputType, resultType)))
    return failure();
  QuantType quantType = inputQuant ? inputQuant : resultQuant;
  RankedTensorType quantTensor = inputQuant ? inputType : resultType;
  if (failed(quantType.verifyForShape([&]() { return emitOpError(); },
                                      quantTensor.getShape())))
    return failure();
  DenseIntElementsAttr codes;
  if (inputQuant || !matchPattern(getInput(), m_Constant(&codes)))
    return success();
  QuantScheme scheme = quantType.getScheme();
  bool isUnsigned = scheme.storageKind == StorageKind::Unsigned;
  int64_t count = codes.isSplat() ? 1 : codes.getNumElements();
  auto it = codes.value_begin<APInt>();
  for (int64_t index = 0; index < count; ++index, ++it) {
    int64_t code =
        isUnsigned ? int64_t((*it).getZExtValue()) : (*it).getSExtValue();
    if (!scheme.isValidCode(code))
      return emitOpError() << "code " << code << " at index " << index
                           << " is outside the storage range of " << quantType;
  }
  return success();
}

OpFoldResult StorageCastOp::fold(FoldAdaptor) {
  // scast(scast(x)) back to x's type is x.
  if (auto producer = getInput().getDefiningOp<StorageCastOp>())
    if (producer.getInput().getType() == getType())
      return producer.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

/// Verifies one operand of a matmul with its scale and zero point.
static LogicalResult verifyMatmulOperand(MatmulOp op, StringRef role,
                                         Value operand, Value scale,
                                         Value zeroPoint) {
  auto type = cast<RankedTensorType>(operand.getType());
  auto quantType = dyn_cast<QuantType>(type.getElementType());
  if (!quantType) {
    if (scale || zeroPoint)
      return op.emitOpError()
             << role << "is a float tensor and takes no scale or zero point";
    return success();
  }
  if (!scale)
    return op.emitOpError() << role << "is quantized and needs a scale";
  int64_t kAxis = type.getRank() - 1;
  // A scale that varies along K cannot be factored out of the reduction.
  if (quantType.isPerChannel() && quantType.getAxis() == kAxis)
    return op.emitOpError()
           << role << "per-channel scales must not vary along K (axis " << kAxis
           << "); use groups along K";
  if (quantType.isPerGroup() && quantType.getAxis() != kAxis)
    return op.emitOpError()
           << role << "groups must run along K (axis " << kAxis << ")";
  return verifyQuantParams(op, role, type, scale, zeroPoint);
}

/// Verifies that the integer accumulator cannot overflow.
static LogicalResult verifyIntegerAccumulator(MatmulOp op, QuantType lhs,
                                              QuantType rhs, int64_t k) {
  auto accType = dyn_cast<IntegerType>(op.getAccumulator());
  if (!accType || !accType.isSignless() ||
      (accType.getWidth() != 32 && accType.getWidth() != 64))
    return op.emitOpError("quantized operands need an i32 or i64 "
                          "accumulator, got ")
           << op.getAccumulator();
  // The longest run of K that shares one pair of scales.
  int64_t run = k;
  for (QuantType type : {lhs, rhs})
    if (type.isPerGroup())
      run = ShapedType::isDynamic(run) ? type.getGroupSize()
                                       : std::min(run, type.getGroupSize());
  if (ShapedType::isDynamic(run))
    return op.emitOpError("integer accumulation needs a static contraction "
                          "dimension to bound the accumulator");
  int64_t lhsMax = lhs.getScheme().getMaxCodeMagnitude();
  int64_t rhsMax = rhs.getScheme().getMaxCodeMagnitude();
  std::optional<int64_t> bound = llvm::checkedMul(run, lhsMax);
  if (bound)
    bound = llvm::checkedMul(*bound, rhsMax);
  int64_t limit = accType.getWidth() == 32 ? INT32_MAX : INT64_MAX;
  if (!bound || *bound > limit)
    return op.emitOpError()
           << "accumulator " << accType << " can overflow: " << run
           << " products of magnitude up to " << lhsMax << " x " << rhsMax
           << " exceed its range";
  return success();
}

LogicalResult MatmulOp::verify() {
  RankedTensorType lhsType = getLhs().getType(), rhsType = getRhs().getType();
  if (rhsType.getRank() != 2)
    return emitOpError("rhs must have rank 2 ([N, K]), got rank ")
           << rhsType.getRank();
  if (lhsType.getRank() < 1)
    return emitOpError("lhs must have rank >= 1");
  int64_t lhsK = lhsType.getShape().back(), rhsK = rhsType.getDimSize(1);
  if (!ShapedType::isDynamic(lhsK) && !ShapedType::isDynamic(rhsK) &&
      lhsK != rhsK)
    return emitOpError("contraction dimension mismatch: lhs has K = ")
           << lhsK << ", rhs has K = " << rhsK;

  SmallVector<int64_t> expectedShape(lhsType.getShape());
  expectedShape.back() = rhsType.getDimSize(0);
  RankedTensorType resultType = getType();
  if (failed(verifyCompatibleShape(resultType.getShape(), expectedShape)))
    return emitOpError("result type ")
           << resultType << " does not have the shape "
           << RankedTensorType::get(expectedShape, resultType.getElementType())
           << " of lhs with its last dimension replaced by N";

  if (failed(verifyMatmulOperand(*this, "lhs ", getLhs(), getLhsScale(),
                                 getLhsZeroPoint())) ||
      failed(verifyMatmulOperand(*this, "rhs ", getRhs(), getRhsScale(),
                                 getRhsZeroPoint())))
    return failure();

  auto lhsQuant = dyn_cast<QuantType>(lhsType.getElementType());
  auto rhsQuant = dyn_cast<QuantType>(rhsType.getElementType());
  if (lhsQuant && rhsQuant) {
    // A shorter last group is lowered as a whole one padded with zero
    // codes, whose products vanish only where one side has no zero point.
    int64_t k = ShapedType::isDynamic(lhsK) ? rhsK : lhsK;
    for (QuantType type : {lhsQuant, rhsQuant})
      if (type.isPerGroup() && !ShapedType::isDynamic(k) &&
          k % type.getGroupSize() != 0 && getLhsZeroPoint() &&
          getRhsZeroPoint())
        return emitOpError("groups of ")
               << type.getGroupSize()
               << " leave a shorter last group of K = " << k
               << ", which needs lhs or rhs without a zero point";
    return verifyIntegerAccumulator(*this, lhsQuant, rhsQuant, k);
  }
  if (!getAccumulator().isF32())
    return emitOpError("float accumulation needs an f32 accumulator, got ")
           << getAccumulator();
  return success();
}

//===----------------------------------------------------------------------===//
// ChannelScaleOp, RmsNormOp, LayerNormOp, NormalizeOp
//===----------------------------------------------------------------------===//

LogicalResult ChannelScaleOp::verify() {
  RankedTensorType inputType = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= inputType.getRank())
    return emitOpError() << "axis " << axis << " is out of range for rank "
                         << inputType.getRank();
  return verifyChannelVector(*this, "scale", getScale(), inputType, axis);
}

OpFoldResult ChannelScaleOp::fold(FoldAdaptor adaptor) {
  auto scale = dyn_cast_or_null<SplatElementsAttr>(adaptor.getScale());
  if (scale && scale.getSplatValue<APFloat>().isExactlyValue(1.0))
    return getInput();
  return {};
}

LogicalResult RmsNormOp::verify() {
  RankedTensorType inputType = getInput().getType();
  if (failed(verifyNormalizedInput(*this, inputType, getEpsilon())))
    return failure();
  return verifyChannelVector(*this, "weight", getWeight(), inputType,
                             inputType.getRank() - 1);
}

LogicalResult LayerNormOp::verify() {
  RankedTensorType inputType = getInput().getType();
  int64_t lastAxis = inputType.getRank() - 1;
  if (failed(verifyNormalizedInput(*this, inputType, getEpsilon())) ||
      failed(verifyChannelVector(*this, "weight", getWeight(), inputType,
                                 lastAxis)))
    return failure();
  if (!getBias())
    return success();
  return verifyChannelVector(*this, "bias", getBias(), inputType, lastAxis);
}

LogicalResult NormalizeOp::verify() {
  return verifyNormalizedInput(*this, getInput().getType(), getEpsilon());
}

//===----------------------------------------------------------------------===//
// ObserveOp, WeightOp
//===----------------------------------------------------------------------===//

LogicalResult ObserveOp::verify() {
  if (getName().empty())
    return emitOpError("name must not be empty");
  std::optional<int64_t> axis = getChannelAxis();
  int64_t rank = getInput().getType().getRank();
  if (axis && (*axis < 0 || *axis >= rank))
    return emitOpError() << "channel_axis " << *axis
                         << " is out of range for rank " << rank;
  return success();
}

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("name must not be empty");
  if (getFile().empty())
    return emitOpError("file must not be empty");
  RankedTensorType type = getType();
  if (!type.hasStaticShape())
    return emitOpError("external weights need a static shape, got ") << type;
  if (auto quantType = dyn_cast<QuantType>(type.getElementType()))
    return quantType.verifyForShape([&]() { return emitOpError(); },
                                    type.getShape());
  return success();
}

#define GET_OP_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeOps.cpp.inc"
