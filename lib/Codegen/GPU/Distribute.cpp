//===- Distribute.cpp - Map linalg ops on buffers to GPU kernels ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every linalg op of a bufferized function becomes one `gpu.launch`. Two
// shapes of kernel cover the ops of a quantized transformer:
//
// - one thread per output element (elementwise ops, and reductions too short
//   to share): consecutive threads write consecutive elements of the
//   innermost parallel loop, reductions run sequentially in the thread;
// - one warp per output element for reductions that combine with one
//   associative operator (matmuls with dequantization in their body, norms,
//   softmax): the lanes split the reduction, each walking chunks of
//   consecutive elements of the innermost reduction loop, so that a warp
//   reads a weight row in contiguous 32-chunk spans, and the partial results
//   meet through `gpu.shuffle`. Dequantization happens in the cloned body,
//   in registers; a group scale is read once per chunk.
//
// Both walk their outputs with grid-stride loops, so any size runs on a
// bounded grid.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_GPUDISTRIBUTEPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

static constexpr int64_t kWarpSize = 32;
/// Bound on the grid: the grid-stride loops cover the rest.
static constexpr int64_t kMaxBlocks = 65535;

namespace {
/// The combiner of a reduction: `yield combiner(out, f(ins))`, where `out`
/// has no other use, with a neutral element to start partial results from.
struct Combiner {
  Operation *op;
  TypedAttr identity;
};

/// Builds one linalg op's kernel.
class KernelBuilder {
public:
  /// `dotProducts`: whether byte dot products may use dp4a.
  KernelBuilder(RewriterBase &rewriter, linalg::GenericOp op, bool dotProducts)
      : rewriter(rewriter), op(op), loc(op.getLoc()), dotProducts(dotProducts) {
  }

  /// Emits the launch in place of `op` with `blockSize` threads per block:
  /// a warp per output when `combiners` (one per output) are given.
  void emit(unsigned blockSize, unsigned chunk, ArrayRef<Combiner> combiners);

  /// Returns the combiners of `op`, one per output, when it is a reduction
  /// the warp kernel can share among lanes.
  static std::optional<SmallVector<Combiner>>
  matchCombiners(linalg::GenericOp op);

private:
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  }
  Value product(ArrayRef<Value> values);
  /// Splits `linear` into indices of `sizes` (last fastest).
  SmallVector<Value> delinearize(Value linear, ArrayRef<Value> sizes);
  /// The indices `map` gives at the loop indices `ivs`; loops the map does
  /// not use may have no index.
  SmallVector<Value> getIndices(AffineMap map, ArrayRef<Value> ivs);
  /// Loads the operand `operand` at the loop indices `ivs`.
  Value load(OpOperand &operand, ArrayRef<Value> ivs);
  /// Clones the payload at `ivs`, with output block arguments bound to
  /// `outs` and input block arguments to `ins` where given (loaded
  /// otherwise); returns the yielded values.
  SmallVector<Value> clonePayload(ArrayRef<Value> ivs, ArrayRef<Value> outs,
                                  ArrayRef<Value> ins = {});
  /// Whether `operand` is read at unit stride along the innermost
  /// reduction loop, `chunk` elements at a time from aligned offsets.
  bool isReadInChunks(OpOperand &operand, unsigned chunk);
  /// Evaluates the payload on the `chunk` consecutive elements at `ivs`,
  /// starting from `partials`; returns the new partial results.
  SmallVector<Value> emitChunk(MutableArrayRef<Value> ivs, unsigned chunk,
                               ArrayRef<Value> partials);
  /// Stores `values` into the outputs at `ivs`.
  void storeOutputs(ArrayRef<Value> ivs, ValueRange values);
  Value combine(const Combiner &combiner, Value lhs, Value rhs);

  void emitThreadPerOutput(gpu::LaunchOp launch, ArrayRef<Value> sizes);
  void emitWarpPerOutput(gpu::LaunchOp launch, ArrayRef<Value> sizes,
                         unsigned blockSize, unsigned chunk,
                         ArrayRef<Combiner> combiners);

  RewriterBase &rewriter;
  linalg::GenericOp op;
  Location loc;
  bool dotProducts;
  SmallVector<unsigned> parallelDims, reductionDims;
};
} // namespace

