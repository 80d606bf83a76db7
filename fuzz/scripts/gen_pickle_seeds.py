#!/usr/bin/env python3
"""Deterministic seed corpus for the pickle_ops fuzz target (standard library only).

    python3 fuzz/scripts/gen_pickle_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/pickle_ops/, each file named by the SHA-1 of its content:
  - pickle.dumps of many objects (literals of every kind, containers, shared and recursive
    references, reduce-based stdlib objects, partials, in-band PickleBuffers, a framed large
    list) for every protocol 0-5, made by this interpreter's C pickler;
  - torch-like pickles assembled by hand (no torch needed): torch.save state_dicts with
    _rebuild_tensor_v2 and ("storage", ...) BINPERSID tuples, the legacy 6-field form,
    _rebuild_parameter, _rebuild_tensor_v3 with UntypedStorage, a torch.package pickle with
    reduce_package ids;
  - the hostile constructions of shared/reference/pickle_threats.md §2.B (memo confusion,
    MEMOIZE after POP, payload then garbage, STACK_GLOBAL without PROTO, module overwrite,
    dotted names, protocol < 3 renames, FRAME straddles, OBJ/INST/NEWOBJ_EX, EXT codes,
    trailing bytes, expansion) and CVE-2026-24747 (SETITEMS on a tensor), plus broken
    arguments and deep nesting.
The total stays under 1 MiB. Set sizes use ints only and PYTHONHASHSEED is pinned, so the
output does not depend on hash randomization. Existing files are left alone (merged fuzzer
finds live there too); --check only reports which seeds are missing and exits 1 if any are.
"""

import argparse
import array
import collections
import datetime
import decimal
import fractions
import functools
import hashlib
import os
import pathlib
import pickle
import struct
import sys
import types
import uuid

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)


class P:
    """A tiny pickle assembler: one method per opcode, CPython's argument encodings."""

    def __init__(self):
        self.b = bytearray()

    def op(self, code, arg=b""):
        self.b += bytes([code]) if isinstance(code, int) else code
        self.b += arg
        return self

    def raw(self, data):
        self.b += data
        return self

    def line(self, code, text):
        return self.op(code, text.encode("latin-1") + b"\n")

    def proto(self, v):
        return self.op(0x80, bytes([v]))

    def frame(self, n):
        return self.op(0x95, struct.pack("<Q", n))

    def glob(self, module, name):
        return self.op(b"c", f"{module}\n{name}\n".encode())

    def inst(self, module, name):
        return self.op(b"i", f"{module}\n{name}\n".encode())

    def sbu(self, s):
        d = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
        return self.op(0x8C, bytes([len(d)]) + d)

    def u(self, s):  # BINUNICODE
        d = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
        return self.op(b"X", struct.pack("<I", len(d)) + d)

    def k(self, v):  # BININT1
        return self.op(b"K", bytes([v]))

    def m(self, v):  # BININT2
        return self.op(b"M", struct.pack("<H", v))

    def binput(self, i):
        return self.op(b"q", bytes([i]))

    def binget(self, i):
        return self.op(b"h", bytes([i]))

    def storage(self, key, numel, type_name="FloatStorage", sixth=False, key_is_int=False):
        self.op(b"(").u("storage").glob("torch", type_name)
        if key_is_int:
            self.m(key)
        else:
            self.u(key)
        self.u("cpu").k(numel)
        if sixth:
            self.op(b"N")
        return self.op(b"t").op(b"Q")

    def tensor(self, key, numel, type_name="FloatStorage"):
        self.glob("torch._utils", "_rebuild_tensor_v2").op(b"(")
        self.storage(key, numel, type_name)
        self.k(0).k(numel).op(0x85).k(1).op(0x85).op(0x89)
        return self.glob("collections", "OrderedDict").op(b")").op(b"R").op(b"t").op(b"R")

    def stop(self):
        return self.op(b".")

    def bytes(self):
        return bytes(self.b)


