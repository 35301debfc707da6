//===- FuseUkernelEpilogues.cpp - Bias, activation, padding into kernels --===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Folds the elementwise op after a convolution microkernel (a bias per
// output channel, a residual and an activation) into the kernel's call,
// which then applies it to the results in registers as it stores them
// (runtime/lattice_epilogue.h), into the interior of the next layer's
// padded buffer where the op's result goes into a padding.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "lattice/Codegen/Ukernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"

// The epilogues' kinds.
#include "lattice_ukernels.h"

#include <cstring>
#include <optional>

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUFUSEUKERNELEPILOGUESPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
/// An epilogue read off an elementwise op's body.
struct Epilogue {
  int64_t kind = LATTICE_UK_EPILOGUE_NONE;
  float p0 = 0.0f, p1 = 0.0f;
};

/// The f32 constant `value` is, if it is one (not NaN).
std::optional<float> getConstant(Value value) {
  FloatAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.getType().isF32())
    return std::nullopt;
  float f = attr.getValue().convertToFloat();
  if (f != f)
    return std::nullopt;
  return f;
}

bool isPlusZero(std::optional<float> f) {
  return f && *f == 0.0f && !std::signbit(*f);
}

/// `value` as `OpTy(operand, other)` in either order, for arith's
/// commutative binary ops without fast-math flags: `other` then gets the
/// operand that is not `operand` (or, with a null `operand`, the lhs and
/// rhs go to `operand`'s and `other`'s slots as they are).
template <typename OpTy>
OpTy matchBinary(Value value, Value operand, Value &other) {
  auto op = value.getDefiningOp<OpTy>();
  if (!op || op.getFastmath() != arith::FastMathFlags::none)
    return nullptr;
  if (op.getLhs() == operand)
    other = op.getRhs();
  else if (op.getRhs() == operand)
    other = op.getLhs();
  else
    return nullptr;
  return op;
}

/// `value` = minimum(maximum(`t`, lo), hi): lo and hi.
std::optional<std::pair<float, float>> matchClip(Value value, Value t) {
  auto min = value.getDefiningOp<arith::MinimumFOp>();
  if (!min || min.getFastmath() != arith::FastMathFlags::none)
    return std::nullopt;
  for (auto [inner, bound] : {std::pair(min.getLhs(), min.getRhs()),
                              std::pair(min.getRhs(), min.getLhs())}) {
    Value lowValue;
    std::optional<float> high = getConstant(bound);
    // The kernels' minimum takes any bound but -0.
    if (!high || (*high == 0.0f && std::signbit(*high)))
      continue;
    if (!matchBinary<arith::MaximumFOp>(inner, t, lowValue))
      continue;
    if (std::optional<float> low = getConstant(lowValue))
      return std::pair(*low, *high);
  }
  return std::nullopt;
}

/// `value` = min(max(`t` * a + b, 0), 1): a and b.
std::optional<std::pair<float, float>> matchHardSigmoid(Value value, Value t) {
  auto min = value.getDefiningOp<arith::MinimumFOp>();
  if (!min)
    return std::nullopt;
  Value inner;
  for (Value candidate : {min.getLhs(), min.getRhs()}) {
    auto max = candidate.getDefiningOp<arith::MaximumFOp>();
    if (!max)
      continue;
    for (Value sum : {max.getLhs(), max.getRhs()})
      if (auto add = sum.getDefiningOp<arith::AddFOp>())
        inner = add.getResult();
  }
  if (!inner)
    return std::nullopt;
  std::optional<std::pair<float, float>> clip = matchClip(value, inner);
  if (!clip || !isPlusZero(clip->first) || clip->second != 1.0f)
    return std::nullopt;
  auto add = inner.getDefiningOp<arith::AddFOp>();
  if (add.getFastmath() != arith::FastMathFlags::none)
    return std::nullopt;
  for (auto [product, offset] : {std::pair(add.getLhs(), add.getRhs()),
                                 std::pair(add.getRhs(), add.getLhs())}) {
    Value slopeValue;
    std::optional<float> b = getConstant(offset);
    if (!b || !matchBinary<arith::MulFOp>(product, t, slopeValue))
      continue;
    if (std::optional<float> a = getConstant(slopeValue))
      return std::pair(*a, *b);
  }
  return std::nullopt;
}

