//===- Json.cpp - Parsing JSON from files ---------------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Support/Json.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

using namespace llvm;

Expected<json::Value> mlir::lattice::parseJson(StringRef text,
                                               unsigned maxDepth) {
  // A scan before the parser: the nesting depth, and each object's keys.
  // Brackets inside strings do not nest; a backslash escapes the next
  // character. What the scan cannot tell apart (malformed JSON) the parser
  // rejects after it. Keys compare as written (escapes unresolved).
  struct Container {
    bool isObject;
    bool expectKey;
    StringSet<> keys;
  };
  SmallVector<Container, 8> stack;
  bool inString = false;
  size_t stringStart = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
        if (!stack.empty() && stack.back().isObject && stack.back().expectKey) {
          StringRef key = text.slice(stringStart + 1, i);
          if (!stack.back().keys.insert(key).second)
            return createStringError(
                std::errc::invalid_argument,
                "JSON object has the key \"%s\" twice (at offset %zu)",
                key.str().c_str(), stringStart);
          stack.back().expectKey = false;
        }
      }
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      stringStart = i;
      break;
    case '[':
    case '{':
      if (stack.size() >= maxDepth)
        return createStringError(
            std::errc::invalid_argument,
            "JSON nested more than %u levels deep (at offset %zu)", maxDepth,
            i);
      stack.push_back({c == '{', c == '{', {}});
      break;
    case ']':
    case '}':
      if (!stack.empty())
        stack.pop_back();
      break;
    case ',':
      if (!stack.empty() && stack.back().isObject)
        stack.back().expectKey = true;
      break;
    default:
      break;
    }
  }
  return json::parse(text);
}
