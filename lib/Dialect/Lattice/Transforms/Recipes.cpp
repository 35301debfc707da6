//===- Recipes.cpp - The built-in quantization recipes --------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/Transforms/Recipes.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Quant/PrecisionAssignment.h"
#include "lattice/Support/Json.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"

using namespace mlir;
using namespace mlir::lattice;

static constexpr Recipe kRecipes[] = {
    {"f32", "no quantization", RecipeActivations::None},
    {"w8a16", "8-bit weights, per output channel; float activations",
     RecipeActivations::None},
    {"w4a16", "4-bit weights in groups of 128 along K (f16 scales)",
     RecipeActivations::None},
    {"w4a16-gptq",
     "w4a16 with GPTQ: each column's rounding error compensated in the "
     "columns after it, from calibration",
     RecipeActivations::None, /*gptq=*/true},
    {"w4a16-awq",
     "w4a16 after AWQ: weights scaled by their inputs' magnitudes, the "
     "scales searched on the output error, from calibration",
     RecipeActivations::None, /*gptq=*/false, /*awq=*/true},
    {"w4a16-gptq-qep",
     "w4a16-gptq on QEP's targets: each layer corrects the error of the "
     "quantized layers before it, from calibration",
     RecipeActivations::None, /*gptq=*/true, /*awq=*/false, /*qep=*/true},
    {"w4a16-g32", "4-bit weights in groups of 32", RecipeActivations::None},
    {"w3a16", "3-bit weights in groups of 128 (f16 scales)",
     RecipeActivations::None},
    {"w3a16-gptq", "w3a16 with GPTQ, from calibration", RecipeActivations::None,
     /*gptq=*/true},
    {"w3a16-awq", "w3a16 after AWQ, from calibration", RecipeActivations::None,
     /*gptq=*/false, /*awq=*/true},
    {"w3a16-gptq-qep", "w3a16-gptq on QEP's targets, from calibration",
     RecipeActivations::None, /*gptq=*/true, /*awq=*/false, /*qep=*/true},
    {"w2a16", "2-bit weights in groups of 32, MSE-clipped",
     RecipeActivations::None},
    {"w2a16-gptq", "w2a16 with GPTQ, from calibration", RecipeActivations::None,
     /*gptq=*/true},
    {"w2a16-gptq-qep", "w2a16-gptq on QEP's targets, from calibration",
     RecipeActivations::None, /*gptq=*/true, /*awq=*/false, /*qep=*/true},
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
    {"llm-int8",
     "LLM.int8(): input channels whose calibrated |x| exceeds 6 in a float "
     "matmul, the rest as w8a8-dynamic (without SmoothQuant), from "
     "calibration",
     RecipeActivations::Dynamic, /*gptq=*/false, /*awq=*/false, /*qep=*/false,
     /*outlierThreshold=*/6.0},
};

ArrayRef<Recipe> mlir::lattice::getRecipes() { return kRecipes; }

const Recipe *mlir::lattice::lookupRecipe(StringRef name) {
  for (const Recipe &recipe : kRecipes)
    if (recipe.name == name)
      return &recipe;
  return nullptr;
}

static llvm::Error recipeFileError(StringRef path, const llvm::Twine &what) {
  return llvm::createStringError("recipe file '" + path.str() +
                                 "': " + what.str());
}

/// `value` as JSON text, for messages.
static std::string printJson(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream(text) << value;
  return text;
}

