"""Importer, sys_importer, OrderedImporter, get_name / whichmodule and their errors,
is_from_package, and re-packaging loaded objects with STOCK torch.package.PackageExporter
through ``OrderedImporter(importer, sys_importer)``. Run against stock ``torch.package`` and
``sealpkg`` (``package_api``).
"""
from __future__ import annotations

import io
import pickle
import sys

import impfix_a.subpackage as host_subpackage
import impfix_extern
import pytest
import torch
import torch.package
from torch.package import PackageExporter


@pytest.fixture
def main_importer(package_api, impfix_packages):
    return package_api.PackageImporter(str(impfix_packages["main"]))


def module_level_function():
    return "host"


def test_public_names(package_api):
    for name in ("PackageImporter", "Importer", "OrderedImporter", "sys_importer",
                 "ObjNotFoundError", "ObjMismatchError", "is_from_package", "Directory",
                 "GlobGroup"):
        assert hasattr(package_api, name), name
    assert issubclass(package_api.ObjNotFoundError, Exception)
    assert issubclass(package_api.ObjMismatchError, Exception)
    assert callable(package_api.analyze.trace_dependencies)
    assert callable(package_api.analyze.find_first_use_of_broken_modules)


def test_importers_are_torch_importers(package_api, main_importer):
    """Stock PackageExporter accepts only torch.package.Importer instances (isinstance)."""
    assert isinstance(main_importer, package_api.Importer)
    assert isinstance(main_importer, torch.package.Importer)
    assert isinstance(package_api.sys_importer, torch.package.Importer)
    assert isinstance(package_api.OrderedImporter(main_importer), torch.package.Importer)


def test_sys_importer(package_api):
    assert package_api.sys_importer.import_module("impfix_a.subpackage") is host_subpackage
    assert package_api.sys_importer.get_name(host_subpackage.SubObject) == (
        "impfix_a.subpackage", "SubObject")
    module, name = package_api.sys_importer.get_name(module_level_function)
    assert (module, name) == (__name__, "module_level_function")
    assert getattr(package_api.sys_importer.import_module(module), name) is module_level_function
    assert package_api.sys_importer.whichmodule(host_subpackage.leaf_function, "leaf_function") \
        == "impfix_a.subpackage"


def test_get_name_demangles(main_importer):
    sub = main_importer.import_module("impfix_a.subpackage")
    assert main_importer.get_name(sub.SubObject) == ("impfix_a.subpackage", "SubObject")
    assert main_importer.get_name(sub.Outer.Inner) == ("impfix_a.subpackage", "Outer.Inner")
    assert main_importer.get_name(sub.leaf_function) == ("impfix_a.subpackage", "leaf_function")
    helpers = main_importer.import_module("impfix_a.helpers")
    # A __reduce__ returning a string names the object.
    assert main_importer.get_name(helpers.SENTINEL) == ("impfix_a.helpers", "SENTINEL")
    assert main_importer.get_name(impfix_extern.ident) == ("impfix_extern", "ident")


def test_obj_not_found_error_type(package_api, main_importer):
    with pytest.raises(package_api.ObjNotFoundError) as info:
        main_importer.get_name(module_level_function)
    assert str(info.value) == (f"{module_level_function} was not found as "
                               f"{__name__}.module_level_function")
    sub = main_importer.import_module("impfix_a.subpackage")
    with pytest.raises(package_api.ObjNotFoundError) as info:
        main_importer.get_name(sub.SubObject, name="NoSuchName")
    assert str(info.value) == f"{sub.SubObject} was not found as impfix_a.subpackage.NoSuchName"


def test_obj_mismatch_host_object_through_package_importer(package_api, main_importer):
    prefix = main_importer.id()
    with pytest.raises(package_api.ObjMismatchError) as info:
        main_importer.get_name(host_subpackage.SubObject)
    assert str(info.value) == (
        "\n\nThe object provided is from 'impfix_a.subpackage', which is coming from the "
        "current Python environment."
        f"\nHowever, when we import '{prefix}.impfix_a.subpackage', it's coming from {prefix}."
        "\nTo fix this, make sure this 'PackageExporter's importer lists 'sys_importer' before "
        f"the importer for {prefix}.")