std::optional<SmallVector<Combiner>>
KernelBuilder::matchCombiners(linalg::GenericOp op) {
  if (op.getNumReductionLoops() == 0)
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  SmallVector<Combiner> combiners;
  for (auto [out, yielded] :
       llvm::zip(op.getRegionOutputArgs(), yield.getValues())) {
    // `yield combiner(out, f(ins))`: the output is read by its combiner
    // alone, so that partial results of separate lanes can be combined.
    Operation *combinerOp = yielded.getDefiningOp();
    if (!combinerOp || combinerOp->getNumOperands() != 2 ||
        combinerOp->getNumResults() != 1 || !out.hasOneUse() ||
        out.getUses().begin()->getOwner() != combinerOp ||
        combinerOp->getOperand(0) == combinerOp->getOperand(1))
      return std::nullopt;
    // gpu.shuffle moves 32-bit values in one instruction.
    Type type = out.getType();
    if (!type.isF32() && !type.isInteger(32))
      return std::nullopt;
    std::optional<TypedAttr> identity = arith::getNeutralElement(combinerOp);
    // One combiner per output (`out0 + out1` serves neither).
    if (!identity || llvm::any_of(combiners, [&](const Combiner &other) {
          return other.op == combinerOp;
        }))
      return std::nullopt;
    combiners.push_back({combinerOp, *identity});
  }
  return combiners;
}

Value KernelBuilder::product(ArrayRef<Value> values) {
  Value result = constant(1);
  for (Value value : values)
    result = arith::MulIOp::create(rewriter, loc, result, value);
  return result;
}

SmallVector<Value> KernelBuilder::delinearize(Value linear,
                                              ArrayRef<Value> sizes) {
  SmallVector<Value> indices(sizes.size());
  for (int64_t i = sizes.size() - 1; i >= 0; --i) {
    if (i == 0) {
      indices[i] = linear;
      break;
    }
    indices[i] = arith::RemUIOp::create(rewriter, loc, linear, sizes[i]);
    linear = arith::DivUIOp::create(rewriter, loc, linear, sizes[i]);
  }
  return indices;
}

SmallVector<Value> KernelBuilder::getIndices(AffineMap map,
                                             ArrayRef<Value> ivs) {
  SmallVector<Value> indices;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      indices.push_back(ivs[dim.getPosition()]);
      continue;
    }
    // Only the loops the expression uses become operands.
    AffineMap exprMap = AffineMap::get(map.getNumDims(), 0, expr);
    llvm::SmallBitVector unused = getUnusedDimsBitVector({exprMap});
    SmallVector<Value> operands;
    for (auto [dim, iv] : llvm::enumerate(ivs))
      if (!unused.test(dim))
        operands.push_back(iv);
    indices.push_back(affine::AffineApplyOp::create(
        rewriter, loc, compressDims(exprMap, unused), operands));
  }
  return indices;
}

Value KernelBuilder::load(OpOperand &operand, ArrayRef<Value> ivs) {
  Value source = operand.get();
  if (!isa<MemRefType>(source.getType()))
    return source;
  return memref::LoadOp::create(
      rewriter, loc, source,
      getIndices(op.getMatchingIndexingMap(&operand), ivs));
}

SmallVector<Value> KernelBuilder::clonePayload(ArrayRef<Value> ivs,
                                               ArrayRef<Value> outs,
                                               ArrayRef<Value> ins) {
  Block *body = op.getBody();
  IRMapping mapping;
  for (auto [i, input] : llvm::enumerate(op.getDpsInputOperands())) {
    BlockArgument arg = op.getMatchingBlockArgument(input);
    if (arg.use_empty())
      continue;
    mapping.map(arg, i < ins.size() && ins[i] ? ins[i] : load(*input, ivs));
  }
  for (auto [arg, value] : llvm::zip(op.getRegionOutputArgs(), outs))
    if (value)
      mapping.map(arg, value);
  for (Operation &payloadOp : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(payloadOp)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    rewriter.clone(payloadOp, mapping);
  }
  // A yielded value may come from above the op (a constant that fills an
  // output), which the kernel takes as it is.
  return llvm::map_to_vector(
      body->getTerminator()->getOperands(),
      [&](Value v) { return mapping.lookupOrDefault(v); });
}

