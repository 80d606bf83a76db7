#!/usr/bin/env bash
# Checks that sealpkg installs and works from its installed locations only.
#   scripts/check-install.sh BUILD_DIR     (a configured and built tree, e.g. build/)
# 1. cmake --build the installed targets (headers come from the source tree: they must match
#    the libraries), cmake --install BUILD_DIR into a temporary prefix: the expected files, no
#    internal or third-party headers, every installed header compiles on its own against the
#    installed include dir only.
# 2. examples/cpp_consumer, copied out of the repository, configured with find_package(sealpkg)
#    against that prefix, built and run: accept a weights-only torch.save file, reject a
#    pickle that calls os.getcwd, verify a detached signature made by the installed CLI and
#    reject it on a one-byte-tampered copy; the installed Python package imports and exports;
#    the installed CLI runs a sandboxed load through libexec/sealpkg/sealpkg-worker.
# 3. pip install --no-build-isolation --no-index (offline) into a fresh venv made with
#    /usr/bin/python3 -m venv --system-site-packages, reusing BUILD_DIR
#    (SEALPKG_CMAKE_BUILD_DIR); then, from a folder outside the repository: import sealpkg from
#    the venv, export + import a tiny package, verify, the worker next to the module, a
#    sandboxed load through it, the `sealpkg` CLI in the venv's bin/.
# Ends with one line: "check-install: PASS (N checks)" or "check-install: FAIL: ...".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: scripts/check-install.sh BUILD_DIR}"
build="$(cd "$build" && pwd)"
python=/usr/bin/python3
work="$(mktemp -d /tmp/sealpkg-check-install.XXXXXX)"
# Run as root, the sandbox worker drops to an unprivileged uid and must still read the installed
# Python package: mktemp's 0700 would hide the venv from it.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
checks=0

fail() {
  echo "check-install: FAIL: $*"
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "  ok  $*"
}
# expect_exit CODE LOG -- CMD...: runs CMD, output to LOG, fails unless it exits with CODE.
expect_exit() {
  local want="$1" log="$2"
  shift 3
  "$@" >"$log" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    cat "$log"
    fail "exit $got (expected $want): $*"
  fi
}

# Headers install from the source tree, libraries from BUILD_DIR: bring what is installed up to
# date first, or a header edited since the last build would not match its library.
echo "== cmake --build $build (installed targets)"
cmake --build "$build" --target sealpkg_core sealpkg_archive sealpkg_verifier sealpkg_signing \
  sealpkg_loader sealpkg_sandbox sealpkg_cli sealpkg_worker sealpkg_python >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; fail "cmake --build $build"; }
echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "cmake --install"; }
pydir="$(cmake -L -N "$build" 2>/dev/null | sed -n 's/^SEALPKG_INSTALL_PYTHONDIR:STRING=//p')"
for f in bin/sealpkg libexec/sealpkg/sealpkg-worker lib/libsealpkg_core.a \
  lib/libsealpkg_archive.a lib/libsealpkg_verifier.a lib/libsealpkg_signing.a \
  lib/libsealpkg_loader.a lib/libsealpkg_sandbox.a lib/cmake/sealpkg/sealpkgConfig.cmake \
  lib/cmake/sealpkg/sealpkgConfigVersion.cmake lib/cmake/sealpkg/sealpkgTargets.cmake \
  lib/cmake/sealpkg/sealpkgSandboxTargets.cmake include/sealpkg/core/status.h \
  include/sealpkg/verifier/package_verifier.h include/sealpkg/signing/verify_package.h \
  "$pydir/sealpkg/__init__.py" "$pydir/sealpkg/sealpkg-worker"; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ -x "$prefix/libexec/sealpkg/sealpkg-worker" ] || fail "worker not executable"
ls "$prefix/$pydir"/sealpkg/_native*.so >/dev/null 2>&1 || fail "not installed: _native"
ok "installed layout (bin/sealpkg, libexec/sealpkg/sealpkg-worker, 6 static libraries, headers, CMake package, $pydir/sealpkg)"

if find "$prefix/include" -path '*internal*' | grep -q .; then
  fail "internal headers installed: $(find "$prefix/include" -path '*internal*' | head -3)"
