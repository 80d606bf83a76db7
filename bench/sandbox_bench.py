#!/usr/bin/env python3
"""Benchmark: sandboxed loading (sealpkg.sandbox) vs in-process stock torch.package, same run.

The package is torchvision's resnet50 with random weights, written by *stock* torch.package
into a temporary folder. Measured, N times each, interleaved, from a warm page cache:

  stock        a fresh interpreter times `import torch` + PackageImporter(path).load_pickle(...)
               (+ one forward pass for the forward baseline): what an unsandboxed load costs a
               new process
  exec         sealpkg.sandbox.open(path, policy="builtin:torchvision") (read + verify here) and
               state_dict() in a freshly exec'd worker (interpreter + torch import + load +
               tensors back zero-copy); and load() + forward(x) + close() in a session worker
  forkserver   the same through a warm sealpkg.sandbox.ForkServer (started and used once before
               timing): each load is a forked, locked-down child

Medians are printed with the ratios sandbox/stock (goals in issue 7: exec <= 1.2x,
fork server <= 1.5x of import torch + in-process load).

    PYTHONPATH=<build>/python /usr/bin/python3 bench/sandbox_bench.py [--repeat 5]
        [--model resnet50] [--quick] [--json]

``--quick``: resnet18, one repetition (the ctest smoke run).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

STOCK_CHILD = r"""
import sys, time
path, forward = sys.argv[1], sys.argv[2] == "1"
t0 = time.perf_counter()
import torch
from torch.package import PackageImporter
torch.set_num_threads(1)
model = PackageImporter(path).load_pickle("model", "model.pkl")
t_load = time.perf_counter() - t0
if forward:
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
print(t_load, time.perf_counter() - t0)
"""


def write_package(model_name: str, out: Path) -> Path:
    import torch
    import torchvision
    from torch.package import PackageExporter

    path = out / f"{model_name}.pt"
    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    with PackageExporter(str(path)) as exp:
        exp.intern("torchvision.**", exclude=["torchvision.io.**", "torchvision.datasets.**",
                                               "torchvision.extension"])
        exp.extern(["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**",
                    "typing_extensions", "sys", "io", "torchvision.extension"])
        exp.mock(["torchvision.io.**", "torchvision.datasets.**"])
        exp.save_pickle("model", "model.pkl", model)
    return path


def stock(path: Path, forward: bool) -> float:
    path.read_bytes()  # warm page cache
    out = subprocess.run([sys.executable, "-c", STOCK_CHILD, str(path), "1" if forward else "0"],
                         capture_output=True, text=True, check=True)
    t_load, t_total = (float(x) for x in out.stdout.split())
    return t_total if forward else t_load


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="resnet18, one repetition (smoke)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.model, args.repeat = "resnet18", 1

    import torch

    import sealpkg.sandbox as sandbox

    torch.set_num_threads(1)
    x = torch.zeros(1, 3, 224, 224)
    limits = {"wall_time_ms": 300000}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_package(args.model, Path(tmp))
        server = sandbox.ForkServer(preload=["torchvision"], limits=limits)

        def exec_state_dict() -> None:
            box = sandbox.open(path, policy="builtin:torchvision", preload=["torchvision"],
                               limits=limits)
            assert len(box.state_dict("model", "model.pkl")) > 0

        def exec_forward() -> None:
            with sandbox.open(path, policy="builtin:torchvision", preload=["torchvision"],
                              limits=limits) as box:
                assert box.load("model", "model.pkl").forward(x).shape == (1, 1000)

        def fork_state_dict() -> None:
            box = server.open(path, policy="builtin:torchvision")
            assert len(box.state_dict("model", "model.pkl")) > 0

        def fork_forward() -> None:
            with server.open(path, policy="builtin:torchvision") as box:
                assert box.load("model", "model.pkl").forward(x).shape == (1, 1000)

        fork_state_dict()  # warm-up: the server is up and has forked once
        fork_forward()
        runs: Dict[str, List[float]] = {k: [] for k in (
            "stock_load", "stock_load_forward", "exec_state_dict", "exec_load_forward",
            "forkserver_state_dict", "forkserver_load_forward")}
        for _ in range(args.repeat):
            runs["stock_load"].append(stock(path, forward=False))
            runs["stock_load_forward"].append(stock(path, forward=True))
            runs["exec_state_dict"].append(timed(exec_state_dict))
            runs["exec_load_forward"].append(timed(exec_forward))
            runs["forkserver_state_dict"].append(timed(fork_state_dict))
            runs["forkserver_load_forward"].append(timed(fork_forward))
        server.close()

    med = {k: statistics.median(v) for k, v in runs.items()}
    ratios = {
        "exec_state_dict/stock_load": med["exec_state_dict"] / med["stock_load"],
        "exec_load_forward/stock_load_forward":
            med["exec_load_forward"] / med["stock_load_forward"],
        "forkserver_state_dict/stock_load": med["forkserver_state_dict"] / med["stock_load"],
        "forkserver_load_forward/stock_load_forward":
            med["forkserver_load_forward"] / med["stock_load_forward"],
    }
    if args.json:
        print(json.dumps({"model": args.model, "repeat": args.repeat, "runs": runs,
                          "median": med, "ratios": ratios}, indent=2))
        return 0
    print(f"sandbox bench: {args.model} (stock torch.package export), {args.repeat} run(s), "
          f"median seconds")
    for k, v in med.items():
        print(f"  {k:28s} {v:8.3f}")
    print("ratios (sandbox / stock import torch + in-process load; goals exec <= 1.2, "
          "fork server <= 1.5):")
    for k, v in ratios.items():
        print(f"  {k:44s} {v:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
