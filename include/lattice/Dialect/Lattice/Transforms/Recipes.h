//===- Recipes.h - The built-in quantization recipes ------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A recipe names a quantization of a whole model: the options of
// lattice-quantize (and SmoothQuant before it, for recipes that quantize
// activations from calibration), then lattice-renormalize. Each is a pass
// pipeline, `lattice-recipe-<name>`, that lattice-opt runs like any other
// and that lattice-compile runs with `--recipe <name>`.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_RECIPES_H
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_RECIPES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"
#include <optional>
#include <string>
#include <vector>

namespace mlir::lattice {
/// What a recipe does with the activations, which decides what it needs
/// from calibration.
enum class RecipeActivations {
  /// Float activations: the weights alone are quantized.
  None,
  /// Quantized per token at run time; SmoothQuant first when statistics
  /// of the float model are given.
  Dynamic,
  /// Quantized per tensor, after SmoothQuant, with scales from the
  /// statistics of the float model (lattice-smoothquant scales the ranges
  /// of the inputs it smooths).
  Static,
};

/// A built-in recipe.
struct Recipe {
  StringRef name;
  StringRef summary;
  RecipeActivations activations;
  /// The weights are quantized by GPTQ, which needs the X^T X of every
  /// layer's input from calibration.
  bool gptq = false;
  /// lattice-awq scales the weights first (from the absmean and X^T X of
  /// every layer's input).
  bool awq = false;
  /// QEP: each layer quantizes the target that corrects the error of the
  /// layers before it, from statistics gathered layer after layer on the
  /// partly quantized model (lattice-compile gathers them).
  bool qep = false;
  /// LLM.int8(): input channels whose calibrated max |x| exceeds this go
  /// through a float matmul (lattice-split-outliers); 0: none do.
  double outlierThreshold = 0;
};

/// The built-in recipes, in the order the documentation lists them.
ArrayRef<Recipe> getRecipes();

/// The recipe called `name`, or null.
const Recipe *lookupRecipe(StringRef name);

/// A rule of a recipe file (docs/Recipes.md): the layers whose name the
/// regular expression `match` finds get these settings, as entries of a
/// `lattice.quantize` dictionary.
struct RecipeRule {
  std::string match;
  /// weight_bits (a number or "ternary"/"binary"), granularity, scale_type,
  /// clip: strings as lattice-quantize spells them.
  std::optional<std::string> weightBits, granularity, scaleType, clip;
  std::optional<int64_t> groupSize;
  std::optional<bool> symmetric;
  bool keepFloat = false;
  /// method ("rtn" or "gptq") and GPTQ's damp, as lattice-quantize takes
  /// them.
  std::optional<std::string> method;
  std::optional<double> damp;
  std::optional<bool> actOrder;
  /// GPTQ's lazy batches (lattice-quantize `block-size`).
  std::optional<int64_t> blockSize;
};

/// A recipe file: a built-in recipe, model-wide settings of the methods,
/// and per-layer rules, the first rule that matches a layer applying to it.
struct RecipeFile {
  std::string path;
  const Recipe *recipe = nullptr;
  std::vector<RecipeRule> rules;
  /// `awq`, `awq_grid`, `awq_clip`, `qep` and `qep_alpha`: unset keys keep
  /// the recipe's choice (and the passes' defaults).
  std::optional<bool> awq, awqClip, qep;
  std::optional<int64_t> awqGrid;
  std::optional<double> qepAlpha;
  /// The mixed recipe's `budget` (bits per weight), `candidates` (schemes
  /// measured and offered to every layer), `solver` and `metric` (the
  /// model-level error that lattice-compile measures: "kl" or "nsr").
  std::optional<double> budget;
  std::vector<std::string> candidates;
  std::optional<std::string> solver, metric;
  /// `outlier_threshold`: LLM.int8()'s split, for the recipes that quantize
  /// activations.
  std::optional<double> outlierThreshold;

