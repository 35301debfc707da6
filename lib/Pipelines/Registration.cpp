//===- Registration.cpp - The pipelines of lattice-opt --------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// `lattice-lower-to-cpu` and `lattice-lower-to-gpu` as registered pipelines:
// their options parsed from the pipeline string, the CUDA toolkit resolved,
// then the builders.
//
//===----------------------------------------------------------------------===//

#include "lattice/Pipelines/Pipelines.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::lattice;

void mlir::lattice::registerLatticePipelines() {
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
        FailureOr<std::string> toolkit =
            findCUDAToolkit(options.cudaPath, error);
        if (failed(toolkit))
          return errorHandler("lattice-lower-to-gpu: " + error);
        options.cudaPath = *toolkit;
        if (failed(buildLatticeGPUPipeline(pm, options, &error)))
          return errorHandler("lattice-lower-to-gpu: " + error);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(GPUPipelineOptions());
      });
}
