"""Module-name mangling for packaged code, with torch.package's exact contract.

Every importer owns a ``PackageMangler`` whose parent name is ``<torch_package_N>``. Only a
module's ``__name__`` (hence ``__module__`` of what it defines) and ``__file__`` carry the
prefix; every name the importer or an exporter handles is demangled first, and mangled names
are never written to an archive. The prefix text and the regular expression that recognises it
are part of the compatibility contract (tools and pickles written for torch.package test for
them), so they are the same as in torch 1.13.

The index ``N`` is process-global. When ``torch.package`` is loaded in the same process its
counter is kept in step with ours, so a stock importer and a sealpkg importer never hand out the
same prefix (their linecache entries and ``inspect.getfile`` lookups are keyed by it).
"""
from __future__ import annotations

import re
import sys
import threading

__all__ = ["PackageMangler", "demangle", "get_mangle_prefix", "is_mangled"]

_MANGLE_RE = re.compile(r"<torch_package_\d+>")

_index_lock = threading.Lock()
_next_index = 0


def _allocate_index() -> int:
    global _next_index
    with _index_lock:
        index = _next_index
        torch_mangling = sys.modules.get("torch.package._mangling")
        torch_next = getattr(torch_mangling, "_mangle_index", None)
        if isinstance(torch_next, int) and torch_next > index:
            index = torch_next
        _next_index = index + 1
        if isinstance(torch_next, int):
            # Reserve the index in torch's counter too (see the module docstring).
            torch_mangling._mangle_index = index + 1  # type: ignore[union-attr]
        return index


class PackageMangler:
    """Gives every module of one importer the shared parent ``<torch_package_N>``."""

    def __init__(self) -> None:
        self._mangle_index = _allocate_index()
        self._mangle_parent = f"<torch_package_{self._mangle_index}>"

    def mangle(self, name: str) -> str:
        assert len(name) != 0
        return f"{self._mangle_parent}.{name}"

    def demangle(self, mangled: str) -> str:
        """Strip this mangler's own prefix; names from other manglers pass through."""
        prefix = self._mangle_parent + "."
        if mangled.startswith(prefix):
            return mangled[len(prefix) :]
        return mangled

    def parent_name(self) -> str:
        return self._mangle_parent


def is_mangled(name: str) -> bool:
    """Whether ``name`` starts with any ``<torch_package_N>`` prefix."""
    return _MANGLE_RE.match(name) is not None


def demangle(name: str) -> str:
    """Strip any mangle prefix (whichever mangler made it); a bare prefix gives ``""``."""
    if not is_mangled(name):
        return name
    _, sep, rest = name.partition(".")
    return rest if sep else ""


def get_mangle_prefix(name: str) -> str:
    """The ``<torch_package_N>`` part of a mangled name, or ``name`` itself otherwise."""
    return name.partition(".")[0] if is_mangled(name) else name
