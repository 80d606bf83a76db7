#!/usr/bin/env python3
"""Generates the golden table of hostile and broken ZIP archives for sealpkg's strict reader.

Every case starts from a valid archive laid out exactly as archive/zip_writer.cc (and torch's
miniz writer) lays it out, then changes one thing. The output is one <case>.zip per case plus
cases.tsv, which names the ErrorCode and reason (archive/errors.h) the reader must return, and
the ArchiveLimits overrides to parse with. tests/archive/malformed_golden_test.cc checks the
table; `generate.py --check` proves the committed bytes still come from this script.

Standard library only, and deterministic: DEFLATE streams are fixed constants (checked by
inflating them) so that a different zlib compressor cannot change the bytes.

    python3 generate.py            # rewrite the .zip files and cases.tsv next to this script
    python3 generate.py --check    # exit 1 if the committed files differ from a fresh run
"""

from __future__ import annotations

import argparse
import dataclasses
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TABLE = "cases.tsv"

# Signatures and constants (PKWARE APPNOTE 6.3.x; archive/internal/zip_format.h).
LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
DESCRIPTOR_SIG = 0x08074B50
EOCD_SIG = 0x06054B50
ZIP64_END_SIG = 0x06064B50
ZIP64_LOCATOR_SIG = 0x07064B50

FLAG_ENCRYPTED = 0x0001
FLAG_DESCRIPTOR = 0x0008
FLAG_PATCHED = 0x0020
FLAG_STRONG_ENCRYPTION = 0x0040
FLAG_UTF8 = 0x0800

STORED = 0
DEFLATE = 8
BZIP2 = 12

EXTRA_ZIP64 = 0x0001
EXTRA_PADDING = 0x4246  # "FB": torch/miniz data alignment
EXTRA_UNIX_TIME = 0x5455  # "UT": what Info-ZIP adds
ALIGNMENT = 64
SENTINEL32 = 0xFFFFFFFF
SENTINEL16 = 0xFFFF

# A field override: a replacement value, or a function of the value the builder would write.
Override = Any


def _apply(fields: dict[str, Any], overrides: dict[str, Override], what: str) -> dict[str, Any]:
    out = dict(fields)
    for key, value in overrides.items():
        if key not in out:
            raise KeyError(f"{what} has no field {key!r}")
        out[key] = value(out[key]) if callable(value) else value
    return out


# ---------------------------------------------------------------------------------------------
# Records. Every length field defaults to the length of what follows but can be overridden.


def local_header(
    *,
    sig: int,
    version: int,
    flags: int,
    method: int,
    time: int,
    date: int,
    crc: int,
    comp: int,
    uncomp: int,
    name: bytes,
    extra: bytes,
    name_len: int | None = None,
    extra_len: int | None = None,
) -> bytes:
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            sig,
            version,
            flags,
            method,
            time,
            date,
            crc,
            comp,
            uncomp,
            len(name) if name_len is None else name_len,
            len(extra) if extra_len is None else extra_len,
        )
        + name
        + extra
    )


def central_record(
    *,
    sig: int,
    made_by: int,
    version: int,
    flags: int,
    method: int,
    time: int,
    date: int,
    crc: int,
    comp: int,
    uncomp: int,
    name: bytes,
    extra: bytes,
    comment: bytes,
    disk: int,
    internal: int,
    external: int,
    offset: int,
    name_len: int | None = None,
    extra_len: int | None = None,
    comment_len: int | None = None,
) -> bytes:
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            sig,
            made_by,
            version,
            flags,
            method,
            time,
            date,
            crc,
            comp,
            uncomp,
            len(name) if name_len is None else name_len,
            len(extra) if extra_len is None else extra_len,
            len(comment) if comment_len is None else comment_len,
            disk,
            internal,
            external,
            offset,
        )
        + name
        + extra
        + comment
    )


def data_descriptor(crc: int, comp: int, uncomp: int, *, wide: bool = False) -> bytes:
    if wide:
        return struct.pack("<IIQQ", DESCRIPTOR_SIG, crc, comp, uncomp)
    return struct.pack("<IIII", DESCRIPTOR_SIG, crc, comp, uncomp)


def extra_field(field_id: int, data: bytes, *, length: int | None = None) -> bytes:
    return struct.pack("<HH", field_id, len(data) if length is None else length) + data


def padding_field(n: int) -> bytes:
    """torch's alignment padding: an 'FB' extra of n 'Z' bytes."""
    return extra_field(EXTRA_PADDING, b"Z" * n)


def zip64_end_record(
    *,
    sig: int,
    size: int,
    made_by: int,
    version: int,
    disk: int,
    cd_disk: int,
    count_on_disk: int,
    count: int,
    cd_size: int,
    cd_offset: int,
) -> bytes:
    return struct.pack(
        "<IQHHIIQQQQ",
        sig,
        size,
        made_by,
        version,
        disk,
        cd_disk,
        count_on_disk,
        count,
        cd_size,
        cd_offset,
    )


def zip64_locator(*, sig: int, disk: int, record: int, total_disks: int) -> bytes:
    return struct.pack("<IIQI", sig, disk, record, total_disks)


def end_record(
    *,
    sig: int,
    disk: int,
    cd_disk: int,
    count_on_disk: int,
    count: int,
    cd_size: int,
    cd_offset: int,
    comment: bytes,
    comment_len: int | None = None,
) -> bytes:
    return (
        struct.pack(
            "<IHHHHIIH",
            sig,
            disk,
            cd_disk,
            count_on_disk,
            count,
            cd_size,
            cd_offset,
            len(comment) if comment_len is None else comment_len,
        )
        + comment
    )


# ---------------------------------------------------------------------------------------------
# Archives.


