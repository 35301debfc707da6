//===- Ukernels.cpp - Matmuls to calls of the runtime's microkernels ------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Matmuls become calls of the runtime's microkernels
// (runtime/lattice_ukernels.h): packed GEMM for f32 and 4-bit weights with
// enough rows (and for attention's batched contractions and im2col
// convolutions), VNNI GEMM for 8-bit operands, and the W4A16 GEMV, whose
// table lookup across lanes the vector dialect cannot express; so do the
// window ops of CNNs (grouped and depthwise convolutions, pooling), whose
// strided windows linalg's vectorizer does not take. The operands cross into
// the call as buffers, by address (a contraction's read in place through
// slices, reshapes and transposes); the result is a fresh buffer.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Ukernels.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Conversion/LatticeToLinalg/LatticeToLinalg.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

// The ABI of the microkernels: their flags.
#include "lattice_ukernels.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUUSEUKERNELSPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// The microkernels and their number of i64 parameters.
static constexpr StringLiteral kQ4Gemv = "lattice_uk_matmul_f32_q4";
static constexpr StringLiteral kGemmF32 = "lattice_uk_gemm_f32";
static constexpr StringLiteral kGemmF32Q4 = "lattice_uk_gemm_f32_q4";
static constexpr StringLiteral kGemmS8 = "lattice_uk_gemm_s8";
static constexpr StringLiteral kConvF32 = kConvF32Kernel;
static constexpr StringLiteral kConvS8 = "lattice_uk_conv2d_s8";
static constexpr StringLiteral kWindowF32 = kWindowF32Kernel;
static constexpr std::pair<StringLiteral, unsigned> kKernels[] = {
    {kQ4Gemv, 11},  {kGemmF32, 16}, {kGemmF32Q4, 11}, {kGemmS8, 11},
    {kConvF32, 22}, {kConvS8, 22},  {kWindowF32, 23}};

/// The largest M the W4A16 GEMV is used for: it dequantizes the weights once
/// per row of the activations.
static constexpr int64_t kMaxGemvRows = 16;

/// The smallest M the packed GEMMs are used for: they pack (and dequantize)
/// every weight once per call, which a few rows do not repay.
static constexpr int64_t kMinGemmRows = 8;

/// The vector width the GEMM microkernels need (AVX2); the W4A16 GEMV needs
/// AVX-512.
static constexpr unsigned kGemmVectorBits = 256;
static constexpr unsigned kGemvVectorBits = 512;

/// Rows of the activations of `op` (the product of its leading dimensions).
static int64_t getRows(MatmulOp op) {
  ArrayRef<int64_t> shape = op.getLhs().getType().getShape();
  int64_t rows = 1;
  for (int64_t size : shape.drop_back())
    rows *= size;
  return rows;
}

/// Static shapes, f32 result; the shared conditions of every kernel.
static bool hasKernelShapes(MatmulOp op) {
  return op.getLhs().getType().hasStaticShape() &&
         op.getRhs().getType().hasStaticShape() &&
         op.getType().getElementType().isF32();
}

/// 4-bit weights grouped along K with f16 or f32 scales.
static bool isQ4Weight(MatmulOp op) {
  auto rhs = dyn_cast<QuantType>(op.getRhs().getType().getElementType());
  if (!rhs || rhs.getBits() != 4 || !rhs.isPerGroup() || rhs.getAxis() != 1 ||
      (rhs.getStorageKind() != StorageKind::Signed &&
       rhs.getStorageKind() != StorageKind::Unsigned))
    return false;
  return rhs.getScaleType().isF16() || rhs.getScaleType().isF32();
}

static bool isFloatActivation(MatmulOp op) {
  return op.getLhs().getType().getElementType().isF32() &&
         op.getAccumulator().isF32();
}

bool mlir::lattice::isQ4UkernelCandidate(MatmulOp op, unsigned vectorBits) {
  if (vectorBits < kGemvVectorBits || !hasKernelShapes(op) ||
      !isFloatActivation(op) || !isQ4Weight(op) ||
      op.getLhs().getType().getRank() != 2 || getRows(op) > kMaxGemvRows)
    return false;
  // Whole groups (a shorter last one goes through the generated code).
  auto rhs = cast<QuantType>(op.getRhs().getType().getElementType());
  return rhs.getGroupSize() % 32 == 0 &&
         op.getRhs().getType().getDimSize(1) % rhs.getGroupSize() == 0;
}

/// The layout that the driver stored the rhs of `op` in (the attribute of
/// its function argument), or "" for the plain one.
static StringRef getWeightLayout(MatmulOp op) {
  auto arg = dyn_cast<BlockArgument>(op.getRhs());
  if (!arg)
    return "";
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!func)
    return "";
  auto attr = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                kWeightLayoutAttrName);
  return attr ? attr.getValue() : "";
}

/// Whether the rhs of `op` is a function argument stored in `layout`.
static bool hasWeightLayout(MatmulOp op, StringRef layout) {
  return !layout.empty() && getWeightLayout(op) == layout;
}

/// f32 activations [.., K] and f32 weights, of any number of rows.
static bool hasGemmF32Operands(MatmulOp op, unsigned vectorBits) {
  return vectorBits >= kGemmVectorBits && hasKernelShapes(op) &&
         isFloatActivation(op) &&
         op.getRhs().getType().getElementType().isF32();
}

/// The largest f32 weight that fewer than kMinGemmRows rows take the GEMM
/// for (when stored in the panels): one that stays in L2 across calls, as
/// a recurrent cell's does. There the generated GEMV's sums of each row's
/// 16 lanes, one row at a time after its parallel loop, cost a third of
/// it; a weight streamed from memory it reads at the bandwidth, the GEMM
/// kernel at 0.9 of it.
static constexpr int64_t kMaxFewRowsWeightBytes = 1 << 21;

/// hasGemmF32Operands with few rows and a weight of at most
/// kMaxFewRowsWeightBytes.
static bool hasFewRowsCachedWeight(MatmulOp op, unsigned vectorBits) {
  auto rhs = op.getRhs().getType();
  return hasGemmF32Operands(op, vectorBits) && getRows(op) < kMinGemmRows &&
         rhs.getNumElements() * 4 <= kMaxFewRowsWeightBytes;
}

/// hasGemmF32Operands with enough rows to repay packing the weight, or a
/// small weight that the driver stored in the panels
/// (hasFewRowsCachedWeight).
static bool isGemmF32Candidate(MatmulOp op, unsigned vectorBits) {
  return hasGemmF32Operands(op, vectorBits) &&
         (getRows(op) >= kMinGemmRows ||
          (hasFewRowsCachedWeight(op, vectorBits) &&
           hasWeightLayout(op, kF32PanelsLayout)));
}

/// f32 activations and 4-bit grouped weights (even groups and K, whose rows
/// are whole bytes; the last group may be shorter), more rows than the GEMV
/// takes.
static bool isGemmF32Q4Candidate(MatmulOp op, unsigned vectorBits) {
  if (vectorBits < kGemmVectorBits || !hasKernelShapes(op) ||
      !isFloatActivation(op) || !isQ4Weight(op) ||
      getRows(op) < std::max(kMinGemmRows, kMaxGemvRows + 1))
    return false;
  auto rhs = cast<QuantType>(op.getRhs().getType().getElementType());
  return rhs.getGroupSize() % 2 == 0 &&
         op.getRhs().getType().getDimSize(1) % 2 == 0;
}

