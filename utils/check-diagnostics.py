#!/usr/bin/env python3
"""Checks that every user-facing error message in lib/ has a test.

Collects the string literals of every error-emitting statement in the C++
sources (emitOpError, emitError, createStringError, and the
`return formatv(...)` / `return std::string(...)` messages of the scheme
invariants), splits them at formatting placeholders, and requires each
fragment to appear in a test: a .mlir file under test/ or a unit test under
unittests/. Exits non-zero and names every fragment that no test mentions.

Usage: check-diagnostics.py <source root>
"""

import pathlib
import re
import sys

TRIGGERS = re.compile(
    r"emitOpError|emitError|createStringError|return\s+formatv\(|"
    r"return\s+std::string\(")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
PLACEHOLDER = re.compile(r"\{\d+(?::[^}]*)?\}|%[-+ #0]*\d*(?:\.\d+)?(?:ll|l|z|h)?[sdgfuxc]")


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def statements_with_errors(text):
    """Yields (line, statement) for statements that emit an error."""
    for match in TRIGGERS.finditer(text):
        start = text.rfind(";", 0, match.start()) + 1
        start = max(start, text.rfind("{", 0, match.start()) + 1)
        end = text.find(";", match.end())
        line = text.count("\n", 0, match.start()) + 1
        yield line, text[start:end]


def fragments(statement):
    for literal in STRING.findall(statement):
        literal = literal.replace('\\"', '"')
        for piece in PLACEHOLDER.split(literal):
            piece = piece.strip(" '")
            # Single words ("lhs", "rhs") and punctuation carry no message.
            if len(piece) >= 4 and " " in piece:
                yield piece


def main():
    root = pathlib.Path(sys.argv[1])
    tests = [p.read_text() for p in root.glob("test/**/*.mlir")]
    # C++ concatenates adjacent string literals: join them back into one.
    tests.extend(re.sub(r'"\s*\n\s*"', "", p.read_text())
                 for p in root.glob("unittests/**/*.cpp"))
    corpus = "\n".join(tests)

    missing = []
    checked = 0
    for source in sorted(root.glob("lib/**/*.cpp")):
        text = strip_comments(source.read_text())
        for line, statement in statements_with_errors(text):
            for fragment in fragments(statement):
                checked += 1
                if fragment not in corpus:
                    missing.append(f"{source.relative_to(root)}:{line}: "
                                   f"'{fragment}'")
    if missing:
        print("error messages without a test:")
        print("\n".join(missing))
        return 1
    print(f"all {checked} error message fragments are tested")
    return 0


if __name__ == "__main__":
    sys.exit(main())
