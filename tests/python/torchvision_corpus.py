#!/usr/bin/python3
"""The benign corpus: what stock torch 1.13 / torchvision 0.14 write for real models and data.

For every torchvision classification, detection, segmentation, video and optical-flow model
with at most 100 M parameters (quantized variants excluded), built with random weights
(``weights=None``, ``weights_backbone=None``, ``torch.manual_seed(0)``), this writes

* ``<model>.pt``: the eval-mode model saved with *stock* ``torch.package``, torchvision's
  code interned (``torchvision.**``), third-party and optional modules externed or mocked
  (``EXTERN`` / ``MOCK``: one configuration that works for every model), and
* ``<model>.state_dict.pth``: ``torch.save(model.state_dict())`` (zip format),

plus plain-data pickles (``data_p<N>_<c|py>.pkl``) of protocols 0-5 written by the C and the
pure-Python picklers: nested dicts, lists, tuples, sets, ints, floats, bytes, str, None, bools,
shared references, and one large enough for several protocol-4 frames.

Everything is cached in the directory the caller names (the tests use
``$SEALPKG_BUILD_DIR/test-corpus/torch-<version>/``): files are written atomically, a
``config.json`` records what the directory was built for (a mismatch wipes it) and
``corpus.json`` is written last, so a complete directory is reused as is and an interrupted
build resumes where it stopped.

    /usr/bin/python3 torchvision_corpus.py OUT_DIR [--models resnet18,raft_small] [--roundtrip]
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import json
import math
import os
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torchvision
from torch.package import PackageExporter, PackageImporter
from torchvision import models as tv_models

# Bump when what the corpus contains changes: a directory built for another version is rebuilt.
CORPUS_VERSION = 1
MAX_PARAMS = 100_000_000

# One packaging configuration for every model. torchvision's model code imports these at module
# level (directly or through torchvision/__init__.py, utils, ops, transforms) but never needs
# them as packaged source: extern them. `sys` and `io` are stdlib modules torch.package refuses
# to extern implicitly. The dataset/IO subpackages are never used by a model: mock them.
EXTERN = [
    "numpy.**",
    "PIL.**",
    "scipy.**",
    "sympy.**",
    "requests.**",
    "typing_extensions",
    "sys",
    "io",
]
# `torchvision.extension` loads torchvision's compiled ops (nms, roi_align...) from a path next to
# its own __file__, which does not exist inside a package: extern it so the detection models'
# ops resolve to the installed library.
EXTERN_TORCHVISION = ["torchvision.extension"]
MOCK = ["torchvision.io.**", "torchvision.datasets.**"]

# Model families, in the order they are built.
FAMILIES: List[Tuple[str, Any]] = [
    ("classification", tv_models),
    ("detection", tv_models.detection),
    ("segmentation", tv_models.segmentation),
    ("video", tv_models.video),
    ("optical_flow", tv_models.optical_flow),
]

# Policies each kind of file must be accepted by.
POLICY = {
    "package": "builtin:torchvision",
    "state_dict": "builtin:weights-only",
    "pickle": "builtin:data-only",
}

# Models whose package is loaded back in stock PackageImporter and run by `check_roundtrip`.
ROUNDTRIP_MODELS = (
    "resnet18",
    "mobilenet_v3_small",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "lraspp_mobilenet_v3_large",
    "r3d_18",
    "raft_small",
)

CONFIG_FILE = "config.json"
MANIFEST_FILE = "corpus.json"


@dataclasses.dataclass(frozen=True)
class CorpusFile:
    path: Path
    kind: str  # "package" | "state_dict" | "pickle"
    name: str  # model name, or the data pickle's id
    family: str  # model family, or "data"

    @property
    def policy(self) -> str:
        return POLICY[self.kind]

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


def default_corpus_dir(build_dir: Path) -> Path:
    """Where the tests cache the corpus: ``<build>/test-corpus/torch-<version>/``."""
    return Path(build_dir) / "test-corpus" / f"torch-{torch.__version__}"


# --------------------------------------------------------------------------------------------
# Models


def _declared_params(name: str) -> Optional[int]:
    """Parameter count from the weights metadata (no construction); None if unknown."""
    try:
        counts = [w.meta.get("num_params") for w in tv_models.get_model_weights(name)]
    except Exception:  # noqa: BLE001 - a builder without registered weights
        return None
    counts = [c for c in counts if isinstance(c, int)]
    return max(counts) if counts else None


def select_models(max_params: int = MAX_PARAMS) -> List[Tuple[str, str]]:
    """(model name, family) of every model in the corpus, sorted within each family."""
    out = []
    for family, module in FAMILIES:
        for name in sorted(tv_models.list_models(module=module)):
            declared = _declared_params(name)
            if declared is not None and declared > max_params:
                continue
            out.append((name, family))
    return out


def build_model(name: str) -> torch.nn.Module:
    """The model with random weights: seed 0, no pretrained weights or backbone, eval mode."""
    builder = tv_models.get_model_builder(name)
    kwargs: Dict[str, Any] = {"weights": None}
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs["weights_backbone"] = None
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # googlenet/inception init warnings, meshgrid
        model = builder(**kwargs)
    return model.eval()


def export_package(path: Path, model: torch.nn.Module) -> None:
    with PackageExporter(str(path)) as exporter:
        # Patterns are tried in the order they are declared: exclude the mocked subpackages from
        # the intern pattern, or `torchvision.**` claims them first and the mock never applies.
        exporter.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
        exporter.extern(EXTERN + EXTERN_TORCHVISION)
        exporter.mock(MOCK)
        exporter.save_pickle("model", "model.pkl", model)


# --------------------------------------------------------------------------------------------
# Plain-data pickles


def plain_data() -> Dict[str, Any]:
    """Nested plain data touching every opcode family a data pickle uses (nothing but builtins)."""
    shared = [1, "shared", (2.5, None)]
    return {
        "none": None,
        "bools": [True, False],
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31 - 1, 2**31, 2**63, -(2**100)],
        "floats": [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, math.inf, -math.inf],
        "str": ["", "a", "ascii text", "caf\u00e9 \u2603 \U0001f600", "x" * 300],
        "bytes": [b"", b"\x00\xff", bytes(range(256)), b"y" * 300],
        "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((), ((),))],
        "lists": [[], [[]], list(range(10))],
        "sets": [set(), {1, 2, 3}, {"a", "b"}],
        "dicts": [{}, {1: "one", "two": 2, (3, 4): [5]}, {"nested": {"deeper": {"deepest": []}}}],
        "shared": [shared, shared, {"again": shared}],
        "many_items": {f"k{i}": i for i in range(1500)},  # several SETITEMS batches
        "many_values": list(range(2500)),  # several APPENDS batches
    }


def large_plain_data() -> Dict[str, Any]:
    """Over 64 KiB: protocols 4 and 5 split it into several frames."""
    return {"rows": [{"i": i, "s": f"row {i}", "b": bytes([i % 256]) * 40} for i in range(2000)]}


def _pickle_variants() -> List[Tuple[str, Callable[[], bytes]]]:
    out = []
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for impl in ("c", "py"):
            def dump(proto: int = proto, impl: str = impl) -> bytes:
                buf = io.BytesIO()
                python_pickler = pickle._Pickler  # type: ignore[attr-defined]
                pickler = pickle.Pickler if impl == "c" else python_pickler
                pickler(buf, protocol=proto).dump(plain_data())
                return buf.getvalue()
            out.append((f"data_p{proto}_{impl}", dump))
    for proto in (4, 5):
        out.append((f"data_p{proto}_c_large",
                    lambda proto=proto: pickle.dumps(large_plain_data(), protocol=proto)))
    return out


# --------------------------------------------------------------------------------------------
# Building and caching


def _config() -> Dict[str, Any]:
    return {
        "corpus_version": CORPUS_VERSION,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": sys.version.split()[0],
        "max_params": MAX_PARAMS,
        "extern": EXTERN + EXTERN_TORCHVISION,
        "mock": MOCK,
    }


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    write(tmp)
    os.replace(tmp, path)


def _selection(models: Optional[Iterable[str]]) -> List[Tuple[str, str]]:
    selection = select_models()
    if models is None:
        return selection
    wanted = set(models)
    unknown = wanted - {n for n, _ in selection}
    if unknown:
        raise ValueError(f"not in the corpus: {sorted(unknown)}")
    return [(n, f) for n, f in selection if n in wanted]


def corpus_files(root: Path, models: Optional[Iterable[str]] = None) -> List[CorpusFile]:
    """The files the corpus in ``root`` consists of (built or not): cheap, for test ids."""
    return _planned(Path(root), _selection(models))


def _planned(root: Path, selection: Sequence[Tuple[str, str]]) -> List[CorpusFile]:
    files = []
    for name, family in selection:
        files.append(CorpusFile(root / f"{name}.pt", "package", name, family))
        files.append(CorpusFile(root / f"{name}.state_dict.pth", "state_dict", name, family))
    for name, _ in _pickle_variants():
        files.append(CorpusFile(root / f"{name}.pkl", "pickle", name, "data"))
    return files


def _read_manifest(root: Path) -> Optional[List[CorpusFile]]:
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("config") != _config():
        return None
    files = []
    for entry in manifest.get("files", []):
        path = root / entry["file"]
        try:
            if path.stat().st_size != entry["size"]:
                return None
        except OSError:
            return None
        files.append(CorpusFile(path, entry["kind"], entry["name"], entry["family"]))
    return files


def _prepare_dir(root: Path, log: Callable[[str], None]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_FILE
    try:
        current = json.loads(config_path.read_text())
    except (OSError, ValueError):
        current = None
    if current != _config():
        stale = [p for p in root.iterdir() if p.is_file()
                 and (p.name == MANIFEST_FILE or p.suffix in (".pt", ".pth", ".pkl", ".tmp"))]
        if stale:
            log(f"corpus: {root} was built for another configuration; rebuilding it")
        for p in stale:
            p.unlink()
        config_path.write_text(json.dumps(_config(), indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# Stream hooks: other test modules see each streamed file too (the importer tests load every
# model package with sealpkg and stock torch.package while it is on disk), so streaming CI
# builds the corpus once. Without hooks build_corpus behaves exactly as before.

StreamHook = Callable[[List[CorpusFile]], None]
_STREAM_HOOKS: List[StreamHook] = []


def add_stream_hook(hook: StreamHook) -> None:
    """Calls ``hook(files)`` for every batch a streaming ``build_corpus`` hands to ``consume``,
    after ``consume`` and before the files are deleted. A hook must not raise: it records its
    own failures (an exception would abort the corpus build of the caller)."""
    if hook not in _STREAM_HOOKS:
        _STREAM_HOOKS.append(hook)


def _run_stream_hooks(files: List[CorpusFile]) -> None:
    for hook in list(_STREAM_HOOKS):
        hook(files)


def build_corpus(root: Path, *, models: Optional[Iterable[str]] = None,
                 log: Callable[[str], None] = print,
                 consume: Optional[Callable[[List[CorpusFile]], None]] = None) -> List[CorpusFile]:
    """Builds (or reuses) the corpus in ``root``; returns every file with its kind.

    ``models`` restricts the corpus to the named models (the full corpus otherwise); a
    restricted build shares the directory and cache with the full one.

    With ``consume``, nothing is cached: each model's files are handed to ``consume`` as soon as
    they are written and deleted right after, so the disk holds one model at a time (~1 GiB
    instead of ~20 GiB; what CI uses).
    """
    root = Path(root)
    selection = _selection(models)
    full = models is None and consume is None

    if full:
        cached = _read_manifest(root)
        if cached is not None:
            log(f"corpus: reusing {root} ({_summary(cached)})")
            return cached

    start = time.monotonic()
    _prepare_dir(root, log)
    planned = _planned(root, selection)
    built = 0
    for i, (name, family) in enumerate(selection, 1):
        package = root / f"{name}.pt"
        state = root / f"{name}.state_dict.pth"
        if package.exists() and state.exists():
            continue
        t0 = time.monotonic()
        model = build_model(name)
        params = sum(p.numel() for p in model.parameters())
        if params > MAX_PARAMS:  # metadata and construction disagree: keep the rule exact
            raise AssertionError(f"{name}: {params} parameters, over {MAX_PARAMS}")
        if not package.exists():
            _write_atomic(package, lambda p, m=model: export_package(p, m))
        if not state.exists():
            _write_atomic(state, lambda p, m=model: torch.save(m.state_dict(), str(p)))
        built += 1
        log(f"corpus: [{i}/{len(selection)}] {family}/{name}: {params / 1e6:.1f} M parameters, "
            f"{(package.stat().st_size + state.stat().st_size) / 2**20:.0f} MiB, "
            f"{time.monotonic() - t0:.1f} s")
        del model
        if consume is not None:
            consume([CorpusFile(package, "package", name, family),
                     CorpusFile(state, "state_dict", name, family)])
            _run_stream_hooks([CorpusFile(package, "package", name, family),
                               CorpusFile(state, "state_dict", name, family)])
            package.unlink()
            state.unlink()
    for name, dump in _pickle_variants():
        path = root / f"{name}.pkl"
        if not path.exists():
            data = dump()
            _write_atomic(path, lambda p: p.write_bytes(data))
        if consume is not None:
            consume([CorpusFile(path, "pickle", name, "data")])
            _run_stream_hooks([CorpusFile(path, "pickle", name, "data")])
            path.unlink()

    if full:
        manifest = {
            "config": _config(),
            "files": [{"file": f.path.name, "kind": f.kind, "name": f.name, "family": f.family,
                       "size": f.path.stat().st_size} for f in planned],
        }
        _write_atomic(root / MANIFEST_FILE,
                      lambda p: p.write_text(json.dumps(manifest, indent=1) + "\n"))
    where = "verified and deleted" if consume is not None else f"{_summary(planned)} in {root}"
    log(f"corpus: built {built} of {len(selection)} models in {time.monotonic() - start:.1f} s; "
        f"{where}")
    return planned


def _summary(files: Sequence[CorpusFile]) -> str:
    kinds: Dict[str, int] = {}
    for f in files:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    size = sum(f.path.stat().st_size for f in files)
    return (f"{kinds.get('package', 0)} packages, {kinds.get('state_dict', 0)} state_dicts, "
            f"{kinds.get('pickle', 0)} data pickles, {size / 2**30:.2f} GiB")


# --------------------------------------------------------------------------------------------
# Sharding the stream across pytest-xdist workers

# Cost model for balancing shards: a fixed cost per model (building it, stock torch.package's
# dependency walk over torchvision's code, a share of the check child's start-up) plus one per
# parameter (pickling, writing, hashing and loading the weights), plus the forward passes of the
# forward-checked models. Expressed in parameter-equivalents; only the balance matters.
_COST_PER_MODEL = 15_000_000
_COST_FORWARD = 40_000_000
_COST_UNKNOWN_PARAMS = 20_000_000


def _model_cost(name: str) -> int:
    params = _declared_params(name)
    cost = _COST_PER_MODEL + (params if params is not None else _COST_UNKNOWN_PARAMS)
    return cost + (_COST_FORWARD if forward_checked(name) else 0)


def corpus_shards() -> int:
    """How many shards the streamed corpus is split into: one per pytest-xdist worker (the same
    number in every worker, so every worker collects the same tests), 1 without xdist."""
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


def shard_models(shards: int, models: Optional[Iterable[str]] = None) -> List[List[str]]:
    """The selected models split into ``shards`` lists of about equal cost (longest first onto
    the least loaded shard), deterministic, each in corpus order. Every model is in exactly one
    shard: sharding changes which process checks a model, never whether it is checked."""
    selection = [name for name, _ in _selection(models)]
    order = {name: i for i, name in enumerate(selection)}
    loads = [0] * max(1, shards)
    out: List[List[str]] = [[] for _ in loads]
    for name in sorted(selection, key=lambda n: (-_model_cost(n), order[n])):
        k = loads.index(min(loads))
        loads[k] += _model_cost(name)
        out[k].append(name)
    return [sorted(names, key=order.__getitem__) for names in out]


def xdist_group(name: str, shards: Sequence[Sequence[str]], stream: bool) -> str:
    """The pytest-xdist group (``--dist loadgroup``) of the corpus tests of model ``name`` (or a
    data pickle's id): streaming, one group per shard (the tests of a shard share its stream,
    a session fixture of the worker that runs them; data pickles go with shard 0); otherwise one
    group for every corpus test, since they all share the cached corpus directory."""
    if not stream:
        return "corpus"
    for k, names in enumerate(shards):
        if name in names:
            return f"corpus-{k}"
    return "corpus-0"


# --------------------------------------------------------------------------------------------
# Round trip through stock torch.package


# Forward passes dominate the cost of the corpus checks (89 models, several loads each, on 2
# cores). Every model's weights are always compared; forward outputs are compared for one or two
# models of each family and architecture kind, unless SEALPKG_CORPUS_FORWARD=all (or a list).
FORWARD_MODELS = (
    "resnet18", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16", "swin_t", "convnext_tiny",
    "squeezenet1_1", "googlenet", "fasterrcnn_mobilenet_v3_large_320_fpn",
    "ssdlite320_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
    "r3d_18", "raft_small",
)


def forward_checked(name: str) -> bool:
    """Whether the corpus checks run model ``name`` forward (see FORWARD_MODELS)."""
    env = os.environ.get("SEALPKG_CORPUS_FORWARD", "").strip()
    if env == "all":
        return True
    if env:
        return name in {m.strip() for m in env.split(",")}
    return name in FORWARD_MODELS


def release_package_references() -> None:
    """Drop the process-wide references torch and typing keep to packaged code.

    torchvision calls torch.fx.wrap() at import, which appends the packaged module's globals to a
    global list, and typing's caches hold packaged classes; either keeps the importer (and, for
    sealpkg, its sealed in-memory snapshot of the archive) alive after the model is gone. A
    process loading the whole corpus would otherwise grow by each package's size (a known
    limitation of sealpkg's importer, noted in issue 5)."""
    import gc
    import typing

    import torch.fx._symbolic_trace as symbolic_trace

    wrapped = symbolic_trace._wrapped_fns_to_patch
    wrapped[:] = [(g, n) for (g, n) in wrapped if not g.get("__torch_package__")]
    for cleanup in getattr(typing, "_cleanups", []):
        cleanup()
    gc.collect()


