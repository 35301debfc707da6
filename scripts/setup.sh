#!/usr/bin/env bash
#===- setup.sh - Install what Lattice needs to build and test ------------===//
#
# Installs the Debian packages that Lattice builds and tests with. Idempotent:
# when every package is already installed it only checks and says so, without
# touching the package database or the network.
#
#===----------------------------------------------------------------------===//
set -euo pipefail

PACKAGES=(
  # Toolchain: LLVM/MLIR 22 (shared libMLIR.so, mlir-tblgen, lit, FileCheck).
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  clang-format-22 libclang-rt-22-dev
  # LLVM's OpenMP runtime, which compiled models call for their threads.
  libomp-22-dev
  # Build (zlib: calibration data in compressed .npz archives).
  cmake ninja-build ccache g++ zlib1g-dev
  # Unit tests.
  libgtest-dev
  # Benchmarks (bench/: Google Benchmark).
  libbenchmark-dev
  # Python side (reference implementation, tests).
  python3 python3-numpy python3-pytest
  # Whole models: ONNX import, PyTorch as the independent reference and the
  # trainer of the example model (OpenBLAS makes it fast), torchvision's
  # published architectures, report plots, and the example model's corpus
  # (the King James Bible).
  python3-onnx python3-torch python3-torchvision python3-matplotlib
  libopenblas0-pthread bible-kjv
  # ONNX's backend node tests (the conformance run of the importer).
  libonnx-testdata
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
echo "setup: done"
