//===- PlanWorkspace.cpp - One workspace for a function's temporaries -----===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Static memory planning: the statically shaped buffers that a function
// allocates at its top level become views at fixed offsets of one workspace
// buffer, buffers whose lifetimes overlap at disjoint offsets. See the pass
// description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_CPUPLANWORKSPACEPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// Offsets in the workspace are multiples of this (a cache line, and the
/// alignment the vector code and the microkernels assume).
static constexpr int64_t kAlignment = 64;

namespace {
/// A temporary buffer, its lifetime in the top-level block, and its place.
struct PlannedBuffer {
  memref::AllocOp alloc;
  int64_t bytes;
  /// Positions of the first and last top-level op that may touch it.
  unsigned begin, end;
  int64_t offset = 0;
};
} // namespace

/// Returns the size in bytes of the buffers `type` describes when they can
/// live in the workspace: static shape, identity layout, default memory
/// space, and whole bytes per element.
static std::optional<int64_t> getPlannableSize(MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace())
    return std::nullopt;
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  return type.getNumElements() * (element.getIntOrFloatBitWidth() / 8);
}

/// Returns the position of the last op of `block` that uses `root` or a value
/// derived from it (views, extracted pointers, loop results), or nullopt when
/// one of them leaves the function.
static std::optional<unsigned>
getLastUse(Value root, Block &block,
           const DenseMap<Operation *, unsigned> &positions) {
  unsigned last = 0;
  SmallVector<Value> worklist = {root};
  DenseSet<Value> seen = {root};
  auto push = [&](ValueRange values) {
    for (Value value : values)
      if (seen.insert(value).second)
        worklist.push_back(value);
  };
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user))
        return std::nullopt;
      Operation *ancestor = block.findAncestorOpInBlock(*user);
      if (!ancestor)
        return std::nullopt;
      last = std::max(last, positions.lookup(ancestor));
      // Anything computed from the buffer (a view, its address) keeps it
      // alive; so do the results of a region that yields it.
      push(user->getResults());
      if (user->hasTrait<OpTrait::IsTerminator>() && user != ancestor)
        push(user->getParentOp()->getResults());
    }
  }
  return last;
}

/// Assigns offsets, largest buffers first, each at the lowest aligned offset
/// free of the buffers already placed whose lifetimes overlap its own.
/// Returns the workspace size.
static int64_t assignOffsets(MutableArrayRef<PlannedBuffer> buffers) {
  SmallVector<PlannedBuffer *> order;
  for (PlannedBuffer &buffer : buffers)
    order.push_back(&buffer);
  // Ties in program order, so that the plan does not depend on the sort.
  llvm::sort(order, [](PlannedBuffer *a, PlannedBuffer *b) {
    return std::make_pair(-a->bytes, a->begin) <
           std::make_pair(-b->bytes, b->begin);
  });
  int64_t total = 0;
  SmallVector<PlannedBuffer *> placed;
  for (PlannedBuffer *buffer : order) {
    SmallVector<PlannedBuffer *> live;
    for (PlannedBuffer *other : placed)
      if (other->begin <= buffer->end && buffer->begin <= other->end)
        live.push_back(other);
    llvm::sort(live, [](PlannedBuffer *a, PlannedBuffer *b) {
      return a->offset < b->offset;
    });
    int64_t offset = 0;
    for (PlannedBuffer *other : live) {
      if (offset + buffer->bytes <= other->offset)
        break;
      offset = std::max<int64_t>(
          offset, llvm::alignTo(other->offset + other->bytes, kAlignment));
    }
    buffer->offset = offset;
    total = std::max(total, offset + buffer->bytes);
    placed.push_back(buffer);
  }
  return static_cast<int64_t>(llvm::alignTo(total, kAlignment));
}

namespace {
struct CPUPlanWorkspacePass final
    : lattice::impl::CPUPlanWorkspacePassBase<CPUPlanWorkspacePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbolTables;
    SymbolUserMap users(symbolTables, module);
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // The caller provides the workspace only where there is no caller in
      // the module to update.
      bool asArgument =
          argument && func.isPublic() && users.getUsers(func).empty();
      planFunction(func, asArgument);
    }
  }

  void planFunction(func::FuncOp func, bool asArgument);
};
} // namespace

void CPUPlanWorkspacePass::planFunction(func::FuncOp func, bool asArgument) {
  Block &block = func.getBody().front();
  DenseMap<Operation *, unsigned> positions;
  for (auto [index, op] : llvm::enumerate(block))
    positions[&op] = index;

  SmallVector<PlannedBuffer> buffers;
  for (auto alloc : block.getOps<memref::AllocOp>()) {
    std::optional<int64_t> bytes = getPlannableSize(alloc.getType());
    if (!bytes || *bytes == 0 ||
        alloc.getAlignment().value_or(0) > uint64_t(kAlignment))
      continue;
    std::optional<unsigned> last = getLastUse(alloc, block, positions);
    if (!last)
      continue;
    unsigned begin = positions.lookup(alloc);
    buffers.push_back({alloc, *bytes, begin, std::max(begin, *last)});
  }
  if (buffers.empty())
    return;
  int64_t size = assignOffsets(buffers);

  MLIRContext *ctx = func.getContext();
  auto workspaceType = MemRefType::get({size}, IntegerType::get(ctx, 8));
  OpBuilder builder = OpBuilder::atBlockBegin(&block);
  Location loc = func.getLoc();
  Value workspace;
  if (asArgument) {
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, workspaceType, {}, loc)))
      return signalPassFailure();
    func.setArgAttr(index, kWorkspaceAttrName, UnitAttr::get(ctx));
    workspace = func.getArgument(index);
  } else {
    workspace = memref::AllocOp::create(builder, loc, workspaceType,
                                        builder.getI64IntegerAttr(kAlignment));
  }
  func->setAttr(kWorkspaceBytesAttrName, builder.getI64IntegerAttr(size));

  for (PlannedBuffer &buffer : buffers) {
    for (Operation *user : llvm::make_early_inc_range(buffer.alloc->getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    builder.setInsertionPoint(buffer.alloc);
    Value offset = arith::ConstantIndexOp::create(
        builder, buffer.alloc.getLoc(), buffer.offset);
    Value view = memref::ViewOp::create(builder, buffer.alloc.getLoc(),
                                        buffer.alloc.getType(), workspace,
                                        offset, ValueRange{});
    buffer.alloc.replaceAllUsesWith(view);
    buffer.alloc.erase();
  }
}