/// The activation that `result` computes from `t`.
std::optional<Epilogue> matchActivation(Value result, Value t) {
  if (result == t)
    return Epilogue{};
  Value other;
  if (matchBinary<arith::MaximumFOp>(result, t, other) &&
      isPlusZero(getConstant(other)))
    return Epilogue{LATTICE_UK_EPILOGUE_RELU};
  if (auto clip = matchClip(result, t))
    return Epilogue{LATTICE_UK_EPILOGUE_CLIP, clip->first, clip->second};
  if (matchBinary<arith::MulFOp>(result, t, other))
    if (auto hs = matchHardSigmoid(other, t))
      return Epilogue{LATTICE_UK_EPILOGUE_HARDSWISH, hs->first, hs->second};
  if (auto hs = matchHardSigmoid(result, t))
    return Epilogue{LATTICE_UK_EPILOGUE_HARDSIGMOID, hs->first, hs->second};
  return std::nullopt;
}

/// Whether `operand` of `op` is a bias: f32, and its indexing map varies
/// only along the loops `channels` (the output channel, in the order the
/// kernel numbers channels) among the loops of more than one iteration, so
/// that its buffer, read linearly, holds one value per output channel.
bool isChannelBias(linalg::GenericOp op, OpOperand &operand,
                   ArrayRef<unsigned> channels) {
  auto type = dyn_cast<RankedTensorType>(operand.get().getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return false;
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<unsigned> varying;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim)
      return false;
    if (loops[dim.getPosition()] != 1)
      varying.push_back(dim.getPosition());
  }
  // The channel loops that vary, in order.
  SmallVector<unsigned> wanted;
  for (unsigned loop : channels)
    if (loops[loop] != 1)
      wanted.push_back(loop);
  return varying == wanted;
}

/// What `op`, the only user of a kernel's output `planes`, computes from
/// it: t = planes (+ bias) (+ residual), in that order, then an activation
/// of t.
struct Folded {
  Value bias;     // one value per output channel, or null
  Value residual; // planes' shape and layout, or null
  Epilogue epilogue;
};

/// `op`'s epilogue, `channels` being the loops of the output channel.
std::optional<Folded> matchEpilogue(linalg::GenericOp op, Value planes,
                                    ArrayRef<unsigned> channels) {
  auto type = cast<RankedTensorType>(planes.getType());
  if (op.getNumDpsInits() != 1 || op.getNumDpsInputs() > 3 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      op.getResult(0).getType() != type ||
      !op.getIndexingMapsArray().back().isIdentity())
    return std::nullopt;
  Block &body = op.getRegion().front();
  if (!op.getRegionOutputArgs()[0].use_empty())
    return std::nullopt;
  BlockArgument x;
  SmallVector<OpOperand *> others;
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (input->get() == planes && !x &&
        op.getMatchingIndexingMap(input).isIdentity())
      x = op.getMatchingBlockArgument(input);
    else
      others.push_back(input);
  }
  if (!x)
    return std::nullopt;
  // The other inputs, each added once to t in turn: a bias (which must come
  // first), then a residual.
  Folded folded;
  Value t = x;
  for (unsigned step = 0; step < others.size(); ++step) {
    if (!t.hasOneUse())
      return std::nullopt;
    auto add = dyn_cast<arith::AddFOp>(*t.getUsers().begin());
    Value other;
    if (!add || !matchBinary<arith::AddFOp>(add.getResult(), t, other))
      return std::nullopt;
    OpOperand *const *input = llvm::find_if(others, [&](OpOperand *operand) {
      return op.getMatchingBlockArgument(operand) == other;
    });
    if (input == others.end() || !other.hasOneUse())
      return std::nullopt;
    bool residual = op.getMatchingIndexingMap(*input).isIdentity() &&
                    (*input)->get().getType() == type;
    if (step == 0 && isChannelBias(op, **input, channels))
      folded.bias = (*input)->get();
    else if (!folded.residual && residual)
      folded.residual = (*input)->get();
    else
      return std::nullopt;
    t = add.getResult();
  }
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  std::optional<Epilogue> epilogue = matchActivation(yield.getValues()[0], t);
  if (!epilogue ||
      (others.empty() && epilogue->kind == LATTICE_UK_EPILOGUE_NONE))
    return std::nullopt;
  folded.epilogue = *epilogue;
  return folded;
}

/// The i64 constant `value` is, if it is one.
std::optional<int64_t> getInt(Value value) {
  IntegerAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  return attr.getInt();
}

/// The buffer whose address is `address` (an index_cast of its aligned
/// pointer), when it is a fresh allocation.
memref::AllocOp getAllocation(Value address) {
  auto cast = address.getDefiningOp<arith::IndexCastOp>();
  if (!cast)
    return nullptr;
  auto pointer =
      cast.getIn().getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
  if (!pointer)
    return nullptr;
  return pointer.getSource().getDefiningOp<memref::AllocOp>();
}

