"""Signing packages and policies, and the local trust store.

Keys are ECDSA P-256 (default; OpenSSF model-signing compatible) or Ed25519. A package is signed
either *embedded* (the signature is the archive's last entry; stock ``torch.package`` still loads
it) or *detached* (``PKG.sig`` next to it). The trust store (``$SEALPKG_HOME``, default
``~/.config/sealpkg``) says which keys may sign packages and policies::

    root = sealpkg.keygen("root")                      # root.pem (0600) + root.pub.pem
    signer = sealpkg.keygen("signer")
    store = sealpkg.TrustStore.init("trust", root_keys=[root])
    store.add(signer.public_key, role="package-signer", root_keys=[root])
    sealpkg.sign("model.pt", signer, package_name="org.example.m", package_version=3)
    report = sealpkg.verify("model.pt", trust="trust", policy="builtin:torchvision")

``sign_archive_bytes(data, key)`` returns signed archive bytes: what
``PackageExporter(f, signing_key=...)`` calls at close.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native

__all__ = [
    "PublicKey",
    "SigningKey",
    "SignatureInfo",
    "TrustStore",
    "keygen",
    "sign",
    "sign_archive_bytes",
    "sign_policy",
    "verify_signature",
]

PublicKey = _native.PublicKey
SigningKey = _native.SigningKey

PathLike = Union[str, "os.PathLike[str]"]
KeyLike = Union[SigningKey, PathLike]

ROLES = ("root", "package-signer", "policy-signer")


def _key(key: KeyLike) -> SigningKey:
    if isinstance(key, SigningKey):
        return key
    return SigningKey.from_file(os.fspath(key))


def _keys(keys: Union[KeyLike, Sequence[KeyLike]]) -> List[SigningKey]:
    if isinstance(keys, (SigningKey, str, os.PathLike)):
        return [_key(keys)]
    return [_key(k) for k in keys]


def _public(key: Union[PublicKey, SigningKey, PathLike]) -> PublicKey:
    if isinstance(key, PublicKey):
        return key
    if isinstance(key, SigningKey):
        return key.public_key
    return PublicKey.from_file(os.fspath(key))


def _version(version: Union[int, str, None]) -> str:
    if version is None:
        return ""
    text = str(version)
    if not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise ValueError("package_version must be a non-negative decimal integer")
    return text


def keygen(prefix: Optional[PathLike] = None, *, algorithm: str = "p256") -> SigningKey:
    """A new key (``"p256"`` or ``"ed25519"``); with ``prefix``, also written to
    ``PREFIX.pem`` (private, mode 0600) and ``PREFIX.pub.pem``. Files are never overwritten."""
    key = SigningKey.generate(algorithm)
    if prefix is not None:
        p = os.fspath(prefix)
        key.write(p + ".pem", p + ".pub.pem")
    return key


def sign_archive_bytes(
    data: Union[bytes, bytearray, memoryview],
    key: Union[KeyLike, Sequence[KeyLike]],
    *,
    package_name: str = "",
    package_version: Union[int, str, None] = None,
    signed_at: str = "",
) -> bytes:
    """Signed copy of a whole package archive (embedded signature as the last entry)."""
    return _native.sign_archive_bytes(
        bytes(data), _keys(key), package_name, _version(package_version), signed_at
    )


def sign(
    path: PathLike,
    key: Union[KeyLike, Sequence[KeyLike]],
    *,
    detached: bool = False,
    package_name: str = "",
    package_version: Union[int, str, None] = None,
    signed_at: str = "",
) -> str:
    """Sign a package file. Embedded (default): the file is rewritten atomically (never left
    half-signed); returns its path. ``detached=True``: writes ``PATH.sig`` atomically, leaves the
    package untouched, returns the signature's path."""
    if bool(package_name) != (package_version is not None):
        raise ValueError("give package_name and package_version together")
    return _native.sign_file(
        os.fspath(path), _keys(key), detached, package_name, _version(package_version), signed_at
    )


def sign_policy(
    path: PathLike,
    key: Union[KeyLike, Sequence[KeyLike]],
    *,
    expires: Optional[str] = None,
    trust_version: int = 0,
) -> str:
    """Write ``POLICY.sig`` for a policy TOML file (its exact bytes, name and version).
    ``expires`` is ``YYYY-MM-DDTHH:MM:SSZ`` (default: 180 days from now)."""
    return _native.sign_policy(os.fspath(path), _keys(key), expires, trust_version)


@dataclass(frozen=True)
class SignatureInfo:
    """Who signed a package, under which role, and what was signed."""

    mode: str  # "embedded" or "detached"
    role: str
    key_ids: List[str] = field(default_factory=list)
    threshold: int = 1
    statement_sha256: str = ""
    package_name: str = ""
    package_version: str = ""
    signed_at: str = ""

    @staticmethod
    def _from(d: Dict[str, Any]) -> "SignatureInfo":
        return SignatureInfo(
            mode=d["mode"],
            role=d["role"],
            key_ids=list(d.get("key_ids", [])),
            threshold=int(d.get("threshold", 1)),
            statement_sha256=d.get("statement_sha256", ""),
            package_name=d.get("package_name", ""),
            package_version=d.get("package_version", ""),
            signed_at=d.get("signed_at", ""),
        )


