"""Signing end to end: keygen -> trust store -> sign -> verify with trust -> tamper -> rejected
with the entry named; signed policies; the CLI's exit codes on every failure.

Packages are written by stock torch.package at test time. Keys are generated per test.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest
import torch
from torch.package import PackageExporter, PackageImporter

import sealpkg
from sealpkg.errors import SealpkgError, SignatureError

from conftest import SEALPKG_CLI


def _export(path: Path, value: object) -> Path:
    with PackageExporter(str(path)) as e:
        e.save_pickle("w", "w.pkl", value)
    return path


def _flip_in_entry(path: Path, suffix: str, at: int = 5) -> str:
    """Flip one byte of the data of the entry ending in `suffix`; returns its name."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(suffix))
    o = info.header_offset
    n, e = struct.unpack("<HH", data[o + 26:o + 30])
    data[o + 30 + n + e + at] ^= 0x01
    path.write_bytes(bytes(data))
    return info.filename


@pytest.fixture()
def world(tmp_path: Path) -> Dict[str, object]:
    root = sealpkg.keygen(tmp_path / "root")
    signer = sealpkg.keygen(tmp_path / "signer")
    pol = sealpkg.keygen(tmp_path / "pol", algorithm="ed25519")
    trust = tmp_path / "trust"
    store = sealpkg.TrustStore.init(trust, root_keys=[root])
    store.add(signer.public_key, role="package-signer", root_keys=[root])
    store.add(pol.public_key, role="policy-signer", root_keys=[root])
    pkg = _export(tmp_path / "m.pt", {"a": torch.arange(4.0)})
    return {"root": root, "signer": signer, "pol": pol, "trust": trust, "store": store,
            "pkg": pkg, "tmp": tmp_path}


def test_keygen_writes_private_key_0600(tmp_path: Path) -> None:
    k = sealpkg.keygen(tmp_path / "k")
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert sealpkg.SigningKey.from_file(str(tmp_path / "k.pem")).key_id == k.key_id
    assert len(k.key_id) == 64 and k.algorithm == "ecdsa-p256-sha256"
    with pytest.raises(SealpkgError):
        sealpkg.keygen(tmp_path / "k")  # never overwritten


def test_end_to_end_sign_verify_tamper(world: Dict[str, object]) -> None:
    pkg, trust, signer = world["pkg"], world["trust"], world["signer"]
    assert isinstance(pkg, Path)
    # Unsigned package: the signature check fails first.
    r = sealpkg.verify(pkg, trust=trust, policy="builtin:weights-only")
    assert isinstance(r, sealpkg.TrustedReport)
    assert not r.accepted and r.failed_check == "signature"
    assert r.error["reason"] == "signature.missing"

    sealpkg.sign(pkg, signer, package_name="org.example.m", package_version=2)
    # Stock torch.package still loads the signed file unchanged.
    loaded = PackageImporter(str(pkg)).load_pickle("w", "w.pkl")
    assert torch.equal(loaded["a"], torch.arange(4.0))

    info = sealpkg.verify_signature(pkg, trust=trust)
    assert info.key_ids == [signer.key_id] and info.role == "package-signer"
    assert info.package_name == "org.example.m" and info.package_version == "2"

    inferred = world["tmp"] / "m.toml"
    unsigned = _export(world["tmp"] / "u.pt", {"a": torch.arange(4.0)})
    inferred.write_text(sealpkg.infer_policy(unsigned, name="example:m"))
    sealpkg.sign_policy(inferred, world["pol"])
    r = sealpkg.verify(pkg, trust=trust, policy=str(inferred))
    assert r.accepted, r.to_text()
    assert r.failed_check is None and r.signature.key_ids == [signer.key_id]
    assert r.report is not None and r.report.accepted
    assert r.policy["origin"] == "signed" and r.policy["signer_key_ids"] == [world["pol"].key_id]
    assert "signer " + signer.key_id in r.to_text()
    json.loads(r.to_json())

    # Tamper one byte of the pickle: rejected by the statement check, entry named.
    tampered = world["tmp"] / "t.pt"
    shutil.copy(pkg, tampered)
    name = _flip_in_entry(tampered, "w.pkl")
    r = sealpkg.verify(tampered, trust=trust, policy=str(inferred))
    assert not r.accepted and r.failed_check == "statement"
    assert r.error["reason"] == "signature.entry-digest"
    assert r.error["entry"] == name
    with pytest.raises(SignatureError) as e:
        sealpkg.verify_signature(tampered, trust=trust)
    assert e.value.entry == name