@dataclasses.dataclass
class Entry:
    """One record. Defaults give exactly what archive/zip_writer.cc writes for it."""

    name: bytes
    content: bytes  # uncompressed bytes (CRC and uncompressed size come from these)
    method: int = STORED
    data: bytes | None = None  # bytes in the file; required for DEFLATE
    version: int = 0  # version needed, local and central
    flags: int | None = None  # 0x0808, or 0x0800 for an empty STORED record (no descriptor)
    local: dict[str, Override] = dataclasses.field(default_factory=dict)
    central: dict[str, Override] = dataclasses.field(default_factory=dict)
    local_extra: bytes = b""  # extra fields before the 'FB' padding
    padding: Callable[[int], bytes] = padding_field  # padding count -> the 'FB' field
    descriptor: bytes | None = None  # replaces the computed data descriptor
    span: Callable[[bytes], bytes] | None = None  # rewrites header+data+descriptor
    after: bytes = b""  # bytes after this entry's span
    has_local: bool = True  # False: central record only, nothing written in the body

    def stored_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.method != STORED:
            raise ValueError(f"{self.name!r}: DEFLATE entries need their data")
        return self.content

    def effective_flags(self) -> int:
        if self.flags is not None:
            return self.flags
        if self.method == STORED and not self.content:
            return FLAG_UTF8
        return FLAG_UTF8 | FLAG_DESCRIPTOR


@dataclasses.dataclass
class Layout:
    entries: list[Entry]
    before: bytes = b""  # bytes before the first entry
    before_cd: bytes = b""  # bytes between the last entry and the central directory
    cd_tail: bytes = b""  # bytes at the end of the central directory (counted in its size)
    zip64: bool = True  # torch always writes the ZIP64 end record and locator
    zip64_end: dict[str, Override] = dataclasses.field(default_factory=dict)
    locator: dict[str, Override] = dataclasses.field(default_factory=dict)
    eocd: dict[str, Override] = dataclasses.field(default_factory=dict)
    trailer: bytes = b""  # bytes after the end record


@dataclasses.dataclass
class Built:
    data: bytes
    header_offsets: list[int]
    data_offsets: list[int]
    cd_offset: int
    cd_size: int


def build(layout: Layout) -> Built:
    out = bytearray(layout.before)
    centrals: list[dict[str, Any]] = []
    header_offsets: list[int] = []
    data_offsets: list[int] = []
    for e in layout.entries:
        offset = len(out)
        stored = e.stored_bytes()
        flags = e.effective_flags()
        crc = zlib.crc32(e.content)
        streaming = bool(flags & FLAG_DESCRIPTOR)
        fields = _apply(
            {
                "sig": LOCAL_SIG,
                "version": e.version,
                "flags": flags,
                "method": e.method,
                "time": 0,
                "date": 0,
                "crc": 0 if streaming else crc,
                "comp": 0 if streaming else len(stored),
                "uncomp": 0 if streaming else len(e.content),
                "name": e.name,
                "extra": None,
                "name_len": None,
                "extra_len": None,
            },
            e.local,
            "local header",
        )
        if fields["extra"] is None:
            unpadded = offset + 30 + len(fields["name"]) + len(e.local_extra) + 4
            fields["extra"] = e.local_extra + e.padding((-unpadded) % ALIGNMENT)
        header = local_header(**fields)
        if e.descriptor is not None:
            tail = e.descriptor
        elif streaming:
            tail = data_descriptor(crc, len(stored), len(e.content))
        else:
            tail = b""
        span = header + stored + tail
        if e.span is not None:
            span = e.span(span)
        if e.has_local:
            out += span
            data_offsets.append(offset + len(header))
        else:
            data_offsets.append(-1)
        header_offsets.append(offset)
        out += e.after
        centrals.append(
            _apply(
                {
                    "sig": CENTRAL_SIG,
                    "made_by": 0,
                    "version": e.version,
                    "flags": flags,
                    "method": e.method,
                    "time": 0,
                    "date": 0,
                    "crc": crc,
                    "comp": len(stored),
                    "uncomp": len(e.content),
                    "name": e.name,
                    "extra": b"",
                    "comment": b"",
                    "disk": 0,
                    "internal": 0,
                    "external": 0,
                    "offset": offset,
                    "name_len": None,
                    "extra_len": None,
                    "comment_len": None,
                },
                e.central,
                "central record",
            )
        )
    out += layout.before_cd
    cd_offset = len(out)
    cd = b"".join(central_record(**c) for c in centrals) + layout.cd_tail
    out += cd
    count = len(layout.entries)
    if layout.zip64:
        record = len(out)
        out += zip64_end_record(
            **_apply(
                {
                    "sig": ZIP64_END_SIG,
                    "size": 56 - 12,
                    "made_by": 0x031E,
                    "version": 45,
                    "disk": 0,
                    "cd_disk": 0,
                    "count_on_disk": count,
                    "count": count,
                    "cd_size": len(cd),
                    "cd_offset": cd_offset,
                },
                layout.zip64_end,
                "ZIP64 end record",
            )
        )
        out += zip64_locator(
            **_apply(
                {"sig": ZIP64_LOCATOR_SIG, "disk": 0, "record": record, "total_disks": 1},
                layout.locator,
                "ZIP64 locator",
            )
        )
    out += end_record(
        **_apply(
            {
                "sig": EOCD_SIG,
                "disk": 0,
                "cd_disk": 0,
                "count_on_disk": min(count, SENTINEL16),
                "count": min(count, SENTINEL16),
                "cd_size": min(len(cd), SENTINEL32),
                "cd_offset": min(cd_offset, SENTINEL32),
                "comment": b"",
                "comment_len": None,
            },
            layout.eocd,
            "end record",
        )
    )
    out += layout.trailer
    return Built(bytes(out), header_offsets, data_offsets, cd_offset, len(cd))


# ---------------------------------------------------------------------------------------------
# Contents.

PICKLE = b"\x80\x03}q\x00X\x01\x00\x00\x00aq\x01K\x01s."  # pickle.dumps({"a": 1}, protocol=3)
MOD_PY = b"def f():\n    return 1\n"
TS_CODE = (
    b"class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n  training : bool\n"
    b"  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n    return torch.relu(x)\n"
)


def _inflated(raw: str, expected: bytes) -> bytes:
    """A fixed raw DEFLATE stream, checked to inflate to exactly `expected`."""
    data = bytes.fromhex(raw)
    d = zlib.decompressobj(-15)
    if d.decompress(data) + d.flush() != expected or not d.eof or d.unused_data:
        raise AssertionError(f"DEFLATE constant does not inflate to {expected[:20]!r}...")
    return data


