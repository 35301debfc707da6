//===- LatticeToLinalg.h - Lower lattice ops to linalg ----------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The portable lowering of the `lattice` dialect to linalg, arith, math and
// tensor: its type converter and pattern sets.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CONVERSION_LATTICETOLINALG_LATTICETOLINALG_H
#define LATTICE_CONVERSION_LATTICETOLINALG_LATTICETOLINALG_H

#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::lattice {
#define GEN_PASS_DECL_CONVERTLATTICETOLINALGPASS
#include "lattice/Conversion/Passes.h.inc"

/// Converts tensors of `!lattice.quant` to tensors of their storage integers
/// (`iN` for sN/uN, `i2` for ternary, `i1` for binary); other types are
/// unchanged.
class LatticeTypeConverter : public TypeConverter {
public:
  LatticeTypeConverter();
};

/// Rewrites `requantize` and `fake_quant` into `dequantize`/`quantize`
/// pairs, which the conversion patterns lower.
void populateLatticeDecompositionPatterns(RewritePatternSet &patterns);

/// Patterns lowering `quantize`, `dequantize` and `observe` to linalg,
/// arith, math and tensor.
void populateLatticeToLinalgConversionPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns);
} // namespace mlir::lattice

#endif // LATTICE_CONVERSION_LATTICETOLINALG_LATTICETOLINALG_H
