//===- CPUPipeline.cpp - The lattice-lower-to-cpu pipeline ----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Lattice and upstream ops on tensors, down to the LLVM dialect for a CPU:
// the portable lowering to linalg, tiling and vectorization, bufferization,
// OpenMP for the parallel loops, narrow-type packing, and the conversions to
// LLVM. lattice-opt and lattice-compile run the same pipeline.
//
//===----------------------------------------------------------------------===//

#include "Steps.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Conversion/Passes.h"
#include "lattice/Pipelines/Pipelines.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Threading.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;
using namespace mlir::lattice;

FailureOr<unsigned> mlir::lattice::getTargetVectorBits(StringRef targetCPU) {
  auto widthOf = [](auto hasFeature) -> unsigned {
    if (hasFeature("avx512f"))
      return 512;
    if (hasFeature("avx2") || hasFeature("avx"))
      return 256;
    return 128;
  };
  if (targetCPU == "native") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    return widthOf([&](StringRef name) { return features.lookup(name); });
  }
  if (targetCPU == "generic")
    return 128u;
  if (!llvm::X86::parseArchX86(targetCPU, /*Only64Bit=*/true))
    return failure();
  SmallVector<StringRef> features;
  llvm::X86::getFeaturesForCPU(targetCPU, features, /*NeedPlus=*/false);
  return widthOf(
      [&](StringRef name) { return llvm::is_contained(features, name); });
}

LogicalResult
mlir::lattice::buildLatticeCPUPipeline(OpPassManager &pm,
                                       const CPUPipelineOptions &options) {
  unsigned vectorBits = options.vectorBits;
  if (vectorBits == 0) {
    FailureOr<unsigned> bits = getTargetVectorBits(options.targetCPU);
    if (failed(bits))
      return failure();
    vectorBits = *bits;
  }
  unsigned numThreads = options.numThreads;
  if (numThreads == 0)
    numThreads =
        std::max(1u, llvm::hardware_concurrency().compute_thread_count());

  // Lattice ops and elementwise ops on tensors to linalg (or microkernel
  // calls).
  if (options.ukernels) {
    CPUUseUkernelsPassOptions ukernelOptions;
    ukernelOptions.numThreads = numThreads;
    ukernelOptions.vectorBits = vectorBits;
    pm.addPass(createCPUUseUkernelsPass(ukernelOptions));
  }
  addLatticeToLinalgPasses(pm);
  // Chains of elementwise ops become one op each: one pass over memory and
  // one parallel region instead of one per op.
  pm.addPass(createCPUFuseElementwisePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The bias, residual and activation after a convolution's kernel, into
  // its call.
  if (options.ukernels)
    pm.addPass(createCPUFuseUkernelEpiloguesPass());
  // Paddings' buffers before their values' producers, which empty-tensor
  // elimination (in bufferization) then makes write into them.
  pm.addNestedPass<func::FuncOp>(createCPUHoistPadDestinationsPass());

  // Tiling and vectorization on tensors.
  CPUTileAndVectorizePassOptions tileOptions;
  tileOptions.vectorBits = vectorBits;
  tileOptions.numThreads = numThreads;
  pm.addNestedPass<func::FuncOp>(createCPUTileAndVectorizePass(tileOptions));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  addBufferizationPasses(pm);
  // A padded buffer's producer now writes into its interior, which leaves a
  // copy of that interior onto itself (two equal subviews): one subview,
  // and the copy folds away.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  // Temporaries in one workspace, then what is left freed.
  CPUPlanWorkspacePassOptions workspaceOptions;
  workspaceOptions.argument = options.workspaceArgument;
  pm.addPass(createCPUPlanWorkspacePass(workspaceOptions));
  addDeallocationPasses(pm);

  // Threads.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  // Parallel loops, cut into a few chunks per thread by the tiling, as
  // OpenMP loops without a num_threads clause: the runtime sets the count
  // per model (lattice_model_set_threads), and with `threadPool` they move
  // to the runtime's pool below.
  pm.addPass(createConvertSCFToOpenMPPass());

  // Vector ops to 1-D loads, stores and arithmetic; the rest to loops.
  pm.addPass(createExpandMathPass());
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMaskPass());
  pm.addNestedPass<func::FuncOp>(createCPUFuseMultiplyAddPass());
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createEmulateNarrowTypesPass());

  // LLVM.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Loop indices are non-negative: lets the index arithmetic of the packed
  // loads (floordiv, remainders) drop its sign corrections.
  pm.addPass(arith::createIntRangeOptimizationsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorToLLVMOptions;
  vectorToLLVMOptions.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVMOptions));
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = options.barePointerABI;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  if (options.threadPool)
    pm.addPass(createCPUOutlineParallelPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  return success();
}
