"""Interop of sealpkg's archive layer with stock torch 1.13 and Python's zipfile.

Every archive here is written at test time by stock torch.package / torch.save /
torch.jit.save (see conftest.py); sealpkg must read exactly what zipfile and torch's own
reader read, print exactly what torch prints, and write archives that torch loads.
"""
from __future__ import annotations

import gc
import io
import json
import os
import pickle
import platform
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
import sealpkg
import torch
from conftest import TorchArchive, local_data_offset, strip_prefix
from torch.package import PackageImporter
from torch.package.file_structure_representation import _create_directory_from_file_list

# --------------------------------------------------------------------------------------------
# Reading: the same entries and bytes as zipfile and torch._C.PyTorchFileReader


def test_reference_archives_load_back_in_torch(archive: TorchArchive) -> None:
    """The generated reference archives are real: stock torch loads and runs them."""
    if archive.kind == "torch.save":
        loaded = torch.load(str(archive.path))
        assert list(loaded) == list(archive.state_dict)
        assert all(torch.equal(loaded[k], v) for k, v in archive.state_dict.items())
        return
    if archive.kind == "jit.save":
        loaded = torch.jit.load(str(archive.path))
        assert torch.equal(loaded(archive.example_input), archive.expected_output)
        return
    imp = PackageImporter(str(archive.path))
    model = imp.load_pickle(*archive.pickle)
    with torch.no_grad():
        assert torch.equal(model(archive.example_input), archive.expected_output)
    if archive.text is not None:
        assert imp.load_text(archive.text[0], archive.text[1]) == archive.text[2]


def test_entries_and_bytes_match_zipfile(archive: TorchArchive) -> None:
    reader = sealpkg.ArchiveReader(archive.path)
    with zipfile.ZipFile(archive.path) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        prefix = names[0].split("/", 1)[0]
        assert reader.archive_name == prefix
        assert reader.archive_name == sealpkg.archive_name_for_path(archive.path)
        assert reader.size == archive.path.stat().st_size
        assert reader.records() == [strip_prefix(n) for n in names]
        assert reader.get_all_records() == reader.records()
        for info in infos:
            record = strip_prefix(info.filename)
            assert reader.has_record(record)
            assert reader.read(record) == zf.read(info), record
            assert reader.get_record(record) == zf.read(info), record
    assert not reader.has_record("no/such/record")
    assert not reader.has_record(prefix + "/" + reader.records()[0])  # names are relative


def test_entries_and_bytes_match_torch_reader(archive: TorchArchive) -> None:
    reader = sealpkg.ArchiveReader(str(archive.path))
    torch_reader = torch._C.PyTorchFileReader(str(archive.path))
    records = torch_reader.get_all_records()
    assert reader.get_all_records() == records
    for record in records:
        assert reader.read(record) == torch_reader.get_record(record), record


def test_reader_from_bytes_and_file_objects(archive: TorchArchive) -> None:
    data = archive.path.read_bytes()
    by_path = sealpkg.ArchiveReader(archive.path)
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        reader = sealpkg.ArchiveReader(source)
        assert reader.records() == by_path.records()
        assert reader.archive_name == by_path.archive_name
        assert reader.entries() == by_path.entries()
        last = reader.records()[-1]
        assert reader.read(last) == by_path.read(last)


