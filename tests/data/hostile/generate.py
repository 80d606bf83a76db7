#!/usr/bin/python3
"""Generates the hostile corpus: files the verifier must reject, with the findings it must report.

Every pickle is assembled by hand from opcodes (the tiny assembler below), so the bytes are exactly
the attacks of shared/reference/pickle_threats.md, sections 2.A-2.E; targets are harmless
(os.getcwd, len(), subprocess.list2cmdline...), never anything that deletes, writes or spawns.
Files are plain pickles, torch.save-style zips (archive/data.pkl, archive/data/<key>,
archive/version), torch.package-style zips (pkg/..., pkg/.data/...), legacy non-zip torch files,
.npy object arrays, a tar, a 7z and a TorchScript archive.

cases.tsv has one row per file: the policy to verify it with, `reject`, the finding codes
(verifier/finding.h) that must be among the findings, the threat id and a description.

Each case is also *checked* while it is generated, without importing or calling its targets: a
recording unpickler (C and pure-Python, a find_class that returns stubs) shows what CPython would
resolve and call, pickletools shows what a linear scanner sees, Python's zipfile and torch's own
zip reader show what each makes of the container. A case whose claim stops holding fails here.

Deterministic. Needs numpy and torch 1.13 (the TorchScript bytes, and the checks against torch's
reader and torch.load on the non-executing cases); nothing else outside the standard library.

    /usr/bin/python3 generate.py            # rewrite the files and cases.tsv next to this script
    /usr/bin/python3 generate.py --check    # exit 1 if the committed files differ from a fresh run
"""

from __future__ import annotations

import _compat_pickle
import argparse
import copyreg
import dataclasses
import io
import pickle
import pickletools
import re
import struct
import sys
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
TABLE = "cases.tsv"
FINDING_H = HERE.parents[2] / "verifier" / "finding.h"

MAX_FILE_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 1024 * 1024

WEIGHTS = "builtin:weights-only"
DATA = "builtin:data-only"
TORCHVISION = "builtin:torchvision"
POLICIES = (WEIGHTS, DATA, TORCHVISION)

# Finding codes (verifier/finding.h).
GLOBAL_DENIED = "pickle.global-denied"
MEMO_MISSING = "pickle.memo-missing"
TRUNCATED = "pickle.truncated"
UNKNOWN_OPCODE = "pickle.unknown-opcode"
BUILD_DENIED = "pickle.build-denied"
FRAME_VIOLATION = "pickle.frame-violation"
EXTENSION = "pickle.extension-code"
TRAILING = "pickle.trailing-bytes"
MUTATION_DENIED = "pickle.mutation-denied"
STORAGE_MISMATCH = "pickle.storage-mismatch"
PID_DENIED = "pickle.persistent-id-denied"
IMPORT_DENIED = "source.import-denied"
ARCHIVE = "package.archive"
NESTED = "package.nested-archive"
TORCHSCRIPT = "package.torchscript"
EXTERN_DENIED = "package.extern-denied"
DATA_SOURCE = "package.data-source"
SOURCE_MISMATCH = "package.source-mismatch"
ATTRIBUTE_DENIED = "source.attribute-denied"
UNKNOWN_FORMAT = "input.unknown-format"


# ---------------------------------------------------------------------------------------------
# Opcode assembler. Every function returns the bytes of one opcode with its argument.

def _u8(n: int) -> bytes:
    return struct.pack("<B", n)


def PROTO(n: int) -> bytes:
    return b"\x80" + _u8(n)


def FRAME(n: int) -> bytes:
    return b"\x95" + struct.pack("<Q", n)


STOP = b"."
MARK = b"("
POP = b"0"
POP_MARK = b"1"
DUP = b"2"
NONE = b"N"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
EMPTY_TUPLE = b")"
EMPTY_LIST = b"]"
EMPTY_DICT = b"}"
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
LIST = b"l"
APPEND = b"a"
APPENDS = b"e"
SETITEM = b"s"
SETITEMS = b"u"
REDUCE = b"R"
BUILD = b"b"
NEWOBJ = b"\x81"
OBJ = b"o"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
BINPERSID = b"Q"


