#!/usr/bin/env python3
"""Deterministic seed corpora for the fuzz targets (Python standard library only).

    python3 fuzz/scripts/gen_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/zip_reader/ and fuzz/corpus/glob/, each file named by the SHA-1 of its
content. Existing files are left alone (merged fuzzer finds live there too); --check only
reports which seeds are missing and exits 1 if any are.

zip_reader seeds are torch.package-shaped archives in exactly the layout of
archive/zip_writer.cc (one top-level folder, STORED data 64-byte aligned by an "FB" padding
extra, data descriptors after non-empty data, zero DOS times, a ZIP64 end record before the
classic one), a few with DEFLATE records, a few made by zipfile, and a handful of broken ones.
"""

import argparse
import hashlib
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
DESCRIPTOR_SIG = 0x08074B50
EOCD_SIG = 0x06054B50
ZIP64_EOCD_SIG = 0x06064B50
ZIP64_LOCATOR_SIG = 0x07064B50
FLAG_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800
EXTRA_PADDING = 0x4246  # "FB"
ALIGNMENT = 64


class Rec:
    """One record as the writer would emit it; fields can be overridden to break things."""

    def __init__(self, name, data, method=0, descriptor=None, pad=True, version=0):
        self.name = name.encode("utf-8")
        self.data = data
        self.method = method
        self.raw = data if method == 0 else deflate(data)
        self.crc = zlib.crc32(data)
        self.descriptor = len(self.raw) > 0 if descriptor is None else descriptor
        self.flags = FLAG_UTF8 | (FLAG_DESCRIPTOR if self.descriptor else 0)
        self.pad = pad
        self.version = version
        self.padding_byte = b"Z"
        self.central_name = None  # override the central directory name
        self.offset = 0


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def local_bytes(rec, offset):
    size_u, size_c = len(rec.data), len(rec.raw)
    head = 30 + len(rec.name) + 4
    padding = (ALIGNMENT - (offset + head) % ALIGNMENT) % ALIGNMENT if rec.pad else 0
    extra = struct.pack("<HH", EXTRA_PADDING, padding) + rec.padding_byte * padding if rec.pad else b""
    zero = rec.descriptor
    out = struct.pack(
        "<IHHHHHIIIHH", LOCAL_SIG, rec.version, rec.flags, rec.method, 0, 0,
        0 if zero else rec.crc, 0 if zero else size_c, 0 if zero else size_u,
        len(rec.name), len(extra)) + rec.name + extra + rec.raw
    if rec.descriptor:
        out += struct.pack("<IIII", DESCRIPTOR_SIG, rec.crc, size_c, size_u)
    return out


def archive(records, zip64=True, count=None, tail=b"", prefix=b""):
    """Local records, central directory, [ZIP64 end record + locator], end record."""
    body = bytearray(prefix)
    for rec in records:
        rec.offset = len(body) - len(prefix)
        body += local_bytes(rec, len(body))
    cd_offset = len(body) - len(prefix)
    cd = bytearray()
    for rec in records:
        name = rec.central_name or rec.name
        cd += struct.pack(
            "<IHHHHHHIIIHHHHHII", CENTRAL_SIG, 0, rec.version, rec.flags, rec.method, 0, 0,
            rec.crc, len(rec.raw), len(rec.data), len(name), 0, 0, 0, 0, 0, rec.offset) + name
    n = len(records) if count is None else count
    end = bytearray()
    if zip64:
        record_offset = cd_offset + len(cd)
        end += struct.pack("<IQHHIIQQQQ", ZIP64_EOCD_SIG, 44, 0x031E, 45, 0, 0, n, n, len(cd),
                           cd_offset)
        end += struct.pack("<IIQI", ZIP64_LOCATOR_SIG, 0, record_offset, 1)
    end += struct.pack("<IHHHHIIH", EOCD_SIG, 0, 0, n, n, len(cd), cd_offset, len(tail))
    return bytes(body + cd + end + tail)


def framework(prefix, externs=("torch", "builtins", "collections")):
    return [
        Rec(prefix + "/.data/extern_modules", ("\n".join(externs) + "\n").encode()),
        Rec(prefix + "/.data/python_version", b"3.11.2"),
        Rec(prefix + "/.data/version", b"6\n"),
    ]