def test_entries_match_zipfile_infolist(archive: TorchArchive) -> None:
    data = archive.path.read_bytes()
    reader = sealpkg.ArchiveReader(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    entries = reader.entries()
    assert len(entries) == len(infos)
    for entry, info in zip(entries, infos):
        assert entry == {
            "name": info.filename,
            "record": strip_prefix(info.filename),
            "offset": info.header_offset,
            "data_offset": local_data_offset(data, info),
            "size": info.file_size,
            "compressed_size": info.compress_size,
            "method": {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}[
                info.compress_type],
            "crc32": info.CRC,
        }
        assert reader.data_offset(entry["record"]) == entry["data_offset"]


def test_view_equals_read_and_is_read_only(archive: TorchArchive) -> None:
    reader = sealpkg.ArchiveReader(archive.path)
    for entry in reader.entries():
        record = entry["record"]
        if entry["method"] == "stored":
            view = reader.view(record)
            assert isinstance(view, memoryview)
            assert view.readonly
            assert view.nbytes == entry["size"]
            assert view.tobytes() == reader.read(record), record
            if view.nbytes:
                with pytest.raises(TypeError):
                    view[0] = 0
        else:
            with pytest.raises(sealpkg.MalformedError) as info:
                reader.view(record)
            assert info.value.reason == "zip.not-stored"


def test_view_outlives_reader(torch_archives) -> None:
    arch = torch_archives["resnet18"]
    reader = sealpkg.ArchiveReader(arch.path)
    record = max(reader.entries(), key=lambda e: e["size"])["record"]
    expected = reader.read(record)
    view = reader.view(record)
    del reader
    gc.collect()
    assert view.tobytes() == expected


def test_deflate_records_are_covered(torch_archives) -> None:
    for key in ("torchscript_pkg", "jit_save"):
        methods = {e["method"] for e in sealpkg.ArchiveReader(torch_archives[key].path).entries()}
        assert methods == {"stored", "deflate"}, key


def _storage_records(archive: TorchArchive, names: list) -> list:
    if archive.is_package:
        return [n for n in names if n.startswith(".data/") and n.endswith(".storage")
                and n[len(".data/"):-len(".storage")].isdigit()]
    return [n for n in names if n.startswith("data/") and n[len("data/"):].isdigit()]


def test_framework_records(archive: TorchArchive) -> None:
    data = archive.path.read_bytes()
    reader = sealpkg.ArchiveReader(archive.path)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = {strip_prefix(i.filename): i for i in zf.infolist()}
        fw = reader.framework()
        if archive.is_package:
            assert fw["format"] == "torch.package"
            assert fw["version"] == 6
            assert zf.read(f"{reader.archive_name}/.data/version") == b"6\n"
            assert fw["python_version"] == platform.python_version()
            assert fw["extern_modules"] == PackageImporter(str(archive.path)).extern_modules
            assert fw["extern_modules"] == zf.read(
                f"{reader.archive_name}/.data/extern_modules").decode().splitlines()
            assert "torch" in fw["extern_modules"]
        else:
            assert fw["format"] == "torch.save"
            assert fw["version"] == int(zf.read(f"{reader.archive_name}/version"))
            assert fw["python_version"] is None
            assert fw["extern_modules"] is None
    expected = _storage_records(archive, list(infos))
    assert expected, "the reference archive has tensor storages"
    storages = {s["record"]: s for s in fw["storages"]}
    assert len(storages) == len(fw["storages"])
    assert sorted(storages) == sorted(expected)
    for record in expected:
        s, info = storages[record], infos[record]
        key = record[len(".data/"):-len(".storage")] if archive.is_package else record[5:]
        assert s["key"] == key
        assert s["size"] == info.file_size
        assert s["stored"] is True and info.compress_type == zipfile.ZIP_STORED
        assert s["data_offset"] == local_data_offset(data, info)
        assert s["data_offset"] % 64 == 0
        assert s["aligned_64"] is True


def test_package_record_order_is_torchs(torch_archives) -> None:
    """torch writes .data/version last, after extern_modules and python_version."""
    records = sealpkg.ArchiveReader(torch_archives["resnet18"].path).records()
    assert records[-3:] == [".data/extern_modules", ".data/python_version", ".data/version"]


# --------------------------------------------------------------------------------------------
# `sealpkg inspect` and sealpkg.file_structure: exactly torch's Directory text


def _torch_tree(archive: TorchArchive, root: str, include="**", exclude=()) -> str:
    if archive.is_package:
        text = str(PackageImporter(root).file_structure(include=include, exclude=exclude))
        # the same tree, built from the record list torch's reader gives
        assert text == str(_create_directory_from_file_list(
            root, torch._C.PyTorchFileReader(root).get_all_records(), include, exclude))
        return text
    return str(_create_directory_from_file_list(
        root, torch._C.PyTorchFileReader(root).get_all_records(), include, exclude))


def _run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, timeout=120)


