//===- TileAndVectorize.cpp - CPU tiling and vectorization ----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The CPU strategy for linalg on tensors: split additive reductions into
// vector lanes, tile for threads (scf.forall) and registers (scf.for), and
// vectorize the register tiles. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/Dialect/Vector/Utils/VectorUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZEPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

/// Ops with less work than this run on one thread: a fork and join costs
/// about 2 us at 2 threads (waking the other core, which then reads what
/// this one wrote), what 2^17 units of work take (see iterationCost). Work
/// is the op's iterations times the cost of one. By iterations alone, 2^16
/// left most of a MobileNet's elementwise ops (72 x 28 x 28 activations,
/// say) on one thread while the other waited, and 2^13 forked for the
/// 64 x 128 norms and quantizations of a small transformer, each of which
/// took 0.4-1.8 us on one thread and 2-3.7 us on two.
static constexpr int64_t kMinParallelWork = 1 << 17;

/// The least work of an op whose largest input an op on one thread wrote,
/// and which the threads split anyway: that input is in the caller's cache
/// then, and the other threads read their shares of it from there (at about
/// a tenth of the speed of a read from their own; the 64 x 128
/// quantizations after a small transformer's norms took 1.7 us on one
/// thread and 2.2-2.5 us on two).
static constexpr int64_t kMinParallelWorkOnCaller = 1 << 19;

/// The cost of a division or a math function (a polynomial once expanded)
/// in units of one simple vector op.
static constexpr uint64_t kSlowOpCost = 8;

/// The cost of one iteration of `op`, in units of one simple vector op: one
/// per operand it reads or writes, one per op of its body, kSlowOpCost per
/// division or math function.
static uint64_t iterationCost(linalg::LinalgOp op) {
  uint64_t cost = op->getNumOperands();
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (isa<arith::ConstantOp>(inner))
      continue;
    bool slow = isa<math::MathDialect>(inner.getDialect()) ||
                isa<arith::DivFOp, arith::RemFOp, arith::DivSIOp,
                    arith::DivUIOp, arith::RemSIOp, arith::RemUIOp>(inner);
    cost += slow ? kSlowOpCost : 1;
  }
  return cost;
}

/// Chunks per thread of a parallel loop: the runtime's pool hands them out
/// one at a time, so that a thread slowed down by another process leaves
/// its share to the others.
static constexpr int64_t kChunksPerThread = 4;

/// The longest innermost loop, in vectors, that becomes one vector when the
/// lanes do not divide it.
static constexpr int64_t kMaxWholeVectorLanes = 4;

/// Register block on the parallel loops of a reduction (rows of outputs that
/// share one read of an operand).
static constexpr int64_t kRegisterBlock = 4;

//===----------------------------------------------------------------------===//
// Lane split
//===----------------------------------------------------------------------===//

/// Returns the combiner of `op` when it accumulates its single output with
/// an integer or float addition, or an IEEE maximum or minimum of floats
/// (NaN propagates), `out + f(ins)` in either order, and reads the output
/// nowhere else.
static Operation *getSplittableCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumResults() != 1)
    return nullptr;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::AddFOp, arith::AddIOp, arith::MaximumFOp,
                       arith::MinimumFOp>(combiner) ||
      combiner->getBlock() != op.getBody())
    return nullptr;
  BlockArgument out = op.getRegionOutputArgs().front();
  if (!out.hasOneUse() || out.getUses().begin()->getOwner() != combiner)
    return nullptr;
  return combiner;
}

/// The value that `combiner` leaves any other unchanged with: 0 for a sum,
/// -inf for a maximum, +inf for a minimum.
static TypedAttr getCombinerIdentity(Operation *combiner, Type type) {
  if (isa<arith::MaximumFOp, arith::MinimumFOp>(combiner))
    return FloatAttr::get(
        type, APFloat::getInf(cast<FloatType>(type).getFloatSemantics(),
                              /*Negative=*/isa<arith::MaximumFOp>(combiner)));
  return cast<TypedAttr>(OpBuilder(combiner->getContext()).getZeroAttr(type));
}

