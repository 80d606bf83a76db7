#!/usr/bin/env bash
# Reproduce, minimize and file a fuzzer finding as a regression input.
#
#   fuzz/scripts/triage.sh BUILD_DIR TARGET ARTIFACT [NAME]
#
# 1. reproduces ARTIFACT with BUILD_DIR/fuzz/TARGET_fuzzer (fails if it no longer crashes);
# 2. minimizes crashes (-minimize_crash=1); timeouts, OOMs and leaks are kept as they are;
# 3. copies the result to fuzz/regressions/TARGET/<NAME or date>-<kind>-<sha1 prefix>, where
#    ctest (fuzz_replay.TARGET, fuzz_regress.TARGET) replays it from now on.
# Then add a focused unit test for the exact Status and fix the bug. Never delete regressions.
set -euo pipefail

if [[ $# -lt 3 || $# -gt 4 ]]; then
  echo "usage: $0 BUILD_DIR TARGET ARTIFACT [NAME]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
target=$2
artifact=$3
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$build/fuzz/${target}_fuzzer
[[ -x $bin ]] || { echo "triage: $bin is missing" >&2; exit 2; }
[[ -f $artifact ]] || { echo "triage: $artifact is not a file" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

kind=crash
case $(basename "$artifact") in
  *timeout-*) kind=timeout ;;
  *oom-*) kind=oom ;;
  *leak-*) kind=leak ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "=== reproduce ($kind)"
if "$bin" -timeout=10 -rss_limit_mb=2048 "$artifact" >"$work/repro.log" 2>&1; then
  cat "$work/repro.log"
  echo "triage: $artifact does not reproduce" >&2
  exit 1
fi
grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$work/repro.log" | head -n 40 || true

result=$artifact
if [[ $kind == crash ]]; then
  echo "=== minimize"
  "$bin" -minimize_crash=1 -runs=20000 -timeout=10 -exact_artifact_path="$work/min" \
    "$artifact" >"$work/min.log" 2>&1 || true
  [[ -s $work/min ]] && result=$work/min
  # Keep the minimized input only if it still fails.
  if [[ $result != "$artifact" ]] && "$bin" -timeout=10 "$result" >/dev/null 2>&1; then
    result=$artifact
  fi
fi

sha=$(sha1sum "$result" | cut -c1-12)
dest=$fuzz_dir/regressions/$target/${4:-$(date +%Y%m%d)}-$kind-$sha
mkdir -p "$(dirname "$dest")"
cp "$result" "$dest"
echo "=== filed $dest ($(stat -c %s "$dest") bytes), base64:"
base64 -w 76 "$dest" | head -n 100
