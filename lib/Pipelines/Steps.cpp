//===- Steps.cpp - Steps shared by the native pipelines -------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The steps that the CPU and GPU pipelines share: the portable lowering to
// linalg, bufferization and deallocation.
//
//===----------------------------------------------------------------------===//

#include "Steps.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Conversion/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
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
