#!/usr/bin/env bash
# Runs each GoogleTest binary given, under the sanitizers' strict settings, and ends
# with the line "N passed, N failed" summed over all of them. Exit 1 on any failure,
# sanitizer report or crash.
#
# The end-to-end binary runs as RUN_ALL_E2E_SHARDS (default 3) GoogleTest shards at
# once: its tests spend most of their time waiting on registries, tokens that must
# expire and Retry-After pauses, not on the CPU, and each owns its processes, ports
# and directories. Each shard's output is printed whole once it ends.
set -u
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87:${UBSAN_OPTIONS:-}"
shards=${RUN_ALL_E2E_SHARDS:-3}
passed=0; failed=0; broken=0

# Adds LOG's summary (of BIN, which exited RC) to the totals.
count() {
  local bin=$1 log=$2 rc=$3 p f
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
    echo "run_all: $bin exited $rc without a test summary (crash or sanitizer report)"
    broken=1
  fi
}

for bin in "$@"; do
  if [[ "$bin" == *e2e_tests && "$shards" -gt 1 ]]; then
    logs=(); pids=()
    for ((i = 0; i < shards; i++)); do
      log=$(mktemp); logs+=("$log")
      GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i "$bin" --gtest_color=no > "$log" 2>&1 &
      pids+=($!)
    done
    for ((i = 0; i < shards; i++)); do
      wait "${pids[$i]}"; rc=$?
      echo "run_all: $bin shard $((i + 1))/$shards"
      cat "${logs[$i]}"
      count "$bin shard $((i + 1))/$shards" "${logs[$i]}" "$rc"
      rm -f "${logs[$i]}"
    done
    continue
  fi
  log=$(mktemp)
  "$bin" --gtest_color=no 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count "$bin" "$log" "$rc"
  rm -f "$log"
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
