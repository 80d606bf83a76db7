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

# Modules torchvision imports but a packaged model does not need at load time.
EXTERN = ["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**", "typing_extensions", "sys", "io"]
MOCK = ["torchvision.io.**", "torchvision.datasets.**"]


def package_model(out: str, model_name: str) -> None:
    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    with PackageExporter(out) as exporter:
        exporter.intern("torchvision.**")
        exporter.extern(EXTERN)
        exporter.mock(MOCK)
        exporter.save_pickle("model", "model.pkl", model)
        exporter.save_text("model", "README.txt", f"{model_name}, random weights, seed 0\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="archive to write")
    parser.add_argument("--model", default="resnet18", help="torchvision.models constructor")
    args = parser.parse_args()
    package_model(args.out, args.model)


if __name__ == "__main__":
    main()
