"""The unpickler a package importer uses: globals are looked up through the importer.

torch 1.13 subclasses the pure-Python ``pickle._Unpickler``; this subclasses the C
``pickle.Unpickler`` (same results, several times faster on large models). Two deliberate
differences: for protocol 4 and later a dotted name (a nested class, ``Outer.Inner``) is
resolved attribute by attribute as CPython's own unpickler does, where torch 1.13 fails with
AttributeError; and the protocol used for the ``_compat_pickle`` renames of protocol 0-2
pickles is read from the stream's PROTO opcode (the C unpickler does not expose it).
"""
from __future__ import annotations

import _compat_pickle
import io
import pickle
from typing import Any

__all__ = ["PackageUnpickler"]

_PROTO = 0x80


def _stream_protocol(file: Any) -> int:
    """The protocol announced by a stream's leading PROTO opcode (0 when there is none)."""
    if isinstance(file, io.BytesIO):
        head = file.getbuffer()[file.tell() : file.tell() + 2]
        if len(head) == 2 and head[0] == _PROTO:
            return int(head[1])
        return 0
    return 4  # unknown stream: no compat renames, dotted names allowed


class PackageUnpickler(pickle.Unpickler):
    """Unpickles with ``importer.import_module`` as the source of every global."""

    def __init__(self, importer: Any, file: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(file, *args, **kwargs)
        self._importer = importer
        self._protocol = _stream_protocol(file)
        self._fix_imports = kwargs.get("fix_imports", True)

    def find_class(self, module: str, name: str) -> Any:
        if self._protocol < 3 and self._fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        obj = self._importer.import_module(module)
        if self._protocol < 4:
            return getattr(obj, name)
        for part in name.split("."):
            if part == "<locals>":
                raise AttributeError(f"Can't get local attribute {name!r} on {obj!r}")
            obj = getattr(obj, part)
        return obj