def GLOBAL(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode("ascii")


def INST(module: str, name: str) -> bytes:
    return b"i" + f"{module}\n{name}\n".encode("ascii")


def STRING(text: str) -> bytes:
    """Protocol-0 quoted string (plain ASCII, no quotes or backslashes)."""
    assert re.fullmatch(r"[ -&(-\[\]-~]*", text), text
    return b"S'" + text.encode("ascii") + b"'\n"


def BININT(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def BININT1(n: int) -> bytes:
    return b"K" + _u8(n)


def BININT2(n: int) -> bytes:
    return b"M" + struct.pack("<H", n)


def LONG1(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True) if n else b""
    return b"\x8a" + _u8(len(raw)) + raw


def INT(n: int) -> bytes:
    """The opcode CPython's pickler would choose for `n` (protocol >= 2)."""
    if 0 <= n < 256:
        return BININT1(n)
    if 0 <= n < 65536:
        return BININT2(n)
    if -(2**31) <= n < 2**31:
        return BININT(n)
    return LONG1(n)


def BINFLOAT(x: float) -> bytes:
    return b"G" + struct.pack(">d", x)


def BINUNICODE(s: str) -> bytes:
    raw = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def SHORT_BINUNICODE(s: str) -> bytes:
    raw = s.encode("utf-8")
    return b"\x8c" + _u8(len(raw)) + raw


def BINBYTES(b: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(b)) + b


def SHORT_BINBYTES(b: bytes) -> bytes:
    return b"C" + _u8(len(b)) + b


def BINPUT(i: int) -> bytes:
    return b"q" + _u8(i)


def BINGET(i: int) -> bytes:
    return b"h" + _u8(i)


def EXT1(code: int) -> bytes:
    return b"\x82" + _u8(code)


def EXT2(code: int) -> bytes:
    return b"\x83" + struct.pack("<H", code)


def asm(*ops: bytes) -> bytes:
    for op in ops:
        assert isinstance(op, bytes), op
    return b"".join(ops)


def call(func: bytes, *args: bytes) -> bytes:
    """func(*args) with REDUCE: `func` is the bytes that push the callable."""
    if not args:
        return func + EMPTY_TUPLE + REDUCE
    tuple_op = {1: TUPLE1, 2: TUPLE2, 3: TUPLE3}.get(len(args))
    if tuple_op is not None:
        return func + b"".join(args) + tuple_op + REDUCE
    return func + MARK + b"".join(args) + TUPLE + REDUCE


def ordered_dict() -> bytes:
    return call(GLOBAL("collections", "OrderedDict"))


def tensor(key: Any, numel: int, shape: Sequence[int], *, storage: str = "FloatStorage",
           package: bool = False) -> bytes:
    """Pushes `_rebuild_tensor_v2(<storage pid>, 0, shape, contiguous stride, False, OrderedDict())`
    exactly as torch.save (string key) or torch.package (int key) writes it."""
    pid = asm(MARK, BINUNICODE("storage"), GLOBAL("torch", storage),
              INT(key) if package else BINUNICODE(str(key)), BINUNICODE("cpu"), INT(numel), TUPLE,
              BINPERSID)
    stride, acc = [], 1
    for dim in reversed(shape):
        stride.insert(0, acc)
        acc *= dim
    as_tuple = lambda xs: MARK + b"".join(INT(x) for x in xs) + TUPLE  # noqa: E731
    return call(GLOBAL("torch._utils", "_rebuild_tensor_v2"), pid, INT(0), as_tuple(shape),
                as_tuple(stride), NEWFALSE, ordered_dict())


def getcwd_payload(proto: int = 2) -> bytes:
    """A whole pickle that calls os.getcwd()."""
    return asm(PROTO(proto), call(GLOBAL("os", "getcwd")), STOP)


PROTO0_GETCWD = b"cos\ngetcwd\n(tR."  # protocol 0: GLOBAL, MARK, TUPLE, REDUCE, STOP


# ---------------------------------------------------------------------------------------------
# Recording unpicklers: what CPython resolves and calls, without importing or calling anything.

class Recorder:
    def __init__(self) -> None:
        self.globals: List[Tuple[str, str]] = []  # find_class arguments, as the stream spells them
        self.calls: List[Tuple[str, tuple]] = []  # (callee, args)
        self.builds: List[Tuple[str, Any]] = []  # BUILD (setstate) on stubs
        self.setitems: List[Tuple[str, Any, Any]] = []
        self.pids: List[Any] = []
        self.attrs: Dict[Tuple[str, str], Any] = {}  # module attributes rewritten by BUILD
        self.classes: set = set()  # names find_class returns as (stub) classes
        self.error: Optional[BaseException] = None
        self.result: Any = None

    def called(self, name: str) -> bool:
        return any(callee == name for callee, _ in self.calls)

    def resolved(self, module: str, name: str) -> bool:
        return (module, name) in self.globals


class Stub:
    """Stands in for whatever a GLOBAL or persistent id would produce."""

    def __init__(self, rec: Recorder, name: str) -> None:
        self._rec, self._name = rec, name

    def __call__(self, *args: Any, **kwargs: Any) -> "Stub":
        self._rec.calls.append((self._name, args))
        return Stub(self._rec, f"{self._name}()")

    def __setstate__(self, state: Any) -> None:
        # A module has no __setstate__: BUILD updates its __dict__, i.e. its attributes.
        self._rec.builds.append((self._name, state))
        if isinstance(state, dict):
            for key, value in state.items():
                self._rec.attrs[(self._name, key)] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._rec.setitems.append((self._name, key, value))

    def append(self, value: Any) -> None:
        self._rec.setitems.append((self._name, None, value))

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    def __repr__(self) -> str:
        return f"<stub {self._name}>"


def _stub_class(rec: Recorder, name: str) -> type:
    """A real class standing in for a class the stream names (NEWOBJ needs a type)."""

    def new(cls: type, *args: Any) -> Any:
        rec.calls.append((name, args))
        return object.__new__(cls)

    def setstate(self: Any, state: Any) -> None:
        rec.builds.append((f"{name}()", state))

    return type(name.rpartition(".")[2], (), {"__new__": new, "__setstate__": setstate})


def _recording_class(base: type) -> type:
    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, file: Any, rec: Recorder) -> None:
            super().__init__(file)
            self.rec = rec

        def find_class(self, module: str, name: str) -> Any:
            self.rec.globals.append((module, name))
            if (module, name) in self.rec.attrs:
                return self.rec.attrs[(module, name)]
            if f"{module}.{name}" in self.rec.classes:
                return _stub_class(self.rec, f"{module}.{name}")
            return Stub(self.rec, f"{module}.{name}")

        def persistent_load(self, pid: Any) -> Any:
            self.rec.pids.append(pid)
            return Stub(self.rec, f"persistent_load{pid!r}")

    return Recording


CRecording = _recording_class(pickle.Unpickler)
PyRecording = _recording_class(pickle._Unpickler)  # type: ignore[attr-defined]


def record(data: bytes, *, impl: str = "c", file: Optional[io.BytesIO] = None,
           classes: Iterable[str] = ()) -> Recorder:
    """Unpickles one pickle from `data` (or continues reading `file`) with stubs; `classes`
    are the globals to stand in for with stub classes rather than callables."""
    rec = Recorder()
    rec.classes = set(classes)
    cls = CRecording if impl == "c" else PyRecording
    stream = file if file is not None else io.BytesIO(data)
    try:
        rec.result = cls(stream, rec).load()
    except Exception as exc:  # noqa: BLE001 - the point is to see where CPython stops
        rec.error = exc
    return rec


def record_all(data: bytes) -> List[Recorder]:
    """Every pickle of a stacked file, as torch's legacy loader reads them (one file object)."""
    stream = io.BytesIO(data)
    out = []
    while stream.tell() < len(data):
        rec = record(b"", file=stream)
        out.append(rec)
        if rec.error is not None:
            break
    return out


def ops(data: bytes) -> List[Tuple[str, Any, int]]:
    """What a linear disassembler (pickletools.genops) sees; stops at the first parse error."""
    out = []
    try:
        for op, arg, pos in pickletools.genops(data):
            out.append((op.name, arg, pos))
    except Exception:  # noqa: BLE001
        pass
    return out


def op_names(data: bytes) -> List[str]:
    return [name for name, _, _ in ops(data)]


def pickle_end(data: bytes) -> int:
    """Offset just past the first STOP (what pickle.load consumes)."""
    for name, _, pos in ops(data):
        if name == "STOP":
            return pos + 1
    raise AssertionError("no STOP")


def compat_name(module: str, name: str) -> Tuple[str, str]:
    """CPython's fix_imports renames for protocol < 3 (pickle.Unpickler.find_class)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def naive_stack_globals(data: bytes, memoize: str) -> List[Tuple[Any, Any]]:
    """STACK_GLOBAL operands as a scanner with a *model* of the memo sees them.

    memoize="previous-argument": picklescan's model, memo[len(memo)] = the previous opcode's
    argument. memoize="counter": MEMOIZE writes memo[<number of MEMOIZEs so far>], PUT ops their
    index, values are the previous opcode's argument.
    """
    memo: Dict[int, Any] = {}
    seen = ops(data)
    counter = 0
    out = []
    for i, (name, arg, _) in enumerate(seen):
        prev = seen[i - 1][1] if i else None
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = prev
        elif name == "MEMOIZE":
            index = len(memo) if memoize == "previous-argument" else counter
            memo[index] = prev
            counter += 1
        elif name == "STACK_GLOBAL":
            operands = []
            j = i - 1
            while len(operands) < 2 and j >= 0:
                oname, oarg, _ = seen[j]
                j -= 1
                if oname in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                    continue
                if oname in ("GET", "BINGET", "LONG_BINGET"):
                    operands.append(memo.get(oarg))
                else:
                    operands.append(oarg)
            out.append((operands[1], operands[0]))
    return out


# ---------------------------------------------------------------------------------------------
# Containers

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
DOS_DATE_1980 = 0x21  # 1980-01-01
LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50


def zip_bytes(entries: Iterable[Tuple[str, bytes]]) -> bytes:
    """A valid zip written by Python's zipfile: STORED, fixed time, Unix 0644 entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)
    return buf.getvalue()


def torch_save_zip(data_pkl: bytes, storages: Optional[Dict[str, bytes]] = None,
                   extra: Sequence[Tuple[str, bytes]] = ()) -> bytes:
    """torch.save's layout (1.13): archive/data.pkl, archive/data/<key>..., archive/version."""
    entries = [("archive/data.pkl", data_pkl)]
    entries += [(f"archive/data/{k}", v) for k, v in (storages or {}).items()]
    entries += list(extra)
    entries.append(("archive/version", b"3\n"))
    return zip_bytes(entries)


def package_zip(records: Sequence[Tuple[str, bytes]], extern: Sequence[str] = (),
                python_version: str = "3.11.2") -> bytes:
    """torch.package's layout: pkg/<records>, .data/extern_modules, python_version, version."""
    entries = [(f"pkg/{name}", data) for name, data in records]
    entries.append(("pkg/.data/extern_modules", "".join(f"{m}\n" for m in extern).encode()
                    if extern else b"\n"))
    entries.append(("pkg/.data/python_version", python_version.encode()))
    entries.append(("pkg/.data/version", b"6\n"))
    return zip_bytes(entries)


def zip_read(data: bytes, name: str, pwd: Optional[bytes] = None) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name, pwd=pwd)


def zipfile_error(data: bytes, name: str) -> Optional[BaseException]:
    """The exception Python's zipfile raises opening or reading `name`, or None."""
    try:
        zip_read(data, name)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def local_header_offset(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.getinfo(name).header_offset


def central_record_offset(data: bytes, name: str) -> int:
    raw = name.encode()
    pos = data.find(struct.pack("<I", CENTRAL_SIG))
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == raw:
            return pos
        pos = data.find(struct.pack("<I", CENTRAL_SIG), pos + 4)
    raise KeyError(name)


def local_data_offset(data: bytes, name: str) -> int:
    off = local_header_offset(data, name)
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    return off + 30 + name_len + extra_len


def set_flag_bits(data: bytes, name: str, bits: int, *, local: bool, central: bool) -> bytes:
    out = bytearray(data)
    if local:
        off = local_header_offset(data, name) + 6
        struct.pack_into("<H", out, off, struct.unpack_from("<H", out, off)[0] | bits)
    if central:
        off = central_record_offset(data, name) + 8
        struct.pack_into("<H", out, off, struct.unpack_from("<H", out, off)[0] | bits)
    return bytes(out)


def raw_zip(entries: Sequence[Dict[str, Any]]) -> bytes:
    """A zip written field by field, for contents zipfile cannot write (pre-compressed or
    pre-encrypted data). Each entry: name, data (as stored), crc, size (uncompressed),
    method, flags."""
    out, central = bytearray(), bytearray()
    for e in entries:
        name = e["name"].encode()
        offset = len(out)
        common = (20, e["flags"], e["method"], 0, DOS_DATE_1980, e["crc"], len(e["data"]),
                  e["size"], len(name))
        out += struct.pack("<IHHHHHIIIHH", LOCAL_SIG, *common, 0) + name + e["data"]
        central += struct.pack("<IH", CENTRAL_SIG, 0x0314) + struct.pack("<HHHHHIIIH", *common)
        central += struct.pack("<HHHHII", 0, 0, 0, 0, 0o644 << 16, offset) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       cd_offset, 0)
    return bytes(out)


def torch_reader_record(data: bytes, record: str) -> Any:
    """What torch's own zip reader (PyTorchFileReader, miniz) returns for `record`: its bytes,
    or the exception it raises."""
    import torch  # noqa: PLC0415 - only for the checks against torch's reader

    try:
        return torch._C.PyTorchFileReader(io.BytesIO(data)).get_record(record)
    except Exception as exc:  # noqa: BLE001
        return exc


