//===- Steps.h - Steps shared by the native pipelines -----------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_LIB_PIPELINES_STEPS_H
#define LATTICE_LIB_PIPELINES_STEPS_H

namespace mlir {
class OpPassManager;
namespace lattice {
/// Lattice ops and elementwise ops on tensors to linalg, canonicalized.
void addLatticeToLinalgPasses(OpPassManager &pm);

/// Tensors to buffers: function arguments and results with identity
/// layouts, results returned through out-parameters (the C ABI). The
/// temporaries are allocated and not freed yet.
void addBufferizationPasses(OpPassManager &pm);

/// Frees the temporaries that bufferization allocated.
void addDeallocationPasses(OpPassManager &pm);
} // namespace lattice
} // namespace mlir

#endif // LATTICE_LIB_PIPELINES_STEPS_H