TS_CODE_DEFLATED = _inflated(
    "558b410ec2201045f73dc55f42a23d0089de809d3b63082d833641c60c90f6f812e2c6ddcffbefadc99702ab2c"
    "8796489b0970eee3c5bfa99214e770c1fd31e8d262fc4355fc96b7fc84c1c29c3a09141159762f41154ad1f4ac"
    "b2ac2fe7667bea027018dc2817168df3f537cd78846a938ce1cf42a9a9434f5f",
    TS_CODE,
)
# Runs of '#' that deflate to 6 bytes: ratios exactly 10 and 40, and one byte more.
HASHES_60 = _inflated("5356261f0000", b"#" * 60)
HASHES_61 = _inflated("5356a6000000", b"#" * 61)
HASHES_240 = _inflated("53561e590000", b"#" * 240)
HASHES_241 = _inflated("53561e610000", b"#" * 241)
EMPTY_DEFLATED = _inflated("0300", b"")  # one final fixed-Huffman block holding only EOB
RATIO = 10  # max_compression_ratio for the ratio pair: 60 == 10 * 6 and 61 > 10 * 6


def base_entries() -> list[Entry]:
    """A small torch.package archive, records in the order torch writes them."""
    return [
        Entry(b"pkg/.data/extern_modules", b"numpy\n"),
        Entry(b"pkg/.data/python_version", b"3.11\n"),
        Entry(b"pkg/res/data.pkl", PICKLE),
        Entry(b"pkg/mod.py", MOD_PY),
        Entry(b"pkg/.data/version", b"6\n"),
    ]


def with_entry(entry: Entry, index: int | None = None) -> list[Entry]:
    entries = base_entries()
    entries.insert(len(entries) if index is None else index, entry)
    return entries


def ts_code(name: bytes, content: bytes, data: bytes) -> Entry:
    return Entry(b"pkg/.data/ts_code/code/__torch__/" + name, content, DEFLATE, data, version=20)


def base() -> Layout:
    return Layout(base_entries())


# ---------------------------------------------------------------------------------------------
# The table.


@dataclasses.dataclass
class Case:
    file: str
    code: str  # ok | malformed | limit-exceeded
    reason: str  # archive/errors.h, or "-" for ok
    description: str
    data: bytes
    limits: dict[str, int] = dataclasses.field(default_factory=dict)

    def row(self) -> str:
        limits = ",".join(f"{k}={v}" for k, v in self.limits.items()) or "-"
        return "\t".join([self.file, self.code, self.reason, limits, self.description])


def ok(file: str, description: str, data: bytes, **limits: int) -> Case:
    return Case(file, "ok", "-", description, data, limits)


def bad(file: str, reason: str, description: str, data: bytes) -> Case:
    return Case(file, "malformed", reason, description, data)


def over(file: str, reason: str, description: str, data: bytes, **limits: int) -> Case:
    return Case(file, "limit-exceeded", reason, description, data, limits)


def layout(entries: list[Entry], **kwargs: Any) -> bytes:
    return build(Layout(entries, **kwargs)).data


def modified(index: int, **changes: Any) -> list[Entry]:
    """The base entries with fields of entry `index` replaced."""
    entries = base_entries()
    entries[index] = dataclasses.replace(entries[index], **changes)
    return entries


EXTERN = 0  # indexes in base_entries(): pkg/.data/extern_modules (first)
MOD = 3  # pkg/mod.py
LAST = 4  # pkg/.data/version (last, followed by the central directory)


