//===- Pipelines.cpp - Steps and registration of the native pipelines -----===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The steps that the CPU and GPU pipelines share (the portable lowering to
// linalg and bufferization), and the registration of both pipelines.
//
//===----------------------------------------------------------------------===//

#include "PipelineSteps.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Conversion/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::lattice;

void mlir::lattice::addLatticeToLinalgPasses(OpPassManager &pm) {
  pm.addPass(createConvertLatticeToLinalgPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::lattice::addBufferizationPasses(OpPassManager &pm) {
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  // After empty-tensor elimination, which would fold the copies' fresh
  // destinations back into the producers.
  pm.addNestedPass<func::FuncOp>(createCopyAliasedResultsPass());
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferResultsToOutParamsPassOptions outParamOptions;
  outParamOptions.hoistStaticAllocs = true;
  outParamOptions.modifyPublicFunctions = true;
  pm.addPass(
      bufferization::createBufferResultsToOutParamsPass(outParamOptions));
  pm.addPass(createCanonicalizerPass());
}

void mlir::lattice::addDeallocationPasses(OpPassManager &pm) {
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::lattice::registerLatticeCodegenPipelines() {
  registerPassPipeline(
      "lattice-lower-to-cpu",
      "Lower lattice and upstream ops on tensors to the LLVM dialect for a "
      "CPU: tiled for threads and registers, vectorized, parallel loops on "
      "OpenMP, sub-byte codes packed",
      [](OpPassManager &pm, StringRef optionsString,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        CPUPipelineOptions options;
        if (failed(options.parseFromString(optionsString)))
          return failure();
        if (failed(buildLatticeCPUPipeline(pm, options)))
          return errorHandler("lattice-lower-to-cpu: unknown target-cpu '" +
                              options.targetCPU +
                              "' (expected native, generic, an x86-64 level "
                              "or an x86 CPU name)");
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(CPUPipelineOptions());
      });
  registerPassPipeline(
      "lattice-lower-to-gpu",
      "Lower lattice and upstream ops on tensors to host code in the LLVM "
      "dialect that launches kernels compiled for an NVIDIA GPU: one kernel "
      "per linalg op (a warp per output for reductions), buffers in device "
      "memory, sub-byte codes packed, NVVM to PTX or cubin",
      [](OpPassManager &pm, StringRef optionsString,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        GPUPipelineOptions options;
        if (failed(options.parseFromString(optionsString)))
          return failure();
        std::string error;
        if (failed(buildLatticeGPUPipeline(pm, options, &error)))
          return errorHandler("lattice-lower-to-gpu: " + error);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(GPUPipelineOptions());
      });
}
