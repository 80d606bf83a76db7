"""Shared fixtures for sealpkg's Python interop tests.

Which build is tested:

* ``SEALPKG_BUILD_DIR`` (default ``<repo>/build``): a CMake build tree; the importable
  package is ``$SEALPKG_BUILD_DIR/python`` and the CLI ``$SEALPKG_BUILD_DIR/cli/sealpkg``.
  When the variable is unset and ``sealpkg`` is already importable (``PYTHONPATH``), that
  package is tested and the CLI is looked up in the build tree it belongs to.
* ``SEALPKG_CLI``: overrides the path of the ``sealpkg`` executable.

The reference archives are written at test time by stock ``torch.package`` / ``torch.save`` /
``torch.jit.save`` (torch 1.13, torchvision 0.14, Debian's ``/usr/bin/python3``), once per
session, into a temporary folder.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import io
import os
import struct
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest

_DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "build"  # <repo>/build


def _locate_python_dir() -> Optional[Path]:
    env = os.environ.get("SEALPKG_BUILD_DIR")
    if env:
        return Path(env).resolve() / "python"
    if importlib.util.find_spec("sealpkg") is not None:
        return None  # already importable (PYTHONPATH)
    return Path(_DEFAULT_BUILD_DIR) / "python"


_PYTHON_DIR = _locate_python_dir()
if _PYTHON_DIR is not None:
    sys.path.insert(0, str(_PYTHON_DIR))

import sealpkg  # noqa: E402  (after the sys.path set-up above)
import torch  # noqa: E402
import torch.package.package_exporter as _package_exporter  # noqa: E402
import torchvision  # noqa: E402
from torch.package import PackageExporter  # noqa: E402


def _locate_cli() -> Path:
    env = os.environ.get("SEALPKG_CLI")
    if env:
        return Path(env).resolve()
    build = os.environ.get("SEALPKG_BUILD_DIR")
    if build:
        return Path(build).resolve() / "cli" / "sealpkg"
    # <build>/python/sealpkg/__init__.py -> <build>/cli/sealpkg
    candidate = Path(sealpkg.__file__).resolve().parents[2] / "cli" / "sealpkg"
    if candidate.exists():
        return candidate
    return Path(_DEFAULT_BUILD_DIR) / "cli" / "sealpkg"


SEALPKG_CLI = _locate_cli()


def pytest_configure(config: pytest.Config) -> None:
    # CI runs pytest in 2 processes (pytest-xdist, --dist loadgroup, see scripts/test); without
    # xdist the marker is a no-op, and registering it keeps that run free of unknown-mark warnings.
    config.addinivalue_line(
        "markers", "xdist_group(name): run in the same pytest-xdist worker as the group's other tests")
    config.addinivalue_line(
        "markers", "sandbox_soak: many sandboxed loads in a row (count: SEALPKG_SANDBOX_LOADS)")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the markers
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    # The sandbox tests run one at a time, in one worker: each starts workers that drop to the
    # same unprivileged uid, whose per-uid limits (RLIMIT_NPROC counts every thread of that uid)
    # concurrent workers would share. Seen once under xdist: a worker's torch import failed
    # (exit 35) in test_no_fd_growth_over_many_loads; it passed alone.
    for item in items:
        if (item.fspath.basename.startswith("test_sandbox")
                and item.get_closest_marker("xdist_group") is None):
            item.add_marker(pytest.mark.xdist_group("sandbox"))


def pytest_report_header(config: pytest.Config) -> List[str]:
    return [
        f"sealpkg {sealpkg.__version__} from {Path(sealpkg.__file__).parent}",
        f"sealpkg CLI: {SEALPKG_CLI}",
        f"torch {torch.__version__}, torchvision {torchvision.__version__}",
    ]


@pytest.fixture(scope="session")
def sealpkg_cli() -> Path:
    assert SEALPKG_CLI.is_file() and os.access(SEALPKG_CLI, os.X_OK), (
        f"sealpkg CLI not found at {SEALPKG_CLI}; set SEALPKG_BUILD_DIR or SEALPKG_CLI"
    )
    return SEALPKG_CLI


# --------------------------------------------------------------------------------------------
# Reference archives written by stock torch


@dataclasses.dataclass
class TorchArchive:
    key: str  # test id
    path: Path
    kind: str  # "package" | "torch.save" | "jit.save"
    stored_only: bool  # every record STORED (no DEFLATE)
    # For packages: (package, resource) of the main pickle, the model input and its output.
    pickle: Optional[tuple] = None
    example_input: Optional[torch.Tensor] = None
    expected_output: Optional[torch.Tensor] = None
    text: Optional[tuple] = None  # (package, resource, content) saved with save_text
    state_dict: Optional[dict] = None  # what torch.save wrote

    @property
    def is_package(self) -> bool:
        return self.kind == "package"


# Model packages: (key, torchvision constructor, file name, packaging style).
MODEL_PACKAGES = [
    ("resnet18", "resnet18", "resnet18.pt", "extern"),
    # A dotted file name: torch's archive name keeps everything before the *last* '.'.
    ("mobilenet_v3_small", "mobilenet_v3_small", "mobilenet_v3_small.v1.pt", "extern"),
    ("squeezenet1_0", "squeezenet1_0", "squeezenet1_0.pt", "mock"),
    ("shufflenet_v2_x0_5", "shufflenet_v2_x0_5", "shufflenet_v2_x0_5.pt", "extern"),
]
ARCHIVE_KEYS = [k for k, *_ in MODEL_PACKAGES] + ["torchscript_pkg", "torch_save", "jit_save"]
STORED_ONLY_KEYS = [k for k, *_ in MODEL_PACKAGES] + ["torch_save"]

# Third-party libraries torchvision's model code imports but a model does not need.
_THIRD_PARTY = ["numpy.**", "scipy.**", "PIL.**", "sympy.**", "typing_extensions", "sys"]


def export_model_package(path: Path, model: torch.nn.Module, style: str = "extern",
                         text: Optional[tuple] = None) -> None:
    """Write ``model`` with stock torch.package, torchvision's code interned."""
    with PackageExporter(str(path)) as exp:
        if style == "extern":
            exp.intern("torchvision.**")
            exp.extern(_THIRD_PARTY)
        else:  # mock what the model does not run: gives `_mock.py` and mocked modules
            mocked = ["torchvision.transforms.**", "torchvision.utils", "torchvision.io.**"]
            exp.intern("torchvision.**", exclude=mocked)
            exp.mock(mocked + ["PIL.**", "numpy.**"])
            exp.extern(["typing_extensions", "sys"])
        if text is not None:
            exp.save_text(*text)
        exp.save_pickle("model", "model.pkl", model)