def whole_file_cases() -> list[Case]:
    b = build(base())
    fake_eocd = b.data[-22:]  # the real end record, to hide a copy of it in a comment
    return [
        bad("too_small", "zip.too-small", "21 bytes, less than one end record",
            b"PK\x05\x06" + bytes(17)),
        bad("eocd_missing_not_zip", "zip.eocd-missing", "a text file, not a ZIP",
            b"#!/bin/sh\necho this is not a zip archive\n"),
        bad("eocd_missing_truncated", "zip.eocd-missing",
            "base archive without its last byte", b.data[:-1]),
        bad("eocd_trailing_bytes", "zip.eocd-missing",
            "8 bytes after the end record (payload smuggled after the archive)",
            layout(base_entries(), trailer=b"PAYLOAD!")),
        bad("archive_comment", "zip.archive-comment",
            "end record with a 5-byte archive comment",
            layout(base_entries(), eocd={"comment": b"hello"})),
        bad("archive_comment_fake_eocd", "zip.archive-comment",
            "archive comment holds a fake end record followed by 3 bytes",
            layout(base_entries(),
                   eocd={"comment": fake_eocd[:-2] + struct.pack("<H", 3) + b"abc"})),
        bad("archive_comment_fake_eocd_at_end", "zip.archive-comment",
            "archive comment is a fake end record, so the last 22 bytes are the fake one "
            "(CPython #108526 shape)",
            layout(base_entries(), eocd={"comment": fake_eocd})),
        decoy_eocd_case(),
        bad("multi_disk_eocd", "zip.multi-disk", "end record says this is disk 1",
            layout(base_entries(), eocd={"disk": 1})),
        bad("multi_disk_locator", "zip.multi-disk", "ZIP64 locator says there are 2 disks",
            layout(base_entries(), locator={"total_disks": 2})),
        bad("multi_disk_entry", "zip.multi-disk", "an entry starts on disk 1",
            layout(modified(MOD, central={"disk": 1}))),
        bad("zip64_locator_elsewhere", "zip.zip64-bad",
            "ZIP64 locator points at offset 0 instead of the ZIP64 end record before it",
            layout(base_entries(), locator={"record": 0})),
        bad("zip64_record_extensible_data", "zip.zip64-bad",
            "ZIP64 end record declares 8 bytes of extensible data",
            layout(base_entries(), zip64_end={"size": 56 - 12 + 8})),
        bad("zip64_mismatch_count", "zip.zip64-mismatch",
            "end record counts 4 entries, the ZIP64 end record 5",
            layout(base_entries(), eocd={"count": 4, "count_on_disk": 4})),
        bad("zip64_mismatch_cd_offset", "zip.zip64-mismatch",
            "32-bit central directory offset is 64 less than the ZIP64 one",
            layout(base_entries(), eocd={"cd_offset": lambda v: v - 64})),
        bad("zip64_mismatch_small_sentinel", "zip.zip64-mismatch",
            "end record uses the 0xFFFFFFFF sentinel for an offset that fits in 32 bits",
            layout(base_entries(), eocd={"cd_offset": SENTINEL32})),
        bad("zip64_missing_sentinel", "zip.zip64-missing",
            "32-bit-only archive whose end record has a 0xFFFFFFFF central directory offset",
            layout(base_entries(), zip64=False, eocd={"cd_offset": SENTINEL32})),
        bad("no_entries", "zip.no-entries", "ZIP64 and 32-bit end records of an empty archive",
            layout([])),
        bad("cd_bounds_offset", "zip.cd-bounds",
            "both end records place the central directory one byte late",
            layout(base_entries(), zip64_end={"cd_offset": lambda v: v + 1},
                   eocd={"cd_offset": lambda v: v + 1})),
        bad("cd_bounds_size", "zip.cd-bounds",
            "both end records claim a central directory 46 bytes larger than it is",
            layout(base_entries(), zip64_end={"cd_size": lambda v: v + 46},
                   eocd={"cd_size": lambda v: v + 46})),
        bad("cd_count_impossible", "zip.cd-count-mismatch",
            "1000 entries cannot fit in the central directory",
            layout(base_entries(), zip64_end={"count": 1000, "count_on_disk": 1000},
                   eocd={"count": 1000, "count_on_disk": 1000})),
        bad("cd_count_too_low", "zip.cd-count-mismatch",
            "both end records count 4 entries; the central directory holds 5",
            layout(base_entries(), zip64_end={"count": 4, "count_on_disk": 4},
                   eocd={"count": 4, "count_on_disk": 4})),
        bad("cd_count_too_high", "zip.cd-truncated",
            "both end records count 6 entries; the central directory holds 5",
            layout(base_entries(), zip64_end={"count": 6, "count_on_disk": 6},
                   eocd={"count": 6, "count_on_disk": 6})),
        bad("cd_record_runs_past_end", "zip.cd-truncated",
            "the last central record's comment length runs past the central directory",
            layout(modified(LAST, central={"comment_len": 1}))),
        bad("cd_bad_signature", "zip.cd-bad-signature",
            "the second central record has a local-header signature",
            layout(modified(1, central={"sig": LOCAL_SIG}))),
        bad("prepended_polyglot", "zip.prepended-data",
            "a shell script before the first entry, every offset shifted to match (Janus)",
            layout(base_entries(), before=b"#!/bin/sh\necho polyglot\nexit 0\n")),
        bad("gap_between_entries", "zip.gap",
            "16 unexplained bytes between the 2nd and 3rd entries, offsets adjusted",
            layout(modified(1, after=b"hidden payload!!"))),
        bad("gap_before_cd", "zip.gap",
            "16 unexplained bytes between the last entry and the central directory",
            layout(base_entries(), before_cd=b"hidden payload!!")),
        bad("overlap_into_previous", "zip.overlap",
            "the 4th entry's local header offset points 16 bytes back, into the 3rd entry",
            layout(modified(MOD, central={"offset": lambda v: v - 16}))),
        bad("overlap_shared_local_header", "zip.overlap",
            "a 6th central record (another name) reuses the first entry's local header",
            layout(with_entry(Entry(b"pkg/res/other.pkl", b"6\n", has_local=False,
                                    central={"offset": 0})))),
        bad("overlap_data_into_cd", "zip.overlap",
            "the last entry's sizes say its data runs 100 bytes into the central directory",
            layout(modified(LAST, central={"comp": lambda v: v + 100,
                                        "uncomp": lambda v: v + 100}))),
        bad("overlap_entry_in_cd", "zip.overlap",
            "a 6th entry's local header is said to be at the start of the central directory",
            layout(with_entry(Entry(b"pkg/res/other.pkl", b"6\n", has_local=False)))),
    ]


def decoy_eocd_case() -> Case:
    """The last entry's data holds a complete second archive whose end record's comment length
    reaches exactly the end of the file: a reader that scans forward for the end record (or
    takes the first one whose comment fits) sees only pkg/evil.py."""

    def make(comment_len: int, data_offset: int) -> tuple[Built, int]:
        inner_name = b"pkg/evil.py"
        inner_data = b"import os\n"
        inner_local = local_header(
            sig=LOCAL_SIG, version=0, flags=FLAG_UTF8, method=STORED, time=0, date=0,
            crc=zlib.crc32(inner_data), comp=len(inner_data), uncomp=len(inner_data),
            name=inner_name, extra=b"",
        )
        inner_cd = central_record(
            sig=CENTRAL_SIG, made_by=0, version=0, flags=FLAG_UTF8, method=STORED, time=0,
            date=0, crc=zlib.crc32(inner_data), comp=len(inner_data), uncomp=len(inner_data),
            name=inner_name, extra=b"", comment=b"", disk=0, internal=0, external=0,
            offset=data_offset,
        )
        body = inner_local + inner_data
        inner_eocd = end_record(
            sig=EOCD_SIG, disk=0, cd_disk=0, count_on_disk=1, count=1, cd_size=len(inner_cd),
            cd_offset=data_offset + len(body), comment=b"", comment_len=comment_len,
        )
        blob = body + inner_cd + inner_eocd
        built = build(Layout(with_entry(Entry(b"pkg/res/blob.bin", blob))))
        return built, data_offset + len(blob) - 22

    data_offset = make(0, 0)[0].data_offsets[-1]  # the blob's size does not move its data
    built, decoy = make(0, data_offset)
    built, _ = make(len(built.data) - decoy - 22, data_offset)
    assert built.data_offsets[-1] == data_offset
    return bad("eocd_decoy_in_entry_data", "zip.archive-comment",
               "the last entry's data is a second archive whose end record's comment reaches "
               "exactly the end of the file (two end records a reader can pick from)",
               built.data)


