#!/usr/bin/env python3
"""Benchmark: load a model package with stock torch.package vs sealpkg.PackageImporter.

The package is torchvision's vit_b_16 with random weights (~330 MB), written by *stock*
torch.package (examples/torchvision_package.py's configuration) into a temporary folder, or
taken from $SEALPKG_CORPUS_DIR/vit_b_16.pt when that exists (the benign corpus). Then, for
each loader, N fresh interpreters each do, timed from before the importer is made:

    importer = PackageImporter(path); model = importer.load_pickle("model", "model.pkl")

and report the wall time of that, the peak RSS at that point and the peak RSS after one forward
pass (VmHWM of the child's own image; getrusage ru_maxrss, taken at exit, is reported in --json
too, but on Linux it survives exec() and so can include the parent's footprint). sealpkg maps
the weights and faults them in when first used, so the RSS after a forward pass (every weight
read by both loaders) is the fair memory comparison; the one at load is shown too. Before each child runs, the file is read once so both loaders start from a warm
page cache. The child then runs the model on a fixed input (not timed): every loader must give the same
output. Ratios > 1 mean sealpkg is faster / smaller.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/load_bench.py [--repeat 5]
        [--model vit_b_16 | --package PATH] [--policy builtin:torchvision] [--json]

``--policy`` adds a third loader: sealpkg with ``policy=`` (the verifier runs over the loaded
bytes first).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, time
loader, path, policy = sys.argv[1], sys.argv[2], sys.argv[3]
import torch
if loader == "torch":
    from torch.package import PackageImporter
    kwargs = {}
else:
    from sealpkg import PackageImporter
    kwargs = {"policy": policy} if policy else {}
rss_before = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmRSS:"):
            rss_before = int(line.split()[1])
t0 = time.perf_counter()
importer = PackageImporter(path, **kwargs)
model = importer.load_pickle("model", "model.pkl")
elapsed = time.perf_counter() - t0
hwm = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
torch.manual_seed(0)
with torch.no_grad():
    out = model.eval()(torch.randn(1, 3, 224, 224))
assert torch.isfinite(out).all()
hwm_end = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm_end = int(line.split()[1])
params = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"seconds": elapsed, "vmhwm_kb": hwm, "vmhwm_end_kb": hwm_end,
                  "rss_before_kb": rss_before,
                  "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "param_bytes": params, "out_sum": float(out.sum())}))
"""


def make_package(model: str, folder: Path) -> Path:
    corpus = os.environ.get("SEALPKG_CORPUS_DIR")
    if corpus and (Path(corpus) / f"{model}.pt").is_file():
        return Path(corpus) / f"{model}.pt"
    out = folder / f"{model}.pt"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "torchvision_package.py"), str(out),
         "--model", model],
        check=True,
    )
    return out


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_child(loader: str, path: Path, policy: str) -> Dict[str, Any]:
    warm(path)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, loader, str(path), policy],
        check=True, capture_output=True, text=True, env=os.environ.copy(),
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(runs: List[Dict[str, Any]]) -> Dict[str, float]:
    seconds = [r["seconds"] for r in runs]
    return {
        "best_s": min(seconds),
        "median_s": statistics.median(seconds),
        "peak_rss_mb": max(r["vmhwm_kb"] for r in runs) / 1024.0,
        "peak_rss_after_forward_mb": max(r["vmhwm_end_kb"] for r in runs) / 1024.0,
        "rss_before_mb": statistics.median(r["rss_before_kb"] for r in runs) / 1024.0,
        "ru_maxrss_mb": max(r["ru_maxrss_kb"] for r in runs) / 1024.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default="vit_b_16")
    parser.add_argument("--package", help="an existing package (must hold model/model.pkl)")
    parser.add_argument("--policy", default="", help="also time sealpkg with this policy=")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.package) if args.package else make_package(args.model, Path(tmp))
        loaders = [("torch", ""), ("sealpkg", "")]
        if args.policy:
            loaders.append(("sealpkg+policy", args.policy))
        runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name, _ in loaders}
        # Interleaved, so drifting machine load hits every loader alike.
        for _ in range(args.repeat):
            for name, policy in loaders:
                runs[name].append(run_child(name.split("+")[0], path, policy))
        sums = {r["out_sum"] for rs in runs.values() for r in rs}
        if len(sums) != 1:
            raise SystemExit(f"loaders disagree on the model's output: {sums}")
        result = {name: summarize(rs) for name, rs in runs.items()}
        size = path.stat().st_size
        param_mb = runs["torch"][0]["param_bytes"] / 2**20

    torch_r, seal_r = result["torch"], result["sealpkg"]
    ratios = {
        "time_best": torch_r["best_s"] / seal_r["best_s"],
        "time_median": torch_r["median_s"] / seal_r["median_s"],
        "peak_rss": torch_r["peak_rss_mb"] / seal_r["peak_rss_mb"],
        "peak_rss_after_forward": torch_r["peak_rss_after_forward_mb"]
        / seal_r["peak_rss_after_forward_mb"],
        "rss_growth": (torch_r["peak_rss_mb"] - torch_r["rss_before_mb"])
        / max(seal_r["peak_rss_mb"] - seal_r["rss_before_mb"], 1e-9),
    }
    if args.json:
        print(json.dumps({"package": str(path), "bytes": size, "param_mb": param_mb,
                          "repeat": args.repeat, "results": result, "ratios": ratios}, indent=2))
        return
    print(f"package {path} ({size / 2**20:.1f} MiB, parameters {param_mb:.1f} MiB), "
          f"{args.repeat} fresh interpreters per loader")
    print(f"{'loader':<16}{'best s':>9}{'median s':>10}{'RSS before':>12}"
          f"{'peak@load':>11}{'growth':>9}{'peak@forward':>14}   (MiB)")
    for name, r in result.items():
        print(f"{name:<16}{r['best_s']:>9.3f}{r['median_s']:>10.3f}{r['rss_before_mb']:>12.1f}"
              f"{r['peak_rss_mb']:>11.1f}{r['peak_rss_mb'] - r['rss_before_mb']:>9.1f}"
              f"{r['peak_rss_after_forward_mb']:>14.1f}")
    print(f"torch / sealpkg: time {ratios['time_best']:.2f}x (best), "
          f"{ratios['time_median']:.2f}x (median); peak RSS at load {ratios['peak_rss']:.2f}x, "
          f"after a forward pass {ratios['peak_rss_after_forward']:.2f}x; "
          f"RSS growth while loading {ratios['rss_growth']:.2f}x")


if __name__ == "__main__":
    main()
