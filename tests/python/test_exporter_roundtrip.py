"""Round trips of real models through sealpkg.PackageExporter.

* exported by sealpkg, loaded by stock torch.package AND sealpkg.PackageImporter: outputs equal
  to the original model's (resnet18, vit_b_16, mobilenet_v3_small, a detection model);
* exported by stock torch.package, re-exported by sealpkg through an OrderedImporter over the
  loaded package, loaded by both;
* reproducibility: the same model exported twice gives identical bytes, and for a plain
  nn.Module they are the bytes stock torch.package writes.

With SEALPKG_CORPUS_STREAM=1 (CI) every torchvision model of the benign corpus is also
re-exported by sealpkg while test_benign_corpus.py's stream has the stock package on disk
(the stream hook below), and loaded back by both importers.
"""
from __future__ import annotations

import gc
import io
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "exporter_fixtures"))

import expfix_models  # noqa: E402
from corpus_checks import isolated, reexport_check  # noqa: E402
import sealpkg  # noqa: E402
import torch  # noqa: E402
import torch.package  # noqa: E402
from torchvision_corpus import (  # noqa: E402
    EXTERN,
    EXTERN_TORCHVISION,
    MOCK,
    CorpusFile,
    add_stream_hook,
    build_corpus,
    build_model,
    corpus_files,
    example_input,
)

STREAM = os.environ.get("SEALPKG_CORPUS_STREAM") == "1"

# torchvision.transforms imports this optional module inside try/except ImportError; it is not
# installed.
# sealpkg reports unresolvable imports, so a configuration that works everywhere externs them
# (an extern that is missing fails at import time inside the package, where the code expects it).
OPTIONAL_MISSING = ["accimage"]

MODELS = [
    ("resnet18", "classification"),
    ("mobilenet_v3_small", "classification"),
    ("vit_b_16", "classification"),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", "detection"),
]


def export_sealpkg(target: Any, model: torch.nn.Module, **kwargs: Any) -> None:
    with sealpkg.PackageExporter(target, **kwargs) as e:
        e.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
        e.extern(EXTERN + EXTERN_TORCHVISION + OPTIONAL_MISSING)
        e.mock(MOCK)
        e.save_pickle("model", "model.pkl", model)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.allclose(
            a, b, rtol=1e-5, atol=1e-6)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return bool(a == b)


def _run(model: Any, family: str, name: str) -> Any:
    torch.manual_seed(0)
    with torch.no_grad():
        return model(*example_input(family, name))


@pytest.mark.parametrize("name,family", MODELS, ids=[m for m, _ in MODELS])
def test_sealpkg_export_loads_in_both_importers(tmp_path, name, family):
    model = build_model(name)
    expected = _run(model, family, name)
    path = tmp_path / f"{name}.pt"
    export_sealpkg(str(path), model)
    del model
    for importer_cls in (torch.package.PackageImporter, sealpkg.PackageImporter):
        imp = importer_cls(str(path))
        loaded = imp.load_pickle("model", "model.pkl")
        assert type(loaded).__module__.startswith(imp.id() + ".")
        assert _same(expected, _run(loaded, family, name)), f"{name} with {importer_cls}"
        del loaded, imp
        gc.collect()


def _stock_export(target: Any, model: torch.nn.Module) -> None:
    with torch.package.PackageExporter(target) as e:
        e.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
        e.extern(EXTERN + EXTERN_TORCHVISION)
        e.mock(MOCK)
        e.save_pickle("model", "model.pkl", model)


def reexport(source: Path, target: Path, importer_cls: Any) -> None:
    """Loads a package and exports its model again through (importer, sys_importer)."""
    imp = importer_cls(str(source))
    model = imp.load_pickle("model", "model.pkl")
    with sealpkg.PackageExporter(str(target), importer=(imp, sealpkg.sys_importer)) as e:
        e.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
        e.extern(EXTERN + EXTERN_TORCHVISION + OPTIONAL_MISSING)
        e.mock(MOCK)
        e.save_pickle("model", "model.pkl", model)


