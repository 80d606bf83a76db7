"""Shared helpers of the exporter tests: fixture path, the two APIs, loading back."""
from __future__ import annotations

import importlib
import io
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Tuple

FIXTURE_DIR = Path(__file__).resolve().parent
if str(FIXTURE_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURE_DIR))

BACKENDS = ("torch", "sealpkg")


def api(name: str) -> ModuleType:
    """torch.package (stock 1.13) or sealpkg: the same exporter surface."""
    return importlib.import_module("torch.package" if name == "torch" else "sealpkg")


def importers() -> Tuple[Any, Any]:
    import sealpkg
    import torch.package

    return torch.package.PackageImporter, sealpkg.PackageImporter


def records(data: bytes) -> Dict[str, bytes]:
    """Record name (without the archive folder) -> bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        out = {}
        for info in z.infolist():
            out[info.filename.split("/", 1)[1]] = z.read(info)
        return out