/// 8-bit activations (per tensor, or per row of a matrix, with or without
/// zero points) and symmetric 8-bit weights per output channel, summed in
/// i32.
static bool isGemmS8Candidate(MatmulOp op, unsigned vectorBits) {
  if (vectorBits < kGemmVectorBits || !hasKernelShapes(op) ||
      !op.getAccumulator().isInteger(32))
    return false;
  auto lhs = dyn_cast<QuantType>(op.getLhs().getType().getElementType());
  auto rhs = dyn_cast<QuantType>(op.getRhs().getType().getElementType());
  if (!lhs || !rhs || lhs.getBits() != 8 || rhs.getBits() != 8 ||
      rhs.getStorageKind() != StorageKind::Signed || op.getRhsZeroPoint() ||
      !rhs.isPerChannel() || rhs.getAxis() != 0 ||
      !(rhs.getScaleType().isF32() || rhs.getScaleType().isF16()) ||
      !lhs.getScaleType().isF32())
    return false;
  if (lhs.getStorageKind() != StorageKind::Signed &&
      lhs.getStorageKind() != StorageKind::Unsigned)
    return false;
  bool perRow = lhs.isPerChannel() && lhs.getAxis() == 0 &&
                op.getLhs().getType().getRank() == 2;
  return lhs.isPerTensor() || perRow;
}

/// A 2-D convolution whose im2col matrix is the lhs of a matmul: the
/// geometry of lattice_uk_conv2d_f32.
struct ConvGeometry {
  Value input; // the padded input [N, C, HP, WP]
  int64_t n, c, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw;
};

/// The coefficients of `expr` in `numDims` dimensions when it is a sum of
/// dimensions times non-negative constants, or failure.
static FailureOr<SmallVector<int64_t>> getDimCoefficients(AffineExpr expr,
                                                          unsigned numDims) {
  SmallVector<int64_t> coefficients(numDims, 0);
  std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr e,
                                                     int64_t scale) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      coefficients[dim.getPosition()] += scale;
      return true;
    }
    auto binary = dyn_cast<AffineBinaryOpExpr>(e);
    if (!binary)
      return false;
    if (binary.getKind() == AffineExprKind::Add)
      return add(binary.getLHS(), scale) && add(binary.getRHS(), scale);
    auto constant = dyn_cast<AffineConstantExpr>(binary.getRHS());
    return binary.getKind() == AffineExprKind::Mul && constant &&
           constant.getValue() >= 0 &&
           add(binary.getLHS(), scale * constant.getValue());
  };
  if (!add(expr, 1))
    return failure();
  return coefficients;
}

/// The 1 x 1 convolution of `op`: its lhs is the collapse, to [N * H * W,
/// C], of a transpose `t[n, h, w, c] = x[n, c, h, w]` of a static f32 input
/// (the ONNX importer's pointwise convolution).
static std::optional<ConvGeometry>
getPointwiseConv(tensor::CollapseShapeOp collapse) {
  if (collapse.getSrcType().getRank() != 4 ||
      collapse.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0, 1, 2}, {3}})
    return std::nullopt;
  auto copy = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!copy || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumParallelLoops() != 4 || copy.getNumLoops() != 4 ||
      copy.getBody()->getOperations().size() != 1 ||
      cast<linalg::YieldOp>(copy.getBody()->getTerminator()).getValues() !=
          ValueRange{copy.getBody()->getArgument(0)})
    return std::nullopt;
  auto inputType = dyn_cast<RankedTensorType>(copy.getDpsInputs()[0].getType());
  if (!inputType || inputType.getRank() != 4 || !inputType.hasStaticShape() ||
      !inputType.getElementType().isF32())
    return std::nullopt;
  MLIRContext *ctx = copy.getContext();
  SmallVector<AffineMap> maps = copy.getIndexingMapsArray();
  AffineMap transpose =
      AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 3, 1, 2}, ctx);
  if (maps[0] != transpose || !maps[1].isIdentity())
    return std::nullopt;
  ArrayRef<int64_t> x = inputType.getShape();
  return ConvGeometry{copy.getDpsInputs()[0],
                      x[0],
                      x[1],
                      x[2],
                      x[3],
                      1,
                      1,
                      x[2],
                      x[3],
                      1,
                      1,
                      1,
                      1};
}

/// The convolution whose im2col matrix is `matrix`: the collapse, to [N *
/// OH * OW, C * KH * KW], of a copy `patches[n, oh, ow, c, i, j] = x[n, c,
/// oh * sh + i * dh, ow * sw + j * dw]` (the ONNX importer's im2col) of a
/// static f32 input, or a pointwise convolution (getPointwiseConv).
static std::optional<ConvGeometry> getIm2colConv(Value matrix) {
  auto collapse = matrix.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return std::nullopt;
  if (std::optional<ConvGeometry> pointwise = getPointwiseConv(collapse))
    return pointwise;
  if (collapse.getSrcType().getRank() != 6 ||
      collapse.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}})
    return std::nullopt;
  auto copy = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!copy || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumParallelLoops() != 6 || copy.getNumLoops() != 6)
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(copy.getBody()->getTerminator());
  if (copy.getBody()->getOperations().size() != 1 ||
      yield.getValues() != ValueRange{copy.getBody()->getArgument(0)})
    return std::nullopt;
  auto inputType = dyn_cast<RankedTensorType>(copy.getDpsInputs()[0].getType());
  if (!inputType || inputType.getRank() != 4 || !inputType.hasStaticShape() ||
      !inputType.getElementType().isF32())
    return std::nullopt;
  SmallVector<AffineMap> maps = copy.getIndexingMapsArray();
  if (!maps[1].isIdentity())
    return std::nullopt;
  AffineMap in = maps[0];
  MLIRContext *ctx = matrix.getContext();
  if (in.getNumResults() != 4 || in.getResult(0) != getAffineDimExpr(0, ctx) ||
      in.getResult(1) != getAffineDimExpr(3, ctx))
    return std::nullopt;
  FailureOr<SmallVector<int64_t>> h = getDimCoefficients(in.getResult(2), 6);
  FailureOr<SmallVector<int64_t>> w = getDimCoefficients(in.getResult(3), 6);
  if (failed(h) || failed(w) ||
      *h != SmallVector<int64_t>{0, (*h)[1], 0, 0, (*h)[4], 0} ||
      *w != SmallVector<int64_t>{0, 0, (*w)[2], 0, 0, (*w)[5]} || (*h)[1] < 1 ||
      (*w)[2] < 1 || (*h)[4] < 1 || (*w)[5] < 1)
    return std::nullopt;
  ArrayRef<int64_t> x = inputType.getShape();
  ArrayRef<int64_t> patches = collapse.getSrcType().getShape();
  ConvGeometry g{copy.getDpsInputs()[0],
                 x[0],
                 x[1],
                 x[2],
                 x[3],
                 patches[4],
                 patches[5],
                 patches[1],
                 patches[2],
                 (*h)[1],
                 (*w)[2],
                 (*h)[4],
                 (*w)[5]};
  // Every window inside the input.
  if (patches[0] != g.n || patches[3] != g.c ||
      (g.oh - 1) * g.sh + (g.kh - 1) * g.dh >= g.hp ||
      (g.ow - 1) * g.sw + (g.kw - 1) * g.dw >= g.wp)
    return std::nullopt;
  return g;
}

/// A convolution with 8-bit activations: the lhs of an 8-bit matmul is
/// the per-tensor quantization (rounding half to even, with the matmul's
/// own scale and zero point) of an im2col matrix, possibly scaled by column
/// (SmoothQuant's lattice.channel_scale on axis 1): the geometry, and the
/// column scales or null. lattice_uk_conv2d_s8 quantizes the matrix as it
/// gathers it.
struct QuantizedConv {
  ConvGeometry geometry;
  Value columnScale;
};

static std::optional<QuantizedConv> getQuantizedConv(MatmulOp op) {
  auto quantize = op.getLhs().getDefiningOp<QuantizeOp>();
  auto lhsType = cast<QuantType>(op.getLhs().getType().getElementType());
  if (!quantize || !lhsType.isPerTensor() ||
      quantize.getRounding() != RoundingMode::NearestEven ||
      quantize.getScale() != op.getLhsScale() ||
      quantize.getZeroPoint() != op.getLhsZeroPoint() ||
      !quantize.getInput().getType().getElementType().isF32())
    return std::nullopt;
  Value matrix = quantize.getInput();
  Value columnScale;
  if (auto scale = matrix.getDefiningOp<ChannelScaleOp>()) {
    auto scaleType = cast<RankedTensorType>(scale.getScale().getType());
    if (scale.getAxis() != 1 || !scaleType.getElementType().isF32() ||
        scaleType.getRank() != 1)
      return std::nullopt;
    matrix = scale.getInput();
    columnScale = scale.getScale();
  }
  std::optional<ConvGeometry> g = getIm2colConv(matrix);
  if (!g)
    return std::nullopt;
  return QuantizedConv{*g, columnScale};
}

