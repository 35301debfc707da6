//===- OutlineParallel.cpp - Parallel loops onto the runtime's pool -------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Each `omp.parallel { omp.wsloop { omp.loop_nest } }` of one loop, in the
// LLVM dialect, becomes a function of (context, begin, end) and a call of
// the runtime's lattice_parallel_for (runtime/lattice_threads.h), with the
// values the loop uses passed through a stack struct. See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUOUTLINEPARALLELPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

static constexpr StringLiteral kParallelFor = "lattice_parallel_for";

/// The single-loop worksharing nest of `parallel`, when it has the shape
/// that convert-scf-to-openmp makes of a parallel loop without reductions:
/// only the nest (after ops that each thread may repeat) and the
/// terminator, no clauses, an exclusive upper bound.
static omp::LoopNestOp getOutlinableLoop(omp::ParallelOp parallel) {
  if (parallel->getNumOperands() != 0 || !parallel.getRegion().hasOneBlock())
    return {};
  Block &block = parallel.getRegion().front();
  auto wsloop = dyn_cast<omp::WsloopOp>(block.getTerminator()->getPrevNode());
  if (!wsloop || wsloop->getNumOperands() != 0 || wsloop.getNowait() ||
      wsloop.getScheduleKind() || wsloop.getOrdered())
    return {};
  for (Operation &op : block.without_terminator())
    if (&op != wsloop && (op.getNumRegions() || !isMemoryEffectFree(&op)) &&
        !isa<LLVM::AllocaOp>(op))
      return {};
  auto nest = dyn_cast<omp::LoopNestOp>(wsloop.getWrappedLoop());
  if (!nest || nest.getIVs().size() != 1 || nest.getLoopInclusive() ||
      !nest.getIVs()[0].getType().isInteger(64))
    return {};
  return nest;
}

/// Ops that are cheaper to repeat in the outlined function than to pass.
static bool isRematerializable(Operation *op) {
  return isa<LLVM::ConstantOp, LLVM::ZeroOp, LLVM::PoisonOp, LLVM::UndefOp,
             LLVM::AddressOfOp>(op);
}

namespace {
struct CPUOutlineParallelPass final
    : lattice::impl::CPUOutlineParallelPassBase<CPUOutlineParallelPass> {
  void runOnOperation() override;

private:
  /// Outlines `parallel` (in `func`) as the function `name`.
  void outline(LLVM::LLVMFuncOp func, omp::ParallelOp parallel,
               omp::LoopNestOp nest, StringRef name);
};
} // namespace

