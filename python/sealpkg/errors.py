"""Exceptions raised by sealpkg.

Every failure of the C++ core arrives as a subclass of :class:`SealpkgError` carrying the
stable ``reason`` id (e.g. ``"zip.duplicate-name"``), the broad ``code`` (``"malformed"``,
``"limit-exceeded"``, ...), and where known the archive ``entry`` and byte ``offset``.
Malformed input is also a :class:`ValueError` and I/O failures an :class:`OSError`, so code
written for ``torch.package`` that catches those keeps working.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "SealpkgError",
    "MalformedError",
    "LimitExceededError",
    "PolicyDeniedError",
    "SignatureError",
    "SealpkgIOError",
    "InternalError",
]


class SealpkgError(Exception):
    """Base class: a rejection or failure reported by sealpkg's core."""

    def __init__(
        self,
        message: str,
        code: str = "internal",
        reason: str = "",
        entry: str = "",
        offset: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.entry = entry
        self.offset = offset


class MalformedError(SealpkgError, ValueError):
    """The input does not follow its format, or follows it ambiguously."""


class LimitExceededError(SealpkgError, ValueError):
    """The input is larger or deeper than a configured limit."""


class PolicyDeniedError(SealpkgError):
    """A policy forbids what the input asks for."""


class SignatureError(SealpkgError):
    """A signature or digest does not verify."""


class SealpkgIOError(SealpkgError, OSError):
    """The operating system refused or failed a file operation."""


class InternalError(SealpkgError, RuntimeError):
    """A bug in sealpkg; please report it."""
