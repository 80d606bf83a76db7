"""Every torchvision 0.14 model package of the benign corpus (stock torch.package, written at
test time by torchvision_corpus.py) loads with the backend under test and computes what stock
torch.package's load of the same package computes on the same input (eval mode, fixed seed):
``torch.allclose``.

Cost: the corpus is not built twice. With SEALPKG_CORPUS_STREAM=1 (CI) a stream hook compares
each package while test_benign_corpus.py's stream has it on disk; if that stream did not run in
this session (this file alone), the fixture streams the corpus itself. Otherwise the cached
corpus of the build tree is used. SEALPKG_CORPUS_MODELS=resnet18,raft_small restricts it.
"""
from __future__ import annotations

import gc
import os
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import sealpkg
import torch
import torch.package
from impfix_support import load_backend
from torchvision_corpus import (
    CorpusFile,
    add_stream_hook,
    build_corpus,
    corpus_files,
    default_corpus_dir,
    example_input,
    forward_checked,
    release_package_references,
)

REPO = Path(__file__).resolve().parents[2]
STREAM = os.environ.get("SEALPKG_CORPUS_STREAM") == "1"


def _build_dir() -> Path:
    env = os.environ.get("SEALPKG_BUILD_DIR")
    if env:
        return Path(env).resolve()
    candidate = Path(sealpkg.__file__).resolve().parents[2]
    if (candidate / "CMakeCache.txt").is_file():
        return candidate
    return REPO / "build"


def _models() -> Optional[List[str]]:
    env = os.environ.get("SEALPKG_CORPUS_MODELS", "").strip()
    return [m.strip() for m in env.split(",") if m.strip()] or None


CORPUS_DIR = default_corpus_dir(_build_dir())
PACKAGES = [f for f in corpus_files(CORPUS_DIR, _models()) if f.kind == "package"]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                and torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_close(x, y) for x, y in zip(a, b)))
    return bool(a == b)


def _run(importer_cls: Any, path: Path, family: str, name: str) -> Tuple[Any, Dict]:
    imp = importer_cls(str(path))
    model = imp.load_pickle("model", "model.pkl")
    module = type(model).__module__
    assert module.startswith(imp.id() + "."), module
    assert not model.training
    if not forward_checked(name):  # weights only (FORWARD_MODELS in torchvision_corpus.py)
        return None, model.state_dict()
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(*example_input(family, name))
    return out, model.state_dict()


def _same_state(got: Dict, want: Dict) -> Optional[str]:
    if list(got) != list(want):
        return "state_dict keys differ"
    bad = [k for k in want if not torch.equal(got[k], want[k])]
    return f"state_dict values differ: {bad[:5]}" if bad else None


# (backend, model) -> None when all is well, else what went wrong; and seconds spent.
RESULTS: Dict[Tuple[str, str], Optional[str]] = {}
TIMES: Dict[str, float] = {}


def compare_files(package: CorpusFile, state_dict: Optional[CorpusFile]) -> None:
    """Records into RESULTS (never raises). "torch": stock torch.package loads the package, its
    weights equal the model's torch.save'd state_dict, the model runs. "sealpkg": loads it with
    the same weights and an output torch.allclose to the stock load's on the same input."""
    start = time.monotonic()
    name = package.name
    try:
        reference = torch.load(str(state_dict.path)) if state_dict is not None else None
        want, stock_state = _run(torch.package.PackageImporter, package.path, package.family,
                                 name)
        error = _same_state(stock_state, reference) if reference is not None else None
        RESULTS[("torch", name)] = error
        reference = stock_state
    except Exception:  # noqa: BLE001 - recorded, reported by the test
        RESULTS[("torch", name)] = "stock load failed:\n" + traceback.format_exc()
        RESULTS[("sealpkg", name)] = "no stock reference (stock load failed)"
        return
    gc.collect()
    try:
        got, state = _run(load_backend("sealpkg").PackageImporter, package.path, package.family,
                          name)
        RESULTS[("sealpkg", name)] = _same_state(state, reference) or (
            None if _close(want, got) else "outputs differ from the stock load's")
    except Exception:  # noqa: BLE001
        RESULTS[("sealpkg", name)] = traceback.format_exc()
    release_package_references()
    TIMES[name] = time.monotonic() - start


def _hook(files: List[CorpusFile]) -> None:
    packages = [f for f in files if f.kind == "package"]
    states = {f.name: f for f in files if f.kind == "state_dict"}
    for f in packages:
        compare_files(f, states.get(f.name))


if STREAM:
    add_stream_hook(_hook)  # sees test_benign_corpus.py's stream, if it runs in this session


@pytest.fixture(scope="session")
def torchvision_results(tmp_path_factory: pytest.TempPathFactory) -> Dict:
    wanted = {f.name for f in PACKAGES}
    if STREAM:
        if not wanted <= {name for _, name in RESULTS}:
            build_corpus(tmp_path_factory.mktemp("importer_corpus"), models=_models(), log=print,
                         consume=lambda files: None)  # the hook above compares
    else:
        files = build_corpus(CORPUS_DIR, models=_models(), log=print)
        states = {f.name: f for f in files if f.kind == "state_dict"}
        for f in files:
            if f.kind == "package" and ("torch", f.name) not in RESULTS:
                compare_files(f, states.get(f.name))
    if TIMES:
        print(f"importer torchvision: {len(TIMES)} packages compared in "
              f"{sum(TIMES.values()):.1f} s")
    return RESULTS


@pytest.mark.parametrize("planned", PACKAGES, ids=[f.name for f in PACKAGES])
def test_torchvision_package_matches_stock(package_api, torchvision_results, planned):
    backend = "torch" if package_api.__name__ == "torch.package" else "sealpkg"
    key = (backend, planned.name)
    assert key in torchvision_results, f"{planned.name} was not compared"
    error = torchvision_results[key]
    assert error is None, f"{planned.name} ({planned.family}) with {backend}: {error}"