GLOBS = [
    (["**"], []),
    (["torchvision/**"], []),
    (["**"], [".data/**"]),
    (["**/*.py"], []),
    ([".data/*.storage"], []),
    (["model/*", ".data/*"], ["**/*.storage", ".data/version"]),
    (["torchvision/models/*.py", "**/__init__.py"], ["torchvision/models/_*"]),
    (["*", "*/*"], []),
    ([".data/ts_code/**", "code/**", "data/*"], ["**/*.debug_pkl"]),
    (["nothing/matches/**"], []),
    (["**"], ["**"]),
]


def _glob_args(include, exclude) -> list:
    args = []
    for g in include:
        args += ["--include", g]
    for g in exclude:
        args += ["--exclude", g]
    return args


def test_inspect_prints_torch_file_structure(archive: TorchArchive, sealpkg_cli: Path) -> None:
    root = str(archive.path)
    proc = _run_cli(sealpkg_cli, "inspect", root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert proc.stdout.decode("utf-8") == _torch_tree(archive, root)


def test_inspect_unicode_path_root(torch_archives, sealpkg_cli: Path, tmp_path: Path) -> None:
    arch = torch_archives["shufflenet_v2_x0_5"]
    copy = tmp_path / "mödel ✓ v2.pt"
    copy.write_bytes(arch.path.read_bytes())
    proc = _run_cli(sealpkg_cli, "inspect", str(copy), "--exclude", ".data/*.storage")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == _torch_tree(arch, str(copy), "**", ".data/*.storage")


def test_inspect_relative_path_root(torch_archives, sealpkg_cli: Path) -> None:
    arch = torch_archives["squeezenet1_0"]
    proc = subprocess.run([str(sealpkg_cli), "inspect", arch.path.name], cwd=arch.path.parent,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cwd = os.getcwd()
    try:
        os.chdir(arch.path.parent)
        expected = _torch_tree(arch, arch.path.name)
    finally:
        os.chdir(cwd)
    assert proc.stdout.decode("utf-8") == expected


@pytest.mark.parametrize("include,exclude", GLOBS, ids=[str(i) for i in range(len(GLOBS))])
def test_inspect_globs_match_torch(archive: TorchArchive, sealpkg_cli: Path, include,
                                   exclude) -> None:
    root = str(archive.path)
    proc = _run_cli(sealpkg_cli, "inspect", root, *_glob_args(include, exclude))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == _torch_tree(archive, root, include, exclude)


def test_inspect_bad_glob_is_an_error(torch_archives, sealpkg_cli: Path) -> None:
    arch = torch_archives["resnet18"]
    with pytest.raises(ValueError, match="entire path segment"):
        PackageImporter(str(arch.path)).file_structure(include="**.storage")
    proc = _run_cli(sealpkg_cli, "inspect", str(arch.path), "--include", "**.storage")
    assert proc.returncode not in (0, 1)  # a usage error, not a rejected archive
    assert proc.stdout == b""
    assert b"entire path segment" in proc.stderr
    with pytest.raises(ValueError, match="entire path segment"):
        sealpkg.file_structure(arch.path, exclude=["a/b**"])


def test_inspect_options_before_path(torch_archives, sealpkg_cli: Path) -> None:
    arch = torch_archives["torchscript_pkg"]
    root = str(arch.path)
    proc = _run_cli(sealpkg_cli, "inspect", "--include", ".data/**", "--exclude", "**/*.py",
                    root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == _torch_tree(arch, root, [".data/**"], ["**/*.py"])


@pytest.mark.parametrize("include,exclude", GLOBS[:7], ids=[str(i) for i in range(7)])
def test_file_structure_api_matches_torch(archive: TorchArchive, include, exclude) -> None:
    root = str(archive.path)
    expected = _torch_tree(archive, root, include, exclude)
    assert str(sealpkg.file_structure(root, include=include, exclude=exclude)) == expected
    assert str(sealpkg.file_structure(archive.path, include=include, exclude=exclude)) == expected
    if len(include) == 1 and len(exclude) <= 1:  # str patterns as well as lists
        got = sealpkg.file_structure(root, include=include[0],
                                     exclude=exclude[0] if exclude else ())
        assert str(got) == expected


def test_file_structure_api_default(archive: TorchArchive) -> None:
    root = str(archive.path)
    tree = sealpkg.file_structure(root)
    assert isinstance(tree, sealpkg.Directory)
    assert str(tree) == _torch_tree(archive, root)
    for record in sealpkg.ArchiveReader(root).records():
        assert tree.has_file(record)


def _end_record(data: bytes) -> tuple:
    """(central directory offset, size) as zipfile computes them (ZIP64-aware)."""
    fp = io.BytesIO(data)
    endrec = zipfile._EndRecData(fp)
    return endrec[zipfile._ECD_OFFSET], endrec[zipfile._ECD_SIZE]


def test_inspect_json_matches_zipfile(archive: TorchArchive, sealpkg_cli: Path) -> None:
    root = str(archive.path)
    proc = _run_cli(sealpkg_cli, "inspect", root, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    data = archive.path.read_bytes()
    reader = sealpkg.ArchiveReader(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    assert report["path"] == root
    assert report["size"] == len(data)
    assert report["archive_name"] == reader.archive_name
    assert report["zip64_end_record"] is True  # torch always writes one
    cd_offset, cd_size = _end_record(data)
    assert report["central_directory"] == {"offset": cd_offset, "size": cd_size}
    assert [e["name"] for e in report["entries"]] == [i.filename for i in infos]
    for entry, info in zip(report["entries"], infos):
        assert entry["record"] == strip_prefix(info.filename)
        assert entry["offset"] == info.header_offset
        assert entry["data_offset"] == local_data_offset(data, info)
        assert entry["size"] == info.file_size
        assert entry["compressed_size"] == info.compress_size
        assert entry["crc32"] == f"0x{info.CRC:08x}"
        assert entry["method"] == ("stored" if info.compress_type == zipfile.ZIP_STORED
                                   else "deflate")
    assert report["framework"] == reader.framework()


def test_inspect_json_respects_globs(torch_archives, sealpkg_cli: Path) -> None:
    arch = torch_archives["torchscript_pkg"]
    proc = _run_cli(sealpkg_cli, "inspect", str(arch.path), "--json", "--include", "model/**")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [e["record"] for e in report["entries"]] == ["model/model.pkl", "model/eager.pkl"]


def test_inspect_rejects_corrupted_archive(torch_archives, sealpkg_cli: Path,
                                           tmp_path: Path) -> None:
    data = bytearray(torch_archives["resnet18"].path.read_bytes())
    data[-30] ^= 0xFF  # inside the end records
    bad = tmp_path / "bad.pt"
    bad.write_bytes(bytes(data))
    proc = _run_cli(sealpkg_cli, "inspect", str(bad))
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert b"rejected" in proc.stderr
    with pytest.raises(Exception):
        torch._C.PyTorchFileReader(str(bad)).get_all_records()  # torch refuses it too


# --------------------------------------------------------------------------------------------
# Writing: archives stock torch.package loads


MYMOD = "VALUE = 41\n\ndef add(x):\n    return x + VALUE\n"
PKG_INIT = "from . import sub\nNAME = 'pkg'\n"
PKG_SUB = "import mymod\n\ndef twice():\n    return 2 * mymod.add(1)\n"
TEXT = "héllo, wörld ✓\nline 2\n"
BLOB = bytes(range(256)) * 3
PLAIN = {"a": [1, 2.5, "x", None], "b": (True, b"\x00\xff"), "c": {"nested": {1, 2}}}


def _write_user_package(w: sealpkg.ArchiveWriter, tensor_pkg: bytes) -> dict:
    tr = sealpkg.ArchiveReader(tensor_pkg)
    storages = [r for r in tr.records() if r.startswith(".data/") and r.endswith(".storage")]
    assert storages and ".data/0.storage" in storages
    for record in storages:
        w.write_record(record, tr.view(record))
    w.write_record("tensors/t.pkl", tr.read("tensors/t.pkl"))
    w.write_record("mymod.py", MYMOD.encode())
    w.write_record("pkg/__init__.py", PKG_INIT.encode())
    w.write_record("pkg/sub.py", bytearray(PKG_SUB.encode()))
    w.write_record("res/hello.txt", TEXT.encode("utf-8"))
    w.write_record("res/blob.bin", memoryview(BLOB))
    w.write_record("data/plain.pkl", pickle.dumps(PLAIN, protocol=3))
    # torch's list for the tensor pickle, plus builtins for the set in PLAIN
    w.write_record(".data/extern_modules", tr.read(".data/extern_modules") + b"builtins\n")
    w.write_record(".data/python_version", platform.python_version().encode())
    w.write_record(".data/version", b"6\n")
    return {"storages": storages}


def _check_user_package(source, expected_records: list) -> None:
    imp = PackageImporter(source)
    mymod = imp.import_module("mymod")
    assert mymod.VALUE == 41 and mymod.add(1) == 42
    pkg = imp.import_module("pkg")
    assert pkg.NAME == "pkg"
    assert imp.import_module("pkg.sub").twice() == 84
    assert pkg.sub.mymod is mymod
    assert imp.load_text("res", "hello.txt") == TEXT
    assert imp.load_binary("res", "blob.bin") == BLOB
    assert imp.load_pickle("data", "plain.pkl") == PLAIN
    tensors = imp.load_pickle("tensors", "t.pkl")
    assert torch.equal(tensors["w"], torch.arange(12, dtype=torch.float32).reshape(3, 4))
    assert torch.equal(tensors["b"], torch.tensor([7, 8]))
    assert imp.file_structure().has_file("pkg/sub.py")


@pytest.mark.parametrize("target_kind", ["str", "pathlib"])
def test_writer_output_loads_in_torch(tmp_path: Path, tensor_package_bytes: bytes,
                                      target_kind: str) -> None:
    target = tmp_path / "user_pkg.pt"
    with sealpkg.ArchiveWriter(str(target) if target_kind == "str" else target) as w:
        assert w.archive_name == "user_pkg"
        _write_user_package(w, tensor_package_bytes)
        records = w.records()
        assert w.has_record("pkg/sub.py") and not w.has_record("pkg/missing.py")
        assert not target.exists()  # renamed into place only by close()
    assert records[-1] == ".data/version"
    assert sorted(os.listdir(tmp_path)) == ["user_pkg.pt"]
    assert sealpkg.ArchiveReader(target).records() == records
    with zipfile.ZipFile(target) as zf:
        assert [i.filename for i in zf.infolist()] == [f"user_pkg/{r}" for r in records]
        assert zf.testzip() is None
    torch_reader = torch._C.PyTorchFileReader(str(target))
    assert torch_reader.get_all_records() == records
    _check_user_package(str(target), records)
    _check_user_package(target, records)
    fw = sealpkg.ArchiveReader(target).framework()
    assert fw["version"] == 6 and all(s["aligned_64"] for s in fw["storages"])


def test_writer_bytesio_target_loads_in_torch(tensor_package_bytes: bytes) -> None:
    buf = io.BytesIO()
    with sealpkg.ArchiveWriter(buf) as w:
        assert w.archive_name == "archive"  # torch's name for buffer targets
        _write_user_package(w, tensor_package_bytes)
        records = w.records()
    data = buf.getvalue()
    assert data[:4] == b"PK\x03\x04"
    reader = sealpkg.ArchiveReader(data)
    assert reader.archive_name == "archive"
    assert reader.records() == records
    _check_user_package(io.BytesIO(data), records)


def test_writer_named_bytesio_target(tensor_package_bytes: bytes) -> None:
    buf = io.BytesIO()
    with sealpkg.ArchiveWriter(buf, archive_name="custom") as w:
        _write_user_package(w, tensor_package_bytes)
    assert sealpkg.ArchiveReader(buf.getvalue()).archive_name == "custom"
    _check_user_package(io.BytesIO(buf.getvalue()), [])


def test_writer_reproduces_torch_bytes(stored_archive: TorchArchive, tmp_path: Path) -> None:
    """Re-writing a STORED-only torch archive record by record gives torch's exact bytes."""
    original = stored_archive.path.read_bytes()
    reader = sealpkg.ArchiveReader(stored_archive.path)
    target = tmp_path / "copy_under_another_name.pt"
    with sealpkg.ArchiveWriter(target, archive_name=reader.archive_name) as w:
        for record in reader.records():
            w.write_record(record, reader.view(record))
    assert target.read_bytes() == original


def test_writer_reproduces_torch_bytes_in_memory(torch_archives) -> None:
    arch = torch_archives["resnet18"]
    reader = sealpkg.ArchiveReader(arch.path)
    buf = io.BytesIO()
    with sealpkg.ArchiveWriter(buf, archive_name=reader.archive_name) as w:
        for record in reader.records():
            w.write_record(record, reader.read(record))
    assert buf.getvalue() == arch.path.read_bytes()


@pytest.mark.parametrize("filename", ["same.pt", "my_pkg.v1.pt", "noext", "x.tar.gz",
                                      "мод ель ✓.pt", "a..b", "trailing."])
def test_writer_matches_torch_for_own_records(tmp_path: Path, filename: str) -> None:
    """The same records written by torch's PyTorchFileWriter and by sealpkg: same bytes,
    including the top-level folder torch derives from the file name."""
    records = [("a.txt", b"x" * 100), ("empty", b""), ("dir/b.bin", bytes(range(256)) * 40),
               ("ünï/cödé.py", "print('✓')\n".encode())]
    torch_path = tmp_path / "torch" / filename
    torch_path.parent.mkdir()
    writer = torch._C.PyTorchFileWriter(str(torch_path))
    for name, data in records:
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()  # adds the "version" record
    del writer
    expected_name = zipfile.ZipFile(torch_path).namelist()[0].split("/")[0]
    assert sealpkg.archive_name_for_path(str(torch_path)) == expected_name
    torch_reader = sealpkg.ArchiveReader(torch_path)
    assert torch_reader.archive_name == expected_name
    ours = tmp_path / "ours" / filename
    ours.parent.mkdir()
    with sealpkg.ArchiveWriter(ours) as w:
        assert w.archive_name == expected_name
        for record in torch_reader.records():
            w.write_record(record, torch_reader.read(record))
    assert ours.read_bytes() == torch_path.read_bytes()


def test_writer_refuses_names_torch_refuses(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="invalid file name"):
        torch._C.PyTorchFileWriter(str(tmp_path / ".hidden"))
    with pytest.raises(sealpkg.SealpkgError):
        sealpkg.ArchiveWriter(tmp_path / ".hidden")
    with pytest.raises(ValueError):
        sealpkg.archive_name_for_path("dir/.hidden")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Atomicity of file targets


def test_writer_with_block_that_raises_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "never.pt"
    with pytest.raises(RuntimeError, match="boom"):
        with sealpkg.ArchiveWriter(target) as w:
            w.write_record("a.txt", b"some data")
            w.write_record("b.bin", bytes(1 << 20))
            raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_writer_abort_keeps_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "existing.pt"
    target.write_bytes(b"previous content")
    with pytest.raises(KeyboardInterrupt):
        with sealpkg.ArchiveWriter(target) as w:
            w.write_record("a.txt", b"new")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"previous content"
    assert os.listdir(tmp_path) == ["existing.pt"]


def test_writer_error_inside_with_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "dup.pt"
    with pytest.raises(sealpkg.MalformedError) as info:
        with sealpkg.ArchiveWriter(target) as w:
            w.write_record("a.txt", b"1")
            w.write_record("a.txt", b"2")
    assert info.value.reason == "zip.duplicate-name"
    assert isinstance(info.value, ValueError)
    assert os.listdir(tmp_path) == []


def test_writer_explicit_abort_and_garbage_collection(tmp_path: Path) -> None:
    w = sealpkg.ArchiveWriter(tmp_path / "aborted.pt")
    w.write_record("a.txt", b"1")
    w.abort()
    assert os.listdir(tmp_path) == []
    w = sealpkg.ArchiveWriter(tmp_path / "dropped.pt")
    w.write_record("a.txt", b"1")
    del w
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_writer_replaces_existing_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "existing.pt"
    target.write_bytes(b"previous content")
    with sealpkg.ArchiveWriter(target) as w:
        w.write_record(".data/version", b"6\n")
    assert sealpkg.ArchiveReader(target).records() == [".data/version"]
    assert os.listdir(tmp_path) == ["existing.pt"]


@pytest.mark.parametrize("first,second", [("a.txt", "a.txt"), ("Model.pkl", "model.pkl")])
def test_writer_refuses_colliding_names(first: str, second: str) -> None:
    w = sealpkg.ArchiveWriter(io.BytesIO())
    w.write_record(first, b"1")
    with pytest.raises(sealpkg.MalformedError):
        w.write_record(second, b"2")
    w.abort()


@pytest.mark.parametrize("name", ["../evil.py", "a/../../b", "/abs.py", "a\\b.py", "", "a\x00b"])
def test_writer_refuses_names_the_reader_would_reject(name: str) -> None:
    w = sealpkg.ArchiveWriter(io.BytesIO())
    with pytest.raises(sealpkg.SealpkgError) as info:
        w.write_record(name, b"1")
    assert isinstance(info.value, ValueError)
    w.abort()


# --------------------------------------------------------------------------------------------
# Error mapping


def test_crc_corruption_raises_malformed_with_location(torch_archives) -> None:
    arch = torch_archives["torchscript_pkg"]
    data = bytearray(arch.path.read_bytes())
    reader = sealpkg.ArchiveReader(bytes(data))
    entry = next(e for e in reader.entries() if e["method"] == "stored" and e["size"] > 4)
    data[entry["data_offset"] + 1] ^= 0x5A
    bad = sealpkg.ArchiveReader(bytes(data))  # the structure is still valid
    for method in (bad.read, bad.view):
        with pytest.raises(sealpkg.MalformedError) as info:
            method(entry["record"])
        err = info.value
        assert isinstance(err, ValueError) and isinstance(err, sealpkg.SealpkgError)
        assert err.code == "malformed"
        assert err.reason == "zip.crc-mismatch"
        assert err.entry.endswith(entry["record"])
        assert isinstance(err.offset, int)
        assert err.offset in (entry["offset"], entry["data_offset"])
        assert err.reason in str(err)
    with pytest.raises(ValueError):  # code that catches ValueError keeps working
        bad.read(entry["record"])


def test_header_corruption_raises_malformed_with_location(torch_archives) -> None:
    arch = torch_archives["resnet18"]
    data = bytearray(arch.path.read_bytes())
    entries = sealpkg.ArchiveReader(bytes(data)).entries()
    victim = entries[3]
    data[victim["offset"] + 30] ^= 0x01  # first byte of the local header's file name
    with pytest.raises(sealpkg.MalformedError) as info:
        sealpkg.ArchiveReader(bytes(data))
    err = info.value
    assert err.reason and err.reason.startswith("zip.")
    assert err.entry == victim["name"]
    assert err.offset == victim["offset"]


def test_truncated_archive_raises_malformed(torch_archives, tmp_path: Path) -> None:
    data = torch_archives["shufflenet_v2_x0_5"].path.read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(sealpkg.MalformedError) as info:
        sealpkg.ArchiveReader(bad)
    assert info.value.reason.startswith("zip.")
    assert isinstance(info.value.offset, int)
    with pytest.raises(ValueError):
        sealpkg.file_structure(bad)


def test_prepended_bytes_are_rejected(torch_archives) -> None:
    # zipfile tolerates a prefix (self-extracting archives); a strict reader must not.
    data = b"#!/bin/sh\n" + torch_archives["squeezenet1_0"].path.read_bytes()
    with pytest.raises(sealpkg.MalformedError) as info:
        sealpkg.ArchiveReader(data)
    assert info.value.reason.startswith("zip.")


def test_missing_file_raises_io_error(tmp_path: Path) -> None:
    missing = tmp_path / "does_not_exist.pt"
    with pytest.raises(sealpkg.SealpkgIOError) as info:
        sealpkg.ArchiveReader(missing)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, sealpkg.SealpkgError)
    assert info.value.code == "io"
    assert str(missing) in str(info.value)
    with pytest.raises(OSError):
        sealpkg.file_structure(missing)


def test_missing_record_raises(torch_archives) -> None:
    reader = sealpkg.ArchiveReader(torch_archives["resnet18"].path)
    with pytest.raises(sealpkg.SealpkgError):
        reader.read("no/such/record")
    with pytest.raises(sealpkg.SealpkgError):
        reader.view("no/such/record")


def test_writer_to_missing_directory_raises_io_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        with sealpkg.ArchiveWriter(tmp_path / "no" / "such" / "dir" / "x.pt") as w:
            w.write_record(".data/version", b"6\n")


def test_zip64_archive_over_4_gib_reads_the_same_everywhere(tmp_path: Path) -> None:
    """A record of more than 4 GiB (ZIP64 sizes) followed by records at offsets past 4 GiB
    (ZIP64 offsets): sealpkg's writer output must read identically in zipfile, torch's
    reader and sealpkg's strict reader. The big record is backed by untouched zero pages."""
    import mmap

    size = (1 << 32) + 4096
    zeros = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    path = tmp_path / "big.pt"
    try:
        with sealpkg.ArchiveWriter(path) as writer:
            writer.write_record("res/big.bin", zeros)
            writer.write_record("res/after.txt", b"after")
            writer.write_record(".data/version", b"6\n")
    finally:
        zeros.close()

    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        assert infos["big/res/big.bin"].file_size == size
        assert infos["big/res/after.txt"].header_offset > 1 << 32
        assert z.read("big/res/after.txt") == b"after"
    reader = torch._C.PyTorchFileReader(str(path))
    assert reader.get_record("res/after.txt") == b"after"
    assert reader.get_record(".data/version") == b"6\n"

    ours = sealpkg.ArchiveReader(path)
    entries = {e["record"]: e for e in ours.entries()}
    assert entries["res/big.bin"]["size"] == size
    assert entries["res/big.bin"]["data_offset"] % 64 == 0
    assert entries["res/after.txt"]["offset"] == infos["big/res/after.txt"].header_offset
    chunk = bytes(1 << 24)
    crc = 0
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(chunk[: size % len(chunk)], crc)
    assert entries["res/big.bin"]["crc32"] == crc == infos["big/res/big.bin"].CRC
    assert ours.read("res/after.txt") == b"after"
    del ours
    gc.collect()