def test_bytes_api_and_detached(world: Dict[str, object]) -> None:
    pkg, trust, signer = world["pkg"], world["trust"], world["signer"]
    data = Path(pkg).read_bytes()
    signed = sealpkg.sign_archive_bytes(data, signer)
    assert signed != data and signed[:2] == b"PK"
    assert sealpkg.verify_signature(signed, trust=trust).mode == "embedded"
    # Detached: the package is untouched, PKG.sig is used automatically for paths.
    sig = sealpkg.sign(pkg, signer, detached=True)
    assert sig == str(pkg) + ".sig" and Path(pkg).read_bytes() == data
    assert sealpkg.verify_signature(pkg, trust=trust).mode == "detached"
    assert sealpkg.verify_signature(data, trust=trust, signature=sig).mode == "detached"
    with pytest.raises(SignatureError) as e:
        sealpkg.verify_signature(data + b"\0", trust=trust, signature=sig)
    assert e.value.reason in ("signature.file-digest", "signature.entry-size")


def test_wrong_role_revoked_and_unknown_keys(world: Dict[str, object]) -> None:
    pkg, trust, store, root = world["pkg"], world["trust"], world["store"], world["root"]
    data = Path(pkg).read_bytes()
    stranger = sealpkg.keygen()
    cases = [(world["pol"], "trust.wrong-role"), (root, "trust.wrong-role"),
             (stranger, "trust.unknown-key")]
    for key, reason in cases:
        with pytest.raises(SignatureError) as e:
            sealpkg.verify_signature(sealpkg.sign_archive_bytes(data, key), trust=trust)
        assert e.value.reason == reason and key.key_id in str(e.value)
    signed = sealpkg.sign_archive_bytes(data, world["signer"])
    sealpkg.verify_signature(signed, trust=trust)
    store.revoke(world["signer"].key_id, root_keys=[root])
    with pytest.raises(SignatureError) as e:
        sealpkg.verify_signature(signed, trust=trust)
    assert e.value.reason == "trust.revoked-key"


def test_expired_key_and_package_rollback(world: Dict[str, object]) -> None:
    pkg, trust, store, root = world["pkg"], world["trust"], world["store"], world["root"]
    short = sealpkg.keygen()
    store.add(short.public_key, role="package-signer", root_keys=[root],
              not_after="2000-01-01T00:00:00Z")
    data = Path(pkg).read_bytes()
    with pytest.raises(SignatureError) as e:
        sealpkg.verify_signature(sealpkg.sign_archive_bytes(data, short), trust=trust)
    assert e.value.reason == "trust.key-expired"
    signer = world["signer"]
    v3 = sealpkg.sign_archive_bytes(data, signer, package_name="org.m", package_version=3)
    v2 = sealpkg.sign_archive_bytes(data, signer, package_name="org.m", package_version=2)
    sealpkg.verify_signature(v3, trust=trust)
    with pytest.raises(SealpkgError) as e:
        sealpkg.verify_signature(v2, trust=trust)
    assert e.value.reason == "trust.package-rollback"
    assert store.info()["marks"]["packages"] == {"org.m": 3}


def test_policy_files_must_be_signed(world: Dict[str, object]) -> None:
    pkg, trust = world["pkg"], world["trust"]
    pol = world["tmp"] / "p.toml"
    pol.write_text(sealpkg.infer_policy(pkg, name="example:p"))
    with pytest.raises(SignatureError) as e:
        sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert e.value.reason == "policy.unsigned"
    r = sealpkg.verify(pkg, policy=str(pol), unsafe_unsigned_policy=True)
    assert r.accepted
    # Signed by a package signer: wrong role.
    sealpkg.sign_policy(pol, world["signer"])
    with pytest.raises(SignatureError) as e:
        sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert e.value.reason == "policy.threshold"
    # Expired.
    sealpkg.sign_policy(pol, world["pol"], expires="2001-01-01T00:00:00Z")
    with pytest.raises(SignatureError) as e:
        sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert e.value.reason == "policy.expired"
    # Version 2 accepted, then version 1 (validly signed) is a rollback.
    text = pol.read_text()
    pol.write_text(text.replace("version = 1", "version = 2", 1))
    sealpkg.sign_policy(pol, world["pol"])
    os.environ["SEALPKG_HOME"] = str(trust)
    try:
        report = sealpkg.verify(pkg, policy=str(pol))  # default store, static report
        assert report.accepted
    finally:
        del os.environ["SEALPKG_HOME"]
    pol.write_text(text)
    sealpkg.sign_policy(pol, world["pol"])
    with pytest.raises(SealpkgError) as e:
        sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert e.value.reason == "trust.policy-rollback"
    # A package signature presented as the policy's signature.
    sealpkg.sign(pol, world["pol"], detached=True)  # an OMS whole-file bundle over p.toml
    with pytest.raises(SignatureError) as e:
        sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert e.value.reason == "policy.predicate-type"


