//===- WeightBlobs.h - Weights as resource blobs ----------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Large weights live in `dense_resource` constants rather than in `dense`
// ones: a `dense` attribute is uniqued in the context and lives as long as
// the context, so every weight that a pass rewrote would stay in memory
// until the compiler exits. The blobs of a resource can be given back: the
// weight passes and lattice-compile hold one float copy of the model at
// most (the mapped weights file) and free each rewritten weight once no op
// refers to it.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_WEIGHTBLOBS_H
#define LATTICE_DIALECT_LATTICE_IR_WEIGHTBLOBS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/FunctionExtras.h"
#include <mutex>
#include <optional>

namespace mlir::lattice {
/// Tensors of at least this many elements are stored in blobs; smaller
/// ones (biases, gains, scales) stay `dense` attributes.
inline constexpr int64_t kWeightBlobMinElements = 1 << 14;

/// The weight blobs that Lattice created in one context (owned by the
/// lattice dialect): heap copies, which releaseUnused frees once no op
/// refers to them, and blobs over a mapped file, whose pages are given back
/// to the system after each read (the file is read again if touched).
class WeightBlobs {
public:
  /// A `dense_resource` attribute of `type` whose blob is a copy of `data`.
  DenseResourceElementsAttr addCopy(ShapedType type, StringRef name,
                                    ArrayRef<char> data);
  /// A `dense_resource` attribute of `type` over `data`, which lies in a
  /// mapped file: `release` gives the pages of `data` back to the system,
  /// `deleter` runs when the blob is freed (and unmaps the file once no
  /// blob needs it).
  DenseResourceElementsAttr addMapped(ShapedType type, StringRef name,
                                      ArrayRef<char> data,
                                      llvm::unique_function<void()> release,
                                      AsmResourceBlob::DeleterFn deleter);
  /// Called after the bytes of `attr` were read: gives the pages of a
  /// mapped blob back.
  void doneReading(DenseResourceElementsAttr attr);
  /// Frees every blob of this registry that no op under `root` (or under a
  /// root kept by a KeepWeights) refers to. Together they must hold every
  /// op of the context that may refer to one (top-level modules), and no
  /// other thread may create ops meanwhile.
  void releaseUnused(Operation *root);

  /// Keeps the blobs that the ops under `root` refer to while it lives: a
  /// module whose clone is lowered (which frees the blobs that the clone
  /// no longer needs) keeps its weights.
  class KeepWeights {
  public:
    KeepWeights(WeightBlobs &blobs, Operation *root);
    ~KeepWeights();
    KeepWeights(const KeepWeights &) = delete;
    KeepWeights &operator=(const KeepWeights &) = delete;

  private:
    WeightBlobs &blobs;
    Operation *root;
  };
  /// Whether `attr`'s blob is one of this registry's.
  bool contains(DenseResourceElementsAttr attr);

private:
  DenseResourceElementsAttr add(ShapedType type, StringRef name,
                                AsmResourceBlob blob,
                                llvm::unique_function<void()> release);
  std::mutex mutex;
  SmallVector<Operation *> keptRoots;
  /// The blobs' entries, and how to give back a mapped blob's pages (empty
  /// for copies).
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *,
                 llvm::unique_function<void()>>
      entries;
};

/// The weight blobs of `context` (its lattice dialect is loaded).
WeightBlobs &getWeightBlobs(MLIRContext *context);

/// The bytes of the blob of `attr` when it holds as many as its statically
/// shaped type of byte-sized elements needs (a freed or mismatched blob
/// gives std::nullopt).
std::optional<ArrayRef<uint8_t>> getBlobData(DenseResourceElementsAttr attr);

/// Erases `op`, a weight constant, when nothing uses it, and frees its blob
/// when it held one of the registry's and no other op refers to it (one
/// walk of the top-level op, only then): what a pass calls on the weight it
/// just replaced.
void eraseUnusedWeight(Operation *op);

/// Frees the weight blobs that no op under the top-level op above `root`
/// refers to (WeightBlobs::releaseUnused).
void releaseUnusedWeights(Operation *root);
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_IR_WEIGHTBLOBS_H
