"""Backward compatibility and drop-in use.

* Older archive layouts (reference §4.1 package_bc / package_e equivalents, recreated at test
  time with stock torch's own writer from a DCGAN-style generator as eager nn, TorchScript and
  FX): no `.data/python_version`; the writer's default top-level `version` record of 3 instead of
  `.data/version` 6; `.data/python_version` from another Python; an empty extern list.
* A script written for ``from torch import package`` gives the same output with
  ``import sealpkg as package`` substituted.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sealpkg
import torch

KINDS = {
    "nn": ("nn_module", "nn_module.pkl"),
    "script": ("torchscript_module", "torchscript_module.pkl"),
    "fx": ("fx_module", "fx_module.pkl"),
}


def _records(path: Path) -> list:
    with zipfile.ZipFile(path) as zf:
        return [n.split("/", 1)[1] for n in zf.namelist()]


@pytest.mark.parametrize("layout", ["bc", "bc3"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_older_layouts_load(package_api, impfix_packages, layout, kind):
    path = impfix_packages[f"{layout}_{kind}"]
    records = _records(path)
    assert ".data/python_version" not in records
    if layout == "bc":
        assert ".data/version" in records
    else:
        assert "version" in records and ".data/version" not in records
    imp = package_api.PackageImporter(str(path))
    assert imp.python_version() is None
    model = imp.load_pickle(*KINDS[kind])
    with torch.no_grad():
        out = model(impfix_packages.generator_input)
    assert torch.allclose(out, impfix_packages.generator_output, atol=1e-6)
    if kind == "nn":
        assert type(model).__module__ == f"{imp.id()}.impfix_a.models"


def test_version_record_contents(impfix_packages):
    """The fixtures really have the layouts the test above claims (read with zipfile)."""
    with zipfile.ZipFile(impfix_packages["bc3_nn"]) as zf:
        assert zf.read("bc3_nn/version") == b"3\n"
    with zipfile.ZipFile(impfix_packages["bc_nn"]) as zf:
        assert zf.read("bc_nn/.data/version") == b"6\n"


def test_other_python_version(package_api, impfix_packages):
    imp = package_api.PackageImporter(str(impfix_packages["py397"]))
    assert imp.python_version() == "3.9.7"
    with torch.no_grad():
        out = imp.load_pickle(*KINDS["nn"])(impfix_packages.generator_input)
    assert torch.allclose(out, impfix_packages.generator_output, atol=1e-6)


def test_empty_extern_list(package_api, impfix_packages):
    path = impfix_packages["simple_v1"]
    with zipfile.ZipFile(path) as zf:
        assert zf.read("simple_v1/.data/extern_modules") == b"\n"
    imp = package_api.PackageImporter(str(path))
    assert imp.extern_modules == [""]
    assert imp.import_module("impfix_src").VERSION == "v1"


SCRIPT = r'''
import sys
import torch
from torch import package

path, model_path, script_path = sys.argv[1:4]
imp = package.PackageImporter(path)
print("id", imp.id())
print("filename", imp.filename)
print("python_version", imp.python_version())
print(imp.file_structure(include="impfix_a/**", exclude="**/*.py"))
sub = imp.import_module("impfix_a.subpackage")
print("module", sub.__name__, sub.__file__)
obj = imp.load_pickle("obj", "sub.pkl")
print("obj", type(obj).__module__, type(obj).__qualname__, obj.value, obj.doubled())
print("is_from_package", package.is_from_package(obj), package.is_from_package(sub))
print("text", repr(imp.load_text("impfix_a", "data.txt")))
print("binary", imp.load_binary("impfix_a.res", "blob.bin")[:8])
print("get_name", imp.get_name(type(obj)))
try:
    imp.import_module("impfix_nope")
except ModuleNotFoundError as e:
    print("missing", e)
try:
    package.sys_importer.get_name(type(obj))
except package.ObjMismatchError as e:
    print("mismatch", repr(str(e)))
things = imp.load_pickle("obj", "things.pkl")
print("things", [t.tag for t in things], things[0] is things[1])
model = package.PackageImporter(model_path).load_pickle("model", "model.pkl", map_location="cpu")
torch.manual_seed(0)
x = torch.randn(2, 3, 4, 4)
with torch.no_grad():
    print("model", type(model).__name__, model(x).sum().item())
scripted = package.PackageImporter(script_path).load_pickle("model", "script.pkl")
with torch.no_grad():
    print("script", scripted(x).sum().item())
ordered = package.OrderedImporter(imp, package.sys_importer)
print("ordered", ordered.import_module("impfix_a") is imp.import_module("impfix_a"))
'''


def _run(script: str, tmp_path: Path, impfix_packages, name: str) -> str:
    path = tmp_path / name
    path.write_text(script)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent / "importer_fixtures")]
        + [str(Path(sealpkg.__file__).resolve().parents[1])]  # the sealpkg under test
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    result = subprocess.run(
        [sys.executable, str(path), str(impfix_packages["main"]), str(impfix_packages["model"]),
         str(impfix_packages["script"])],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_script_runs_unchanged_with_backend(package_api, impfix_packages, tmp_path):
    """The same script, once as written for torch.package and once with the backend under test
    substituted by its import line: the outputs are identical."""
    assert "from torch import package" in SCRIPT
    stock = _run(SCRIPT, tmp_path, impfix_packages, "stock.py")
    assert stock.count("\n") > 15 and "<torch_package_0>" in stock
    line = "from torch import package" if package_api.__name__ == "torch.package" \
        else "import sealpkg as package"
    substituted = _run(SCRIPT.replace("from torch import package", line), tmp_path,
                       impfix_packages, "substituted.py")
    assert substituted == stock