/// Reads rule `index` of a recipe file.
static llvm::Expected<RecipeRule> readRule(StringRef path, size_t index,
                                           const llvm::json::Value &value) {
  std::string where = ("layers[" + llvm::Twine(index) + "]").str();
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return recipeFileError(path, where + " is " + printJson(value) +
                                     "; expected an object");
  RecipeRule rule;
  auto bad = [&](StringRef key, const llvm::json::Value &v,
                 StringRef expected) {
    return recipeFileError(path, where + "." + key + " is " + printJson(v) +
                                     "; expected " + expected);
  };
  auto oneOf = [&](StringRef key, const llvm::json::Value &v,
                   ArrayRef<StringRef> choices,
                   std::optional<std::string> &field) -> llvm::Error {
    std::optional<StringRef> text = v.getAsString();
    if (!text || !llvm::is_contained(choices, *text))
      return bad(key, v, "one of \"" + llvm::join(choices, "\", \"") + "\"");
    field = text->str();
    return llvm::Error::success();
  };
  const llvm::json::Value *match = object->get("match");
  if (!match)
    return recipeFileError(path, where + " has no \"match\"");
  for (const auto &[keyText, v] : *object) {
    StringRef key = keyText;
    if (key == "match") {
      std::optional<StringRef> text = v.getAsString();
      if (!text)
        return bad(key, v, "a regular expression");
      std::string reason;
      if (!llvm::Regex(*text).isValid(reason))
        return bad(key, v, "a regular expression (" + reason + ")");
      rule.match = text->str();
    } else if (key == "bits") {
      std::optional<int64_t> bits = v.getAsInteger();
      std::optional<StringRef> text = v.getAsString();
      if (bits && *bits >= 2 && *bits <= 8)
        rule.weightBits = std::to_string(*bits);
      else if (text && (*text == "ternary" || *text == "binary"))
        rule.weightBits = text->str();
      else
        return bad(key, v, "2 to 8, \"ternary\" or \"binary\"");
    } else if (key == "granularity") {
      if (llvm::Error e =
              oneOf(key, v, {"tensor", "channel", "group"}, rule.granularity))
        return std::move(e);
    } else if (key == "scale_type") {
      if (llvm::Error e = oneOf(key, v, {"f32", "f16", "bf16"}, rule.scaleType))
        return std::move(e);
    } else if (key == "clip") {
      if (llvm::Error e =
              oneOf(key, v, {"minmax", "percentile", "mse"}, rule.clip))
        return std::move(e);
    } else if (key == "group_size" || key == "block_size") {
      std::optional<int64_t> size = v.getAsInteger();
      if (!size || *size < 1 || *size > INT32_MAX)
        return bad(key, v, "a positive integer");
      (key == "group_size" ? rule.groupSize : rule.blockSize) = *size;
    } else if (key == "symmetric" || key == "keep_float" ||
               key == "act_order") {
      std::optional<bool> flag = v.getAsBoolean();
      if (!flag)
        return bad(key, v, "true or false");
      if (key == "symmetric")
        rule.symmetric = *flag;
      else if (key == "act_order")
        rule.actOrder = *flag;
      else
        rule.keepFloat = *flag;
    } else if (key == "method") {
      if (llvm::Error e = oneOf(key, v, {"rtn", "gptq"}, rule.method))
        return std::move(e);
    } else if (key == "damp") {
      std::optional<double> damp = v.getAsNumber();
      if (!damp || !(*damp > 0 && *damp <= 1))
        return bad(key, v, "a number in (0, 1]");
      rule.damp = *damp;
    } else {
      return recipeFileError(path, where + " has unknown key \"" + key +
                                       "\" (known: match, bits, granularity, "
                                       "group_size, symmetric, scale_type, "
                                       "clip, method, damp, act_order, "
                                       "block_size, keep_float)");
    }
  }
  return rule;
}

llvm::Expected<RecipeFile> mlir::lattice::readRecipeFile(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return recipeFileError(path,
                           "cannot be read: " + buffer.getError().message());
  return parseRecipeFile((*buffer)->getBuffer(), path);
}