class SmallScriptable(torch.nn.Module):
    """Big enough that TorchScript's code records exceed 200 bytes and get DEFLATEd."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)
        self.register_buffer("scale", torch.arange(3.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lin(x) * self.scale
        for i in range(3):
            y = torch.relu(y) + float(i)
        return y.sum(dim=-1)


def _build_archives(root: Path) -> Dict[str, TorchArchive]:
    out: Dict[str, TorchArchive] = {}
    for key, ctor, filename, style in MODEL_PACKAGES:
        torch.manual_seed(0)
        model = getattr(torchvision.models, ctor)(weights=None).eval()
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = model(x)
        text = ("meta", "info.txt", f"{key} ✓ packaged by torch {torch.__version__}\n")
        path = root / filename
        export_model_package(path, model, style, text if style == "mock" else None)
        out[key] = TorchArchive(key, path, "package", True, ("model", "model.pkl"), x, y,
                                text if style == "mock" else None)

    # TorchScript inside a package: DEFLATE records under .data/ts_code/code/.
    torch.manual_seed(0)
    scripted = torch.jit.script(SmallScriptable().eval())
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
    y = scripted(x)
    gate = _package_exporter._gate_torchscript_serialization
    _package_exporter._gate_torchscript_serialization = False
    try:
        path = root / "torchscript_pkg.pt"
        with PackageExporter(str(path)) as exp:
            exp.save_pickle("model", "model.pkl", scripted)
            exp.save_pickle("model", "eager.pkl", {"ones": torch.ones(5), "step": 3})
    finally:
        _package_exporter._gate_torchscript_serialization = gate
    out["torchscript_pkg"] = TorchArchive("torchscript_pkg", path, "package", False,
                                          ("model", "model.pkl"), x, y)

    # A torch.save checkpoint (zip format, records data.pkl, data/N, version).
    torch.manual_seed(0)
    path = root / "checkpoint.pth"
    state_dict = torchvision.models.mobilenet_v3_small(weights=None).state_dict()
    torch.save(state_dict, str(path))
    out["torch_save"] = TorchArchive("torch_save", path, "torch.save", True,
                                     state_dict=state_dict)

    # A torch.jit.save archive (code/ records DEFLATEd).
    path = root / "scripted.jit.pt"
    torch.jit.save(scripted, str(path))
    out["jit_save"] = TorchArchive("jit_save", path, "jit.save", False, example_input=x,
                                   expected_output=y)
    return out


@pytest.fixture(scope="session")
def torch_archives(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, TorchArchive]:
    return _build_archives(tmp_path_factory.mktemp("torch_archives"))


@pytest.fixture(params=ARCHIVE_KEYS)
def archive(request: pytest.FixtureRequest, torch_archives) -> TorchArchive:
    return torch_archives[request.param]


@pytest.fixture(params=STORED_ONLY_KEYS)
def stored_archive(request: pytest.FixtureRequest, torch_archives) -> TorchArchive:
    return torch_archives[request.param]


@pytest.fixture(scope="session")
def tensor_package_bytes() -> bytes:
    """A small package written by torch.package into memory: a pickle referencing storages."""
    buf = io.BytesIO()
    with PackageExporter(buf) as exp:
        exp.save_pickle(
            "tensors", "t.pkl",
            {"w": torch.arange(12, dtype=torch.float32).reshape(3, 4), "b": torch.tensor([7, 8])},
        )
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Helpers over Python's zipfile


def strip_prefix(name: str) -> str:
    return name.split("/", 1)[1]


def local_data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's (compressed) data starts: after its local header, name and extra."""
    off = info.header_offset
    sig, = struct.unpack_from("<I", data, off)
    assert sig == 0x04034B50
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    return off + 30 + name_len + extra_len


# --------------------------------------------------------------------------------------------
# Importer tests (test_importer_*.py): the `impfix*` modules they package live in
# importer_fixtures/, with their fixtures (`package_api`: torch.package | sealpkg, and
# `impfix_packages`: packages written by stock torch.package) in impfix_support.py.

sys.path.append(str(Path(__file__).resolve().parent / "importer_fixtures"))
from impfix_support import impfix_packages, package_api  # noqa: E402,F401
