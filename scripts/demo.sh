#!/usr/bin/env bash
#===- demo.sh - The README's demo command ---------------------------------===//
#
# Builds Lattice and runs the bundled example model (examples/mlp-w4a16.mlir,
# an RMSNorm + two-layer MLP block with 4-bit weights in groups of 32):
# quantizes a float model's weights to it, compiles it to a native library
# with lattice-compile, runs it from Python and from C, and prints its
# quality (SQNR against the float model, agreement with the numpy reference)
# and speed. Calibration, the quantization passes, ONNX models and the
# table over recipes come with the next issues.
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
work="${LATTICE_DEMO_WORK:-${TMPDIR:-/tmp}/lattice-demo}"

"$root/scripts/build.sh" "$build" >/dev/null

echo "== examples/mlp-w4a16.mlir: quantize, compile, run from Python"
/usr/bin/python3 "$root/examples/mlp_demo.py" "$build" "$work"
echo
echo "== the same library from C (examples/run-mlp.c), first 4 outputs"
cc -I"$work/out" "$root/examples/run-mlp.c" "$work/out/mlp.so" \
  -Wl,-rpath,"$work/out" -lm -o "$work/run-mlp"
"$work/run-mlp" "$work/out/mlp.safetensors" | sed -n '2,5p'
echo
echo "Benchmarks against the memory bandwidth and the peers: bench/run.sh"
echo "(figures in docs/PERFORMANCE.md)."
