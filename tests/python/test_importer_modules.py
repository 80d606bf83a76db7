"""PackageImporter module loading: import_module / __import__, module attributes, mangling,
externs, mocks, missing modules, the numpy allow-list, dummy packages, stdlib rewrites.

Every test runs against stock ``torch.package`` and ``sealpkg`` (``package_api``); the packages
are written by stock torch.package (importer_fixtures/impfix_support.py).
"""
from __future__ import annotations

import builtins
import importlib
import re
import sys
import types

import impfix_extern
import impfix_extpkg
import impfix_extpkg.sub
import pytest
from impfix_support import extern_list, private_module

MANGLED = re.compile(r"<torch_package_\d+>$")


@pytest.fixture
def main_importer(package_api, impfix_packages):
    return package_api.PackageImporter(str(impfix_packages["main"]))


def test_import_module_returns_packaged_module(main_importer):
    mod = main_importer.import_module("impfix_a")
    assert mod.result == "impfix_a"
    assert mod is main_importer.import_module("impfix_a")  # cached
    assert main_importer.modules["impfix_a"] is mod
    assert mod is not sys.modules.get("impfix_a")
    assert "impfix_a.subpackage" not in main_importer.modules  # lazily imported
    sub = main_importer.import_module("impfix_a.subpackage")
    assert mod.subpackage is sub  # installed on its parent
    assert sub.leaf_function(2, 3) == 5
    assert sub.SubObject(4).doubled() == 8  # relative imports inside the package


def test_modules_are_not_in_sys_modules(main_importer):
    before = set(sys.modules)
    mod = main_importer.import_module("impfix_b")
    assert set(sys.modules) - before == set()
    assert mod.__name__ not in sys.modules


def test_module_attributes(main_importer):
    prefix = main_importer.id()
    assert MANGLED.match(prefix)
    sub = main_importer.import_module("impfix_a.subpackage")
    assert sub.__name__ == f"{prefix}.impfix_a.subpackage"
    assert sub.__file__ == f"{prefix}.impfix_a/subpackage.py"
    assert sub.__cached__ is None
    assert sub.__loader__ is main_importer
    assert sub.__package__ == "impfix_a"
    assert sub.__spec__.name == "impfix_a.subpackage"
    assert sub.__spec__.origin == "<package_importer>"
    assert sub.__spec__.loader is main_importer
    assert sub.__spec__.submodule_search_locations is None
    assert not hasattr(sub, "__path__")
    assert sub.__torch_package__ is True
    assert sub.SubObject.__module__ == f"{prefix}.impfix_a.subpackage"

    pkg = main_importer.import_module("impfix_a")
    assert pkg.__file__ == f"{prefix}.impfix_a/__init__.py"
    assert pkg.__path__ == []
    assert pkg.__spec__.submodule_search_locations == []
    assert pkg.__package__ == "impfix_a"


def test_builtins_are_patched(main_importer):
    mod = main_importer.import_module("impfix_a.helpers")
    patched = mod.__builtins__
    assert isinstance(patched, dict)
    assert patched is not builtins.__dict__
    assert patched["__import__"] == main_importer.__import__
    assert builtins.__import__ is not patched["__import__"]
    assert patched["len"] is len
    assert set(patched) == set(builtins.__dict__)


def test_dunder_torch_package_seen_by_packaged_code(main_importer):
    dunder = main_importer.import_module("impfix_a.dunder")
    assert dunder.in_package() is True
    import impfix_a.dunder as host_dunder

    assert host_dunder.in_package() is False


def test_torch_package_importer_module(main_importer):
    assert main_importer.import_module("torch_package_importer") is main_importer
    assert main_importer.modules["torch_package_importer"] is main_importer
    uses = main_importer.import_module("impfix_a.uses_importer")
    assert uses.HAS_IMPORTER is True
    assert uses.importer() is main_importer
    assert uses.read_text() == "hello from impfix_a\n"
    assert uses.read_binary() == bytes(range(256))


