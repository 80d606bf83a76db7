"""The benign corpus: what stock torch 1.13 / torchvision 0.14 write is accepted.

Every torchvision model package (stock torch.package) must be accepted by
``builtin:torchvision``, every ``torch.save(model.state_dict())`` by ``builtin:weights-only``,
every plain-data pickle (protocols 0-5) by ``builtin:data-only``.

The corpus (torchvision_corpus.py, ~20 GiB, ~3 min cold on 2 cores) is cached in
``$SEALPKG_BUILD_DIR/test-corpus/torch-<version>/`` and reused while complete.
``SEALPKG_CORPUS_MODELS=resnet18,raft_small`` restricts it to a few models for quick local runs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import pytest
import sealpkg
from torchvision_corpus import (
    ROUNDTRIP_MODELS,
    CorpusFile,
    build_corpus,
    check_roundtrip,
    corpus_files,
    corpus_shards,
    default_corpus_dir,
    shard_models,
    xdist_group,
)

REPO = Path(__file__).resolve().parents[2]


def _build_dir() -> Path:
    env = os.environ.get("SEALPKG_BUILD_DIR")
    if env:
        return Path(env).resolve()
    # <build>/python/sealpkg/__init__.py -> <build>, when sealpkg comes from a build tree
    candidate = Path(sealpkg.__file__).resolve().parents[2]
    if (candidate / "CMakeCache.txt").is_file():
        return candidate
    return REPO / "build"


def _models() -> Optional[List[str]]:
    env = os.environ.get("SEALPKG_CORPUS_MODELS", "").strip()
    return [m.strip() for m in env.split(",") if m.strip()] or None


CORPUS_DIR = default_corpus_dir(_build_dir())
FILES = corpus_files(CORPUS_DIR, _models())


# SEALPKG_CORPUS_STREAM=1 (what scripts/test sets): build each model, verify it and delete it
# at once, so CI never holds the 20 GiB corpus on disk; the round-trip check then covers the
# models kept for it. Otherwise the corpus is cached in the build tree for fast local re-runs.
STREAM = os.environ.get("SEALPKG_CORPUS_STREAM") == "1"

# Under pytest-xdist (-n N --dist loadgroup) the stream is split into N shards of about equal
# cost, each streamed once by the worker that runs its xdist group (test_importer_torchvision.py
# compares the same shard's packages while they are on disk, in the same group).
SHARDS = shard_models(corpus_shards() if STREAM else 1, _models())


@pytest.fixture(scope="session")
def streamed_reports(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Dict]:
    """shard -> {file id: verify report}, streaming that shard on first use."""
    done: Dict[int, Dict[str, object]] = {}

    def get(shard: int) -> Dict[str, object]:
        if shard not in done:
            reports: Dict[str, object] = {}

            def consume(files: List[CorpusFile]) -> None:
                for f in files:
                    reports[f.id] = sealpkg.verify(str(f.path), policy=f.policy)

            build_corpus(tmp_path_factory.mktemp(f"corpus{shard}"), models=SHARDS[shard],
                         log=print, consume=consume)
            done[shard] = reports
        return done[shard]

    return get


def _shard_of(planned: CorpusFile) -> int:
    return next((k for k, names in enumerate(SHARDS) if planned.name in names), 0)


@pytest.fixture(scope="session")
def corpus() -> Dict[str, CorpusFile]:
    models = _models()
    if STREAM:  # only the round-trip models are kept
        models = [m for m in ROUNDTRIP_MODELS if models is None or m in models]
    files = build_corpus(CORPUS_DIR, models=models, log=print)
    return {f.id: f for f in files}


def _describe(findings: Iterable[object]) -> str:
    lines = []
    for f in findings:
        fields = " ".join(f"{attr}={getattr(f, attr, None)!r}"
                          for attr in ("entry", "offset", "line", "name", "construct", "rule"))
        lines.append(f"  {getattr(f, 'code', '?')} {fields}: {getattr(f, 'message', '')}")
    return "\n".join(lines) if lines else "  (no findings)"


@pytest.mark.parametrize("planned", [
    pytest.param(f, id=f.id, marks=pytest.mark.xdist_group(xdist_group(f.name, SHARDS, STREAM)))
    for f in FILES])
def test_benign_file_is_accepted(request: pytest.FixtureRequest, planned: CorpusFile) -> None:
    if STREAM:
        report = request.getfixturevalue("streamed_reports")(_shard_of(planned))[planned.id]
    else:
        entry = request.getfixturevalue("corpus")[planned.id]
        report = sealpkg.verify(str(entry.path), policy=entry.policy)
    findings = list(report.findings)
    assert report.accepted, (
        f"{planned.path.name} ({planned.kind}, {planned.family}) rejected by {planned.policy}; "
        f"findings:\n{_describe(findings)}")


# Streaming, this is the only test that writes the cached corpus directory (the round-trip
# models); otherwise every corpus test shares that directory: one xdist group.
@pytest.mark.xdist_group("corpus-roundtrip" if STREAM else "corpus")
def test_corpus_is_what_stock_torch_loads(corpus: Dict[str, CorpusFile]) -> None:
    """The corpus is genuine: a few packages load back in stock PackageImporter and compute
    what the original model computes; their state_dicts and all data pickles load equal."""
    names = [n for n in ROUNDTRIP_MODELS if f"package:{n}" in corpus]
    check_roundtrip(list(corpus.values()), names)
