//===- Json.cpp - Parsing JSON from files ---------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Json.h"

using namespace llvm;

Expected<json::Value> mlir::lattice::parseJson(StringRef text,
                                               unsigned maxDepth) {
  // Brackets inside strings do not nest; a backslash escapes the next
  // character. What the scan cannot tell apart (malformed JSON) the parser
  // rejects after it.
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return createStringError(
            std::errc::invalid_argument,
            "JSON nested more than %u levels deep (at offset %zu)", maxDepth,
            i);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return json::parse(text);
}