def test_id_and_mangling_prefix(package_api, impfix_packages):
    first = package_api.PackageImporter(str(impfix_packages["main"]))
    second = package_api.PackageImporter(str(impfix_packages["main"]))
    assert MANGLED.match(first.id()) and MANGLED.match(second.id())
    assert first.id() != second.id()
    n1 = int(first.id()[len("<torch_package_"):-1])
    n2 = int(second.id()[len("<torch_package_"):-1])
    assert n2 > n1  # one process-wide counter


def test_import_module_demangles_own_names_only(package_api, impfix_packages):
    a = package_api.PackageImporter(str(impfix_packages["main"]))
    b = package_api.PackageImporter(str(impfix_packages["main"]))
    sub = a.import_module("impfix_a.subpackage")
    assert a.import_module(sub.__name__) is sub  # its own mangled name
    obj_module = a.load_pickle("obj", "sub.pkl").__module__
    assert a.import_module(obj_module) is sub
    with pytest.raises(ModuleNotFoundError):
        b.import_module(sub.__name__)  # another importer's mangled name is not demangled


def test_mangling_helpers(package_api):
    mangling = private_module(package_api, "_mangling")
    m1, m2 = mangling.PackageMangler(), mangling.PackageMangler()
    assert m1.parent_name() != m2.parent_name()
    name = m1.mangle("foo.bar")
    assert name == m1.parent_name() + ".foo.bar"
    assert m1.mangle("foo.bar") == name
    assert m1.demangle(name) == "foo.bar"
    assert m2.demangle(name) == name  # other prefixes pass through
    assert mangling.is_mangled(name) and not mangling.is_mangled("foo.bar")
    assert mangling.demangle(name) == "foo.bar"
    assert mangling.demangle(m1.parent_name()) == ""
    assert mangling.demangle("plain.name") == "plain.name"
    assert mangling.get_mangle_prefix(name) == m1.parent_name()
    assert mangling.get_mangle_prefix("plain.name") == "plain.name"
    with pytest.raises(AssertionError):
        m1.mangle("")


def test_two_importers_are_isolated(package_api, impfix_packages):
    a = package_api.PackageImporter(str(impfix_packages["main"]))
    b = package_api.PackageImporter(str(impfix_packages["main"]))
    ma, mb = a.import_module("impfix_a.subpackage"), b.import_module("impfix_a.subpackage")
    assert ma is not mb
    assert ma.SubObject is not mb.SubObject
    assert ma.SubObject.__module__ != mb.SubObject.__module__
    ma.result = "changed in a"
    assert mb.result == "impfix_a.subpackage"
    oa, ob = a.load_pickle("obj", "sub.pkl"), b.load_pickle("obj", "sub.pkl")
    assert type(oa) is ma.SubObject and type(ob) is mb.SubObject
    # Module state (a list filled by __reduce_package__ loaders) is per importer.
    a.load_pickle("obj", "things.pkl")
    ra, rb = a.import_module("impfix_a.reduce_obj"), b.import_module("impfix_a.reduce_obj")
    assert len(ra.CALLS) == 2 and rb.CALLS == []


def test_dunder_import_forms_inside_package(main_importer):
    b = main_importer.import_module("impfix_b")
    # `xml.sax.xmlreader` is externed, `xml` itself is not: no fromlist gives the top-level
    # package, here the package's dummy `xml` holding the host's `sax`.
    assert b.top_xml is main_importer.import_module("xml") and b.top_xml.__file__ is None
    assert b.top_xml.sax.xmlreader is sys.modules["xml.sax.xmlreader"]
    assert b.sub1 is main_importer.import_module("impfix_b.subpackage_1")  # keyword fromlist
    assert b.sub2.VALUE == "subpackage_2"  # level 1, positional fromlist
    assert b.sub0.VALUE == "subpackage_0"  # "*" (tolerates the missing name in __all__)
    assert b.also_top is b  # dotted packaged name, no fromlist
    assert b.sub0.subsubpackage_0.up is b.sub2  # level 3