void KernelBuilder::storeOutputs(ArrayRef<Value> ivs, ValueRange values) {
  for (auto [init, value] : llvm::zip(op.getDpsInitsMutable(), values)) {
    memref::StoreOp::create(rewriter, loc, value, init.get(),
                            getIndices(op.getMatchingIndexingMap(&init), ivs));
  }
}

Value KernelBuilder::combine(const Combiner &combiner, Value lhs, Value rhs) {
  IRMapping mapping;
  mapping.map(combiner.op->getOperand(0), lhs);
  mapping.map(combiner.op->getOperand(1), rhs);
  return rewriter.clone(*combiner.op, mapping)->getResult(0);
}

void KernelBuilder::emitThreadPerOutput(gpu::LaunchOp launch,
                                        ArrayRef<Value> sizes) {
  Value thread = arith::AddIOp::create(
      rewriter, loc,
      arith::MulIOp::create(rewriter, loc, launch.getBlockIds().x,
                            launch.getBlockSize().x),
      launch.getThreadIds().x);
  Value stride = arith::MulIOp::create(rewriter, loc, launch.getGridSize().x,
                                       launch.getBlockSize().x);
  SmallVector<Value> parallelSizes =
      llvm::map_to_vector(parallelDims, [&](unsigned d) { return sizes[d]; });
  Value numOutputs = product(parallelSizes);
  auto loop = scf::ForOp::create(rewriter, loc, thread, numOutputs, stride);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> ivs(sizes.size());
  for (auto [dim, index] : llvm::zip(
           parallelDims, delinearize(loop.getInductionVar(), parallelSizes)))
    ivs[dim] = index;

  // Current output values, where the payload reads them.
  SmallVector<Value> outs;
  for (OpOperand &init : op.getDpsInitsMutable())
    outs.push_back(op.payloadUsesValueFromOperand(&init) ? load(init, ivs)
                                                         : Value());
  if (reductionDims.empty()) {
    storeOutputs(ivs, clonePayload(ivs, outs));
    return;
  }
  // Reductions: one loop per reduction dimension, carrying the outputs
  // (an output the payload does not read starts as poison).
  for (auto [value, arg] : llvm::zip(outs, op.getRegionOutputArgs()))
    if (!value)
      value = ub::PoisonOp::create(rewriter, loc, arg.getType());
  Value zero = constant(0), one = constant(1);
  SmallVector<scf::ForOp> loops;
  ValueRange carried = outs;
  for (unsigned dim : reductionDims) {
    auto inner =
        scf::ForOp::create(rewriter, loc, zero, sizes[dim], one, carried);
    if (!loops.empty())
      scf::YieldOp::create(rewriter, loc, inner.getResults());
    loops.push_back(inner);
    rewriter.setInsertionPointToStart(inner.getBody());
    ivs[dim] = inner.getInductionVar();
    carried = inner.getRegionIterArgs();
  }
  SmallVector<Value> carriedValues(carried.begin(), carried.end());
  scf::YieldOp::create(rewriter, loc, clonePayload(ivs, carriedValues));
  rewriter.setInsertionPointAfter(loops.front());
  storeOutputs(ivs, loops.front().getResults());
}

