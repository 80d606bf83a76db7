#!/usr/bin/env bash
# Time-boxed fuzzing of every target (CI and local use).
#
#   fuzz/scripts/run_fuzzers.sh BUILD_DIR [SECONDS]      # BUILD_DIR configured with -DSEALPKG_FUZZ=ON
#
# SECONDS per target defaults to $SEALPKG_FUZZ_SECONDS, else 60. FUZZ_TARGETS="glob" limits the
# run to some targets; FUZZ_JOBS=N fuzzes N targets at a time (default 1; CI uses one per core:
# each target still gets SECONDS of wall time, on a core of its own). Reports are printed per
# target, in target order, once all have finished. New inputs go to BUILD_DIR/fuzz-scratch/<t> (listed first, so libFuzzer
# never writes into fuzz/corpus); crashes go to BUILD_DIR/fuzz-artifacts/<t>-*. Exits 1 on any
# non-zero fuzzer exit or any artifact, printing the artifact's path and base64 content.
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
secs=${2:-${SEALPKG_FUZZ_SECONDS:-60}}
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(dirname "$fuzz_dir")
targets=${FUZZ_TARGETS:-$(cd "$fuzz_dir/targets" && ls -- *_fuzzer.cc | sed 's/_fuzzer\.cc$//')}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

# "key = value" lines of the [libfuzzer] section -> "-key=value".
options_to_flags() {
  [[ -f $1 ]] || return 0
  awk '/^\[/ { on = ($0 == "[libfuzzer]"); next }
       on && /=/ { k = $0; sub(/=.*/, "", k); v = $0; sub(/^[^=]*=/, "", v);
                   gsub(/[ \t]/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v); print "-" k "=" v }' "$1"
}

art=$build/fuzz-artifacts
mkdir -p "$art" "$build/fuzz-logs"
for t in $targets; do
  if [[ ! -x $build/fuzz/${t}_fuzzer ]]; then
    echo "run_fuzzers: $build/fuzz/${t}_fuzzer is missing (configure with -DSEALPKG_FUZZ=ON and build)" >&2
    exit 2
  fi
done

# fuzz_one TARGET: fuzzes it; its report goes to fuzz-logs/TARGET.report, its one-line summary
# to fuzz-logs/TARGET.summary, "ok" or "failed" to fuzz-logs/TARGET.status.
fuzz_one() {
  local t=$1
  local bin=$build/fuzz/${t}_fuzzer
  local scratch=$build/fuzz-scratch/$t
  local log=$build/fuzz-logs/$t.log
  local out=$build/fuzz-logs/$t
  mkdir -p "$scratch" "$fuzz_dir/regressions/$t"
  rm -f "$art/$t"-*
  local dirs=("$scratch" "$fuzz_dir/corpus/$t" "$fuzz_dir/regressions/$t")
  # Extra read-only seeds: the golden malformed inputs of the component under test.
  case $t in
    zip_reader) [[ -d $repo/tests/data/malformed/archive ]] && dirs+=("$repo/tests/data/malformed/archive") ;;
  esac
  local flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
               -artifact_prefix="$art/$t-")
  [[ -f $fuzz_dir/dicts/$t.dict ]] && flags+=(-dict="$fuzz_dir/dicts/$t.dict")
  local opts
  mapfile -t opts < <(options_to_flags "$fuzz_dir/options/$t.options")
  {
    echo "=== $t: ${secs}s, ${opts[*]}"
    timeout --kill-after=30 $((secs + 120)) "$bin" "${flags[@]}" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
    local rc=$?
    grep -E '^(INFO: Seed:|#[0-9]+[[:space:]]+DONE|==[0-9]+==ERROR|SUMMARY:|Done [0-9]+ runs)' "$log" || true
    local execs per_sec cov corpus artifacts status=ok
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    corpus=$(find "$scratch" -type f | wc -l)
    artifacts=$(find "$art" -maxdepth 1 -type f -name "$t-*" | sort)
    echo ok >"$out.status"
    if [[ $rc -ne 0 || -n $artifacts ]]; then
      status="FAILED (exit $rc)"
      echo failed >"$out.status"
      echo "--- $t: last lines of $log"
      tail -n 60 "$log"
      for a in $artifacts; do
        echo "--- artifact: $a ($(stat -c %s "$a") bytes), base64:"
        base64 -w 76 "$a" | head -n 400
      done
    fi
    printf '%-18s %s  execs=%s  exec/s=%s  %s  new_units=%s\n' \
      "$t" "$status" "${execs:-?}" "${per_sec:-?}" "${cov:-cov: ?}" "$corpus" >"$out.summary"
  } >"$out.report" 2>&1
}

parallel=${FUZZ_JOBS:-1}
for t in $targets; do
  rm -f "$build/fuzz-logs/$t.status" "$build/fuzz-logs/$t.summary" "$build/fuzz-logs/$t.report"
  while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do wait -n; done
  fuzz_one "$t" &
done
wait

failed=0
summary=()
for t in $targets; do
  cat "$build/fuzz-logs/$t.report" 2>/dev/null
  if [[ "$(cat "$build/fuzz-logs/$t.status" 2>/dev/null)" != ok ]]; then
    failed=1
  fi
  summary+=("$(cat "$build/fuzz-logs/$t.summary" 2>/dev/null || echo "$t FAILED (no result)")")
done

echo "=== summary (${secs}s per target, $parallel at a time; scratch corpus in $build/fuzz-scratch)"
printf '%s\n' "${summary[@]}"
exit $failed
