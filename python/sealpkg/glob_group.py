"""``GlobGroup``: torch.package's module/path patterns, matched by sealpkg's C++ core."""
from __future__ import annotations

from typing import Iterable, Union

from . import _native

__all__ = ["GlobGroup", "GlobPattern"]

GlobPattern = Union[str, Iterable[str]]


def _as_list(patterns: GlobPattern) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    return list(patterns)


class GlobGroup:
    """A set of include and exclude patterns, as in ``torch.package.GlobGroup``.

    ``"torch.**"`` matches ``torch`` and every submodule, ``"torch.*"`` only direct
    submodules; ``separator="/"`` matches archive paths instead of module names.
    """

    def __init__(
        self, include: GlobPattern, *, exclude: GlobPattern = (), separator: str = "."
    ) -> None:
        self._dbg = f"GlobGroup(include={include}, exclude={exclude})"
        self.separator = separator
        self._impl = _native.GlobGroup(_as_list(include), _as_list(exclude), separator)

    def matches(self, candidate: str) -> bool:
        return self._impl.matches(candidate)

    def __str__(self) -> str:
        return self._dbg

    def __repr__(self) -> str:
        return self._dbg
