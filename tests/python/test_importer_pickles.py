"""PackageImporter.load_pickle: objects of packaged classes, tensors of every dtype,
map_location, storage sharing, write isolation from the file, __reduce_package__, TorchScript,
FX, and where sealpkg deliberately differs from 1.13 (unknown persistent ids, storage keys of
directory inputs, ambiguous archives). Run against stock ``torch.package`` and ``sealpkg``.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import struct
import zipfile

import pytest
import torch
from impfix_support import (
    backend_name,
    extract_to_dir,
    fresh_copy,
    make_tensors,
    rewrite_archive,
    write_pickle_with_persistent_ids,
)


@pytest.fixture
def main_importer(package_api, impfix_packages):
    return package_api.PackageImporter(str(impfix_packages["main"]))


def _assert_same_tensor(got, want, key=""):
    assert isinstance(got, torch.Tensor), key
    assert got.dtype == want.dtype and got.layout == want.layout, key
    assert got.shape == want.shape, key
    if want.is_sparse:
        assert torch.equal(got.to_dense(), want.to_dense()), key
    else:
        assert got.stride() == want.stride(), key
        assert got.storage_offset() == want.storage_offset(), key
        assert torch.equal(got, want), key
    assert got.requires_grad == want.requires_grad, key
    assert type(got) is type(want), key


def test_load_pickle_packaged_class(main_importer):
    obj = main_importer.load_pickle("obj", "sub.pkl")
    sub = main_importer.import_module("impfix_a.subpackage")
    assert type(obj) is sub.SubObject
    assert obj.value == 3 and obj.doubled() == 6
    import impfix_a.subpackage as host

    assert type(obj) is not host.SubObject


def test_load_pickle_protocol_4(main_importer):
    data = main_importer.load_pickle("obj", "proto4.pkl")
    assert data["n"] == [1, 2.5, "x"]
    assert type(data["sub"]) is main_importer.import_module("impfix_a.subpackage").SubObject
    assert data["sub"].value == 4


def test_load_pickle_string_reduce_global(main_importer):
    sentinel = main_importer.load_pickle("obj", "sentinel.pkl")
    assert sentinel is main_importer.import_module("impfix_a.helpers").SENTINEL


def test_load_pickle_each_call_new_objects(main_importer):
    a = main_importer.load_pickle("obj", "sub.pkl")
    b = main_importer.load_pickle("obj", "sub.pkl")
    assert a is not b and a == b


def test_load_pickle_errors(main_importer):
    with pytest.raises(RuntimeError, match="obj/missing.pkl"):
        main_importer.load_pickle("obj", "missing.pkl")
    with pytest.raises(ValueError, match="^'a/b.pkl' must be only a file name$"):
        main_importer.load_pickle("obj", "a/b.pkl")
    with pytest.raises(TypeError, match="^'impfix_a.helpers' is not a package$"):
        main_importer.load_pickle("impfix_a.helpers", "sub.pkl")


def test_tensors_of_every_dtype(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["tensors"]))
    loaded = imp.load_pickle("tensors", "all.pkl")
    want = impfix_packages.tensors
    assert list(loaded) == list(want)
    for key in want:
        _assert_same_tensor(loaded[key], want[key], key)
    assert isinstance(loaded["param"], torch.nn.Parameter)


def test_tensor_views_share_storage(package_api, impfix_packages):
    loaded = package_api.PackageImporter(str(impfix_packages["tensors"])).load_pickle(
        "tensors", "all.pkl")
    base, row, tr = loaded["base"], loaded["row_view"], loaded["transposed"]
    ptr = base.storage().data_ptr()
    assert row.storage().data_ptr() == ptr and tr.storage().data_ptr() == ptr
    assert row.storage_offset() == 6
    base[1, 0] = -1.0
    assert row[0].item() == -1.0 and tr[0, 1].item() == -1.0


def test_storages_not_shared_between_calls(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["tensors"]))
    first = imp.load_pickle("tensors", "all.pkl")["float32"]
    again = imp.load_pickle("tensors", "again.pkl")["float32"]
    assert torch.equal(first, again)
    first.add_(1.0)
    assert not torch.equal(first, again)


def test_loaded_tensors_do_not_alias_the_file(package_api, impfix_packages, tmp_path):
    path = fresh_copy(impfix_packages["tensors"], tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    want = make_tensors()
    imp = package_api.PackageImporter(str(path))
    loaded = imp.load_pickle("tensors", "all.pkl")
    for key, t in loaded.items():
        if t.is_sparse or t.numel() == 0:
            continue
        with torch.no_grad():
            t.zero_() if t.dtype != torch.bool else t.fill_(False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    for reader in (imp, package_api.PackageImporter(str(path))):
        again = reader.load_pickle("tensors", "all.pkl")
        for key in want:
            _assert_same_tensor(again[key], want[key], key)


def test_loaded_tensors_do_not_alias_the_directory(package_api, impfix_packages, tmp_path):
    root = extract_to_dir(impfix_packages["tensors"], tmp_path)
    storages = sorted((root / ".data").glob("*.storage"))
    assert storages
    before = {p: p.read_bytes() for p in storages}
    imp = package_api.PackageImporter(str(root))
    loaded = imp.load_pickle("tensors", "all.pkl")
    loaded["float32"].fill_(9.0)
    loaded["base"].fill_(9.0)
    assert {p: p.read_bytes() for p in storages} == before
    again = package_api.PackageImporter(str(root)).load_pickle("tensors", "all.pkl")
    _assert_same_tensor(again["float32"], make_tensors()["float32"])


def test_loaded_model_does_not_alias_the_file(package_api, impfix_packages, tmp_path):
    path = fresh_copy(impfix_packages["model"], tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    model = package_api.PackageImporter(str(path)).load_pickle("model", "model.pkl")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0)
        out = model(impfix_packages.model_input)
    assert not torch.allclose(out, impfix_packages.model_output)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    fresh = package_api.PackageImporter(str(path)).load_pickle("model", "model.pkl")
    with torch.no_grad():
        assert torch.equal(fresh(impfix_packages.model_input), impfix_packages.model_output)


def test_model_output(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["model"]))
    model = imp.load_pickle("model", "model.pkl")
    assert type(model).__module__ == f"{imp.id()}.impfix_a.models"
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model(impfix_packages.model_input), impfix_packages.model_output)
    assert imp.load_text("model", "info.txt") == "SmallNet\n"


@pytest.mark.parametrize("map_location", [
    None, "cpu", torch.device("cpu"), {"cpu": "cpu"}, lambda storage, location: storage,
], ids=["none", "str", "device", "dict", "callable"])
def test_map_location(package_api, impfix_packages, map_location):
    imp = package_api.PackageImporter(str(impfix_packages["tensors"]))
    loaded = imp.load_pickle("tensors", "all.pkl", map_location=map_location)
    want = impfix_packages.tensors
    for key in want:
        _assert_same_tensor(loaded[key], want[key], key)
        assert loaded[key].device == torch.device("cpu")


def test_map_location_callable_sees_locations_and_wins(package_api, impfix_packages):
    seen = []

    def doubling(storage, location):
        seen.append((type(storage).__name__, location))
        if storage.dtype == torch.float32:
            copy = torch.FloatStorage(storage.size())
            copy.copy_(storage)
            torch.tensor([], dtype=torch.float32).set_(copy).mul_(2)
            return copy
        return None  # None: the default placement

    imp = package_api.PackageImporter(str(impfix_packages["tensors"]))
    loaded = imp.load_pickle("tensors", "again.pkl", map_location=doubling)
    assert seen and all(location == "cpu" for _, location in seen)
    assert len(seen) == 1  # one storage
    assert torch.equal(loaded["float32"], impfix_packages.tensors["float32"] * 2)


def test_map_location_unavailable_device(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["tensors"]))
    with pytest.raises(RuntimeError, match="CUDA"):
        imp.load_pickle("tensors", "all.pkl", map_location="cuda:0")


def test_reduce_package_round_trip(main_importer):
    things = main_importer.load_pickle("obj", "things.pkl")
    reduce_obj = main_importer.import_module("impfix_a.reduce_obj")
    assert [type(t) for t in things] == [reduce_obj.ReduceThing] * 3
    assert things[0] is things[1]  # one reduce id: memoised within the call
    assert things[0] is not things[2]
    assert [t.tag for t in things] == ["shared", "shared", "other"]
    assert things[0].payload == "payload \u2713" and things[2].payload == "second"
    assert reduce_obj.CALLS == [("shared", "0"), ("other", "1")]
    assert things[0].seen_storage_context is True  # set for the duration of load_pickle
    assert main_importer.storage_context is None and main_importer.last_map_location is None


def test_reduce_package_sees_map_location(main_importer):
    things = main_importer.load_pickle("obj", "things.pkl", map_location="cpu")
    assert things[0].seen_map_location == "cpu"
    assert main_importer.last_map_location is None


def test_reduce_package_legacy_two_tuple(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["legacy_reduce"]))
    loaded = imp.load_pickle("obj", "legacy.pkl")
    reduce_obj = imp.import_module("impfix_a.reduce_obj")
    assert [t.tag for t in loaded] == ["legacy-a", "legacy-a"]
    assert loaded[0] is not loaded[1]  # the legacy form is called on every occurrence
    assert reduce_obj.CALLS == [("legacy-a", None), ("legacy-a", None)]


def test_torchscript_in_package(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["script"]))
    scripted = imp.load_pickle("model", "script.pkl")
    assert isinstance(scripted, torch.jit.ScriptModule)
    with torch.no_grad():
        assert torch.equal(scripted(impfix_packages.script_input), impfix_packages.script_output)
    extra = imp.load_pickle("model", "extra.pkl")
    assert torch.equal(extra["ones"], torch.ones(4)) and extra["step"] == 3


def test_torchscript_in_package_from_buffer(package_api, impfix_packages):
    imp = package_api.PackageImporter(io.BytesIO(impfix_packages["script"].read_bytes()))
    scripted = imp.load_pickle("model", "script.pkl")
    with torch.no_grad():
        assert torch.equal(scripted(impfix_packages.script_input), impfix_packages.script_output)


def test_torchscript_from_directory_is_refused(package_api, impfix_packages, tmp_path):
    root = extract_to_dir(impfix_packages["script"], tmp_path)
    imp = package_api.PackageImporter(str(root))
    with pytest.raises(RuntimeError) as info:
        imp.load_pickle("model", "script.pkl")
    assert str(info.value) == (
        "Loading ScriptObjects from a PackageImporter created from a directory is not "
        "supported. Use a package archive file instead.")


def test_fx_graph_module(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["gen_fx"]))
    gm = imp.load_pickle("fx_module", "fx_module.pkl")
    assert isinstance(gm, torch.fx.GraphModule)
    with torch.no_grad():
        assert torch.allclose(gm(impfix_packages.generator_input),
                              impfix_packages.generator_output)
    assert any(name.startswith("fx-generated") for name in imp.modules)


def test_unpickler_attribute(main_importer, impfix_packages):
    """`importer.Unpickler` builds a package-aware unpickler (what torch.load's path uses)."""
    with zipfile.ZipFile(impfix_packages["main"]) as zf:
        data = zf.read("main/obj/sub.pkl")
    obj = main_importer.Unpickler(io.BytesIO(data)).load()
    assert type(obj) is main_importer.import_module("impfix_a.subpackage").SubObject


# --------------------------------------------------------------------------------------------
# Where sealpkg deliberately differs from 1.13: each behaviour asserted for both.


def test_unknown_persistent_id_type(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["unknown_pid"]))
    if backend_name(package_api) == "torch":
        # 1.13 builds an error message but never raises it: the object becomes None.
        assert imp.load_pickle("obj", "unknown_pid.pkl") == {"value": None, "odd": "P"}
    else:
        import sealpkg

        with pytest.raises((sealpkg.SealpkgError, pickle.UnpicklingError)) as info:
            imp.load_pickle("obj", "unknown_pid.pkl")
        assert "no_such_type" in str(info.value)