def test_obj_mismatch_packaged_object_through_sys_importer(package_api, main_importer):
    prefix = main_importer.id()
    sub = main_importer.import_module("impfix_a.subpackage")
    with pytest.raises(package_api.ObjMismatchError) as info:
        package_api.sys_importer.get_name(sub.SubObject)
    assert str(info.value) == (
        f"\n\nThe object provided is from '{prefix}.impfix_a.subpackage', which is coming from "
        f"{prefix}."
        "\nHowever, when we import 'impfix_a.subpackage', it's coming from the current Python "
        "environment."
        f"\nTo fix this, make sure this 'PackageExporter's importer lists the importer for "
        f"{prefix} before 'sys_importer'.")


def test_whichmodule_without_dunder_module(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["model"]))
    assert getattr(torch.strided, "__module__", None) is None
    assert imp.whichmodule(torch.strided, "strided") == "__main__"  # nothing imported yet
    imp.load_pickle("model", "model.pkl")  # imports torch (extern) into imp.modules
    assert imp.whichmodule(torch.strided, "strided") == "torch"
    assert imp.get_name(torch.strided, "strided") == ("torch", "strided")


def test_ordered_importer_first_wins(package_api, main_importer):
    ordered = package_api.OrderedImporter(main_importer, package_api.sys_importer)
    assert ordered.import_module("impfix_a.subpackage") is \
        main_importer.import_module("impfix_a.subpackage")
    assert ordered.import_module("impfix_d.imports_directly") is \
        sys.modules["impfix_d.imports_directly"]  # falls back on ModuleNotFoundError
    reverse = package_api.OrderedImporter(package_api.sys_importer, main_importer)
    assert reverse.import_module("impfix_a.subpackage") is host_subpackage


def test_single_ordered_importer_does_not_fall_back(package_api, main_importer):
    ordered = package_api.OrderedImporter(main_importer)
    assert ordered.import_module("impfix_a") is main_importer.import_module("impfix_a")
    with pytest.raises(ModuleNotFoundError):
        ordered.import_module("impfix_d")  # the host has it; the package does not


def test_ordered_importer_skips_dummy_packages(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["repackage_source"]))
    dummy = imp.import_module("impfix_d.subpackage_0")  # parent never interned: a dummy
    assert dummy.__file__ is None and dummy.__path__ == []
    ordered = package_api.OrderedImporter(imp, package_api.sys_importer)
    import impfix_d.subpackage_0 as host

    assert ordered.import_module("impfix_d.subpackage_0") is host
    assert ordered.import_module("impfix_d.subpackage_0.subsubpackage_0") is \
        imp.import_module("impfix_d.subpackage_0.subsubpackage_0")
    only = package_api.OrderedImporter(imp)
    with pytest.raises(ModuleNotFoundError) as info:
        only.import_module("impfix_d.subpackage_0")  # skipped, nothing else to try
    assert str(info.value) == "impfix_d.subpackage_0"


def test_ordered_importer_rejects_non_importers(package_api):
    thing = object()
    ordered = package_api.OrderedImporter(thing)
    with pytest.raises(TypeError) as info:
        ordered.import_module("json")
    assert str(info.value) == (f"{thing} is not a Importer. All importers in OrderedImporter "
                               "must inherit from Importer.")


def test_ordered_importer_whichmodule(package_api):
    class Fixed(package_api.Importer):
        def __init__(self, answer):
            self.answer = answer
            self.modules = {}

        def import_module(self, module_name):
            raise ModuleNotFoundError(module_name)

        def whichmodule(self, obj, name):
            return self.answer

    assert package_api.OrderedImporter(Fixed("__main__"), Fixed("b"), Fixed("c")).whichmodule(
        object(), "x") == "b"
    assert package_api.OrderedImporter(Fixed("__main__")).whichmodule(object(), "x") == "__main__"


def test_importer_is_abstract(package_api):
    class Incomplete(package_api.Importer):
        pass

    with pytest.raises(TypeError):
        Incomplete()


def test_is_from_package(package_api, main_importer):
    sub = main_importer.import_module("impfix_a.subpackage")
    obj = main_importer.load_pickle("obj", "sub.pkl")
    for is_from_package in (package_api.is_from_package,):
        assert is_from_package(sub)
        assert is_from_package(obj)
        assert not is_from_package(host_subpackage)
        assert not is_from_package(host_subpackage.SubObject(1))
        assert not is_from_package(main_importer.import_module("impfix_extern"))  # extern
        assert not is_from_package(torch.zeros(1))