/// An op that slides a window over each channel of an NCHW input on its
/// own: the geometry of lattice_uk_window2d_f32.
struct WindowGeometry {
  Value input;  // the padded input, [N, G * CG, HP, WP] or [N, G, CG, HP, WP]
  Value weight; // [G, mult, CG, KH, KW] for a convolution, else null
  int64_t n, groups, cg, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw, mult, kind;
};

/// Whether `expr` is `outer * stride + inner * dilation` in the loops
/// `outer` and `inner` (of `numDims`), both factors at least 1; sets them.
static bool isWindowExpr(AffineExpr expr, unsigned numDims, unsigned outer,
                         unsigned inner, int64_t &stride, int64_t &dilation) {
  FailureOr<SmallVector<int64_t>> coefficients =
      getDimCoefficients(expr, numDims);
  if (failed(coefficients))
    return false;
  stride = (*coefficients)[outer];
  dilation = (*coefficients)[inner];
  for (unsigned d = 0; d < numDims; ++d)
    if (d != outer && d != inner && (*coefficients)[d] != 0)
      return false;
  return stride >= 1 && dilation >= 1;
}

/// Whether `value` is a linalg.fill of the constant `expected`.
static bool isFilledWith(Value value, float expected) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
  FloatAttr constant;
  return fill && matchPattern(fill.getInputs()[0], m_Constant(&constant)) &&
         constant.getValue().convertToFloat() == expected;
}

/// Whether `binary` takes `lhs` and `rhs`, in either order.
template <typename OpTy>
static bool takes(OpTy binary, Value lhs, Value rhs) {
  return binary && ((binary.getLhs() == lhs && binary.getRhs() == rhs) ||
                    (binary.getLhs() == rhs && binary.getRhs() == lhs));
}

/// The op of type `OpTy` that `op`'s body yields (its only result), or
/// null.
template <typename OpTy>
static OpTy getYielded(linalg::GenericOp op) {
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  if (yield.getValues().size() != 1)
    return nullptr;
  return yield.getValues()[0].getDefiningOp<OpTy>();
}

