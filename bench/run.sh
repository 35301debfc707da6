#!/bin/sh
# Builds Lattice, compiles the benchmark kernels (bench/make_models.py) for
# each thread count and times them with lattice-bench, next to a DRAM read
# probe and an FMA peak probe taken in the same run. Prints the RESULT
# lines, then a table of ratios (bench/summarize.py).
#
#   bench/run.sh [--threads "2 1"] [--mode cold|hot] [--shapes "gemv gemm"]
#                [--dtypes "f32 w8a8 w4a16-g32 w4a16-g128"]
#
# Kernels are cached in $LATTICE_BENCH_WORK (default: a folder under the
# temporary directory), per thread count, and remade when lattice-compile or
# the runtime is newer than they are.
set -eu
cd "$(dirname "$0")/.."
threads="2 1"
mode=cold
shapes="gemv gemm"
dtypes="f32 w8a8 w4a16-g32 w4a16-g128"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --dtypes) dtypes="$2"; shift 2 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
work="${LATTICE_BENCH_WORK:-${TMPDIR:-/tmp}/lattice-bench}"
scripts/build.sh >/dev/null
results="$work/results.txt"
mkdir -p "$work"
: > "$results"
for t in $threads; do
  # shellcheck disable=SC2086
  libraries=$(/usr/bin/python3 bench/make_models.py --out "$work/t$t" \
    --threads "$t" --shapes $shapes --dtypes $dtypes)
  # shellcheck disable=SC2086
  build/bin/lattice-bench --threads="$t" --mode="$mode" $libraries \
    --benchmark_min_time=1 | tee -a "$results"
done
/usr/bin/python3 bench/summarize.py "$results"
