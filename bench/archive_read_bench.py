#!/usr/bin/env python3
"""Benchmark: open + index + read every entry of a torch.package archive.

Compares, on one package written by stock torch.package (default: torchvision's vit_b_16,
~330 MB), best-of-N wall time of

  sealpkg view   sealpkg.ArchiveReader + view() of STORED records (zero-copy, CRC-checked)
                 and read() of DEFLATE ones
  sealpkg read   sealpkg.ArchiveReader + read() of every record (copies, CRC-checked)
  (sealpkg open) sealpkg.ArchiveReader + entries() only: a breakdown, not compared
  zipfile        zipfile.ZipFile + read() of every entry (copies, CRC-checked)
  torch          torch._C.PyTorchFileReader + get_record() of every record (copies; torch
                 1.13's miniz is built without CRC checks)

Each tool runs in its own fresh interpreter (so peak RSS is per tool), warms up once, then
runs N timed passes. Every pass keeps all record bytes alive until it ends, as loading a
model does. The file is read once beforehand so every tool reads from the page cache.
Ratios > 1 mean sealpkg is faster.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/archive_read_bench.py [--repeat 5]
        [--model vit_b_16 | --package PATH] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

TOOLS = ["sealpkg_view", "sealpkg_read", "zipfile", "torch", "sealpkg_open"]
LABELS = {
    "sealpkg_open": "(sealpkg open only)",
    "sealpkg_view": "sealpkg view()",
    "sealpkg_read": "sealpkg read()",
    "zipfile": "zipfile read()",
    "torch": "torch get_record()",
}


def _setup_sealpkg_path() -> None:
    build = os.environ.get("SEALPKG_BUILD_DIR")
    if build:
        sys.path.insert(0, str(Path(build) / "python"))


def _max_rss_mb() -> float:
    """Peak RSS of this process image. Linux's getrusage() ru_maxrss survives exec() and so
    would include the driver's footprint; VmHWM in /proc/self/status does not."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ---------------------------------------------------------------------------------------------
# Workers: one pass = open + index + read every entry; returns (entries, bytes, keep-alive)


def _pass_sealpkg_view(path: str) -> Tuple[int, int, list]:
    import sealpkg

    reader = sealpkg.ArchiveReader(path)
    kept = []
    total = 0
    for entry in reader.entries():
        if entry["method"] == "stored":
            data = reader.view(entry["record"])
            total += data.nbytes
        else:
            data = reader.read(entry["record"])
            total += len(data)
        kept.append(data)
    return len(kept), total, [reader, kept]


def _pass_sealpkg_open(path: str) -> Tuple[int, int, list]:
    """Open + index only: the snapshot into sealed memory and the validation (a breakdown)."""
    import sealpkg

    reader = sealpkg.ArchiveReader(path)
    entries = reader.entries()
    return len(entries), sum(e["size"] for e in entries), [reader]


def _pass_sealpkg_read(path: str) -> Tuple[int, int, list]:
    import sealpkg

    reader = sealpkg.ArchiveReader(path)
    kept = [reader.read(record) for record in reader.records()]
    return len(kept), sum(len(b) for b in kept), kept


def _pass_zipfile(path: str) -> Tuple[int, int, list]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        kept = [zf.read(info) for info in zf.infolist()]
    return len(kept), sum(len(b) for b in kept), kept


def _pass_torch(path: str) -> Tuple[int, int, list]:
    import torch

    reader = torch._C.PyTorchFileReader(path)
    kept = [reader.get_record(record) for record in reader.get_all_records()]
    return len(kept), sum(len(b) for b in kept), kept


PASSES: Dict[str, Callable[[str], Tuple[int, int, list]]] = {
    "sealpkg_view": _pass_sealpkg_view,
    "sealpkg_read": _pass_sealpkg_read,
    "sealpkg_open": _pass_sealpkg_open,
    "zipfile": _pass_zipfile,
    "torch": _pass_torch,
}


