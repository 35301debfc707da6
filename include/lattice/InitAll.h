//===- InitAll.h - Register Lattice and the upstream parts it uses -*- C++ -*-//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// One place that lists the dialects, interface extensions and passes that
// Lattice's tools (lattice-opt, lattice-compile) register. Dialects and passes
// are listed explicitly: a tool registers what our pipelines use, not all of
// MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_INITALL_H
#define LATTICE_INITALL_H

namespace mlir {
class DialectRegistry;

namespace lattice {
/// Inserts the `lattice` dialect, the upstream dialects that our inputs and
/// pipelines use, and their external interface models (bufferization, tiling,
/// conversion to LLVM, inlining) into `registry`.
void registerLatticeDialects(DialectRegistry &registry);

/// Registers Lattice's passes and pipelines and the upstream passes that our
/// pipelines are built from, for command-line use.
void registerLatticePasses();
} // namespace lattice
} // namespace mlir

#endif // LATTICE_INITALL_H