/// Splits the innermost loop of `op`, a reduction (getSplittableCombiner) of
/// static extent divisible by `lanes`, into (outer reduction, `lanes`
/// parallel lanes): the op accumulates into a [..., lanes] tensor of
/// partial results that a second generic combines. Sums are reassociated;
/// maxima and minima are exact in any order. Returns the new accumulating
/// op, or failure when `op` does not have that form.
static FailureOr<linalg::GenericOp>
splitInnermostReduction(RewriterBase &rewriter, linalg::GenericOp op,
                        int64_t lanes) {
  unsigned numLoops = op.getNumLoops();
  Operation *combiner = numLoops ? getSplittableCombiner(op) : nullptr;
  if (!combiner || !op.hasPureTensorSemantics())
    return failure();
  unsigned dim = numLoops - 1;
  if (!linalg::isReductionIterator(op.getIteratorTypesArray()[dim]))
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t extent = ranges[dim];
  if (ShapedType::isDynamic(extent) || extent % lanes != 0 || extent < lanes)
    return failure();

  // Every operand must index the loop as its innermost dimension, or not at
  // all, so that splitting the loop is an expand_shape of the operand.
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (auto [pos, expr] : llvm::enumerate(map.getResults())) {
      if (!expr.isFunctionOfDim(dim))
        continue;
      auto dimExpr = dyn_cast<AffineDimExpr>(expr);
      if (!dimExpr || pos + 1 != map.getNumResults() || op.isDpsInit(&operand))
        return failure();
    }
    if (!map.isProjectedPermutation())
      return failure();
  }

  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);

  // New loops: the old ones with `dim` now meaning the outer part, and the
  // lanes appended as the innermost loop.
  AffineExpr laneExpr = getAffineDimExpr(numLoops, ctx);
  SmallVector<Value> newInputs;
  SmallVector<AffineMap> newMaps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    SmallVector<AffineExpr> results(map.getResults());
    Value value = input->get();
    if (!results.empty() && results.back().isFunctionOfDim(dim)) {
      auto type = cast<RankedTensorType>(value.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = extent / lanes;
      shape.push_back(lanes);
      SmallVector<ReassociationIndices> reassociation;
      for (int64_t i = 0, e = type.getRank() - 1; i < e; ++i)
        reassociation.push_back({i});
      reassociation.push_back({type.getRank() - 1, type.getRank()});
      value = tensor::ExpandShapeOp::create(rewriter, loc, type.clone(shape),
                                            value, reassociation);
      results.push_back(laneExpr);
    }
    newInputs.push_back(value);
    newMaps.push_back(AffineMap::get(numLoops + 1, 0, results, ctx));
  }

  // Partial results: the output shape with the lanes appended, starting at
  // the combiner's identity.
  OpOperand *init = op.getDpsInitOperand(0);
  auto initType = cast<RankedTensorType>(init->get().getType());
  SmallVector<OpFoldResult> partialSizes =
      tensor::getMixedSizes(rewriter, loc, init->get());
  partialSizes.push_back(rewriter.getIndexAttr(lanes));
  Value empty = tensor::EmptyOp::create(rewriter, loc, partialSizes,
                                        initType.getElementType());
  Value identity = arith::ConstantOp::create(
      rewriter, loc, getCombinerIdentity(combiner, initType.getElementType()));
  Value partialInit =
      linalg::FillOp::create(rewriter, loc, identity, empty).getResult(0);
  SmallVector<AffineExpr> initResults(
      op.getMatchingIndexingMap(init).getResults());
  initResults.push_back(laneExpr);
  newMaps.push_back(AffineMap::get(numLoops + 1, 0, initResults, ctx));

  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  iterators.push_back(utils::IteratorType::parallel);
  auto split =
      linalg::GenericOp::create(rewriter, loc, TypeRange{partialInit.getType()},
                                newInputs, partialInit, newMaps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), split.getRegion(),
                              split.getRegion().begin());

  // The original index along `dim` is outer * lanes + lane.
  SmallVector<linalg::IndexOp> indexOps;
  split.getBody()->walk([&](linalg::IndexOp indexOp) {
    if (indexOp.getDim() == dim)
      indexOps.push_back(indexOp);
  });
  for (linalg::IndexOp indexOp : indexOps) {
    rewriter.setInsertionPoint(indexOp);
    Value outer = linalg::IndexOp::create(rewriter, loc, dim);
    Value lane = linalg::IndexOp::create(rewriter, loc, numLoops);
    Value scale = arith::ConstantIndexOp::create(rewriter, loc, lanes);
    Value scaled = arith::MulIOp::create(rewriter, loc, outer, scale);
    rewriter.replaceOp(indexOp,
                       arith::AddIOp::create(rewriter, loc, scaled, lane));
  }

  // Combine the lanes into the original destination, with the combiner's
  // own op.
  rewriter.setInsertionPointAfter(split);
  unsigned outRank = initType.getRank();
  AffineMap partialMap = AffineMap::getMultiDimIdentityMap(outRank + 1, ctx);
  // (Not getMajorSubMap: of a reduction to a scalar, it is a null map.)
  SmallVector<AffineMap> combineMaps = {
      partialMap,
      AffineMap::get(outRank + 1, 0,
                     partialMap.getResults().take_front(outRank), ctx)};
  SmallVector<utils::IteratorType> combineIterators(
      outRank, utils::IteratorType::parallel);
  combineIterators.push_back(utils::IteratorType::reduction);
  OperationName combinerName = combiner->getName();
  auto combine = linalg::GenericOp::create(
      rewriter, loc, TypeRange{initType}, split.getResult(0), init->get(),
      combineMaps, combineIterators,
      [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
        OperationState state(nestedLoc, combinerName);
        state.addOperands({args[1], args[0]});
        state.addTypes(args[0].getType());
        linalg::YieldOp::create(b, nestedLoc, b.create(state)->getResult(0));
      });
  rewriter.replaceOp(op, combine.getResults());
  return split;
}

