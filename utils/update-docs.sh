#!/usr/bin/env bash
# Regenerates the reference documentation from ODS and copies it into docs/.
# Usage: utils/update-docs.sh [build directory, default: build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
ninja -C "$build" mlir-doc
cp "$build/docs/Dialects/Lattice.md" "$root/docs/Dialects/Lattice.md"
cp "$build/docs/LatticePasses.md" "$root/docs/Passes.md"
cp "$build/docs/LatticeConversionPasses.md" "$root/docs/ConversionPasses.md"
cp "$build/docs/LatticeCodegenPasses.md" "$root/docs/CodegenPasses.md"
echo "updated docs/Dialects/Lattice.md, docs/Passes.md, docs/ConversionPasses.md and docs/CodegenPasses.md"
