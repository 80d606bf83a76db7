#!/usr/bin/env python3
"""Benchmark: export torchvision models with sealpkg.PackageExporter vs stock torch.package.

For each model (default resnet50 and vit_b_16, random weights, seed 0) and each tool, a fresh
interpreter builds the model once (not timed), exports it once to warm up, then times N exports
to a file in a temporary folder (same folder, same page cache), best of N. Same packaging
configuration for both tools (torchvision interned, its optional and IO modules externed or
mocked, as tests/python/torchvision_corpus.py does); sealpkg runs with
unresolved_imports="warn" so it skips the optional `accimage` import as stock torch does and
both write the same package. sealpkg's time includes its temporary file,
fsync and atomic rename; "+sign" signs it at close (`signing_key=`, an Ed25519 key made in
the worker, embedded signature) and "+policy" verifies the (unsigned) archive with
builtin:torchvision before publishing it (signed + policy is not measured: the built-in
policy does not yet allow the signature entry). Ratio = sealpkg / stock: <= 1.0 means sealpkg is as
fast or faster.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/export_bench.py [--models resnet50,vit_b_16]
        [--repeat 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Dict

TOOLS = ["stock", "sealpkg", "sealpkg+sign", "sealpkg+policy"]
TESTS_DIR = Path(__file__).resolve().parents[1] / "tests" / "python"


def _worker(tool: str, model_name: str, repeat: int, out_dir: str) -> Dict[str, Any]:
    sys.path.insert(0, str(TESTS_DIR))
    import torch
    from torchvision_corpus import EXTERN, EXTERN_TORCHVISION, MOCK, build_model

    if tool == "stock":
        from torch.package import PackageExporter

        kwargs: Dict[str, Any] = {}
    else:
        from sealpkg import PackageExporter

        warnings.simplefilter("ignore")  # the skipped optional import
        kwargs = {"unresolved_imports": "warn"}
        if "+sign" in tool:
            from sealpkg.signing import keygen

            kwargs["signing_key"] = keygen(algorithm="ed25519")
        if "+policy" in tool:
            kwargs["policy"] = "builtin:torchvision"
    torch.set_num_threads(1)
    model = build_model(model_name)
    path = os.path.join(out_dir, f"{model_name}.{tool.replace('+', '_')}.pt")

    def export() -> float:
        start = time.perf_counter()
        with PackageExporter(path, **kwargs) as e:
            e.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
            e.extern(EXTERN + EXTERN_TORCHVISION)
            e.mock(MOCK)
            e.save_pickle("model", "model.pkl", model)
        return time.perf_counter() - start

    export()  # warm-up: imports, linecache of torchvision's sources, page cache
    times = [export() for _ in range(repeat)]
    size = os.path.getsize(path)
    os.unlink(path)
    return {"tool": tool, "model": model_name, "times": times, "best": min(times), "bytes": size}


def _run_tool(tool: str, model: str, repeat: int, out_dir: str) -> Dict[str, Any]:
    env = dict(os.environ)
    cmd = [sys.executable, __file__, "--worker", tool, "--models", model, "--repeat", str(repeat),
           "--out-dir", out_dir]
    result = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,vit_b_16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]

    if args.worker:
        print(json.dumps(_worker(args.worker, models[0], args.repeat, args.out_dir)))
        return 0

    rows = []
    with tempfile.TemporaryDirectory(prefix="sealpkg-export-bench-") as out_dir:
        for model in models:
            results = {tool: _run_tool(tool, model, args.repeat, out_dir) for tool in TOOLS}
            stock = results["stock"]["best"]
            for tool in TOOLS:
                r = results[tool]
                r["ratio"] = r["best"] / stock
                rows.append(r)
    if args.json:
        print(json.dumps({"python": platform.python_version(), "rows": rows}, indent=1))
        return 0
    print(f"export benchmark: best of {args.repeat}, one interpreter per tool and model "
          f"(Python {platform.python_version()}, {os.cpu_count()} CPUs)")
    print(f"{'model':<12} {'tool':<16} {'best s':>8} {'MB':>8} {'sealpkg/stock':>14}")
    for r in rows:
        ratio = "" if r["tool"] == "stock" else f"{r['ratio']:.2f}x"
        print(f"{r['model']:<12} {r['tool']:<16} {r['best']:8.3f} {r['bytes'] / 1e6:8.1f} "
              f"{ratio:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
