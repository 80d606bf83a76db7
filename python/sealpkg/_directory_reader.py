"""Reading an unzipped package folder, with every record name checked before it becomes a path.

torch 1.13's DirectoryReader joins names (including storage keys taken from a pickle) into
paths unchecked, so a crafted key such as ``../../x`` reads files outside the package. Here a
record name must be a relative ``/``-separated path of ordinary components (no ``..``, ``.``,
empty components, backslashes or NUL) and must resolve, symlinks followed, to a regular file
inside the folder. Unlike torch's, :meth:`get_all_records` also lists the ``.data/`` records,
as the archive form does.

A folder is not a snapshot: files can change between reads. Loading with ``policy=`` therefore
needs an archive file or buffer.
"""
from __future__ import annotations

import os
from typing import Any, List

from . import _native

__all__ = ["DirectoryReader"]


class DirectoryReader:
    """Records of an unzipped package folder (the folder holding ``.data/``)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._root = os.path.realpath(directory)

    def _path(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise ValueError(f"invalid record name {name!r}")
        parts = name.split("/")
        if (
            "\0" in name
            or "\\" in name
            or name.startswith("/")
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise ValueError(f"invalid record name {name!r}: not a plain relative path")
        path = os.path.realpath(os.path.join(self._root, *parts))
        if os.path.commonpath([self._root, path]) != self._root:
            raise ValueError(f"record {name!r} resolves outside the package folder")
        return path

    def get_record(self, name: str) -> bytes:
        path = self._path(name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{self.directory}/{name}")
        with open(path, "rb") as f:
            return f.read()

    def has_record(self, name: str) -> bool:
        try:
            return os.path.isfile(self._path(name))
        except ValueError:
            return False

    def get_all_records(self) -> List[str]:
        records: List[str] = []
        for folder, dirnames, filenames in os.walk(self._root):
            dirnames.sort()
            relative = os.path.relpath(folder, self._root)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for filename in sorted(filenames):
                if os.path.isfile(os.path.join(folder, filename)):
                    records.append(prefix + filename)
        return records

    def get_storage_from_record(self, name: str, numel: int, dtype: Any) -> Any:
        """A tensor of ``numel`` elements of ``dtype`` over the record, mapped copy-on-write."""
        import torch

        key = name[len(".data/") : -len(".storage")] if name.startswith(".data/") else ""
        if not name.endswith(".storage") or _native.storage_record_name(key) != name:
            raise ValueError(f"invalid storage record name {name!r}")
        path = self._path(name)
        nbytes = torch._utils._element_size(dtype) * numel
        size = os.path.getsize(path)
        if nbytes > size:
            raise ValueError(
                f"storage record {name!r} holds {size} bytes but {nbytes} were requested"
            )
        if nbytes == 0:
            return torch.empty(0, dtype=dtype)
        # shared=False: a private (copy-on-write) mapping; writes never reach the file.
        storage = torch.UntypedStorage.from_file(path, False, nbytes)
        return torch.empty(0, dtype=dtype).set_(
            torch.storage.TypedStorage(wrap_storage=storage, dtype=dtype)
        )