/// NCHW planes [N, M, OH, OW] as the interior of padded planes: the padded
/// tensor's type and the interior's offsets (0, 0, top, left).
struct Interior {
  RankedTensorType type;
  SmallVector<int64_t, 4> offsets, sizes;

  /// The frame's columns and rows (LATTICE_UK_OUT_FRAME_*).
  int64_t frameW() const { return type.getDimSize(3) - sizes[3]; }
  int64_t frameH() const { return type.getDimSize(2) - sizes[2]; }
  /// The interior's first element, in elements from the padded buffer's.
  int64_t offset() const {
    return offsets[2] * type.getDimSize(3) + offsets[3];
  }
};

/// The interior of `padded` (f32 NCHW of static shape) that a slice with
/// `offsets` and `sizes` (at unit strides) takes, when it is whole planes
/// of `planes`' type in a frame of at most LATTICE_UK_OUT_FRAME_MAX rows and
/// columns.
std::optional<Interior> getInterior(RankedTensorType padded,
                                    ArrayRef<int64_t> offsets,
                                    ArrayRef<int64_t> sizes,
                                    RankedTensorType planes) {
  if (padded.getRank() != 4 || !padded.hasStaticShape() ||
      !padded.getElementType().isF32() || planes.getRank() != 4 ||
      sizes != planes.getShape() || ShapedType::isDynamicShape(offsets) ||
      offsets[0] != 0 || offsets[1] != 0 || padded.getDimSize(0) != sizes[0] ||
      padded.getDimSize(1) != sizes[1])
    return std::nullopt;
  Interior interior{padded, SmallVector<int64_t, 4>(offsets),
                    SmallVector<int64_t, 4>(sizes)};
  if (interior.frameH() < 0 || interior.frameW() < 0 ||
      interior.frameH() > LATTICE_UK_OUT_FRAME_MAX ||
      interior.frameW() > LATTICE_UK_OUT_FRAME_MAX ||
      offsets[2] > interior.frameH() || offsets[3] > interior.frameW())
    return std::nullopt;
  return interior;
}

/// A kernel's operand (a residual, a convolution's input) that is the
/// interior of a padded tensor defined before `call`: a slice of it (the
/// output of a convolution that wrote it framed), or a value inserted into
/// it (by an op that bufferization makes write the padding in place, whose
/// buffer a read by address would copy out). The padded tensor and the
/// interior.
std::optional<std::pair<Value, Interior>>
getPaddedInterior(Value operand, RankedTensorType planes, func::CallOp call,
                  DominanceInfo &dominance) {
  if (auto slice = operand.getDefiningOp<tensor::ExtractSliceOp>();
      slice && slice.hasUnitStride()) {
    if (std::optional<Interior> interior =
            getInterior(slice.getSourceType(), slice.getStaticOffsets(),
                        slice.getStaticSizes(), planes))
      return std::pair(slice.getSource(), *interior);
  }
  for (Operation *user : operand.getUsers()) {
    auto insert = dyn_cast<tensor::InsertSliceOp>(user);
    if (!insert || insert.getSource() != operand || !insert.hasUnitStride() ||
        !dominance.properlyDominates(insert.getResult(), call))
      continue;
    if (std::optional<Interior> interior =
            getInterior(insert.getDestType(), insert.getStaticOffsets(),
                        insert.getStaticSizes(), planes))
      return std::pair(insert.getResult(), *interior);
  }
  return std::nullopt;
}

/// The padding that a convolution's epilogue `op` writes its results into
/// with `insert`: a fill of a fresh tensor whose value is defined before
/// `call` or is a constant of its block (which may move there), and the
/// interior.
std::optional<std::pair<Value, Interior>>
getPadding(func::CallOp call, linalg::GenericOp op,
           tensor::InsertSliceOp insert, DominanceInfo &dominance) {
  auto fill = insert.getDest().getDefiningOp<linalg::FillOp>();
  if (!fill || fill->getNumResults() != 1 || !insert.hasUnitStride() ||
      insert.getSourceType() != op.getResult(0).getType())
    return std::nullopt;
  Value value = fill.getInputs()[0];
  if (!dominance.properlyDominates(value, call)) {
    Operation *constant = value.getDefiningOp();
    if (!constant || !constant->hasTrait<OpTrait::ConstantLike>() ||
        constant->getBlock() != call->getBlock())
      return std::nullopt;
  }
  Operation *fresh = fill.getOutputs()[0].getDefiningOp();
  auto alloc = dyn_cast_or_null<bufferization::AllocTensorOp>(fresh);
  if (!isa_and_nonnull<tensor::EmptyOp>(fresh) &&
      !(alloc && alloc->getNumOperands() == 0))
    return std::nullopt;
  std::optional<Interior> interior =
      getInterior(insert.getDestType(), insert.getStaticOffsets(),
                  insert.getStaticSizes(), insert.getSourceType());
  if (!interior)
    return std::nullopt;
  return std::pair(value, *interior);
}

