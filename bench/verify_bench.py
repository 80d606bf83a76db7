#!/usr/bin/python3
"""Benchmark: static verification of torchvision packages vs a pure-Python pickletools walk.

For each package (stock torch.package archives of torchvision models), both sides start from
the archive bytes in memory, in the same run:

  sealpkg      sealpkg.verify(bytes, policy="builtin:torchvision"): strict ZIP validation,
               every record classified by content, every pickle run through the symbolic
               machine (stack, memo, calls), every source tokenized and scanned, the policy
               applied (names, calls, storages vs records, externs, SHA-256 source pins)
  pickletools  zipfile + pickletools.genops over the .pkl records only (a walk of the opcodes,
               what picklescan-style tools do), nothing else

The ratio pickletools/sealpkg (> 1: sealpkg faster) is printed. Goal: >= 20x while doing more.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/verify_bench.py [--corpus DIR] [--repeat 3]
        [--models resnet18,vit_b_16,...] [--json]
"""
from __future__ import annotations

import argparse
import io
import json
import pickletools
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, List

import sealpkg

DEFAULT_MODELS = ["resnet18", "mobilenet_v3_small", "vit_b_16", "efficientnet_b0",
                  "fasterrcnn_mobilenet_v3_large_320_fpn", "swin_t", "convnext_tiny", "raft_small"]


def packages_from(corpus: Path) -> List[Path]:
    return sorted(p for p in corpus.glob("*.pt"))


def build_packages(models: List[str], out: Path) -> List[Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
    from torchvision_corpus import build_model, export_package  # noqa: E402

    paths = []
    for name in models:
        path = out / f"{name}.pt"
        export_package(path, build_model(name))
        paths.append(path)
    return paths


def sealpkg_verify(blobs: Dict[str, bytes]) -> int:
    findings = 0
    for name, data in blobs.items():
        report = sealpkg.verify(data, policy="builtin:torchvision", name=name)
        if not report.accepted:
            raise SystemExit(f"{name} rejected: {report.to_text()}")
        findings += len(report.findings)
    return findings


def pickles_of(blobs: Dict[str, bytes]) -> Dict[str, bytes]:
    out = {}
    for name, data in blobs.items():
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if info.filename.endswith(".pkl"):
                    out[f"{name}:{info.filename}"] = z.read(info)
    return out


def sealpkg_pickles(pickles: Dict[str, bytes]) -> None:
    # Outside their archive the pickles' storage ids have no records (storage-mismatch
    # findings); everything else (machine, names, calls, rules) runs exactly as in a package.
    for name, data in pickles.items():
        sealpkg.verify(data, policy="builtin:torchvision", name=name)


def genops_walk(pickles: Dict[str, bytes]) -> int:
    ops = 0
    for data in pickles.values():
        for _ in pickletools.genops(data):
            ops += 1
    return ops


def pickletools_walk(blobs: Dict[str, bytes]) -> int:
    ops = 0
    for data in blobs.values():
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if info.filename.endswith(".pkl"):
                    for _ in pickletools.genops(z.read(info)):
                        ops += 1
    return ops


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_of(fn: Callable[[], object], repeat: int) -> float:
    return min(timed(fn) for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="directory of packages (*.pt)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="models to package when no --corpus is given")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sealpkg-verify-bench-") as tmp:
        paths = (packages_from(args.corpus) if args.corpus
                 else build_packages(args.models.split(","), Path(tmp)))
        blobs = {p.name: p.read_bytes() for p in paths}
    pickle_bytes = 0
    sources = 0
    for data in blobs.values():
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            pickle_bytes += sum(i.file_size for i in z.infolist() if i.filename.endswith(".pkl"))
            sources += sum(1 for i in z.infolist() if i.filename.endswith(".py"))
    ops = pickletools_walk(blobs)
    pickles = pickles_of(blobs)
    # The first pass scans every packaged source; later passes find torchvision's sources in
    # sealpkg's scan cache (keyed by SHA-256), as a scan of many packages does.
    t_sealpkg_cold = timed(lambda: sealpkg_verify(blobs))
    t_sealpkg = best_of(lambda: sealpkg_verify(blobs), args.repeat)
    t_pickletools = best_of(lambda: pickletools_walk(blobs), args.repeat)
    t_sealpkg_pickles = best_of(lambda: sealpkg_pickles(pickles), args.repeat)
    t_genops = best_of(lambda: genops_walk(pickles), args.repeat)
    result = {
        "packages": len(blobs),
        "archive_mb": round(sum(map(len, blobs.values())) / 2**20, 1),
        "pickle_kb": round(pickle_bytes / 1024, 1),
        "pickle_opcodes": ops,
        "sources": sources,
        "sealpkg_cold_s": round(t_sealpkg_cold, 4),
        "sealpkg_s": round(t_sealpkg, 4),
        "pickletools_s": round(t_pickletools, 4),
        "ratio_pickletools_over_sealpkg": round(t_pickletools / t_sealpkg, 2),
        "ratio_cold": round(t_pickletools / t_sealpkg_cold, 2),
        "sealpkg_pickles_only_s": round(t_sealpkg_pickles, 4),
        "genops_pickles_only_s": round(t_genops, 4),
        "ratio_pickles_only": round(t_genops / t_sealpkg_pickles, 2),
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{result['packages']} packages ({result['archive_mb']} MB; "
              f"{result['pickle_kb']} KiB of pickles, {ops} opcodes; {sources} sources)")
        print(f"sealpkg verify, first pass (every source scanned): {t_sealpkg_cold:.4f} s")
        print(f"sealpkg verify (zip + pickles + sources + policy): {t_sealpkg:.4f} s")
        print(f"pickletools.genops walk (pickles only):            {t_pickletools:.4f} s")
        print(f"pickletools/sealpkg = {result['ratio_pickletools_over_sealpkg']}x "
              f"(> 1 means sealpkg is faster; goal >= 20x)")
        print(f"same pickles only: sealpkg machine + policy {t_sealpkg_pickles:.4f} s, "
              f"pickletools.genops {t_genops:.4f} s: {result['ratio_pickles_only']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