llvm::Expected<RecipeFile> mlir::lattice::parseRecipeFile(StringRef text,
                                                          StringRef path) {
  llvm::Expected<llvm::json::Value> json = parseJson(text);
  if (!json)
    return recipeFileError(path,
                           "not JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *top = json->getAsObject();
  if (!top)
    return recipeFileError(path, "expected a JSON object");
  RecipeFile file;
  file.path = path.str();
  for (const auto &[keyText, v] : *top) {
    StringRef key = keyText;
    if (key == "description") {
      if (!v.getAsString())
        return recipeFileError(path, "\"description\" is " + printJson(v) +
                                         "; expected a string");
    } else if (key == "recipe") {
      std::optional<StringRef> name = v.getAsString();
      file.recipe = name ? lookupRecipe(*name) : nullptr;
      if (!file.recipe) {
        std::string names;
        for (const Recipe &recipe : getRecipes())
          names += (names.empty() ? "" : ", ") + recipe.name.str();
        return recipeFileError(path, "\"recipe\" is " + printJson(v) +
                                         "; expected one of " + names);
      }
    } else if (key == "layers") {
      const llvm::json::Array *rules = v.getAsArray();
      if (!rules)
        return recipeFileError(path, "\"layers\" is " + printJson(v) +
                                         "; expected an array of rules");
      for (auto [index, rule] : llvm::enumerate(*rules)) {
        llvm::Expected<RecipeRule> parsed = readRule(path, index, rule);
        if (!parsed)
          return parsed.takeError();
        file.rules.push_back(std::move(*parsed));
      }
    } else if (key == "awq" || key == "awq_clip" || key == "qep") {
      std::optional<bool> flag = v.getAsBoolean();
      if (!flag)
        return recipeFileError(path, "\"" + key + "\" is " + printJson(v) +
                                         "; expected true or false");
      (key == "awq"   ? file.awq
       : key == "qep" ? file.qep
                      : file.awqClip) = *flag;
    } else if (key == "awq_grid") {
      std::optional<int64_t> grid = v.getAsInteger();
      if (!grid || *grid < 1 || *grid > 1000)
        return recipeFileError(path, "\"awq_grid\" is " + printJson(v) +
                                         "; expected an integer from 1 to "
                                         "1000");
      file.awqGrid = *grid;
    } else if (key == "qep_alpha") {
      std::optional<double> alpha = v.getAsNumber();
      if (!alpha || !(*alpha >= 0 && *alpha <= 1))
        return recipeFileError(path, "\"qep_alpha\" is " + printJson(v) +
                                         "; expected a number in [0, 1]");
      file.qepAlpha = *alpha;
    } else if (key == "budget") {
      std::optional<double> budget = v.getAsNumber();
      if (!budget || !(*budget > 0) || !std::isfinite(*budget))
        return recipeFileError(path, "\"budget\" is " + printJson(v) +
                                         "; expected a positive number of "
                                         "bits per weight");
      file.budget = *budget;
    } else if (key == "candidates") {
      const llvm::json::Array *list = v.getAsArray();
      if (!list || list->empty())
        return recipeFileError(path, "\"candidates\" is " + printJson(v) +
                                         "; expected a non-empty array of "
                                         "candidate schemes");
      for (const llvm::json::Value &entry : *list) {
        std::optional<StringRef> name = entry.getAsString();
        if (!name)
          return recipeFileError(path, "candidate " + printJson(entry) +
                                           " is not a string");
        if (llvm::Expected<PrecisionCandidate> parsed =
                parsePrecisionCandidate(*name);
            !parsed)
          return recipeFileError(path, llvm::toString(parsed.takeError()));
        if (llvm::is_contained(file.candidates, *name))
          return recipeFileError(path,
                                 "candidate '" + *name + "' appears twice");
        file.candidates.push_back(name->str());
      }
    } else if (key == "solver") {
      std::optional<StringRef> solver = v.getAsString();
      if (!solver || (*solver != "exact" && *solver != "annealing"))
        return recipeFileError(path, "\"solver\" is " + printJson(v) +
                                         "; expected \"exact\" or "
                                         "\"annealing\"");
      file.solver = solver->str();
    } else if (key == "metric") {
      std::optional<StringRef> metric = v.getAsString();
      if (!metric || (*metric != "kl" && *metric != "nsr"))
        return recipeFileError(path, "\"metric\" is " + printJson(v) +
                                         "; expected \"kl\" or \"nsr\"");
      file.metric = metric->str();
    } else if (key == "outlier_threshold") {
      std::optional<double> threshold = v.getAsNumber();
      if (!threshold || !(*threshold > 0) || !std::isfinite(*threshold))
        return recipeFileError(path, "\"outlier_threshold\" is " +
                                         printJson(v) +
                                         "; expected a positive number");
      file.outlierThreshold = *threshold;
    } else {
      return recipeFileError(path, "unknown key \"" + key +
                                       "\" (known: recipe, description, "
                                       "layers, awq, awq_grid, awq_clip, "
                                       "qep, qep_alpha, budget, candidates, "
                                       "solver, metric, outlier_threshold)");
    }
  }
  if (!file.recipe)
    return recipeFileError(path, "has no \"recipe\" (the built-in recipe "
                                 "whose passes run)");
  if ((file.budget || !file.candidates.empty() || file.solver || file.metric) &&
      file.recipe->name != "mixed")
    return recipeFileError(path, "\"budget\", \"candidates\", \"solver\" "
                                 "and \"metric\" are the mixed recipe's; "
                                 "this file is for '" +
                                     file.recipe->name.str() + "'");
  if (file.outlierThreshold &&
      file.recipe->activations == RecipeActivations::None)
    return recipeFileError(path, "\"outlier_threshold\" splits the input "
                                 "of matmuls whose activations are quantized; "
                                 "recipe '" +
                                     file.recipe->name.str() +
                                     "' keeps them in float");
  return file;
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
  };
  StringRef name = recipe.name;
  if (name == "f32")
    return std::nullopt;
  if (name.starts_with("w4a16") && name != "w4a16-g32")
    grouped("4", 128);
  else if (name == "w4a16-g32")
    grouped("4", 32);
  else if (name.starts_with("w3a16"))
    grouped("3", 128);
  else if (name.starts_with("w2a16")) {
    grouped("2", 32);
    options.clip = "mse";
  } else if (name == "ternary")
    options.weightBits = "ternary";
  else if (name == "mixed") {
    grouped("4", 32);
    options.edgeBits = "8";
  }
  // w8a16, w8a8, w8a8-dynamic and llm-int8: the default weights (8 bits per
  // output channel).
  if (recipe.activations == RecipeActivations::Static)
    options.activations = "static";
  else if (recipe.activations == RecipeActivations::Dynamic)
    options.activations = "dynamic";
  if (recipe.gptq)
    options.method = "gptq";
  return options;
}