void KernelBuilder::emitWarpPerOutput(gpu::LaunchOp launch,
                                      ArrayRef<Value> sizes, unsigned blockSize,
                                      unsigned chunk,
                                      ArrayRef<Combiner> combiners) {
  Value warpSize = constant(kWarpSize);
  Value warpsPerBlock = constant(blockSize / kWarpSize);
  Value threadId = launch.getThreadIds().x;
  Value lane = arith::RemUIOp::create(rewriter, loc, threadId, warpSize);
  Value warp = arith::AddIOp::create(
      rewriter, loc,
      arith::MulIOp::create(rewriter, loc, launch.getBlockIds().x,
                            warpsPerBlock),
      arith::DivUIOp::create(rewriter, loc, threadId, warpSize));
  Value numWarps = arith::MulIOp::create(rewriter, loc, launch.getGridSize().x,
                                         warpsPerBlock);

  SmallVector<Value> parallelSizes =
      llvm::map_to_vector(parallelDims, [&](unsigned d) { return sizes[d]; });
  SmallVector<Value> reductionSizes =
      llvm::map_to_vector(reductionDims, [&](unsigned d) { return sizes[d]; });
  // Every lane of a warp takes the same outputs: the shuffles below see
  // the whole warp.
  auto outputLoop =
      scf::ForOp::create(rewriter, loc, warp, product(parallelSizes), numWarps);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(outputLoop.getBody());
  SmallVector<Value> ivs(sizes.size());
  for (auto [dim, index] :
       llvm::zip(parallelDims,
                 delinearize(outputLoop.getInductionVar(), parallelSizes)))
    ivs[dim] = index;

  // Lane `l` takes chunks l, l + 32, ... of `chunk` consecutive elements
  // of the innermost reduction loop (the chunk divides its extent).
  Value chunkSize = constant(chunk);
  Value numChunks =
      arith::DivUIOp::create(rewriter, loc, product(reductionSizes), chunkSize);
  SmallVector<Value> identities =
      llvm::map_to_vector(combiners, [&](const Combiner &combiner) -> Value {
        return arith::ConstantOp::create(rewriter, loc, combiner.identity);
      });
  auto chunkLoop =
      scf::ForOp::create(rewriter, loc, lane, numChunks, warpSize, identities);
  {
    OpBuilder::InsertionGuard chunkGuard(rewriter);
    rewriter.setInsertionPointToStart(chunkLoop.getBody());
    Value first = arith::MulIOp::create(rewriter, loc,
                                        chunkLoop.getInductionVar(), chunkSize);
    for (auto [dim, index] :
         llvm::zip(reductionDims, delinearize(first, reductionSizes)))
      ivs[dim] = index;
    SmallVector<Value> partials(chunkLoop.getRegionIterArgs());
    scf::YieldOp::create(rewriter, loc, emitChunk(ivs, chunk, partials));
  }

  // Butterfly: every lane ends with the warp's totals.
  SmallVector<Value> totals(chunkLoop.getResults());
  for (auto [total, combiner] : llvm::zip(totals, combiners)) {
    for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(rewriter, loc, total, offset,
                                            kWarpSize, gpu::ShuffleMode::XOR);
      total = combine(combiner, total, shuffle.getShuffleResult());
    }
  }
  Value isFirstLane = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::eq, lane, constant(0));
  auto ifFirst = scf::IfOp::create(rewriter, loc, isFirstLane);
  rewriter.setInsertionPointToStart(&ifFirst.getThenRegion().front());
  SmallVector<Value> results;
  for (auto [init, total, combiner] :
       llvm::zip(op.getDpsInitsMutable(), totals, combiners))
    results.push_back(combine(combiner, load(init, ivs), total));
  storeOutputs(ivs, results);
}

bool KernelBuilder::isReadInChunks(OpOperand &operand, unsigned chunk) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  if (chunk < 2 || !type || type.getRank() == 0 ||
      !type.getLayout().isIdentity())
    return false;
  // Bytes, or 4-bit codes that a byte load and shifts unpack: a chunk of
  // them starts on a byte (lattice-emulate-narrow-types relies on it).
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || (element.getIntOrFloatBitWidth() % 8 != 0 &&
                                  element.getIntOrFloatBitWidth() != 4))
    return false;
  if (chunk * element.getIntOrFloatBitWidth() < 8)
    return false;
  // The innermost reduction loop walks the innermost dimension, and no
  // other, and the rows hold whole chunks (so every chunk is aligned).
  unsigned innermost = reductionDims.back();
  AffineMap map = op.getMatchingIndexingMap(&operand);
  auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
  if (!last || last.getPosition() != innermost ||
      llvm::any_of(map.getResults().drop_back(), [&](AffineExpr expr) {
        return expr.isFunctionOfDim(innermost);
      }))
    return false;
  int64_t rowSize = type.getShape().back();
  return !ShapedType::isDynamic(rowSize) && rowSize % chunk == 0;
}

