"""sealpkg.PackageExporter: the torch.package 1.13 exporter surface (reference §1.1, §3).

Tests that take ``pkg`` run against stock ``torch.package`` AND ``sealpkg``: they pin 1.13
behaviour that the drop-in keeps. Tests named ``*_fixed`` pin a 1.13 defect sealpkg fixes
(reference §6): they check sealpkg's behaviour and, where cheap, that stock torch still shows
the defect, so the difference stays documented by a test.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import sys
import types
import warnings
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "exporter_fixtures"))

import expfix_support  # noqa: E402
import sealpkg  # noqa: E402
import torch  # noqa: E402
import torch.package  # noqa: E402
from expfix_support import BACKENDS, api, records  # noqa: E402


@pytest.fixture(params=BACKENDS)
def pkg(request):
    return api(request.param)


def export(pkg, body, **kwargs) -> bytes:
    buf = io.BytesIO()
    with pkg.PackageExporter(buf, **kwargs) as e:
        body(e)
    return buf.getvalue()


def load(data: bytes, backend: str = "sealpkg"):
    cls = torch.package.PackageImporter if backend == "torch" else sealpkg.PackageImporter
    return cls(io.BytesIO(data))


# ----- constructor and targets -----------------------------------------------------------------


def test_path_target_uses_file_stem_as_archive_folder(pkg, tmp_path):
    target = tmp_path / "my_pkg.v1.pt"
    with pkg.PackageExporter(str(target)) as e:
        e.save_text("res", "a.txt", "hi")
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
    assert names[0] == "my_pkg.v1/res/a.txt"
    assert all(n.startswith("my_pkg.v1/") for n in names)
    assert names[-1] == "my_pkg.v1/.data/version"


def test_buffer_target_uses_archive_folder(pkg):
    data = export(pkg, lambda e: e.save_text("res", "a.txt", "hi"))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == [
        "archive/res/a.txt",
        "archive/.data/extern_modules",
        "archive/.data/python_version",
        "archive/.data/version",
    ]
    recs = records(data)
    assert recs[".data/version"] == b"6\n"
    assert recs[".data/python_version"].decode() == __import__("platform").python_version()


def test_importer_argument_forms(pkg):
    pi = load(export(pkg, lambda e: e.save_source_string("m", "x = 1\n")))
    e = pkg.PackageExporter(io.BytesIO(), importer=(pi, pkg.sys_importer))
    assert isinstance(e.importer, pkg.OrderedImporter)
    e.close()
    e = pkg.PackageExporter(io.BytesIO(), importer=pi)
    assert e.importer is pi
    e.close()
    with pytest.raises(TypeError, match="importer arg should be an Importer or a sequence"):
        pkg.PackageExporter(io.BytesIO(), importer=42)


def test_get_unique_id_counts_from_zero(pkg):
    e = pkg.PackageExporter(io.BytesIO())
    assert [e.get_unique_id() for _ in range(3)] == ["0", "1", "2"]
    e.close()


# ----- sources ---------------------------------------------------------------------------------


def test_save_source_string_and_stdlib_is_extern(pkg):
    src = "import math\nimport collections.abc\nvalue = math.floor(2.5)\n"
    captured = {}

    def body(e):
        e.save_source_string("my_mod", src)
        captured["extern"] = e.externed_modules()
        captured["intern"] = e.interned_modules()

    data = export(pkg, body)
    assert captured["extern"] == ["collections.abc", "math"]
    assert captured["intern"] == ["my_mod"]
    for backend in BACKENDS:
        imp = load(data, backend)
        mod = imp.import_module("my_mod")
        assert mod.value == 2
        assert imp.import_module("math") is __import__("math")  # externed: the host's module
    assert records(data)["my_mod.py"].decode() == src


def test_save_source_file_file_and_directory(pkg, tmp_path):
    fixtures = expfix_support.FIXTURE_DIR

    def body(e):
        e.save_source_file("single", str(fixtures / "expfix_plain.py"))
        e.save_source_file("savedir", str(fixtures / "expfix_dir"))

    data = export(pkg, body)
    recs = records(data)
    assert "single.py" in recs
    assert {"savedir/__init__.py", "savedir/side.py", "savedir/nested/__init__.py",
            "savedir/nested/deep.py"} <= set(recs)
    assert not any(r.endswith("notes.txt") for r in recs)
    for backend in BACKENDS:
        imp = load(data, backend)
        assert imp.import_module("savedir").value == "dir:deep+side"
        assert imp.import_module("single").result == "expfix_plain"


def test_save_module_implicitly_interns(pkg):
    data = export(pkg, lambda e: e.save_module("expfix_plain"))
    for backend in BACKENDS:
        mod = load(data, backend).import_module("expfix_plain")
        assert mod.result == "expfix_plain"
        assert mod is not sys.modules.get("expfix_plain")
        assert mod.__name__.endswith(".expfix_plain") and mod.__name__.startswith("<torch_package_")


def test_save_module_type_error_and_missing_module(pkg):
    e = pkg.PackageExporter(io.BytesIO())
    with pytest.raises(TypeError, match="save_module\\(\\) expects a string input"):
        e.save_module(types)
    with pytest.raises(ModuleNotFoundError):
        e.save_module("expfix_no_such_module_anywhere")
    e.close()


def test_allow_empty_with_immediate_error(pkg):
    # An exception inside a save_* call wins over the allow_empty check at close().
    with pytest.raises(ModuleNotFoundError):
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.intern("expfix_never", allow_empty=False)
            e.save_module("expfix_no_such_module_anywhere")


def test_package_and_subpackage_layout(pkg):
    def body(e):
        e.intern("expfix_a.**")
        e.save_module("expfix_a.sub")

    data = export(pkg, body)
    recs = records(data)
    assert "expfix_a/sub.py" in recs and "expfix_a/helpers.py" in recs
    # `from expfix_a import helpers` needs the submodule only, not the parent's __init__.
    assert "expfix_a/__init__.py" not in recs
    externs = recs[".data/extern_modules"].decode().splitlines()
    assert {"json", "os.path", "math"} <= set(externs)
    for backend in BACKENDS:
        sub = load(data, backend).import_module("expfix_a.sub")
        assert sub.Holder(-3).dump() == '{"value": 3.0, "sep": "/"}'


def test_dunder_import_forms_are_found(pkg):
    def body(e):
        e.intern(["expfix_b.**", "expfix_plain"])
        e.save_module("expfix_b")
        body.interned = e.interned_modules()
        body.externed = e.externed_modules()

    data = export(pkg, body)
    assert {"expfix_plain", "expfix_b.inner.leaf", "expfix_b.inner.leaf2",
            "expfix_b.sibling"} <= set(body.interned)
    assert "xml.sax.xmlreader" in body.externed
    for backend in BACKENDS:
        b = load(data, backend).import_module("expfix_b")
        assert b.plain.result == "expfix_plain"
        assert b.with_fromlist.leaf2.value == "leaf2"


# ----- pickles and resources -------------------------------------------------------------------


def test_save_pickle_interns_dependencies_and_loads_distinct_classes(pkg):
    import expfix_a.sub

    obj = {"h": expfix_a.sub.Holder(2), "p": __import__("expfix_a").Point(1, -2)}

    def body(e):
        e.intern("expfix_a.**")
        e.save_pickle("obj", "obj.pkl", obj)
        body.graph = e.dependency_graph_string()

    data = export(pkg, body)
    assert '"<obj.obj.pkl>" -> "expfix_a.sub";' in body.graph
    recs = records(data)
    assert "expfix_plain.py" not in recs  # unrelated modules stay out
    for backend in BACKENDS:
        loaded = load(data, backend).load_pickle("obj", "obj.pkl")
        assert type(loaded["h"]) is not expfix_a.sub.Holder
        assert type(loaded["h"]).__module__.endswith(".expfix_a.sub")
        assert loaded["p"].norm1() == 3.0


def test_save_pickle_protocols(pkg):
    with pytest.raises(AssertionError, match="torch.package only supports pickle protocols 3 and 4"):
        pkg.PackageExporter(io.BytesIO()).save_pickle("a", "b.pkl", 1, pickle_protocol=2)
    import expfix_plain

    def body(e):
        e.intern("expfix_plain")
        e.save_pickle("a", "p3.pkl", expfix_plain.Plain(3))
        e.save_pickle("a", "p4.pkl", expfix_plain.Plain(4), pickle_protocol=4)

    data = export(pkg, body)
    recs = records(data)
    assert recs["a/p3.pkl"][:2] == b"\x80\x03" and recs["a/p4.pkl"][:2] == b"\x80\x04"
    for backend in BACKENDS:
        imp = load(data, backend)
        assert imp.load_pickle("a", "p3.pkl").v == 3
        assert imp.load_pickle("a", "p4.pkl").v == 4


def test_text_binary_and_resource_names(pkg):
    def body(e):
        e.save_text("res.deep", "t.txt", "caf\u00e9")
        e.save_binary("res", "b.bin", bytes(range(256)))
        with pytest.raises(ValueError, match="'sub/x.txt' must be only a file name"):
            e.save_text("res", "sub/x.txt", "no")
        with pytest.raises(AssertionError, match="Tried to write file 'res/b.bin', but it already"):
            e.save_binary("res", "b.bin", b"again")

    data = export(pkg, body)
    for backend in BACKENDS:
        imp = load(data, backend)
        assert imp.load_text("res.deep", "t.txt") == "caf\u00e9"
        assert imp.load_binary("res", "b.bin") == bytes(range(256))


def test_storages_are_aligned_records_with_torch_persistent_ids(pkg):
    t = torch.arange(10, dtype=torch.float32)
    shared = t[2:5]
    data = export(pkg, lambda e: e.save_pickle("w", "w.pkl", {"t": t, "s": shared,
                                                               "i": torch.ones(3, dtype=torch.int64)}))
    z = zipfile.ZipFile(io.BytesIO(data))
    storages = [i for i in z.infolist() if i.filename.endswith(".storage")]
    assert [i.filename for i in storages] == ["archive/.data/0.storage", "archive/.data/1.storage"]
    for info in storages:
        assert info.compress_type == zipfile.ZIP_STORED
        header = data[info.header_offset:info.header_offset + 30]
        name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(
            header[28:30], "little")
        assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
    ids = []

    class Recorder(pickle.Unpickler):
        def persistent_load(self, pid):
            ids.append(pid)
            return pid

        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return lambda *a: None
            return super().find_class(module, name)

    Recorder(io.BytesIO(records(data)["w/w.pkl"])).load()
    assert ids[0] == ("storage", torch.FloatStorage, 0, "cpu", 10)
    assert ids[-1] == ("storage", torch.LongStorage, 1, "cpu", 3)
    for backend in BACKENDS:
        w = load(data, backend).load_pickle("w", "w.pkl")
        assert torch.equal(w["t"], t) and torch.equal(w["s"], shared)
        assert w["s"].storage().data_ptr() == w["t"].storage().data_ptr()


def test_reduce_package_hook(pkg):
    import expfix_models

    obj = expfix_models.ByPackage("payload")

    def body(e):
        e.intern("expfix_models")
        e.extern("expfix_plain")
        e.save_pickle("o", "o.pkl", [obj, obj])

    data = export(pkg, body)
    assert records(data)["expfix_res/by_package_0.txt"] == b"payload"
    for backend in BACKENDS:
        a, b = load(data, backend).load_pickle("o", "o.pkl")
        assert a.value == "payload" and a is b


# ----- patterns, actions, errors ---------------------------------------------------------------


def test_extern_glob_and_loads_host_module(pkg):
    import expfix_plain

    def body(e):
        e.extern(["expfix_pl*", "expfix_nothing.**"])
        e.save_source_string("user", "import expfix_plain\nvalue = expfix_plain.result\n")

    data = export(pkg, body)
    assert records(data)[".data/extern_modules"] == b"expfix_plain\n"
    for backend in BACKENDS:
        imp = load(data, backend)
        assert imp.import_module("user").expfix_plain is expfix_plain


def test_intern_exclude_and_first_match_wins(pkg):
    def body(e):
        e.intern("expfix_a.**", exclude=["expfix_a.helpers"])
        e.extern("expfix_a.helpers")
        e.mock("expfix_a.**")  # never reached: the intern pattern came first
        e.save_module("expfix_a.sub")
        body.lists = (e.interned_modules(), e.externed_modules(), e.mocked_modules())

    export(pkg, body)
    interned, externed, mocked = body.lists
    assert interned == ["expfix_a.sub"]
    assert "expfix_a.helpers" in externed and mocked == []


@pytest.mark.parametrize("method", ["intern", "extern", "mock"])
def test_allow_empty_false_raises_empty_match_error(pkg, method):
    with pytest.raises(pkg.EmptyMatchError) as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            getattr(e, method)("expfix_unused.**", allow_empty=False)
            e.save_source_string("m", "x = 1\n")
    assert str(info.value) == (
        "Exporter did not match any modules to GlobGroup(include=expfix_unused.**, "
        "exclude=()), which was marked as allow_empty=False"
    )


def test_no_action_error_text(pkg):
    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.save_module("expfix_a.sub")
    assert str(info.value) == (
        "\n* Module did not match against any action pattern. Extern, mock, or intern it.\n"
        "    expfix_a.helpers\n"
    )
    assert "expfix_a.helpers" in info.value.dependency_graph


def test_denied_error(pkg):
    with pytest.raises(pkg.PackagingError, match="denied") as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.deny(["expfix_pl*"])
            e.save_source_string("m", "import expfix_plain\n")
            assert e.denied_modules() == ["expfix_plain"]
    assert str(info.value) == "\n* Module was denied by a pattern.\n    expfix_plain\n"


def test_extension_module_error_text(pkg):
    class ExtensionImporter(pkg.Importer):
        def import_module(self, name):
            mod = types.ModuleType(name)
            mod.__file__ = f"/fake/{name}.cpython-311-x86_64-linux-gnu.so"
            return mod

    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO(), importer=ExtensionImporter()) as e:
            e.intern("fake_ext")
            e.save_module("fake_ext")
    assert str(info.value) == (
        "\n* Module is a C extension module. torch.package supports Python modules only.\n"
        "    fake_ext\n"
    )


def test_no_dunder_file_and_source_not_found(pkg):
    class OddImporter(pkg.Importer):
        def import_module(self, name):
            mod = types.ModuleType(name)
            if name == "pyc_only":
                mod.__file__ = "/nowhere/pyc_only.pyc"
            return mod

    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO(), importer=OddImporter()) as e:
            e.intern("*")
            e.save_module("no_file")
            e.save_module("pyc_only")
    assert str(info.value) == (
        "\n* Module had no __file__ defined.\n    no_file\n"
        "* Module had a __file__, but we could not find it in your filesystem.\n"
        "    pyc_only\n      Context: filename: /nowhere/pyc_only.pyc\n"
    )


def test_invalid_relative_import_text(pkg):
    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.save_source_string("pkgx.mod", "from ........ import lol\n")
    assert str(info.value) == (
        "\n* Dependency resolution failed.\n    pkgx.mod\n"
        "      Context: attempted relative import beyond top-level package\n"
    )


def test_errors_are_grouped_by_reason_in_first_seen_order(pkg):
    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.deny("expfix_plain")
            e.save_source_string("one", "import expfix_mocked\nimport expfix_plain\n")
            e.save_source_string("two", "import expfix_optional\n")
    assert str(info.value) == (
        "\n* Module did not match against any action pattern. Extern, mock, or intern it.\n"
        "    expfix_mocked\n    expfix_optional\n"
        "* Module was denied by a pattern.\n    expfix_plain\n"
    )


def test_sys_and_io_need_an_explicit_pattern(pkg):
    with pytest.raises(pkg.PackagingError, match="expfix_a.uses_sys|    sys"):
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.save_module("expfix_a.uses_sys")

    def body(e):
        e.extern("sys")
        e.save_module("expfix_a.uses_sys")

    for backend in BACKENDS:
        assert load(export(pkg, body), backend).import_module("expfix_a.uses_sys").result == sys.byteorder


# ----- mocking ---------------------------------------------------------------------------------


def test_mock_module_stub_and_mock_file(pkg):
    def body(e):
        e.intern("expfix_a.**")
        e.mock("expfix_mocked")
        e.save_module("expfix_a.uses_mocked")

    data = export(pkg, body)
    recs = records(data)
    assert recs["expfix_mocked.py"].decode() == (
        "from _mock import MockedObject\ndef __getattr__(attr: str):\n"
        "    return MockedObject(__name__ + '.' + attr, _suppress_err=True)\n"
    )
    assert "_mock.py" in recs
    for backend in BACKENDS:
        mod = load(data, backend).import_module("expfix_a.uses_mocked")
        assert mod.result == "expfix_a.uses_mocked"
        with pytest.raises(NotImplementedError, match="was mocked out"):
            mod.call_mocked()


def test_pickle_of_mocked_class_is_an_error(pkg):
    import expfix_mocked

    with pytest.raises(pkg.PackagingError) as info:
        with pkg.PackageExporter(io.BytesIO()) as e:
            e.mock("expfix_mocked")
            e.save_pickle("p", "p.pkl", expfix_mocked.MockedClass(1))
    assert str(info.value) == (
        "\n* Module was mocked out, but is still being used in the package. Please intern or "
        "extern the mocked modules if objects are supposed to be in the package.\n"
        "    expfix_mocked\n"
        "      Context: Object(s) '['MockedClass']' from module `expfix_mocked` was mocked out "
        "during packaging but is being used in resource - `p.pkl` in package `p`. \n"
    )


def test_mocked_but_used_checked_per_global_fixed():
    """1.13 tests only the last module of the pickle: a mocked class followed by an unmocked
    global passes export and fails at load; sealpkg rejects it at export."""
    import expfix_mocked
    import expfix_plain

    obj = [expfix_mocked.MockedClass(1), expfix_plain.Plain(2)]

    def body(e):
        e.mock("expfix_mocked")
        e.intern("expfix_plain")
        e.save_pickle("p", "p.pkl", obj)

    data = export(torch.package, body)  # the 1.13 defect: accepted
    with pytest.raises(NotImplementedError, match="was mocked out"):
        load(data, "torch").load_pickle("p", "p.pkl")
    with pytest.raises(sealpkg.PackagingError, match="expfix_mocked") as info:
        export(sealpkg, body)
    assert "expfix_plain" not in str(info.value)


def test_pickle_mocked_all_with_interned_package(pkg):
    import expfix_a

    def body(e):
        e.intern("expfix_a.**")
        e.mock("**")
        e.save_pickle("p", "p.pkl", expfix_a.Point(1, 2))

    data = export(pkg, body)
    for backend in BACKENDS:
        assert load(data, backend).load_pickle("p", "p.pkl").norm1() == 3.0


def test_repackage_mocked_module(pkg):
    def first(e):
        e.intern("expfix_a.**")
        e.mock("expfix_mocked")
        e.save_module("expfix_a.uses_mocked")

    imp = load(export(pkg, first), "torch" if pkg is torch.package else "sealpkg")

    def second(e):
        e.intern("**")
        e.save_module("expfix_a.uses_mocked")

    buf = io.BytesIO()
    with pkg.PackageExporter(buf, importer=imp) as e:
        second(e)
        repackaged = e.dependency_graph.nodes["_mock"]["action"].name
    assert repackaged == "REPACKAGED_MOCK_MODULE"
    for backend in BACKENDS:
        mod = load(buf.getvalue(), backend).import_module("expfix_a.uses_mocked")
        with pytest.raises(NotImplementedError, match="was mocked out"):
            mod.call_mocked()


# ----- hooks -----------------------------------------------------------------------------------


def test_hooks_order_removal_and_kinds(pkg):
    calls = []

    def body(e):
        e.intern("expfix_a.**")
        e.extern("expfix_plain")
        e.mock("expfix_mocked")
        e.register_extern_hook(lambda ex, name: calls.append(("extern1", name)))
        removed = e.register_extern_hook(lambda ex, name: calls.append(("removed", name)))
        e.register_extern_hook(lambda ex, name: calls.append(("extern2", name)))
        e.register_mock_hook(lambda ex, name: calls.append(("mock", name)))
        e.register_intern_hook(lambda ex, name: calls.append(("intern", name)))
        removed.remove()
        e.save_module("expfix_a.uses_mocked")
        e.save_source_string("user", "import expfix_plain\n")
        e.save_pickle("p", "p.pkl", 1)
        assert calls == []  # hooks run at close()

    export(pkg, body)
    assert ("removed", "expfix_plain") not in calls
    assert calls.index(("extern1", "expfix_plain")) + 1 == calls.index(("extern2", "expfix_plain"))
    assert ("mock", "expfix_mocked") in calls
    assert ("intern", "expfix_a.uses_mocked") in calls and ("intern", "<p.p.pkl>") in calls
    assert ("extern1", "expfix_a") not in calls


def test_hooks_run_in_graph_order_and_may_use_the_exporter(pkg):
    seen = []

    def body(e):
        e.extern(["expfix_plain", "expfix_mocked"])
        e.register_extern_hook(lambda ex, name: seen.append(name))
        e.save_source_string("user", "import expfix_mocked\nimport expfix_plain\nimport os\n")

    export(pkg, body)
    assert seen == ["expfix_mocked", "expfix_plain", "os"]


# ----- graph queries ---------------------------------------------------------------------------


def test_graph_string_rdeps_and_listings(pkg):
    def body(e):
        e.intern("expfix_a.**")
        e.save_module("expfix_a.sub")
        body.dot = e.dependency_graph_string()
        body.rdeps = e.get_rdeps("expfix_a.helpers")
        body.unknown = e.get_rdeps("nothing.here")

    export(pkg, body)
    assert body.dot.startswith("digraph G {\nrankdir = LR;\nnode [shape=box];\n")
    assert '"expfix_a.sub" -> "json";' in body.dot and body.dot.endswith("}\n")
    assert body.rdeps == ["expfix_a.sub"]
    assert body.unknown == []


def test_all_paths_fixed():
    def body(e):
        e.intern("expfix_a.**")
        e.save_module("expfix_a.sub")
        body.paths = e.all_paths("expfix_a.sub", "math")
        body.none = e.all_paths("math", "expfix_a.sub")
        # 1.13's closure starts from the characters of the name.
        with pytest.raises(ValueError, match="is not in the digraph"):
            torch.package._digraph.DiGraph.all_paths(e.dependency_graph, "expfix_a.sub", "math")

    export(sealpkg, body)
    lines = set(body.paths.splitlines())
    assert {'"expfix_a.helpers" -> "math";', '"expfix_a.sub" -> "expfix_a.helpers";'} == {
        line for line in lines if "->" in line}
    assert '"expfix_a.sub" -> "json";' not in lines
    assert body.none == "digraph G {\nrankdir = LR;\nnode [shape=box];\n\n}\n"


def test_analyze_first_use_of_broken_modules():
    with pytest.raises(sealpkg.PackagingError) as info:
        with sealpkg.PackageExporter(io.BytesIO()) as e:
            e.intern("expfix_a")
            e.save_source_string("top", "import expfix_a.sub\n")
    broken = sealpkg.analyze.find_first_use_of_broken_modules(info.value)
    assert broken == {"expfix_a.sub": ["top", "expfix_a.sub"]}


# ----- fixed 1.13 defects: classification, unresolved imports ----------------------------------


def test_explicit_patterns_win_over_implicit_externs_fixed():
    def deny_os(e):
        e.deny("os")
        e.save_source_string("m", "import os\nimport json\n")

    export(torch.package, deny_os)  # 1.13: deny("os") silently ignored
    with pytest.raises(sealpkg.PackagingError) as info:
        export(sealpkg, deny_os)
    assert str(info.value) == "\n* Module was denied by a pattern.\n    os\n"

    def mock_json(e):
        e.intern("**")  # wildcard-led: never claims the standard library
        e.mock("json.**")
        e.save_source_string("m", "import json\nimport math\n")
        mock_json.lists = (e.mocked_modules(), e.externed_modules())

    data = export(sealpkg, mock_json)
    assert mock_json.lists == (["json"], ["math"])
    with pytest.raises(NotImplementedError):
        load(data).import_module("m").json.dumps(1)


def test_extern_torch_allow_empty_false_matches_fixed():
    def body(e):
        e.extern("torch.**", allow_empty=False)
        e.save_pickle("t", "t.pkl", torch.zeros(2))

    with pytest.raises(torch.package.EmptyMatchError):
        export(torch.package, body)
    assert torch.equal(load(export(sealpkg, body)).load_pickle("t", "t.pkl"), torch.zeros(2))


def test_unresolved_import_is_an_error_by_default_fixed():
    def body(e):
        e.intern("expfix_optional")
        e.save_module("expfix_optional")

    data = export(torch.package, body)  # 1.13: silently dropped
    assert load(data, "torch").import_module("expfix_optional").result is True
    with pytest.raises(sealpkg.PackagingError) as info:
        export(sealpkg, body)
    assert str(info.value) == (
        "\n* " + sealpkg.PackagingErrorReason.UNRESOLVED_IMPORT.value + "\n"
        "    expfix_this_module_does_not_exist\n"
        "      Context: imported by 'expfix_optional'\n"
    )
    with pytest.warns(UserWarning, match="unresolved import skipped: "
                      "expfix_this_module_does_not_exist"):
        data = export(sealpkg, body, unresolved_imports="warn")
    assert load(data).import_module("expfix_optional").result is True

    def extern_it(e):
        e.extern("expfix_this_module_does_not_exist")
        body(e)

    data = export(sealpkg, extern_it)
    assert b"expfix_this_module_does_not_exist" in records(data)[".data/extern_modules"]
    for backend in BACKENDS:
        assert load(data, backend).import_module("expfix_optional").result is True


def test_dynamic_dunder_import_is_reported_fixed():
    def body(e):
        e.save_module("expfix_dynamic")

    with pytest.raises(sealpkg.PackagingError) as info:
        export(sealpkg, body)
    assert "__import__() of a name that is not a literal at line 6" in str(info.value)
    with pytest.warns(UserWarning, match="unresolved import skipped: expfix_dynamic"):
        export(sealpkg, body, unresolved_imports="warn")
    with pytest.raises(ValueError, match="unresolved_imports must be"):
        sealpkg.PackageExporter(io.BytesIO(), unresolved_imports="ignore")


def test_relative_import_in_top_level_module_fixed():
    with pytest.raises(sealpkg.PackagingError, match="beyond top-level package"):
        export(sealpkg, lambda e: e.save_source_string("x", "from . import y\n"))


def test_empty_extern_list_fixed():
    data = export(sealpkg, lambda e: e.save_text("r", "a.txt", "a"))
    assert records(data)[".data/extern_modules"] == b""
    assert records(export(torch.package, lambda e: e.save_text("r", "a.txt", "a")))[
        ".data/extern_modules"] == b"\n"
    for backend in BACKENDS:
        assert load(data, backend).extern_modules == []


def test_untyped_storage_fixed():
    s = torch.arange(4, dtype=torch.uint8).storage()._storage
    assert type(s) is torch.UntypedStorage
    with pytest.raises(UnboundLocalError):
        export(torch.package, lambda e: e.save_pickle("s", "s.pkl", s))
    data = export(sealpkg, lambda e: e.save_pickle("s", "s.pkl", s))
    for backend in BACKENDS:
        got = load(data, backend).load_pickle("s", "s.pkl")
        assert got.dtype == torch.uint8 and got.tolist() == [0, 1, 2, 3]


# ----- writing: atomicity, policy ------------------------------------------------------------


def test_nothing_at_target_when_the_with_block_raises(tmp_path):
    target = tmp_path / "out.pt"
    with pytest.raises(RuntimeError, match="boom"):
        with sealpkg.PackageExporter(str(target)) as e:
            e.save_text("r", "a.txt", "a")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_nothing_at_target_when_close_fails(tmp_path):
    target = tmp_path / "out.pt"
    with pytest.raises(sealpkg.PackagingError):
        with sealpkg.PackageExporter(str(target)) as e:
            e.save_source_string("m", "import expfix_plain\n")
    assert list(tmp_path.iterdir()) == []
    buf = io.BytesIO()
    with pytest.raises(sealpkg.PackagingError):
        with sealpkg.PackageExporter(buf) as e:
            e.save_source_string("m", "import expfix_plain\n")
    assert buf.getvalue() == b""


def test_policy_rejects_before_publishing(tmp_path):
    import expfix_plain

    target = tmp_path / "rejected.pt"
    with pytest.raises(sealpkg.ExportRejectedError) as info:
        with sealpkg.PackageExporter(str(target), policy="builtin:weights-only") as e:
            e.intern("expfix_plain")
            e.save_pickle("p", "p.pkl", expfix_plain.Plain(1))
    assert not info.value.report.accepted
    assert list(tmp_path.iterdir()) == []

    accepted = tmp_path / "data.pt"
    with sealpkg.PackageExporter(str(accepted), policy="builtin:data-only") as e:
        e.save_pickle("d", "d.pkl", {"w": [1.5, 2], "s": "text"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.pt"]
    assert zipfile.ZipFile(accepted).namelist()[0].startswith("data/")
    for backend in BACKENDS:
        got = load(accepted.read_bytes(), backend).load_pickle("d", "d.pkl")
        assert got == {"w": [1.5, 2], "s": "text"}


def test_file_structure_of_written_records():
    e = sealpkg.PackageExporter(io.BytesIO())
    e.save_text("a.b", "c.txt", "x")
    e.save_binary("a", "d.bin", b"y")
    tree = e.file_structure()
    assert tree.has_file("a/b/c.txt") and tree.has_file("a/d.bin")
    assert not e.file_structure(exclude="a/b/**").has_file("a/b/c.txt")
    e.close()


def test_signing_key_signs_at_close_reproducibly(tmp_path):
    import sealpkg.signing

    key = sealpkg.signing.keygen(algorithm="ed25519")
    paths = []
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "model.pt"
        with sealpkg.PackageExporter(str(path), signing_key=key, package_name="org.example.m",
                                     package_version=3, signed_at="2026-01-01T00:00:00Z",
                                     policy="builtin:data-only") as e:
            e.save_pickle("d", "d.pkl", {"a": [1, 2]})
        paths.append(path)
        assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    names = zipfile.ZipFile(paths[0]).namelist()
    assert names[-1] == "model/.data/signatures/package.sigstore.json"
    assert names[-2] == "model/.data/version"
    for backend in BACKENDS:
        assert load(paths[0].read_bytes(), backend).load_pickle("d", "d.pkl") == {"a": [1, 2]}
    with pytest.raises(ValueError, match="package_name and package_version together"):
        sealpkg.PackageExporter(io.BytesIO(), signing_key=key, package_name="x")