def decoy_end_record_cases() -> list[Case]:
    """Second end records that a reader scoring candidates (libzip without ZIP_CHECKCONS) may
    prefer although their comment does not reach the end of the file: each hides in the last
    entry's data, ahead of the real central directory."""
    blob_entry_index = len(base_entries())
    probe = build(Layout(with_entry(Entry(b"pkg/res/blob.bin", b"x"))))
    data_offset = probe.data_offsets[blob_entry_index]  # a blob's size does not move its data

    def in_blob(blob: bytes) -> bytes:
        built = build(Layout(with_entry(Entry(b"pkg/res/blob.bin", blob))))
        assert built.data_offsets[blob_entry_index] == data_offset
        return built.data

    inner_name = b"pkg/evil.py"
    inner_data = b"import os\n"
    inner_local = local_header(
        sig=LOCAL_SIG, version=0, flags=FLAG_UTF8, method=STORED, time=0, date=0,
        crc=zlib.crc32(inner_data), comp=len(inner_data), uncomp=len(inner_data),
        name=inner_name, extra=b"",
    )
    inner_cd = central_record(
        sig=CENTRAL_SIG, made_by=0, version=0, flags=FLAG_UTF8, method=STORED, time=0, date=0,
        crc=zlib.crc32(inner_data), comp=len(inner_data), uncomp=len(inner_data),
        name=inner_name, extra=b"", comment=b"", disk=0, internal=0, external=0,
        offset=data_offset,
    )
    body = inner_local + inner_data
    fake_cd = end_record(
        sig=EOCD_SIG, disk=0, cd_disk=0, count_on_disk=1, count=1, cd_size=len(inner_cd),
        cd_offset=data_offset + len(body), comment=b"", comment_len=0,
    )
    fake_empty = end_record(
        sig=EOCD_SIG, disk=0, cd_disk=0, count_on_disk=0, count=0, cd_size=0, cd_offset=0,
        comment=b"", comment_len=0,
    )
    fake_zip64 = zip64_locator(sig=ZIP64_LOCATOR_SIG, disk=0, record=0, total_disks=1) + end_record(
        sig=EOCD_SIG, disk=0, cd_disk=0, count_on_disk=SENTINEL16, count=SENTINEL16,
        cd_size=SENTINEL32, cd_offset=SENTINEL32, comment=b"", comment_len=0,
    )
    return [
        bad("decoy_cd_in_entry_data", "zip.decoy-end-record",
            "the last entry's data holds a second archive (pkg/evil.py, its central directory "
            "and an end record without comment) that libzip could pick instead of ours",
            in_blob(body + inner_cd + fake_cd + b"padding")),
        bad("decoy_empty_end_record", "zip.decoy-end-record",
            "the last entry's data holds an end record describing an empty archive",
            in_blob(b"data" + fake_empty + b"more data")),
        bad("decoy_zip64_end_record", "zip.decoy-end-record",
            "the last entry's data holds a ZIP64 locator and an end record with ZIP64 sentinels",
            in_blob(b"data" + fake_zip64 + b"more data")),
    ]


def central_record_cases() -> list[Case]:
    zip64_small = extra_field(EXTRA_ZIP64, struct.pack("<QQ", len(MOD_PY), len(MOD_PY)))
    return [
        bad("entry_comment", "zip.entry-comment", "pkg/mod.py has a 2-byte entry comment",
            layout(modified(MOD, central={"comment": b"hi"}))),
        bad("encrypted", "zip.encrypted",
            "pkg/mod.py has the traditional-encryption flag (bit 0)",
            layout(modified(MOD, flags=FLAG_UTF8 | FLAG_DESCRIPTOR | FLAG_ENCRYPTED))),
        bad("encrypted_strong", "zip.encrypted",
            "pkg/mod.py has the strong-encryption flag (bit 6)",
            layout(modified(MOD, flags=FLAG_UTF8 | FLAG_DESCRIPTOR | FLAG_STRONG_ENCRYPTION))),
        bad("unsupported_flags", "zip.unsupported-flags",
            "pkg/mod.py has the patched-data flag (bit 5)",
            layout(modified(MOD, flags=FLAG_UTF8 | FLAG_DESCRIPTOR | FLAG_PATCHED))),
        bad("unsupported_method_bzip2", "zip.unsupported-method",
            "pkg/mod.py uses method 12 (bzip2), local and central",
            layout(modified(MOD, method=BZIP2, data=MOD_PY))),
        bad("unsupported_version", "zip.unsupported-version",
            "pkg/mod.py needs ZIP version 6.3, local and central",
            layout(modified(MOD, version=63))),
        bad("unsupported_attributes_host", "zip.unsupported-attributes",
            "pkg/mod.py was made by host 10 (Windows NTFS)",
            layout(modified(MOD, central={"made_by": 0x0A14}))),
        bad("unsupported_attributes_internal", "zip.unsupported-attributes",
            "pkg/mod.py has internal attribute bit 1 (a record-length prefix) set",
            layout(modified(MOD, central={"internal": 2}))),
        bad("symlink", "zip.symlink",
            "pkg/mod.py is a Unix symlink (mode 0120777) to /etc/passwd",
            layout(modified(MOD, content=b"/etc/passwd",
                            central={"made_by": 0x0314, "external": 0o120777 << 16}))),
        bad("directory_unix_mode", "zip.not-regular-file",
            "empty entry pkg/res/sub with Unix directory mode 040755 (and the MS-DOS bit)",
            layout(with_entry(Entry(b"pkg/res/sub", b"", central={
                "made_by": 0x0314, "external": (0o040755 << 16) | 0x10})))),
        bad("directory_dos_attribute", "zip.not-regular-file",
            "empty entry pkg/res/sub with only the MS-DOS directory attribute (0x10)",
            layout(with_entry(Entry(b"pkg/res/sub", b"", central={"external": 0x10})))),
        bad("fifo_unix_mode", "zip.not-regular-file",
            "pkg/mod.py has Unix mode 010644 (a FIFO)",
            layout(modified(MOD, central={"made_by": 0x0314, "external": 0o010644 << 16}))),
        bad("stored_size_mismatch", "zip.stored-size-mismatch",
            "STORED pkg/mod.py: 23 bytes stored, 22 declared uncompressed (descriptor agrees)",
            layout(modified(MOD, data=MOD_PY + b"\n", descriptor=data_descriptor(
                zlib.crc32(MOD_PY), len(MOD_PY) + 1, len(MOD_PY))))),
        bad("extra_lengths_bad_central", "zip.extra-field-bad",
            "central extra of pkg/mod.py: a 'UT' field declaring 5 bytes with 1 present",
            layout(modified(MOD, central={"extra": extra_field(EXTRA_UNIX_TIME, b"\x01",
                                                               length=5)}))),
        bad("extra_lengths_bad_local", "zip.extra-field-bad",
            "local 'FB' padding of pkg/mod.py declares one byte more than the extra holds",
            layout(modified(MOD, padding=lambda n: extra_field(EXTRA_PADDING, b"Z" * n,
                                                               length=n + 1)))),
        bad("extra_unknown_central", "zip.extra-field-unknown",
            "central extra of pkg/mod.py has an Info-ZIP 'UT' timestamp field",
            layout(modified(MOD, central={"extra": extra_field(EXTRA_UNIX_TIME,
                                                               b"\x01\x00\x00\x00\x00")}))),
        bad("extra_unknown_local", "zip.extra-field-unknown",
            "local extra of pkg/mod.py has an Info-ZIP 'ux' (0x7875) field before the padding",
            layout(modified(MOD, local_extra=extra_field(0x7875, b"\x01\x04\x00\x00\x00\x00"
                                                                   b"\x04\x00\x00\x00\x00")))),
        bad("padding_in_central", "zip.extra-field-unknown",
            "central extra of pkg/mod.py has 'FB' padding (torch pads local headers only)",
            layout(modified(MOD, central={"extra": padding_field(6)}))),
        bad("padding_twice", "zip.extra-field-unknown",
            "local extra of pkg/mod.py has two 'FB' padding fields",
            layout(modified(MOD, local_extra=padding_field(0)))),
        bad("padding_oversized", "zip.padding-bad",
            "'FB' padding of pkg/mod.py is 64 bytes longer than aligning needs (data still "
            "aligned): room for a hidden payload such as a fake central directory",
            layout(modified(MOD, padding=lambda n: padding_field(n + 64)))),
        bad("padding_misaligned", "zip.padding-bad",
            "'FB' padding of pkg/mod.py is one byte longer than aligning needs (data at 64k+1)",
            layout(modified(MOD, padding=lambda n: padding_field(n + 1)))),
        bad("padding_not_z", "zip.padding-bad",
            "last 'FB' padding byte of pkg/mod.py is NUL instead of 'Z' (hidden payload)",
            layout(modified(MOD, padding=nul_padding))),
        bad("zip64_extra_without_sentinel", "zip.zip64-extra-bad",
            "central record of pkg/mod.py has a ZIP64 extra but no 0xFFFFFFFF field",
            layout(modified(MOD, central={"extra": extra_field(
                EXTRA_ZIP64, struct.pack("<Q", len(MOD_PY)))}))),
        bad("zip64_extra_value_fits_32", "zip.zip64-extra-bad",
            "central sizes of pkg/mod.py are sentinels; the ZIP64 extra holds 22 and 22",
            layout(modified(MOD, central={"comp": SENTINEL32, "uncomp": SENTINEL32,
                                          "extra": zip64_small}))),
        bad("zip64_extra_local_unexpected", "zip.zip64-extra-bad",
            "local header of the small pkg/mod.py has a ZIP64 extra",
            layout(modified(MOD, local_extra=zip64_small))),
    ]