/// The window op of `op`, as the ONNX importer writes pooling and grouped
/// convolutions over static f32 tensors, when the kernel covers it:
///   - max or sum pooling: `y[n, c, oh, ow] = max|+ over (i, j) of x[n, c,
///     oh * sh + i * dh, ow * sw + j * dw]` with a [KH, KW] operand that
///     only gives the window its extent, into a fill of -inf or 0;
///   - a grouped convolution (depthwise with one input channel per group):
///     `y[n, g, m, oh, ow] += x[n, g, c, oh * sh + i * dh, ow * sw + j *
///     dw] * w[g, m, c, i, j]` into a fill of 0.
static std::optional<WindowGeometry> getWindowOp(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() < 1 ||
      op.getNumDpsInputs() > 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return std::nullopt;
    shapes.push_back(type.getShape());
  }
  MLIRContext *ctx = op.getContext();
  auto dims = [&](ArrayRef<unsigned> positions) {
    SmallVector<AffineExpr> exprs;
    for (unsigned position : positions)
      exprs.push_back(getAffineDimExpr(position, ctx));
    return exprs;
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Block *body = op.getBody();
  Value in = body->getArgument(0),
        out = body->getArgument(op.getNumDpsInputs());
  WindowGeometry g;
  g.input = op.getDpsInputs()[0];
  unsigned numLoops = op.getNumLoops();
  // The kind of a pooling: max from -inf or sum from 0, alone in the body.
  auto poolingKind = [&]() -> std::optional<int64_t> {
    if (body->getOperations().size() != 2)
      return std::nullopt;
    if (takes(getYielded<arith::MaximumFOp>(op), in, out) &&
        isFilledWith(op.getDpsInits()[0], -INFINITY))
      return LATTICE_UK_WINDOW_MAX;
    if (takes(getYielded<arith::AddFOp>(op), in, out) &&
        isFilledWith(op.getDpsInits()[0], 0.0f))
      return LATTICE_UK_WINDOW_SUM;
    return std::nullopt;
  };
  if (op.getNumDpsInputs() == 1) {
    // A reduction of whole planes (global pooling written as a reduction,
    // a mean's sum): loops (n, c, h, w), [N, C, H, W] to [N, C], which is
    // [N, C, 1, 1] in memory.
    std::optional<int64_t> kind = poolingKind();
    if (numLoops != 4 || op.getNumParallelLoops() != 2 || !kind ||
        shapes[0].size() != 4 || !maps[0].isIdentity() ||
        maps[1].getResults() != ArrayRef(dims({0, 1})))
      return std::nullopt;
    g.kind = *kind;
    g.n = shapes[0][0];
    g.groups = shapes[0][1];
    g.cg = 1;
    g.hp = g.kh = shapes[0][2];
    g.wp = g.kw = shapes[0][3];
    g.oh = g.ow = 1;
    g.sh = g.sw = g.dh = g.dw = 1;
    g.mult = 1;
    return g;
  }
  if (numLoops == 6 && op.getNumParallelLoops() == 4) {
    // Pooling: loops (n, c, oh, ow, i, j).
    if (shapes[0].size() != 4 ||
        maps[1].getResults() != ArrayRef(dims({4, 5})) ||
        maps[2].getResults() != ArrayRef(dims({0, 1, 2, 3})) ||
        maps[0].getNumResults() != 4 ||
        maps[0].getResults().take_front(2) != ArrayRef(dims({0, 1})) ||
        !isWindowExpr(maps[0].getResult(2), 6, 2, 4, g.sh, g.dh) ||
        !isWindowExpr(maps[0].getResult(3), 6, 3, 5, g.sw, g.dw))
      return std::nullopt;
    std::optional<int64_t> kind = poolingKind();
    if (!kind)
      return std::nullopt;
    g.kind = *kind;
    g.n = shapes[0][0];
    g.groups = shapes[0][1];
    g.cg = 1;
    g.hp = shapes[0][2];
    g.wp = shapes[0][3];
    g.kh = shapes[1][0];
    g.kw = shapes[1][1];
    g.oh = shapes[2][2];
    g.ow = shapes[2][3];
    g.mult = 1;
    if (shapes[2][0] != g.n || shapes[2][1] != g.groups)
      return std::nullopt;
  } else if (numLoops == 8 && op.getNumParallelLoops() == 5) {
    // Grouped convolution: loops (n, g, m, oh, ow, c, i, j).
    if (shapes[0].size() != 5 ||
        maps[1].getResults() != ArrayRef(dims({1, 2, 5, 6, 7})) ||
        maps[2].getResults() != ArrayRef(dims({0, 1, 2, 3, 4})) ||
        maps[0].getNumResults() != 5 ||
        maps[0].getResults().take_front(3) != ArrayRef(dims({0, 1, 5})) ||
        !isWindowExpr(maps[0].getResult(3), 8, 3, 6, g.sh, g.dh) ||
        !isWindowExpr(maps[0].getResult(4), 8, 4, 7, g.sw, g.dw) ||
        !isFilledWith(op.getDpsInits()[0], 0.0f) ||
        body->getOperations().size() != 3)
      return std::nullopt;
    auto multiply = dyn_cast<arith::MulFOp>(body->front());
    if (!takes(multiply, in, body->getArgument(1)) ||
        !takes(getYielded<arith::AddFOp>(op), out, multiply.getResult()))
      return std::nullopt;
    g.kind = LATTICE_UK_WINDOW_CONV;
    g.weight = op.getDpsInputs()[1];
    g.n = shapes[0][0];
    g.groups = shapes[0][1];
    g.cg = shapes[0][2];
    g.hp = shapes[0][3];
    g.wp = shapes[0][4];
    g.mult = shapes[1][1];
    g.kh = shapes[1][3];
    g.kw = shapes[1][4];
    g.oh = shapes[2][3];
    g.ow = shapes[2][4];
    if (shapes[1][0] != g.groups || shapes[1][2] != g.cg ||
        shapes[2][0] != g.n || shapes[2][1] != g.groups ||
        shapes[2][2] != g.mult)
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  // Every window inside the input.
  if ((g.oh - 1) * g.sh + (g.kh - 1) * g.dh >= g.hp ||
      (g.ow - 1) * g.sw + (g.kw - 1) * g.dw >= g.wp)
    return std::nullopt;
  return g;
}

/// The input of `g` without its padding, when the kernel can pad it itself
/// (LATTICE_UK_WINDOW_PAD_*): `g`'s input is the insertion of a tensor
/// into a fill of a fresh tensor (through the expansion of its channels
/// into groups for a grouped convolution), of whole images and channels,
/// the fill's value the kernel's (-inf for max pooling, +0 otherwise), at
/// most LATTICE_UK_WINDOW_PAD_MAX rows above and columns left. The padded
/// tensor is then neither filled nor written, and the op that produced the
/// input writes it as it is (a convolution's epilogue, into its own
/// buffer). `g` then takes the input's rows and columns and the padding.
static bool readWithoutPadding(WindowGeometry &g) {
  Value padded = g.input;
  if (auto expand = padded.getDefiningOp<tensor::ExpandShapeOp>()) {
    // [N, C, HP, WP] as [N, G, CG, HP, WP], the same elements in the same
    // order (whichever dimension the importer split).
    ArrayRef<int64_t> from = expand.getSrcType().getShape(),
                      to = expand.getResultType().getShape();
    if (from.size() != 4 || to.size() != 5 || to[0] != from[0] ||
        to[1] * to[2] != from[1] || to[3] != from[2] || to[4] != from[3])
      return false;
    padded = expand.getSrc();
  }
  auto insert = padded.getDefiningOp<tensor::InsertSliceOp>();
  if (!insert || !insert.hasUnitStride() ||
      ShapedType::isDynamicShape(insert.getStaticOffsets()))
    return false;
  RankedTensorType source = insert.getSourceType(), dest = insert.getDestType();
  ArrayRef<int64_t> offsets = insert.getStaticOffsets();
  if (source.getRank() != 4 || dest.getRank() != 4 ||
      !source.hasStaticShape() || !dest.hasStaticShape() || offsets[0] != 0 ||
      offsets[1] != 0 || source.getDimSize(0) != dest.getDimSize(0) ||
      source.getDimSize(1) != dest.getDimSize(1) ||
      offsets[2] > LATTICE_UK_WINDOW_PAD_MAX ||
      offsets[3] > LATTICE_UK_WINDOW_PAD_MAX)
    return false;
  auto fill = insert.getDest().getDefiningOp<linalg::FillOp>();
  FloatAttr value;
  if (!fill || !fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>() ||
      !matchPattern(fill.getInputs()[0], m_Constant(&value)))
    return false;
  const APFloat &constant = value.getValue();
  bool neutral = g.kind == LATTICE_UK_WINDOW_MAX
                     ? constant.isInfinity() && constant.isNegative()
                     : constant.isPosZero();
  if (!neutral)
    return false;
  g.input = insert.getSource();
  g.hp = source.getDimSize(2);
  g.wp = source.getDimSize(3);
  g.kind |= (offsets[2] << LATTICE_UK_WINDOW_PAD_TOP_SHIFT) |
            (offsets[3] << LATTICE_UK_WINDOW_PAD_LEFT_SHIFT);
  return true;
}

bool mlir::lattice::isUkernelCandidate(MatmulOp op, unsigned vectorBits) {
  // A weight in a layout is read only by the kernel that the driver stores
  // it for (another would read its bytes as plain ones), or, in the panels,
  // by a Winograd convolution (which transforms them per call); another
  // such matmul is left alone, and the pass reports it.
  StringRef layout = getWeightLayout(op);
  StringRef wanted = getUkernelWeightLayout(op, vectorBits);
  if (!layout.empty() && layout != wanted &&
      !(layout == kF32PanelsLayout && wanted == kF32WinogradLayout))
    return false;
  // (An im2col convolution is a GEMM candidate too.)
  return isQ4UkernelCandidate(op, vectorBits) ||
         isGemmF32Candidate(op, vectorBits) ||
         isGemmF32Q4Candidate(op, vectorBits) ||
         isGemmS8Candidate(op, vectorBits);
}

/// A batched f32 contraction of linalg as lattice_uk_gemm_f32 reads it:
/// sizes and strides in elements of row-major operands.
struct GemmLayout {
  int64_t batch = 1, m, n, k;
  int64_t aBatch = 0, aRow, bBatch = 0, bK, bN, cBatch = 0, cRow;
};

/// The row-major strides of a static shape.
static SmallVector<int64_t> getRowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// The stride of loop `dim` in an operand indexed by `map` (0 when the
/// operand does not depend on it: broadcast).
static int64_t getLoopStride(AffineMap map, ArrayRef<int64_t> strides,
                             unsigned dim) {
  for (auto [position, expr] : llvm::enumerate(map.getResults()))
    if (cast<AffineDimExpr>(expr).getPosition() == dim)
      return strides[position];
  return 0;
}

/// The single batch stride of an operand over the batch loops `dims` of
/// `sizes`, when its strides linearize them (each non-unit batch loop steps
/// over the whole of the next one), or nullopt.
static std::optional<int64_t> getBatchStride(AffineMap map,
                                             ArrayRef<int64_t> strides,
                                             ArrayRef<unsigned> dims,
                                             ArrayRef<int64_t> sizes) {
  SmallVector<unsigned> varying;
  for (unsigned dim : dims)
    if (sizes[dim] > 1)
      varying.push_back(dim);
  if (varying.empty())
    return 0;
  for (size_t i = 0; i + 1 < varying.size(); ++i)
    if (getLoopStride(map, strides, varying[i]) !=
        sizes[varying[i + 1]] * getLoopStride(map, strides, varying[i + 1]))
      return std::nullopt;
  return getLoopStride(map, strides, varying.back());
}

/// Whether `op` copies its one input in another order: the input read
/// through a permutation, the result written in order, each element as it
/// is (the transposes of attention's heads).
static bool isTranspose(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0)
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[0].isPermutation() || !maps[1].isIdentity())
    return false;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  return yield.getNumOperands() == 1 &&
         yield.getOperand(0) == op.getBody()->getArgument(0);
}

namespace {
/// A tensor read in place: its elements are those of `base` (a tensor
/// whose buffer is row-major) from element `offset`, `strides` apart along
/// each of its dimensions.
struct StridedView {
  Value base;
  int64_t offset = 0;
  SmallVector<int64_t> strides;
};
} // namespace

/// How far getStridedView follows a chain of views.
static constexpr unsigned kMaxViewDepth = 8;

