"""sealpkg.PackageImporter's storages and safety hooks.

* Zero copy: tensors loaded from a STORED, aligned storage record live in a private
  copy-on-write mapping of the sealed snapshot (/proc/self/maps, /proc/self/smaps), and loading
  adds no anonymous copy of the weights (RssAnon of a fresh process).
* Isolation: writes to a loaded tensor never reach the file, the snapshot, another load_pickle
  call or another importer.
* map_location behaves as in stock torch.package, including errors.
* Hostile storage ids (unknown persistent-id type, missing record, oversized numel, path
  characters, wrong types) are rejected with clear errors before any tensor is built.
* policy= rejects a package before any of its code runs; the verified bytes are the loaded ones.

The packages are written at test time by stock torch.package, or hand-assembled with
sealpkg.ArchiveWriter when a malformed persistent id is needed.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
import sealpkg
import torch
import torch.package
from sealpkg import _native

MARKER_ENV = "SEALPKG_TEST_MARKER"


# --- helpers -----------------------------------------------------------------------------------


def _mapping_of(address: int) -> Optional[Dict[str, str]]:
    """The /proc/self/maps line (as fields) of the mapping containing ``address``."""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return {
                    "start": fields[0].split("-")[0],
                    "perms": fields[1],
                    "path": fields[5].strip() if len(fields) > 5 else "",
                }
    return None


def _smaps_field(start_hex: str, field: str) -> int:
    """A kB field of the /proc/self/smaps entry that starts at ``start_hex``."""
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            if not line[0].isupper() or "-" in line.split()[0]:
                inside = line.split("-")[0] == start_hex
                continue
            if inside and line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no smaps entry at {start_hex}")


def _export(path: Path, objects: Dict[str, Any], **modules: str) -> Path:
    """A package written by stock torch.package: each object pickled under res/<name>.pkl."""
    with torch.package.PackageExporter(str(path)) as exporter:
        exporter.extern(["sealpkg_test_ext.**"])
        for name, source in modules.items():
            exporter.save_source_string(name, source)
        for name, obj in objects.items():
            exporter.save_pickle("res", f"{name}.pkl", obj)
    return path


class _IdPickler(pickle.Pickler):
    """Pickles tensors like torch.package does, but with persistent ids chosen by the test."""

    def __init__(self, file: io.BytesIO, ids: Callable[[Any], Any]) -> None:
        super().__init__(file, protocol=3)
        self._ids = ids

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, torch.storage.TypedStorage):
            return self._ids(obj)
        return None


def _handmade(
    path: Path,
    obj: Any,
    ids: Callable[[Any], Any],
    storages: Dict[str, bytes],
    externs: Tuple[str, ...] = ("torch", "torch._utils", "collections"),
) -> Path:
    """A package assembled record by record, with arbitrary persistent ids in res/x.pkl."""
    data = io.BytesIO()
    _IdPickler(data, ids).dump(obj)
    with sealpkg.ArchiveWriter(str(path)) as writer:
        writer.write_record("res/x.pkl", data.getvalue())
        for key, blob in storages.items():
            writer.write_record(f".data/{key}.storage", blob)
        writer.write_record(".data/extern_modules", "".join(f"{m}\n" for m in externs).encode())
        writer.write_record(".data/python_version", b"3.11.2")
        writer.write_record(".data/version", b"6\n")
    return path


def _storage_id(storage: torch.storage.TypedStorage, key: Any = "0", location: str = "cpu",
                numel: Optional[int] = None, kind: Any = "storage",
                storage_type: Any = None) -> Tuple[Any, ...]:
    return (kind, storage_type or torch.FloatStorage, key, location,
            storage.size() if numel is None else numel)


FLOATS = torch.arange(16, dtype=torch.float32)


def _handmade_floats(tmp_path: Path, name: str, **id_fields: Any) -> Path:
    return _handmade(tmp_path / f"{name}.pt", FLOATS, lambda s: _storage_id(s, **id_fields),
                     {"0": FLOATS.numpy().tobytes()})


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    big = torch.randn(1 << 20)  # 4 MiB
    shared = torch.randn(64)
    objects = {
        "big": big,
        "model": torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU(),
                                     torch.nn.Linear(16, 4)),
        "views": {"whole": shared, "tail": shared[32:], "again": shared},
        "dtypes": {str(d): torch.arange(10).to(d) for d in
                   (torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int64,
                    torch.bool, torch.complex64, torch.uint8)},
        "empty": torch.zeros(0),
    }
    return _export(tmp_path_factory.mktemp("weights") / "weights.pt", objects)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- zero copy ---------------------------------------------------------------------------------


def test_tensors_are_views_of_a_private_mapping_of_the_sealed_snapshot(weights_package: Path):
    importer = sealpkg.PackageImporter(str(weights_package))
    big = importer.load_pickle("res", "big.pkl")
    reference = torch.package.PackageImporter(str(weights_package)).load_pickle("res", "big.pkl")
    assert torch.equal(big, reference)
    mapping = _mapping_of(big.data_ptr())
    assert mapping is not None
    # The sealed memfd FileBytes::Snapshot made, mapped privately (copy-on-write) and writable.
    assert "memfd:sealpkg-bytes" in mapping["path"], mapping
    assert mapping["perms"].startswith("rw") and mapping["perms"][3] == "p", mapping
    assert big.data_ptr() % 64 == 0


def test_reading_the_weights_makes_no_copy_and_a_write_copies_one_page(weights_package: Path):
    importer = sealpkg.PackageImporter(str(weights_package))
    big = importer.load_pickle("res", "big.pkl")
    mapping = _mapping_of(big.data_ptr())
    assert mapping is not None
    float(big.sum())  # read every page
    assert _smaps_field(mapping["start"], "Anonymous") == 0
    assert _smaps_field(mapping["start"], "Rss") >= big.numel() * 4 // 1024
    big[0] = 1.0  # first write to one page: the kernel copies that page only
    assert _smaps_field(mapping["start"], "Anonymous") == 4


PEAK_CHILD = r"""
import json, sys
sys.path[:0] = sys.argv[3:]
import torch, sealpkg
def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssShmem", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0])
    return out