namespace {
/// An integer dot product of bytes, `out + ext(a) * ext(b)` with `a`, `b` i8
/// inputs and an i32 output: four steps of it are one `dp4a`.
struct BytesDotProduct {
  unsigned lhs, rhs;
  NVVM::DotAccumulateType lhsType, rhsType;
};
} // namespace

/// Matches the payload of `op` as a dot product of two byte inputs.
static std::optional<BytesDotProduct>
matchBytesDotProduct(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 ||
      !op.getRegionOutputArgs()[0].getType().isInteger(32))
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddIOp>();
  if (!add)
    return std::nullopt;
  Value product = add.getLhs() == op.getRegionOutputArgs()[0]   ? add.getRhs()
                  : add.getRhs() == op.getRegionOutputArgs()[0] ? add.getLhs()
                                                                : Value();
  auto mul = product ? product.getDefiningOp<arith::MulIOp>() : nullptr;
  if (!mul)
    return std::nullopt;
  // Each factor extends an i8 input.
  auto matchFactor = [&](Value factor, unsigned &input,
                         NVVM::DotAccumulateType &type) {
    Operation *ext = factor.getDefiningOp();
    if (!isa_and_nonnull<arith::ExtSIOp, arith::ExtUIOp>(ext))
      return false;
    auto arg = dyn_cast<BlockArgument>(ext->getOperand(0));
    if (!arg || arg.getOwner() != op.getBody() ||
        arg.getArgNumber() >= op.getNumDpsInputs() ||
        !arg.getType().isInteger(8))
      return false;
    input = arg.getArgNumber();
    type = isa<arith::ExtSIOp>(ext) ? NVVM::DotAccumulateType::SIGNED
                                    : NVVM::DotAccumulateType::UNSIGNED;
    return true;
  };
  BytesDotProduct dot;
  if (!matchFactor(mul.getLhs(), dot.lhs, dot.lhsType) ||
      !matchFactor(mul.getRhs(), dot.rhs, dot.rhsType))
    return std::nullopt;
  return dot;
}

SmallVector<Value> KernelBuilder::emitChunk(MutableArrayRef<Value> ivs,
                                            unsigned chunk,
                                            ArrayRef<Value> partials) {
  // Inputs read at unit stride: one vector load per chunk, aligned to its
  // size (up to 16 bytes) so that it is one wide load.
  SmallVector<Value> vectors;
  for (OpOperand *input : op.getDpsInputOperands()) {
    vectors.emplace_back();
    if (op.getMatchingBlockArgument(input).use_empty() ||
        !isReadInChunks(*input, chunk))
      continue;
    auto type = cast<MemRefType>(input->get().getType());
    uint64_t bytes = std::max<uint64_t>(
        1, chunk * type.getElementType().getIntOrFloatBitWidth() / 8);
    vectors.back() = vector::LoadOp::create(
        rewriter, loc, VectorType::get({chunk}, type.getElementType()),
        input->get(), getIndices(op.getMatchingIndexingMap(input), ivs),
        /*nontemporal=*/false,
        llvm::Align(llvm::PowerOf2Ceil(std::min<uint64_t>(bytes, 16))));
  }

  // Integer dot products of bytes: dp4a on four elements at a time.
  std::optional<BytesDotProduct> dot;
  if (dotProducts)
    dot = matchBytesDotProduct(op);
  if (dot && chunk % 4 == 0 && vectors[dot->lhs] && vectors[dot->rhs]) {
    Value partial = partials.front();
    for (unsigned i = 0; i < chunk; i += 4) {
      SmallVector<int64_t> quad = {i, i + 1, i + 2, i + 3};
      auto slice = [&](Value vector) -> Value {
        if (chunk == 4)
          return vector;
        return vector::ShuffleOp::create(rewriter, loc, vector, vector, quad);
      };
      partial = NVVM::DotAccumulate4WayOp::create(
          rewriter, loc, rewriter.getI32Type(), slice(vectors[dot->lhs]),
          dot->lhsType, slice(vectors[dot->rhs]), dot->rhsType, partial);
    }
    return {partial};
  }

  // Otherwise the payload, element by element.
  unsigned innermost = reductionDims.back();
  Value start = ivs[innermost];
  SmallVector<Value> results(partials);
  for (unsigned i = 0; i < chunk; ++i) {
    if (i > 0)
      ivs[innermost] = arith::AddIOp::create(rewriter, loc, start, constant(i));
    SmallVector<Value> ins = llvm::map_to_vector(vectors, [&](Value vector) {
      return vector ? vector::ExtractOp::create(rewriter, loc, vector, i)
                          .getResult()
                    : Value();
    });
    results = clonePayload(ivs, results, ins);
  }
  ivs[innermost] = start;
  return results;
}