@pytest.mark.parametrize("source_importer", ["torch", "sealpkg"])
def test_stock_export_reexported_by_sealpkg(tmp_path, source_importer):
    name, family = "resnet18", "classification"
    model = build_model(name)
    expected = _run(model, family, name)
    stock = tmp_path / "stock.pt"
    _stock_export(str(stock), model)
    again = tmp_path / "again.pt"
    cls = torch.package.PackageImporter if source_importer == "torch" else sealpkg.PackageImporter
    reexport(stock, again, cls)
    for importer_cls in (torch.package.PackageImporter, sealpkg.PackageImporter):
        loaded = importer_cls(str(again)).load_pickle("model", "model.pkl")
        assert _same(expected, _run(loaded, family, name))


def test_reproducible_bytes(tmp_path):
    model = build_model("mobilenet_v3_small")
    first, second = io.BytesIO(), io.BytesIO()
    export_sealpkg(first, model)
    export_sealpkg(second, model)
    assert first.getvalue() == second.getvalue()
    # A file target gives the same archive under its own folder name.
    path = tmp_path / "archive.pt"
    export_sealpkg(str(path), model)
    assert path.read_bytes() == first.getvalue()


def test_reproducible_with_reduce_package_and_torchscript(monkeypatch):
    monkeypatch.setattr(sealpkg.package_exporter, "_gate_torchscript_serialization", False)
    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Linear(3, 3))
    obj = {"a": expfix_models.ByPackage("x"), "s": scripted, "t": torch.ones(4)}

    def once() -> bytes:
        buf = io.BytesIO()
        with sealpkg.PackageExporter(buf) as e:
            e.intern(["expfix_models", "expfix_plain"])
            e.save_pickle("o", "o.pkl", obj)
        return buf.getvalue()

    assert once() == once()


def test_same_bytes_as_stock_torch_package():
    """The writer lays records out exactly as torch's; for a model without TorchScript, with a
    non-empty extern list, the whole archive is byte-identical to stock torch.package's."""
    model = expfix_models.TinyNet()

    def export(api: Any) -> bytes:
        buf = io.BytesIO()
        with api.PackageExporter(buf) as e:
            e.intern(["expfix_models", "expfix_plain"])
            e.save_pickle("model", "model.pkl", model)
        return buf.getvalue()

    assert export(sealpkg) == export(torch.package)


# ----- every corpus model, re-exported (CI stream) ---------------------------------------------

RESULTS: Dict[str, Optional[str]] = {}
TIMES: List[float] = []


def _check_reexport(package: CorpusFile, workdir: Path) -> None:
    # In a recycled child process: loaded packages pin memory process-wide (corpus_checks.py).
    start = time.monotonic()
    try:
        RESULTS[package.name] = isolated(reexport_check, str(package.path), package.family,
                                         package.name, str(workdir))
    except Exception:  # noqa: BLE001 - e.g. the child died; reported by the test
        RESULTS[package.name] = "check process failed:\n" + traceback.format_exc()
    TIMES.append(time.monotonic() - start)


_WORKDIR: List[Path] = []


def _hook(files: List[CorpusFile]) -> None:
    if not _WORKDIR:
        import tempfile

        _WORKDIR.append(Path(tempfile.mkdtemp(prefix="sealpkg-reexport-")))
    for f in files:
        if f.kind == "package":
            _check_reexport(f, _WORKDIR[0])


if STREAM:
    add_stream_hook(_hook)


def _corpus_models() -> List[str]:
    env = os.environ.get("SEALPKG_CORPUS_MODELS", "").strip()
    return [m.strip() for m in env.split(",") if m.strip()]


# Outside CI (no stream) two small models stand in for the corpus unless SEALPKG_CORPUS_MODELS
# names others.
LOCAL_MODELS = ["squeezenet1_1", "shufflenet_v2_x0_5"]


def test_every_corpus_model_reexports(tmp_path_factory):
    models = _corpus_models() or (None if STREAM else LOCAL_MODELS)
    if not STREAM:
        add_stream_hook(_hook)
    wanted = {f.name for f in corpus_files(tmp_path_factory.mktemp("c"), models)
              if f.kind == "package"}
    if not wanted <= set(RESULTS):
        build_corpus(tmp_path_factory.mktemp("exporter_corpus"), models=models, log=print,
                     consume=lambda files: None)
    print(f"exporter: {len(TIMES)} corpus packages re-exported and compared in "
          f"{sum(TIMES):.1f} s")
    failures = {k: v for k, v in RESULTS.items() if k in wanted and v is not None}
    assert not failures, failures
    assert wanted <= set(RESULTS)