/// Whether frames around the output or the residual of `call`'s
/// convolution cost the kernel nothing: not where its runs of pixels span
/// output rows (a 1 x 1 window at stride 1 without padding, wp * sh = ow *
/// sw), which it would then store a row at a time, or compute as the weight
/// times the input, a path that takes no frames.
bool takesFrames(func::CallOp call) {
  std::optional<int64_t> wp = getInt(call.getOperand(6)),
                         ow = getInt(call.getOperand(10)),
                         sh = getInt(call.getOperand(11)),
                         sw = getInt(call.getOperand(12));
  return wp && ow && sh && sw && *wp * *sh != *ow * *sw;
}

/// The i64 `address` plus `elements` f32 elements.
Value plusElements(OpBuilder &b, Location loc, Value address,
                   int64_t elements) {
  if (elements == 0)
    return address;
  Value bytes = arith::ConstantOp::create(
      b, loc, b.getI64IntegerAttr(elements * int64_t(sizeof(float))));
  return arith::AddIOp::create(b, loc, address, bytes);
}

/// Erases `address`'s chain of single-operand producers (index_cast,
/// extract_aligned_pointer_as_index, to_buffer, ...) while nothing uses
/// them.
void eraseDeadAddress(Value address) {
  for (Operation *dead = address.getDefiningOp(); dead && dead->use_empty();) {
    Operation *next = dead->getNumOperands() == 1
                          ? dead->getOperand(0).getDefiningOp()
                          : nullptr;
    dead->erase();
    dead = next;
  }
}

struct CPUFuseUkernelEpiloguesPass final
    : lattice::impl::CPUFuseUkernelEpiloguesPassBase<
          CPUFuseUkernelEpiloguesPass> {
  void runOnOperation() override;

private:
  /// Folds what follows `call` into it; true when it did.
  bool fuse(func::CallOp call, DominanceInfo &dominance);

  /// Has `call`'s convolution read its input in place when the input is
  /// the interior of a padded tensor; true when it does.
  bool readInputInPlace(func::CallOp call, DominanceInfo &dominance);

  /// The address of `tensor`'s buffer, read by a kernel: through a
  /// to_buffer op numbered as lattice-cpu-use-ukernels numbers its own.
  Value address(OpBuilder &b, Location loc, Value tensor);

  /// The next number of kUkernelOperandAttrName.
  int64_t nextOperand = 0;
};

Value CPUFuseUkernelEpiloguesPass::address(OpBuilder &b, Location loc,
                                           Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto buffer = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
  buffer->setAttr(kUkernelOperandAttrName, b.getI64IntegerAttr(nextOperand++));
  Value pointer =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), pointer);
}