def run_worker(tool: str, path: str, repeat: int) -> Dict[str, Any]:
    _setup_sealpkg_path()
    # Import what the tool needs before measuring the baseline.
    if tool.startswith("sealpkg"):
        import sealpkg  # noqa: F401
    elif tool == "torch":
        import torch  # noqa: F401
    else:
        import zipfile  # noqa: F401
    baseline = _max_rss_mb()
    fn = PASSES[tool]
    entries, nbytes, kept = fn(path)  # warm-up
    del kept
    times: List[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        entries, nbytes, kept = fn(path)
        times.append(time.perf_counter() - t0)
        del kept
    return {"tool": tool, "times_s": times, "entries": entries, "bytes": nbytes,
            "rss_baseline_mb": baseline, "rss_peak_mb": _max_rss_mb()}


# ---------------------------------------------------------------------------------------------
# Driver


def make_package(model_name: str, target: Path) -> None:
    """Write ``model_name`` (torchvision, random weights) with stock torch.package."""
    import torch
    import torchvision
    from torch.package import PackageExporter

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    with PackageExporter(str(target)) as exp:
        exp.intern("torchvision.**")
        exp.extern(["numpy.**", "scipy.**", "PIL.**", "sympy.**", "typing_extensions", "sys"])
        exp.save_pickle("model", "model.pkl", model)


def warm_page_cache(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_tool(tool: str, path: Path, repeat: int) -> Dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", tool, "--package", str(path),
           "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"worker {tool} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(results: Dict[str, Dict[str, Any]], path: Path, repeat: int,
              model: str) -> Dict[str, Any]:
    counts = {(r["entries"], r["bytes"]) for r in results.values()}
    if len(counts) != 1:
        raise SystemExit(f"tools disagree on entries/bytes: {counts}")
    (entries, nbytes), = counts
    best = {t: min(r["times_s"]) for t, r in results.items()}
    out: Dict[str, Any] = {
        "package": str(path),
        "model": model,
        "file_size": path.stat().st_size,
        "entries": entries,
        "bytes": nbytes,
        "repeat": repeat,
        "python": platform.python_version(),
        "tools": {},
        "ratios": {},
    }
    for tool, r in results.items():
        out["tools"][tool] = {
            "best_s": best[tool],
            "median_s": statistics.median(r["times_s"]),
            "times_s": r["times_s"],
            "throughput_mb_s": nbytes / best[tool] / 1e6,
            "rss_baseline_mb": r["rss_baseline_mb"],
            "rss_peak_mb": r["rss_peak_mb"],
        }
    for other in ("zipfile", "torch"):
        out["ratios"][f"{other}/sealpkg"] = best[other] / best["sealpkg_view"]
        out["ratios"][f"{other}/sealpkg_read"] = best[other] / best["sealpkg_read"]
    return out


def print_table(s: Dict[str, Any]) -> None:
    print(f"package: {s['package']} ({s['model']}, {s['file_size'] / 1e6:.1f} MB, "
          f"{s['entries']} entries, {s['bytes'] / 1e6:.1f} MB of record data)")
    print(f"open + index + read every entry, best of {s['repeat']} (page cache warm)\n")
    print(f"{'tool':<20} {'best s':>9} {'median s':>9} {'MB/s':>9} {'peak RSS MB':>12} "
          f"{'(+ over imports)':>17}")
    for tool in TOOLS:
        t = s["tools"][tool]
        print(f"{LABELS[tool]:<20} {t['best_s']:>9.3f} {t['median_s']:>9.3f} "
              f"{t['throughput_mb_s']:>9.0f} {t['rss_peak_mb']:>12.0f} "
              f"{t['rss_peak_mb'] - t['rss_baseline_mb']:>+17.0f}")
    r = s["ratios"]
    print(f"\nzipfile/sealpkg = {r['zipfile/sealpkg']:.2f}x   torch/sealpkg = "
          f"{r['torch/sealpkg']:.2f}x   (sealpkg view(); >1 means sealpkg is faster)")
    print(f"zipfile/sealpkg read() = {r['zipfile/sealpkg_read']:.2f}x   torch/sealpkg read() = "
          f"{r['torch/sealpkg_read']:.2f}x")


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", type=Path, help="reuse this package instead of writing one")
    ap.add_argument("--model", default="vit_b_16", help="torchvision model to package "
                    "(default: vit_b_16)")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per tool (best of N)")
    ap.add_argument("--json", action="store_true", help="print a JSON report instead")
    ap.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    if args.worker:
        print(json.dumps(run_worker(args.worker, str(args.package), args.repeat)))
        return 0

    with tempfile.TemporaryDirectory(prefix="sealpkg-bench-") as tmp:
        if args.package is not None:
            path, model = args.package, "given"
        else:
            path, model = Path(tmp) / f"{args.model}.pt", args.model
            t0 = time.perf_counter()
            make_package(args.model, path)
            if not args.json:
                print(f"wrote {path} with torch.package in {time.perf_counter() - t0:.1f} s",
                      file=sys.stderr)
        warm_page_cache(path)
        results = {tool: run_tool(tool, path, args.repeat) for tool in TOOLS}
        summary = summarize(results, path, args.repeat, model)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