void KernelBuilder::emit(unsigned blockSize, unsigned chunk,
                         ArrayRef<Combiner> combiners) {
  for (auto [dim, type] : llvm::enumerate(op.getIteratorTypesArray()))
    (type == utils::IteratorType::parallel ? parallelDims : reductionDims)
        .push_back(dim);
  SmallVector<Value> sizes = llvm::map_to_vector(
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc),
      [&](Range range) {
        return getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
      });

  // Grid: enough blocks for one thread (or warp) per output, bounded.
  bool warpPerOutput = !combiners.empty();
  int64_t perBlock = warpPerOutput ? blockSize / kWarpSize : blockSize;
  SmallVector<Value> parallelSizes =
      llvm::map_to_vector(parallelDims, [&](unsigned d) { return sizes[d]; });
  Value blocks = arith::CeilDivUIOp::create(
      rewriter, loc, product(parallelSizes), constant(perBlock));
  blocks = arith::MinUIOp::create(rewriter, loc, blocks, constant(kMaxBlocks));
  blocks = arith::MaxUIOp::create(rewriter, loc, blocks, constant(1));
  Value one = constant(1);
  auto launch = gpu::LaunchOp::create(rewriter, loc, blocks, one, one,
                                      constant(blockSize), one, one);
  OpBuilder::InsertionGuard guard(rewriter);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToEnd(&body);
  gpu::TerminatorOp::create(rewriter, loc);
  rewriter.setInsertionPointToStart(&body);
  if (warpPerOutput)
    emitWarpPerOutput(launch, sizes, blockSize, chunk, combiners);
  else
    emitThreadPerOutput(launch, sizes);
}

/// The chunk of the innermost reduction loop a lane handles at a time: the
/// largest power of two up to `maxChunk` dividing its static extent.
static unsigned getChunk(linalg::GenericOp op, unsigned maxChunk) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t extent = ShapedType::kDynamic;
  for (auto [dim, type] : llvm::enumerate(op.getIteratorTypesArray()))
    if (type == utils::IteratorType::reduction)
      extent = ranges[dim];
  unsigned chunk = 1;
  if (ShapedType::isDynamic(extent))
    return chunk;
  while (chunk * 2 <= maxChunk && extent % (chunk * 2) == 0)
    chunk *= 2;
  return chunk;
}

/// Whether the warp kernel suits `op`: enough reduction work to share
/// among 32 lanes.
static bool preferWarpPerOutput(linalg::GenericOp op) {
  int64_t work = 1;
  for (auto [range, type] :
       llvm::zip(op.getStaticLoopRanges(), op.getIteratorTypesArray())) {
    if (type != utils::IteratorType::reduction)
      continue;
    if (ShapedType::isDynamic(range))
      return true;
    work *= range;
  }
  return work >= kWarpSize;
}

/// The buffer `value` is a view of (through view-like ops).
static Value getBaseBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether a launch between `op` and `user` (both in one block) reads or
/// writes a view of `buffer`.
static bool isTouchedBetween(Operation *op, Operation *user, Value buffer) {
  Value base = getBaseBuffer(buffer);
  for (Operation *it = op->getNextNode(); it && it != user;
       it = it->getNextNode()) {
    auto launch = dyn_cast<gpu::LaunchOp>(it);
    if (!launch)
      continue;
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(launch.getBody(), captured);
    if (llvm::any_of(captured,
                     [&](Value v) { return getBaseBuffer(v) == base; }))
      return true;
  }
  return false;
}

