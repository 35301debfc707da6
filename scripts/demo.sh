#!/usr/bin/env bash
#===- demo.sh - The README's demo command ---------------------------------===//
#
# Builds Lattice and shows what it does with the bundled example model
# (examples/mlp-w4a16.mlir, a W4A16 two-layer MLP). Today that is the
# foundation: the dialect parses, verifies and round-trips the model. Native
# compilation, calibration, quantization and the quality/speed table arrive
# with the CPU lowering and whole-model work, and this script grows with them.
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"

"$root/scripts/build.sh" "$build" >/dev/null
opt="$build/bin/lattice-opt"
example="$root/examples/mlp-w4a16.mlir"

echo "== lattice-opt: registered dialects"
"$opt" --show-dialects | tail -n +2 | tr '\n' ' '
echo
echo
echo "== examples/mlp-w4a16.mlir: verified and printed back"
"$opt" "$example" --verify-roundtrip
echo
echo "== storage of the quantized weights (lattice-report-storage)"
"$opt" "$example" --lattice-report-storage --mlir-print-op-on-diagnostic=false \
  -o /dev/null 2>&1 | sed -n 's/.*remark: //p'
echo
echo "== op statistics"
"$opt" "$example" --canonicalize --print-op-stats -o /dev/null
echo
echo "The portable lowering (--convert-lattice-to-linalg) exists and its output"
echo "runs under mlir-runner in the tests, but the example still has external"
echo "weights (lattice.weight), which need the runtime. Not yet available: the"
echo "CPU pipeline and lattice-compile (native library), calibration and the"
echo "quantization passes, and the quality/speed table. See docs/index.md."