def verify_signature(
    source: Union[PathLike, bytes, bytearray, memoryview],
    *,
    trust: Optional[PathLike] = None,
    signature: Union[bytes, PathLike, None] = None,
    name: str = "<bytes>",
    threads: int = 0,
) -> SignatureInfo:
    """Check a package's signature (and signed statement) against the trust store's
    package-signer role; raises :class:`sealpkg.errors.SignatureError` (reason and entry set) if
    it does not verify. ``signature``: detached bundle bytes or path (default: ``PATH.sig`` when
    it exists, else the embedded signature). ``threads``: hashing threads (0: all cores)."""
    from .verify import _call_trusted

    result = _call_trusted(source, name=name, policy=None, trust=trust, signature=signature,
                           unsafe_unsigned_policy=False, require_signature=True,
                           threads=threads)
    if result["failed_check"] is not None:
        from .errors import SignatureError

        err = result["error"]
        raise SignatureError(
            f"{result['failed_check']} check failed: [{err['reason']}] {err['message']}",
            code=err["kind"], reason=err["reason"], entry=err["entry"], offset=err["offset"],
        )
    return SignatureInfo._from(result["signature"])


class TrustStore:
    """A local trust store directory (see ``sealpkg trust --help`` for the rules).

    Mutations build trust root version N+1 and sign it with the given root private keys; the
    store accepts it only if a threshold of the old AND the new root keys signed it."""

    def __init__(self, directory: Optional[PathLike] = None) -> None:
        self.directory = os.fspath(directory) if directory is not None else \
            _native.trust_default_dir()
        _native.trust_root(self.directory)  # fail early (closed) on a missing/corrupt store

    @staticmethod
    def default_directory() -> str:
        return _native.trust_default_dir()

    @classmethod
    def init(
        cls,
        directory: Optional[PathLike] = None,
        *,
        root_keys: Union[KeyLike, Sequence[KeyLike]],
        threshold: int = 1,
        expires: Optional[str] = None,
    ) -> "TrustStore":
        d = os.fspath(directory) if directory is not None else _native.trust_default_dir()
        _native.trust_init(d, _keys(root_keys), threshold, expires)
        return cls(d)

    @classmethod
    def import_root(cls, directory: PathLike, trust_json: bytes) -> "TrustStore":
        """Pin a trust.json received out of band (self-signed by its root threshold)."""
        _native.trust_import(os.fspath(directory), bytes(trust_json))
        return cls(directory)

    def info(self) -> Dict[str, Any]:
        """{"directory", "root": the trust predicate, "marks": {"policies", "packages"}}."""
        return _native.trust_root(self.directory)

    @property
    def version(self) -> int:
        return int(self.info()["root"]["version"])

    def _commit(self, root: Dict[str, Any], keys: Union[KeyLike, Sequence[KeyLike]],
                expires: Optional[str]) -> int:
        if expires is not None:
            root["expires"] = expires
        return _native.trust_commit(self.directory, json.dumps(root), _keys(keys))

    def add(
        self,
        key: Union[PublicKey, SigningKey, PathLike],
        *,
        role: str,
        root_keys: Union[KeyLike, Sequence[KeyLike]],
        not_before: Optional[str] = None,
        not_after: Optional[str] = None,
        threshold: Optional[int] = None,
        expires: Optional[str] = None,
    ) -> int:
        """Add a public key to ``role``; returns the new trust root version."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        pub = _public(key)
        root = self.info()["root"]
        rec: Dict[str, Any] = {"alg": pub.algorithm, "spki_der_b64": _spki_b64(pub)}
        if not_before:
            rec["not_before"] = not_before
        if not_after:
            rec["not_after"] = not_after
        root["keys"][pub.key_id] = rec
        r = root["roles"][role]
        if pub.key_id not in r["keyids"]:
            r["keyids"].append(pub.key_id)
        if threshold is not None:
            r["threshold"] = threshold
        return self._commit(root, root_keys, expires)

    def revoke(self, key_id: str, *, root_keys: Union[KeyLike, Sequence[KeyLike]],
               expires: Optional[str] = None) -> int:
        root = self.info()["root"]
        if key_id not in root["revoked"]:
            root["revoked"].append(key_id)
        return self._commit(root, root_keys, expires)

    def rotate(
        self,
        new_root: Union[PublicKey, SigningKey, PathLike, Sequence[Union[PublicKey, SigningKey]]],
        *,
        sign_old: Union[KeyLike, Sequence[KeyLike]],
        sign_new: Union[KeyLike, Sequence[KeyLike]],
        threshold: int = 1,
        expires: Optional[str] = None,
    ) -> int:
        """Replace the root keys; signed by the old root's threshold and the new one's."""
        news = new_root if isinstance(new_root, (list, tuple)) else [new_root]
        root = self.info()["root"]
        ids = []
        for k in news:
            pub = _public(k)
            root["keys"][pub.key_id] = {"alg": pub.algorithm, "spki_der_b64": _spki_b64(pub)}
            ids.append(pub.key_id)
        root["roles"]["root"] = {"keyids": ids, "threshold": threshold}
        used = {i for r in root["roles"].values() for i in r["keyids"]}
        root["keys"] = {i: v for i, v in root["keys"].items() if i in used}
        return self._commit(root, list(_keys(sign_old)) + list(_keys(sign_new)), expires)

    def update(self, trust_json: bytes) -> int:
        """Accept trust root N+1 made elsewhere."""
        return _native.trust_update(self.directory, bytes(trust_json))


def _spki_b64(pub: PublicKey) -> str:
    import base64

    body = "".join(line for line in pub.pem.strip().splitlines() if not line.startswith("-----"))
    return base64.b64encode(base64.b64decode(body)).decode("ascii")