void CPUOutlineParallelPass::outline(LLVM::LLVMFuncOp func,
                                     omp::ParallelOp parallel,
                                     omp::LoopNestOp nest, StringRef name) {
  MLIRContext *ctx = &getContext();
  Location loc = parallel.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  ModuleOp module = getOperation();

  // The values the loop reads from outside: captured, or rematerialized.
  // The bounds of the loop are the body's arguments.
  llvm::SetVector<Value> captured, remat;
  parallel.walk([&](Operation *op) {
    ValueRange operands = op->getOperands();
    if (op == nest.getOperation())
      operands = nest.getLoopSteps();
    for (Value operand : operands) {
      if (parallel->isAncestor(operand.getParentRegion()->getParentOp()))
        continue;
      Operation *def = operand.getDefiningOp();
      if (def && isRematerializable(def))
        remat.insert(operand);
      else
        captured.insert(operand);
    }
  });
  SmallVector<Type> fieldTypes;
  for (Value value : captured)
    fieldTypes.push_back(value.getType());
  auto contextType = LLVM::LLVMStructType::getLiteral(ctx, fieldTypes);

  // The body: (context, begin, end) -> for iv = begin; iv < end; iv += step.
  OpBuilder moduleBuilder = OpBuilder::atBlockEnd(module.getBody());
  auto bodyType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                              {ptrType, i64, i64});
  auto body = LLVM::LLVMFuncOp::create(moduleBuilder, loc, name, bodyType,
                                       LLVM::Linkage::Internal);
  Block *entry = body.addEntryBlock(moduleBuilder);
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  IRMapping mapping;
  for (Value value : remat)
    mapping.map(value, b.clone(*value.getDefiningOp())->getResult(0));
  Value contextPtr = entry->getArgument(0);
  for (auto [index, value] : llvm::enumerate(captured)) {
    Value field = LLVM::GEPOp::create(
        b, loc, ptrType, contextType, contextPtr,
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
    mapping.map(value, LLVM::LoadOp::create(b, loc, value.getType(), field));
  }
  Value step = mapping.lookupOrDefault(nest.getLoopSteps()[0]);
  // Ops of the parallel region before the loop run once per call.
  Block &parallelBlock = parallel.getRegion().front();
  for (Operation &op : parallelBlock.without_terminator())
    if (!isa<omp::WsloopOp>(op))
      b.clone(op, mapping);

  Region &bodyRegion = body.getBody();
  Block *header = b.createBlock(&bodyRegion, bodyRegion.end(), {i64}, {loc});
  Block *exit = b.createBlock(&bodyRegion, bodyRegion.end());
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  b.setInsertionPointToEnd(entry);
  LLVM::BrOp::create(b, loc, ValueRange{entry->getArgument(1)}, header);

  // The loop's blocks, its induction variable being the header's.
  Region &loopRegion = nest.getRegion();
  mapping.map(loopRegion.front().getArgument(0), header->getArgument(0));
  loopRegion.cloneInto(&bodyRegion, Region::iterator(exit), mapping);
  // The first block's argument was mapped to the header's: it has none.
  Block *first = mapping.lookup(&loopRegion.front());
  Block *latch = b.createBlock(&bodyRegion, Region::iterator(exit));
  Value next = LLVM::AddOp::create(b, loc, header->getArgument(0), step);
  LLVM::BrOp::create(b, loc, ValueRange{next}, header);
  b.setInsertionPointToEnd(header);
  Value more =
      LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt,
                           header->getArgument(0), entry->getArgument(2));
  LLVM::CondBrOp::create(b, loc, more, first, exit);
  for (Block &block : bodyRegion)
    if (auto yield = dyn_cast<omp::YieldOp>(block.getTerminator())) {
      b.setInsertionPoint(yield);
      LLVM::BrOp::create(b, loc, ValueRange{}, latch);
      yield.erase();
    }

  // The call: the captured values in a struct on the caller's stack (one
  // slot per call site, allocated in the entry block).
  OpBuilder entryBuilder = OpBuilder::atBlockBegin(&func.getBody().front());
  Value one = LLVM::ConstantOp::create(entryBuilder, loc, i64,
                                       entryBuilder.getI64IntegerAttr(1));
  Value slot =
      LLVM::AllocaOp::create(entryBuilder, loc, ptrType, contextType, one);
  b.setInsertionPoint(parallel);
  for (auto [index, value] : llvm::enumerate(captured)) {
    Value field = LLVM::GEPOp::create(
        b, loc, ptrType, contextType, slot,
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
    LLVM::StoreOp::create(b, loc, value, field);
  }
  Value bodyAddress = LLVM::AddressOfOp::create(b, loc, ptrType, name);
  LLVM::CallOp::create(
      b, loc, TypeRange{}, kParallelFor,
      ValueRange{bodyAddress, slot, nest.getLoopLowerBounds()[0],
                 nest.getLoopUpperBounds()[0], nest.getLoopSteps()[0]});
  parallel.erase();
}

void CPUOutlineParallelPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  SmallVector<std::pair<LLVM::LLVMFuncOp, omp::ParallelOp>> loops;
  module.walk([&](omp::ParallelOp parallel) {
    auto func = parallel->getParentOfType<LLVM::LLVMFuncOp>();
    if (func && getOutlinableLoop(parallel))
      loops.push_back({func, parallel});
  });
  if (loops.empty())
    return;
  if (!module.lookupSymbol(kParallelFor)) {
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    LLVM::LLVMFuncOp::create(
        b, module.getLoc(), kParallelFor,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                    {ptrType, ptrType, i64, i64, i64}));
  }
  SymbolTable symbols(module);
  unsigned count = 0;
  for (auto [func, parallel] : loops) {
    std::string name;
    do {
      name = (func.getName() + "..par" + Twine(count++)).str();
    } while (symbols.lookup(name));
    outline(func, parallel, getOutlinableLoop(parallel), name);
  }
}
