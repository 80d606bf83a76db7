#!/usr/bin/python3
"""A script written for torch.package, run with sealpkg by changing one import line.

Usage: importer_dropin.py PACKAGE.pt [--resource model/model.pkl] [--policy builtin:torchvision]

PACKAGE.pt is any model package written by stock torch.package (e.g. by
examples/torchvision_package.py). The model is loaded once with `import sealpkg as package` and
once with stock torch.package, run on the same random image batch, and the outputs are compared
with torch.allclose. The loading code is the same for both: only the import differs.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Any

import torch


def load_and_run(package: Any, path: str, resource: str, x: torch.Tensor, **kwargs: Any) -> Any:
    # --- the torch.package user code, unchanged ---
    importer = package.PackageImporter(path, **kwargs)
    module_name, _, pickle_name = resource.rpartition("/")
    model = importer.load_pickle(module_name.replace("/", "."), pickle_name)
    model.eval()
    with torch.no_grad():
        out = model(x)
    print(f"{package.__name__:>14}: {type(model).__name__} from {importer.id()}, "
          f"is_from_package={package.is_from_package(model)}")
    return out


def flat(out: Any) -> list:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for v in out.values() for t in flat(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in flat(v)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--resource", default="model/model.pkl")
    parser.add_argument("--policy", help="sealpkg only: verify with this policy first")
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(2, 3, 224, 224)
    package = importlib.import_module("sealpkg")  # i.e. `import sealpkg as package`
    extra = {"policy": args.policy} if args.policy else {}
    ours = flat(load_and_run(package, args.package, args.resource, x, **extra))
    stock = flat(load_and_run(importlib.import_module("torch.package"), args.package,
                              args.resource, x))
    same = len(ours) == len(stock) and all(torch.allclose(a, b) for a, b in zip(ours, stock))
    print("outputs equal (torch.allclose):", same)
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
