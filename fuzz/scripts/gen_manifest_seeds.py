#!/usr/bin/env python3
"""Deterministic seed corpus for the manifest_parser fuzz target (standard library only).

    python3 fuzz/scripts/gen_manifest_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/manifest_parser/, each file named by the SHA-1 of its content: OMS v1.0
statements as sealpkg and model_signing write them (root digest computed here), DSSE envelopes
and Sigstore v0.3 key-mode bundles around them (signature bytes are arbitrary: the parsers do
not verify), and near-misses every layer must reject: duplicate keys, trailing data, fractions,
exponents, huge and -0 integers, bad escapes and surrogates, invalid UTF-8, deep nesting,
non-canonical base64, unknown members, wrong media and predicate types, unsorted resources.
Existing files are left alone; --check only reports missing seeds and exits 1 if any are.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = "manifest_parser"


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def statement(names: list[str], annotations: dict[str, str] | None = None,
              with_size: bool = True) -> dict:
    resources = []
    raw = b""
    for n in names:
        d = hashlib.sha256(n.encode()).digest()
        raw += d
        r = {"name": n, "algorithm": "sha256", "digest": d.hex()}
        if with_size:
            r["size"] = len(n)
        resources.append(r)
    subject: dict = {"name": "pkg", "digest": {"sha256": hashlib.sha256(raw).hexdigest()}}
    if annotations:
        subject["annotations"] = annotations
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [subject],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {
            "resources": resources,
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
                              "ignore_paths": ["pkg/.data/signatures/package.sigstore.json"]},
        },
    }


def envelope(payload: bytes, sigs: int = 1, keyid: object = "ab") -> dict:
    sig = {"keyid": keyid, "sig": base64.b64encode(bytes(range(64))).decode()}
    return {"payload": base64.b64encode(payload).decode(),
            "payloadType": "application/vnd.in-toto+json", "signatures": [sig] * sigs}


def bundle(env: dict, vm: dict | None = None) -> dict:
    return {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": vm or {"publicKey": {"hint": "00" * 32}, "tlogEntries": []},
            "dsseEnvelope": env}


def seeds() -> list[bytes]:
    ann = {"sealpkg.format": "1", "sealpkg.package": "org.example", "sealpkg.version": "3",
           "sealpkg.layout_sha256": "00" * 32, "sealpkg.cd_sha256": "11" * 32,
           "sealpkg.entry_count": "3", "sealpkg.signed_at": "2026-01-01T00:00:00Z"}
    names = ["pkg/.data/extern_modules", "pkg/.data/version", "pkg/m/__init__.py"]
    st = statement(names, ann)
    st_ms = statement(["."], None, with_size=False)
    out = [dumps(st), dumps(st_ms), json.dumps(st, indent=2).encode()]
    for s in (st, st_ms):
        payload = dumps(s)
        out.append(dumps(envelope(payload)))
        out.append(dumps(envelope(payload, sigs=3)))
        out.append(dumps(envelope(payload, keyid=None)))
        out.append(dumps(bundle(envelope(payload))))
        out.append(dumps(bundle(envelope(payload), {"publicKey": {"hint": "ab"}})))
        out.append(dumps(bundle(envelope(payload), {"publicKey": {}, "timestampVerificationData":
                                                    {"rfc3161Timestamps": []}})))
    good = dumps(bundle(envelope(dumps(st))))
    out += [
        good + b" ", good + b"x", good + b"{}",
        good.replace(b'"mediaType"', b'"mediaType":"x","mediaType"', 1),
        good.replace(b"v0.3", b"v0.2", 1),
        good.replace(b'"tlogEntries":[]', b'"tlogEntries":[{}]', 1),
        good.replace(b'"publicKey"', b'"x509CertificateChain":{},"publicKey"', 1),
        dumps(st).replace(b'"method":"files"', b'"method":"shards"'),
        dumps(st).replace(b'"predicate":{', b'"predicate":{"extra":1,'),
        dumps(statement(list(reversed(names)), ann)),
        dumps(statement([names[0], names[0]], ann)),
        dumps(st).replace(b'"size":24', b'"size":24.0'),
        dumps(st).replace(b'"size":24', b'"size":1e2'),
        dumps(st).replace(b'"size":24', b'"size":-0'),
        dumps(st).replace(b'"size":24', b'"size":9007199254740992'),
        dumps(st).replace(b'"pkg"', b'"p\\ud800kg"', 1),
        dumps(st).replace(b'"pkg"', b'"p\\u0000kg"', 1),
        dumps(st).replace(b'"pkg"', b'"p\xffkg"', 1),
        dumps(st).replace(b'"pkg"', b'"p\xc0\xafkg"', 1),
        dumps(envelope(b"{}")).replace(b'"e30="', b'"e31="'),
        dumps(envelope(b"{}")).replace(b'"e30="', b'"e30"'),
        dumps(envelope(b"{}")).replace(b'"e30="', b'"e3 0="'),
        dumps(envelope(b"{}")).replace(b'"e30="', b'"e3-_"'),
        b"[" * 40 + b"]" * 40, b"[" * 5000, b'{"a":' * 40 + b"1" + b"}" * 40,
        b"", b"null", b"0", b'"', b"{", b"[1,]", b'{"a":1,}', b"\xef\xbb\xbf{}",
    ]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "corpus"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    folder = os.path.join(args.out, TARGET)
    os.makedirs(folder, exist_ok=True)
    missing = 0
    for data in seeds():
        path = os.path.join(folder, hashlib.sha1(data).hexdigest())
        if os.path.exists(path):
            continue
        if args.check:
            print(f"missing seed {path}", file=sys.stderr)
            missing += 1
            continue
        with open(path, "wb") as f:
            f.write(data)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
