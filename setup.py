"""pip install for sealpkg: CMake builds the C++ and the wheel carries the Python package.

    pip install --no-build-isolation .        # offline, with Debian's setuptools and wheel

The wheel holds ``sealpkg/`` (the pure-Python modules, ``_native`` and the ``sealpkg-worker``
executable next to them, where ``sealpkg.sandbox.worker_path()`` looks) and the ``sealpkg`` CLI
in the environment's ``bin/``. Debian 12's /usr/bin/python3 is "externally managed" (PEP 668):
install into a venv that still sees Debian's torch::

    /usr/bin/python3 -m venv --system-site-packages ~/.venvs/sealpkg
    ~/.venvs/sealpkg/bin/pip install --no-build-isolation .

(or, in a throw-away container, ``pip install --break-system-packages --no-build-isolation .``).
Run as root, the sandbox worker drops to an unprivileged uid and imports sealpkg from where it
is installed, so that folder must be readable by everyone: not a venv under /root (mode 0700).

Environment:
  SEALPKG_CMAKE_BUILD_DIR  reuse this already configured CMake build dir (e.g. build/ from
                           scripts/build.sh, configured for the same Python) instead of a fresh
                           Release build; only the three installed targets are (re)built there.
  SEALPKG_CMAKE_ARGS       extra arguments for the fresh configure (space separated).
  SEALPKG_BUILD_JOBS       parallel build jobs (default: the CPU count).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Command, Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.install import install

ROOT = os.path.dirname(os.path.abspath(__file__))
# The fresh CMake build and setuptools' scratch space (git-ignored like every build*/ folder).
PIP_BUILD = os.path.join(ROOT, "build-pip")
# With a reused CMake build, setuptools works inside it: two installs reusing different build
# dirs (CI and a developer, say) never share a scratch folder.
SCRATCH = (os.path.join(os.path.abspath(os.environ["SEALPKG_CMAKE_BUILD_DIR"]), "setuptools")
           if os.environ.get("SEALPKG_CMAKE_BUILD_DIR") else PIP_BUILD)
# The targets whose outputs the wheel carries (python/CMakeLists.txt, sandbox/, cli/).
TARGETS = ["sealpkg_python", "sealpkg_worker", "sealpkg_cli"]
os.makedirs(SCRATCH, exist_ok=True)  # egg_info's egg_base must exist


def project_version() -> str:
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(sealpkg\s+VERSION\s+([0-9][0-9.]*)", f.read())
    if match is None:
        raise RuntimeError("CMakeLists.txt: no `project(sealpkg VERSION x.y.z`")
    return match.group(1)


def run(cmd, **kwargs) -> None:
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def cmake_cache(build_dir: str) -> dict:
    values = {}
    with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            match = re.match(r"([A-Za-z0-9_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if match:
                values[match.group(1)] = match.group(2)
    return values


class CMakeBuild(build_ext):
    """Builds the C++ with CMake, then places _native and sealpkg-worker in the package."""

    def run(self) -> None:
        build_dir = self.cmake_build_dir()
        jobs = os.environ.get("SEALPKG_BUILD_JOBS") or str(os.cpu_count() or 1)
        run(["cmake", "--build", build_dir, "--parallel", jobs, "--target", *TARGETS])
        package_dir = os.path.join(build_dir, "python", "sealpkg")
        native = os.path.join(package_dir, "_native" + sysconfig.get_config_var("EXT_SUFFIX"))
        if not os.path.isfile(native):
            raise RuntimeError(
                f"{native} was not built: the CMake build dir must be configured with "
                f"-DSEALPKG_PYTHON=ON for this interpreter ({sys.executable}, "
                f"{sysconfig.get_config_var('EXT_SUFFIX')})")
        destination = self.get_ext_fullpath("sealpkg._native")
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        self.copy_file(native, destination)
        # The worker must be executable and next to the module (sealpkg.sandbox.worker_path()).
        self.copy_file(os.path.join(package_dir, "sealpkg-worker"),
                       os.path.join(os.path.dirname(destination), "sealpkg-worker"))
        self.distribution.sealpkg_cli = os.path.join(build_dir, "cli", "sealpkg")

    def cmake_build_dir(self) -> str:
        reuse = os.environ.get("SEALPKG_CMAKE_BUILD_DIR")
        if reuse:
            build_dir = os.path.abspath(reuse)
            if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")):
                raise RuntimeError(f"SEALPKG_CMAKE_BUILD_DIR={reuse}: not a configured CMake build")
            cache = cmake_cache(build_dir)
            if cache.get("SEALPKG_PYTHON", "ON").upper() in ("OFF", "0", "FALSE", "NO"):
                raise RuntimeError(f"SEALPKG_CMAKE_BUILD_DIR={reuse}: configured with "
                                   "SEALPKG_PYTHON=OFF (no _native module)")
            if os.path.realpath(cache.get("CMAKE_HOME_DIRECTORY", "")) != os.path.realpath(ROOT):
                raise RuntimeError(f"SEALPKG_CMAKE_BUILD_DIR={reuse}: configured from "
                                   f"{cache.get('CMAKE_HOME_DIRECTORY')}, not {ROOT}")
            return build_dir
        # A fresh Release build without tests, for the interpreter running this install.
        build_dir = os.path.join(PIP_BUILD, "cmake")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        # Release at -O2, the level every test runs at (RelWithDebInfo): GCC 12's -O3 raises a
        # false -Werror=restrict on `"x" + std::string` (GCC bug 105329), and -Werror is on.
        run(["cmake", "-S", ROOT, "-B", build_dir, *generator, "-DCMAKE_BUILD_TYPE=Release",
             "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG", "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG",
             "-DSEALPKG_PYTHON=ON", "-DSEALPKG_TESTS=OFF",
             f"-DPython_EXECUTABLE={sys.executable}",
             *shlex.split(os.environ.get("SEALPKG_CMAKE_ARGS", ""))])
        return build_dir


class InstallCli(Command):
    """Installs the CMake-built `sealpkg` executable as a script (the environment's bin/)."""

    description = "install the sealpkg CLI executable"
    user_options = []

    def initialize_options(self) -> None:
        self.install_dir = None

    def finalize_options(self) -> None:
        self.set_undefined_options("install", ("install_scripts", "install_dir"))

    def run(self) -> None:
        self.run_command("build_ext")
        source = getattr(self.distribution, "sealpkg_cli", None)
        if source is None or not os.path.isfile(source):
            raise RuntimeError(f"the sealpkg CLI was not built ({source})")
        self.mkpath(self.install_dir)
        target = os.path.join(self.install_dir, "sealpkg")
        self.copy_file(source, target)
        os.chmod(target, 0o755)
        self.outputs = [target]

    def get_outputs(self):
        return getattr(self, "outputs", [])


class Install(install):
    sub_commands = install.sub_commands + [("install_cli", lambda self: True)]


setup(
    version=project_version(),
    package_dir={"": "python"},
    packages=["sealpkg"],
    package_data={"sealpkg": ["py.typed"]},
    ext_modules=[Extension("sealpkg._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild, "install": Install, "install_cli": InstallCli},
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
    zip_safe=False,
)
