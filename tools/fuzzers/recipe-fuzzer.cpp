//===- recipe-fuzzer.cpp - Fuzz the recipe-file parser --------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parses the input as a recipe file (docs/Recipes.md). Rejections are fine;
// a file that the parser accepts is used as lattice-compile uses it: the
// methods its recipe and settings ask for, and each rule's regular
// expression matched against layer names.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/Transforms/Recipes.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Regex.h"
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mlir::lattice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::Expected<RecipeFile> file = parseRecipeFile(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "<input>");
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  if (!file->recipe)
    abort();
  RecipeMethods methods = getRecipeMethods(*file->recipe, &*file);
  if (methods.outlierThreshold < 0)
    abort();
  (void)file->usesGPTQ();
  for (const RecipeRule &rule : file->rules) {
    llvm::Regex pattern(rule.match);
    std::string reason;
    if (!pattern.isValid(reason))
      abort();
    for (const char *layer : {"model.layers.0.mlp.down_proj", "lm_head",
                              "/encoder/conv_1/Conv", ""})
      (void)pattern.match(layer);
  }
  return 0;
}