fi
if grep -rn '#include.*internal/' "$prefix/include" >"$work/internal.txt"; then
  cat "$work/internal.txt"
  fail "an installed header includes an internal header"
fi
# Third-party types stay out of the public API (CONVENTIONS.md item 8).
if grep -rnE '#include *[<"](pybind11/|Python\.h|openssl/|zip\.h|zlib\.h|seccomp\.h|boost/)' \
  "$prefix/include" >"$work/thirdparty.txt"; then
  cat "$work/thirdparty.txt"
  fail "an installed header includes a third-party header"
fi
headers=("$prefix"/include/sealpkg/*/*.h)
# One translation unit per header, including it the way a consumer does.
printf '%s\n' "${headers[@]#"$prefix/include/sealpkg/"}" | xargs -P 2 -I{} sh -c \
  'echo "#include \"{}\"" | c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$1" -x c++ - ||
   { echo "in {}"; exit 1; }' sh "$prefix/include/sealpkg" \
  >"$work/headers.log" 2>&1 || { cat "$work/headers.log"; fail "an installed header does not compile on its own"; }
ok "${#headers[@]} installed headers, none internal or third-party, each compiles alone against $prefix/include/sealpkg"

echo "== examples/cpp_consumer against the installed package"
cp -r "$root/examples/cpp_consumer" "$work/consumer-src"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$work/consumer-src" -B "$work/consumer" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" 2>&1 &&
  cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 ||
  { cat "$work/consumer.log"; fail "consumer configure/build"; }
if grep -rIq -- "$root/" "$work/consumer"; then  # text files: the build rules, not debug info
  fail "the consumer build refers to the source tree $root"
fi
ok "consumer configured (find_package(sealpkg)) and built against $prefix only"

mkdir -p "$work/data"
cd "$work/data" || fail "cd $work/data"
"$python" - <<'EOF' || fail "making the test inputs"
import pickle, torch
torch.save({"weight": torch.ones(2, 3), "bias": torch.zeros(3)}, "weights.pt")
# A plain pickle whose load would call os.getcwd(): harmless, and never run here.
with open("hostile.pkl", "wb") as f:
    f.write(b"\x80\x02cos\ngetcwd\n)R.")
EOF
consumer="$work/consumer/sealpkg-consumer"
expect_exit 0 "$work/c1.log" -- "$consumer" weights.pt
grep -q "decision: ACCEPT weights.pt under builtin:weights-only" "$work/c1.log" || fail "consumer accept output"
ok "consumer accepts a torch.save state dict under builtin:weights-only"
expect_exit 1 "$work/c2.log" -- "$consumer" hostile.pkl
grep -q "os.getcwd" "$work/c2.log" && grep -q "decision: REJECT" "$work/c2.log" || { cat "$work/c2.log"; fail "consumer reject output"; }
ok "consumer rejects a pickle calling os.getcwd (finding names os.getcwd)"

sealpkg="$prefix/bin/sealpkg"
expect_exit 0 "$work/k.log" -- "$sealpkg" keygen -o signer
expect_exit 0 "$work/s.log" -- "$sealpkg" sign weights.pt --key signer.pem --detached
[ -f weights.pt.sig ] || fail "installed CLI wrote no weights.pt.sig"
expect_exit 0 "$work/c3.log" -- "$consumer" weights.pt --key signer.pub.pem --sig weights.pt.sig
grep -q "signature: OK (detached)" "$work/c3.log" || { cat "$work/c3.log"; fail "consumer signature output"; }
cp weights.pt tampered.pt
"$python" -c "
import sys; b = bytearray(open('tampered.pt','rb').read()); b[len(b)//2] ^= 1
open('tampered.pt','wb').write(b)"
cp weights.pt.sig tampered.pt.sig
expect_exit 1 "$work/c4.log" -- "$consumer" tampered.pt --key signer.pub.pem --sig tampered.pt.sig
grep -q "signature: REJECTED (detached)" "$work/c4.log" || { cat "$work/c4.log"; fail "tampered signature output"; }
ok "installed CLI keygen + sign --detached; consumer verifies the signature and rejects a tampered copy"
expect_exit 0 "$work/v.log" -- "$sealpkg" verify weights.pt --policy builtin:weights-only
ok "installed CLI verify accepts weights.pt"
expect_exit 0 "$work/p.log" -- env PYTHONPATH="$prefix/$pydir" "$python" -c "
import sealpkg, sealpkg.sandbox as s
assert sealpkg.__file__.startswith('$prefix/'), sealpkg.__file__
assert s.worker_path() == '$prefix/$pydir/sealpkg/sealpkg-worker', s.worker_path()
assert sealpkg.verify('weights.pt', policy='builtin:weights-only').accepted
import torch
with sealpkg.PackageExporter('tiny.pt') as exp:
    exp.save_pickle('res', 'obj.pkl', {'weight': torch.arange(6.0).reshape(2, 3), 'n': 3})"
ok "Python package from cmake --install imports, verifies and exports (worker next to it)"
# The installed CLI finds libexec/sealpkg/sealpkg-worker itself; outside /usr/local the worker
# is told where the installed Python package is.
expect_exit 0 "$work/l.log" -- env SEALPKG_PYTHONPATH="$prefix/$pydir" \
  "$sealpkg" load tiny.pt --policy builtin:torchvision --resource res/obj.pkl
ok "installed CLI load: sandboxed load through $prefix/libexec/sealpkg/sealpkg-worker"

echo "== pip install --no-build-isolation --no-index into a venv (reusing $build)"
"$python" -m venv --system-site-packages "$work/venv" >"$work/venv.log" 2>&1 ||
  { cat "$work/venv.log"; fail "python3 -m venv --system-site-packages"; }
cd "$root" || fail "cd $root"
SEALPKG_CMAKE_BUILD_DIR="$build" PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$work/venv/bin/pip" install --no-build-isolation --no-index "$root" >"$work/pip.log" 2>&1 ||
  { tail -40 "$work/pip.log"; fail "pip install --no-build-isolation --no-index"; }
ok "pip install --no-build-isolation --no-index . into a --system-site-packages venv"
cd "$work/data" || fail "cd $work/data"
expect_exit 0 "$work/py.log" -- "$work/venv/bin/python" - <<EOF
import os, sys, torch
import sealpkg
from sealpkg import sandbox
venv = "$work/venv/"
assert sealpkg.__file__.startswith(venv), sealpkg.__file__
assert sealpkg._native.__file__.startswith(venv), sealpkg._native.__file__
worker = sandbox.worker_path()
assert worker == os.path.join(os.path.dirname(sealpkg.__file__), "sealpkg-worker"), worker
assert os.access(worker, os.X_OK), worker
with sealpkg.PackageExporter("tiny.pt") as exp:
    exp.save_pickle("res", "obj.pkl", {"weight": torch.arange(6.0).reshape(2, 3), "n": 3})
loaded = sealpkg.PackageImporter("tiny.pt").load_pickle("res", "obj.pkl")
assert loaded["n"] == 3 and torch.equal(loaded["weight"], torch.arange(6.0).reshape(2, 3))
report = sealpkg.verify("tiny.pt", policy="builtin:torchvision")
assert report.accepted, report.findings
assert not sealpkg.verify("hostile.pkl", policy="builtin:weights-only").accepted
box = sandbox.open("tiny.pt", policy="builtin:torchvision")
try:
    boxed = box.load_pickle("res", "obj.pkl")
except sandbox.SandboxError as e:
    print("worker output:", e.outcome.get("output", "")[-3000:], file=sys.stderr)
    raise
assert boxed["n"] == 3 and torch.equal(boxed["weight"], loaded["weight"]), boxed
print("python checks passed:", sealpkg.__file__, worker)
EOF
ok "venv: import sealpkg from the venv, PackageExporter/PackageImporter, verify, worker next to _native, sandboxed load"
[ -x "$work/venv/bin/sealpkg" ] || fail "no sealpkg in the venv's bin/"
expect_exit 0 "$work/v2.log" -- "$work/venv/bin/sealpkg" verify tiny.pt --policy builtin:torchvision
expect_exit 0 "$work/v3.log" -- "$work/venv/bin/sealpkg" --version
ok "venv: bin/sealpkg $(cat "$work/v3.log") verifies tiny.pt"

echo "check-install: PASS ($checks checks)"
