#!/bin/sh
# The GPU benchmark, in two steps: the machine with the GPU need not have
# LLVM (lattice-compile), and the one with LLVM need not have a GPU.
#
#   bench/gpu.sh prepare DIR [--gpu-chip sm_90] [--shapes "gemv gemm"]
#                            [--dtypes "f32 w8a8 w4a16-g32 w4a16-g128"]
#       builds Lattice and compiles the kernels of bench/make_models.py for
#       CUDA into DIR, beside lattice-gpu-bench and the OpenMP runtime the
#       libraries link: with this source tree, DIR is all the GPU machine
#       needs (a few MB; the weights are made there);
#   bench/gpu.sh run DIR [--mode cold|hot] [--iters N]
#       on the GPU machine: writes random weights for the libraries, times
#       them, then PyTorch's fp16 matmul on the same shapes where PyTorch
#       sees the GPU, and prints the RESULT lines and the tables of
#       bench/summarize.py (results in DIR/results.txt).
#   bench/gpu.sh all DIR ...   both steps, where one machine has both.
set -eu
cd "$(dirname "$0")/.."
usage() {
  echo "usage: bench/gpu.sh prepare|run|all DIR [options]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
step="$1"
dir="$2"
shift 2
chip=sm_90
shapes="gemv gemm"
dtypes="f32 w8a8 w4a16-g32 w4a16-g128"
mode=cold
iters=200
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu-chip) chip="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --dtypes) dtypes="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    *) echo "bench/gpu.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

prepare() {
  scripts/build.sh >/dev/null
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  /usr/bin/python3 bench/make_models.py --out "$dir" --target cuda \
    --gpu-chip "$chip" --shapes $shapes --dtypes $dtypes >/dev/null
  # The libraries alone travel: sources, objects and weights stay here.
  rm -rf "$dir"/*.src "$dir"/*.o "$dir"/*.c "$dir"/*.h "$dir"/*.safetensors
  cp build/bin/lattice-gpu-bench "$dir/"
  set -- "$dir"/*_m*_n*_k*.so
  omp=$(ldd "$1" | awk '/libomp/ { print $3 }')
  [ -z "$omp" ] || cp "$omp" "$dir/"
  echo "bench/gpu.sh: $# libraries for $chip in $dir"
}

run() {
  python="${PYTHON:-python3}"
  command -v nvidia-smi >/dev/null &&
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  # The libraries link the OpenMP runtime that travelled beside them.
  LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
  "$python" bench/make_models.py --out "$dir" --weights-only >/dev/null
  results="$dir/results.txt"
  "$dir/lattice-gpu-bench" --mode="$mode" --iters="$iters" \
    "$dir"/*_m*_n*_k*.so > "$results"
  # shellcheck disable=SC2086
  "$python" bench/gpu_torch.py --mode "$mode" --iters "$iters" \
    --shapes $shapes >> "$results"
  cat "$results"
  "$python" bench/summarize.py "$results"
}

case "$step" in
  prepare) prepare ;;
  run) run ;;
  all) prepare; run ;;
  *) usage ;;
esac
