"""Load an untrusted package in a kernel-confined worker process; get back data and tensors.

    box = sealpkg.sandbox.open("model.pt", policy="builtin:torchvision")
    weights = box.state_dict("model", "model.pkl")     # plain dict of tensors, zero copy
    config = box.load_pickle("model", "config.pkl")    # plain data only

The package is read once into sealed memory and verified **in this process** with
:func:`sealpkg.verify` (``policy`` decides what may reach the worker at all). Each load then runs
in a fresh ``sealpkg-worker``: its own uid, namespaces, Landlock, rlimits and a seccomp
allow-list (see :func:`policy_table`), with sealpkg's own :class:`sealpkg.PackageImporter`
doing the real import and unpickling. Only a strict binary schema comes back (None, bool, int,
float, str, bytes, list, tuple, dict with str keys, CPU tensors of allow-listed dtypes); tensors
arrive in one sealed memfd mapped copy-on-write, so they cost no copy. Objects such as
``nn.Module`` cannot cross: use :meth:`SandboxedPackage.state_dict`.

How the worker ended is reported as :class:`SandboxError` with ``kind`` ("seccomp-kill",
"cpu-limit", "memory-limit", "timeout", "crash", "abort", "killed", "exited", "protocol-error",
"degraded", "worker-error") and the layer in its message.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from .errors import SealpkgError

__all__ = ["open", "SandboxedPackage", "SandboxError", "policy_table", "worker_path"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class SandboxError(SealpkgError):
    """The sandboxed load did not produce a result. ``kind`` says how the worker ended."""

    def __init__(self, outcome: Dict[str, Any]) -> None:
        self.kind: str = outcome["kind"]
        self.outcome = outcome
        text = outcome["message"]
        if outcome.get("error_type"):
            text += f": {outcome['error_type']}: {outcome['error_message']}"
        super().__init__(text, code="sandbox", reason=f"sandbox.{self.kind}")


def worker_path() -> str:
    """The ``sealpkg-worker`` executable: next to this module, else on PATH."""
    here = os.path.join(_PACKAGE_DIR, "sealpkg-worker")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("sealpkg-worker")
    if found is None:
        raise FileNotFoundError("sealpkg-worker not found next to sealpkg or on PATH")
    return found


def policy_table(*, unsafe_allow_exec_memory: bool = False) -> str:
    """The worker's seccomp policy, one rule a line (for review)."""
    return str(_native.sandbox.policy_table(unsafe_allow_exec_memory))


_DTYPES = {
    "float32": "float32", "float64": "float64", "float16": "float16", "bfloat16": "bfloat16",
    "int8": "int8", "uint8": "uint8", "int16": "int16", "int32": "int32", "int64": "int64",
    "bool": "bool",
}


def _make_tensor(arenas: List[Any], dtype: str, shape: List[int], strides: List[int],
                 storage_offset: int, fd_index: int, byte_offset: int, nbytes: int) -> Any:
    import torch

    tdtype = getattr(torch, _DTYPES[dtype])
    item = torch.empty((), dtype=tdtype).element_size()
    arena = arenas[fd_index]
    if nbytes == 0 or arena.size == 0:
        storage = torch.empty(0, dtype=tdtype)
    else:
        # The C++ side checked bounds, seals and alignment; this is a view, not a copy.
        raw = torch.frombuffer(arena, dtype=torch.uint8, count=nbytes, offset=byte_offset)
        storage = raw.view(tdtype)
    return storage.as_strided(shape, strides, storage_offset) if nbytes else \
        torch.empty(shape, dtype=tdtype)


class SandboxedPackage:
    """A verified package whose loads each run in a fresh sandboxed worker."""

    def __init__(self, data: bytes, *, name: str, preload: Sequence[str], threads: int,
                 limits: Dict[str, int], require_full_isolation: bool,
                 unsafe_allow_exec_memory: bool, diagnose: bool, torch: bool) -> None:
        self.name = name
        self._sealed = _native.sandbox.SealedBytes(data)
        self._preload = list(preload)
        self._threads = threads
        self._limits = dict(limits)
        self._require_full = require_full_isolation
        self._exec_memory = unsafe_allow_exec_memory
        self._diagnose = diagnose
        self._torch = torch
        self.last_outcome: Optional[Dict[str, Any]] = None

    def _run(self, op: str, package: str, resource: str) -> Any:
        outcome = _native.sandbox.run_load(
            worker_path(), os.path.dirname(_PACKAGE_DIR), self._preload, self._threads,
            self._require_full, self._exec_memory, self._diagnose, not self._torch,
            self._limits, self._sealed, op, package, resource, _make_tensor)
        self.last_outcome = outcome
        if outcome["kind"] != "ok":
            raise SandboxError(outcome)
        return outcome["value"]

    def load_pickle(self, package: str, resource: str) -> Any:
        """Unpickle ``package/resource`` in the sandbox; only plain data and tensors return."""
        return self._run("load_pickle", package, resource)

    def state_dict(self, package: str, resource: str) -> Dict[str, Any]:
        """Unpickle a module in the sandbox and return its ``state_dict()`` (an OrderedDict)."""
        from collections import OrderedDict

        return OrderedDict(self._run("state_dict", package, resource))

    @property
    def isolation(self) -> Optional[Dict[str, Any]]:
        """The layers the last worker reported active (uid, namespaces, Landlock, seccomp...)."""
        return None if self.last_outcome is None else self.last_outcome["isolation"]


def open(  # noqa: A001 - the API name from the design
    path: Union[str, "os.PathLike[str]"],
    *,
    policy: Optional[str] = "builtin:torchvision",
    limits: Optional[Dict[str, int]] = None,
    preload: Sequence[str] = (),
    threads: int = 1,
    require_full_isolation: bool = False,
    unsafe_skip_verification: bool = False,
    unsafe_allow_exec_memory: bool = False,
    diagnose: bool = False,
    torch: bool = True,
) -> SandboxedPackage:
    """Read ``path`` once, verify it here against ``policy``, and return a sandboxed handle.

    ``limits``: SandboxLimits fields (``wall_time_ms``, ``cpu_seconds``,
    ``address_space_bytes``, ``file_size_bytes``, ``open_files``, ``max_output_bytes``,
    ``max_tensor_bytes``, ``max_message_bytes``). ``preload``: extra modules imported before
    lockdown (nothing can be imported from disk after it). ``policy=None`` needs
    ``unsafe_skip_verification=True``.
    """
    with _builtin_open(os.fspath(path), "rb") as f:
        data = f.read()
    if policy is None:
        if not unsafe_skip_verification:
            raise TypeError("sandbox.open() needs policy= (or unsafe_skip_verification=True)")
    else:
        from .verify import verify

        report = verify(data, policy=policy, name=os.fspath(path))
        if not report.accepted:
            from .package_importer import PackageRejectedError

            raise PackageRejectedError(
                f"{os.fspath(path)} rejected by {policy}; nothing reached the sandbox", report)
    return SandboxedPackage(data, name=os.fspath(path), preload=preload, threads=threads,
                            limits=limits or {}, require_full_isolation=require_full_isolation,
                            unsafe_allow_exec_memory=unsafe_allow_exec_memory, diagnose=diagnose,
                            torch=torch)


import builtins as _builtins  # noqa: E402

_builtin_open = _builtins.open