bool CPUFuseUkernelEpiloguesPass::readInputInPlace(func::CallOp call,
                                                   DominanceInfo &dominance) {
  if (call.getCallee() != kConvF32Kernel ||
      call.getNumOperands() != kConvF32EpilogueArg + 6)
    return false;
  // The window's geometry: kh kw oh ow sh sw dh dw, operands 7 to 14.
  SmallVector<int64_t> g;
  for (unsigned i = 7; i < 15; ++i) {
    std::optional<int64_t> value = getInt(call.getOperand(i));
    if (!value)
      return false;
    g.push_back(*value);
  }
  int64_t kh = g[0], kw = g[1], oh = g[2], ow = g[3], sh = g[4], sw = g[5],
          dh = g[6], dw = g[7];
  std::optional<int64_t> flags =
      getInt(call.getOperand(kConvF32EpilogueArg + 4));
  // Not Winograd's tiles, which read up to the input's edge (zero beyond
  // it), past the last window; nor a 1 x 1 window at stride 1, which the
  // kernel computes as the weight times a dense input.
  if (!flags || (*flags & LATTICE_UK_B_WINOGRAD) ||
      lattice_uk_conv2d_f32_winograd(kh, kw, oh, ow, sh, sw, dh, dw) ||
      (kh == 1 && kw == 1 && sh == 1 && sw == 1))
    return false;
  auto index = call.getOperand(0).getDefiningOp<arith::IndexCastOp>();
  auto pointer =
      index ? index.getIn()
                  .getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>()
            : nullptr;
  auto buffer =
      pointer ? pointer.getSource().getDefiningOp<bufferization::ToBufferOp>()
              : nullptr;
  if (!buffer)
    return false;
  Value input = buffer.getTensor();
  std::optional<std::pair<Value, Interior>> padded = getPaddedInterior(
      input, cast<RankedTensorType>(input.getType()), call, dominance);
  if (!padded)
    return false;
  OpBuilder b(call);
  Location loc = call.getLoc();
  const Interior &interior = padded->second;
  Value old = call.getOperand(0);
  call->setOperand(0, plusElements(b, loc, address(b, loc, padded->first),
                                   interior.offset()));
  call->setOperand(
      5, arith::ConstantOp::create(
             b, loc, b.getI64IntegerAttr(interior.type.getDimSize(2))));
  call->setOperand(
      6, arith::ConstantOp::create(
             b, loc, b.getI64IntegerAttr(interior.type.getDimSize(3))));
  eraseDeadAddress(old);
  return true;
}

