"""PackageImporter(trust=..., require_signature=..., policy=FILE): the signature and a signed
policy are checked in C++ on the importer's sealed snapshot before anything from the package
runs (a packaged module here would create a marker file on import)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sealpkg
from sealpkg.package_importer import PackageRejectedError


@pytest.fixture()
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SEALPKG_HOME", str(tmp_path / "default-home"))
    root = sealpkg.keygen(tmp_path / "root")
    signer = sealpkg.keygen(tmp_path / "signer")
    store = sealpkg.TrustStore.init(tmp_path / "trust", root_keys=[root])
    store.add(signer.public_key, role="package-signer", root_keys=[root])
    marker = tmp_path / "marker"
    pkg = tmp_path / "p.pt"
    with sealpkg.PackageExporter(str(pkg), signing_key=signer) as e:
        e.save_source_string("m", f"open({str(marker)!r}, 'w').write('ran')\nVALUE = 7\n")
        e.save_text("res", "t.txt", "hello")
    return {"pkg": pkg, "trust": tmp_path / "trust", "marker": marker, "tmp": tmp_path,
            "signer": signer}


def test_signed_package_loads_with_trust(signed):
    imp = sealpkg.PackageImporter(str(signed["pkg"]), trust=str(signed["trust"]))
    assert imp.import_module("m").VALUE == 7
    assert signed["marker"].read_text() == "ran"


def test_tampered_package_is_refused_before_anything_runs(signed):
    data = bytearray(signed["pkg"].read_bytes())
    at = data.index(b"hello")
    data[at] ^= 0x20
    bad = signed["tmp"] / "bad.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(PackageRejectedError) as info:
        sealpkg.PackageImporter(str(bad), trust=str(signed["trust"]))
    assert "signature.entry-digest" in str(info.value)
    assert "res/t.txt" in str(info.value)
    assert not signed["marker"].exists()


def test_unsigned_package_is_refused_when_a_signature_is_required(signed):
    stock = signed["tmp"] / "unsigned.pt"
    with sealpkg.PackageExporter(str(stock)) as e:
        e.save_source_string("m", "VALUE = 1\n")
    with pytest.raises(PackageRejectedError) as info:
        sealpkg.PackageImporter(str(stock), trust=str(signed["trust"]))
    assert "signature.missing" in str(info.value)
    # require_signature with the default trust store ($SEALPKG_HOME, empty here): fail closed.
    with pytest.raises(sealpkg.SealpkgError):
        sealpkg.PackageImporter(str(signed["pkg"]), require_signature=True)


def test_policy_files_must_be_signed(signed):
    policy = signed["tmp"] / "p.toml"
    policy.write_text(sealpkg.infer_policy(str(signed["pkg"]), name="p"))
    with pytest.raises(sealpkg.SealpkgError):
        sealpkg.PackageImporter(str(signed["pkg"]), policy=str(policy))
    assert not signed["marker"].exists()
    imp = sealpkg.PackageImporter(str(signed["pkg"]), policy=str(policy),
                                  unsafe_unsigned_policy=True)
    assert imp.load_text("res", "t.txt") == "hello"


def test_wrong_signer_is_refused(signed):
    other = sealpkg.keygen()
    data = sealpkg.sign_archive_bytes(signed["pkg"].read_bytes(), other)
    with pytest.raises(PackageRejectedError) as info:
        sealpkg.PackageImporter(data, trust=str(signed["trust"]))
    assert "signature" in str(info.value)
    assert not signed["marker"].exists()