/// `tensor` as a view of the tensor that holds its elements, through
/// reshapes, static slices and transposes: a kernel that takes strides
/// reads it there, and the copies that transposes and non-contiguous
/// slices would cost are not made.
static StridedView getStridedView(Value tensor, unsigned depth = 0) {
  auto type = cast<RankedTensorType>(tensor.getType());
  StridedView view{tensor, 0, getRowMajorStrides(type.getShape())};
  Operation *def = tensor.getDefiningOp();
  if (!def || !type.hasStaticShape() || depth == kMaxViewDepth)
    return view;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def)) {
    // Each source dimension splits into a group that steps over it in
    // order, the last of the group with the source's stride.
    StridedView source = getStridedView(expand.getSrc(), depth + 1);
    SmallVector<int64_t> strides(type.getRank());
    for (auto [i, group] : llvm::enumerate(expand.getReassociationIndices())) {
      int64_t stride = source.strides[i];
      for (int64_t dim : llvm::reverse(group)) {
        strides[dim] = stride;
        stride *= type.getDimSize(dim);
      }
    }
    return {source.base, source.offset, std::move(strides)};
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
    // A group merges into one dimension when its dimensions (of more than
    // one element) step over each other in order.
    StridedView source = getStridedView(collapse.getSrc(), depth + 1);
    ArrayRef<int64_t> sourceShape = collapse.getSrcType().getShape();
    SmallVector<int64_t> strides;
    for (ReassociationIndices group : collapse.getReassociationIndices()) {
      int64_t stride = 1, inner = -1;
      for (int64_t dim : llvm::reverse(group)) {
        if (sourceShape[dim] == 1)
          continue;
        if (inner >= 0 &&
            source.strides[dim] != source.strides[inner] * sourceShape[inner])
          return view;
        if (inner < 0)
          stride = source.strides[dim];
        inner = dim;
      }
      strides.push_back(stride);
    }
    return {source.base, source.offset, std::move(strides)};
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    ArrayRef<int64_t> offsets = slice.getStaticOffsets(),
                      steps = slice.getStaticStrides();
    if (!slice.getSourceType().hasStaticShape() ||
        ShapedType::isDynamicShape(offsets) ||
        ShapedType::isDynamicShape(steps))
      return view;
    StridedView source = getStridedView(slice.getSource(), depth + 1);
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    int64_t offset = source.offset;
    SmallVector<int64_t> strides;
    for (auto [i, stride] : llvm::enumerate(source.strides)) {
      offset += offsets[i] * stride;
      if (!dropped.test(i))
        strides.push_back(stride * steps[i]);
    }
    return {source.base, offset, std::move(strides)};
  }
  if (auto transpose = dyn_cast<linalg::GenericOp>(def);
      transpose && isTranspose(transpose)) {
    // Dimension d of the result is the input's dimension that the input
    // map reads with loop d.
    StridedView source = getStridedView(transpose.getDpsInputs()[0], depth + 1);
    AffineMap map = transpose.getIndexingMapsArray()[0];
    SmallVector<int64_t> strides(type.getRank());
    for (auto [position, expr] : llvm::enumerate(map.getResults()))
      strides[cast<AffineDimExpr>(expr).getPosition()] =
          source.strides[position];
    return {source.base, source.offset, std::move(strides)};
  }
  return view;
}

/// The transpose that is the only user of the result of `op`, whose
/// result the kernel may then write in its place, or null.
static linalg::GenericOp getResultTranspose(linalg::GenericOp op) {
  if (!op->getResult(0).hasOneUse())
    return nullptr;
  auto user = dyn_cast<linalg::GenericOp>(*op->getResult(0).user_begin());
  return user && isTranspose(user) &&
                 cast<RankedTensorType>(user.getResultTypes()[0])
                     .hasStaticShape()
             ? user
             : nullptr;
}

/// The strides of the result of `op` written as `transpose` (its only
/// user) would store it: element i of `op` where `transpose` puts it.
static SmallVector<int64_t> getTransposedStrides(linalg::GenericOp transpose) {
  auto type = cast<RankedTensorType>(transpose.getResultTypes()[0]);
  SmallVector<int64_t> out = getRowMajorStrides(type.getShape());
  AffineMap map = transpose.getIndexingMapsArray()[0];
  SmallVector<int64_t> strides;
  for (AffineExpr expr : map.getResults())
    strides.push_back(out[cast<AffineDimExpr>(expr).getPosition()]);
  return strides;
}

namespace {
/// The loops of a contraction that lattice_uk_gemm_f32 computes.
struct ContractionLoops {
  unsigned m, n, k;
  SmallVector<unsigned> batch;
  SmallVector<AffineMap> maps;
  SmallVector<int64_t> sizes;
};
} // namespace

/// The loops of `op` for lattice_uk_gemm_f32: a linalg contraction
/// (C += A * B) of static f32 tensors into a zero-filled destination, with
/// one M, N and K loop, operands indexed by projected permutations, and at
/// least 8 rows.
static std::optional<ContractionLoops>
getContractionLoops(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return std::nullopt;
  }
  // The destination starts at zero.
  auto fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1)
    return std::nullopt;
  ContractionLoops loops{
      dims->m[0],
      dims->n[0],
      dims->k[0],
      SmallVector<unsigned>(dims->batch.begin(), dims->batch.end()),
      op.getIndexingMapsArray(),
      op.getStaticLoopRanges()};
  for (AffineMap map : loops.maps)
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return std::nullopt;
  if (loops.sizes[loops.m] < kMinGemmRows)
    return std::nullopt;
  return loops;
}

/// Operand `index` (A, B or C) of a contraction with `loops`, in memory
/// with `strides`: its batch stride, and its strides along the loops
/// `first` and `second`, when the kernel takes them (the batch loops
/// linearize, and A steps along K and C along N by one element).
static std::optional<std::array<int64_t, 3>>
getOperandStrides(const ContractionLoops &loops, unsigned index,
                  ArrayRef<int64_t> strides) {
  AffineMap map = loops.maps[index];
  unsigned first = index == 1 ? loops.k : loops.m;
  unsigned second = index == 0 ? loops.k : loops.n;
  std::optional<int64_t> batch =
      getBatchStride(map, strides, loops.batch, loops.sizes);
  if (!batch || (index != 1 && getLoopStride(map, strides, second) != 1))
    return std::nullopt;
  return std::array<int64_t, 3>{*batch, getLoopStride(map, strides, first),
                                getLoopStride(map, strides, second)};
}

/// The layout of the contraction `op` for lattice_uk_gemm_f32 with its
/// operands in memory with `strides` (A, B, C), or nullopt.
static std::optional<GemmLayout>
getContractionLayout(linalg::GenericOp op,
                     ArrayRef<SmallVector<int64_t>> strides) {
  std::optional<ContractionLoops> loops = getContractionLoops(op);
  if (!loops)
    return std::nullopt;
  std::optional<std::array<int64_t, 3>> a =
      getOperandStrides(*loops, 0, strides[0]);
  std::optional<std::array<int64_t, 3>> b =
      getOperandStrides(*loops, 1, strides[1]);
  std::optional<std::array<int64_t, 3>> c =
      getOperandStrides(*loops, 2, strides[2]);
  if (!a || !b || !c)
    return std::nullopt;
  GemmLayout layout;
  for (unsigned dim : loops->batch)
    layout.batch *= loops->sizes[dim];
  layout.m = loops->sizes[loops->m];
  layout.n = loops->sizes[loops->n];
  layout.k = loops->sizes[loops->k];
  layout.aBatch = (*a)[0];
  layout.aRow = (*a)[1];
  layout.bBatch = (*b)[0];
  layout.bK = (*b)[1];
  layout.bN = (*b)[2];
  layout.cBatch = (*c)[0];
  layout.cRow = (*c)[1];
  return layout;
}

/// The row-major strides of the operands of `op`.
static SmallVector<SmallVector<int64_t>>
getRowMajorOperandStrides(Operation *op) {
  SmallVector<SmallVector<int64_t>> strides;
  for (Value operand : op->getOperands())
    strides.push_back(getRowMajorStrides(
        cast<RankedTensorType>(operand.getType()).getShape()));
  return strides;
}

static std::optional<GemmLayout> getContractionLayout(linalg::GenericOp op) {
  return getContractionLayout(op, getRowMajorOperandStrides(op));
}

/// Whether a kernel covers the linalg op `op`.
static bool isGenericCandidate(linalg::GenericOp op) {
  return getContractionLayout(op) || getWindowOp(op);
}

