"""Every torchvision 0.14 model package of the benign corpus (stock torch.package, written at
test time by torchvision_corpus.py) loads with the backend under test and computes what stock
torch.package's load of the same package computes on the same input (eval mode, fixed seed):
``torch.allclose``.

Cost: the corpus is not built twice. With SEALPKG_CORPUS_STREAM=1 (CI) a stream hook compares
each package while test_benign_corpus.py's stream has it on disk; if that stream did not run in
this process (this file alone), the fixture streams the packages itself. Under pytest-xdist
(--dist loadgroup) the stream is sharded as in test_benign_corpus.py and each test runs in its
model's shard group, in the worker that streams that shard. Otherwise the cached corpus of the
build tree is used. SEALPKG_CORPUS_MODELS=resnet18,raft_small restricts it.
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import sealpkg
from corpus_checks import compare_importers, isolated
from torchvision_corpus import (
    CorpusFile,
    add_stream_hook,
    build_corpus,
    corpus_files,
    corpus_shards,
    default_corpus_dir,
    shard_models,
    xdist_group,
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
SHARDS = shard_models(corpus_shards() if STREAM else 1, _models())  # as test_benign_corpus.py


# (backend, model) -> None when all is well, else what went wrong; and seconds spent.
RESULTS: Dict[Tuple[str, str], Optional[str]] = {}
TIMES: Dict[str, float] = {}


def compare_files(package: CorpusFile, state_dict: Optional[CorpusFile]) -> None:
    """Records into RESULTS (never raises): corpus_checks.compare_importers, run in a recycled
    child process (loaded packages pin memory process-wide; see corpus_checks.py)."""
    start = time.monotonic()
    try:
        torch_error, sealpkg_error = isolated(
            compare_importers, str(package.path),
            str(state_dict.path) if state_dict is not None else None, package.family,
            package.name)
    except Exception:  # noqa: BLE001 - e.g. the child died; reported by the test
        torch_error = sealpkg_error = "check process failed:\n" + traceback.format_exc()
    RESULTS[("torch", package.name)] = torch_error
    RESULTS[("sealpkg", package.name)] = sealpkg_error
    TIMES[package.name] = time.monotonic() - start


def _hook(files: List[CorpusFile]) -> None:
    packages = [f for f in files if f.kind == "package"]
    states = {f.name: f for f in files if f.kind == "state_dict"}
    for f in packages:
        compare_files(f, states.get(f.name))


if STREAM:
    add_stream_hook(_hook)  # sees test_benign_corpus.py's stream, if it runs in this session


@pytest.fixture(scope="session")
def torchvision_results(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Dict]:
    """model -> RESULTS, after comparing every package of that model's shard not yet compared
    in this process."""

    def get(name: str) -> Dict:
        shard = next((names for names in SHARDS if name in names), [name])
        missing = [n for n in shard if ("torch", n) not in RESULTS]
        if not missing:
            return RESULTS
        if STREAM:
            build_corpus(tmp_path_factory.mktemp("importer_corpus"), models=missing, log=print,
                         consume=lambda files: None)  # the hook above compares
        else:
            files = build_corpus(CORPUS_DIR, models=_models(), log=print)
            states = {f.name: f for f in files if f.kind == "state_dict"}
            for f in files:
                if f.kind == "package" and ("torch", f.name) not in RESULTS:
                    compare_files(f, states.get(f.name))
        print(f"importer torchvision: {len(TIMES)} packages compared in "
              f"{sum(TIMES.values()):.1f} s")
        return RESULTS

    return get


@pytest.mark.parametrize("planned", [
    pytest.param(f, id=f.name, marks=pytest.mark.xdist_group(xdist_group(f.name, SHARDS, STREAM)))
    for f in PACKAGES])
def test_torchvision_package_matches_stock(package_api, torchvision_results, planned):
    backend = "torch" if package_api.__name__ == "torch.package" else "sealpkg"
    key = (backend, planned.name)
    results = torchvision_results(planned.name)
    assert key in results, f"{planned.name} was not compared"
    error = results[key]
    assert error is None, f"{planned.name} ({planned.family}) with {backend}: {error}"
