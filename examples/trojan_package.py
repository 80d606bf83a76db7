#!/usr/bin/python3
"""Make a trojaned copy of a torchvision package: same model, one packaged source changed.

Usage: trojan_package.py IN.pt OUT.pt

The copy's torchvision/models/resnet.py gains two lines that run when the model is unpickled
(torch.package imports the module to resolve the pickled class). The payload here is harmless
(subprocess.list2cmdline, which only formats a string); a real one would not be. Stock
torch.package loads the copy without complaint; sealpkg's verifier rejects it before anything
runs: the source no longer matches its pinned SHA-256 and imports a module the policy forbids.
"""
from __future__ import annotations

import sys

import sealpkg

PAYLOAD = b'\nimport subprocess\n_TROJAN = subprocess.list2cmdline(["payload", "ran"])\n'


def trojan(src: str, dst: str) -> None:
    reader = sealpkg.ArchiveReader(src)
    with sealpkg.ArchiveWriter(dst, archive_name=reader.archive_name) as writer:
        for record in reader.records():
            data = reader.read(record)
            if record == "torchvision/models/resnet.py":
                data += PAYLOAD
            if record == ".data/extern_modules":
                data += b"subprocess\n"
            writer.write_record(record, data)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    trojan(sys.argv[1], sys.argv[2])
    from torch.package import PackageImporter

    model = PackageImporter(sys.argv[2]).load_pickle("model", "model.pkl")
    resnet = sys.modules.get("subprocess") and type(model).__module__
    print(f"  stock torch.package loaded the trojaned copy ({type(model).__name__}); "
          f"its payload ran on import")