bool CPUFuseUkernelEpiloguesPass::fuse(func::CallOp call,
                                       DominanceInfo &dominance) {
  bool conv = call.getCallee() == kConvF32Kernel;
  unsigned first = conv ? kConvF32EpilogueArg : kWindowF32EpilogueArg;
  // The epilogue's four arguments, then the flags (conv) and threads.
  if (call.getNumOperands() != first + 4 + (conv ? 2 : 1))
    return false;
  // An NCHW convolution output; no epilogue yet.
  if (conv) {
    std::optional<int64_t> flags = getInt(call.getOperand(first + 4));
    if (!flags || !(*flags & LATTICE_UK_OUT_NCHW))
      return false;
  }
  if (getInt(call.getOperand(first)) != 0 ||
      getInt(call.getOperand(first + 1)) != LATTICE_UK_EPILOGUE_NONE ||
      getInt(call.getOperand(first + 3)) != 0)
    return false;
  memref::AllocOp alloc = getAllocation(call.getOperand(kUkernelResultArg));
  if (!alloc)
    return false;
  bufferization::ToTensorOp planes;
  for (Operation *user : alloc->getUsers())
    if (auto toTensor = dyn_cast<bufferization::ToTensorOp>(user))
      planes = toTensor;
  if (!planes || !planes->hasOneUse() || planes->getBlock() != call->getBlock())
    return false;
  auto op = dyn_cast<linalg::GenericOp>(*planes->getUsers().begin());
  if (!op)
    return false;
  // The output channel: dimension 1 of [N, M, OH, OW], or 1 and 2 of a
  // window's [N, groups, mult, OH, OW].
  SmallVector<unsigned> channels =
      conv ? SmallVector<unsigned>{1} : SmallVector<unsigned>{1, 2};
  std::optional<Folded> folded =
      matchEpilogue(op, planes.getResult(), channels);
  if (!folded)
    return false;
  for (Value input : {folded->bias, folded->residual})
    if (input && !dominance.properlyDominates(input, call))
      return false;
  // An op that writes the interior of a padding (the padded buffer is its
  // destination after bufferization): the kernel writes into that buffer
  // instead, the planes framed, or the op stays. A residual that is the
  // interior of a padded tensor is read there, framed. Only where frames
  // cost the kernel nothing (takesFrames).
  auto planesType = cast<RankedTensorType>(planes.getType());
  tensor::InsertSliceOp padding;
  for (Operation *user : op->getUsers())
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user);
        insert && insert.getSource() == op.getResult(0)) {
      if (padding)
        return false;
      padding = insert;
    }
  bool frames = conv && takesFrames(call);
  std::optional<std::pair<Value, Interior>> output;
  if (padding) {
    if (frames)
      output = getPadding(call, op, padding, dominance);
    if (!output)
      return false;
  }
  std::optional<std::pair<Value, Interior>> residual;
  if (folded->residual && frames)
    residual = getPaddedInterior(folded->residual, planesType, call, dominance);
  OpBuilder b(call);
  Location loc = call.getLoc();
  SmallVector<Value> operands(call.getOperands());
  // The kernel reads the bias and the residual by address.
  if (folded->bias)
    operands[first] = address(b, loc, folded->bias);
  int64_t flags = conv ? *getInt(call.getOperand(first + 4)) : 0;
  if (residual) {
    operands[first + 3] = plusElements(b, loc, address(b, loc, residual->first),
                                       residual->second.offset());
    flags |= (residual->second.frameW() << LATTICE_UK_RESIDUAL_FRAME_W_SHIFT) |
             (residual->second.frameH() << LATTICE_UK_RESIDUAL_FRAME_H_SHIFT);
  } else if (folded->residual) {
    operands[first + 3] = address(b, loc, folded->residual);
  }
  bufferization::ToBufferOp framed;
  if (output) {
    // The padded buffer, filled before the call, which writes its interior.
    const Interior &interior = output->second;
    if (Operation *constant = output->first.getDefiningOp();
        constant && !dominance.properlyDominates(output->first, call))
      constant->moveBefore(call);
    auto fresh = bufferization::AllocTensorOp::create(b, loc, interior.type,
                                                      ValueRange());
    auto fill =
        linalg::FillOp::create(b, loc, output->first, fresh.getResult());
    framed = bufferization::ToBufferOp::create(
        b, loc,
        MemRefType::get(interior.type.getShape(),
                        interior.type.getElementType()),
        fill.getResult(0));
    Value pointer =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, framed);
    operands[kUkernelResultArg] = plusElements(
        b, loc, arith::IndexCastOp::create(b, loc, b.getI64Type(), pointer),
        interior.offset());
    flags |= (interior.frameW() << LATTICE_UK_OUT_FRAME_W_SHIFT) |
             (interior.frameH() << LATTICE_UK_OUT_FRAME_H_SHIFT);
  }
  if (conv)
    operands[first + 4] =
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(flags));
  const Epilogue &kind = folded->epilogue;
  uint32_t low, high;
  std::memcpy(&low, &kind.p0, sizeof(low));
  std::memcpy(&high, &kind.p1, sizeof(high));
  operands[first + 1] =
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(kind.kind));
  operands[first + 2] = arith::ConstantOp::create(
      b, loc, b.getI64IntegerAttr(int64_t((uint64_t(high) << 32) | low)));
  Value oldResult = call.getOperand(kUkernelResultArg);
  call->setOperands(operands);
  if (!output) {
    op.getResult(0).replaceAllUsesWith(planes.getResult());
    op->erase();
    return true;
  }
  // The padded tensor after the call; the op's other users read its
  // interior.
  b.setInsertionPointAfter(call);
  const Interior &interior = output->second;
  auto padded = bufferization::ToTensorOp::create(
      b, loc, interior.type, framed, /*restrict=*/true, /*writable=*/true);
  Operation *oldFill = padding.getDest().getDefiningOp();
  padding.getResult().replaceAllUsesWith(padded.getResult());
  padding->erase();
  if (!op->use_empty()) {
    auto slice = tensor::ExtractSliceOp::create(
        b, loc, padded.getResult(),
        getAsIndexOpFoldResult(b.getContext(), interior.offsets),
        getAsIndexOpFoldResult(b.getContext(), interior.sizes),
        getAsIndexOpFoldResult(b.getContext(), SmallVector<int64_t>(4, 1)));
    op.getResult(0).replaceAllUsesWith(slice.getResult());
  }
  op->erase();
  // The kernel's own buffer, its address and the padding's old fill go.
  planes->erase();
  eraseDeadAddress(oldResult);
  if (oldFill && oldFill->use_empty()) {
    Operation *fresh = oldFill->getOperand(1).getDefiningOp();
    oldFill->erase();
    if (fresh && fresh->use_empty())
      fresh->erase();
  }
  return true;
}

void CPUFuseUkernelEpiloguesPass::runOnOperation() {
  ModuleOp module = getOperation();
  // Numbers after those that lattice-cpu-use-ukernels gave.
  module.walk([&](bufferization::ToBufferOp op) {
    if (auto number = op->getAttrOfType<IntegerAttr>(kUkernelOperandAttrName))
      nextOperand = std::max(nextOperand, number.getInt() + 1);
  });
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call.getCallee() == kConvF32Kernel ||
        call.getCallee() == kWindowF32Kernel)
      calls.push_back(call);
  });
  DominanceInfo &dominance = getAnalysis<DominanceInfo>();
  for (func::CallOp call : calls)
    fuse(call, dominance);
  for (func::CallOp call : calls)
    readInputInPlace(call, dominance);
}
} // namespace
