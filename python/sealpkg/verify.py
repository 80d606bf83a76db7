"""Static verification of packages, checkpoints and pickles against allow-list policies.

Nothing from the input is imported or executed: the C++ verifier simulates every pickle exactly
as CPython would and scans every packaged Python source.

    report = sealpkg.verify("model.pt", policy="builtin:torchvision")
    if not report.accepted:
        for f in report.findings:
            print(f.code, f.entry, f.offset or f.line, f.name, f.message)
"""
from __future__ import annotations

import os
from typing import List, Union

from . import _native

__all__ = ["Finding", "Report", "verify", "infer_policy", "builtin_policies"]

Finding = _native.Finding
Report = _native.Report


def verify(
    source: Union[str, "os.PathLike[str]", bytes, bytearray, memoryview],
    *,
    policy: str,
    name: str = "<bytes>",
) -> Report:
    """Verify a file (path) or in-memory bytes against ``policy``.

    ``policy`` is ``"builtin:weights-only"``, ``"builtin:data-only"``,
    ``"builtin:torchvision"`` or the path of a TOML policy file. The returned report has
    ``accepted`` and ``findings``; rendering via ``to_text()``, ``to_json()``, ``to_sarif()``.
    A bad policy raises :class:`sealpkg.errors.MalformedError` (or another SealpkgError).
    """
    if isinstance(source, (str, os.PathLike)):
        return _native.verify_path(os.fspath(source), policy)
    return _native.verify_bytes(bytes(source), name, policy)


def infer_policy(path: Union[str, "os.PathLike[str]"], *, name: str) -> str:
    """The TOML of the least-privilege policy that accepts exactly this (trusted) input."""
    return _native.infer_policy(os.fspath(path), name)


def builtin_policies() -> List[str]:
    return _native.builtin_policies()