/// Moves scalar reads of buffers left in host code (a `tensor.extract` of a
/// scale, say), and the pure arithmetic on them, into the kernels that use
/// their results, when no kernel in between touches the buffer.
static void sinkHostReads(func::FuncOp func) {
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Operation *> candidates;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if ((isa<memref::LoadOp>(op) || isPure(op)) && op->getNumResults() == 1 &&
          op->getNumRegions() == 0 && !op->use_empty())
        candidates.push_back(op);
      return WalkResult::advance();
    });
    for (Operation *op : llvm::reverse(candidates)) {
      SmallVector<gpu::LaunchOp> launches;
      bool sinkable = true;
      for (Operation *user : op->getUsers()) {
        auto launch = user->getParentOfType<gpu::LaunchOp>();
        Operation *inBlock =
            launch ? op->getBlock()->findAncestorOpInBlock(*launch) : nullptr;
        if (!inBlock || inBlock != launch.getOperation()) {
          sinkable = false;
          break;
        }
        if (auto load = dyn_cast<memref::LoadOp>(op))
          if (isTouchedBetween(op, launch, load.getMemRef())) {
            sinkable = false;
            break;
          }
        if (!llvm::is_contained(launches, launch))
          launches.push_back(launch);
      }
      // Only reads are worth moving for their own sake; pure ops move when
      // they feed kernels (the reads they use can follow them).
      if (!sinkable || launches.empty() ||
          (!isa<memref::LoadOp>(op) &&
           llvm::none_of(op->getOperands(), [](Value v) {
             return v.getDefiningOp<memref::LoadOp>() ||
                    (v.getDefiningOp() &&
                     !v.getDefiningOp()->hasTrait<OpTrait::ConstantLike>());
           })))
        continue;
      for (gpu::LaunchOp launch : launches) {
        OpBuilder builder(&launch.getBody().front(),
                          launch.getBody().front().begin());
        Operation *clone = builder.clone(*op);
        op->getResult(0).replaceUsesWithIf(
            clone->getResult(0), [&](OpOperand &use) {
              return launch->isProperAncestor(use.getOwner());
            });
      }
      op->erase();
      changed = true;
    }
  }
}

/// Narrow integers (dequantized codes) become f32 through the exponent of
/// 2^23 instead of a conversion instruction, which GPUs issue at an eighth of
/// the rate of float arithmetic: for an n-bit `x` (n <= 16), the float with
/// the bits `0x4B000000 | zext(x)` is exactly 2^23 + x, so
///   uitofp(x) = bitcast(zext(x) ^ 0x4B000000) - 2^23
///   sitofp(x) = bitcast(zext(x) ^ (0x4B000000 | 2^(n-1))) - (2^23 + 2^(n-1))
/// (flipping the sign bit adds the bias 2^(n-1)). Both are exact.
static void convertNarrowIntegersExactly(RewriterBase &rewriter,
                                         gpu::LaunchOp launch) {
  // The narrow integer a conversion reads, looking through extensions, and
  // whether it is signed.
  auto getNarrowSource = [](Operation *op) -> std::pair<Value, bool> {
    Value x = op->getOperand(0);
    bool isSigned = isa<arith::SIToFPOp>(op);
    if (auto ext = x.getDefiningOp<arith::ExtSIOp>()) {
      if (isSigned)
        x = ext.getIn();
    } else if (auto ext = x.getDefiningOp<arith::ExtUIOp>()) {
      x = ext.getIn();
      isSigned = false;
    }
    auto type = dyn_cast<IntegerType>(x.getType());
    if (!type || type.getWidth() > 16 || !op->getResult(0).getType().isF32())
      return {Value(), false};
    return {x, isSigned};
  };
  SmallVector<Operation *> conversions;
  launch.walk([&](Operation *op) {
    if (isa<arith::SIToFPOp, arith::UIToFPOp>(op) && getNarrowSource(op).first)
      conversions.push_back(op);
  });
  for (Operation *op : conversions) {
    rewriter.setInsertionPoint(op);
    Location loc = op->getLoc();
    auto [x, isSigned] = getNarrowSource(op);
    // The exponent and the flipped sign bit: one xor of the zero-extended
    // bits.
    uint32_t pattern = 0x4B000000;
    double bias = 8388608.0; // 2^23
    if (isSigned) {
      uint32_t signBit = 1u << (x.getType().getIntOrFloatBitWidth() - 1);
      pattern |= signBit;
      bias += signBit;
    }
    Value bits = arith::XOrIOp::create(
        rewriter, loc,
        arith::ExtUIOp::create(rewriter, loc, rewriter.getI32Type(), x),
        arith::ConstantIntOp::create(rewriter, loc, rewriter.getI32Type(),
                                     pattern));
    Value shifted =
        arith::BitcastOp::create(rewriter, loc, rewriter.getF32Type(), bits);
    rewriter.replaceOpWithNewOp<arith::SubFOp>(
        op, shifted,
        arith::ConstantOp::create(rewriter, loc,
                                  rewriter.getF32FloatAttr(bias)));
  }
}