def source(name):
    return ("import torch\nfrom . import helpers\n\n\nclass %s(torch.nn.Module):\n"
            "    def forward(self, x):\n        return x * 2\n" % name).encode()


def zipfile_archive(entries, compression):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


def zip_seeds():
    seeds = []
    data_pkl = pickle.dumps({"model": ("mod", "Net"), "weights": [1.0, 2.0]}, protocol=3)
    storage = struct.pack("<16f", *[float(i) for i in range(16)])

    # Valid, writer layout.
    seeds.append(archive([Rec("archive/.data/version", b"6\n")]))
    seeds.append(archive([Rec("archive/.data/version", b"6\n")], zip64=False))
    seeds.append(archive([Rec("m/mod.py", source("Net")), Rec("m/data.pkl", data_pkl)]
                         + framework("m")))
    seeds.append(archive([Rec("model/data.pkl", data_pkl), Rec("model/.data/0.storage", storage),
                          Rec("model/.data/1.storage", storage[:8])] + framework("model")))
    seeds.append(archive([Rec("p/res/empty.txt", b""), Rec("p/res/a.txt", b"a")]
                         + framework("p", ())))
    seeds.append(archive([Rec("pkg/r\u00e9sum\u00e9.txt", "caf\u00e9\n".encode()),
                          Rec("pkg/\u6a21\u578b/data.pkl", data_pkl)] + framework("pkg")))
    seeds.append(archive([Rec("many/d%d/r%d.txt" % (i % 3, i), b"x" * i) for i in range(20)]
                         + framework("many")))
    # TorchScript-shaped, with DEFLATE code records.
    ts = [Rec("ts/data.pkl", data_pkl),
          Rec("ts/.data/ts_code/0/data.pkl", data_pkl),
          Rec("ts/.data/ts_code/code/__torch__/m.py", source("M") * 4, method=8, version=20),
          Rec("ts/.data/ts_code/code/__torch__/m.py.debug_pkl", pickle.dumps(list(range(40))),
              method=8, version=20, descriptor=False),
          Rec("ts/.data/0.storage", storage)] + framework("ts")
    seeds.append(archive(ts))
    seeds.append(archive([Rec("d/code.py", source("D") * 8, method=8, version=20, pad=False),
                          Rec("d/.data/version", b"6\n")]))
    # An empty DEFLATE record (2 bytes of compressed data inflating to nothing).
    seeds.append(archive([Rec("e/empty.py", b"", method=8, version=20, descriptor=False),
                          Rec("e/.data/version", b"6\n")]))
    # zipfile's layout: real sizes in local headers, DOS date, no padding.
    entries = [("zf/mod.py", source("Z")), ("zf/.data/version", b"6\n")]
    seeds.append(zipfile_archive(entries, zipfile.ZIP_STORED))
    seeds.append(zipfile_archive(entries, zipfile.ZIP_DEFLATED))

    # Valid, but the last record's data holds a decoy central directory and end record (comment
    # length 0) that claim the first local header; readers that score candidate end records
    # (libzip) must still pick the real one. See regressions/zip_reader/libzip-fake-eocd-*.
    first = Rec("v/a", b"hello\n")
    decoy_cd_offset = len(local_bytes(first, 0)) + 30 + 3 + 4
    decoy_cd_offset += (ALIGNMENT - decoy_cd_offset % ALIGNMENT) % ALIGNMENT
    decoy = struct.pack("<IHHHHHHIIIHHHHHII", CENTRAL_SIG, 0, 0, FLAG_UTF8 | FLAG_DESCRIPTOR, 0,
                        0, 0, 0, decoy_cd_offset - 33, decoy_cd_offset - 33, 3, 0, 0, 0, 0, 0,
                        0) + b"v/a"
    decoy += struct.pack("<IHHHHIIH", EOCD_SIG, 0, 0, 1, 1, len(decoy), decoy_cd_offset, 0)
    seeds.append(archive([first, Rec("v/b", decoy)]))

    # Broken: each differs from a valid archive in one way.
    good = archive([Rec("b/mod.py", source("B")), Rec("b/.data/version", b"6\n")])
    seeds.append(good[: len(good) // 2])                                     # truncated
    seeds.append(good[:-2] + struct.pack("<H", 7) + b"comment")              # archive comment
    seeds.append(archive([Rec("b/.data/version", b"6\n")], prefix=b"#!/bin/sh\nexit 0\n"))
    seeds.append(archive([Rec("b/x", b"1"), Rec("b/x", b"2")]))              # duplicate
    seeds.append(archive([Rec("b/X.py", b"1"), Rec("b/x.py", b"2")]))        # case collision
    seeds.append(archive([Rec("b/../evil.py", b"import os\n")]))             # dot segment
    seeds.append(archive([Rec("version", b"6\n")]))                          # no folder
    seeds.append(archive([Rec("b/a", b"1"), Rec("c/b", b"2")]))              # outside folder
    seeds.append(archive([Rec("b/a", b"1"), Rec("b/a/b", b"2")]))            # file and folder
    seeds.append(archive([Rec("b/.data/version", b"6\n")], count=2))         # count mismatch
    bad_crc = Rec("b/data.pkl", data_pkl)
    bad_crc.crc ^= 1
    seeds.append(archive([bad_crc]))
    bad_pad = Rec("b/data.pkl", data_pkl)
    bad_pad.padding_byte = b"Q"
    seeds.append(archive([bad_pad]))
    renamed = Rec("b/a.py", b"x = 1\n")
    renamed.central_name = b"b/b.py"
    seeds.append(archive([renamed]))
    encrypted = Rec("b/a.py", b"x = 1\n")
    encrypted.flags |= 1
    seeds.append(archive([encrypted]))
    bomb = Rec("b/zeros", bytes(200000), method=8, version=20)
    seeds.append(archive([bomb]))                                            # ratio limit
    gap = bytearray(archive([Rec("b/a", b"1"), Rec("b/b", b"2")]))
    seeds.append(bytes(gap[:100]) + b"\0" + bytes(gap[100:]))                # shifted everything
    return seeds


def glob_seeds():
    cases = [
        (".", "torch.nn", ["torch.**"]),
        (".", "torch", ["torch.**"]),
        (".", "torch", ["torch.*"]),
        (".", "", ["**"]),
        (".", "", [""]),
        (".", "a..b", ["a.*.b", "**"]),
        (".", "foo.x.y.bar", ["foo.**.bar"]),
        (".", "axxb.c", ["a*b.c"]),
        (".", "torch.nn.functional", ["**.functional", "!torch.**"]),
        (".", "numpy.core", ["numpy", "numpy.**", "!numpy.core.*"]),
        (".", "x", ["a**", "**b.c"]),
        (".", "my_pkg.sub", ["my_pkg.*", "!my_pkg.sub"]),
        (".", ".leading", ["*.leading", "**.leading"]),
        ("/", "foo/.txt", ["foo/*.txt"]),
        ("/", "res/a/b.txt", ["res/**", "!res/**/*.pkl"]),
        ("/", ".data/version", [".data/*", "!.data/*.storage"]),
        ("/", "a//b", ["a/**/b", "a/*/b"]),
        ("/", "m/.data/ts_code/code/__torch__/m.py", ["**/code/**", "*/.data/**"]),
        (".", "a" * 64 + ".b", ["*a*a*a*a*a*a*b", "**.b"]),
        (".", ".".join(["seg"] * 40), ["**.seg.**.seg.**", "seg.*.**"]),
    ]
    out = []
    for sep, candidate, patterns in cases:
        flag = b"\x01" if sep == "/" else b"\x00"
        out.append(flag + "\n".join([candidate] + patterns).encode())
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(here), "corpus"))
    parser.add_argument("--check", action="store_true", help="only report missing seeds")
    args = parser.parse_args()
    missing = 0
    for target, seeds in (("zip_reader", zip_seeds()), ("glob", glob_seeds())):
        folder = os.path.join(args.out, target)
        os.makedirs(folder, exist_ok=True)
        for seed in seeds:
            path = os.path.join(folder, hashlib.sha1(seed).hexdigest())
            if os.path.exists(path):
                continue
            missing += 1
            if args.check:
                print("missing:", path)
                continue
            with open(path, "wb") as f:
                f.write(seed)
        print("%s: %d seeds, %d bytes" % (target, len(seeds), sum(len(s) for s in seeds)))
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
