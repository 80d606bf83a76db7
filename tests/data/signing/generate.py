#!/usr/bin/env python3
"""Fixtures for tests/signing (run with /usr/bin/python3, which has torch 1.13).

    /usr/bin/python3 tests/data/signing/generate.py [--check]

stock_small.pt: a package written by STOCK torch.package.PackageExporter (miniz layout: data
descriptors, 'FB' padding, ZIP64 end records) holding one interned module, one pickle that uses
it, a tensor storage and a text resource. The signing tests sign it, check that every original
byte is kept, and load the signed copy back in stock torch. --check regenerates in memory and
exits 1 if the committed file differs.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

MODULE = '''\
def answer() -> int:
    return 42


class Box:
    def __init__(self, value):
        self.value = value
'''


def build() -> bytes:
    import torch
    from torch.package import PackageExporter

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "sealpkg_fixture_mod.py")
        with open(src, "w") as f:
            f.write(MODULE)
        sys.path.insert(0, tmp)
        try:
            import sealpkg_fixture_mod  # noqa: F401  (module is packaged from source)

            buf = io.BytesIO()
            with PackageExporter(buf) as exp:
                exp.intern("sealpkg_fixture_mod")
                exp.save_pickle("data", "box.pkl",
                                sealpkg_fixture_mod.Box({"w": torch.arange(8, dtype=torch.float32)}))
                exp.save_text("res", "info.txt", "signed fixture\n")
            return buf.getvalue()
        finally:
            sys.path.remove(tmp)
            sys.modules.pop("sealpkg_fixture_mod", None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    data = build()
    path = os.path.join(HERE, "stock_small.pt")
    if args.check:
        with open(path, "rb") as f:
            if f.read() != data:
                print(f"{path} differs from what generate.py writes", file=sys.stderr)
                return 1
        return 0
    with open(path, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
