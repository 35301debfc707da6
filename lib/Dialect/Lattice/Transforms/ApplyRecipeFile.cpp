//===- ApplyRecipeFile.cpp - Per-layer settings from a recipe file --------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Dialect/Lattice/Transforms/Recipes.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Regex.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEAPPLYRECIPEFILEPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

namespace {
struct LatticeApplyRecipeFilePass final
    : lattice::impl::LatticeApplyRecipeFilePassBase<
          LatticeApplyRecipeFilePass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    if (file.empty())
      return emitError(UnknownLoc::get(context))
             << "lattice-apply-recipe-file: needs file=<recipe file>";
    llvm::Expected<RecipeFile> read = readRecipeFile(file);
    if (!read)
      return emitError(UnknownLoc::get(context))
             << llvm::toString(read.takeError());
    recipe = std::make_shared<RecipeFile>(std::move(*read));
    return success();
  }

  void runOnOperation() override {
    // Regex is neither copyable nor thread-safe: compile the patterns here.
    SmallVector<llvm::Regex> patterns;
    for (const RecipeRule &rule : recipe->rules)
      patterns.emplace_back(rule.match);
    SmallVector<bool> used(patterns.size(), false);
    getOperation().walk([&](MatmulOp op) {
      if (isa<QuantType>(op.getRhs().getType().getElementType()) ||
          isa<QuantType>(op.getLhs().getType().getElementType()))
        return;
      std::string name = getLayerName(op);
      for (auto [index, rule] : llvm::enumerate(recipe->rules)) {
        if (!patterns[index].match(name))
          continue;
        used[index] = true;
        apply(op, rule);
        return;
      }
    });
    for (auto [index, rule] : llvm::enumerate(recipe->rules))
      if (!used[index])
        emitWarning(getOperation().getLoc())
            << "recipe file '" << recipe->path << "': layers[" << index
            << "] (match '" << rule.match << "') matches no layer";
  }

private:
  /// Adds the settings of `rule` to the lattice.quantize dictionary of `op`.
  static void apply(MatmulOp op, const RecipeRule &rule) {
    Builder b(op.getContext());
    NamedAttrList entries;
    if (auto existing =
            op->getAttrOfType<DictionaryAttr>(kQuantizeOverridesAttrName))
      entries.assign(existing.getValue());
    auto setString = [&](StringRef key, const std::optional<std::string> &v) {
      if (v)
        entries.set(key, b.getStringAttr(*v));
    };
    setString("weight_bits", rule.weightBits);
    setString("granularity", rule.granularity);
    setString("scale_type", rule.scaleType);
    setString("clip", rule.clip);
    setString("method", rule.method);
    if (rule.damp)
      entries.set("damp", b.getF64FloatAttr(*rule.damp));
    if (rule.groupSize)
      entries.set("group_size", b.getI64IntegerAttr(*rule.groupSize));
    if (rule.blockSize)
      entries.set("block_size", b.getI64IntegerAttr(*rule.blockSize));
    if (rule.symmetric)
      entries.set("symmetric", b.getBoolAttr(*rule.symmetric));
    if (rule.actOrder)
      entries.set("act_order", b.getBoolAttr(*rule.actOrder));
    if (rule.keepFloat)
      entries.set("skip", b.getUnitAttr());
    op->setAttr(kQuantizeOverridesAttrName,
                entries.getDictionary(op.getContext()));
  }

  /// The file, shared by clones of the pass.
  std::shared_ptr<const RecipeFile> recipe;
};
} // namespace
