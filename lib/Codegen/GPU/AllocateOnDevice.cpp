//===- AllocateOnDevice.cpp - Keep the buffers of GPU code on the device --===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// After lattice-gpu-distribute, every read and write of a buffer happens in
// a kernel; the buffers themselves still come from host allocations. This
// pass moves them to device memory:
//
// - memref.alloc / memref.dealloc become gpu.alloc / gpu.dealloc;
// - a constant global read by a kernel is read inside it (the outlining
//   then copies the global into the GPU module);
// - a call to an external (host) function gets host copies of the buffers
//   it is passed, so that the runtime's printers and other host helpers
//   see their contents.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_GPUALLOCATEONDEVICEPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

/// Kernels read buffers in vectors of up to 16 bytes, aligned to their size
/// (lattice-gpu-distribute); CUDA's allocations are 256-byte aligned.
static constexpr int64_t kKernelBufferAlignment = 16;

/// Clones the globals that `launch` reads from outside into its body, and
/// aligns them as kernels expect of their buffers.
static void sinkGlobals(RewriterBase &rewriter, gpu::LaunchOp launch) {
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(launch.getBody(), captured);
  for (Value value : captured) {
    auto global = value.getDefiningOp<memref::GetGlobalOp>();
    if (!global)
      continue;
    auto definition = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        global, global.getNameAttr());
    if (definition && definition.getAlignment().value_or(0) <
                          uint64_t(kKernelBufferAlignment))
      definition.setAlignment(kKernelBufferAlignment);
    rewriter.setInsertionPointToStart(&launch.getBody().front());
    Operation *clone = rewriter.clone(*global);
    rewriter.replaceUsesWithIf(value, clone->getResult(0), [&](OpOperand &use) {
      return launch->isProperAncestor(use.getOwner());
    });
  }
}

/// Gives the external call `call` host copies of its buffer operands.
static LogicalResult copyToHost(RewriterBase &rewriter, func::CallOp call) {
  Location loc = call.getLoc();
  for (OpOperand &operand : call->getOpOperands()) {
    Value device = operand.get();
    // An unranked buffer (printMemrefF32's operand) is a cast of a ranked
    // one: copy that one and cast the copy.
    auto cast = device.getDefiningOp<memref::CastOp>();
    bool unranked = isa<UnrankedMemRefType>(device.getType());
    if (unranked && cast)
      device = cast.getSource();
    auto type = dyn_cast<MemRefType>(device.getType());
    if (!type && !unranked)
      continue;
    if (!type || !type.getLayout().isIdentity())
      return call.emitError()
             << "lattice-gpu-allocate-on-device: cannot pass "
             << (type ? "a strided view" : "an unranked buffer")
             << " of device memory to the host function '" << call.getCallee()
             << "'";
    rewriter.setInsertionPoint(call);
    SmallVector<Value> sizes;
    for (int64_t i = 0, e = type.getRank(); i < e; ++i)
      if (type.isDynamicDim(i))
        sizes.push_back(memref::DimOp::create(rewriter, loc, device, i));
    Value host = memref::AllocOp::create(rewriter, loc, type, sizes);
    gpu::MemcpyOp::create(rewriter, loc, /*asyncToken=*/Type(),
                          /*asyncDependencies=*/ValueRange(), host, device);
    operand.set(unranked ? memref::CastOp::create(rewriter, loc,
                                                  operand.get().getType(), host)
                               .getResult()
                         : host);
    rewriter.setInsertionPointAfter(call);
    memref::DeallocOp::create(rewriter, loc, host);
  }
  return success();
}

namespace {
struct GPUAllocateOnDevicePass final
    : lattice::impl::GPUAllocateOnDevicePassBase<GPUAllocateOnDevicePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());

    // Host-side allocations and deallocations (kernels allocate nothing).
    SmallVector<Operation *> memoryOps;
    module.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::AllocaOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>() &&
          !op->getParentOfType<gpu::GPUModuleOp>())
        memoryOps.push_back(op);
    });
    for (Operation *op : memoryOps) {
      rewriter.setInsertionPoint(op);
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        rewriter.replaceOpWithNewOp<gpu::AllocOp>(
            alloc, alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/false);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        rewriter.replaceOpWithNewOp<gpu::DeallocOp>(
            dealloc, /*asyncToken=*/Type(), /*asyncDependencies=*/ValueRange(),
            dealloc.getMemref());
      } else if (llvm::any_of(op->getUsers(), [](Operation *user) {
                   return user->getParentOfType<gpu::LaunchOp>();
                 })) {
        op->emitError() << "lattice-gpu-allocate-on-device: a stack buffer "
                           "cannot be read by a kernel";
        return signalPassFailure();
      }
    }

    module.walk([&](gpu::LaunchOp launch) { sinkGlobals(rewriter, launch); });

    WalkResult result = module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
      if (!callee || !callee.isExternal())
        return WalkResult::advance();
      return failed(copyToHost(rewriter, call)) ? WalkResult::interrupt()
                                                : WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
  }
};
} // namespace
