#!/usr/bin/env bash
# clang-tidy (the committed .clang-tidy) over sealpkg's library and CLI sources, as CI runs it.
#
#   scripts/clang-tidy.sh BUILD_DIR [COMPONENT...]
#
# BUILD_DIR is a configured build tree (its compile_commands.json: CMAKE_EXPORT_COMPILE_COMMANDS
# is on; use the release tree, which has the Python module and the worker). COMPONENTs default
# to every component folder; tests/, fuzz/ and bench/ are not checked. Runs
# $SEALPKG_TIDY_JOBS (default: nproc) clang-tidy processes; exits 1 on any finding.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [COMPONENT...]" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
shift
components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(core archive verifier signing loader sandbox cli python)
jobs="${SEALPKG_TIDY_JOBS:-$(nproc)}"
tidy="$(command -v clang-tidy-14 || command -v clang-tidy)"
runner="$(command -v run-clang-tidy-14 || command -v run-clang-tidy)"
[[ -f $build/compile_commands.json ]] || { echo "clang-tidy.sh: no $build/compile_commands.json" >&2; exit 2; }

# The translation units of those components, from the compilation database (generated sources
# in the build tree are not ours to lint).
mapfile -t files < <(/usr/bin/python3 - "$build/compile_commands.json" "$root" "${components[@]}" <<'PY'
import json, os, sys
db, root, comps = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3:]
seen = set()
for entry in json.load(open(db)):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if rel.split(os.sep)[0] in comps and path not in seen:
        seen.add(path)
        print(path)
PY
)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "clang-tidy.sh: no sources of ${components[*]} in $build/compile_commands.json" >&2
  exit 2
fi
# Headers are checked through the sources that include them, for the same components only.
header_filter="^$root/($(IFS='|'; echo "${components[*]}"))/[^/]*(/internal/[^/]*)?\\.h\$"
echo "clang-tidy: ${#files[@]} sources of ${components[*]}, $jobs jobs ($("$tidy" --version | sed -n 's/.*version //p' | head -1))"
# run-clang-tidy takes regexes: anchor each path.
regexes=()
for f in "${files[@]}"; do regexes+=("^$(printf '%s' "$f" | sed 's/[.[\*^$()+?{|]/\\&/g')\$"); done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
"$runner" -clang-tidy-binary "$tidy" -p "$build" -j "$jobs" -quiet -header-filter "$header_filter" \
  "${regexes[@]}" >"$log" 2>&1
status=$?
set -e
sed -i 's/\x1b\[[0-9;]*m//g' "$log"  # run-clang-tidy asks for colour even into a file
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter=|^Use -system-headers|^Running clang-tidy|^clang-tidy-14 .* -quiet ' "$log" || true
if [[ $status -ne 0 ]]; then
  echo "clang-tidy: findings in $(grep -c -E ': (warning|error): ' "$log") places (exit $status)"
  exit 1
fi
echo "clang-tidy: clean"
