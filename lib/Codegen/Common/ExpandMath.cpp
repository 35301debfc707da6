//===- ExpandMath.cpp - Polynomial approximations of math functions -------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Math functions without an LLVM intrinsic become polynomials, so that
// vectorized model code (GELU's erf, tanh activations) needs no libm call;
// the inverse hyperbolic functions become logarithms and square roots.
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_EXPANDMATHPASS
#include "lattice/Codegen/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;

namespace {
struct ExpandMathPass final
    : lattice::impl::ExpandMathPassBase<ExpandMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    auto noLLVMLowering = [](StringRef name) {
      return llvm::StringSwitch<bool>(name)
          .Cases({"math.erf", "math.erfc", "math.tanh", "math.atan",
                  "math.atan2", "math.asin", "math.acos", "math.cbrt",
                  "math.log1p", "math.expm1", "math.exp"},
                 true)
          .Default(false);
    };
    // The inverse hyperbolic functions, which LLVM has no intrinsic for,
    // as logarithms and square roots.
    math::populateExpansionPatterns(patterns, {"asinh", "acosh", "atanh"});
    populateMathF32ExpansionPatterns(patterns, noLLVMLowering);
    populateMathPolynomialApproximationPatterns(patterns, noLLVMLowering);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