/// The flags of a quantized operand's scale and zero point for the W4A16
/// kernels: unsigned codes, f16 scales, the zero points' width.
static int64_t getQ4Flags(QuantType type, Value zeroPoint) {
  int64_t flags = 0;
  if (type.getStorageKind() == StorageKind::Unsigned)
    flags |= LATTICE_UK_UNSIGNED;
  if (type.getScaleType().isF16())
    flags |= LATTICE_UK_SCALE_F16;
  if (zeroPoint) {
    auto width =
        cast<RankedTensorType>(zeroPoint.getType()).getElementTypeBitWidth();
    flags |=
        LATTICE_UK_ZERO_POINT | (int64_t(width) << LATTICE_UK_ZERO_POINT_SHIFT);
  }
  return flags;
}

/// Whether lattice_uk_conv2d_f32 computes `op`, a convolution's matmul,
/// with Winograd's transforms (lattice_uk_conv2d_f32_winograd).
static bool isWinogradConv(MatmulOp op) {
  std::optional<ConvGeometry> g = getIm2colConv(op.getLhs());
  return g && lattice_uk_conv2d_f32_winograd(g->kh, g->kw, g->oh, g->ow, g->sh,
                                             g->sw, g->dh, g->dw);
}

StringRef mlir::lattice::getUkernelWeightLayout(MatmulOp op,
                                                unsigned vectorBits) {
  if (isQ4UkernelCandidate(op, vectorBits))
    return kQ4Rows4Layout;
  // Weights are packed once, by the driver: few rows over a small weight
  // are candidates too.
  if (isGemmF32Candidate(op, vectorBits) ||
      hasFewRowsCachedWeight(op, vectorBits))
    return isWinogradConv(op) ? kF32WinogradLayout : kF32PanelsLayout;
  if (isGemmS8Candidate(op, vectorBits))
    return kS8PanelsLayout;
  return "";
}

namespace {
/// Builds the operands of a microkernel call: buffers by address, i64
/// constants, and a fresh result buffer.
class CallBuilder {
public:
  CallBuilder(ConversionPatternRewriter &rewriter, Location loc)
      : rewriter(rewriter), loc(loc) {}

  /// The address of the read-only buffer of `tensor`. The to_buffer op is
  /// where bufferization sees the kernel read `tensor`; it is marked
  /// (kUkernelOperandAttrName) so that the pass can make it unique.
  Value address(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    auto buffer = bufferization::ToBufferOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()),
        tensor, /*read_only=*/true);
    buffer->setAttr(kUkernelOperandAttrName, rewriter.getUnitAttr());
    return addressOf(buffer);
  }

  /// The address of the first element of `view`, read-only.
  Value address(const StridedView &view) {
    Value base = address(view.base);
    if (view.offset == 0)
      return base;
    auto type = cast<RankedTensorType>(view.base.getType());
    int64_t bytes = view.offset * (type.getElementTypeBitWidth() / 8);
    return arith::AddIOp::create(rewriter, loc, base, constant(bytes));
  }

  /// The i64 constant `value`, created once per call.
  Value constant(int64_t value) {
    Value &cached = constants[value];
    if (!cached)
      cached = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getI64IntegerAttr(value));
    return cached;
  }

  /// A fresh f32 buffer of `shape` for the result, and its address.
  std::pair<Value, Value> result(ArrayRef<int64_t> shape) {
    auto type = MemRefType::get(shape, rewriter.getF32Type());
    Value buffer = memref::AllocOp::create(rewriter, loc, type,
                                           rewriter.getI64IntegerAttr(64));
    return {buffer, addressOf(buffer)};
  }

  /// Calls `kernel`; returns the tensor of `result` after the call.
  Value emit(StringRef kernel, ArrayRef<Value> args, Value result) {
    func::CallOp::create(rewriter, loc, kernel, TypeRange{}, args);
    auto type = cast<MemRefType>(result.getType());
    return bufferization::ToTensorOp::create(
        rewriter, loc,
        RankedTensorType::get(type.getShape(), type.getElementType()), result,
        /*restrict=*/true, /*writable=*/true);
  }

  /// Calls `kernel` and replaces `op` with the tensor of `result`.
  void finish(Operation *op, StringRef kernel, ArrayRef<Value> args,
              Value result) {
    rewriter.replaceOp(op, emit(kernel, args, result));
  }

private:
  Value addressOf(Value buffer) {
    Value index =
        memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
    return arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(),
                                      index);
  }

  ConversionPatternRewriter &rewriter;
  Location loc;
  llvm::SmallDenseMap<int64_t, Value> constants;
};

/// A microkernel pattern: the pass's thread count and vector width.
template <typename OpTy>
struct KernelPattern : OpConversionPattern<OpTy> {
  KernelPattern(const TypeConverter &converter, MLIRContext *context,
                int64_t numThreads, unsigned vectorBits,
                PatternBenefit benefit = 1)
      : OpConversionPattern<OpTy>(converter, context, benefit),
        numThreads(numThreads), vectorBits(vectorBits) {}

protected:
  int64_t numThreads;
  unsigned vectorBits;
};

struct UkernelPattern : KernelPattern<MatmulOp> {
  using KernelPattern::KernelPattern;
};

/// A convolution's pattern: it takes precedence over the plain GEMM's that
/// would match the same matmul.
struct ConvUkernelPattern : UkernelPattern {
  ConvUkernelPattern(const TypeConverter &converter, MLIRContext *context,
                     int64_t numThreads, unsigned vectorBits)
      : UkernelPattern(converter, context, numThreads, vectorBits,
                       /*benefit=*/2) {}
};

struct LinalgUkernelPattern : KernelPattern<linalg::GenericOp> {
  using KernelPattern::KernelPattern;
};

/// f32 activations and 4-bit grouped weights: lattice_uk_matmul_f32_q4
/// (the GEMV, few rows) or lattice_uk_gemm_f32_q4 (the GEMM that
/// dequantizes each weight once), which take the same arguments.
struct MatmulToQ4 final : UkernelPattern {
  using UkernelPattern::UkernelPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool gemv = isQ4UkernelCandidate(op, vectorBits);
    if (!gemv && !isGemmF32Q4Candidate(op, vectorBits))
      return failure();
    auto rhsType = cast<QuantType>(op.getRhs().getType().getElementType());
    int64_t m = getRows(op), k = op.getLhs().getType().getShape().back();
    int64_t n = op.getRhs().getType().getDimSize(0);
    int64_t flags = getQ4Flags(rhsType, adaptor.getRhsZeroPoint());
    // A weight argument that the driver stored with rows interleaved (only
    // ever for the GEMV's).
    if (hasWeightLayout(op, kQ4Rows4Layout))
      flags |= LATTICE_UK_ROWS4;
    CallBuilder call(rewriter, op.getLoc());
    Value zeroPoint = adaptor.getRhsZeroPoint()
                          ? call.address(adaptor.getRhsZeroPoint())
                          : call.constant(0);
    auto [result, resultAddress] = call.result(op.getType().getShape());
    call.finish(op, gemv ? kQ4Gemv : kGemmF32Q4,
                {call.address(adaptor.getLhs()), call.address(adaptor.getRhs()),
                 call.address(adaptor.getRhsScale()), zeroPoint, resultAddress,
                 call.constant(m), call.constant(n), call.constant(k),
                 call.constant(rhsType.getGroupSize()), call.constant(flags),
                 call.constant(numThreads)},
                result);
    return success();
  }
};

/// f32 x f32 with enough rows: lattice_uk_gemm_f32, the weight [N, K] read
/// with b_k = 1, b_n = K.
struct MatmulToGemmF32 final : UkernelPattern {
  using UkernelPattern::UkernelPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isGemmF32Candidate(op, vectorBits))
      return failure();
    int64_t m = getRows(op), k = op.getLhs().getType().getShape().back();
    int64_t n = op.getRhs().getType().getDimSize(0);
    CallBuilder call(rewriter, op.getLoc());
    auto [result, resultAddress] = call.result(op.getType().getShape());
    call.finish(
        op, kGemmF32,
        {call.address(adaptor.getLhs()), call.address(adaptor.getRhs()),
         resultAddress, call.constant(1), call.constant(m), call.constant(n),
         call.constant(k), call.constant(0), call.constant(k), call.constant(0),
         call.constant(1), call.constant(k), call.constant(0), call.constant(n),
         call.constant(
             hasWeightLayout(op, kF32PanelsLayout) ? LATTICE_UK_B_PACKED : 0),
         call.constant(numThreads)},
        result);
    return success();
  }
};

