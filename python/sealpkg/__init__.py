"""sealpkg: hermetic, signed, verifiable PyTorch packages.

Static verification: :func:`verify` checks packages, checkpoints and pickles against
allow-list policies without executing anything. Archives: the strict archive layer: :class:`ArchiveReader` /
:class:`ArchiveWriter` (torch.package-compatible archives, validated against ZIP ambiguity
attacks), :class:`GlobGroup` and :class:`Directory` with torch.package's semantics, and
:func:`file_structure` to list a package without running any of it.
"""
from __future__ import annotations

from . import _native, analyze, sandbox
from .analyze import is_from_package
from .archive import ArchiveReader, ArchiveWriter, archive_name_for_path
from .errors import (
    InternalError,
    LimitExceededError,
    MalformedError,
    PolicyDeniedError,
    SealpkgError,
    SealpkgIOError,
    SignatureError,
)
from .file_structure import Directory, file_structure
from .glob_group import GlobGroup
from .importer import (
    Importer,
    ObjMismatchError,
    ObjNotFoundError,
    OrderedImporter,
    sys_importer,
)
from .package_exporter import (
    EmptyMatchError,
    ExportRejectedError,
    PackageExporter,
    PackagingError,
    PackagingErrorReason,
)
from .package_importer import PackageImporter, PackageRejectedError
from .signing import (
    SignatureInfo,
    SigningKey,
    TrustStore,
    keygen,
    sign,
    sign_archive_bytes,
    sign_policy,
    verify_signature,
)
from .verify import Finding, Report, TrustedReport, builtin_policies, infer_policy, verify

__version__: str = _native.__version__

__all__ = [
    "ArchiveReader",
    "ArchiveWriter",
    "Directory",
    "GlobGroup",
    "Importer",
    "ObjMismatchError",
    "ObjNotFoundError",
    "OrderedImporter",
    "PackageImporter",
    "PackageExporter",
    "PackagingError",
    "PackagingErrorReason",
    "EmptyMatchError",
    "ExportRejectedError",
    "PackageRejectedError",
    "analyze",
    "is_from_package",
    "sys_importer",
    "InternalError",
    "LimitExceededError",
    "MalformedError",
    "PolicyDeniedError",
    "SealpkgError",
    "SealpkgIOError",
    "SignatureError",
    "archive_name_for_path",
    "file_structure",
    "Finding",
    "Report",
    "builtin_policies",
    "infer_policy",
    "verify",
    "SignatureInfo",
    "SigningKey",
    "TrustStore",
    "TrustedReport",
    "keygen",
    "sign",
    "sign_archive_bytes",
    "sign_policy",
    "verify_signature",
    "sandbox",
]
