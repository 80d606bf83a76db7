#!/usr/bin/env python3
"""Deterministic seed corpus for the ipc_decoder fuzz target (standard library only).

    python3 fuzz/scripts/gen_ipc_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/ipc_decoder/, each file named by the SHA-1 of its content. A seed is one
byte of fd count followed by a sandbox IPC message (sandbox/ipc.h): valid results of every
value kind, a state_dict-shaped dict of tensor references, READY/ERROR messages, deep nesting
at and past the default depth cap, and broken ones (bad magic, version, type, length, UTF-8,
dtype, negative dims, overflowing strides). Existing files are left alone; --check only
reports which seeds are missing and exits 1 if any are.
"""

import argparse
import hashlib
import os
import struct
import sys

MAGIC = 0x494B5053


def header(mtype, length, magic=MAGIC, version=1, reserved=0):
    return struct.pack("<IHHII", magic, version, mtype, length, reserved)


def msg(payload, mtype=3, **kw):
    return header(mtype, len(payload), **kw) + payload


def text(tag, s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([tag]) + struct.pack("<I", len(b)) + b


def key(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def lst(items, tag=7):
    return bytes([tag]) + struct.pack("<I", len(items)) + b"".join(items)


def dct(pairs):
    return bytes([9]) + struct.pack("<I", len(pairs)) + b"".join(key(k) + v for k, v in pairs)


def tensor(dtype, shape, strides, offset=0, fd=0, byte_offset=0, nbytes=None):
    if nbytes is None:
        n = 1
        for d in shape:
            n *= d
        nbytes = n * {1: 4, 2: 8, 9: 8, 6: 1}.get(dtype, 4)
    return (bytes([10, dtype, len(shape)]) + b"".join(struct.pack("<q", d) for d in shape)
            + b"".join(struct.pack("<q", s) for s in strides)
            + struct.pack("<qIQQ", offset, fd, byte_offset, nbytes))


def seeds():
    none, true, false = b"\x00", b"\x02", b"\x01"
    i64 = b"\x03" + struct.pack("<q", -42)
    f64 = b"\x04" + struct.pack("<d", 3.25)
    out = [
        b"\x00" + msg(none),
        b"\x00" + msg(lst([none, true, false, i64, f64, text(5, "héllo"), text(6, b"\x00\xff")])),
        b"\x00" + msg(lst([i64, text(5, "x")], tag=8)),
        b"\x00" + msg(dct([("type", text(5, "RuntimeError")), ("message", text(5, "boom"))]), 4),
        b"\x00" + msg(dct([("seccomp", true), ("userns", false)]), 1),
        b"\x00" + msg(dct([("op", text(5, "load_pickle")), ("package", text(5, "pkg")),
                           ("resource", text(5, "model.pkl"))]), 2),
        b"\x01" + msg(dct([("conv.weight", tensor(1, [4, 3, 3, 3], [27, 9, 3, 1])),
                           ("conv.bias", tensor(1, [4], [1], byte_offset=448)),
                           ("steps", tensor(9, [], [])),
                           ("view", tensor(1, [2, 2], [1, 2], offset=1, nbytes=32)),
                           ("empty", tensor(6, [0, 5], [5, 1], nbytes=0))])),
        b"\x02" + msg(lst([tensor(2, [3], [1], fd=1), tensor(10, [8], [1], nbytes=8)])),
        b"\x00" + msg(b"\x07\x01\x00\x00\x00" * 64 + none),
        b"\x00" + msg(b"\x07\x01\x00\x00\x00" * 65 + none),
        # broken
        b"\x00" + msg(none, magic=0x12345678),
        b"\x00" + msg(none, version=2),
        b"\x00" + msg(none, mtype=9),
        b"\x00" + msg(none, reserved=1),
        b"\x00" + header(3, 5) + none,
        b"\x00" + header(3, 0xFFFFFFFF),
        b"\x00" + msg(text(5, b"\xc0\xaf")),
        b"\x00" + msg(dct([("k", none), ("k", none)])),
        b"\x01" + msg(tensor(42, [1], [1])),
        b"\x01" + msg(tensor(1, [-1], [1], nbytes=4)),
        b"\x01" + msg(tensor(9, [2**62, 4], [2**62, 2**62], nbytes=2**63)),
        b"\x01" + msg(tensor(1, [2], [1], byte_offset=8)),
        b"\x00" + msg(b"\x07\xff\xff\xff\xff"),
        b"",
    ]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "corpus"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    target = os.path.join(args.out, "ipc_decoder")
    os.makedirs(target, exist_ok=True)
    missing = 0
    for s in seeds():
        path = os.path.join(target, hashlib.sha1(s).hexdigest())
        if os.path.exists(path):
            continue
        missing += 1
        if not args.check:
            with open(path, "wb") as f:
                f.write(s)
    if args.check and missing:
        print(f"gen_ipc_seeds: {missing} seeds missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