/// The epilogue arguments of the f32 convolution and window kernels for
/// none: no bias, LATTICE_UK_EPILOGUE_NONE, no parameters, no residual
/// (lattice-cpu-fuse-ukernel-epilogues may fold one in later).
static void appendNoEpilogue(CallBuilder &call, SmallVectorImpl<Value> &args) {
  for (int64_t value :
       {int64_t(0), int64_t(LATTICE_UK_EPILOGUE_NONE), int64_t(0), int64_t(0)})
    args.push_back(call.constant(value));
}

/// The sizes that the convolution kernels take after their buffers: the
/// geometry (n, c, hp, wp, kh, kw, oh, ow, sh, sw, dh, dw) and the number of
/// output channels.
static void appendConvSizes(CallBuilder &call, const ConvGeometry &g,
                            int64_t outputChannels,
                            SmallVectorImpl<Value> &args) {
  for (int64_t value : {g.n, g.c, g.hp, g.wp, g.kh, g.kw, g.oh, g.ow, g.sh,
                        g.sw, g.dh, g.dw, outputChannels})
    args.push_back(call.constant(value));
}

/// Whether the [N * OH * OW, M] result of a convolution's matmul goes,
/// through elementwise ops on it alone (a bias), to an NCHW layout: its
/// reshape to [N, OH, OW, M] read by a 4-D linalg op as (n, m, oh, ow),
/// the ONNX importer's transpose.
static bool feedsNchwTranspose(Value result) {
  while (result.hasOneUse()) {
    Operation *user = *result.getUsers().begin();
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(user)) {
      if (expand.getResultType().getRank() != 4 ||
          expand.getReassociationIndices() !=
              SmallVector<ReassociationIndices>{{0, 1, 2}, {3}})
        return false;
      AffineMap nchw = AffineMap::getPermutationMap(
          ArrayRef<unsigned>{0, 2, 3, 1}, expand.getContext());
      return llvm::any_of(expand->getUses(), [&](OpOperand &use) {
        auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
        return generic && generic.isDpsInput(&use) &&
               generic.getMatchingIndexingMap(&use) == nchw;
      });
    }
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || generic.getNumResults() != 1 ||
        generic.getNumLoops() != generic.getNumParallelLoops() ||
        generic.getResult(0).getType() != result.getType() ||
        !llvm::all_of(
            generic->getOpOperands(),
            [&](OpOperand &operand) {
              return operand.get() != result ||
                     generic.getMatchingIndexingMap(&operand).isIdentity();
            }) ||
        !generic.getIndexingMapsArray().back().isIdentity())
      return false;
    result = generic.getResult(0);
  }
  return false;
}

/// f32 x f32 whose lhs is an im2col matrix: lattice_uk_conv2d_f32, which
/// reads the matrix in place from the input. When the result goes to an
/// NCHW layout (feedsNchwTranspose), the kernel writes it NCHW and a
/// transposing copy gives the matmul's [N * OH * OW, M] back: elementwise
/// fusion folds it into the transpose after it, and the result is never
/// transposed. Takes precedence over MatmulToGemmF32.
struct MatmulToConvF32 final : ConvUkernelPattern {
  using ConvUkernelPattern::ConvUkernelPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::optional<ConvGeometry> g;
    if (!isGemmF32Candidate(op, vectorBits) ||
        !(g = getIm2colConv(op.getLhs())))
      return failure();
    int64_t m = op.getRhs().getType().getDimSize(0);
    bool nchw = feedsNchwTranspose(op.getResult());
    Location loc = op.getLoc();
    CallBuilder call(rewriter, loc);
    auto [result, resultAddress] = nchw ? call.result({g->n, m, g->oh, g->ow})
                                        : call.result(op.getType().getShape());
    SmallVector<Value> args = {call.address(g->input),
                               call.address(adaptor.getRhs()), resultAddress};
    appendConvSizes(call, *g, m, args);
    assert(args.size() == kConvF32EpilogueArg &&
           "conv2d_f32's arguments moved");
    appendNoEpilogue(call, args);
    int64_t flags = 0;
    if (hasWeightLayout(op, kF32PanelsLayout))
      flags |= LATTICE_UK_B_PACKED;
    else if (hasWeightLayout(op, kF32WinogradLayout))
      flags |= LATTICE_UK_B_WINOGRAD;
    if (nchw)
      flags |= LATTICE_UK_OUT_NCHW;
    args.push_back(call.constant(flags));
    args.push_back(call.constant(numThreads));
    if (!nchw) {
      call.finish(op, kConvF32, args, result);
      return success();
    }
    Value planes = call.emit(kConvF32, args, result);
    Type f32 = rewriter.getF32Type();
    Value empty = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<int64_t>{g->n, g->oh, g->ow, m}, f32);
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps = {
        AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 3, 1, 2}, ctx),
        AffineMap::getMultiDimIdentityMap(4, ctx)};
    auto copy = linalg::GenericOp::create(
        rewriter, loc, empty.getType(), planes, empty, maps,
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc, args[0]);
        });
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getType(), copy.getResult(0),
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
    return success();
  }
};

/// The flags of an 8-bit matmul's kernel call (its operands' kinds, the
/// weight's layout) and the address of its activations' zero point (or 0).
static std::pair<int64_t, Value>
getS8Flags(MatmulOp op, MatmulOp::Adaptor adaptor, CallBuilder &call) {
  auto lhsType = cast<QuantType>(op.getLhs().getType().getElementType());
  auto rhsType = cast<QuantType>(op.getRhs().getType().getElementType());
  int64_t flags = 0;
  if (lhsType.getStorageKind() == StorageKind::Unsigned)
    flags |= LATTICE_UK_A_UNSIGNED;
  if (lhsType.isPerChannel())
    flags |= LATTICE_UK_A_PER_ROW;
  if (rhsType.getScaleType().isF16())
    flags |= LATTICE_UK_SCALE_F16;
  if (hasWeightLayout(op, kS8PanelsLayout))
    flags |= LATTICE_UK_B_PACKED;
  Value zeroPoint = call.constant(0);
  if (Value z = adaptor.getLhsZeroPoint()) {
    auto width = cast<RankedTensorType>(z.getType()).getElementTypeBitWidth();
    flags |= LATTICE_UK_A_ZERO_POINT |
             (int64_t(width) << LATTICE_UK_ZERO_POINT_SHIFT);
    zeroPoint = call.address(z);
  }
  return {flags, zeroPoint};
}

/// 8-bit x 8-bit: lattice_uk_gemm_s8 (VNNI).
struct MatmulToGemmS8 final : UkernelPattern {
  using UkernelPattern::UkernelPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isGemmS8Candidate(op, vectorBits))
      return failure();
    int64_t m = getRows(op), k = op.getLhs().getType().getShape().back();
    int64_t n = op.getRhs().getType().getDimSize(0);
    CallBuilder call(rewriter, op.getLoc());
    auto [flags, zeroPoint] = getS8Flags(op, adaptor, call);
    auto [result, resultAddress] = call.result(op.getType().getShape());
    call.finish(op, kGemmS8,
                {call.address(adaptor.getLhs()),
                 call.address(adaptor.getLhsScale()), zeroPoint,
                 call.address(adaptor.getRhs()),
                 call.address(adaptor.getRhsScale()), resultAddress,
                 call.constant(m), call.constant(n), call.constant(k),
                 call.constant(flags), call.constant(numThreads)},
                result);
    return success();
  }
};