//===----------------------------------------------------------------------===//
// Tiling
//===----------------------------------------------------------------------===//

namespace {
/// How one linalg op is tiled.
struct TilingPlan {
  /// The loop that becomes the vector dimension, if any.
  std::optional<unsigned> vectorDim;
  /// Register tile sizes, one per loop (0 = not tiled).
  SmallVector<int64_t> registerTile;
  /// The loop divided among threads, and its tile size.
  std::optional<unsigned> threadDim;
  int64_t threadTile = 0;
};
} // namespace

/// Whether an op of `serial` wrote the largest input of `op` (through
/// reshapes and slices).
static bool isLargestInputSerial(linalg::LinalgOp op,
                                 const DenseSet<Operation *> &serial) {
  Value largest;
  int64_t largestSize = 0;
  for (Value input : op.getDpsInputs()) {
    auto type = dyn_cast<RankedTensorType>(input.getType());
    if (type && type.hasStaticShape() && type.getNumElements() > largestSize) {
      largest = input;
      largestSize = type.getNumElements();
    }
  }
  while (largest) {
    Operation *def = largest.getDefiningOp();
    if (!def)
      return false;
    if (serial.contains(def))
      return true;
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def))
      largest = expand.getSrc();
    else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def))
      largest = collapse.getSrc();
    else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def))
      largest = slice.getSource();
    else
      return false;
  }
  return false;
}