def _directory_package_reading_outside(impfix_packages, tmp_path):
    """An extracted package whose pickle names the storage key `../../outside`: torch 1.13
    joins it to `<dir>/.data/` and reads `<dir>/../outside.storage`."""
    root = extract_to_dir(impfix_packages["tensors"], tmp_path / "pkgdir")
    outside = root.parent / "outside.storage"
    outside.write_bytes(struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))
    t = torch.zeros(4)

    def persistent_id(obj):
        if isinstance(obj, torch.storage.TypedStorage):
            return ("storage", torch.FloatStorage, "../../outside", "cpu", 4)
        return None

    # The pickle a tensor gives, with its storage's key replaced.
    data = write_pickle_with_persistent_ids(t, persistent_id)
    (root / "tensors" / "evil.pkl").write_bytes(data)
    return root


def test_directory_storage_key_traversal(package_api, impfix_packages, tmp_path):
    root = _directory_package_reading_outside(impfix_packages, tmp_path)
    imp = package_api.PackageImporter(str(root))
    if backend_name(package_api) == "torch":
        # 1.13 reads a file outside the package directory.
        assert imp.load_pickle("tensors", "evil.pkl").tolist() == [1.0, 2.0, 3.0, 4.0]
    else:
        import sealpkg

        with pytest.raises(sealpkg.SealpkgError):
            imp.load_pickle("tensors", "evil.pkl")