class Slots:
    __slots__ = ("a",)


def stdlib_objects():
    shared = [1, 2]
    recursive_list = []
    recursive_list.append(recursive_list)
    recursive_dict = {}
    recursive_dict["self"] = recursive_dict
    objs = [
        None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63,
        -2**63 - 1, 2**100, -(2**1000), 0.0, 1.5, -2.25e300, float("inf"), float("nan"),
        "", "a", "h\u00e9llo", "\u20ac\U0001F600", "x" * 300, "line\nbreak\\ 'q' \"d\"",
        "\ud800", "\x00\x7f\x80", b"", b"\x00\xff", b"x" * 300, bytearray(b"abc"),
        (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1, [2, [3]]], {},
        {"a": 1, "b": [1, 2]}, {1: None, (1, 2): "t"}, set(), {1, 2, 3}, frozenset(),
        frozenset({4, 5}), [shared, shared, (shared,)], recursive_list, recursive_dict,
        collections.OrderedDict([("a", 1), ("b", [2])]), collections.Counter([1, 1, 2]),
        collections.deque([1, 2]), datetime.datetime(2020, 1, 2, 3, 4, 5),
        datetime.date(2020, 1, 1), datetime.timedelta(days=1, seconds=2),
        decimal.Decimal("1.5"), fractions.Fraction(1, 3), complex(1, 2), range(3),
        slice(1, 2, 3), functools.partial(max, 1, key=abs), argparse.Namespace(a=1, b=[2]),
        types.SimpleNamespace(x=1), pathlib.PurePosixPath("a/b"), array.array("i", [1, 2]),
        uuid.UUID(int=5), max, collections.OrderedDict, Ellipsis, NotImplemented,
        [1.5] * 20, list(range(300)), {i: str(i) for i in range(50)},
    ]
    return objs


def dumps_seeds():
    out = []
    objs = stdlib_objects()
    for proto in range(0, 6):
        for obj in objs:
            try:
                out.append(pickle.dumps(obj, protocol=proto))
            except Exception:  # e.g. lone surrogates at protocol 0, slots at protocol < 2
                pass
        # Everything at once (shared memo across kinds).
        try:
            out.append(pickle.dumps(objs, protocol=proto))
        except Exception:
            out.append(pickle.dumps(objs[:20], protocol=proto))
    # In-band out-of-band-capable buffers and framing.
    out.append(pickle.dumps(pickle.PickleBuffer(bytearray(b"abcdef")), protocol=5))
    out.append(pickle.dumps(pickle.PickleBuffer(b"readonly"), protocol=5))
    out.append(pickle.dumps(list(range(24000)), protocol=4))  # several 64 KiB frames
    out.append(pickle.dumps(["y" * 70000], protocol=5))  # a large argument outside frames
    # Two pickles back to back (stacked streams).
    out.append(pickle.dumps([1], protocol=2) + pickle.dumps({"a": 2}, protocol=4))
    return out