/// 8-bit x 8-bit whose lhs quantizes an im2col matrix (getQuantizedConv):
/// lattice_uk_conv2d_s8, which gathers and quantizes the matrix block by
/// block instead of reading it whole. Takes precedence over MatmulToGemmS8.
struct MatmulToConvS8 final : ConvUkernelPattern {
  using ConvUkernelPattern::ConvUkernelPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::optional<QuantizedConv> conv;
    if (!isGemmS8Candidate(op, vectorBits) || !(conv = getQuantizedConv(op)))
      return failure();
    const ConvGeometry &g = conv->geometry;
    CallBuilder call(rewriter, op.getLoc());
    auto [flags, zeroPoint] = getS8Flags(op, adaptor, call);
    auto [result, resultAddress] = call.result(op.getType().getShape());
    SmallVector<Value> args = {
        call.address(g.input),
        conv->columnScale ? call.address(conv->columnScale) : call.constant(0),
        call.address(adaptor.getLhsScale()),
        zeroPoint,
        call.address(adaptor.getRhs()),
        call.address(adaptor.getRhsScale()),
        resultAddress};
    appendConvSizes(call, g, op.getRhs().getType().getDimSize(0), args);
    args.push_back(call.constant(flags));
    args.push_back(call.constant(numThreads));
    call.finish(op, kConvS8, args, result);
    return success();
  }
};

/// A batched f32 contraction in linalg (the products of attention):
/// lattice_uk_gemm_f32 with the operands' strides.
struct ContractionToGemmF32 final : LinalgUkernelPattern {
  using LinalgUkernelPattern::LinalgUkernelPattern;

  LogicalResult
  matchAndRewrite(linalg::GenericOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<SmallVector<int64_t>> strides = getRowMajorOperandStrides(op);
    if (!getContractionLayout(op, strides))
      return failure();
    // A and B read in place, and C written where the transpose that is its
    // only user would move it, when the kernel takes the strides of each.
    SmallVector<StridedView> inputs;
    for (auto [index, input] : llvm::enumerate(op.getDpsInputs())) {
      StridedView view = getStridedView(input);
      std::swap(strides[index], view.strides);
      if (!getContractionLayout(op, strides)) {
        std::swap(strides[index], view.strides);
        view = {input, 0, strides[index]};
      }
      inputs.push_back(std::move(view));
    }
    linalg::GenericOp transpose = getResultTranspose(op);
    if (transpose) {
      SmallVector<int64_t> plain =
          std::exchange(strides[2], getTransposedStrides(transpose));
      if (!getContractionLayout(op, strides)) {
        strides[2] = std::move(plain);
        transpose = nullptr;
      }
    }
    GemmLayout layout = *getContractionLayout(op, strides);
    CallBuilder call(rewriter, op.getLoc());
    auto resultType = cast<RankedTensorType>(
        (transpose ? transpose : op).getResultTypes()[0]);
    auto [result, resultAddress] = call.result(resultType.getShape());
    Value product =
        call.emit(kGemmF32,
                  {call.address(inputs[0]), call.address(inputs[1]),
                   resultAddress, call.constant(layout.batch),
                   call.constant(layout.m), call.constant(layout.n),
                   call.constant(layout.k), call.constant(layout.aBatch),
                   call.constant(layout.aRow), call.constant(layout.bBatch),
                   call.constant(layout.bK), call.constant(layout.bN),
                   call.constant(layout.cBatch), call.constant(layout.cRow),
                   call.constant(0), call.constant(numThreads)},
                  result);
    if (!transpose) {
      rewriter.replaceOp(op, product);
      return success();
    }
    rewriter.replaceOp(transpose, product);
    rewriter.eraseOp(op);
    return success();
  }
};

/// Grouped (depthwise) convolution or pooling: lattice_uk_window2d_f32.
struct WindowToKernel final : LinalgUkernelPattern {
  using LinalgUkernelPattern::LinalgUkernelPattern;

  LogicalResult
  matchAndRewrite(linalg::GenericOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::optional<WindowGeometry> g = getWindowOp(op);
    if (!g)
      return failure();
    readWithoutPadding(*g);
    CallBuilder call(rewriter, op.getLoc());
    auto resultType = cast<RankedTensorType>(op.getResultTypes()[0]);
    auto [result, resultAddress] = call.result(resultType.getShape());
    SmallVector<Value> args = {
        call.address(g->input),
        g->weight ? call.address(g->weight) : call.constant(0), resultAddress};
    for (int64_t value :
         {g->n, g->groups, g->cg, g->hp, g->wp, g->kh, g->kw, g->oh, g->ow,
          g->sh, g->sw, g->dh, g->dw, g->mult, g->kind})
      args.push_back(call.constant(value));
    assert(args.size() == kWindowF32EpilogueArg &&
           "window2d_f32's arguments moved");
    appendNoEpilogue(call, args);
    args.push_back(call.constant(numThreads));
    call.finish(op, kWindowF32, args, result);
    return success();
  }
};

struct CPUUseUkernelsPass final
    : lattice::impl::CPUUseUkernelsPassBase<CPUUseUkernelsPass> {
  using Base::Base;

  /// A matmul left to linalg would read a weight stored in a kernel's
  /// layout as if it were plain: an error, not a wrong result.
  void checkLayoutsRead(ModuleOp module) {
    WalkResult result = module.walk([](MatmulOp op) {
      StringRef layout = getWeightLayout(op);
      if (layout.empty())
        return WalkResult::advance();
      op.emitError() << "weight stored in layout '" << layout
                     << "', which no microkernel for this matmul reads";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    unsigned bits = vectorBits;
    bool any = false;
    bool contractions = bits >= kGemmVectorBits;
    module.walk([&](Operation *op) {
      if (auto matmul = dyn_cast<MatmulOp>(op))
        any |= isUkernelCandidate(matmul, bits);
      else if (auto generic = dyn_cast<linalg::GenericOp>(op))
        any |= contractions && isGenericCandidate(generic);
    });
    if (!any)
      return checkLayoutsRead(module);

    // The kernels' declarations: i64 addresses, sizes and flags.
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    for (auto [name, arity] : kKernels) {
      if (module.lookupSymbol(name))
        continue;
      SmallVector<Type> params(arity, builder.getI64Type());
      auto decl = func::FuncOp::create(builder, module.getLoc(), name,
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
        [&](MatmulOp op) { return !isUkernelCandidate(op, bits); });
    target.addDynamicallyLegalOp<linalg::GenericOp>([&](linalg::GenericOp op) {
      return !contractions || !isGenericCandidate(op);
    });
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    int64_t threads = std::max<int64_t>(1, numThreads);
    patterns.add<MatmulToQ4, MatmulToGemmF32, MatmulToGemmS8, MatmulToConvF32,
                 MatmulToConvS8>(typeConverter, ctx, threads, bits);
    if (contractions)
      patterns.add<ContractionToGemmF32, WindowToKernel>(typeConverter, ctx,
                                                         threads, bits);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    // Each kernel operand's to_buffer gets its own number: two calls that
    // read one tensor must keep one to_buffer each, or CSE leaves the first
    // as the only read that bufferization sees, and the tensor's buffer may
    // be reused for another value before the second call reads it through
    // its address.
    int64_t operand = 0;
    module.walk([&](bufferization::ToBufferOp op) {
      if (op->hasAttr(kUkernelOperandAttrName))
        op->setAttr(kUkernelOperandAttrName,
                    IntegerAttr::get(IntegerType::get(ctx, 64), operand++));
    });
    checkLayoutsRead(module);
    // Unused declarations go; the layouts are in the calls' flags now.
    for (auto [name, arity] : kKernels)
      if (auto decl = module.lookupSymbol<func::FuncOp>(name))
        if (SymbolTable::symbolKnownUseEmpty(decl, module))
          decl.erase();
    module.walk([](func::FuncOp func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        func.removeArgAttr(i, kWeightLayoutAttrName);
    });
  }
};
} // namespace