def nul_padding(n: int) -> bytes:
    if n == 0:
        raise AssertionError("the padding case needs an entry with padding")
    return extra_field(EXTRA_PADDING, b"Z" * (n - 1) + b"\x00")


def named(name: bytes, flags: int | None = None) -> bytes:
    """The base archive with one more record, pkg/mod.py's content under `name`."""
    return layout(with_entry(Entry(name, MOD_PY, flags=flags)))


def name_cases() -> list[Case]:
    return [
        bad("name_nul", "zip.name-control-char",
            "pkg/mod.py\\0.txt: zipfile cuts the name at NUL", named(b"pkg/mod.py\x00.txt")),
        bad("name_escape_sequence", "zip.name-control-char",
            "name with an ANSI escape sequence (ESC [31m)", named(b"pkg/\x1b[31mred.py")),
        bad("name_newline", "zip.name-control-char", "name with a newline (forged log lines)",
            named(b"pkg/a\nb.py")),
        bad("name_del", "zip.name-control-char", "name with DEL (0x7f)", named(b"pkg/a\x7f.py")),
        bad("name_backslash", "zip.name-backslash",
            "pkg/..\\..\\evil.py: Windows separators", named(b"pkg/..\\..\\evil.py")),
        bad("name_colon", "zip.name-forbidden-char", "pkg/C:evil.py: a drive letter",
            named(b"pkg/C:evil.py")),
        bad("name_stream", "zip.name-forbidden-char",
            "pkg/mod.py:stream: an NTFS alternate data stream", named(b"pkg/mod.py:stream")),
        bad("name_absolute", "zip.name-absolute", "/pkg/evil.py: an absolute path",
            named(b"/pkg/evil.py")),
        bad("name_dotdot", "zip.name-dot-segment", "pkg/../evil.py: path traversal",
            named(b"pkg/../evil.py")),
        bad("name_dot", "zip.name-dot-segment", "pkg/./mod2.py: a '.' segment",
            named(b"pkg/./mod2.py")),
        bad("name_double_slash", "zip.name-empty-segment", "pkg//mod2.py: an empty segment",
            named(b"pkg//mod2.py")),
        bad("name_trailing_slash", "zip.name-empty-segment",
            "pkg/res/sub/: a directory entry (trailing '/')",
            layout(with_entry(Entry(b"pkg/res/sub/", b"")))),
        bad("name_empty", "zip.name-empty-segment", "an entry with an empty name", named(b"")),
        bad("name_invalid_utf8", "zip.name-not-utf8",
            "pkg/\\xff.py with the UTF-8 flag: not UTF-8", named(b"pkg/\xff.py")),
        bad("name_overlong_utf8", "zip.name-not-utf8",
            "pkg/..\\xc0\\xafevil.py: overlong UTF-8 for '/' hides a '..' segment",
            named(b"pkg/..\xc0\xafevil.py")),
        bad("name_surrogate_utf8", "zip.name-not-utf8",
            "pkg/\\xed\\xa0\\x80.py: a UTF-16 surrogate encoded in UTF-8",
            named(b"pkg/\xed\xa0\x80.py")),
        bad("name_utf8_flag_missing", "zip.name-utf8-flag-missing",
            "pkg/caf\\xc3\\xa9.py without flag bit 11 (zipfile decodes it as cp437)",
            named(b"pkg/caf\xc3\xa9.py", flags=FLAG_DESCRIPTOR)),
        bad("no_top_level_folder", "zip.no-top-level-folder",
            "the first entry, mod.py, is not inside a folder",
            layout(with_entry(Entry(b"mod.py", MOD_PY), index=0))),
        bad("outside_top_level_folder", "zip.outside-top-level-folder",
            "other/evil.py next to the pkg/ records", named(b"other/evil.py")),
        bad("outside_top_level_folder_lookalike", "zip.outside-top-level-folder",
            "pkg2/evil.py: shares the prefix 'pkg' but not the folder 'pkg/'",
            named(b"pkg2/evil.py")),
        bad("duplicate_name", "zip.duplicate-name",
            "pkg/mod.py twice with different contents (Master Key, CVE-2013-4787)",
            layout(with_entry(Entry(b"pkg/mod.py", b"import os\nos.system('id')\n")))),
        bad("case_collision", "zip.case-collision",
            "pkg/Mod.py next to pkg/mod.py (miniz looks names up ignoring ASCII case)",
            named(b"pkg/Mod.py")),
        bad("file_dir_conflict", "zip.file-dir-conflict",
            "pkg/res is a file and the folder of pkg/res/data.pkl", named(b"pkg/res")),
        bad("file_dir_conflict_case", "zip.file-dir-conflict",
            "pkg/RES is a file and (ignoring case) the folder of pkg/res/data.pkl",
            named(b"pkg/RES")),
    ]