static TilingPlan planTiling(linalg::LinalgOp op, int64_t lanes,
                             unsigned numThreads, bool hasLaneDim,
                             int64_t minParallelWork = kMinParallelWork) {
  TilingPlan plan;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned numLoops = ranges.size();
  plan.registerTile.assign(numLoops, 1);
  if (numLoops == 0)
    return plan;

  auto clampTile = [&](unsigned d, int64_t size) {
    if (!ShapedType::isDynamic(ranges[d]))
      size = std::min(size, ranges[d]);
    plan.registerTile[d] = std::max<int64_t>(size, 1);
  };
  plan.vectorDim = numLoops - 1;
  // A short innermost loop that the lanes do not divide is one vector (of
  // a few registers) rather than a full tile and a partial one.
  int64_t innermost = ranges[numLoops - 1];
  bool shortAndRagged = !ShapedType::isDynamic(innermost) &&
                        innermost % lanes != 0 &&
                        innermost <= kMaxWholeVectorLanes * lanes;
  clampTile(numLoops - 1, shortAndRagged ? innermost : lanes);

  // Short reductions (the planes of a split group) are unrolled into the
  // vector op.
  for (unsigned d = 0; d + 1 < numLoops; ++d)
    if (linalg::isReductionIterator(iterators[d]) &&
        !ShapedType::isDynamic(ranges[d]) && ranges[d] <= kRegisterBlock)
      plan.registerTile[d] = ranges[d];

  bool isReduction = op.getNumReductionLoops() > 0;
  // An operand read transposed (its contiguous dimension is another loop
  // than the vector's, as when a GEMM's pixel-major result goes back to
  // NCHW): that loop takes a vector's worth of iterations too, so that the
  // operand is read in lanes x lanes blocks of contiguous rows and
  // transposed in registers (vector.transpose, lowered to shuffles) instead
  // of element by element.
  if (!isReduction && plan.registerTile[numLoops - 1] == lanes) {
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto type = dyn_cast<ShapedType>(input->get().getType());
      AffineMap map = op.getMatchingIndexingMap(input);
      if (!type || type.getElementTypeBitWidth() != 32 ||
          map.getNumResults() == 0 || !map.isFunctionOfDim(numLoops - 1))
        continue;
      auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
      if (!last || last.getPosition() == numLoops - 1)
        continue;
      unsigned d = last.getPosition();
      if (!linalg::isParallelIterator(iterators[d]) ||
          ShapedType::isDynamic(ranges[d]) || ranges[d] < lanes)
        continue;
      clampTile(d, lanes);
      break;
    }
  }
  SmallVector<unsigned> parallelDims;
  for (unsigned d = 0; d + 1 < numLoops; ++d)
    if (linalg::isParallelIterator(iterators[d]))
      parallelDims.push_back(d);
  if (isReduction && !parallelDims.empty()) {
    // Register blocks on the innermost parallel loop (several outputs per
    // operand read) and, for matrix products, on the outermost one.
    clampTile(parallelDims.back(), kRegisterBlock);
    if (parallelDims.size() > 1)
      clampTile(parallelDims.front(), kRegisterBlock);
  }

  // Threads take the largest static parallel loop (not the lanes).
  // Work: the iterations of the static loops (dynamic ones are not split)
  // times the cost of one.
  uint64_t work = iterationCost(op);
  for (int64_t r : ranges)
    if (!ShapedType::isDynamic(r))
      work = llvm::SaturatingMultiply(work, static_cast<uint64_t>(r));
  if (numThreads < 2 || work < static_cast<uint64_t>(minParallelWork))
    return plan;
  std::optional<unsigned> best;
  for (unsigned d : parallelDims) {
    if (ShapedType::isDynamic(ranges[d]) || ranges[d] < 2)
      continue;
    if (!best || ranges[d] > ranges[*best])
      best = d;
  }
  if (!best && !hasLaneDim && linalg::isParallelIterator(iterators.back()) &&
      !ShapedType::isDynamic(ranges.back()) && ranges.back() >= 2 * lanes)
    best = numLoops - 1;
  if (!best)
    return plan;
  // Chunks of a multiple of the register block that divide the loop, so
  // that every chunk has a static size (and vectorizes): the smallest such
  // size that makes at most kChunksPerThread chunks per thread, if it makes
  // at least two.
  int64_t block = plan.registerTile[*best], range = ranges[*best];
  int64_t perThread = llvm::divideCeil(range, numThreads * kChunksPerThread);
  for (int64_t tile = llvm::alignTo(perThread, block); tile <= range / 2;
       tile += block) {
    if (range % tile != 0)
      continue;
    plan.threadDim = best;
    plan.threadTile = tile;
    break;
  }
  return plan;
}

namespace {
/// An op tiled by tileOp, and the loops around it (outermost first).
struct TiledOp {
  linalg::LinalgOp op;
  SmallVector<LoopLikeOpInterface> loops;
};
} // namespace

/// Tiles `op` with the given sizes and loop kind, fusing the `linalg.fill`
/// producers of its destinations when `fuseFills` is set.
static FailureOr<TiledOp> tileOp(RewriterBase &rewriter, linalg::LinalgOp op,
                                 ArrayRef<int64_t> sizes,
                                 scf::SCFTilingOptions::LoopType loopType,
                                 bool fuseFills) {
  scf::SCFTilingOptions tilingOptions;
  tilingOptions.setTileSizes(
      getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  tilingOptions.setLoopType(loopType);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tilingOptions);
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp, OpResult producer, bool isDestination)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (fuseFills && isDestination &&
            isa<linalg::FillOp>(producer.getOwner()))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTileAndFuseResult> tiled =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return failure();
  linalg::LinalgOp tiledOp;
  for (Operation *candidate : tiled->tiledAndFusedOps)
    if (candidate->getName() == op->getName() && !tiledOp)
      tiledOp = cast<linalg::LinalgOp>(candidate);
  for (OpResult result : op->getResults())
    if (Value replacement = tiled->replacements.lookup(result))
      rewriter.replaceAllUsesWith(result, replacement);
  if (op->use_empty())
    rewriter.eraseOp(op);
  if (!tiledOp)
    return failure();
  return TiledOp{tiledOp, tiled->loops};
}