def torch_like_seeds():
    seeds = []
    # torch.save state_dict (protocol 2): OrderedDict with _metadata set by BUILD.
    p = P().proto(2).glob("collections", "OrderedDict").op(b")").op(b"R").binput(0).op(b"(")
    p.u("conv.weight").tensor("0", 4).binput(1).u("conv.bias").tensor("1", 2).op(b"u")
    p.op(b"}").u("_metadata").glob("collections", "OrderedDict").op(b")").op(b"R").op(b"s")
    p.op(b"b").stop()
    seeds.append(p.bytes())
    # Same with SETITEMS batching, memoized globals and LONG_BINPUT as torch writes it.
    p = P().proto(2).glob("collections", "OrderedDict").op(b")").op(b"R").op(b"r", b"\x00\x00\x00\x00")
    p.op(b"(")
    for i in range(3):
        p.u(f"layer{i}.weight").tensor(str(i), 4)
    p.op(b"u").stop()
    seeds.append(p.bytes())
    # Legacy (non-zip) object pickle: 6-field storage ids with view metadata, int keys.
    p = P().proto(2).op(b"}").u("w").glob("torch._utils", "_rebuild_tensor_v2").op(b"(")
    p.storage(9403, 4, "LongStorage", sixth=True, key_is_int=True)
    p.k(0).k(4).op(0x85).k(1).op(0x85).op(0x89).glob("collections", "OrderedDict")
    p.op(b")").op(b"R").op(b"t").op(b"R").op(b"s").stop()
    seeds.append(p.bytes())
    # nn.Parameter through _rebuild_parameter.
    p = P().proto(2).glob("torch._utils", "_rebuild_parameter").tensor("0", 4)
    p.op(0x88).glob("collections", "OrderedDict").op(b")").op(b"R").op(0x87).op(b"R").stop()
    seeds.append(p.bytes())
    # torch 2.x new dtypes: _rebuild_tensor_v3 over UntypedStorage with a dtype global.
    p = P().proto(2).glob("torch._utils", "_rebuild_tensor_v3").op(b"(").op(b"(").u("storage")
    p.glob("torch.storage", "UntypedStorage").u("0").u("cpu").k(8).op(b"t").op(b"Q")
    p.k(0).k(4).op(0x85).k(1).op(0x85).op(0x89).glob("collections", "OrderedDict")
    p.op(b")").op(b"R").glob("torch", "uint16").op(b"t").op(b"R").stop()
    seeds.append(p.bytes())
    # _rebuild_from_type_v2(func, type, args, state) for a tensor subclass.
    p = P().proto(2).glob("torch._tensor", "_rebuild_from_type_v2").op(b"(")
    p.glob("torch._utils", "_rebuild_tensor_v2").glob("torch", "Tensor").op(b")").op(b"}")
    p.op(b"t").op(b"R").stop()
    seeds.append(p.bytes())
    # torch.package pickle (protocol 3): packaged class, BUILD, storage and reduce_package ids.
    p = P().proto(3).glob("mymodel.net", "Net").op(b")").op(0x81).op(b"}").u("w")
    p.tensor("0.storage", 4).op(b"s").u("obj").op(b"(").u("reduce_package").u("1")
    p.glob("mymodel.util", "rebuild").k(1).op(0x85).op(b"t").op(b"Q").op(b"s").op(b"b").stop()
    seeds.append(p.bytes())
    # TorchScript-style constants and the legacy magic-number stream.
    seeds.append(P().proto(2).op(b")").stop().bytes())
    seeds.append(P().proto(2).op(0x8A, b"\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little"))
                 .stop().bytes())
    # vit_b_16-style functools.partial(LayerNorm, eps=1e-06) with its BUILD state.
    p = P().proto(2).glob("functools", "partial").glob("torch.nn.modules.normalization", "LayerNorm")
    p.op(0x85).op(b"R").op(b"(").glob("torch.nn.modules.normalization", "LayerNorm").op(b")")
    p.op(b"}").u("eps").op(b"G", struct.pack(">d", 1e-6)).op(b"s").op(b"N").op(b"t").op(b"b").stop()
    seeds.append(p.bytes())
    return seeds