def example_input(family: str, name: str = "") -> Any:
    """A fixed input the model of that family (and name) accepts."""
    g = torch.Generator().manual_seed(1)
    if name.startswith("mvit") or name == "s3d":  # 16 frames of 224x224 at least
        return (torch.randn(1, 3, 16, 224, 224, generator=g),)
    if family == "classification":
        return (torch.randn(1, 3, 224, 224, generator=g),)
    if family == "detection":
        return ([torch.rand(3, 320, 320, generator=g)],)
    if family == "segmentation":
        return (torch.randn(1, 3, 224, 224, generator=g),)
    if family == "video":
        return (torch.randn(1, 3, 8, 112, 112, generator=g),)
    if family == "optical_flow":
        return (torch.rand(1, 3, 128, 128, generator=g), torch.rand(1, 3, 128, 128, generator=g))
    raise ValueError(family)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return bool(a == b)


def check_roundtrip(files: Sequence[CorpusFile], names: Sequence[str] = ROUNDTRIP_MODELS,
                    log: Callable[[str], None] = print) -> None:
    """Loads the named packages in stock PackageImporter: same output as the original model,
    and state_dicts that load back equal. Raises AssertionError otherwise."""
    by_id = {f.id: f for f in files}
    for name in names:
        package = by_id[f"package:{name}"]
        state_file = by_id[f"state_dict:{name}"]
        model = build_model(name)
        x = example_input(package.family, name)
        with torch.no_grad():
            expected = model(*x)
        loaded = PackageImporter(str(package.path)).load_pickle("model", "model.pkl")
        assert type(loaded).__module__.startswith("<torch_package_"), type(loaded).__module__
        with torch.no_grad():
            got = loaded(*x)
        assert _same(expected, got), f"{name}: packaged model gives a different output"
        state = torch.load(str(state_file.path))
        reference = model.state_dict()
        assert list(state) == list(reference), f"{name}: state_dict keys differ"
        assert all(torch.equal(state[k], reference[k]) for k in reference), name
        log(f"corpus: {name}: package output and state_dict match the original model")
    for f in files:
        if f.kind == "pickle":
            data = large_plain_data() if f.name.endswith("_large") else plain_data()
            assert pickle.loads(f.path.read_bytes()) == data, f.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="corpus directory (cache)")
    parser.add_argument("--models", help="comma-separated subset of models (default: all)")
    parser.add_argument("--roundtrip", action="store_true",
                        help="then load a few packages back in stock PackageImporter")
    parser.add_argument("--list", action="store_true", help="print the selected models and exit")
    args = parser.parse_args()
    selection = select_models()
    if args.list:
        for name, family in selection:
            print(f"{family}\t{name}")
        print(f"{len(selection)} models")
        return 0
    start = time.monotonic()
    names = args.models.split(",") if args.models else None
    files = build_corpus(args.out, models=names)
    print(f"corpus: {len({f.name for f in files if f.kind == 'package'})} models, "
          f"{_summary(files)}, {time.monotonic() - start:.1f} s")
    if args.roundtrip:
        chosen = [n for n in ROUNDTRIP_MODELS if names is None or n in names]
        check_roundtrip(files, chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
