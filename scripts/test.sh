#!/usr/bin/env bash
#===- test.sh - Build Lattice and run every test --------------------------===//
#
# The README's test command. Installs what is missing, builds, runs the whole
# suite (lit FileCheck/diagnostic tests and the GoogleTest unit tests, through
# `check-lattice`) and ends with one summary line:
#   N passed, N failed[, N skipped]
# Exits non-zero when anything failed or nothing ran.
#
#===----------------------------------------------------------------------===//
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}

"$root/scripts/build.sh" "$build"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ninja -C "$build" check-lattice 2>&1 | tee "$log" || status=$?

# lit's summary: "  Passed: N (..%)", "  Failed: N", "  Unsupported: N", ...
count() {
  local n
  n=$(sed -n "s/^ *$1: *\([0-9]*\).*/\1/p" "$log" | tail -n 1)
  echo "${n:-0}"
}
passed=$(( $(count Passed) + $(count "Expectedly Failed") ))
failed=$(( $(count Failed) + $(count "Unexpectedly Passed") + $(count Unresolved) + $(count "Timed Out") ))
skipped=$(( $(count Unsupported) + $(count Excluded) + $(count Skipped) ))

if [[ $status -ne 0 && $failed -eq 0 ]]; then
  # The build or lit itself failed before reporting results.
  failed=1
fi
line="$passed passed, $failed failed"
[[ $skipped -gt 0 ]] && line="$line, $skipped skipped"
echo "$line"
[[ $failed -eq 0 && $passed -gt 0 ]]