def test_dunder_import_called_directly(main_importer):
    imp = main_importer
    top = imp.__import__("impfix_b.subpackage_1")
    assert top is imp.import_module("impfix_b")
    sub1 = imp.__import__("impfix_b.subpackage_1", fromlist=["VALUE"])
    assert sub1 is imp.import_module("impfix_b.subpackage_1")
    g = {"__package__": "impfix_b", "__name__": "impfix_b"}
    assert imp.__import__("subpackage_2", g, None, ["VALUE"], 1).VALUE == "subpackage_2"
    # Relative without fromlist: the first component of the relative name, resolved.
    assert imp.__import__("subpackage_0.subsubpackage_0", g, None, (), 1) is \
        imp.import_module("impfix_b.subpackage_0")
    assert imp.__import__("", g, None, (), 1) is imp.import_module("impfix_b")
    # A missing fromlist submodule is tolerated; the package is returned.
    assert imp.__import__("impfix_b", fromlist=["does_not_exist"]) is imp.import_module("impfix_b")


def test_dunder_import_errors(main_importer):
    imp = main_importer
    g = {"__package__": "impfix_b", "__name__": "impfix_b"}
    with pytest.raises(ValueError, match="^attempted relative import beyond top-level package$"):
        imp.__import__("x", g, None, (), 3)
    with pytest.raises(ImportError, match="^attempted relative import with no known parent package$"):
        imp.__import__("x", {"__package__": ""}, None, (), 1)
    with pytest.raises(TypeError, match=r"^Item in ``from list'' must be str, not int$"):
        imp.__import__("impfix_b", fromlist=[1])
    with pytest.raises(ValueError, match="^level must be >= 0$"):
        imp.__import__("impfix_b", g, None, (), -1)
    with pytest.raises(ValueError, match="^Empty module name$"):
        imp.import_module("")
    with pytest.raises(TypeError, match="^module name must be str, not <class 'int'>$"):
        imp.__import__(3)


def test_missing_module_message(main_importer, impfix_packages):
    path = impfix_packages["main"]
    externs = extern_list(path)
    with pytest.raises(ModuleNotFoundError) as info:
        main_importer.import_module("impfix_nope")
    assert str(info.value) == (
        f'No module named "impfix_nope" in self-contained archive "{path}" and the module is '
        f"also not in the list of allowed external modules: {externs}")
    assert info.value.name == "impfix_nope"
    # A module the exporter never saw is missing even though the host has it.
    with pytest.raises(ModuleNotFoundError) as info:
        main_importer.import_module("impfix_d")
    assert info.value.name == "impfix_d"


def test_missing_submodule_of_a_module(main_importer):
    with pytest.raises(ModuleNotFoundError) as info:
        main_importer.import_module("impfix_a.helpers.nope")
    assert str(info.value) == "No module named 'impfix_a.helpers.nope'; 'impfix_a.helpers' is not a package"
    assert info.value.name == "impfix_a.helpers.nope"


def test_missing_submodule_of_a_package(main_importer, impfix_packages):
    externs = extern_list(impfix_packages["main"])
    with pytest.raises(ModuleNotFoundError) as info:
        main_importer.import_module("impfix_a.nope")
    assert str(info.value) == (
        f'No module named "impfix_a.nope" in self-contained archive "{impfix_packages["main"]}" '
        f"and the module is also not in the list of allowed external modules: {externs}")


def test_extern_modules_are_host_modules(main_importer):
    user = main_importer.import_module("impfix_a.extern_user")
    assert main_importer.import_module("impfix_extern") is impfix_extern
    assert user.VALUE is impfix_extern.VALUE
    assert user.ident(5) == 5
    assert main_importer.import_module("impfix_extpkg.sub") is impfix_extpkg.sub
    assert user.sub_value() == "impfix_extpkg.sub"
    assert main_importer.import_module("json") is sys.modules["json"]  # implicit stdlib extern


def test_non_externed_parent_of_extern_is_a_dummy(main_importer):
    parent = main_importer.import_module("impfix_extpkg")
    assert parent is not impfix_extpkg
    assert parent.__torch_package__ is True
    assert parent.__path__ == []
    assert parent.__file__ is None
    assert parent.__name__ == f"{main_importer.id()}.impfix_extpkg"


def test_extern_modules_attribute(main_importer, impfix_packages):
    assert main_importer.extern_modules == extern_list(impfix_packages["main"])