def local_cases() -> list[Case]:
    def exact_local(**changes: Override) -> dict[str, Override]:
        """Local CRC and sizes written out (allowed with a descriptor), then changed."""
        fields: dict[str, Override] = {
            "crc": zlib.crc32(MOD_PY), "comp": len(MOD_PY), "uncomp": len(MOD_PY)}
        fields.update(changes)
        return fields

    return [
        bad("local_truncated", "zip.local-truncated",
            "only 20 bytes of the last entry's local header precede the central directory",
            layout(modified(LAST, span=lambda s: s[:20]))),
        bad("local_truncated_name", "zip.local-truncated",
            "the last entry's local name runs into the central directory",
            layout(modified(LAST, span=lambda s: s[:35]))),
        bad("local_bad_signature", "zip.local-bad-signature",
            "pkg/mod.py's local header starts with the central-record signature",
            layout(modified(MOD, local={"sig": CENTRAL_SIG}))),
        bad("local_name_mismatch", "zip.local-name-mismatch",
            "central record says pkg/mod.py, its local header pkg/bad.py",
            layout(modified(MOD, local={"name": b"pkg/bad.py"}))),
        bad("local_name_mismatch_length", "zip.local-name-mismatch",
            "central record says pkg/mod.py, its local header pkg/mod.pyc",
            layout(modified(MOD, local={"name": b"pkg/mod.pyc"}))),
        bad("local_method_mismatch", "zip.local-method-mismatch",
            "pkg/mod.py: STORED in the central directory, DEFLATE in the local header",
            layout(modified(MOD, local={"method": DEFLATE}))),
        bad("local_flags_mismatch", "zip.local-flags-mismatch",
            "pkg/mod.py: local flags lack the UTF-8 bit the central record has",
            layout(modified(MOD, local={"flags": FLAG_DESCRIPTOR}))),
        bad("local_field_mismatch_time", "zip.local-field-mismatch",
            "pkg/mod.py: local DOS time differs from the central record",
            layout(modified(MOD, local={"time": 0x6000}))),
        bad("local_field_mismatch_version", "zip.local-field-mismatch",
            "pkg/mod.py: local version needed 20, central 0",
            layout(modified(MOD, local={"version": 20}))),
        bad("local_crc_mismatch", "zip.local-crc-mismatch",
            "pkg/mod.py: local header gives sizes and a wrong CRC (descriptor is right)",
            layout(modified(MOD, local=exact_local(crc=zlib.crc32(MOD_PY) ^ 1)))),
        bad("local_crc_mismatch_empty", "zip.local-crc-mismatch",
            "empty record without descriptor whose local CRC is 1",
            layout(modified(EXTERN, content=b"", local={"crc": 1}))),
        bad("local_size_mismatch", "zip.local-size-mismatch",
            "pkg/mod.py: local header gives the right CRC and sizes one byte too large",
            layout(modified(MOD, local=exact_local(comp=len(MOD_PY) + 1,
                                                   uncomp=len(MOD_PY) + 1)))),
        bad("descriptor_missing", "zip.descriptor-missing",
            "pkg/mod.py has flag bit 3 but the next local header follows its data directly",
            layout(modified(MOD, descriptor=b""))),
        bad("descriptor_missing_last", "zip.descriptor-missing",
            "the last entry has flag bit 3 but the central directory follows its data",
            layout(modified(LAST, descriptor=b""))),
        bad("descriptor_without_signature", "zip.descriptor-missing",
            "pkg/mod.py's data descriptor has no signature (12 bytes)",
            layout(modified(MOD, descriptor=struct.pack(
                "<III", zlib.crc32(MOD_PY), len(MOD_PY), len(MOD_PY))))),
        bad("descriptor_mismatch_crc", "zip.descriptor-mismatch",
            "pkg/mod.py's data descriptor has a different CRC than the central record",
            layout(modified(MOD, descriptor=data_descriptor(
                zlib.crc32(MOD_PY) ^ 1, len(MOD_PY), len(MOD_PY))))),
        bad("descriptor_mismatch_size", "zip.descriptor-mismatch",
            "pkg/mod.py's data descriptor gives a size one byte smaller",
            layout(modified(MOD, descriptor=data_descriptor(
                zlib.crc32(MOD_PY), len(MOD_PY) - 1, len(MOD_PY) - 1)))),
        bad("descriptor_wide_without_zip64", "zip.descriptor-mismatch",
            "pkg/mod.py's data descriptor has 64-bit sizes but the entry has no ZIP64 extra",
            layout(modified(MOD, descriptor=data_descriptor(
                zlib.crc32(MOD_PY), len(MOD_PY), len(MOD_PY), wide=True)))),
    ]


