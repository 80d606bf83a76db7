"""cmake --install of the tested build tree (cmake/SealpkgInstall.cmake) and setup.py's metadata.

The full install story (the C++ consumer built against the installed CMake package, pip into a
venv, a sandboxed load through the installed worker) is scripts/check-install.sh; these are the
fast layout checks that run with the other Python tests.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest

import sealpkg

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEALPKG_BUILD_DIR", REPO / "build")).resolve()
COMPONENTS = ["core", "archive", "verifier", "signing", "loader", "sandbox"]

pytestmark = pytest.mark.skipif(not (BUILD / "CMakeCache.txt").is_file(),
                                reason=f"no configured CMake build tree at {BUILD}")


def _cache() -> Dict[str, str]:
    values = {}
    for line in (BUILD / "CMakeCache.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_]+):[A-Z]+=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def _install(prefix: Path, component: str) -> None:
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix), "--component",
                    component], check=True, capture_output=True, text=True)


def _public_headers(component: str) -> Set[str]:
    """What the install rules promise: top-level headers, minus *internal* and Python bindings."""
    names = set()
    for header in (REPO / component).glob("*.h"):
        text = header.read_text()
        if "internal" in header.name or re.search(r'#include\s*[<"](pybind11/|Python\.h)', text):
            continue
        names.add(header.name)
    return names


def test_dev_install_has_exactly_the_public_headers_and_the_cmake_package(tmp_path: Path) -> None:
    _install(tmp_path, "sealpkg_dev")
    include = tmp_path / "include" / "sealpkg"
    assert sorted(p.name for p in include.iterdir()) == sorted(COMPONENTS)
    for component in COMPONENTS:
        installed = {p.name for p in (include / component).iterdir()}
        assert installed == _public_headers(component), component
        assert (tmp_path / "lib" / f"libsealpkg_{component}.a").is_file(), component
    for header in include.rglob("*.h"):
        text = header.read_text()
        assert not re.search(r"#include\s*[<\"][a-z_]+/internal/", text), header
        assert not re.search(r'#include\s*[<"](pybind11/|Python\.h|openssl/|zip\.h|seccomp\.h|boost/)',
                             text), header

    cmake_dir = tmp_path / "lib" / "cmake" / "sealpkg"
    targets = (cmake_dir / "sealpkgTargets.cmake").read_text()
    sandbox_targets = (cmake_dir / "sealpkgSandboxTargets.cmake").read_text()
    for component in ["core", "archive", "verifier", "signing", "loader"]:
        assert f"add_library(sealpkg::{component} STATIC IMPORTED)" in targets, component
    assert "sealpkg::sandbox" not in targets  # its own file: needs libseccomp and Boost
    assert "add_library(sealpkg::sandbox STATIC IMPORTED)" in sandbox_targets
    assert 'INTERFACE_INCLUDE_DIRECTORIES "${_IMPORT_PREFIX}/include/sealpkg"' in targets
    for text in (targets, sandbox_targets, (cmake_dir / "sealpkgConfig.cmake").read_text()):
        assert str(REPO) + "/" not in text and str(BUILD) not in text  # relocatable
    version = (cmake_dir / "sealpkgConfigVersion.cmake").read_text()
    assert f'set(PACKAGE_VERSION "{sealpkg.__version__}")' in version


def test_runtime_install_runs_from_the_prefix_only(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    _install(prefix, "sealpkg_runtime")
    _install(prefix, "sealpkg_python")
    cli = prefix / "bin" / "sealpkg"
    worker = prefix / "libexec" / "sealpkg" / "sealpkg-worker"
    assert os.access(cli, os.X_OK) and os.access(worker, os.X_OK)
    out = subprocess.run([str(cli), "--version"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == f"sealpkg {sealpkg.__version__}"

    pydir = prefix / _cache()["SEALPKG_INSTALL_PYTHONDIR"]
    code = ("import sealpkg, sealpkg.sandbox as s; "
            "print(sealpkg.__file__); print(sealpkg._native.__file__); print(s.worker_path())")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(pydir)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=tmp_path, env=env)
    module, native, worker_found = out.stdout.split()
    package = pydir / "sealpkg"
    assert Path(module) == package / "__init__.py"
    assert Path(native).parent == package
    assert Path(worker_found) == package / "sealpkg-worker"


def test_setup_py_version_is_the_project_version() -> None:
    out = subprocess.run([sys.executable, str(REPO / "setup.py"), "--version"], check=True,
                         capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == sealpkg.__version__
