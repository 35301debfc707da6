#!/usr/bin/env bash
#===- build.sh - Configure and build Lattice -----------------------------===//
#
# Installs the dependencies (scripts/setup.sh), configures the build directory
# once (Ninja, clang-22, Release, warnings as errors, ccache when present) and
# builds every target.
# Usage: scripts/build.sh [build directory, default: build] [extra cmake args...]
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
shift || true

"$root/scripts/setup.sh"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 \
    -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLATTICE_ENABLE_WERROR=ON "$@" >/dev/null
fi
# Two jobs: the machines this runs on have two cores.
ninja -C "$build" -j "${LATTICE_JOBS:-2}"