def _repackage(obj_pairs, importer, extra_modules=()):
    buf = io.BytesIO()
    with PackageExporter(buf, importer=importer) as exp:
        exp.intern("**")
        for name in extra_modules:
            exp.save_module(name)
        for resource, obj in obj_pairs:
            exp.save_pickle("default", resource, obj)
    buf.seek(0)
    return buf


def test_repackage_with_stock_exporter(package_api, main_importer):
    obj = main_importer.load_pickle("obj", "sub.pkl")
    # Without the package's importer the class cannot be found...
    with pytest.raises(pickle.PicklingError):
        _repackage([("obj.pkl", obj)], package_api.sys_importer)
    # ...with it first, the packaged source is exported again.
    buf = _repackage([("obj.pkl", obj)],
                     package_api.OrderedImporter(main_importer, package_api.sys_importer))
    again = torch.package.PackageImporter(buf)
    loaded = again.load_pickle("default", "obj.pkl")
    assert loaded.value == 3 and loaded.doubled() == 6
    assert again.get_source("impfix_a.subpackage") == main_importer.get_source(
        "impfix_a.subpackage")


def test_repackage_with_importer_sequence(package_api, main_importer):
    obj = main_importer.load_pickle("obj", "sub.pkl")
    buf = _repackage([("obj.pkl", obj)], [main_importer, package_api.sys_importer])
    assert torch.package.PackageImporter(buf).load_pickle("default", "obj.pkl").value == 3


def test_repackage_through_parent_reexport(package_api, impfix_packages):
    """The new code reaches `important_string` through `impfix_d.subpackage_0`, a dummy in the
    loaded package: OrderedImporter must skip it and take the host's real module."""
    from impfix_d.imports_indirectly import ImportsIndirectly

    imp = package_api.PackageImporter(str(impfix_packages["repackage_source"]))
    loaded = imp.load_pickle("default", "obj.pkl")
    assert loaded.value() == "subsubpackage_0"
    buf = _repackage([("direct.pkl", loaded), ("indirect.pkl", ImportsIndirectly())],
                     package_api.OrderedImporter(imp, package_api.sys_importer))
    again = package_api.PackageImporter(buf)
    assert again.load_pickle("default", "direct.pkl").value() == "subsubpackage_0"
    assert again.load_pickle("default", "indirect.pkl").value() == "subsubpackage_0"


def test_repackage_module_using_torch_package_importer(package_api, main_importer):
    buf = _repackage([], package_api.OrderedImporter(main_importer, package_api.sys_importer),
                     extra_modules=["impfix_a.uses_importer"])
    again = package_api.PackageImporter(buf)
    uses = again.import_module("impfix_a.uses_importer")
    assert uses.importer() is again


def test_repackage_mocked_module(package_api, main_importer):
    """A package with a mocked module is re-packaged: the mock still raises on use."""
    buf = io.BytesIO()
    with PackageExporter(buf, importer=package_api.OrderedImporter(
            main_importer, package_api.sys_importer)) as exp:
        exp.intern("impfix_a.**")
        exp.mock("impfix_mocked")
        exp.save_module("impfix_a.mock_user")
    buf.seek(0)
    again = package_api.PackageImporter(buf)
    with pytest.raises(NotImplementedError, match="was mocked out during packaging"):
        again.import_module("impfix_a.mock_user").call()


def test_save_pickle_of_dtype_through_package_importer(package_api, impfix_packages):
    """torch.strided has no __module__: whichmodule scans the importer's modules."""
    imp = package_api.PackageImporter(str(impfix_packages["model"]))
    model = imp.load_pickle("model", "model.pkl")
    buf = io.BytesIO()
    with PackageExporter(buf, importer=(imp, package_api.sys_importer)) as exp:
        exp.intern("**")
        exp.save_pickle("default", "dtype.pkl", {"layout": torch.strided, "dtype": torch.float16,
                                                "model": model})
    buf.seek(0)
    again = package_api.PackageImporter(buf).load_pickle("default", "dtype.pkl")
    assert again["layout"] is torch.strided and again["dtype"] is torch.float16
    with torch.no_grad():
        assert torch.equal(again["model"](impfix_packages.model_input),
                           impfix_packages.model_output)