def test_directory_valid_storage_keys_load(package_api, impfix_packages, tmp_path):
    root = extract_to_dir(impfix_packages["tensors"], tmp_path)
    loaded = package_api.PackageImporter(str(root)).load_pickle("tensors", "all.pkl")
    for key, want in impfix_packages.tensors.items():
        _assert_same_tensor(loaded[key], want, key)


def _with_duplicate_module(src, dst):
    """The main package plus a second `impfix_a/helpers.py` entry (an ambiguous ZIP)."""
    data = src.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        records = [(i, zf.read(i)) for i in infos]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zw:
        for info, body in records:
            zw.writestr(info.filename, body)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
            zw.writestr("main/impfix_a/helpers.py", b"def scale(x, k):\n    return 'evil'\n")
    dst.write_bytes(out.getvalue())
    return dst


def test_ambiguous_archive(package_api, impfix_packages, tmp_path):
    path = _with_duplicate_module(impfix_packages["main"], tmp_path / "main.pt")
    if backend_name(package_api) == "torch":
        # 1.13 (miniz) silently picks one of the two entries.
        imp = package_api.PackageImporter(str(path))
        assert imp.import_module("impfix_a.helpers").scale(2, 3) in (6, "evil")
    else:
        import sealpkg

        with pytest.raises(sealpkg.MalformedError):
            package_api.PackageImporter(str(path))


def test_rewritten_archive_still_loads(package_api, impfix_packages, tmp_path):
    """Control for the tests above: a record-by-record copy through torch's writer loads."""
    path = rewrite_archive(impfix_packages["main"], tmp_path / "copy.pt")
    imp = package_api.PackageImporter(str(path))
    assert imp.load_pickle("obj", "sub.pkl").value == 3