def test_policy_require_signature(world: Dict[str, object]) -> None:
    pkg, trust = world["pkg"], world["trust"]
    pol = world["tmp"] / "req.toml"
    text = sealpkg.infer_policy(pkg, name="example:req")
    pol.write_text(text + "\n[package]\nrequire_signature = true\nthreshold = 2\n"
                   if "[package]" not in text else
                   text.replace("[package]\n", "[package]\nrequire_signature = true\n"
                                "threshold = 2\n", 1))
    sealpkg.sign_policy(pol, world["pol"])
    sealpkg.sign(pkg, world["signer"])
    r = sealpkg.verify(pkg, policy=str(pol), trust=trust)
    assert not r.accepted and r.failed_check == "signature"
    assert r.error["reason"] == "trust.package-threshold"


def test_trust_rotation(world: Dict[str, object]) -> None:
    store, root = world["store"], world["root"]
    new_root = sealpkg.keygen()
    v = store.version
    with pytest.raises(SignatureError) as e:  # new root only: the old root did not approve
        store.rotate(new_root, sign_old=[new_root], sign_new=[new_root])
    assert e.value.reason == "trust.threshold"
    assert store.rotate(new_root, sign_old=[root], sign_new=[new_root]) == v + 1
    other = sealpkg.keygen()
    with pytest.raises(SignatureError):  # the old root key no longer counts
        store.add(other.public_key, role="package-signer", root_keys=[root])
    store.add(other.public_key, role="package-signer", root_keys=[new_root])


def test_state_file_missing_or_corrupt_fails_closed(world: Dict[str, object]) -> None:
    trust = Path(world["trust"])
    signed = sealpkg.sign_archive_bytes(Path(world["pkg"]).read_bytes(), world["signer"])
    state = trust / "state.json"
    saved = state.read_bytes()
    state.write_bytes(b"{}\n")
    with pytest.raises(SealpkgError) as e:
        sealpkg.verify_signature(signed, trust=trust)
    assert e.value.reason == "trust.state-corrupt"
    state.unlink()
    with pytest.raises(SealpkgError) as e:
        sealpkg.verify_signature(signed, trust=trust)
    assert e.value.reason == "trust.state-missing"
    state.write_bytes(saved)
    sealpkg.verify_signature(signed, trust=trust)


def _cli(*args: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEALPKG_CLI), *args], capture_output=True, text=True, env=env)


def test_cli_exit_codes(world: Dict[str, object], tmp_path: Path) -> None:
    env = dict(os.environ, SEALPKG_HOME=str(world["trust"]))
    pkg = str(world["pkg"])
    signer_pem = str(world["tmp"] / "signer.pem")
    root_pem = str(world["tmp"] / "root.pem")
    ok = _cli("sign", pkg, "--key", signer_pem, env=env)
    assert ok.returncode == 0, ok.stderr
    ok = _cli("verify", pkg, "--trust", str(world["trust"]), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert world["signer"].key_id in ok.stdout
    bad = tmp_path / "bad.pt"
    shutil.copy(pkg, bad)
    name = _flip_in_entry(bad, "w.pkl")
    failures: List[List[str]] = [
        ["verify", str(bad), "--trust", str(world["trust"])],  # tampered
        ["verify", str(world["tmp"] / "u-missing.pt"), "--trust", str(world["trust"])],  # I/O
        ["verify", pkg, "--trust", str(tmp_path / "no-store")],  # no trust store
        ["verify", pkg, "--policy", str(tmp_path / "nope.toml")],  # missing policy
        ["sign", pkg, "--key", str(tmp_path / "no-key.pem")],
        ["sign", pkg, "--key", signer_pem, "--package-version", "1.0", "--package-name", "x"],
        ["trust", "add", "--key", str(world["tmp"] / "pol.pub.pem"), "--role", "root",
         "--root-key", signer_pem],  # not a root key
        ["trust", "revoke", "abc", "--root-key", root_pem],  # malformed key id
        ["trust", "init", "--root-key", root_pem],  # already initialised
        ["trust", "show", "--dir", str(tmp_path / "no-store")],
        ["keygen", "-o", str(world["tmp"] / "root")],  # exists
        ["policy", "sign", str(tmp_path / "nope.toml"), "--key", signer_pem],
    ]
    for args in failures:
        r = _cli(*args, env=env)
        assert r.returncode in (1, 2), (args, r.returncode, r.stdout, r.stderr)
    r = _cli("verify", str(bad), "--trust", str(world["trust"]), "--format", "json", env=env)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["verification"]["failed_check"] == "statement"
    assert doc["verification"]["error"]["entry"] == name
