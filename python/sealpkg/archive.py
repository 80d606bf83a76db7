"""Strict reading and canonical writing of package archives (the C++ archive layer)."""
from __future__ import annotations

import io
import os
from types import TracebackType
from typing import Any, BinaryIO, Dict, List, Optional, Type, Union

from . import _native

__all__ = ["ArchiveReader", "ArchiveWriter", "archive_name_for_path"]

PathOrBuffer = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]


def archive_name_for_path(path: Union[str, "os.PathLike[str]"]) -> str:
    """The top-level folder torch uses for a file target: base name minus its extension."""
    return _native.archive_name_for_path(os.fspath(path))


class ArchiveReader:
    """A package archive, read once into sealed memory and validated strictly.

    Raises :class:`sealpkg.errors.MalformedError` (or another ``SealpkgError``) naming the
    reason, entry and offset when the archive is ambiguous, hostile or broken.
    """

    def __init__(self, source: PathOrBuffer) -> None:
        if isinstance(source, (str, os.PathLike)):
            self._impl = _native.ArchiveReader.open(os.fspath(source))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._impl = _native.ArchiveReader.from_bytes(source)
        elif hasattr(source, "read"):
            self._impl = _native.ArchiveReader.from_bytes(source.read())
        else:
            raise TypeError(f"cannot read an archive from {type(source).__name__}")

    @property
    def archive_name(self) -> str:
        return self._impl.archive_name

    @property
    def size(self) -> int:
        return self._impl.size

    def records(self) -> List[str]:
        """Record names (without the top-level folder), in file order."""
        return self._impl.records()

    def get_all_records(self) -> List[str]:
        """Alias of :meth:`records`, as ``torch._C.PyTorchFileReader`` names it."""
        return self._impl.records()

    def entries(self) -> List[Dict[str, Any]]:
        return self._impl.entries()

    def has_record(self, record: str) -> bool:
        return self._impl.has_record(record)

    def read(self, record: str) -> bytes:
        """The record's bytes, CRC-checked (inflated if compressed)."""
        return self._impl.read(record)

    get_record = read

    def view(self, record: str) -> memoryview:
        """A zero-copy, read-only view of a STORED record, CRC-checked."""
        return self._impl.view(record)

    def data_offset(self, record: str) -> int:
        return self._impl.data_offset(record)

    def framework(self) -> Dict[str, Any]:
        """The framework records: format, version, python_version, extern_modules, storages."""
        return self._impl.framework()


class ArchiveWriter:
    """Writes a torch-compatible archive; stock ``torch.package`` can read the result.

    A path target is written to a temporary file and renamed into place by :meth:`close`;
    on error (or when the ``with`` block raises) nothing is left at the target path.
    A buffer target (any object with ``write``) receives the whole archive at :meth:`close`.
    """

    def __init__(
        self,
        target: Union[str, "os.PathLike[str]", BinaryIO],
        *,
        archive_name: Optional[str] = None,
    ) -> None:
        self._buffer: Optional[BinaryIO] = None
        if isinstance(target, (str, os.PathLike)):
            self._impl = _native.ArchiveWriter(os.fspath(target), archive_name)
        elif hasattr(target, "write"):
            self._buffer = target
            self._impl = _native.ArchiveWriter(None, archive_name)
        else:
            raise TypeError(f"cannot write an archive to {type(target).__name__}")
        self._closed = False

    @property
    def archive_name(self) -> str:
        return self._impl.archive_name

    def write_record(self, record: str, data: Union[bytes, bytearray, memoryview, Any]) -> None:
        """Append one STORED record ``<archive_name>/<record>`` (any contiguous buffer)."""
        self._impl.write_record(record, data)

    def has_record(self, record: str) -> bool:
        return self._impl.has_record(record)

    def records(self) -> List[str]:
        return self._impl.records()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        data = self._impl.finish()
        if self._buffer is not None and data is not None:
            self._buffer.write(data)
            if isinstance(self._buffer, io.BufferedIOBase) or hasattr(self._buffer, "flush"):
                self._buffer.flush()

    def abort(self) -> None:
        """Abandon the archive: nothing is written to the target."""
        self._closed = True
        self._impl.abort()

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()
