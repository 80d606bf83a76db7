#!/usr/bin/python3
"""Make a trojaned copy of a torchvision package: same model, one packaged source changed.

Usage: trojan_package.py IN.pt OUT.pt [--payload format|exfil]

The copy's torchvision/models/resnet.py gains two lines that run when the model is unpickled
(torch.package imports the module to resolve the pickled class). The payload here is harmless
(subprocess.list2cmdline, which only formats a string); a real one would not be. Stock
torch.package loads the copy without complaint; sealpkg's verifier rejects it before anything
runs: the source no longer matches its pinned SHA-256 and imports a module the policy forbids.

`--payload exfil` instead opens a TCP socket to 127.0.0.1:9 (the discard port) on import, as a
model that phones home would. Used by the main job to show the sandbox containing a package that
a careless, permissive policy let through.
"""
from __future__ import annotations

import sys

import sealpkg

PAYLOADS = {
    "format": (b'\nimport subprocess\n_TROJAN = subprocess.list2cmdline(["payload", "ran"])\n',
               b"subprocess\n"),
    "exfil": (b"\nimport socket\n_s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
              b"try:\n    _s.settimeout(1)\n    _s.connect(('127.0.0.1', 9))\n"
              b"except OSError:\n    pass\nfinally:\n    _s.close()\n", b"socket\n"),
}


def trojan(src: str, dst: str, payload: str = "format") -> None:
    code, extern = PAYLOADS[payload]
    reader = sealpkg.ArchiveReader(src)
    with sealpkg.ArchiveWriter(dst, archive_name=reader.archive_name) as writer:
        for record in reader.records():
            data = reader.read(record)
            if record == "torchvision/models/resnet.py":
                data += code
            if record == ".data/extern_modules" and extern.strip() not in data.split(b"\n"):
                data += extern
            writer.write_record(record, data)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5) or (len(sys.argv) == 5 and sys.argv[3] != "--payload"):
        sys.exit(__doc__)
    kind = sys.argv[4] if len(sys.argv) == 5 else "format"
    trojan(sys.argv[1], sys.argv[2], kind)
    if kind != "format":
        print(f"  wrote {sys.argv[2]} (payload: {kind}; not loaded here)")
        sys.exit(0)
    from torch.package import PackageImporter

    model = PackageImporter(sys.argv[2]).load_pickle("model", "model.pkl")
    resnet = sys.modules.get("subprocess") and type(model).__module__
    print(f"  stock torch.package loaded the trojaned copy ({type(model).__name__}); "
          f"its payload ran on import")
