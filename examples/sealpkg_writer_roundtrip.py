#!/usr/bin/python3
"""Write a package with sealpkg's C++ writer, then load it with *stock* torch.package.

Usage: sealpkg_writer_roundtrip.py OUT.pt

The archive holds a module, a text resource, a pickle and the framework records torch
expects. Stock torch.package.PackageImporter imports the module and unpickles the data,
which shows that sealpkg's archives are drop-in compatible.
"""
from __future__ import annotations

import pickle
import platform
import sys

from torch.package import PackageImporter

import sealpkg

MODULE = '''\
"""A tiny packaged module."""
GREETING = "hello from a sealpkg-written package"


def scale(values, factor):
    return [v * factor for v in values]
'''


def write(out: str) -> None:
    with sealpkg.ArchiveWriter(out) as writer:
        writer.write_record("demo/__init__.py", b"")
        writer.write_record("demo/tools.py", MODULE.encode())
        writer.write_record("demo/notes.txt", b"written by sealpkg\n")
        writer.write_record("demo/config.pkl", pickle.dumps({"factor": 3, "labels": ["a", "b"]}, protocol=3))
        writer.write_record(".data/extern_modules", b"\n")
        writer.write_record(".data/python_version", platform.python_version().encode())
        writer.write_record(".data/version", b"6\n")


def load_with_stock_torch(path: str) -> None:
    importer = PackageImporter(path)
    tools = importer.import_module("demo.tools")
    config = importer.load_pickle("demo", "config.pkl")
    print(f"  stock torch imported {tools.__name__}: {tools.GREETING!r}")
    print(f"  load_pickle -> {config}; scale([1, 2], factor) -> {tools.scale([1, 2], config['factor'])}")
    print(f"  load_text   -> {importer.load_text('demo', 'notes.txt')!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write(sys.argv[1])
    load_with_stock_torch(sys.argv[1])
