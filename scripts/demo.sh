#!/usr/bin/env bash
#===- demo.sh - The README's demo command ---------------------------------===//
#
# Builds Lattice and runs the bundled example model, a character-level
# transformer LM trained on the King James Bible (examples/charlm): exports
# it to ONNX, compiles it float, w8a8 (SmoothQuant, static activations),
# w4a16, w4a16-gptq (GPTQ on the calibration text) and mixed (8-bit first
# and last layers, 4-bit elsewhere), and its
# nGPT-style variant float and w4a16 (renormalized), runs each natively on
# held-out text and prints perplexity, SQNR against the float model, weight
# bytes and tokens per second; then the per-layer report of w4a16 with its
# plots. Last, the small RMSNorm + MLP example from C.
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
work="${LATTICE_DEMO_WORK:-${TMPDIR:-/tmp}/lattice-demo}"

"$root/scripts/build.sh" "$build" >/dev/null

echo "== examples/charlm: the KJV character LM, float and quantized"
/usr/bin/python3 "$root/examples/charlm/demo.py" --work "$work/charlm"
echo
echo "== examples/mlp-w4a16.mlir: a hand-written W4A16 block, from Python and C"
/usr/bin/python3 "$root/examples/mlp_demo.py" "$build" "$work"
echo
cc -I"$work/out" "$root/examples/run-mlp.c" "$work/out/mlp.so" \
  -Wl,-rpath,"$work/out" -lm -o "$work/run-mlp"
"$work/run-mlp" "$work/out/mlp.safetensors" | sed -n '2,5p'
echo
echo "Benchmarks against the memory bandwidth and the peers: bench/run.sh"
echo "(figures in docs/PERFORMANCE.md)."
