#!/usr/bin/env bash
# Runs libFuzzer targets for `make fuzz`: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Each BUILD_DIR/TARGET_fuzzer runs for SECONDS over its scratch corpus
# BUILD_DIR/corpus/TARGET (where new inputs go, kept between runs) and the checked-in
# tests/fuzz/corpus/TARGET (only read). Crashes, leaks, timeouts and out-of-memory
# inputs land in BUILD_DIR/crashes/TARGET/, logs in BUILD_DIR/logs/. A dictionary from
# tests/fuzz/dict/ guides the mutations where one exists. Ends with a table
# of libFuzzer's statistics per target (crashes: the inputs this run saved, which
# -fork=1 -ignore_crashes=1 lets it go past); exit 1 if any target failed.
# FUZZ_ARGS adds libFuzzer flags (later flags win), e.g. FUZZ_ARGS=-max_len=100000.
set -u
build=$1 seconds=$2
shift 2
mkdir -p "$build/logs"
declare -A result execs rate added cov corp rss saved
failed=()
for t in "$@"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  log=$build/logs/$t.log
  case $t in
    manifest | token | envelope | harbor | saved_plan | state) dict=tests/fuzz/dict/json.dict ;;
    *) dict=tests/fuzz/dict/$t.dict ;;
  esac
  dict_flag=()
  [ -f "$dict" ] && dict_flag=(-dict="$dict")
  echo "make fuzz: $t for ${seconds}s (log: $log)"
  marker=$(mktemp)  # what the crashes folder holds newer than this, this run saved
  # -timeout: any input parsed for 20 s is a hang; -rss_limit_mb: libFuzzer's default.
  # shellcheck disable=SC2086
  "$build/${t}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
    -rss_limit_mb=2048 -artifact_prefix="$build/crashes/$t/" "${dict_flag[@]}" ${FUZZ_ARGS:-} \
    "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs[$t]=$(stat number_of_executed_units)
  rate[$t]=$(stat average_exec_per_sec)
  if [ -z "${execs[$t]}" ]; then  # -fork=N prints no final stats: its last status line
    execs[$t]=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    rate[$t]=$(grep -o 'exec/s:\{0,1\} [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  fi
  saved[$t]=$(find "$build/crashes/$t" -type f -newer "$marker" | wc -l)
  rm -f "$marker"
  added[$t]=$(stat new_units_added)
  rss[$t]=$(stat peak_rss_mb)
  cov[$t]=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp[$t]=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -eq 0 ]; then
    result[$t]=ok
  else
    result[$t]="FAILED ($rc)"
    failed+=("$t")
    grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written to|ALARM|out-of-memory' "$log" |
      head -5 | sed "s/^/  $t: /"
  fi
done

echo
printf '%-12s %-11s %13s %9s %6s %7s %7s %8s %7s\n' target result executions exec/s cov corpus \
  "new" "RSS MB" crashes
for t in "$@"; do
  printf '%-12s %-11s %13s %9s %6s %7s %7s %8s %7s\n' "$t" "${result[$t]}" "${execs[$t]:--}" \
    "${rate[$t]:--}" "${cov[$t]:--}" "${corp[$t]:--}" "${added[$t]:--}" "${rss[$t]:--}" \
    "${saved[$t]}"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "make fuzz: ${failed[*]} failed. Inputs are in $build/crashes/<target>/; reproduce with"
  echo "  $build/<target>_fuzzer FILE   (or build/asan/fuzz/<target>_replay FILE, built by make test)"
  echo "then reduce with -minimize_crash=1 -runs=100000 and add the reproducer to tests/fuzz/corpus/<target>/."
  exit 1
fi
