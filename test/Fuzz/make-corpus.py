"""Writes a seed corpus for lattice-parser-fuzzer: every `// -----` split of
the .mlir tests and examples, valid and invalid, one file each.

Usage: make-corpus.py <source root> <corpus directory>
"""

import pathlib
import sys

root = pathlib.Path(sys.argv[1])
corpus = pathlib.Path(sys.argv[2])
corpus.mkdir(parents=True, exist_ok=True)
count = 0
for path in sorted(root.glob("test/**/*.mlir")) + sorted(
        root.glob("examples/*.mlir")):
    for chunk in path.read_text().split("// -----"):
        if chunk.strip():
            (corpus / f"seed-{count:04d}.mlir").write_text(chunk)
            count += 1
print(f"{count} seeds")