def test_module_allowed_sees_every_extern(package_api, impfix_packages):
    seen = []

    def allowed(name):
        seen.append(name)
        return True

    package_api.PackageImporter(str(impfix_packages["main"]), module_allowed=allowed)
    assert seen == extern_list(impfix_packages["main"])


def test_module_allowed_rejection_message(package_api, impfix_packages):
    path = str(impfix_packages["main"])
    with pytest.raises(ImportError) as info:
        package_api.PackageImporter(path, module_allowed=lambda name: name != "impfix_extern")
    assert type(info.value) is ImportError
    assert str(info.value) == (
        f"package '{path}' needs the external module 'impfix_extern' but that module has been "
        "disallowed")


def test_module_allowed_rejection_message_for_buffer(package_api, impfix_packages):
    buf = __import__("io").BytesIO(impfix_packages["main"].read_bytes())
    with pytest.raises(ImportError) as info:
        package_api.PackageImporter(buf, module_allowed=lambda name: name != "json")
    assert str(info.value) == (
        f"package '{buf}' needs the external module 'json' but that module has been disallowed")


def test_implicit_numpy_allow_list(main_importer, impfix_packages):
    assert "numpy" not in extern_list(impfix_packages["main"])
    numpy = importlib.import_module("numpy")
    assert main_importer.import_module("numpy") is numpy
    assert main_importer.import_module("numpy.core") is sys.modules["numpy.core"]
    assert main_importer.import_module("numpy.core._multiarray_umath") is \
        sys.modules["numpy.core._multiarray_umath"]
    with pytest.raises(ModuleNotFoundError) as info:
        main_importer.import_module("numpy.linalg")  # not on the allow-list
    assert info.value.name == "numpy.linalg"


def test_dummy_parent_packages(main_importer):
    res = main_importer.import_module("impfix_a.res")  # a folder of resources only
    assert isinstance(res, types.ModuleType)
    assert res.__file__ is None
    assert res.__path__ == []
    assert res.__torch_package__ is True
    assert res.__loader__ is main_importer
    assert res.__spec__.submodule_search_locations == []
    deeper = main_importer.import_module("impfix_a.res.deeper")
    assert res.deeper is deeper
    obj = main_importer.import_module("obj")  # the folder of pickles
    assert obj.__file__ is None


def test_stdlib_sys_modules_rewrites(main_importer):
    hacks = main_importer.import_module("impfix_a.std_hacks")
    assert hacks.joined("a", "b") == "a/b"
    assert hacks.typing_names() == ("typing.io", "typing.re", "BinaryIO")
    assert main_importer.import_module("os.path") is sys.modules["os"].path
    assert main_importer.modules["os.path"] is sys.modules["os"].path
    assert main_importer.modules["typing.io"] is sys.modules["typing"].io


def test_mocked_module_raises_on_use(main_importer):
    prefix = main_importer.id()
    user = main_importer.import_module("impfix_a.mock_user")
    mocked = main_importer.import_module("impfix_mocked")
    assert mocked.__name__ == f"{prefix}.impfix_mocked"
    with pytest.raises(NotImplementedError) as info:
        user.call()
    assert str(info.value) == (f"Object '{prefix}.impfix_mocked.compute' was mocked out during "
                               "packaging but it is being used in __call__")
    constant = user.attribute()
    assert repr(constant) == f"MockedObject({prefix}.impfix_mocked.CONSTANT)"
    with pytest.raises(NotImplementedError, match="is being used in __add__$"):
        constant + 1
    mock_module = main_importer.import_module("_mock")
    assert isinstance(constant, mock_module.MockedObject)


def test_inconsistent_module_structure_is_refused(package_api, tmp_path):
    import torch

    path = tmp_path / "inconsistent.pt"
    writer = torch._C.PyTorchFileWriter(str(path))
    writer.set_min_version(6)
    for name, data in ((".data/extern_modules", b"\n"), ("a.py", b"X = 1\n"),
                       ("a/b.py", b"Y = 2\n")):
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()
    del writer
    with pytest.raises(ImportError, match="^inconsistent module structure"):
        package_api.PackageImporter(str(path))
