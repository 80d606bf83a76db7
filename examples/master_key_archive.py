#!/usr/bin/python3
"""Build the "Master Key" archive: one ZIP, two readers, two different files.

Usage: master_key_archive.py OUT.pt

The archive holds `pkg/res/data.txt` twice. torch's reader (miniz) returns the first copy and
Python's zipfile the last, so a scanner built on one and a loader built on the other check
different bytes. sealpkg refuses the archive outright (zip.duplicate-name).
"""
from __future__ import annotations

import sys
import warnings
import zipfile


def build(out: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            z.writestr("pkg/res/data.txt", "copy A\n")
            z.writestr("pkg/res/data.txt", "copy B\n")
            z.writestr("pkg/.data/version", "6\n")
            z.writestr("pkg/z0", "")  # shifts miniz's binary search onto the first copy


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(sys.argv[1])
    import torch

    print("  torch's reader returns:  ", torch._C.PyTorchFileReader(sys.argv[1]).get_record("res/data.txt").decode().strip())
    print("  Python zipfile returns:  ", zipfile.ZipFile(sys.argv[1]).read("pkg/res/data.txt").decode().strip())
