#!/usr/bin/python3
"""Load a package in the sandbox, run forward() there, and compare with an in-process run.

Usage: sandbox_forward.py PACKAGE.pt [--trust DIR] [--policy P] [--resource model/model.pkl]
                          [--mode exec|forkserver]

The package is read once and verified in this process (signature with --trust, then the policy);
only then does a locked-down sealpkg-worker import and unpickle it. The model stays in the worker:
`forward` is called over IPC with a tensor argument (sent as a sealed memfd) and the output comes
back as a tensor (zero copy). The same package is then loaded in-process with
sealpkg.PackageImporter and run on the same input; the outputs must be equal.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

import sealpkg
import sealpkg.sandbox as sandbox


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--trust", help="trust store directory (signature checked first)")
    parser.add_argument("--policy", default="builtin:torchvision")
    parser.add_argument("--resource", default="model/model.pkl")
    parser.add_argument("--mode", default="exec", choices=["exec", "forkserver"])
    args = parser.parse_args()
    package, _, resource = args.resource.rpartition("/")

    torch.manual_seed(0)
    x = torch.randn(2, 3, 224, 224)

    t0 = time.perf_counter()
    with sandbox.open(args.package, policy=args.policy, trust=args.trust, mode=args.mode) as box:
        t_verified = time.perf_counter()
        model = box.load(package, resource)
        t_loaded = time.perf_counter()
        y_box = model.forward(x)
        t_forward = time.perf_counter()
        layers = box.isolation or {}
        pid = box.pid
    active = ", ".join(k for k, v in sorted(layers.items()) if v is True)
    print(f"  verified in the parent: {t_verified - t0:.3f} s; worker pid {pid} "
          f"({args.mode} mode) loaded {model.type_name} in {t_loaded - t_verified:.3f} s")
    print(f"  isolation layers active: {active}")
    print(f"  forward() in the sandbox: {t_forward - t_loaded:.3f} s -> "
          f"{tuple(y_box.shape)} {y_box.dtype}")

    importer = sealpkg.PackageImporter(args.package, policy=args.policy, trust=args.trust)
    m = importer.load_pickle(package, resource)
    m.eval()
    with torch.no_grad():
        y_local = m(x)
    same = torch.equal(y_box, y_local)
    # The worker runs oneDNN-free (no executable memory) on one thread: summation order differs.
    close = same or torch.allclose(y_box, y_local, rtol=1e-4, atol=1e-5)
    diff = (y_box - y_local).abs().max().item()
    print(f"  in-process output {'identical' if same else 'allclose' if close else 'DIFFERENT'}"
          f" (max |diff| {diff:.3g})")
    return 0 if close else 1


if __name__ == "__main__":
    sys.exit(main())
