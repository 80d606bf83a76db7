#!/usr/bin/python3
"""Benchmark: verifying a signed vit_b_16-sized package vs `openssl dgst -sha256` of the file.

The package is a stock torch.package export of torchvision vit_b_16 with random weights
(~347 MB), cached under <build>/bench-cache/. It is signed (embedded, ECDSA P-256) with a fresh
key registered in a temporary trust store, then, in the same run and from a warm page cache:

  openssl      `openssl dgst -sha256 FILE` (one thread: what hashing the file costs)
  sealpkg -j1  sealpkg.verify_signature(path, trust=..., threads=1): read the file once into
               sealed memory, strict ZIP parse, bundle + DSSE signature against the trust store,
               statement, SHA-256 of every entry, layout and central-directory digests
  sealpkg -jN  the same with every core hashing
  in-memory    the same over bytes already in memory (no file read), one thread

Each is best of --repeat. Ratios are sealpkg time / openssl time (goal: <= 1.2x on one thread).

    PYTHONPATH=<build>/python /usr/bin/python3 bench/sign_verify_bench.py [--repeat 5]
        [--model vit_b_16] [--package PKG] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict

import sealpkg


def build_dir() -> Path:
    # <build>/python/sealpkg/__init__.py -> <build>
    return Path(sealpkg.__file__).resolve().parents[2]


def cached_package(model: str) -> Path:
    cache = build_dir() / "bench-cache"
    cache.mkdir(exist_ok=True)
    path = cache / f"{model}.pt"
    if not path.exists():
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
        from torchvision_corpus import build_model, export_package  # noqa: E402

        tmp = path.with_suffix(".tmp")
        export_package(tmp, build_model(model))
        os.replace(tmp, path)
    return path


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="vit_b_16")
    ap.add_argument("--package", type=Path, help="use this package instead of exporting one")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    source = args.package or cached_package(args.model)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = sealpkg.keygen()
        signer = sealpkg.keygen()
        store = sealpkg.TrustStore.init(tmp / "trust", root_keys=[root])
        store.add(signer.public_key, role="package-signer", root_keys=[root])
        pkg = tmp / source.name
        shutil.copy(source, pkg)
        t0 = time.perf_counter()
        sealpkg.sign(pkg, signer)
        sign_s = time.perf_counter() - t0
        size = pkg.stat().st_size
        trust = tmp / "trust"

        def openssl() -> None:
            subprocess.run(["openssl", "dgst", "-sha256", str(pkg)], check=True,
                           stdout=subprocess.DEVNULL)

        def verify(threads: int) -> Callable[[], object]:
            return lambda: sealpkg.verify_signature(pkg, trust=trust, threads=threads)

        data = pkg.read_bytes()

        def verify_bytes() -> None:
            sealpkg.verify_signature(data, trust=trust, threads=1)

        openssl()  # warm the page cache
        verify(1)()
        results: Dict[str, float] = {
            "openssl": best(openssl, args.repeat),
            "sealpkg_1_thread": best(verify(1), args.repeat),
            "sealpkg_all_threads": best(verify(0), args.repeat),
            "sealpkg_in_memory_1_thread": best(verify_bytes, args.repeat),
        }
    base = results["openssl"]
    out = {
        "package": str(source),
        "bytes": size,
        "cores": os.cpu_count(),
        "sign_seconds": sign_s,
        "seconds": results,
        "ratio_vs_openssl": {k: v / base for k, v in results.items() if k != "openssl"},
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{source.name}: {size / 1e6:.1f} MB, {os.cpu_count()} cores, signed in {sign_s:.2f} s")
    for k, v in results.items():
        ratio = "" if k == "openssl" else f"  {v / base:.2f}x openssl"
        print(f"  {k:28s} {v:7.3f} s  {size / v / 1e9:5.2f} GB/s{ratio}")


if __name__ == "__main__":
    main()
