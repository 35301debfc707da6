#!/usr/bin/env bash
#===- test.sh - Build Lattice and run every test --------------------------===//
#
# The README's test command. Installs what is missing, then builds and runs
# the whole suite (lit FileCheck/diagnostic tests and the GoogleTest unit
# tests, through `check-lattice`) twice: in the release build (build/) and in
# an AddressSanitizer + UBSan build of our code (build-sanitize/, which also
# runs the parser fuzzer); then the Python tests with pytest. Ends with one
# summary line over all runs:
#   N passed, N failed[, N skipped]
# Exits non-zero when anything failed or nothing ran.
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.."; pwd)

passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count NAME: the number on lit's "  NAME: N (..%)" summary line, or 0 (lit
# pads the names to one width: "  Passed     : N").
count() {
  local n
  n=$(sed -n "s/^ *$1 *: *\([0-9]*\).*/\1/p" "$log" | tail -n 1)
  echo "${n:-0}"
}

# run_suite BUILD_DIR [extra cmake args...]: builds and runs check-lattice,
# adding lit's counts to the totals.
run_suite() {
  local build=$1 status=0
  shift
  echo "== $(basename "$build"): build and check-lattice"
  { "$root/scripts/build.sh" "$build" "$@" &&
      ninja -C "$build" check-lattice; } >"$log" 2>&1 || status=$?
  cat "$log"
  local p f
  p=$(( $(count Passed) + $(count "Expectedly Failed") ))
  f=$(( $(count Failed) + $(count "Unexpectedly Passed") + $(count Unresolved) + $(count "Timed Out") ))
  # A build or lit failure that reported no failing test still fails.
  if [[ $status -ne 0 && $f -eq 0 ]]; then
    f=1
  fi
  passed=$(( passed + p ))
  failed=$(( failed + f ))
  skipped=$(( skipped + $(count Unsupported) + $(count Excluded) + $(count Skipped) ))
}

# run_pytest: the Python tests (reference implementation, later the Python
# API), with Debian's interpreter, which has numpy and pytest.
run_pytest() {
  local status=0 summary n
  echo "== python: pytest"
  LATTICE_BUILD_DIR="$root/build" \
    /usr/bin/python3 -m pytest "$root/python/tests" -q -p no:cacheprovider \
    >"$log" 2>&1 || status=$?
  cat "$log"
  summary=$(tail -n 1 "$log")
  for kind in passed failed error skipped; do
    n=$(echo "$summary" | grep -o "[0-9]* $kind" | grep -o "[0-9]*" || true)
    n=${n:-0}
    case $kind in
      passed) passed=$(( passed + n )) ;;
      failed | error) failed=$(( failed + n )) ;;
      skipped) skipped=$(( skipped + n )) ;;
    esac
  done
  # pytest exits 5 when it collected nothing: that counts as a failure too.
  if [[ $status -ne 0 && ! "$summary" =~ (failed|error) ]]; then
    failed=$(( failed + 1 ))
  fi
}

run_suite "$root/build"
run_suite "$root/build-sanitize" -DLATTICE_ENABLE_SANITIZERS=ON
run_pytest

line="$passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then
  line="$line, $skipped skipped"
fi
echo "$line"
[[ $failed -eq 0 && $passed -gt 0 ]]
