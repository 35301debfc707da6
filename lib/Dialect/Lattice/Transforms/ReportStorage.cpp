//===- ReportStorage.cpp - Report the storage cost of quantized weights ---===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// An analysis pass: for every quantized `lattice.weight`, a remark with its
// effective bits per weight and bytes, computed by the quantization math
// (computeStorageCost), and a module remark with the totals.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/QuantMath.h"
#include "llvm/Support/CheckedArithmetic.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEREPORTSTORAGEPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// Bytes that `bits` occupy, rounded up.
static int64_t bitsToBytes(int64_t bits) { return bits / 8 + (bits % 8 != 0); }

namespace {
struct LatticeReportStoragePass final
    : lattice::impl::LatticeReportStoragePassBase<LatticeReportStoragePass> {
  using Base::Base;

  void runOnOperation() override {
    int64_t totalElements = 0, totalBits = 0, numWeights = 0;
    bool overflow = false;
    getOperation().walk([&](WeightOp weight) {
      RankedTensorType type = weight.getType();
      auto quantType = dyn_cast<QuantType>(type.getElementType());
      if (!quantType)
        return;
      // The verifier guarantees a static shape that fits the scheme, so the
      // only failure left is a size that overflows int64.
      llvm::Expected<StorageCost> cost =
          computeStorageCost(quantType.getScheme(), type.getShape());
      if (!cost) {
        weight.emitRemark() << "'" << weight.getName()
                            << "': " << llvm::toString(cost.takeError());
        overflow = true;
        return;
      }
      weight.emitRemark() << "'" << weight.getName()
                          << "': " << cost->numElements << " codes, "
                          << cost->numScales << " scales, "
                          << formatNumber(cost->bitsPerElement)
                          << " bits per weight, "
                          << bitsToBytes(cost->totalBits) << " bytes";
      std::optional<int64_t> elements =
          llvm::checkedAdd(totalElements, cost->numElements);
      std::optional<int64_t> bits =
          llvm::checkedAdd(totalBits, cost->totalBits);
      overflow |= !elements || !bits;
      totalElements = elements.value_or(0);
      totalBits = bits.value_or(0);
      ++numWeights;
    });
    if (numWeights == 0 || overflow)
      return;
    getOperation().emitRemark()
        << numWeights << " quantized weights: " << totalElements << " codes, "
        << formatNumber(double(totalBits) / double(totalElements))
        << " bits per weight, " << bitsToBytes(totalBits) << " bytes";
  }
};
} // namespace