def hostile_seeds():
    s = []
    # B1 memo confusion.
    p = P().proto(4).sbu("torch._utils").binput(1).op(b"0").sbu("os").op(0x94).op(b"0")
    p.sbu("_rebuild_tensor_v2").binput(0).op(b"0").sbu("system").op(0x94).op(b"0")
    p.binget(1).binget(2).op(0x93).sbu("ls").op(0x85).op(b"R").stop()
    s.append(p.bytes())
    # B2 MEMOIZE after POP.
    p = P().proto(4).sbu("os").sbu("x").op(b"0").op(0x94).op(b"0").sbu("getcwd").op(0x94)
    p.op(b"0").binget(0).binget(1).op(0x93).op(b")").op(b"R").stop()
    s.append(p.bytes())
    # B3 payload then a bad BINGET.
    s.append(P().glob("os", "system").line(b"V", "id").op(0x85).op(b"R").op(b"0").sbu("os")
             .op(0x94).binget(3).binget(0).op(0x93).stop().bytes())
    # B4 STACK_GLOBAL without PROTO, from STRING operands.
    s.append(b"S'os'\nS'system'\n\x93S'ls'\n\x85R.")
    # B5 module attribute overwrite then non-literal STACK_GLOBAL operands.
    p = P().proto(4).sbu("torch").sbu("_utils").op(0x93).op(b"}").sbu("_rebuild_tensor")
    p.sbu("builtins").op(b"s").op(b"b").op(b"0").sbu("torch._utils").sbu("_rebuild_tensor")
    p.op(0x93).sbu("torch._utils").sbu("_rebuild_tensor_v2").op(0x93).op(0x93).op(b")")
    p.op(b"R").stop()
    s.append(p.bytes())
    # B6 dotted names; B7 renames.
    s.append(P().proto(4).sbu("pathlib").sbu("os.getcwd").op(0x93).op(b")").op(b"R").stop().bytes())
    s.append(P().proto(4).sbu("torch").sbu("serialization.os.system").op(0x93).stop().bytes())
    for module, name in [("cPickle", "loads"), ("urllib2", "urlopen"), ("__builtin__", "eval"),
                         ("__builtin__", "reduce"), ("commands", "getoutput"),
                         ("SocketServer", "TCPServer"), ("copy_reg", "_reconstructor")]:
        s.append(P().proto(2).glob(module, name).stop().bytes())
    # B8 FRAME straddle, new FRAME inside a frame, FRAME at a frame's very end, overrun.
    p = P().proto(5).op(b"N").line(b"V", "a" * 200).op(b"0").op(b"(").frame(2)
    p.op(b"B", struct.pack("<I", 0x107)).raw(b"\x00\x00").glob("os", "getcwd").op(b")")
    p.op(b"R").op(b"(").raw(b"N" * 0x107).op(b"1").stop()
    s.append(p.bytes())
    s.append(P().proto(4).frame(6).op(b"X", struct.pack("<I", 5)).raw(b"abcde").stop().bytes())
    s.append(P().proto(4).frame(20).op(b"N").frame(1).op(b"0").raw(b"N" * 10).bytes())
    s.append(P().proto(4).frame(10).op(b"N").frame(1).stop().bytes())
    s.append(P().proto(4).frame(100).op(b"N").stop().bytes())
    # B9/B10 call sites: OBJ, INST, NEWOBJ, NEWOBJ_EX, BUILD.
    s.append(P().proto(4).op(b"(").sbu("smtplib").sbu("SMTP").op(0x93).sbu("127.0.0.1")
             .op(b"o").op(b"0").op(b"N").stop().bytes())
    s.append(b"(S'cmd'\ni__builtin__\nexec\n.")
    s.append(P().proto(2).glob("smtplib", "SMTP").op(b")").op(0x81).op(b"0").op(b"N").stop().bytes())
    s.append(P().proto(4).glob("smtplib", "SMTP").op(b")").op(b"}").sbu("k").k(1).op(b"s")
             .op(0x92).op(b"}").op(b"b").stop().bytes())
    # B11 extension codes.
    for code in (0x82, 0x83, 0x84):
        width = {0x82: 1, 0x83: 2, 0x84: 4}[code]
        s.append(P().proto(2).op(code, (1).to_bytes(width, "little")).op(b")").op(b"R").stop().bytes())
    # B14 payload then garbage or truncation; B15 trailing bytes.
    s.append(P().glob("os", "getcwd").op(b")").op(b"R").raw(b"\xff").bytes())
    s.append(P().glob("os", "getcwd").op(b")").op(b"R").raw(b"X\x10\x00").bytes())
    s.append(pickle.dumps([1, 2], protocol=2) + b"\n\n\t\t")
    # B16 expansion through BINGET.
    p = P().proto(2).op(b"N").binput(0).op(b"0")
    for level in range(1, 6):
        p.op(b"]").op(b"(")
        for _ in range(40):
            p.binget(level - 1)
        p.op(b"e").binput(level).op(b"0")
    s.append(p.binget(5).stop().bytes())
    # CVE-2026-24747: SETITEMS on a tensor, storage declared larger than its record.
    s.append(P().proto(2).tensor("0", 200).op(b"(").k(0).k(1).op(b"u").stop().bytes())
    # Storage keys that are paths; unknown pid kinds; PERSID; wrong arity.
    s.append(P().proto(2).storage("../../etc/passwd", 4).stop().bytes())
    s.append(P().proto(2).u("module").u("os").op(0x86).op(b"Q").stop().bytes())
    s.append(b"P0\n.")
    s.append(P().proto(2).op(b"(").u("storage").glob("torch", "FloatStorage").u("0").op(b"t")
             .op(b"Q").stop().bytes())
    # Out-of-band buffers, bad protocols, bad arguments.
    s.append(P().proto(5).op(0x97).stop().bytes())
    s.append(P().proto(5).op(b"C", b"\x02ab").op(0x98).stop().bytes())
    s.append(P().proto(6).op(b"N").stop().bytes())
    for text in ("010", "0x1", "+1", " 1", "1_0", "-0", "01", "00", "99999999999999999999999"):
        s.append(b"I" + text.encode() + b"\n.")
    s.append(b"L123L\n.")
    s.append(b"S'a\\nb\\x41\\101\\q'\n.")
    s.append(b"S'a\\x4'\n.")
    s.append(b"V\\u00e9\\U0001F600\\\\u0041\n.")
    s.append(b"X\x03\x00\x00\x00\xed\xa0\x80.")
    s.append(b"X\x02\x00\x00\x00\xc3\x28.")
    s.append(b"T\xff\xff\xff\xff.")
    s.append(P().proto(4).op(0x8E, struct.pack("<Q", (1 << 63) + 5)).stop().bytes())
    s.append(b"\x80\x02\x8b\xff\xff\xff\xff.")
    # Memo edge cases: out-of-order PUTs, MEMOIZE onto a PUT index, huge LONG_BINPUT, GET text.
    s.append(P().proto(4).sbu("a").binput(5).op(b"0").sbu("b").op(0x94).op(b"0").binget(1)
             .binget(5).op(0x86).stop().bytes())
    s.append(P().op(b"N").op(b"r", b"\xff\xff\xff\xff").stop().bytes())
    s.append(b"Np01\n0g1\n.")
    # Fences: POP of a MARK, APPEND below a MARK, STOP with leftovers.
    s.append(b"N(0.")
    s.append(b"](K\x01a.")
    s.append(b"(N.")
    # Deep nesting without recursion.
    s.append(b"]" + b"(]" * 3000 + b"e" * 3000 + b".")
    s.append(b"N" + b"(" * 5000 + b"1" * 5000 + b".")
    return s


def seeds():
    return dumps_seeds() + torch_like_seeds() + hostile_seeds()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "corpus"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    out_dir = os.path.join(args.out, "pickle_ops")
    os.makedirs(out_dir, exist_ok=True)
    missing = 0
    total = 0
    names = set()
    for data in seeds():
        name = hashlib.sha1(data).hexdigest()
        if name in names:
            continue
        names.add(name)
        total += len(data)
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            continue
        if args.check:
            print("missing:", path)
            missing += 1
            continue
        with open(path, "wb") as f:
            f.write(data)
    if total >= 1 << 20:
        print(f"pickle_ops seeds total {total} bytes, over the 1 MiB budget", file=sys.stderr)
        return 1
    print(f"pickle_ops: {len(names)} seeds, {total} bytes")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
