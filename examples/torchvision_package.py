#!/usr/bin/python3
"""Package a torchvision model with *stock* torch.package, the way researchers do today.

Usage: torchvision_package.py OUT.pt [--model resnet18]

The model is built with random weights (weights=None, seed 0: no download needed); its
torchvision code is interned, so the archive is a complete, realistic torch.package.
"""
from __future__ import annotations

import argparse

import torch
import torchvision
from torch.package import PackageExporter

# Third-party modules torchvision imports are taken from the host (extern); `sys` and `io` are
# stdlib modules torch.package will not extern implicitly; torchvision.extension finds the
# compiled ops through its own __file__, so it must come from the host too. Datasets and video
# IO are never used by a model: mock them.
EXTERN = ["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**", "typing_extensions", "sys",
          "io", "torchvision.extension"]
MOCK = ["torchvision.io.**", "torchvision.datasets.**"]


def package_model(out: str, model_name: str) -> None:
    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    with PackageExporter(out) as exporter:
        # Patterns match in the order declared: keep mocked/externed parts out of the intern.
        exporter.intern("torchvision.**", exclude=MOCK + ["torchvision.extension"])
        exporter.extern(EXTERN)
        exporter.mock(MOCK)
        exporter.save_pickle("model", "model.pkl", model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="archive to write")
    parser.add_argument("--model", default="resnet18", help="torchvision.models constructor")
    args = parser.parse_args()
    package_model(args.out, args.model)


if __name__ == "__main__":
    main()
