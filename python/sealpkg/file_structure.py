"""``Directory``: the file tree of a package, printed exactly as torch.package prints it."""
from __future__ import annotations

import os
from typing import Dict, List, Union

from . import _native
from .glob_group import GlobGroup, GlobPattern

__all__ = ["Directory", "file_structure"]


class Directory:
    """A folder (or file) node of a package's file tree, as ``torch.package.Directory``."""

    def __init__(self, name: str, is_dir: bool) -> None:
        self.name = name
        self.is_dir = is_dir
        self.children: Dict[str, "Directory"] = {}

    def _get_dir(self, dirs: List[str]) -> "Directory":
        node = self
        for part in dirs:
            if part not in node.children:
                node.children[part] = Directory(part, True)
            node = node.children[part]
        return node

    def _add_file(self, file_path: str) -> None:
        *dirs, file = file_path.split("/")
        self._get_dir(dirs).children[file] = Directory(file, False)

    def has_file(self, filename: str) -> bool:
        """True if ``filename`` (a ``/``-separated path) names a file or folder in the tree."""
        node = self
        for part in filename.split("/"):
            if part not in node.children:
                return False
            node = node.children[part]
        return True

    def __str__(self) -> str:
        return _native.render_tree(self)


def _directory_from_records(
    root_name: str, records: List[str], include: GlobPattern, exclude: GlobPattern
) -> Directory:
    pattern = GlobGroup(include, exclude=exclude, separator="/")
    top = Directory(root_name, True)
    for record in records:
        if pattern.matches(record):
            top._add_file(record)
    return top


def file_structure(
    package: Union[str, "os.PathLike[str]"],
    *,
    include: GlobPattern = "**",
    exclude: GlobPattern = (),
) -> Directory:
    """Validate the archive at ``package`` strictly and return its file tree.

    Equivalent to ``torch.package.PackageImporter(package).file_structure(...)`` without
    importing or executing anything from the package.
    """
    from .archive import ArchiveReader

    path = os.fspath(package)
    return _directory_from_records(path, ArchiveReader(path).records(), include, exclude)