# ZipCrypto (PKWARE traditional encryption), for a member that really is encrypted.
_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def zipcrypto_encrypt(plain: bytes, password: bytes, check_byte: int) -> bytes:
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(c: int) -> None:
        keys[0] = _CRC_TABLE[(keys[0] ^ c) & 0xFF] ^ (keys[0] >> 8)
        keys[1] = (keys[1] + (keys[0] & 0xFF)) & 0xFFFFFFFF
        keys[1] = (keys[1] * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = _CRC_TABLE[(keys[2] ^ (keys[1] >> 24)) & 0xFF] ^ (keys[2] >> 8)

    for c in password:
        update(c)
    header = bytes(range(0xA0, 0xAB)) + bytes([check_byte])  # fixed "random" bytes
    out = bytearray()
    for p in header + plain:
        k = keys[2] | 2
        out.append(p ^ (((k * (k ^ 1)) >> 8) & 0xFF))
        update(p)
    return bytes(out)


class BitWriter:
    """DEFLATE bit order: fields LSB first, Huffman codes MSB first."""

    def __init__(self) -> None:
        self.out, self.acc, self.nbits = bytearray(), 0, 0

    def bits(self, value: int, count: int) -> None:
        self.acc |= value << self.nbits
        self.nbits += count
        while self.nbits >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.nbits -= 8

    def code(self, code: str) -> None:
        for bit in code:
            self.bits(int(bit), 1)

    def done(self) -> bytes:
        if self.nbits:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def zeros_deflate(literals: int, copies: int) -> bytes:
    """A raw DEFLATE stream of `literals` zero bytes then `copies` x 258-byte copies (distance 1),
    2 bits per copy (ratio ~1032:1), built from one dynamic-Huffman block so the bytes do not
    depend on the zlib version."""
    w = BitWriter()
    w.bits(1, 1)  # BFINAL
    w.bits(2, 2)  # BTYPE = dynamic Huffman
    w.bits(286 - 257, 5)  # HLIT: literal/length codes 0..285
    w.bits(1 - 1, 5)  # HDIST: one distance code
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    cl_lengths = {0: 1, 1: 2, 2: 2}  # code-length alphabet: 0 -> "0", 1 -> "10", 2 -> "11"
    cl_codes = {0: "0", 1: "10", 2: "11"}
    hclen = order.index(1) + 1
    w.bits(hclen - 4, 4)
    for sym in order[:hclen]:
        w.bits(cl_lengths.get(sym, 0), 3)
    lit_lengths = {0: 2, 256: 2, 285: 1}  # canonical: 285 -> "0", 0 -> "10", 256 -> "11"
    for sym in range(286):
        w.code(cl_codes[lit_lengths.get(sym, 0)])
    w.code(cl_codes[1])  # distance code 0 (distance 1): length 1 -> "0"
    for _ in range(literals):
        w.code("10")
    for _ in range(copies):
        w.code("0")  # length 258
        w.code("0")  # distance 1
    w.code("11")  # end of block
    return w.done()


def legacy_torch_file(pickles: Sequence[bytes], storage_bytes: bytes = b"") -> bytes:
    """torch's legacy (non-zip) layout: magic, protocol, sys_info, object, storage keys pickles,
    then raw storage bytes."""
    return b"".join(pickles) + storage_bytes


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def legacy_header_pickles() -> List[bytes]:
    magic = asm(PROTO(2), LONG1(LEGACY_MAGIC), STOP)
    protocol = asm(PROTO(2), INT(LEGACY_PROTOCOL), STOP)
    sys_info = asm(PROTO(2), EMPTY_DICT, MARK,
                   BINUNICODE("protocol_version"), INT(LEGACY_PROTOCOL),
                   BINUNICODE("little_endian"), NEWTRUE,
                   BINUNICODE("type_sizes"), EMPTY_DICT, MARK,
                   BINUNICODE("short"), INT(2), BINUNICODE("int"), INT(4),
                   BINUNICODE("long"), INT(4), SETITEMS,
                   SETITEMS, STOP)
    return [magic, protocol, sys_info]


def npy_object_array(pickle_bytes: bytes) -> bytes:
    """.npy v1.0 with dtype object: the array's data is a pickle (np.save / np.load)."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    total = len(b"\x93NUMPY") + 2 + 2 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pickle_bytes


def tar_bytes(members: Sequence[Tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _7z_number(n: int) -> bytes:
    """7z variable-length NUMBER."""
    for extra in range(9):
        if extra == 8 or n < (1 << (7 * (extra + 1))):
            first_bits = 8 - extra - 1
            high = n >> (8 * extra) if extra < 8 else 0
            mask = (0xFF00 >> extra) & 0xFF
            assert extra == 8 or high < (1 << first_bits)
            return bytes([mask | high]) + (n & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    raise AssertionError(n)


def sevenzip_bytes(name: str, data: bytes) -> bytes:
    """A 7z archive holding one file, COPY coder (stored), per 7-Zip's 7zFormat.txt."""
    props = b"".join([
        b"\x01",  # kHeader
        b"\x04",  # kMainStreamsInfo
        b"\x06", _7z_number(0), _7z_number(1), b"\x09", _7z_number(len(data)), b"\x00",  # PackInfo
        b"\x07", b"\x0b", _7z_number(1), b"\x00",  # UnPackInfo: kFolder, 1 folder, not external
        _7z_number(1), b"\x01", b"\x00",  # 1 coder: id size 1, simple; id 0x00 = COPY
        b"\x0c", _7z_number(len(data)),  # kCodersUnPackSize
        b"\x0a", b"\x01", struct.pack("<I", zlib.crc32(data)),  # kCRC, all defined
        b"\x00",  # end UnPackInfo
        b"\x00",  # end MainStreamsInfo
        b"\x05", _7z_number(1),  # kFilesInfo, 1 file
    ])
    names = b"\x00" + (name + "\0").encode("utf-16-le")  # not external
    props += b"\x11" + _7z_number(len(names)) + names + b"\x00"  # kName; end FilesInfo
    props += b"\x00"  # end Header
    start = struct.pack("<QQI", len(data), len(props), zlib.crc32(props))
    return (b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start
            + data + props)


# ---------------------------------------------------------------------------------------------
# Cases

@dataclasses.dataclass
class Case:
    file: str
    policy: str
    codes: List[str]
    attack: str
    description: str
    data: bytes

    def row(self) -> str:
        return "\t".join([self.file, self.policy, "reject", ",".join(self.codes), self.attack,
                          self.description])


def case(file: str, policy: str, codes: Sequence[str], attack: str, description: str,
         data: bytes) -> Case:
    return Case(file, policy, list(codes), attack, description, data)


def check(condition: bool, what: str) -> None:
    """A claim the case makes about CPython, zipfile or torch; generation fails if it is false."""
    if not condition:
        raise AssertionError(what)


def called_getcwd(rec: Recorder) -> bool:
    return rec.resolved("os", "getcwd") and rec.called("os.getcwd")


# ---- 2.B opcode-level differentials ---------------------------------------------------------

def b_cases() -> List[Case]:
    out = []

    # B1: MEMOIZE's index is the number of memo entries, not a count of MEMOIZE opcodes.
    b1 = asm(PROTO(4),
             SHORT_BINUNICODE("os"), BINPUT(0), POP,
             SHORT_BINUNICODE("torch._utils"), MEMOIZE, POP,
             SHORT_BINUNICODE("getcwd"), MEMOIZE, POP,
             SHORT_BINUNICODE("_rebuild_tensor_v2"), MEMOIZE, POP,
             BINGET(0), BINGET(2), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b1)
    check(called_getcwd(rec) and rec.error is None, "B1: CPython calls os.getcwd")
    check(naive_stack_globals(b1, "counter") == [("torch._utils", "_rebuild_tensor_v2")],
          "B1: a MEMOIZE-counting memo model sees torch._utils._rebuild_tensor_v2")
    out.append(case("b1_memo_index_confusion.pkl", WEIGHTS, [GLOBAL_DENIED], "B1",
                    "BINPUT 0 then MEMOIZEs: memo[0]='os', memo[2]='getcwd' for CPython; a model "
                    "counting MEMOIZEs reads torch._utils._rebuild_tensor_v2; calls os.getcwd",
                    b1))

    # B2: MEMOIZE right after POP: the value memoized is the stack top, not POP's argument.
    b2 = asm(PROTO(4), SHORT_BINUNICODE("os"), SHORT_BINUNICODE("x"), POP, MEMOIZE, POP,
             SHORT_BINUNICODE("getcwd"), MEMOIZE, POP,
             BINGET(0), BINGET(1), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b2)
    check(called_getcwd(rec) and rec.error is None, "B2: CPython calls os.getcwd")
    check(naive_stack_globals(b2, "previous-argument") == [(None, "getcwd")],
          "B2: picklescan's memo model sees None.getcwd")
    out.append(case("b2_memoize_after_pop.pkl", WEIGHTS, [GLOBAL_DENIED], "B2",
                    "MEMOIZE after POP memoizes 'os' (stack top); a previous-argument memo model "
                    "sees None.getcwd; STACK_GLOBAL calls os.getcwd", b2))

    # B3: the first REDUCE runs, then BINGET of an undefined memo index raises.
    b3 = asm(PROTO(4), call(GLOBAL("os", "getcwd")), POP, SHORT_BINUNICODE("os"), MEMOIZE,
             BINGET(3), BINGET(0), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b3)
    check(called_getcwd(rec) and rec.error is not None, "B3: os.getcwd runs, then BINGET 3 fails")
    out.append(case("b3_undefined_memo_after_payload.pkl", WEIGHTS,
                    [GLOBAL_DENIED, MEMO_MISSING], "B3",
                    "GLOBAL os.getcwd is called, then BINGET 3 reads an undefined memo slot "
                    "(scanners that crash there report nothing)", b3))

    # B4: no PROTO, STACK_GLOBAL on protocol-0 STRING operands.
    b4 = asm(STRING("os"), STRING("getcwd"), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b4)
    check(called_getcwd(rec) and rec.error is None, "B4: CPython calls os.getcwd")
    check(op_names(b4)[0] == "STRING", "B4: no PROTO")
    out.append(case("b4_stack_global_no_proto.pkl", DATA, [GLOBAL_DENIED], "B4",
                    "no PROTO: STACK_GLOBAL at offset 0 over protocol-0 STRING operands "
                    "'os' 'getcwd', then REDUCE", b4))

    # B5: BUILD on a module rewrites its attributes; later STACK_GLOBALs read the strings back.
    b5 = asm(PROTO(4),
             SHORT_BINUNICODE("torch"), SHORT_BINUNICODE("_utils"), STACK_GLOBAL,
             EMPTY_DICT, MARK, SHORT_BINUNICODE("_rebuild_tensor"), SHORT_BINUNICODE("os"),
             SHORT_BINUNICODE("_rebuild_parameter"), SHORT_BINUNICODE("getcwd"), SETITEMS,
             BUILD, POP,
             SHORT_BINUNICODE("torch._utils"), SHORT_BINUNICODE("_rebuild_tensor"), STACK_GLOBAL,
             SHORT_BINUNICODE("torch._utils"), SHORT_BINUNICODE("_rebuild_parameter"),
             STACK_GLOBAL, STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b5)
    check(rec.builds == [("torch._utils", {"_rebuild_tensor": "os",
                                           "_rebuild_parameter": "getcwd"})],
          "B5: BUILD rewrites torch._utils attributes")
    check(called_getcwd(rec) and rec.error is None,
          "B5: the last STACK_GLOBAL resolves the planted strings to os.getcwd and calls it")
    out.append(case("b5_module_attribute_overwrite.pkl", WEIGHTS, [BUILD_DENIED], "B5",
                    "BUILD on module torch._utils sets _rebuild_tensor='os', "
                    "_rebuild_parameter='getcwd'; STACK_GLOBAL of the two rewritten (allow-listed "
                    "looking) names yields os.getcwd, called", b5))

    # B6: protocol >= 4 resolves dotted names by getattr walk.
    b6 = asm(PROTO(4), SHORT_BINUNICODE("pathlib"), SHORT_BINUNICODE("os.getcwd"), STACK_GLOBAL,
             EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b6)
    check(rec.resolved("pathlib", "os.getcwd") and rec.called("pathlib.os.getcwd"),
          "B6: CPython resolves pathlib + 'os.getcwd' and calls it")
    import os
    import pathlib
    check(pickle._getattribute(pathlib, "os.getcwd")[0] is os.getcwd,  # type: ignore[attr-defined]
          "B6: pathlib.os.getcwd is os.getcwd")
    out.append(case("b6_dotted_name.pkl", DATA, [GLOBAL_DENIED], "B6",
                    "protocol 4 STACK_GLOBAL 'pathlib' 'os.getcwd': the getattr walk resolves "
                    "os.getcwd, then REDUCE", b6))

    b6t = asm(PROTO(4), SHORT_BINUNICODE("torch"), SHORT_BINUNICODE("serialization.os.getcwd"),
              STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP)
    rec = record(b6t)
    check(rec.resolved("torch", "serialization.os.getcwd") and rec.error is None,
          "B6: torch + 'serialization.os.getcwd' resolves")
    import torch.serialization  # noqa: PLC0415
    check(pickle._getattribute(torch, "serialization.os.getcwd")[0]  # type: ignore[attr-defined]
          is os.getcwd, "B6: torch.serialization.os.getcwd is os.getcwd")
    out.append(case("b6_dotted_name_torch_prefix.pt", WEIGHTS, [GLOBAL_DENIED], "B6",
                    "torch.save zip whose data.pkl does STACK_GLOBAL 'torch' "
                    "'serialization.os.getcwd' (a torch-prefixed name that is os.getcwd), REDUCE",
                    torch_save_zip(b6t)))

    # B7: protocol < 3 renames (fix_imports).
    inner = PROTO0_GETCWD
    b7 = asm(PROTO(2), GLOBAL("cPickle", "loads"),
             call(GLOBAL("_codecs", "encode"), BINUNICODE(inner.decode("latin-1")),
                  BINUNICODE("latin1")),
             TUPLE1, REDUCE, STOP)
    rec = record(b7)
    check(rec.resolved("cPickle", "loads") and rec.called("cPickle.loads"),
          "B7: the stream names cPickle.loads and calls it")
    check(compat_name("cPickle", "loads") == ("pickle", "loads"),
          "B7: CPython maps cPickle.loads to pickle.loads at protocol 2")
    check(called_getcwd(record(inner)), "B7: the nested pickle calls os.getcwd")
    out.append(case("b7_compat_cpickle_loads.pkl", WEIGHTS, [GLOBAL_DENIED], "B7",
                    "protocol 2 GLOBAL 'cPickle loads' (fix_imports: pickle.loads) on "
                    "_codecs.encode bytes of a nested pickle calling os.getcwd", b7))

    b7b = asm(PROTO(2), call(GLOBAL("__builtin__", "eval"), BINUNICODE("len('sealpkg')")), STOP)
    rec = record(b7b)
    check(rec.called("__builtin__.eval") and compat_name("__builtin__", "eval")
          == ("builtins", "eval"), "B7: __builtin__.eval is builtins.eval at protocol 2")
    out.append(case("b7_compat_builtin_eval.pt", WEIGHTS, [GLOBAL_DENIED], "B7",
                    "torch.save zip; data.pkl: protocol 2 GLOBAL '__builtin__ eval' (renamed to "
                    "builtins.eval) called on \"len('sealpkg')\"", torch_save_zip(b7b)))

    # B8: an argument that straddles its FRAME. The C unpickler reading a file without peek()
    # (torch.load reads data.pkl through io.BytesIO) drops the frame's leftover bytes and reads
    # the argument from after the frame; pickletools reads linearly.
    hidden = asm(GLOBAL("os", "getcwd"), EMPTY_TUPLE, REDUCE, POP)
    b8 = asm(PROTO(4), FRAME(3), b"J\x00\x00", b"\x00\x00", SHORT_BINBYTES(hidden), STOP)
    rec = record(b8)  # C unpickler over io.BytesIO, as torch.load reads data.pkl
    check(called_getcwd(rec) and rec.error is None, "B8: C unpickler calls os.getcwd")
    check(not any(n in ("GLOBAL", "STACK_GLOBAL", "INST") for n in op_names(b8)),
          "B8: pickletools sees no GLOBAL")
    py = record(b8, impl="py")
    check(isinstance(py.error, pickle.UnpicklingError) and not py.globals,
          "B8: the pure-Python unpickler rejects the frame overrun")
    check(pickle.loads(b8) == hidden, "B8: in-memory loads reads linearly (returns the bytes)")
    out.append(case("b8_frame_straddle.pt", WEIGHTS, [FRAME_VIOLATION], "B8",
                    "torch.save zip; data.pkl: FRAME 3 holds BININT and 2 of its 4 bytes; the C "
                    "unpickler on io.BytesIO re-reads the int after the frame and runs the GLOBAL "
                    "os.getcwd REDUCE that pickletools sees inside SHORT_BINBYTES",
                    torch_save_zip(b8)))

    # B9: call through OBJ whose result is discarded.
    b9 = asm(PROTO(4), MARK, SHORT_BINUNICODE("os"), SHORT_BINUNICODE("getcwd"), STACK_GLOBAL,
             OBJ, POP, NONE, STOP)
    rec = record(b9)
    check(called_getcwd(rec) and rec.result is None, "B9: OBJ calls os.getcwd, result dropped")
    out.append(case("b9_obj_result_popped.pkl", WEIGHTS, [GLOBAL_DENIED], "B9",
                    "MARK os.getcwd OBJ POP: a call through OBJ whose result is discarded; the "
                    "pickle returns None", b9))

    # B10: INST is a global too.
    b10 = asm(MARK, STRING('len("sealpkg")'), INST("__builtin__", "eval"), STOP)
    rec = record(b10)
    check(rec.called("__builtin__.eval") and compat_name("__builtin__", "eval")
          == ("builtins", "eval"), "B10: INST calls builtins.eval")
    out.append(case("b10_inst.pkl", DATA, [GLOBAL_DENIED], "B10",
                    "protocol 0 INST '__builtin__ eval' (builtins.eval) on 'len(\"sealpkg\")'",
                    b10))

    # B11: extension codes index copyreg's registry.
    b11 = asm(PROTO(2), EXT1(1), EMPTY_TUPLE, REDUCE, STOP)
    registry = copyreg._inverted_registry  # type: ignore[attr-defined]
    check(1 not in registry, "B11: code 1 is unregistered here")
    rec = record(b11)
    check(isinstance(rec.error, ValueError) and "extension code" in str(rec.error),
          "B11: CPython resolves EXT1 through copyreg (unregistered here)")
    check("EXT1" in op_names(b11) and "GLOBAL" not in op_names(b11), "B11: no GLOBAL in sight")
    out.append(case("b11_ext1.pkl", WEIGHTS, [EXTENSION], "B11",
                    "EXT1 1 then REDUCE: calls whatever copyreg.add_extension registered as code "
                    "1 in the loading process; no GLOBAL for a scanner to see", b11))
    b11b = asm(PROTO(2), EXT2(0x1234), BINUNICODE("x"), TUPLE1, REDUCE, STOP)
    check("EXT2" in op_names(b11b), "B11: EXT2")
    out.append(case("b11_ext2.pt", WEIGHTS, [EXTENSION], "B11",
                    "torch.save zip; data.pkl: EXT2 0x1234 called with ('x',)",
                    torch_save_zip(b11b)))

    # B12: legacy file whose magic-number pickle computes the magic with eval.
    magic_eval = asm(PROTO(2), call(GLOBAL("builtins", "eval"),
                                    BINUNICODE(hex(LEGACY_MAGIC).upper().replace("X", "x"))), STOP)
    body = [magic_eval] + legacy_header_pickles()[1:] + [
        asm(PROTO(2), ordered_dict(), STOP), asm(PROTO(2), EMPTY_LIST, STOP)]
    b12 = legacy_torch_file(body)
    recs = record_all(b12)
    check(len(recs) == 5 and all(r.error is None for r in recs), "B12: five stacked pickles")
    check(recs[0].called("builtins.eval")
          and int(recs[0].calls[0][1][0], 16) == LEGACY_MAGIC,
          "B12: the first pickle evals the magic number literal")
    out.append(case("b12_legacy_eval_magic.pt", WEIGHTS, [GLOBAL_DENIED], "B12",
                    "legacy non-zip torch file whose magic-number pickle is "
                    "builtins.eval('0x1950A86A20F9469CFC6C'); then 1001, sys_info, an empty "
                    "OrderedDict and []", b12))

    # B13: stacked pickles, the payload in the second.
    benign = asm(PROTO(2), EMPTY_LIST, MARK, INT(1), INT(2), INT(3), APPENDS, STOP)
    b13 = benign + getcwd_payload()
    recs = record_all(b13)
    check(len(recs) == 2 and not recs[0].globals and called_getcwd(recs[1]),
          "B13: second pickle calls os.getcwd")
    out.append(case("b13_stacked_second_pickle.pkl", DATA, [GLOBAL_DENIED], "B13",
                    "two stacked pickles: [1, 2, 3] then GLOBAL os.getcwd REDUCE (a loader "
                    "calling pickle.load twice runs it)", b13))

    # B14: payload first, then a broken stream.
    b14a = asm(PROTO(2), call(GLOBAL("os", "getcwd")), b"\xff")
    rec = record(b14a)
    check(called_getcwd(rec) and isinstance(rec.error, pickle.UnpicklingError),
          "B14: os.getcwd runs before the invalid opcode")
    out.append(case("b14_payload_then_bad_opcode.pkl", WEIGHTS, [GLOBAL_DENIED, UNKNOWN_OPCODE],
                    "B14", "GLOBAL os.getcwd REDUCE, then byte 0xff (no such opcode) instead "
                    "of STOP: the call runs before the unpickler fails", b14a))
    b14b = asm(PROTO(2), call(GLOBAL("os", "getcwd")), b"X\x00\x10\x00\x00abc")
    rec = record(b14b)
    check(called_getcwd(rec) and rec.error is not None,
          "B14: os.getcwd runs before the truncated BINUNICODE")
    out.append(case("b14_payload_then_truncated.pt", WEIGHTS, [GLOBAL_DENIED, TRUNCATED], "B14",
                    "torch.save zip; data.pkl: GLOBAL os.getcwd REDUCE, then a BINUNICODE "
                    "declaring 4096 bytes with 3 present", torch_save_zip(b14b)))

    # B15: bytes after STOP.
    valid = asm(PROTO(2), EMPTY_DICT, BINUNICODE("ok"), NEWTRUE, SETITEM, STOP)
    b15 = valid + b"\n\n\t\t"
    check(pickle.loads(b15) == {"ok": True} and pickle_end(b15) == len(valid),
          "B15: loaders stop at STOP and ignore the rest")
    out.append(case("b15_trailing_bytes.pkl", DATA, [TRAILING], "B15",
                    "a valid pickle {'ok': True} followed by 4 bytes after STOP", b15))
    return out


# ---- 2.C container / file-type differentials ------------------------------------------------

def c_cases() -> List[Case]:
    out = []
    payload = getcwd_payload()
    check(called_getcwd(record(payload)), "payload calls os.getcwd")

    # C1: general-purpose flag bits.
    base = torch_save_zip(payload)
    for bit, what in ((0x1, "encrypted"), (0x20, "compressed patched data"),
                      (0x40, "strong encryption")):
        data = set_flag_bits(base, "archive/data.pkl", bit, local=True, central=True)
        err = zipfile_error(data, "archive/data.pkl")
        check(isinstance(err, (RuntimeError, NotImplementedError)),
              f"C1: zipfile refuses flag 0x{bit:x}")
        check(isinstance(torch_reader_record(data, "data.pkl"), Exception),
              f"C1: torch 1.13's reader refuses flag 0x{bit:x} too")
        out.append(case(f"c1_flag_0x{bit:02x}.pt", WEIGHTS, [ARCHIVE], "C1",
                        f"torch.save zip, data.pkl (os.getcwd) marked '{what}' (flag 0x{bit:x}) "
                        f"in local and central headers but stored in clear: zipfile and torch "
                        f"1.13 refuse it, scanners skip it, a relaxed reader loads it", data))
    data = set_flag_bits(base, "archive/data.pkl", 0x1, local=True, central=False)
    check(zip_read(data, "archive/data.pkl") == payload, "C1: zipfile ignores the local flag")
    check(torch_reader_record(data, "data.pkl") == payload, "C1: torch ignores the local flag")
    out.append(case("c1_flag_0x01_local_only.pt", WEIGHTS, [ARCHIVE], "C1",
                    "torch.save zip whose data.pkl (os.getcwd) local header says encrypted and "
                    "central record does not: zipfile and torch load it, a local-header reader "
                    "skips it", data))

    # C2: local header name differs from the central directory.
    data = bytearray(base)
    off = local_header_offset(base, "archive/data.pkl")
    check(bytes(data[off + 30:off + 46]) == b"archive/data.pkl", "C2: local name found")
    data[off + 30:off + 46] = b"archive/datap.kl"
    data = bytes(data)
    check(isinstance(zipfile_error(data, "archive/data.pkl"), zipfile.BadZipFile),
          "C2: zipfile refuses the name mismatch")
    check(torch_reader_record(data, "data.pkl") == payload, "C2: torch reads data.pkl anyway")
    out.append(case("c2_local_name_mismatch.pt", WEIGHTS, [ARCHIVE], "C2",
                    "torch.save zip: central directory says archive/data.pkl, its local header "
                    "archive/datap.kl; torch loads the os.getcwd pickle, zipfile raises", data))

    # C3: CRC-32 of the benign bytes, content of the payload.
    pad = len(payload) - len(asm(PROTO(2), EMPTY_DICT, STOP))
    check(pad % 2 == 0, "C3: padding by NONE/POP pairs")
    decoy = asm(PROTO(2), *([NONE, POP] * (pad // 2)), EMPTY_DICT, STOP)  # benign, same length
    check(len(decoy) == len(payload) and pickle.loads(decoy) == {}, "C3: benign decoy")
    data = bytearray(torch_save_zip(decoy))
    start = local_data_offset(bytes(data), "archive/data.pkl")
    data[start:start + len(payload)] = payload
    data = bytes(data)
    check(isinstance(zipfile_error(data, "archive/data.pkl"), zipfile.BadZipFile),
          "C3: zipfile raises Bad CRC-32")
    check(torch_reader_record(data, "data.pkl") == payload, "C3: torch does not check the CRC")
    out.append(case("c3_bad_crc.pt", WEIGHTS, [ARCHIVE], "C3",
                    "torch.save zip whose data.pkl bytes (os.getcwd) do not match the CRC-32 in "
                    "its headers (that of a benign pickle): torch loads it, zipfile raises", data))

    # C4: a protocol-4 pickle under a non-pickle name inside a package.
    p4 = asm(PROTO(4), SHORT_BINUNICODE("os"), SHORT_BINUNICODE("getcwd"), STACK_GLOBAL,
             EMPTY_TUPLE, REDUCE, STOP)
    check(called_getcwd(record(p4)), "C4: the pickle calls os.getcwd")
    out.append(case("c4_pickle_named_txt.pt", TORCHVISION, [GLOBAL_DENIED], "C4",
                    "torch.package zip with resource res/data.txt holding a protocol-4 pickle "
                    "calling os.getcwd (load_pickle('res', 'data.txt') runs it)",
                    package_zip([("res/data.txt", p4)])))

    # C5: a protocol-0 pickle (no \x80) in an extension-less entry.
    check(called_getcwd(record(PROTO0_GETCWD)) and PROTO0_GETCWD[:1] != b"\x80",
          "C5: protocol 0, no PROTO byte, calls os.getcwd")
    out.append(case("c5_proto0_no_extension.pt", TORCHVISION, [GLOBAL_DENIED], "C5",
                    "torch.package zip with resource model/weights = 'cos\\ngetcwd\\n(tR.' "
                    "(protocol 0, no PROTO byte, no extension)",
                    package_zip([("model/weights", PROTO0_GETCWD)])))

    # C6: a plain pickle named like a torch checkpoint.
    out.append(case("c6_pytorch_model.bin", WEIGHTS, [GLOBAL_DENIED], "C6",
                    "plain protocol-2 pickle calling os.getcwd named pytorch_model.bin "
                    "(not a zip, no legacy magic)", payload))

    # C7: the object pickle of a legacy file.
    legacy = legacy_torch_file(legacy_header_pickles()
                               + [payload, asm(PROTO(2), EMPTY_LIST, STOP)])
    recs = record_all(legacy)
    check(len(recs) == 5 and recs[0].result == LEGACY_MAGIC and called_getcwd(recs[3])
          and recs[4].result == [], "C7: magic, 1001, sys_info, payload, []")
    out.append(case("c7_legacy_object_pickle.pt", WEIGHTS, [GLOBAL_DENIED], "C7",
                    "legacy non-zip torch file: magic, 1001, sys_info, then an object pickle "
                    "calling os.getcwd, then [] (scanners reading only the magic pass it)",
                    legacy))

    # C8: the pre-0.1.10 tar format.
    count0 = asm(PROTO(2), INT(0), STOP)
    tar = tar_bytes([("storages", count0), ("tensors", count0), ("pickle", payload)])
    check(tarfile.is_tarfile(io.BytesIO(tar)), "C8: a tar")
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        member = tf.extractfile("pickle")
        check(tf.getnames() == ["storages", "tensors", "pickle"] and member is not None
              and called_getcwd(record(member.read())),
              "C8: torch's legacy tar members, pickle calls os.getcwd")
    out.append(case("c8_legacy_tar.pt", WEIGHTS, [UNKNOWN_FORMAT], "C8",
                    "legacy tar torch file (members storages, tensors, pickle) whose pickle "
                    "calls os.getcwd; torch.load still tries tarfile first", tar))

    # C9: a 7z archive.
    sz = sevenzip_bytes("archive/data.pkl", payload)
    check(sz.startswith(b"7z\xbc\xaf\x27\x1c") and payload in sz, "C9: 7z signature")
    out.append(case("c9_7z.pt", WEIGHTS, [UNKNOWN_FORMAT], "C9",
                    "7z archive (COPY coder) holding archive/data.pkl that calls os.getcwd",
                    sz))

    # C10: a zip inside a zip.
    inner = torch_save_zip(payload)
    outer = package_zip([("res/weights.zip", inner),
                         ("res/model.pkl", asm(PROTO(3), EMPTY_DICT, STOP))])
    check(zip_read(zip_read(outer, "pkg/res/weights.zip"), "archive/data.pkl") == payload,
          "C10: the inner zip holds the payload")
    out.append(case("c10_nested_zip.pt", TORCHVISION, [NESTED], "C10",
                    "torch.package zip whose resource res/weights.zip is a torch.save zip with a "
                    "data.pkl calling os.getcwd", outer))

    # C11: names that extension-gated scanners never open.
    for file, what, data in (
        ("c11_checkpoint.pth.tar", "torch.save zip named *.pth.tar", torch_save_zip(payload)),
        ("c11_checkpoint.metadata", "raw pickle named like a torch.distributed checkpoint "
         "'.metadata'", payload),
        ("c11___0_0.distcp", "raw pickle named like a torch.distributed shard", payload),
        ("c11_no_extension", "torch.save zip without an extension", torch_save_zip(payload)),
    ):
        out.append(case(file, WEIGHTS, [GLOBAL_DENIED], "C11",
                        f"{what}; the pickle calls os.getcwd", data))

    # C12: a nested torch.save zip carried as bytes into torch.storage._load_from_bytes.
    c12 = asm(PROTO(2), call(GLOBAL("torch.storage", "_load_from_bytes"), BINBYTES(inner)), STOP)
    rec = record(c12)
    check(rec.called("torch.storage._load_from_bytes")
          and rec.calls[0][1][0] == inner, "C12: _load_from_bytes(<zip>)")
    out.append(case("c12_load_from_bytes.pkl", WEIGHTS, [GLOBAL_DENIED], "C12",
                    "GLOBAL torch.storage._load_from_bytes on BINBYTES of a torch.save zip whose "
                    "data.pkl calls os.getcwd (torch.load with weights_only=False)", c12))

    out.append(c13_torchscript())

    # C14: .npy object array.
    npy = npy_object_array(asm(PROTO(3), call(GLOBAL("os", "getcwd")), STOP))
    import numpy  # noqa: PLC0415

    stream = io.BytesIO(npy)
    check(numpy.lib.format.read_magic(stream) == (1, 0), "C14: npy 1.0")
    shape, fortran, dtype = numpy.lib.format.read_array_header_1_0(stream)
    check(shape == (1,) and not fortran and dtype == numpy.dtype(object), "C14: object array")
    check(called_getcwd(record(npy[stream.tell():])), "C14: the array data pickle calls getcwd")
    out.append(case("c14_object_array.npy", DATA, [GLOBAL_DENIED], "C14",
                    ".npy of dtype object whose data pickle calls os.getcwd "
                    "(np.load(allow_pickle=True))", npy))

    # C15: a member really encrypted with ZipCrypto.
    crc = zlib.crc32(payload)
    enc = zipcrypto_encrypt(payload, b"sealpkg", crc >> 24)
    c15 = raw_zip([
        {"name": "archive/data.pkl", "data": enc, "crc": crc, "size": len(payload),
         "method": 0, "flags": 0x1},
        {"name": "archive/version", "data": b"3\n", "crc": zlib.crc32(b"3\n"), "size": 2,
         "method": 0, "flags": 0},
    ])
    check(isinstance(zipfile_error(c15, "archive/data.pkl"), RuntimeError),
          "C15: zipfile needs a password")
    check(zip_read(c15, "archive/data.pkl", pwd=b"sealpkg") == payload,
          "C15: the password 'sealpkg' decrypts the os.getcwd pickle")
    check(isinstance(torch_reader_record(c15, "data.pkl"), Exception),
          "C15: torch's reader cannot open it either")
    out.append(case("c15_encrypted_member.pt", WEIGHTS, [ARCHIVE], "C15",
                    "torch.save-style zip whose data.pkl (os.getcwd) is ZipCrypto-encrypted "
                    "(password 'sealpkg'): neither torch nor a scanner can read it; fail closed",
                    c15))

    # C16: a deflate bomb as the storage record.
    literals, copies = 4, 32768
    size = literals + 258 * copies
    bomb = zeros_deflate(literals, copies)
    inflated = zlib.decompress(bomb, -15)
    check(len(inflated) == size and not any(inflated), "C16: inflates to zeros")
    numel = size // 4
    c16_pkl = asm(PROTO(2), tensor("0", numel, [numel]), STOP)
    c16 = raw_zip([
        {"name": "archive/data.pkl", "data": c16_pkl, "crc": zlib.crc32(c16_pkl),
         "size": len(c16_pkl), "method": 0, "flags": 0},
        {"name": "archive/data/0", "data": bomb, "crc": zlib.crc32(inflated), "size": size,
         "method": 8, "flags": 0},
        {"name": "archive/version", "data": b"3\n", "crc": zlib.crc32(b"3\n"), "size": 2,
         "method": 0, "flags": 0},
    ])
    check(zip_read(c16, "archive/data/0") == inflated, "C16: zipfile inflates it")
    check(torch_reader_record(c16, "data/0") == inflated, "C16: torch's reader inflates it")
    out.append(case("c16_deflate_bomb.pt", WEIGHTS, [ARCHIVE], "C16",
                    f"torch.save-style zip whose archive/data/0 is DEFLATE, {len(bomb)} bytes "
                    f"inflating to {size} zeros (ratio {size // len(bomb)}:1); torch never "
                    f"compresses storages", c16))
    return out


def c13_torchscript() -> Case:
    """torch.jit.save of a scripted stock module, repacked STORED without debug records (they
    hold installation paths) so the bytes are the same on every machine."""
    import torch  # noqa: PLC0415

    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.PReLU(4), torch.nn.ReLU()))
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        records = [(i.filename.split("/", 1)[1], zf.read(i)) for i in zf.infolist()
                   if not i.filename.endswith(".debug_pkl")]
    data = zip_bytes([(f"archive/{name}", content) for name, content in records])
    names = [n for n, _ in records]
    check("constants.pkl" in names and any(n.startswith("code/") for n in names),
          "C13: a TorchScript archive (constants.pkl, code/)")
    x = torch.tensor([[-2.0, -1.0, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = torch.load(io.BytesIO(data), weights_only=True)
    check(isinstance(loaded, torch.jit.ScriptModule) and torch.equal(loaded(x), scripted(x)),
          "C13: torch 1.13's torch.load(weights_only=True) dispatches to torch.jit.load")
    return case("c13_torchscript.pt", WEIGHTS, [TORCHSCRIPT], "C13",
                "torch.jit.save archive (scripted PReLU+ReLU, constants.pkl + code/): "
                "torch.load(weights_only=True) in 1.13 hands it to torch.jit.load "
                "(CVE-2025-32434)", data)


# ---- 2.D weights_only bypasses --------------------------------------------------------------

def d_cases() -> List[Case]:
    import torch  # noqa: PLC0415

    out = []
    floats = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)

    setitem = asm(PROTO(2), tensor("0", 4, [4]), INT(0), INT(42), SETITEM, STOP)
    rec = record(setitem)
    check(rec.called("torch._utils._rebuild_tensor_v2")
          and rec.setitems == [("torch._utils._rebuild_tensor_v2()", 0, 42)],
          "2.D: SETITEM applies to the rebuilt tensor")
    data = torch_save_zip(setitem, {"0": floats})
    loaded = torch.load(io.BytesIO(data), weights_only=True)
    check(torch.equal(loaded, torch.tensor([42.0, 2.0, 3.0, 4.0])),
          "2.D: torch 1.13 weights_only applies SETITEM to a tensor (no type check)")
    out.append(case("d_setitem_on_tensor.pt", WEIGHTS, [MUTATION_DENIED], "2.D",
                    "torch.save zip: _rebuild_tensor_v2 (4 floats, consistent storage) then "
                    "SETITEM 0 = 42 on the tensor; torch 1.13 weights_only performs the write "
                    "(CVE-2026-24747)", data))

    big = 1 << 20
    overflow = asm(PROTO(2), tensor("0", big, [big]), STOP)
    rec = record(overflow)
    check(rec.pids and rec.pids[0][4] == big, "2.D: the storage declares 2^20 floats")
    out.append(case("d_storage_numel_exceeds_record.pt", WEIGHTS, [STORAGE_MISMATCH], "2.D",
                    f"torch.save zip: storage '0' declared as {big} floats ({4 * big} bytes) "
                    f"with a 16-byte archive/data/0 record (out-of-bounds read)",
                    torch_save_zip(overflow, {"0": floats})))

    both = asm(PROTO(2), tensor("0", big, [big]), MARK, INT(big - 1), INT(1), SETITEMS,
               STOP)
    rec = record(both)
    check(rec.setitems == [("torch._utils._rebuild_tensor_v2()", big - 1, 1)],
          "2.D: SETITEMS writes the last declared element")
    out.append(case("d_setitems_past_record.pt", WEIGHTS, [STORAGE_MISMATCH, MUTATION_DENIED],
                    "2.D", f"torch.save zip: storage declared {big} floats over a 16-byte record, "
                    f"then SETITEMS [{big - 1}] = 1 on the tensor (heap write past the record)",
                    torch_save_zip(both, {"0": floats})))

    traversal = asm(PROTO(2), tensor("../../version", 4, [4]), STOP)
    out.append(case("d_storage_key_traversal.pt", WEIGHTS, [STORAGE_MISMATCH], "2.D",
                    "torch.save zip whose storage key is '../../version' (names a record "
                    "outside archive/data/)", torch_save_zip(traversal, {"0": floats})))

    missing = asm(PROTO(2), tensor("7", 4, [4]), STOP)
    out.append(case("d_storage_key_missing.pt", WEIGHTS, [STORAGE_MISMATCH], "2.D",
                    "torch.save zip whose tensor names storage '7'; only archive/data/0 exists",
                    torch_save_zip(missing, {"0": floats})))

    pkg = asm(PROTO(3), EMPTY_DICT, BINUNICODE("weight"),
              tensor(0, 4096, [64, 64], package=True), SETITEM, STOP)
    rec = record(pkg)
    check(rec.pids and rec.pids[0][2] == 0 and rec.pids[0][4] == 4096,
          "2.D: torch.package storage pid with int key 0")
    out.append(case("d_package_storage_numel_exceeds_record.pt", TORCHVISION, [STORAGE_MISMATCH],
                    "2.D", "torch.package zip: res/model.pkl {'weight': 64x64 float tensor} over "
                    "storage 0 whose .data/0.storage holds 16 bytes, not 16384",
                    package_zip([("res/model.pkl", pkg), (".data/0.storage", floats)],
                                extern=["torch"])))
    return out


# ---- 2.E torch.package surfaces -------------------------------------------------------------

def e_cases() -> List[Case]:
    out = []
    module_pickle = asm(PROTO(3), GLOBAL("torchvision.models.resnet", "ResNet"), EMPTY_TUPLE,
                        NEWOBJ, EMPTY_DICT, BUILD, STOP)
    rec = record(module_pickle, classes=["torchvision.models.resnet.ResNet"])
    check(rec.resolved("torchvision.models.resnet", "ResNet") and rec.error is None
          and rec.called("torchvision.models.resnet.ResNet")
          and rec.builds == [("torchvision.models.resnet.ResNet()", {})],
          "2.E: the pickle imports torchvision.models.resnet from the package, NEWOBJ, BUILD")
    resnet_subprocess = (
        b'"""ResNet (packaged)."""\n'
        b"import subprocess\n\n"
        b"from torch import nn\n\n"
        b'_REVISION = subprocess.list2cmdline(["resnet", "v1.5"])\n\n\n'
        b"class ResNet(nn.Module):\n"
        b"    pass\n"
    )
    compile(resnet_subprocess, "resnet.py", "exec")
    out.append(case("e_interned_module_subprocess.pt", TORCHVISION,
                    [SOURCE_MISMATCH, IMPORT_DENIED, EXTERN_DENIED], "2.E-interned-module",
                    "torch.package whose interned torchvision/models/resnet.py does "
                    "'import subprocess' at module level (extern subprocess); res/model.pkl "
                    "GLOBAL torchvision.models.resnet ResNet imports and runs it",
                    package_zip([("torchvision/__init__.py", b""),
                                 ("torchvision/models/__init__.py", b""),
                                 ("torchvision/models/resnet.py", resnet_subprocess),
                                 ("res/model.pkl", module_pickle)],
                                extern=["torch", "subprocess"])))

    misc_ctypes = (
        b"import ctypes\n"
        b"import os\n\n"
        b"from torch import nn\n\n"
        b"_LIBC = ctypes.CDLL(None)\n"
        b"_CWD = os.getcwd()\n\n\n"
        b"class ResNet(nn.Module):\n"
        b"    pass\n"
    )
    compile(misc_ctypes, "resnet.py", "exec")
    # builtin:torchvision allows `ctypes` and `os` (torchvision itself uses them to load its ops);
    # the pinned sources and the attribute allow-list (no ctypes.CDLL) catch the swap.
    out.append(case("e_interned_module_ctypes.pt", TORCHVISION, [SOURCE_MISMATCH, ATTRIBUTE_DENIED],
                    "2.E-interned-module",
                    "torch.package whose interned torchvision/models/resnet.py imports ctypes, "
                    "loads CDLL(None) and calls os.getcwd() at import; res/model.pkl GLOBAL "
                    "torchvision.models.resnet ResNet",
                    package_zip([("torchvision/__init__.py", b""),
                                 ("torchvision/models/__init__.py", b""),
                                 ("torchvision/models/resnet.py", misc_ctypes),
                                 ("res/model.pkl", module_pickle)],
                                extern=["torch", "ctypes", "os"])))

    # ("reduce_package", id, func, args): PackageImporter calls func(importer, *args).
    reduce_pkg = asm(PROTO(3),
                     MARK, BINUNICODE("reduce_package"), INT(0),
                     GLOBAL("builtins", "getattr"), BINUNICODE("import_module"), TUPLE1, TUPLE,
                     BINPERSID,
                     BINUNICODE("helpers"), TUPLE1, REDUCE, STOP)
    rec = record(reduce_pkg)
    check(len(rec.pids) == 1 and rec.pids[0][0] == "reduce_package"
          and repr(rec.pids[0][2]) == "<stub builtins.getattr>"
          and rec.pids[0][3] == ("import_module",), "2.E: reduce_package pid with getattr")
    check(rec.calls and rec.calls[-1][1] == ("helpers",),
          "2.E: the pid's value (importer.import_module) is called with 'helpers'")
    helpers = b"import os\n\nCWD = os.getcwd()\n"
    out.append(case("e_reduce_package_pid.pt", WEIGHTS, [PID_DENIED], "2.E-reduce_package",
                    "torch.package: res/model.pkl BINPERSID ('reduce_package', 0, "
                    "builtins.getattr, ('import_module',)) gives importer.import_module, then "
                    "REDUCE imports the packaged helpers.py (os.getcwd)",
                    package_zip([("helpers.py", helpers), ("res/model.pkl", reduce_pkg)],
                                extern=["os"])))

    unknown = asm(PROTO(3), EMPTY_DICT, BINUNICODE("weight"),
                  MARK, BINUNICODE("sealpkg_unknown"), INT(1), TUPLE, BINPERSID, SETITEM, STOP)
    rec = record(unknown)
    check(rec.pids == [("sealpkg_unknown", 1)], "2.E: unknown persistent id type")
    out.append(case("e_unknown_persistent_id.pt", TORCHVISION, [PID_DENIED], "2.E-unknown-pid",
                    "torch.package: res/model.pkl {'weight': BINPERSID ('sealpkg_unknown', 1)}; "
                    "PackageImporter silently yields None for unknown types",
                    package_zip([("res/model.pkl", unknown)])))

    benign = asm(PROTO(3), EMPTY_DICT, BINUNICODE("step"), INT(3), SETITEM, STOP)
    check(pickle.loads(benign) == {"step": 3}, "2.E: benign pickle")
    # torchvision's own code needs `os` from the host, so builtin:torchvision allows that extern;
    # weights-only allows no extern at all.
    for mod, policy in (("os", WEIGHTS), ("subprocess", TORCHVISION)):
        out.append(case(f"e_extern_{mod}.pt", policy, [EXTERN_DENIED], "2.E-extern",
                        f"torch.package whose .data/extern_modules lists '{mod}' (a module the "
                        f"package may import from the host); res/model.pkl is benign",
                        package_zip([("res/model.pkl", benign)], extern=["torch", mod])))

    out.append(case("e_data_source.pt", TORCHVISION, [DATA_SOURCE], "2.E-data-source",
                    "torch.package with a Python source .data/evil.py (import os; os.getcwd()) "
                    "hidden in the framework folder",
                    package_zip([("res/model.pkl", benign),
                                 (".data/evil.py", b"import os\n\nos.getcwd()\n")])))
    return out


# ---- 2.A deny-list gaps ---------------------------------------------------------------------

def a_cases() -> List[Case]:
    os_module = GLOBAL("posixpath", "os")  # posixpath imports os: GLOBAL yields the os module
    gaps = [
        ("a_pkgutil_resolve_name.pkl", WEIGHTS, "pkgutil.resolve_name('os:getcwd')()",
         call(call(GLOBAL("pkgutil", "resolve_name"), BINUNICODE("os:getcwd"))),
         "pkgutil.resolve_name"),
        ("a_functools_partial.pkl", WEIGHTS, "functools.partial(os.getcwd)()",
         call(call(GLOBAL("functools", "partial"), GLOBAL("os", "getcwd"))), "functools.partial"),
        ("a_importlib_import_module.pkl", WEIGHTS,
         "builtins.getattr(importlib.import_module('os'), 'getcwd')()",
         call(call(GLOBAL("builtins", "getattr"),
                   call(GLOBAL("importlib", "import_module"), BINUNICODE("os")),
                   BINUNICODE("getcwd"))), "importlib.import_module"),
        ("a_operator_attrgetter.pkl", WEIGHTS,
         "_operator.attrgetter('getcwd')(posixpath.os)() (GLOBAL posixpath os is the os module)",
         call(call(call(GLOBAL("_operator", "attrgetter"), BINUNICODE("getcwd")), os_module)),
         "_operator.attrgetter"),
        ("a_operator_methodcaller.pkl", DATA, "_operator.methodcaller('getcwd')(posixpath.os)",
         call(call(GLOBAL("_operator", "methodcaller"), BINUNICODE("getcwd")), os_module),
         "_operator.methodcaller"),
        ("a_pydoc_locate.pkl", DATA, "pydoc.locate('os.getcwd')()",
         call(call(GLOBAL("pydoc", "locate"), BINUNICODE("os.getcwd"))), "pydoc.locate"),
        ("a_builtins_import.pkl", DATA, "builtins.getattr(builtins.__import__('os'), 'getcwd')()",
         call(call(GLOBAL("builtins", "getattr"),
                   call(GLOBAL("builtins", "__import__"), BINUNICODE("os")),
                   BINUNICODE("getcwd"))), "builtins.__import__"),
        ("a_timeit_timeit.pkl", WEIGHTS,
         "timeit.timeit(\"len('sealpkg')\", 'pass', time.perf_counter, 1) compiles and runs "
         "a source string",
         call(GLOBAL("timeit", "timeit"), BINUNICODE("len('sealpkg')"), BINUNICODE("pass"),
              GLOBAL("time", "perf_counter"), INT(1)), "timeit.timeit"),
    ]
    out = []
    for file, policy, what, body, gadget in gaps:
        data = asm(PROTO(2), body, STOP)
        rec = record(data)
        module, _, name = gadget.rpartition(".")
        check(rec.error is None and rec.resolved(module, name) and rec.called(gadget),
              f"2.A: {file} calls {gadget}")
        out.append(case(file, policy, [GLOBAL_DENIED], "2.A", f"deny-list gap: {what}", data))
    return out


# ---------------------------------------------------------------------------------------------

def known_codes() -> Optional[set]:
    try:
        text = FINDING_H.read_text()
    except OSError:
        return None
    return set(re.findall(r'inline constexpr std::string_view \w+ = "([^"]+)";', text))


def all_cases() -> List[Case]:
    cases = b_cases() + c_cases() + d_cases() + e_cases() + a_cases()
    names = [c.file for c in cases]
    check(len(set(names)) == len(names), "duplicate file names")
    codes = known_codes()
    total = 0
    for c in cases:
        check(c.file not in (TABLE, "README.md", "generate.py"), f"{c.file}: reserved name")
        check(c.policy in POLICIES, f"{c.file}: policy {c.policy}")
        check(bool(c.codes) and (codes is None or set(c.codes) <= codes),
              f"{c.file}: codes {c.codes} not all in verifier/finding.h")
        for text in (c.description, c.attack):
            check("\t" not in text and "\n" not in text, f"{c.file}: one line, no tabs")
        check(len(c.data) < MAX_FILE_BYTES, f"{c.file}: {len(c.data)} bytes")
        total += len(c.data)
    check(total < MAX_TOTAL_BYTES, f"corpus is {total} bytes")
    return cases


def write(out: Path) -> List[str]:
    out.mkdir(parents=True, exist_ok=True)
    cases = all_cases()
    for c in cases:
        (out / c.file).write_bytes(c.data)
    rows = ["file\tpolicy\texpect\tcodes\tattack\tdescription"] + [c.row() for c in cases]
    (out / TABLE).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [c.file for c in cases] + [TABLE]


def generated_here(folder: Path) -> set:
    """Files in `folder` that look generated: everything but this script and the README."""
    return {p.name for p in folder.iterdir()
            if p.is_file() and p.name not in ("generate.py", "README.md")
            and not p.name.startswith(".")}


def check_committed(committed: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        expected = set(write(fresh))
        present = generated_here(committed)
        problems = [f"missing: {n}" for n in sorted(expected - present)]
        problems += [f"not produced by generate.py: {n}" for n in sorted(present - expected)]
        for name in sorted(expected & present):
            if (committed / name).read_bytes() != (fresh / name).read_bytes():
                problems.append(f"differs from a fresh run: {name}")
    for p in problems:
        print(f"generate.py --check: {p}", file=sys.stderr)
    if problems:
        print("run `/usr/bin/python3 generate.py` and commit the result", file=sys.stderr)
        return 1
    print(f"generate.py --check: {len(expected)} files match")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed files with a fresh run; exit 1 on a difference")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = parser.parse_args()
    if args.check:
        return check_committed(args.out)
    written = write(args.out)
    size = sum((args.out / n).stat().st_size for n in written[:-1])
    print(f"wrote {len(written) - 1} files ({size} bytes) and {TABLE} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
