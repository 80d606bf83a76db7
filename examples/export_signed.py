#!/usr/bin/python3
"""Package a torchvision model with sealpkg.PackageExporter and sign it at export.

Usage: export_signed.py OUT.pt --key SIGNER.pem [--model resnet18] [--version 1]

The exporter code is what a torch.package user writes (only the import differs); the archive
is torch.package-compatible (stock torch loads it) and carries an embedded signature as its last
entry. The model is built with random weights (seed 0), so nothing is downloaded.
"""
from __future__ import annotations

import argparse

import torch
import torchvision

import sealpkg as package

EXTERN = ["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**", "typing_extensions", "sys",
          "io", "torchvision.extension", "accimage"]
MOCK = ["torchvision.io.**", "torchvision.datasets.**"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="archive to write (atomically)")
    parser.add_argument("--key", required=True, help="signing key (PEM)")
    parser.add_argument("--model", default="resnet18", help="torchvision.models constructor")
    parser.add_argument("--version", type=int, default=1, help="package version (rollback mark)")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None).eval()
    with package.PackageExporter(args.out, signing_key=args.key,
                                 package_name=f"demo.{args.model}",
                                 package_version=args.version) as exporter:
        exporter.intern("torchvision.**", exclude=MOCK + ["torchvision.extension"])
        exporter.extern(EXTERN)
        exporter.mock(MOCK)
        exporter.save_pickle("model", "model.pkl", model)
    print(f"  exported {args.model} with sealpkg, signed by {args.key}")


if __name__ == "__main__":
    main()
