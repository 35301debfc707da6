//===- Recipes.cpp - The built-in quantization recipes --------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/Transforms/Recipes.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::lattice;

static constexpr Recipe kRecipes[] = {
    {"f32", "no quantization", RecipeActivations::None},
    {"w8a16", "8-bit weights, per output channel; float activations",
     RecipeActivations::None},
    {"w4a16", "4-bit weights in groups of 128 along K (f16 scales)",
     RecipeActivations::None},
    {"w4a16-g32", "4-bit weights in groups of 32", RecipeActivations::None},
    {"w2a16", "2-bit weights in groups of 32, MSE-clipped",
     RecipeActivations::None},
    {"ternary", "{-1, 0, 1} weights, one absmean scale per channel",
     RecipeActivations::None},
    {"mixed",
     "4-bit groups of 32, 8-bit first and last layers (as llama.cpp's "
     "Q4_K_M keeps the model's ends more precise)",
     RecipeActivations::None},
    {"w8a8",
     "SmoothQuant (alpha 0.5), then 8-bit per-channel weights and 8-bit "
     "per-tensor static activations, from calibration",
     RecipeActivations::Static},
    {"w8a8-dynamic",
     "8-bit weights and 8-bit activations quantized per token at run time "
     "(SmoothQuant first when calibration data is given)",
     RecipeActivations::Dynamic},
};

ArrayRef<Recipe> mlir::lattice::getRecipes() { return kRecipes; }

const Recipe *mlir::lattice::lookupRecipe(StringRef name) {
  for (const Recipe &recipe : kRecipes)
    if (recipe.name == name)
      return &recipe;
  return nullptr;
}

/// The options of lattice-quantize that `recipe` runs with, or nullopt for
/// one that quantizes nothing.
static std::optional<LatticeQuantizePassOptions>
getQuantizeOptions(const Recipe &recipe) {
  LatticeQuantizePassOptions options;
  auto grouped = [&](StringRef bits, int64_t groupSize) {
    options.weightBits = bits.str();
    options.granularity = "group";
    options.groupSize = groupSize;
    options.scaleType = "f16";
    options.groupFallback = true;
  };
  StringRef name = recipe.name;
  if (name == "f32")
    return std::nullopt;
  if (name == "w4a16")
    grouped("4", 128);
  else if (name == "w4a16-g32")
    grouped("4", 32);
  else if (name == "w2a16") {
    grouped("2", 32);
    options.clip = "mse";
  } else if (name == "ternary")
    options.weightBits = "ternary";
  else if (name == "mixed") {
    grouped("4", 32);
    options.edgeBits = "8";
  } else if (name == "w8a8")
    options.activations = "static";
  else if (name == "w8a8-dynamic")
    options.activations = "dynamic";
  // w8a16: the defaults (8 bits per output channel).
  return options;
}

LogicalResult
mlir::lattice::buildRecipePipeline(OpPassManager &pm, const Recipe &recipe,
                                   const RecipePipelineOptions &options,
                                   std::string &error) {
  std::optional<LatticeQuantizePassOptions> quantize =
      getQuantizeOptions(recipe);
  if (!quantize || recipe.activations == RecipeActivations::None) {
    if (!options.floatStats.empty()) {
      error = "recipe '" + recipe.name.str() + "' takes no statistics";
      return failure();
    }
    if (!quantize)
      return success();
  }
  if (recipe.activations == RecipeActivations::Static &&
      options.floatStats.empty()) {
    error = "recipe '" + recipe.name.str() +
            "' needs the statistics of the float model (float-stats)";
    return failure();
  }
  if (!options.floatStats.empty()) {
    LatticeSmoothQuantPassOptions smooth;
    smooth.stats = options.floatStats;
    pm.addPass(createLatticeSmoothQuantPass(smooth));
  }
  if (recipe.activations == RecipeActivations::Static)
    quantize->stats = options.floatStats;
  quantize->reportFile = options.reportFile;
  pm.addPass(createLatticeQuantizePass(*quantize));
  pm.addPass(createLatticeRenormalizePass());
  return success();
}

void mlir::lattice::registerRecipePipelines() {
  for (const Recipe &recipe : kRecipes) {
    std::string name = ("lattice-recipe-" + recipe.name).str();
    registerPassPipeline(
        name, ("The " + recipe.name + " recipe: " + recipe.summary).str(),
        [&recipe](OpPassManager &pm, StringRef text,
                  function_ref<LogicalResult(const Twine &)> errorHandler) {
          RecipePipelineOptions options;
          if (failed(options.parseFromString(text)))
            return failure();
          std::string error;
          if (failed(buildRecipePipeline(pm, recipe, options, error)))
            return errorHandler(error);
          return success();
        },
        [](function_ref<void(const mlir::detail::PassOptions &)> handler) {
          handler(RecipePipelineOptions());
        });
  }
}
