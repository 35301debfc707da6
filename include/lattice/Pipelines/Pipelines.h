//===- Pipelines.h - The native code generation pipelines -------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The pipelines from lattice and upstream ops on tensors to the LLVM dialect
// for a CPU or an NVIDIA GPU, as builders that lattice-compile calls and as
// registered pipelines for lattice-opt (`lattice-lower-to-cpu`,
// `lattice-lower-to-gpu`). Their passes are in lattice/Codegen/Passes.h.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_PIPELINES_PIPELINES_H
#define LATTICE_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"
#include <string>

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace mlir::lattice {
/// Options of the `lattice-lower-to-cpu` pipeline.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<std::string> targetCPU{
      *this, "target-cpu",
      llvm::cl::desc("CPU to generate code for: `native` (the compiling "
                     "machine), an x86-64 level (`x86-64`, `x86-64-v2`, "
                     "`x86-64-v3`, `x86-64-v4`) or an LLVM CPU name"),
      llvm::cl::init("native")};
  PassOptions::Option<unsigned> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("Vector register width in bits; 0 derives it from "
                     "target-cpu"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> numThreads{
      *this, "num-threads",
      llvm::cl::desc("Threads the parallel loops use; 0 means the number of "
                     "hardware threads of the compiling machine"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> barePointerABI{
      *this, "bare-pointer-abi",
      llvm::cl::desc("Pass statically shaped buffers to functions as bare "
                     "pointers (the C ABI of compiled models) instead of "
                     "memref descriptors"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> workspaceArgument{
      *this, "workspace-argument",
      llvm::cl::desc("Public functions take their temporaries' workspace as "
                     "a trailing argument (the C ABI of compiled models: the "
                     "runtime allocates it once) instead of allocating it "
                     "per call"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> threadPool{
      *this, "thread-pool",
      llvm::cl::desc("Run parallel loops on the Lattice runtime's thread "
                     "pool (lattice-cpu-outline-parallel) instead of OpenMP; "
                     "the result must be linked with the runtime"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> ukernels{
      *this, "ukernels",
      llvm::cl::desc("Call the Lattice runtime's microkernels for the matmuls "
                     "they cover (lattice-cpu-use-ukernels); the result must "
                     "be linked with the runtime"),
      llvm::cl::init(false)};
};

/// Returns the vector register width in bits of `targetCPU` (see
/// CPUPipelineOptions::targetCPU), or failure when the name is unknown.
FailureOr<unsigned> getTargetVectorBits(StringRef targetCPU);

/// Builds the CPU pipeline: lattice and upstream ops on tensors to the LLVM
/// dialect, tiled for threads and registers, vectorized and parallelized with
/// OpenMP. Fails when an option is invalid.
LogicalResult buildLatticeCPUPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options);

/// Options of the `lattice-lower-to-gpu` pipeline.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("NVIDIA GPU architecture to generate code for (sm_80, "
                     "sm_90, sm_90a, ...)"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, for example +ptx80; empty derives the "
                     "PTX version from chip"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level",
      llvm::cl::desc("Optimization level of the device code (0 to 3)"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What the GPU modules become: `isa` (PTX, compiled by "
                     "the driver at load), `bin` (cubin, assembled with "
                     "ptxas) or `fatbin`"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit whose libdevice (math functions) and "
                     "ptxas the device code uses; empty: $CUDA_HOME, else "
                     "/usr/local/cuda (findCUDAToolkit)"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> blockSize{
      *this, "block-size", llvm::cl::desc("Threads per block of the kernels"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> barePointerABI{
      *this, "bare-pointer-abi",
      llvm::cl::desc("Pass statically shaped buffers to host functions as "
                     "bare device pointers (the C ABI of compiled models) "
                     "instead of memref descriptors"),
      llvm::cl::init(false)};
};

/// Returns the PTX feature string for `chip` (sm_XY[a]): the PTX version
/// that introduced it, or failure when the name is not an sm_ architecture.
FailureOr<std::string> getDefaultPTXFeatures(StringRef chip);

/// The CUDA toolkit that `requested` names, or when it is empty $CUDA_HOME,
/// else /usr/local/cuda; fails, with the reason in `error`, when it has no
/// nvvm/libdevice (the math functions kernels call). Drivers resolve the
/// toolkit with it before building the GPU pipeline.
FailureOr<std::string> findCUDAToolkit(StringRef requested, std::string &error);

/// Builds the GPU pipeline: lattice and upstream ops on tensors to host code
/// in the LLVM dialect that launches kernels compiled for an NVIDIA GPU
/// (`gpu.binary`), with the toolkit of `options.cudaPath` as given
/// (findCUDAToolkit resolves it; the builder reads neither the environment
/// nor the file system). Fails when an option is invalid, with the reason in
/// `error` when given.
LogicalResult buildLatticeGPUPipeline(OpPassManager &pm,
                                      const GPUPipelineOptions &options,
                                      std::string *error = nullptr);

/// Registers `lattice-lower-to-cpu` and `lattice-lower-to-gpu` (the latter
/// resolves the CUDA toolkit with findCUDAToolkit).
void registerLatticePipelines();
} // namespace mlir::lattice

#endif // LATTICE_PIPELINES_PIPELINES_H
