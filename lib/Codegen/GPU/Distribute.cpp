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
  KernelBuilder(RewriterBase &rewriter, linalg::GenericOp op)
      : rewriter(rewriter), op(op), loc(op.getLoc()) {}

  /// Emits the launch in place of `op` with `blockSize` threads per block.
  void emit(unsigned blockSize, unsigned chunk,
            std::optional<Combiner> combiner);

  /// Returns the combiner of `op` when it is a single-output reduction the
  /// warp kernel can share among lanes.
  static std::optional<Combiner> matchCombiner(linalg::GenericOp op);

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
  /// `outs`; returns the yielded values.
  SmallVector<Value> clonePayload(ArrayRef<Value> ivs, ArrayRef<Value> outs);
  /// Stores `values` into the outputs at `ivs`.
  void storeOutputs(ArrayRef<Value> ivs, ValueRange values);
  Value combine(const Combiner &combiner, Value lhs, Value rhs);

  void emitThreadPerOutput(gpu::LaunchOp launch, ArrayRef<Value> sizes);
  void emitWarpPerOutput(gpu::LaunchOp launch, ArrayRef<Value> sizes,
                         unsigned blockSize, unsigned chunk,
                         const Combiner &combiner);

  RewriterBase &rewriter;
  linalg::GenericOp op;
  Location loc;
  SmallVector<unsigned> parallelDims, reductionDims;
};
} // namespace

std::optional<Combiner> KernelBuilder::matchCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return std::nullopt;
  BlockArgument out = op.getRegionOutputArgs()[0];
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  Operation *combinerOp = yield.getValues()[0].getDefiningOp();
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
  if (!identity)
    return std::nullopt;
  return Combiner{combinerOp, *identity};
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
                                               ArrayRef<Value> outs) {
  Block *body = op.getBody();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    BlockArgument arg = op.getMatchingBlockArgument(input);
    if (!arg.use_empty())
      mapping.map(arg, load(*input, ivs));
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
  return llvm::map_to_vector(body->getTerminator()->getOperands(),
                             [&](Value v) { return mapping.lookup(v); });
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
                                      const Combiner &combiner) {
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
  Value identity = arith::ConstantOp::create(rewriter, loc, combiner.identity);
  auto chunkLoop = scf::ForOp::create(rewriter, loc, lane, numChunks, warpSize,
                                      ValueRange{identity});
  {
    OpBuilder::InsertionGuard chunkGuard(rewriter);
    rewriter.setInsertionPointToStart(chunkLoop.getBody());
    Value first = arith::MulIOp::create(rewriter, loc,
                                        chunkLoop.getInductionVar(), chunkSize);
    SmallVector<Value> start = delinearize(first, reductionSizes);
    Value partial = chunkLoop.getRegionIterArgs()[0];
    for (unsigned i = 0; i < chunk; ++i) {
      for (auto [dim, index] : llvm::zip(reductionDims, start))
        ivs[dim] = index;
      if (i > 0)
        ivs[reductionDims.back()] =
            arith::AddIOp::create(rewriter, loc, start.back(), constant(i));
      partial = clonePayload(ivs, partial).front();
    }
    scf::YieldOp::create(rewriter, loc, partial);
  }

  // Butterfly: every lane ends with the warp's total.
  Value total = chunkLoop.getResult(0);
  for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
    auto shuffle = gpu::ShuffleOp::create(rewriter, loc, total, offset,
                                          kWarpSize, gpu::ShuffleMode::XOR);
    total = combine(combiner, total, shuffle.getShuffleResult());
  }
  Value isFirstLane = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::eq, lane, constant(0));
  auto ifFirst = scf::IfOp::create(rewriter, loc, isFirstLane);
  rewriter.setInsertionPointToStart(&ifFirst.getThenRegion().front());
  OpOperand &init = op.getDpsInitsMutable()[0];
  storeOutputs(ivs, combine(combiner, load(init, ivs), total));
}

void KernelBuilder::emit(unsigned blockSize, unsigned chunk,
                         std::optional<Combiner> combiner) {
  for (auto [dim, type] : llvm::enumerate(op.getIteratorTypesArray()))
    (type == utils::IteratorType::parallel ? parallelDims : reductionDims)
        .push_back(dim);
  SmallVector<Value> sizes = llvm::map_to_vector(
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc),
      [&](Range range) {
        return getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
      });

  // Grid: enough blocks for one thread (or warp) per output, bounded.
  int64_t perBlock = combiner ? blockSize / kWarpSize : blockSize;
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
  if (combiner)
    emitWarpPerOutput(launch, sizes, blockSize, chunk, *combiner);
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
      std::optional<Combiner> combiner;
      if (preferWarpPerOutput(generic))
        combiner = KernelBuilder::matchCombiner(generic);
      rewriter.setInsertionPoint(generic);
      KernelBuilder(rewriter, generic)
          .emit(blockSize, combiner ? getChunk(generic, maxChunk) : 1,
                combiner);
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
