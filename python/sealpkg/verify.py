"""Static verification of packages, checkpoints and pickles against allow-list policies.

Nothing from the input is imported or executed: the C++ verifier simulates every pickle exactly
as CPython would and scans every packaged Python source.

    report = sealpkg.verify("model.pt", policy="builtin:torchvision")
    if not report.accepted:
        for f in report.findings:
            print(f.code, f.entry, f.offset or f.line, f.name, f.message)

With ``trust=`` (a trust store directory) the package signature is checked first (signing.md
§6.7: signature -> signed statement -> signed policy -> static verifier) and the result is a
:class:`TrustedReport` naming the signer key ids, their role and the check that failed.
A policy *file* must carry a valid ``FILE.sig`` from the trust store's policy signers (the
default store when ``trust`` is not given); ``unsafe_unsigned_policy=True`` skips that for local
experiments only.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _native

__all__ = ["Finding", "Report", "TrustedReport", "verify", "infer_policy", "builtin_policies"]

Finding = _native.Finding
Report = _native.Report


Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


@dataclass
class TrustedReport:
    """Result of ``verify(..., trust=...)``: the signature, then the static report.

    ``failed_check`` is None when accepted, else "archive", "signature", "statement" or
    "static"; ``error`` then holds kind/reason/entry/offset/message of the first failure (for
    "static", see ``report.findings``)."""

    accepted: bool
    failed_check: Optional[str]
    error: Optional[Dict[str, Any]]
    signature: Optional[Any]  # sealpkg.signing.SignatureInfo
    policy: Optional[Dict[str, Any]]
    report: Optional[Report] = None
    path: str = ""

    @property
    def findings(self) -> List[Finding]:
        return list(self.report.findings) if self.report is not None else []

    def to_text(self) -> str:
        lines = []
        if self.policy is not None:
            lines.append(f"policy: {self.policy['name']} version {self.policy['version']} "
                         f"({self.policy['origin']})")
        if self.signature is not None and self.signature.key_ids:
            lines.append(f"signature: OK ({self.signature.mode}, role {self.signature.role})")
            lines += [f"  signer {k}" for k in self.signature.key_ids]
        if self.failed_check is not None and self.error is not None:
            where = f" entry {self.error['entry']!r}" if self.error["entry"] else ""
            lines.append(f"REJECTED {self.path}: {self.failed_check} check failed: "
                         f"[{self.error['reason']}]{where}: {self.error['message']}")
        out = "\n".join(lines) + "\n"
        if self.report is not None:
            out += self.report.to_text()
        elif self.accepted:
            out += f"ACCEPTED {self.path} (signature only: no policy)\n"
        return out

    def to_json(self) -> str:
        sig = None if self.signature is None else self.signature.__dict__
        doc: Dict[str, Any] = {"accepted": self.accepted, "failed_check": self.failed_check,
                               "error": self.error, "signature": sig, "policy": self.policy}
        if self.report is not None:
            doc["report"] = json.loads(self.report.to_json())
        return json.dumps(doc, indent=2) + "\n"


def _call_trusted(
    source: Source,
    *,
    name: str,
    policy: Optional[str],
    trust: Optional["os.PathLike[str] | str"],
    signature: Union[bytes, str, "os.PathLike[str]", None],
    unsafe_unsigned_policy: bool,
    require_signature: bool,
    now: Optional[int] = None,
    threads: int = 0,
) -> Dict[str, Any]:
    src: Any = os.fspath(source) if isinstance(source, (str, os.PathLike)) else bytes(source)
    detached: Optional[bytes] = None
    if isinstance(signature, (str, os.PathLike)):
        with open(os.fspath(signature), "rb") as f:
            detached = f.read()
    elif signature is not None:
        detached = bytes(signature)
    return _native.verify_with_trust(
        src, name, policy, os.fspath(trust) if trust is not None else None,
        unsafe_unsigned_policy, detached, require_signature, now, threads)


def verify(
    source: Source,
    *,
    policy: Optional[str] = None,
    name: str = "<bytes>",
    trust: Union[str, "os.PathLike[str]", None] = None,
    signature: Union[bytes, str, "os.PathLike[str]", None] = None,
    unsafe_unsigned_policy: bool = False,
) -> Union[Report, TrustedReport]:
    """Verify a file (path) or in-memory bytes against ``policy``.

    ``policy`` is ``"builtin:weights-only"``, ``"builtin:data-only"``,
    ``"builtin:torchvision"`` or the path of a signed TOML policy file (``FILE.sig`` next to it).
    Without ``trust`` the returned :class:`Report` has ``accepted`` and ``findings``; rendering
    via ``to_text()``, ``to_json()``, ``to_sarif()``. With ``trust`` (a trust store directory;
    ``policy`` is then optional) a :class:`TrustedReport`. ``signature``: a detached bundle (bytes
    or path) for byte sources; paths use ``PATH.sig`` when present, else the embedded signature.
    A bad, unsigned, expired or rolled-back policy raises a SealpkgError subclass
    (:class:`sealpkg.errors.SignatureError` for signature problems).
    """
    if trust is None and signature is None:
        if policy is None:
            raise TypeError("verify() needs policy= (or trust= for a signature-only check)")
        if policy.startswith("builtin:"):
            if isinstance(source, (str, os.PathLike)):
                return _native.verify_path(os.fspath(source), policy)
            return _native.verify_bytes(bytes(source), name, policy)
    result = _call_trusted(source, name=name, policy=policy, trust=trust, signature=signature,
                           unsafe_unsigned_policy=unsafe_unsigned_policy,
                           require_signature=trust is not None or signature is not None)
    if trust is None and signature is None and result["signature"] is None:
        return result["report"]  # a signed policy file, no package signature required
    from .signing import SignatureInfo

    sig = result["signature"]
    return TrustedReport(
        accepted=bool(result["accepted"]),
        failed_check=result["failed_check"],
        error=result["error"],
        signature=SignatureInfo._from(sig) if sig is not None else None,
        policy=result["policy"],
        report=result["report"],
        path=os.fspath(source) if isinstance(source, (str, os.PathLike)) else name,
    )


def infer_policy(path: Union[str, "os.PathLike[str]"], *, name: str) -> str:
    """The TOML of the least-privilege policy that accepts exactly this (trusted) input."""
    return _native.infer_policy(os.fspath(path), name)


def builtin_policies() -> List[str]:
    return _native.builtin_policies()
