#!/usr/bin/env bash
# Runs each GoogleTest binary given, under the sanitizers' strict settings, and ends
# with the line "N passed, N failed" summed over all of them. Exit 1 on any failure,
# sanitizer report or crash.
set -u
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87:${UBSAN_OPTIONS:-}"
passed=0; failed=0; broken=0
for bin in "$@"; do
  log=$(mktemp)
  "$bin" --gtest_color=no 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
    echo "run_all: $bin exited $rc without a test summary (crash or sanitizer report)"
    broken=1
  fi
  rm -f "$log"
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
