#!/usr/bin/python3
"""Copy a package and change ONE byte in the middle of one record (a weight, by default).

Usage: tamper_copy.py IN.pt OUT.pt [--record .data/0.storage]

Stock torch.package loads the copy without noticing (the weights are mapped without a CRC
check); sealpkg's signature check names the changed record.
"""
from __future__ import annotations

import argparse

import sealpkg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--record", default=".data/0.storage")
    args = parser.parse_args()
    reader = sealpkg.ArchiveReader(args.src)
    entry = next(e for e in reader.entries() if e["record"] == args.record)
    data = bytearray(open(args.src, "rb").read())
    at = entry["data_offset"] + entry["size"] // 2
    data[at] ^= 0x01
    with open(args.dst, "wb") as f:
        f.write(data)
    print(f"  flipped one bit of {args.record} at file offset {at}")


if __name__ == "__main__":
    main()