/// A linalg op that is not structured (linalg.softmax, linalg.pack, ...) or
/// has no generic form.
static void emitNoLowering(Operation *op) {
  op->emitError() << "lattice-gpu-distribute: '" << op->getName()
                  << "' has no GPU lowering (decompose it first)";
}

namespace {
struct GPUDistributePass final
    : lattice::impl::GPUDistributePassBase<GPUDistributePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockSize == 0 || blockSize % kWarpSize != 0 || blockSize > 1024) {
      func.emitError() << "lattice-gpu-distribute: block-size must be a "
                          "multiple of 32 between 32 and 1024, not "
                       << blockSize.getValue();
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());

    // Copies between buffers are linalg copies; named ops are generic ops.
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
    SmallVector<linalg::LinalgOp> ops;
    bool failedOp = false;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp) {
        if (isa<linalg::LinalgDialect>(op->getDialect())) {
          emitNoLowering(op);
          failedOp = true;
        }
        return WalkResult::advance();
      }
      if (!linalgOp.hasPureBufferSemantics()) {
        op->emitError() << "lattice-gpu-distribute: expected an op on "
                           "buffers (run after bufferization)";
        failedOp = true;
      }
      ops.push_back(linalgOp);
      return WalkResult::skip();
    });
    if (failedOp)
      return signalPassFailure();

    for (linalg::LinalgOp linalgOp : ops) {
      rewriter.setInsertionPoint(linalgOp);
      auto generic = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, linalgOp);
        if (failed(generalized)) {
          emitNoLowering(linalgOp);
          return signalPassFailure();
        }
        generic = *generalized;
      }
      SmallVector<Combiner> combiners;
      if (preferWarpPerOutput(generic))
        combiners = KernelBuilder::matchCombiners(generic).value_or(
            SmallVector<Combiner>());
      rewriter.setInsertionPoint(generic);
      KernelBuilder(rewriter, generic, dotProducts)
          .emit(blockSize, combiners.empty() ? 1 : getChunk(generic, maxChunk),
                combiners);
      rewriter.eraseOp(generic);
    }

    // Single stores left in host code (a tensor.from_elements) run as
    // one-thread kernels.
    SmallVector<memref::StoreOp> stores;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto store = dyn_cast<memref::StoreOp>(op))
        stores.push_back(store);
      return WalkResult::advance();
    });
    for (memref::StoreOp store : stores) {
      rewriter.setInsertionPoint(store);
      Value one = arith::ConstantIndexOp::create(rewriter, store.getLoc(), 1);
      auto launch = gpu::LaunchOp::create(rewriter, store.getLoc(), one, one,
                                          one, one, one, one);
      Block &body = launch.getBody().front();
      rewriter.setInsertionPointToEnd(&body);
      gpu::TerminatorOp::create(rewriter, store.getLoc());
      rewriter.moveOpBefore(store, body.getTerminator());
    }
    sinkHostReads(func);
    func.walk([&](gpu::LaunchOp launch) {
      convertNarrowIntegersExactly(rewriter, launch);
    });

    // What is left on the host must not touch buffer contents: the
    // buffers live in device memory.
    WalkResult result = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (isa<memref::LoadOp, memref::StoreOp, affine::AffineLoadOp,
              affine::AffineStoreOp, vector::TransferReadOp,
              vector::TransferWriteOp, vector::LoadOp, vector::StoreOp>(op)) {
        op->emitError() << "lattice-gpu-distribute: reads or writes a "
                           "buffer outside a kernel; the GPU pipeline "
                           "keeps buffers in device memory";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
  }
};
} // namespace
