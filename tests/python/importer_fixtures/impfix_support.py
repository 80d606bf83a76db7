"""Shared fixtures of the importer tests (tests/python/test_importer_*.py).

Every test takes ``package_api``: the module under test, ``torch.package`` (stock, proves the
test encodes real 1.13 behaviour) or ``sealpkg`` (the drop-in). Packages are written at test
time, once per session, by STOCK ``torch.package.PackageExporter`` from the ``impfix*`` modules
next to this file; ``impfix_packages`` maps a name to the package file.
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import pickle
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import pytest
import torch
import torch.package.package_exporter as _package_exporter
from torch.package import PackageExporter

FIXTURE_DIR = Path(__file__).resolve().parent
BACKENDS = ("torch", "sealpkg")

# Resources saved into the main package: (package, resource) -> bytes.
RESOURCES: Dict[tuple, bytes] = {
    ("impfix_a", "data.txt"): "hello from impfix_a\n".encode(),
    ("impfix_a.res", "greeting.txt"): "greetings \u2713\n".encode(),
    ("impfix_a.res", "blob.bin"): bytes(range(256)),
    ("impfix_a.res.deeper", "nested.bin"): b"nested",
    ("impfix_a.res", "latin1.txt"): "caf\u00e9".encode("latin-1"),
}

# Modules saved explicitly into the main package (their dependencies follow).
MAIN_MODULES = (
    "impfix_a",
    "impfix_a.subpackage",
    "impfix_a.dunder",
    "impfix_a.uses_importer",
    "impfix_a.uses_resources",
    "impfix_a.std_hacks",
    "impfix_a.uses_json",
    "impfix_a.mock_user",
    "impfix_a.extern_user",
    "impfix_a.reduce_obj",
    "impfix_b",
)


def load_backend(name: str) -> ModuleType:
    if name == "torch":
        return importlib.import_module("torch.package")
    return importlib.import_module("sealpkg")


@pytest.fixture(params=BACKENDS)
def package_api(request: pytest.FixtureRequest) -> ModuleType:
    """``torch.package`` or ``sealpkg``: used exactly like ``from torch import package``."""
    return load_backend(request.param)


def backend_name(package_api: ModuleType) -> str:
    return "torch" if package_api.__name__ == "torch.package" else "sealpkg"


def private_module(package_api: ModuleType, name: str) -> ModuleType:
    """A private submodule such as ``_mangling`` of the backend."""
    return importlib.import_module(f"{package_api.__name__}.{name}")


# --------------------------------------------------------------------------------------------
# Packages written by stock torch.package


@dataclasses.dataclass
class Packages:
    root: Path
    paths: Dict[str, Path]
    # What the packaged model computes on `model_input` (stock eager run before packaging).
    model_input: torch.Tensor
    model_output: torch.Tensor
    script_input: torch.Tensor
    script_output: torch.Tensor
    tensors: Dict[str, torch.Tensor]
    generator_input: torch.Tensor
    generator_output: torch.Tensor

    def __getitem__(self, key: str) -> Path:
        return self.paths[key]


def make_tensors() -> Dict[str, Any]:
    """Tensors of several dtypes, views sharing a storage, a parameter and a sparse tensor."""
    g = torch.Generator().manual_seed(7)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    out: Dict[str, Any] = {
        "float32": torch.randn(3, 5, generator=g),
        "float64": torch.randn(4, generator=g, dtype=torch.float64),
        "float16": torch.randn(6, generator=g).half(),
        "bfloat16": torch.randn(6, generator=g).bfloat16(),
        "complex64": torch.randn(3, generator=g, dtype=torch.complex64),
        "int8": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "uint8": torch.arange(250, 256, dtype=torch.uint8),
        "int16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "int32": torch.tensor([-(2**31), 2**31 - 1], dtype=torch.int32),
        "int64": torch.tensor([-(2**63), 2**63 - 1, 5]),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 3),
        "base": base,
        "row_view": base[1],  # shares `base`'s storage, offset 6
        "transposed": base.t(),  # non-contiguous view of the same storage
        "param": torch.nn.Parameter(torch.ones(2, 2)),
        "sparse": torch.sparse_coo_tensor(torch.tensor([[0, 1, 2], [2, 0, 1]]),
                                          torch.tensor([1.0, 2.0, 3.0]), (3, 3)).coalesce(),
    }
    return out


def _export_main(path: Path) -> None:
    from impfix_a.helpers import SENTINEL
    from impfix_a.reduce_obj import ReduceThing
    from impfix_a.subpackage import SubObject

    thing = ReduceThing("shared", "payload \u2713")
    with PackageExporter(str(path)) as exp:
        exp.extern(["impfix_extern", "impfix_extpkg.sub"])
        exp.mock("impfix_mocked")
        exp.intern(["impfix_a.**", "impfix_b.**"])
        for name in MAIN_MODULES:
            exp.save_module(name)
        for (pkg, res), data in RESOURCES.items():
            exp.save_binary(pkg, res, data)
        exp.save_pickle("obj", "sub.pkl", SubObject(3))
        exp.save_pickle("obj", "things.pkl", [thing, thing, ReduceThing("other", "second")])
        exp.save_pickle("obj", "sentinel.pkl", SENTINEL)
        exp.save_pickle("obj", "proto4.pkl", {"sub": SubObject(4), "n": [1, 2.5, "x"]},
                        pickle_protocol=4)
        exp.save_pickle("obj", "unknown_pid.pkl", {"placeholder": True})  # rewritten below


def _export_tensors(path: Path, tensors: Dict[str, Any]) -> None:
    with PackageExporter(str(path)) as exp:
        exp.save_pickle("tensors", "all.pkl", tensors)
        exp.save_pickle("tensors", "again.pkl", {"float32": tensors["float32"]})


def _export_model(path: Path, model: torch.nn.Module) -> None:
    with PackageExporter(str(path)) as exp:
        exp.intern("impfix_a.**")
        exp.save_pickle("model", "model.pkl", model)
        exp.save_text("model", "info.txt", "SmallNet\n")


def _export_script(path: Path, scripted: torch.nn.Module) -> None:
    gate = _package_exporter._gate_torchscript_serialization
    _package_exporter._gate_torchscript_serialization = False
    try:
        with PackageExporter(str(path)) as exp:
            exp.save_pickle("model", "script.pkl", scripted)
            exp.save_pickle("model", "extra.pkl", {"ones": torch.ones(4), "step": 3})
    finally:
        _package_exporter._gate_torchscript_serialization = gate


def _export_repackage_source(path: Path) -> None:
    from impfix_d.imports_directly import ImportsDirectly

    with PackageExporter(str(path)) as exp:
        exp.intern("**")
        exp.save_pickle("default", "obj.pkl", ImportsDirectly())


def _export_simple(path: Path, version_tag: str) -> None:
    """No imports at all: `.data/extern_modules` is a bare newline."""
    with PackageExporter(str(path)) as exp:
        exp.save_source_string("impfix_src", f"VERSION = {version_tag!r}\n\n\n"
                               f"class Versioned:\n    tag = {version_tag!r}\n",
                               is_package=True)
        exp.save_text("impfix_src", "note.txt", f"note {version_tag}\n")


def _export_file_structure(path: Path) -> None:
    with PackageExporter(str(path)) as exp:
        exp.save_source_string("impfix_fs", "X = 1\n", is_package=True)
        exp.save_source_string("impfix_fs.mod", "Y = 2\n")
        exp.save_text("impfix_fs", "b.txt", "b")
        exp.save_text("impfix_fs", "a.txt", "a")
        exp.save_text("impfix_fs.sub", "leaf.txt", "leaf")
        exp.save_text("top", "z.txt", "z")


def write_pickle_with_persistent_ids(obj: Any, persistent_id: Callable[[Any], Any],
                                     protocol: int = 3) -> bytes:
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=protocol)
    pickler.persistent_id = persistent_id  # type: ignore[assignment]
    pickler.dump(obj)
    return buf.getvalue()


def rewrite_archive(src: Path, dst: Path, *, drop: Iterable[str] = (),
                    replace: Optional[Mapping[str, bytes]] = None,
                    min_version: Optional[int] = 6) -> Path:
    """Copies a torch-written archive record by record with torch's own writer (same layout),
    leaving out ``drop``, substituting ``replace``. ``min_version=None`` writes what the
    writer writes by default: a top-level ``version`` record of 3 (no ``.data/version``)."""
    replace = dict(replace or {})
    reader = torch._C.PyTorchFileReader(str(src))
    writer = torch._C.PyTorchFileWriter(str(dst))
    if min_version is not None:
        writer.set_min_version(min_version)
    dropped = set(drop) | {".data/version", "version"}
    for name in reader.get_all_records():
        if name in dropped:
            continue
        data = replace.pop(name, None)
        if data is None:
            data = reader.get_record(name)
        writer.write_record(name, data, len(data))
    for name, data in replace.items():  # records that were not there before
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()
    del writer
    return dst


def extract_to_dir(archive: Path, dest: Path) -> Path:
    """Unzips a package like a user would; returns the inner top-level folder."""
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        zf.extractall(dest)
    top = names[0].split("/", 1)[0]
    return dest / top


def extern_list(archive: Path) -> list:
    """`.data/extern_modules` as torch's importer reads it (splitlines)."""
    with zipfile.ZipFile(archive) as zf:
        name = next(n for n in zf.namelist() if n.split("/", 1)[1] == ".data/extern_modules")
        return zf.read(name).decode().splitlines()