before = status()
importer = (torch.package.PackageImporter if sys.argv[1] == "torch" else sealpkg.PackageImporter)(sys.argv[2])
weights = importer.load_pickle("res", "w.pkl")
total = float(weights.sum())  # every page read
after = status()
print(json.dumps({"before": before, "after": after, "nbytes": weights.numel() * 4}))
"""


def test_loading_adds_no_anonymous_copy_of_the_weights(tmp_path: Path):
    weights = torch.ones(48 << 20 >> 2)  # 48 MiB
    path = _export(tmp_path / "w.pt", {"w": weights})
    del weights
    results = {}
    for loader in ("sealpkg", "torch"):
        done = subprocess.run(
            [sys.executable, "-c", PEAK_CHILD, loader, str(path), *sys.path],
            check=True, capture_output=True, text=True,
        )
        import json

        results[loader] = json.loads(done.stdout.strip().splitlines()[-1])
    nbytes_kb = results["sealpkg"]["nbytes"] // 1024
    seal = results["sealpkg"]
    anon_growth = seal["after"]["RssAnon"] - seal["before"]["RssAnon"]
    shmem_growth = seal["after"]["RssShmem"] - seal["before"]["RssShmem"]
    # sealpkg: the weights are resident once, as the snapshot's shared pages; no private copy.
    assert anon_growth < nbytes_kb // 8, seal
    assert nbytes_kb <= shmem_growth <= nbytes_kb * 1.1 + 1024, seal
    assert seal["after"]["VmHWM"] - seal["before"]["VmRSS"] < nbytes_kb * 1.3, seal
    # Stock torch copies every storage into anonymous memory (the contrast that makes the
    # check above meaningful).
    stock = results["torch"]
    assert stock["after"]["RssAnon"] - stock["before"]["RssAnon"] >= nbytes_kb * 0.9, stock


# --- isolation ---------------------------------------------------------------------------------


def test_writes_reach_neither_file_snapshot_other_calls_nor_other_importers(
    weights_package: Path,
):
    digest = _sha256(weights_package)
    first = sealpkg.PackageImporter(str(weights_package))
    second = sealpkg.PackageImporter(str(weights_package))
    original = first.load_pickle("res", "big.pkl").clone()

    written = first.load_pickle("res", "big.pkl")
    written.mul_(-3.0)
    assert not torch.equal(written, original)

    assert torch.equal(first.load_pickle("res", "big.pkl"), original)  # another call
    assert torch.equal(second.load_pickle("res", "big.pkl"), original)  # another importer
    reader = sealpkg.ArchiveReader(str(weights_package))
    record = ".data/0.storage"
    assert torch.equal(torch.frombuffer(bytearray(reader.read(record)), dtype=torch.float32),
                       original)
    assert _sha256(weights_package) == digest
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle("res", "big.pkl")
    assert torch.equal(stock, original)


def test_importers_of_one_buffer_are_isolated(weights_package: Path):
    data = weights_package.read_bytes()
    a = sealpkg.PackageImporter(io.BytesIO(data))
    b = sealpkg.PackageImporter(data)
    ta = a.load_pickle("res", "big.pkl")
    tb = b.load_pickle("res", "big.pkl")
    assert ta.data_ptr() != tb.data_ptr()
    ta.zero_()
    assert torch.count_nonzero(tb) == tb.numel()
    assert data == weights_package.read_bytes()


def test_shared_storages_within_one_pickle_stay_shared(weights_package: Path):
    views = sealpkg.PackageImporter(str(weights_package)).load_pickle("res", "views.pkl")
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle("res", "views.pkl")
    for name in views:
        assert torch.equal(views[name], stock[name])
    assert views["whole"] is views["again"]
    assert views["tail"].storage().data_ptr() == views["whole"].storage().data_ptr()
    views["whole"][40] = 1234.0
    assert views["tail"][8] == 1234.0


def test_every_dtype_and_an_empty_storage_load_like_stock_torch(weights_package: Path):
    ours = sealpkg.PackageImporter(str(weights_package))
    stock = torch.package.PackageImporter(str(weights_package))
    a, b = ours.load_pickle("res", "dtypes.pkl"), stock.load_pickle("res", "dtypes.pkl")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and torch.equal(a[name], b[name]), name
    empty = ours.load_pickle("res", "empty.pkl")
    assert empty.shape == (0,) and empty.dtype == torch.float32


def test_model_outputs_match_stock_torch(weights_package: Path):
    ours = sealpkg.PackageImporter(str(weights_package)).load_pickle("res", "model.pkl")
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle("res", "model.pkl")
    x = torch.randn(5, 32)
    assert torch.allclose(ours(x), stock(x))
    assert all(p.requires_grad for p in ours.parameters())
    # Training works on the mapped parameters (in-place optimizer updates are private writes).
    optimizer = torch.optim.SGD(ours.parameters(), lr=0.1)
    ours(x).sum().backward()
    optimizer.step()
    assert not torch.allclose(ours(x), stock(x))


# --- map_location ------------------------------------------------------------------------------

MAP_LOCATIONS = {
    "none": None,
    "str": "cpu",
    "device": torch.device("cpu"),
    "dict": {"cpu": "cpu"},
    "callable-none": lambda storage, location: None,
    "callable-same": lambda storage, location: storage,
}


@pytest.mark.parametrize("variant", sorted(MAP_LOCATIONS))
def test_map_location_variants_match_stock_torch(weights_package: Path, variant: str):
    location = MAP_LOCATIONS[variant]
    ours = sealpkg.PackageImporter(str(weights_package)).load_pickle(
        "res", "big.pkl", map_location=location)
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle(
        "res", "big.pkl", map_location=location)
    assert ours.device == stock.device == torch.device("cpu")
    assert torch.equal(ours, stock)


def test_map_location_callable_sees_what_torch_passes_and_its_result_is_used(
    weights_package: Path,
):
    seen: Dict[str, List[Tuple[str, str, Any]]] = {"torch": [], "sealpkg": []}

    def recorder(who: str) -> Callable[[Any, str], Any]:
        def restore(storage: Any, location: str) -> Any:
            seen[who].append((type(storage).__name__, location, storage.dtype))
            return storage.clone()  # a copy: the result must be what the tensor uses

        return restore

    ours = sealpkg.PackageImporter(str(weights_package)).load_pickle(
        "res", "big.pkl", map_location=recorder("sealpkg"))
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle(
        "res", "big.pkl", map_location=recorder("torch"))
    assert seen["sealpkg"] == seen["torch"] == [("TypedStorage", "cpu", torch.float32)]
    assert torch.equal(ours, stock)
    mapping = _mapping_of(ours.data_ptr())
    assert mapping is None or "memfd:sealpkg-bytes" not in mapping["path"]


def _error_of(call: Callable[[], Any]) -> Tuple[type, str]:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - compared between the two importers
        return type(error), str(error)
    raise AssertionError("no error")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_cuda_locations_fail_or_remap_exactly_like_stock_torch(tmp_path: Path):
    path = _handmade_floats(tmp_path, "cuda", location="cuda:0")
    for map_location in (None, "cuda"):
        ours = _error_of(lambda: sealpkg.PackageImporter(str(path)).load_pickle(
            "res", "x.pkl", map_location=map_location))
        stock = _error_of(lambda: torch.package.PackageImporter(str(path)).load_pickle(
            "res", "x.pkl", map_location=map_location))
        assert ours == stock
        assert ours[0] is RuntimeError and "CUDA" in ours[1]
    for map_location in ("cpu", {"cuda:0": "cpu"}, torch.device("cpu")):
        ours = sealpkg.PackageImporter(str(path)).load_pickle("res", "x.pkl",
                                                              map_location=map_location)
        stock = torch.package.PackageImporter(str(path)).load_pickle("res", "x.pkl",
                                                                    map_location=map_location)
        assert torch.equal(ours, FLOATS) and torch.equal(stock, FLOATS)


def test_handmade_package_loads_in_both(tmp_path: Path):
    path = _handmade_floats(tmp_path, "plain")
    assert torch.equal(sealpkg.PackageImporter(str(path)).load_pickle("res", "x.pkl"), FLOATS)
    assert torch.equal(torch.package.PackageImporter(str(path)).load_pickle("res", "x.pkl"),
                       FLOATS)


# --- hostile storage ids -----------------------------------------------------------------------


def test_unknown_persistent_id_type_raises_where_torch_returns_none(tmp_path: Path):
    path = _handmade_floats(tmp_path, "weird", kind="weird")
    with pytest.raises(pickle.UnpicklingError,
                       match="Unknown typename for persistent_load, expected 'storage' or "
                             "'reduce_package' but got 'weird'"):
        sealpkg.PackageImporter(str(path)).load_pickle("res", "x.pkl")
    # torch 1.13 builds the same message but forgets to raise it: the storage becomes None and
    # the tensor rebuild then fails somewhere unrelated (or, for other objects, None is kept).
    stock = _error_of(lambda: torch.package.PackageImporter(str(path)).load_pickle("res",
                                                                                   "x.pkl"))
    assert "Unknown typename" not in stock[1]


@pytest.mark.parametrize(
    "name, fields, error, reason",
    [
        ("missing", {"key": "7"}, sealpkg.MalformedError, "storage.missing-record"),
        ("missing-int", {"key": 7}, sealpkg.MalformedError, "storage.missing-record"),
        ("oversized", {"numel": 17}, sealpkg.MalformedError, "storage.too-large"),
        ("huge", {"numel": 1 << 62}, sealpkg.MalformedError, "storage.too-large"),
        ("traversal", {"key": "../0"}, sealpkg.MalformedError, "storage.bad-key"),
        ("traversal-deep", {"key": "0/../../../etc/passwd"}, sealpkg.MalformedError,
         "storage.bad-key"),
        ("absolute", {"key": "/tmp/0"}, sealpkg.MalformedError, "storage.bad-key"),
        ("leading-zero", {"key": "00"}, sealpkg.MalformedError, "storage.bad-key"),
        ("nul", {"key": "0\x00"}, sealpkg.MalformedError, "storage.bad-key"),
        ("not-a-storage-type", {"storage_type": OrderedDict}, sealpkg.MalformedError,
         "storage.unknown-type"),
        ("negative-key", {"key": -1}, pickle.UnpicklingError, None),
        ("bool-key", {"key": True}, pickle.UnpicklingError, None),
        ("float-key", {"key": 0.0}, pickle.UnpicklingError, None),
        ("negative-numel", {"numel": -1}, pickle.UnpicklingError, None),
        ("str-numel", {"numel": "16"}, pickle.UnpicklingError, None),
    ],
)
def test_bad_storage_ids_are_rejected_before_any_tensor_is_built(
    tmp_path: Path, name: str, fields: Dict[str, Any], error: type, reason: Optional[str]
):
    path = _handmade_floats(tmp_path, name, **fields)
    with pytest.raises(error) as caught:
        sealpkg.PackageImporter(str(path)).load_pickle("res", "x.pkl")
    if reason is not None:
        assert caught.value.reason == reason
        assert "storage" in str(caught.value)


def test_storage_id_with_wrong_arity_is_rejected(tmp_path: Path):
    path = _handmade(tmp_path / "arity.pt", FLOATS,
                     lambda s: ("storage", torch.FloatStorage, "0", "cpu"),
                     {"0": FLOATS.numpy().tobytes()})
    with pytest.raises(pickle.UnpicklingError, match="storage persistent id has 3 fields"):
        sealpkg.PackageImporter(str(path)).load_pickle("res", "x.pkl")


def test_storage_type_whose_dtype_disagrees_with_its_name_is_rejected(tmp_path: Path):
    class FakeStorage:  # pickled as a global of this test module, resolved from the host
        dtype = torch.float64

    FakeStorage.__module__, FakeStorage.__name__ = "torch", "FloatStorage"
    FakeStorage.__qualname__ = "FloatStorage"
    with pytest.raises(pickle.UnpicklingError, match="does not match its dtype"):
        sealpkg.package_importer._storage_dtype(FakeStorage)


def test_corrupted_storage_bytes_fail_the_crc_check(tmp_path: Path):
    path = _handmade_floats(tmp_path, "crc")
    data = bytearray(path.read_bytes())
    offset = sealpkg.ArchiveReader(str(path)).data_offset(".data/0.storage")
    data[offset + 5] ^= 0xFF
    with pytest.raises(sealpkg.MalformedError) as caught:
        sealpkg.PackageImporter(bytes(data)).load_pickle("res", "x.pkl")
    assert caught.value.reason == "zip.crc-mismatch"


def test_directory_storage_keys_cannot_leave_the_package(tmp_path: Path):
    """torch 1.13's DirectoryReader joins the key into a path; a crafted key reads any
    '*.storage' file. sealpkg refuses the key and never opens the outside file."""
    outside = tmp_path / "evil.storage"
    secret = torch.full((16,), 7.0)
    outside.write_bytes(secret.numpy().tobytes())
    archive = _handmade_floats(tmp_path, "dirpkg", key="../../../evil")  # unzipped/dirpkg/.data/
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(archive) as z:
        z.extractall(unzipped)
    folder = unzipped / "dirpkg"
    assert (folder / ".data" / "extern_modules").is_file()

    stock = torch.package.PackageImporter(str(folder)).load_pickle("res", "x.pkl")
    assert torch.equal(stock, secret)  # the defect, observed

    with pytest.raises(sealpkg.MalformedError) as caught:
        sealpkg.PackageImporter(str(folder)).load_pickle("res", "x.pkl")
    assert caught.value.reason == "storage.bad-key"


def test_directory_packages_load_storages_copy_on_write(weights_package: Path, tmp_path: Path):
    with zipfile.ZipFile(weights_package) as z:
        z.extractall(tmp_path)
    folder = tmp_path / "weights"
    importer = sealpkg.PackageImporter(str(folder))
    big = importer.load_pickle("res", "big.pkl")
    stock = torch.package.PackageImporter(str(weights_package)).load_pickle("res", "big.pkl")
    assert torch.equal(big, stock)
    before = (folder / ".data" / "0.storage").read_bytes()
    big.zero_()
    assert (folder / ".data" / "0.storage").read_bytes() == before
    # Unlike torch's DirectoryReader, the framework records are listed, as for the archive.
    assert importer.file_structure().has_file(".data/0.storage")
    assert importer.zip_reader.has_record(".data/version")
    with pytest.raises(ValueError):
        importer.zip_reader.get_record("../weights.pt")


# --- TorchScript -------------------------------------------------------------------------------


def test_torchscript_loads_through_torchs_reader_over_the_same_bytes(tmp_path: Path):
    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.weight

    import torch.package.package_exporter as exporter_module

    scripted = torch.jit.script(Small())
    gate = exporter_module._gate_torchscript_serialization
    exporter_module._gate_torchscript_serialization = False
    try:
        path = _export(tmp_path / "ts.pt", {"ts": {"module": scripted, "weight": scripted.weight}})
    finally:
        exporter_module._gate_torchscript_serialization = gate
    data = path.read_bytes()
    path.unlink()  # a buffer importer must never need the path
    importer = sealpkg.PackageImporter(io.BytesIO(data))
    loaded = importer.load_pickle("res", "ts.pkl")
    x = torch.randn(2, 3)
    assert isinstance(loaded["module"], torch.jit.RecursiveScriptModule)
    assert torch.allclose(loaded["module"](x), scripted(x))
    assert loaded["module"].weight.data_ptr() == loaded["weight"].data_ptr()
    assert isinstance(importer.zip_reader, torch._C.PyTorchFileReader)


# --- policy= -----------------------------------------------------------------------------------

TROJAN_SOURCE = textwrap.dedent(
    f"""
    import os
    marker = os.environ.get("{MARKER_ENV}")
    if marker:
        open(marker, "w").write("module code ran")

    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    class Thing:  # unpickling one imports (runs) this module
        pass
    """
)


@pytest.fixture()
def trojan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Any]:
    """A package whose module writes a marker file when imported and whose pickle calls
    os.getcwd (harmless payloads); the calls are recorded."""
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    (source_dir / "sealpkg_trojan.py").write_text(TROJAN_SOURCE)
    monkeypatch.syspath_prepend(str(source_dir))
    import importlib

    module = importlib.import_module("sealpkg_trojan")
    path = tmp_path / "trojan.pt"
    with torch.package.PackageExporter(str(path)) as exporter:
        exporter.intern("sealpkg_trojan")
        exporter.save_pickle("res", "x.pkl", {"payload": module.Payload(),
                                             "thing": module.Thing(),
                                             "weights": torch.ones(4)})
    sys.modules.pop("sealpkg_trojan", None)
    marker = tmp_path / "marker"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    calls: List[int] = []
    real_getcwd = os.getcwd

    def recording_getcwd() -> str:
        calls.append(1)
        return real_getcwd()

    # The pickle names posix.getcwd (os.getcwd's real module): record both names.
    import posix

    monkeypatch.setattr(os, "getcwd", recording_getcwd)
    monkeypatch.setattr(posix, "getcwd", recording_getcwd)
    return {"path": path, "marker": marker, "calls": calls}


def test_without_policy_the_trojan_runs(trojan: Dict[str, Any]):
    """The payload is live: this is what policy= must prevent."""
    loaded = sealpkg.PackageImporter(str(trojan["path"])).load_pickle("res", "x.pkl")
    assert trojan["marker"].read_text() == "module code ran"
    assert trojan["calls"] == [1] and isinstance(loaded["payload"], str)


@pytest.mark.parametrize("as_buffer", [False, True])
def test_policy_rejects_before_any_package_code_runs(trojan: Dict[str, Any], as_buffer: bool):
    source: Any = trojan["path"].read_bytes() if as_buffer else str(trojan["path"])
    with pytest.raises(sealpkg.PackageRejectedError) as caught:
        sealpkg.PackageImporter(source, policy="builtin:weights-only")
    error = caught.value
    assert isinstance(error, sealpkg.PolicyDeniedError)
    assert error.report.accepted is False and error.report.findings
    named = " ".join(f"{f.code} {f.name} {f.entry}" for f in error.report.findings)
    assert "getcwd" in named, error.report.to_text()
    assert "rejected by policy 'builtin:weights-only'" in str(error)
    assert not trojan["marker"].exists()
    assert trojan["calls"] == []


def test_policy_accepting_the_package_loads_it(trojan: Dict[str, Any], tmp_path: Path):
    policy = tmp_path / "exact.toml"
    policy.write_text(sealpkg.infer_policy(str(trojan["path"]), name="exact"))
    # An unsigned local policy file (policy signing: tests/python/test_loader_trust.py).
    importer = sealpkg.PackageImporter(str(trojan["path"]), policy=str(policy),
                                       unsafe_unsigned_policy=True)
    assert not trojan["marker"].exists()  # verification itself ran nothing
    loaded = importer.load_pickle("res", "x.pkl")
    assert torch.equal(loaded["weights"], torch.ones(4))
    assert trojan["marker"].exists()


def test_policy_verdict_covers_the_bytes_that_are_loaded(tmp_path: Path, trojan: Dict[str, Any]):
    """Swap the file for a trojan after verification: the importer loads the verified
    snapshot, not the new file."""
    benign = _export(tmp_path / "benign.pt", {"x": torch.ones(4)})
    policy = tmp_path / "benign.toml"
    policy.write_text(sealpkg.infer_policy(str(benign), name="benign"))
    target = tmp_path / "swap.pt"
    shutil.copy(benign, target)
    importer = sealpkg.PackageImporter(str(target), policy=str(policy),
                                       unsafe_unsigned_policy=True)
    shutil.copy(trojan["path"], target)  # the attacker swaps the file
    assert torch.equal(importer.load_pickle("res", "x.pkl"), torch.ones(4))
    with pytest.raises(RuntimeError, match="failed locating file res/does-not-exist"):
        importer.load_binary("res", "does-not-exist")
    assert not trojan["marker"].exists() and trojan["calls"] == []


def test_policy_needs_an_immutable_source(weights_package: Path, tmp_path: Path):
    with zipfile.ZipFile(weights_package) as z:
        z.extractall(tmp_path)
    with pytest.raises(ValueError, match="policy= needs a package file or buffer"):
        sealpkg.PackageImporter(str(tmp_path / "weights"), policy="builtin:weights-only")


def test_policy_is_keyword_only_and_off_by_default(weights_package: Path):
    with pytest.raises(TypeError):
        sealpkg.PackageImporter(str(weights_package), lambda m: True,  # type: ignore[misc]
                                "builtin:weights-only")
    assert sealpkg.PackageImporter(str(weights_package)).load_pickle("res", "empty.pkl").numel() \
        == 0


def test_bad_policy_name_is_an_error_not_a_pass(weights_package: Path):
    with pytest.raises(sealpkg.SealpkgError):
        sealpkg.PackageImporter(str(weights_package), policy="builtin:no-such-policy")


# --- the native pieces -------------------------------------------------------------------------


def test_storage_map_siblings_are_separate_mappings(weights_package: Path):
    reader = sealpkg.ArchiveReader(str(weights_package))
    first = _native.StorageMap.create(reader._impl)
    second = first.sibling()
    assert first.address != second.address and first.size == second.size == reader.size
    record, offset, nbytes, element_size, mapped = first.locate("0", "torch.FloatStorage",
                                                                1 << 20)
    assert (record, nbytes, element_size, mapped) == (".data/0.storage", 4 << 20, 4, True)
    memoryview(first)[offset] = (memoryview(first)[offset] + 1) % 256
    assert memoryview(second)[offset] == reader.view(record)[0]
    assert memoryview(first)[offset] != reader.view(record)[0]


def test_storage_record_name_and_element_size_are_checked_in_cpp():
    assert _native.storage_record_name("12") == ".data/12.storage"
    with pytest.raises(sealpkg.MalformedError):
        _native.storage_record_name("1/2")
    assert _native.storage_element_size("torch.HalfStorage") == 2
    with pytest.raises(sealpkg.MalformedError):
        _native.storage_element_size("builtins.eval")


def _sealed_snapshots() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += "memfd:sealpkg-bytes" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return count


def test_snapshot_is_released_with_the_last_importer_and_tensor(tmp_path: Path):
    """linecache keeps its entries forever; it must not keep importers (and so whole archive
    snapshots) alive. Loaded tensors do keep the snapshot they view."""
    import gc
    import weakref

    path = tmp_path / "lc.pt"
    with torch.package.PackageExporter(str(path)) as exporter:
        exporter.save_source_string("lc_mod", "class Holder:\n    pass\n")
        exporter.save_pickle("res", "big.pkl", torch.ones(1024))
    gc.collect()
    baseline = _sealed_snapshots()
    importer = sealpkg.PackageImporter(str(path))
    holder = importer.import_module("lc_mod").Holder  # registers a lazy linecache entry
    big = importer.load_pickle("res", "big.pkl")
    alive = weakref.ref(importer)
    assert _sealed_snapshots() == baseline + 1
    del importer, holder
    gc.collect()
    assert alive() is None
    assert _sealed_snapshots() == baseline + 1  # `big` still views it
    del big
    gc.collect()
    assert _sealed_snapshots() == baseline


def test_source_of_packaged_classes_is_found_while_the_importer_lives(tmp_path: Path):
    import inspect
    import linecache

    path = tmp_path / "src.pt"
    with torch.package.PackageExporter(str(path)) as exporter:
        exporter.save_source_string("src_mod", "class Holder:\n    pass\n")
    importer = sealpkg.PackageImporter(str(path))
    module = importer.import_module("src_mod")
    assert inspect.getsource(module.Holder) == "class Holder:\n    pass\n"
    assert linecache.getline(module.__file__, 1) == "class Holder:\n"
