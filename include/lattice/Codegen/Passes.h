//===- Passes.h - Lattice code generation passes ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declarations of the target-specific code generation passes and of the
// native pipelines built from them.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_PASSES_H
#define LATTICE_CODEGEN_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::lattice {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "lattice/Codegen/Passes.h.inc"

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

/// Registers `lattice-lower-to-cpu`.
void registerLatticeCodegenPipelines();
} // namespace mlir::lattice

#endif // LATTICE_CODEGEN_PASSES_H
