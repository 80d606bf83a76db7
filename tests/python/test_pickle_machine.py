"""Differential tests of sealpkg's symbolic pickle machine against CPython.

For a corpus of real pickles (every protocol, stdlib objects, torch tensors and modules, the
pickles inside real torchvision packages), the machine must see exactly the opcode sequence
`pickletools.genops` sees and resolve exactly the globals a recording `find_class` is asked for
(after CPython's own protocol < 3 renames), without executing anything.
"""
from __future__ import annotations

import _compat_pickle
import collections
import datetime
import decimal
import fractions
import io
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any, List, Tuple

import pytest
import torch
from sealpkg import _native


class _Stub:
    """Stands in for every global: accepts any construction, state and mutation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> "_Stub":
        return _Stub()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass

    def add(self, item: Any) -> None:
        pass


class _Recorder(pickle._Unpickler):  # the pure-Python unpickler: no C fast paths
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.found: List[Tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:
        # CPython's own rename step (Lib/pickle.py find_class), then record instead of import.
        if self.proto < 3 and self.fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.found.append((module, name))
        return _Stub

    def persistent_load(self, pid: Any) -> Any:
        return _Stub()


def _recorded_globals(data: bytes) -> List[Tuple[str, str]]:
    rec = _Recorder(data)
    rec.load()
    return rec.found


def _genops(data: bytes) -> List[Tuple[str, int]]:
    return [(op.name, pos) for op, _arg, pos in pickletools.genops(data)]


def _check(data: bytes) -> None:
    run = _native.run_pickle(data, trace=True)
    assert run["error"] is None, run["error"]
    assert run["stopped"]
    assert run["end_offset"] == len(data)
    assert [tuple(t) for t in run["trace"]] == _genops(data)
    machine = [(m, n) for m, n, _off, _op, _renamed in run["globals"]]
    assert machine == _recorded_globals(data)


class _Reduced:
    def __reduce__(self) -> Any:
        return (collections.OrderedDict, ([("a", 1)],))


def _stdlib_objects() -> List[Any]:
    shared = [1, 2]
    recursive: List[Any] = []
    recursive.append(recursive)
    return [
        None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**63, -2**63,
        2**200, -2**200, 0.0, -1.5, float("inf"), "", "ascii", "h\u00e9llo \u2603 \U0001f600",
        "x" * 300, b"", b"bytes", b"\x00" * 300, bytearray(b"ba"), (), (1,), (1, 2), (1, 2, 3),
        (1, 2, 3, 4), [], [1, [2, [3]]], {}, {"a": 1, "b": [1, 2]}, {1, 2}, frozenset([3]),
        collections.OrderedDict(a=1, b=2), collections.Counter("hello"),
        collections.defaultdict(list), datetime.datetime(2026, 11, 29, 12, 0),
        datetime.date(2000, 1, 1), decimal.Decimal("1.5"), fractions.Fraction(1, 3),
        [shared, shared], recursive, range(3), slice(1, 2), complex(1, 2), _Reduced(),
        len, pickle.loads, collections.OrderedDict, ValueError("x"),
    ]


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_stdlib_pickles_match_cpython(protocol: int) -> None:
    for obj in _stdlib_objects():
        _check(pickle.dumps(obj, protocol=protocol))


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_torch_pickles_match_cpython(protocol: int) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.ReLU(), torch.nn.Linear(4, 2))
    for obj in [model, model.state_dict(), torch.arange(10), {"w": torch.ones(2, 2)}]:
        buf = io.BytesIO()
        torch.save(obj, buf, pickle_protocol=protocol, _use_new_zipfile_serialization=True)
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
            data = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
        _check(data)


def test_torchvision_package_pickles_match_cpython(torch_archives) -> None:
    checked = 0
    for archive in torch_archives.values():
        with zipfile.ZipFile(archive.path) as z:
            for name in z.namelist():
                if name.endswith(".pkl"):
                    _check(z.read(name))
                    checked += 1
    assert checked >= 5


def test_compat_table_equals_cpython() -> None:
    """The generated C++ rename table is exactly CPython's _compat_pickle."""
    for (module, name), (module3, name3) in _compat_pickle.NAME_MAPPING.items():
        data = f"c{module}\n{name}\n.".encode()
        assert _native.run_pickle(data)["globals"][0][:2] == (module3, name3)
    for module, module3 in _compat_pickle.IMPORT_MAPPING.items():
        if any(m == module for m, _ in _compat_pickle.NAME_MAPPING):
            continue  # names of such modules are checked above
        data = f"c{module}\nsome_name\n.".encode()
        assert _native.run_pickle(data)["globals"][0][:2] == (module3, "some_name")


def test_no_renames_from_protocol_3() -> None:
    run = _native.run_pickle(b"\x80\x03c__builtin__\nlen\n.")
    assert run["globals"][0][:2] == ("__builtin__", "len")
    run = _native.run_pickle(b"\x80\x02c__builtin__\nlen\n.")
    assert run["globals"][0][:2] == ("builtins", "len")


def test_frame_straddle_hidden_from_pickletools_is_rejected() -> None:
    """A BINBYTES argument that runs past its FRAME: pickletools and CPython's C unpickler
    (3.11) read different opcodes from these bytes. The machine refuses the stream."""
    inner = b"cos\ngetcwd\n)R."
    frame_body = b"B" + len(inner).to_bytes(4, "little")  # the argument spills past the frame
    data = b"\x80\x04\x95" + len(frame_body).to_bytes(8, "little") + frame_body + inner
    run = _native.run_pickle(data)
    assert run["error"]["code"] == "pickle.frame-violation"