bool RecipeFile::usesGPTQ() const {
  return llvm::any_of(rules, [](const RecipeRule &rule) {
    return rule.method && *rule.method == "gptq";
  });
}

RecipeMethods mlir::lattice::getRecipeMethods(const Recipe &recipe,
                                              const RecipeFile *file) {
  RecipeMethods methods;
  methods.gptq = recipe.gptq || (file && file->usesGPTQ());
  methods.awq = file && file->awq ? *file->awq : recipe.awq;
  methods.qep = file && file->qep ? *file->qep : recipe.qep;
  methods.outlierThreshold = file && file->outlierThreshold
                                 ? *file->outlierThreshold
                                 : recipe.outlierThreshold;
  return methods;
}

LogicalResult
mlir::lattice::buildRecipePipeline(OpPassManager &pm, const Recipe &recipe,
                                   const RecipePipelineOptions &options,
                                   std::string &error, RecipePart part) {
  std::optional<LatticeQuantizePassOptions> quantize =
      getQuantizeOptions(recipe);
  std::optional<RecipeFile> file;
  if (!options.recipeFile.empty()) {
    llvm::Expected<RecipeFile> read = readRecipeFile(options.recipeFile);
    if (!read) {
      error = llvm::toString(read.takeError());
      return failure();
    }
    file = std::move(*read);
  }
  RecipeMethods methods = getRecipeMethods(recipe, file ? &*file : nullptr);
  bool weightMethods = methods.gptq || methods.awq;
  if (weightMethods && options.floatStats.empty()) {
    error = "recipe '" + recipe.name.str() + "' uses " +
            (methods.gptq ? "GPTQ" : "AWQ") +
            ", which needs the statistics of the float model with the X^T X "
            "of every layer's input (float-stats)";
    return failure();
  }
  if (methods.qep && recipe.activations != RecipeActivations::None) {
    error = "QEP quantizes weights only; recipe '" + recipe.name.str() +
            "' quantizes activations";
    return failure();
  }
  if (methods.qep && options.qepStats.empty() && part != RecipePart::Prologue &&
      part != RecipePart::Epilogue) {
    error = "recipe '" + recipe.name.str() +
            "' uses QEP, which needs the statistics that lattice-compile "
            "gathers layer after layer (qep-stats)";
    return failure();
  }
  if (!options.sensitivity.empty() && recipe.name != "mixed") {
    error = "recipe '" + recipe.name.str() +
            "' does not assign precisions (sensitivity is for mixed)";
    return failure();
  }
  if (!methods.qep && !options.qepStats.empty()) {
    error = "recipe '" + recipe.name.str() + "' does not use QEP (qep-stats)";
    return failure();
  }
  if (!quantize ||
      (recipe.activations == RecipeActivations::None && !weightMethods)) {
    if (!options.floatStats.empty()) {
      error = "recipe '" + recipe.name.str() + "' takes no statistics";
      return failure();
    }
    if (!quantize && !options.recipeFile.empty()) {
      error = "recipe '" + recipe.name.str() +
              "' quantizes nothing; a recipe file needs one that does";
      return failure();
    }
    if (!quantize)
      return success();
  }
  if (file) {
    if (file->recipe != &recipe) {
      error = "recipe file '" + options.recipeFile + "' is for recipe '" +
              file->recipe->name.str() + "', not '" + recipe.name.str() + "'";
      return failure();
    }
  }
  if (methods.outlierThreshold > 0 && options.floatStats.empty()) {
    error = "recipe '" + recipe.name.str() +
            "' splits outlier channels, which needs the statistics of the "
            "float model (float-stats)";
    return failure();
  }
  if (recipe.activations == RecipeActivations::Static &&
      options.floatStats.empty()) {
    error = "recipe '" + recipe.name.str() +
            "' needs the statistics of the float model (float-stats)";
    return failure();
  }
  // AWQ's clipping search (on unless the file turns it off) chooses each
  // block's range on the output error; rounding then keeps that range.
  // Recipes that clip by MSE (w2a16) keep it, and AWQ models it.
  std::string recipeClip = quantize ? quantize->clip : "minmax";
  bool awqClip = methods.awq && recipeClip == "minmax" &&
                 (!file || !file->awqClip || *file->awqClip);
  if (awqClip)
    quantize->clip = "minmax";
  bool all = part == RecipePart::All;
  if (all || part == RecipePart::Prologue) {
    // SmoothQuant for the recipes that quantize activations (LLM.int8()
    // keeps their outliers in float instead).
    if (!options.floatStats.empty() &&
        recipe.activations != RecipeActivations::None &&
        recipe.outlierThreshold == 0) {
      LatticeSmoothQuantPassOptions smooth;
      smooth.stats = options.floatStats;
      pm.addPass(createLatticeSmoothQuantPass(smooth));
    }
    if (!options.recipeFile.empty()) {
      LatticeApplyRecipeFilePassOptions apply;
      apply.file = options.recipeFile;
      pm.addPass(createLatticeApplyRecipeFilePass(apply));
    }
    // After the file's rules: a layer they keep in float is not split, and
    // the float matmuls the split adds keep their `skip`.
    if (methods.outlierThreshold > 0) {
      LatticeSplitOutliersPassOptions split;
      split.stats = options.floatStats;
      split.threshold = methods.outlierThreshold;
      pm.addPass(createLatticeSplitOutliersPass(split));
    }
    // Mixed precision: each layer's scheme from its measured sensitivity
    // (after the file's rules, whose keep_float it respects).
    if (!options.sensitivity.empty()) {
      LatticeAssignPrecisionPassOptions assign;
      assign.sensitivity = options.sensitivity;
      assign.report = options.precisionReport;
      if (file && file->budget)
        assign.budget = *file->budget;
      if (file && file->solver)
        assign.solver = *file->solver;
      pm.addPass(createLatticeAssignPrecisionPass(assign));
    }
    if (methods.awq) {
      // AWQ models the scheme that lattice-quantize will use.
      LatticeAWQPassOptions awq;
      awq.stats = options.floatStats;
      awq.weightBits = quantize->weightBits;
      awq.granularity = quantize->granularity;
      awq.groupSize = quantize->groupSize;
      awq.symmetric = quantize->symmetric;
      awq.scaleType = quantize->scaleType;
      if (file && file->awqGrid)
        awq.grid = *file->awqGrid;
      awq.clipSearch = awqClip;
      awq.clip = recipeClip;
      pm.addPass(createLatticeAWQPass(awq));
    }
  }
  if (all || part == RecipePart::Quantize) {
    if (methods.qep) {
      quantize->qep = true;
      quantize->stats = options.qepStats;
      if (file && file->qepAlpha)
        quantize->qepAlpha = *file->qepAlpha;
    } else if (recipe.activations == RecipeActivations::Static ||
               methods.gptq) {
      quantize->stats = options.floatStats;
    }
    quantize->reportFile = options.reportFile;
    quantize->layers.assign(options.layers.begin(), options.layers.end());
    quantize->progress = options.progress;
    pm.addPass(createLatticeQuantizePass(*quantize));
  }
  if (all || part == RecipePart::Epilogue)
    pm.addPass(createLatticeRenormalizePass());
  return success();
}

void mlir::lattice::buildModelPreparationPipeline(
    OpPassManager &pm, const ModelPreparationOptions &options) {
  pm.addPass(createLatticeRaiseNormsPass());
  LatticeFoldBatchNormPassOptions fold;
  fold.dir = options.dir;
  pm.addPass(createLatticeFoldBatchNormPass(fold));
}

void mlir::lattice::registerRecipePipelines() {
  PassPipelineRegistration<ModelPreparationOptions>(
      "lattice-prepare-model",
      "The graph rewrites every model gets before calibration and "
      "quantization: norms raised to lattice ops, channel affines (batch "
      "norms) folded into the layers before them",
      buildModelPreparationPipeline);
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