static bool isSubByteTensor(Type type) {
  auto intType = dyn_cast<IntegerType>(getElementTypeOrSelf(type));
  return intType && intType.getWidth() < 8;
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct CPUTileAndVectorizePass final
    : lattice::impl::CPUTileAndVectorizePassBase<CPUTileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  int64_t lanes() const { return std::max<int64_t>(vectorBits / 32, 1); }
};
} // namespace

void CPUTileAndVectorizePass::runOnOperation() {
  func::FuncOp func = getOperation();
  MLIRContext *ctx = &getContext();
  if (vectorBits < 64 || vectorBits > 2048 ||
      !llvm::isPowerOf2_32(vectorBits)) {
    func.emitError() << "vector-bits must be a power of two in [64, 2048], "
                        "got "
                     << static_cast<unsigned>(vectorBits);
    return signalPassFailure();
  }
  IRRewriter rewriter(ctx);

  // 1. Split the additive innermost reductions into lanes.
  DenseSet<Operation *> laneOps;
  SmallVector<linalg::GenericOp> generics;
  func.walk([&](linalg::GenericOp op) { generics.push_back(op); });
  for (linalg::GenericOp op : generics) {
    FailureOr<linalg::GenericOp> split =
        splitInnermostReduction(rewriter, op, lanes());
    if (succeeded(split))
      laneOps.insert(*split);
  }

  // 2. Thread tiling of the ops with enough work. The ops left on one
  // thread, in `serial`: their results are in the caller's cache.
  DenseSet<Operation *> serial;
  SmallVector<linalg::LinalgOp> roots;
  func.walk([&](linalg::LinalgOp op) {
    if (op.hasPureTensorSemantics())
      roots.push_back(op);
  });
  for (linalg::LinalgOp op : roots) {
    // A fill fused into a consumer's loop is gone by now.
    if (!op->getBlock())
      continue;
    if (isa<linalg::FillOp>(op) &&
        llvm::all_of(op->getUsers(), [](Operation *user) {
          return isa<linalg::LinalgOp>(user);
        }))
      continue;
    bool hasLanes = laneOps.contains(op);
    TilingPlan plan =
        planTiling(op, lanes(), numThreads, hasLanes,
                   isLargestInputSerial(op, serial) ? kMinParallelWorkOnCaller
                                                    : kMinParallelWork);
    if (!plan.threadDim) {
      serial.insert(op);
      continue;
    }
    SmallVector<int64_t> sizes(op.getNumLoops(), 0);
    sizes[*plan.threadDim] = plan.threadTile;
    FailureOr<TiledOp> tiled =
        tileOp(rewriter, op, sizes, scf::SCFTilingOptions::LoopType::ForallOp,
               /*fuseFills=*/true);
    if (failed(tiled))
      continue;
    if (hasLanes)
      laneOps.insert(tiled->op);
  }

  // Fold the slices around the vector transfers and tidy up the loops.
  auto cleanUp = [&]() {
    RewritePatternSet patterns(ctx);
    linalg::populateLinalgTilingCanonicalizationPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateSinkVectorOpsPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    return applyPatternsGreedily(func, std::move(patterns));
  };
  // 3. Register tiling. Loops whose step does not divide their extent are
  // peeled, so that every tile but the last has the full static size and the
  // last one has a smaller static size.
  SmallVector<linalg::LinalgOp> ops;
  func.walk([&](linalg::LinalgOp op) {
    if (op.hasPureTensorSemantics())
      ops.push_back(op);
  });
  for (linalg::LinalgOp op : ops) {
    TilingPlan plan =
        planTiling(op, lanes(), /*numThreads=*/1, laneOps.contains(op));
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    bool needsTiling = llvm::any_of(
        llvm::zip(plan.registerTile, ranges), [](auto sizeAndRange) {
          auto [size, range] = sizeAndRange;
          return ShapedType::isDynamic(range) || size < range;
        });
    if (!needsTiling)
      continue;
    FailureOr<TiledOp> tiled =
        tileOp(rewriter, op, plan.registerTile,
               scf::SCFTilingOptions::LoopType::ForOp, /*fuseFills=*/false);
    if (failed(tiled)) {
      op->emitRemark("not tiled for registers; left as scalar loops");
      continue;
    }
    for (LoopLikeOpInterface loop : tiled->loops) {
      auto forOp = dyn_cast<scf::ForOp>(loop.getOperation());
      scf::ForOp partialIteration;
      if (forOp)
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, forOp,
                                                partialIteration);
    }
  }
  if (failed(cleanUp()))
    return signalPassFailure();

  // 4. Vectorization of every statically shaped tile.
  SmallVector<linalg::LinalgOp> tiles;
  func.walk([&](linalg::LinalgOp op) {
    if (op.hasPureTensorSemantics())
      tiles.push_back(op);
  });
  for (linalg::LinalgOp tile : tiles) {
    // Sub-byte results are written one code at a time: vector stores of
    // packed codes need byte-aligned rows, which odd shapes do not have.
    // (Producing sub-byte tensors at run time is rare: weights are packed at
    // compile time.)
    if (llvm::any_of(tile->getResultTypes(), isSubByteTensor))
      continue;
    // Casts of static slices to dynamic types (the partial tiles of peeled
    // loops) fold into the tile's inputs, whose shapes are then static.
    // Not for sub-byte codes: a partial tile starts inside a byte, which
    // the packed vector loads cannot (those tiles read one code at a time).
    if (tile.getNumDpsInits() > 0 &&
        llvm::none_of(
            tile.getDpsInits(),
            [](Value init) { return init.getDefiningOp<tensor::CastOp>(); }) &&
        llvm::none_of(tile->getOperandTypes(), isSubByteTensor))
      (void)tensor::foldTensorCast(tile);
    // Gathers (tensor.extract at computed indices: embedding lookups)
    // become vector gathers.
    if (llvm::any_of(tile.getStaticLoopRanges(), ShapedType::isDynamic) ||
        failed(linalg::vectorizeOpPrecondition(tile, {}, {},
                                               /*vectorizeNDExtract=*/true))) {
      tile->emitRemark("not vectorized; left as scalar loops");
      continue;
    }
    rewriter.setInsertionPoint(tile);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tile, {}, {}, /*vectorizeNDExtract=*/true);
    if (failed(vectorized)) {
      tile->emitRemark("not vectorized; left as scalar loops");
      continue;
    }
    rewriter.replaceOp(tile, vectorized->replacements);
  }

  if (failed(cleanUp()))
    return signalPassFailure();

  // Accumulators: a transfer_read/transfer_write pair on the same slice of a
  // loop-carried tensor becomes a loop-carried vector, innermost loops
  // first, so that it stays in registers.
  SmallVector<scf::ForOp> loops;
  func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  for (scf::ForOp loop : loops)
    hoistLoopInvariantSubsets(rewriter,
                              cast<LoopLikeOpInterface>(loop.getOperation()));

  if (failed(cleanUp()))
    return signalPassFailure();

  // Transposed 16 x 16 blocks of 32-bit values (planTiling) in shuffles now:
  // unrolled later, the rows of a transpose would fold into element-wise
  // extractions.
  SmallVector<Operation *> transposes;
  func.walk([&](vector::TransposeOp op) {
    FailureOr<std::pair<int, int>> dims = vector::isTranspose2DSlice(op);
    VectorType type = op.getSourceVectorType();
    // (Vectors of index, from gathers' coordinates, have no bit width.)
    if (succeeded(dims) && type.getElementType().isIntOrFloat() &&
        type.getElementTypeBitWidth() == 32 &&
        type.getDimSize(dims->first) == 16 &&
        type.getDimSize(dims->second) == 16)
      transposes.push_back(op);
  });
  if (!transposes.empty()) {
    RewritePatternSet patterns(ctx);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::Shuffle16x16);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    if (failed(
            applyOpPatternsGreedily(transposes, std::move(patterns), config)))
      return signalPassFailure();
  }
}
