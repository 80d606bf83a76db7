#!/usr/bin/env bash
# Configures and builds sealpkg. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Default BUILD_DIR is ./build (Release-with-debug-info, Python module on).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift || true
cmake -S "$root" -B "$build" -G Ninja -DPython_EXECUTABLE=/usr/bin/python3 "$@" >/dev/null
ninja -C "$build" -j2