@dataclasses.dataclass(frozen=True)
class _Marker:
    tag: str


def _build(root: Path) -> Packages:
    from impfix_a.models import Generator, SmallNet
    from impfix_a.reduce_obj import unpackage_legacy

    paths: Dict[str, Path] = {}
    paths["main"] = root / "main.pt"
    _export_main(paths["main"])
    # `obj/unknown_pid.pkl` with a persistent id of a type torch does not know.
    unknown = write_pickle_with_persistent_ids(
        {"value": "marker", "odd": "P"},
        lambda o: ("no_such_type", 1, 2) if o == "marker" else None)
    paths["unknown_pid"] = rewrite_archive(paths["main"], root / "unknown_pid.pt",
                                           replace={"obj/unknown_pid.pkl": unknown})
    # Legacy 2-tuple ("reduce_package", func, args) persistent ids (archives before 1.10).
    marker = _Marker("legacy-a")
    legacy = write_pickle_with_persistent_ids(
        [marker, marker],
        lambda o: ("reduce_package", unpackage_legacy, (o.tag,)) if isinstance(o, _Marker)
        else None)
    paths["legacy_reduce"] = rewrite_archive(paths["main"], root / "legacy_reduce.pt",
                                             replace={"obj/legacy.pkl": legacy})

    tensors = make_tensors()
    paths["tensors"] = root / "tensors.pt"
    _export_tensors(paths["tensors"], tensors)

    torch.manual_seed(0)
    model = SmallNet().eval()
    x = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    paths["model"] = root / "model.pt"
    _export_model(paths["model"], model)

    torch.manual_seed(0)
    scripted = torch.jit.script(SmallNet().eval())
    with torch.no_grad():
        ys = scripted(x)
    paths["script"] = root / "script.pt"
    _export_script(paths["script"], scripted)

    paths["repackage_source"] = root / "repackage_source.pt"
    _export_repackage_source(paths["repackage_source"])
    for tag in ("v1", "v2"):
        paths[f"simple_{tag}"] = root / f"simple_{tag}.pt"
        _export_simple(paths[f"simple_{tag}"], tag)
    paths["file_structure"] = root / "file_structure.pt"
    _export_file_structure(paths["file_structure"])

    # Backward-compatibility archives (reference §4.1 package_bc / package_e equivalents): a
    # DCGAN-style generator as eager nn, TorchScript and FX, rewritten to older layouts.
    torch.manual_seed(0)
    gen = Generator().eval()
    z = torch.randn(2, 8, 1, 1, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        gz = gen(z)
    paths["gen_nn"] = root / "gen_nn.pt"
    with PackageExporter(str(paths["gen_nn"])) as exp:
        exp.intern("impfix_a.**")
        exp.save_pickle("nn_module", "nn_module.pkl", gen)
    paths["gen_script"] = root / "gen_script.pt"
    _export_script_generator(paths["gen_script"], torch.jit.script(gen))
    paths["gen_fx"] = root / "gen_fx.pt"
    with PackageExporter(str(paths["gen_fx"])) as exp:
        exp.intern("impfix_a.**")
        exp.save_pickle("fx_module", "fx_module.pkl", torch.fx.symbolic_trace(gen))
    for kind in ("nn", "script", "fx"):
        src = paths[f"gen_{kind}"]
        # package_bc style: no `.data/python_version`, `.data/version` 6.
        paths[f"bc_{kind}"] = rewrite_archive(src, root / f"bc_{kind}.pt",
                                              drop=[".data/python_version"])
        # Older writer default: a top-level `version` record of 3 and no python_version.
        paths[f"bc3_{kind}"] = rewrite_archive(src, root / f"bc3_{kind}.pt",
                                               drop=[".data/python_version"], min_version=None)
    # package_e style: written by another Python.
    paths["py397"] = rewrite_archive(paths["gen_nn"], root / "py397.pt",
                                     replace={".data/python_version": b"3.9.7"})

    return Packages(root, paths, x, y, x, ys, tensors, z, gz)


def _export_script_generator(path: Path, scripted: torch.nn.Module) -> None:
    gate = _package_exporter._gate_torchscript_serialization
    _package_exporter._gate_torchscript_serialization = False
    try:
        with PackageExporter(str(path)) as exp:
            exp.save_pickle("torchscript_module", "torchscript_module.pkl", scripted)
    finally:
        _package_exporter._gate_torchscript_serialization = gate


@pytest.fixture(scope="session")
def impfix_packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    return _build(tmp_path_factory.mktemp("impfix_packages"))


def fresh_copy(src: Path, dst_dir: Path, name: Optional[str] = None) -> Path:
    dst = dst_dir / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


def host_module(name: str) -> ModuleType:
    importlib.import_module(name)
    return sys.modules[name]