  /// Whether a rule asks for GPTQ (whose X^T X calibration gives).
  bool usesGPTQ() const;
};

/// The methods that a recipe (and its recipe file, if any) uses: what
/// lattice-compile must gather and how it drives the passes.
struct RecipeMethods {
  bool gptq = false, awq = false, qep = false;
  /// The threshold of lattice-split-outliers; 0 when it does not run.
  double outlierThreshold = 0;
};
RecipeMethods getRecipeMethods(const Recipe &recipe, const RecipeFile *file);

/// Reads and validates the recipe file `path`: an error names the file, the
/// key and the bad value.
llvm::Expected<RecipeFile> readRecipeFile(StringRef path);
/// Parses and validates the text of a recipe file; `path` names it in
/// errors.
llvm::Expected<RecipeFile> parseRecipeFile(StringRef text, StringRef path);

/// The options of a recipe's pipeline.
struct RecipePipelineOptions
    : public PassPipelineOptions<RecipePipelineOptions> {
  Option<std::string> floatStats{
      *this, "float-stats",
      llvm::cl::desc("Statistics of the float model: SmoothQuant runs first, "
                     "and static activation scales come from them (static "
                     "recipes need them; dynamic ones use them)")};
  Option<std::string> recipeFile{
      *this, "recipe-file",
      llvm::cl::desc("Per-layer settings (a recipe file whose recipe is this "
                     "one), applied before lattice-quantize")};
  Option<std::string> reportFile{
      *this, "report-file",
      llvm::cl::desc("Write lattice-quantize's per-layer report (JSON) to "
                     "this file")};
  Option<std::string> qepStats{
      *this, "qep-stats",
      llvm::cl::desc("QEP's statistics of every layer (the -qep recipes need "
                     "them; lattice-compile gathers them layer after layer "
                     "and writes <out>.work/qep.safetensors)")};
  Option<std::string> sensitivity{
      *this, "sensitivity",
      llvm::cl::desc("The mixed recipe: the errors of each layer's candidate "
                     "schemes (lattice-compile measures them and writes "
                     "<out>.work/sensitivity.json), from which "
                     "lattice-assign-precision chooses under the recipe "
                     "file's budget (4.5 bits per weight by default); "
                     "without it, 8 bits for the first and last layers")};
  Option<std::string> precisionReport{
      *this, "precision-report",
      llvm::cl::desc("Write lattice-assign-precision's assignment (JSON) to "
                     "this file")};
  Option<bool> progress{
      *this, "progress",
      llvm::cl::desc("lattice-quantize prints each layer as it is done "
                     "(lattice-compile asks for it for GPTQ)"),
      llvm::cl::init(false)};
  ListOption<std::string> layers{
      *this, "layers",
      llvm::cl::desc("Quantize only these layers (lattice-compile's QEP "
                     "sweep quantizes the model a few layers at a time)")};
};

/// The parts of a recipe's pipeline: the rewrites before quantization
/// (SmoothQuant, the recipe file's settings, AWQ), lattice-quantize, and
/// what follows it. lattice-compile runs them apart for QEP.
enum class RecipePart { All, Prologue, Quantize, Epilogue };

/// Adds the passes of `recipe` to `pm`: SmoothQuant (with float-stats),
/// lattice-quantize with the recipe's options, lattice-renormalize. Fails,
/// with the reason in `error`, when the options do not fit the recipe.
LogicalResult buildRecipePipeline(OpPassManager &pm, const Recipe &recipe,
                                  const RecipePipelineOptions &options,
                                  std::string &error,
                                  RecipePart part = RecipePart::All);

/// The options of the model preparation pipeline.
struct ModelPreparationOptions
    : public PassPipelineOptions<ModelPreparationOptions> {
  Option<std::string> dir{
      *this, "dir",
      llvm::cl::desc("Folder that external weights' file names are relative "
                     "to")};
};

/// Adds the graph rewrites that every model gets before calibration and
/// quantization: lattice-raise-norms, then lattice-fold-batch-norm (which
/// loads the weights it folds from `options.dir`).
void buildModelPreparationPipeline(OpPassManager &pm,
                                   const ModelPreparationOptions &options);

/// Registers `lattice-prepare-model` and `lattice-recipe-<name>` for every
/// recipe.
void registerRecipePipelines();
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_RECIPES_H