def limit_cases() -> list[Case]:
    b = base_entries()
    plain = layout(b)
    longest = max(len(e.name) for e in b)
    largest = max(len(e.content) for e in b)
    total = sum(len(e.content) for e in b)
    long_name = b"pkg/res/" + b"n" * (longest + 1 - len(b"pkg/res/.bin")) + b".bin"
    assert len(long_name) == longest + 1
    deflate_240 = layout(with_entry(ts_code(b"m.py", b"#" * 240, HASHES_240)))
    deflate_241 = layout(with_entry(ts_code(b"m.py", b"#" * 241, HASHES_241)))
    ratio_at = layout(with_entry(ts_code(b"m.py", b"#" * 60, HASHES_60)))
    ratio_over = layout(with_entry(ts_code(b"m.py", b"#" * 61, HASHES_61)))
    return [
        ok("limit_archive_bytes_at", "base archive; the limit is its size", plain,
           max_archive_bytes=len(plain)),
        over("limit_archive_bytes_over", "zip.archive-too-large",
             "base archive; the limit is one byte less than its size", plain,
             max_archive_bytes=len(plain) - 1),
        ok("limit_entries_at", "5 entries, limit 5", plain, max_entries=len(b)),
        over("limit_entries_over", "zip.too-many-entries", "6 entries, limit 5",
             layout(with_entry(Entry(b"pkg/res/extra.bin", b"x")))
             , max_entries=len(b)),
        ok("limit_name_bytes_at", f"longest name is {longest} bytes, limit {longest}", plain,
           max_name_bytes=longest),
        over("limit_name_bytes_over", "zip.name-too-long",
             f"one name is {longest + 1} bytes, limit {longest}",
             layout(with_entry(Entry(long_name, b"x"))), max_name_bytes=longest),
        ok("limit_entry_bytes_at", f"largest entry is {largest} bytes, limit {largest}", plain,
           max_entry_uncompressed_bytes=largest),
        over("limit_entry_bytes_over", "zip.entry-too-large",
             f"one entry is {largest + 1} bytes, limit {largest}",
             layout(with_entry(Entry(b"pkg/res/big.bin", b"x" * (largest + 1)))),
             max_entry_uncompressed_bytes=largest),
        ok("limit_total_bytes_at", f"entries hold {total} bytes in all, limit {total}", plain,
           max_total_uncompressed_bytes=total),
        over("limit_total_bytes_over", "zip.total-too-large",
             f"entries hold {total + 1} bytes in all, limit {total}",
             layout(with_entry(Entry(b"pkg/res/extra.bin", b"x"))),
             max_total_uncompressed_bytes=total),
        ok("limit_deflated_bytes_at", "DEFLATE record of 240 bytes, limit 240", deflate_240,
           max_deflated_entry_bytes=240),
        over("limit_deflated_bytes_over", "zip.deflated-entry-too-large",
             "DEFLATE record of 241 bytes, limit 240", deflate_241, max_deflated_entry_bytes=240),
        ok("limit_compression_ratio_at",
           f"DEFLATE record of 60 bytes in {len(HASHES_60)}: ratio exactly {RATIO}", ratio_at,
           max_compression_ratio=RATIO),
        over("limit_compression_ratio_over", "zip.compression-ratio",
             f"DEFLATE record of 61 bytes in {len(HASHES_61)}: ratio just above {RATIO}",
             ratio_over, max_compression_ratio=RATIO),
    ]


def accepted_cases() -> list[Case]:
    return [
        ok("ok_base", "torch-shaped archive: 5 STORED records, data descriptors, 'FB' padding, "
           "ZIP64 end records", layout(base_entries())),
        ok("ok_deflate_ts_code", "base plus a DEFLATE TorchScript code record",
           layout(with_entry(ts_code(b"m.py", TS_CODE, TS_CODE_DEFLATED)))),
        ok("ok_eocd32_no_zip64", "base with only the 32-bit end record",
           layout(base_entries(), zip64=False)),
        ok("ok_empty_record", "base whose .data/extern_modules is empty (no descriptor)",
           layout(modified(EXTERN, content=b""))),
        ok("ok_unix_regular_file_mode", "pkg/mod.py made by Unix with mode 0100644",
           layout(modified(MOD, central={"made_by": 0x0314, "external": 0o100644 << 16}))),
        ok("ok_utf8_name", "a non-ASCII record name with the UTF-8 flag",
           named(b"pkg/res/caf\xc3\xa9.pkl")),
        ok("ok_deflate_empty_record", "an empty DEFLATE record: 2 bytes inflating to nothing",
           layout(with_entry(ts_code(b"__init__.py", b"", EMPTY_DEFLATED)))),
    ]


def all_cases() -> list[Case]:
    cases = (
        accepted_cases()
        + whole_file_cases()
        + decoy_end_record_cases()
        + central_record_cases()
        + name_cases()
        + local_cases()
        + limit_cases()
    )
    names = [c.file for c in cases]
    if len(set(names)) != len(names):
        raise AssertionError("duplicate case names")
    for c in cases:
        if "\t" in c.description or "\n" in c.description:
            raise AssertionError(f"{c.file}: description must be one line without tabs")
    return cases


def write(out: Path) -> list[str]:
    """Writes every case and the table into `out`; returns the file names written."""
    out.mkdir(parents=True, exist_ok=True)
    cases = all_cases()
    files = []
    for c in cases:
        (out / f"{c.file}.zip").write_bytes(c.data)
        files.append(f"{c.file}.zip")
    rows = ["file\tcode\treason\tlimits\tdescription"]
    rows += [dataclasses.replace(c, file=f"{c.file}.zip").row() for c in cases]
    (out / TABLE).write_text("\n".join(rows) + "\n", encoding="utf-8")
    files.append(TABLE)
    return files


def check(committed: Path) -> int:
    """Regenerates into a temporary folder and compares with the committed files."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        expected = set(write(fresh))
        present = {p.name for p in committed.glob("*.zip")} | (
            {TABLE} if (committed / TABLE).exists() else set()
        )
        problems = [f"missing: {n}" for n in sorted(expected - present)]
        problems += [f"not produced by generate.py: {n}" for n in sorted(present - expected)]
        for name in sorted(expected & present):
            if (committed / name).read_bytes() != (fresh / name).read_bytes():
                problems.append(f"differs from a fresh run: {name}")
    for p in problems:
        print(f"generate.py --check: {p}", file=sys.stderr)
    if problems:
        print("run `python3 generate.py` and commit the result", file=sys.stderr)
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
        return check(args.out)
    written = write(args.out)
    print(f"wrote {len(written) - 1} archives and {TABLE} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
