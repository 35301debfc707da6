//===- Json.h - Parsing JSON from files -------------------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// llvm::json::parse recurses once per level of nesting: a file of a hundred
// thousand '[' overflows the stack. Every JSON that Lattice reads from a
// file (safetensors headers, recipe files, sensitivity files) goes through
// parseJson, which refuses deep nesting before the parser sees it, and
// objects that repeat a key.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_SUPPORT_JSON_H
#define LATTICE_SUPPORT_JSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace mlir::lattice {
/// The deepest nesting of arrays and objects that parseJson accepts: far
/// above what any of Lattice's files holds (three levels).
inline constexpr unsigned kMaxJsonDepth = 64;

/// `text` parsed as JSON; an error for malformed JSON, for arrays and
/// objects nested more than `maxDepth` deep, and for an object with a key
/// twice (which the parser would keep one of, silently).
llvm::Expected<llvm::json::Value> parseJson(llvm::StringRef text,
                                            unsigned maxDepth = kMaxJsonDepth);
} // namespace mlir::lattice

#endif // LATTICE_SUPPORT_JSON_H
