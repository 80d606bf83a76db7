"""Small pieces of CPython's import algorithm, as a package importer needs them.

Same behaviour (and messages) as ``importlib._bootstrap``, which torch.package also follows;
written here because the importer runs them against its own module table, not sys.modules.
"""
from __future__ import annotations

import os.path
import warnings
from typing import Any, Dict, Optional

__all__ = [
    "calc_package",
    "normalize_line_endings",
    "normalize_resource_name",
    "resolve_name",
    "sanity_check",
]


def normalize_line_endings(source: bytes) -> bytes:
    """``\\r\\n`` and lone ``\\r`` become ``\\n`` (as the zipimport module does)."""
    return source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def resolve_name(name: str, package: str, level: int) -> str:
    """The absolute module name for a relative import of ``level`` dots from ``package``."""
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ValueError("attempted relative import beyond top-level package")
    base = bits[0]
    return f"{base}.{name}" if name else base


def sanity_check(name: Any, package: Optional[Any], level: int) -> None:
    """The argument checks of ``importlib.__import__``."""
    if not isinstance(name, str):
        raise TypeError(f"module name must be str, not {type(name)}")
    if level < 0:
        raise ValueError("level must be >= 0")
    if level > 0:
        if not isinstance(package, str):
            raise TypeError("__package__ not set to a string")
        if not package:
            raise ImportError("attempted relative import with no known parent package")
    if not name and level == 0:
        raise ValueError("Empty module name")


def calc_package(globals_: Dict[str, Any]) -> str:
    """The package a relative import is resolved against, from a module's globals."""
    package = globals_.get("__package__")
    spec = globals_.get("__spec__")
    if package is not None:
        if spec is not None and package != spec.parent:
            warnings.warn(
                f"__package__ != __spec__.parent ({package!r} != {spec.parent!r})",
                ImportWarning,
                stacklevel=3,
            )
        return package
    if spec is not None:
        return spec.parent
    warnings.warn(
        "can't resolve package from __spec__ or __package__, "
        "falling back on __name__ and __path__",
        ImportWarning,
        stacklevel=3,
    )
    package = globals_["__name__"]
    if "__path__" not in globals_:
        package = package.rpartition(".")[0]
    return package


def normalize_resource_name(path: str) -> str:
    """A resource name must be a plain file name: no directory part."""
    parent, file_name = os.path.split(path)
    if parent:
        raise ValueError(f"{path!r} must be only a file name")
    return file_name
