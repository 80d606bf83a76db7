"""Load an untrusted package in a kernel-confined worker process; get back data and tensors.

    box = sealpkg.sandbox.open("model.pt", policy="builtin:torchvision")
    weights = box.state_dict("model", "model.pkl")     # plain dict of tensors, zero copy
    config = box.load_pickle("model", "config.pkl")    # plain data only

    with sealpkg.sandbox.open("model.pt", trust=store, preload=["torchvision"]) as box:
        model = box.load("model", "model.pkl")         # stays in the worker: a RemoteObject
        y = model.forward(x)                           # or model.call("forward", x)
        print(model.type_name, model.methods)

The package is read once into sealed memory and verified **in this process** with
:func:`sealpkg.verify` (``policy`` decides what may reach the worker at all; ``trust=`` a trust
store directory or :class:`sealpkg.TrustStore`, and/or ``require_signature=True``, check its
signature over the same bytes first). Work then runs in ``sealpkg-worker`` processes: their own
uid, namespaces, Landlock, rlimits and a seccomp allow-list (see :func:`policy_table`), with
sealpkg's own :class:`sealpkg.PackageImporter` doing the real import and unpickling. Only a
strict binary schema crosses (None, bool, int, float, str, bytes, list, tuple, dict with str
keys, CPU tensors of allow-listed dtypes); tensors travel in sealed memfds mapped copy-on-write,
so they cost no copy, in both directions.

Which worker serves what:

* :meth:`SandboxedPackage.load_pickle` / :meth:`SandboxedPackage.state_dict`: one fresh worker
  each (nothing one load does can influence the next).
* :meth:`SandboxedPackage.load` / :meth:`SandboxedPackage.call`: one *session* worker per
  ``SandboxedPackage``, started on first use, kept alive for every ``load``/``call`` until
  :meth:`SandboxedPackage.close` (or the end of a ``with`` block). Objects stay in the worker
  under an int handle; calls run under ``torch.no_grad()`` unless ``no_grad=False``. A call that
  raises gives ``SandboxError(kind="worker-error")`` and the session stays usable; if the worker
  dies, every later call raises the same classified error.
* ``mode="forkserver"`` (or ``fork_server=ForkServer(...)``): workers are forked from one
  pre-warmed server per process and configuration instead of exec'd (:class:`ForkServer`).

How a worker ended is reported as :class:`SandboxError` with ``kind`` ("seccomp-kill",
"cpu-limit", "memory-limit", "timeout", "crash", "abort", "killed", "exited", "protocol-error",
"degraded", "worker-error") and the layer in its message.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import threading
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native
from .errors import SealpkgError

__all__ = ["open", "SandboxedPackage", "SandboxError", "RemoteObject", "ForkServer",
           "close_shared_fork_servers",
           "policy_table", "worker_path"]

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


class _Options:
    """Worker configuration shared by exec'd workers, sessions and fork servers."""

    def __init__(self, *, preload: Sequence[str], threads: int, limits: Optional[Dict[str, int]],
                 require_full_isolation: bool, unsafe_allow_exec_memory: bool, diagnose: bool,
                 torch: bool, unsafe_test_pretend_no_seccomp: bool) -> None:
        self.preload = list(preload)
        self.threads = threads
        self.limits = dict(limits or {})
        self.require_full_isolation = require_full_isolation
        self.unsafe_allow_exec_memory = unsafe_allow_exec_memory
        self.diagnose = diagnose
        self.torch = torch
        self.unsafe_test_pretend_no_seccomp = unsafe_test_pretend_no_seccomp

    def key(self) -> Any:
        return (tuple(self.preload), self.threads, tuple(sorted(self.limits.items())),
                self.require_full_isolation, self.unsafe_allow_exec_memory, self.diagnose,
                self.torch, self.unsafe_test_pretend_no_seccomp)

    def args(self) -> List[Any]:
        return [worker_path(), os.path.dirname(_PACKAGE_DIR), self.preload, self.threads,
                self.require_full_isolation, self.unsafe_allow_exec_memory, self.diagnose,
                not self.torch, self.unsafe_test_pretend_no_seccomp, self.limits]


class ForkServer:
    """One pre-warmed ``sealpkg-worker forkserver``: every session is a forked, locked-down child.

    The server is exec'd once with uid, namespaces, rlimits and Landlock in place, imports and
    warms torch with one thread and compiles the seccomp policy once; each child installs that
    filter right after fork and then behaves exactly like an exec'd worker. The server dies with
    this process (PDEATHSIG on the thread that started it), and ``close()`` shuts it down once
    its open sessions are closed. ``recycle_after=N`` re-execs the server after N forks (fresh
    address-space layout). Worker options (``preload``, ``threads``, ``limits``, ``torch``...)
    are the server's and apply to every child.

        with sealpkg.sandbox.ForkServer(preload=["torchvision"]) as server:
            for path in paths:
                sd = server.open(path, policy="builtin:torchvision").state_dict("model", "m.pkl")
    """

    def __init__(self, *, preload: Sequence[str] = (), threads: int = 1,
                 limits: Optional[Dict[str, int]] = None, require_full_isolation: bool = False,
                 unsafe_allow_exec_memory: bool = False, diagnose: bool = False,
                 torch: bool = True, recycle_after: int = 0,
                 unsafe_test_pretend_no_seccomp: bool = False) -> None:
        self._options = _Options(preload=preload, threads=threads, limits=limits,
                                 require_full_isolation=require_full_isolation,
                                 unsafe_allow_exec_memory=unsafe_allow_exec_memory,
                                 diagnose=diagnose, torch=torch,
                                 unsafe_test_pretend_no_seccomp=unsafe_test_pretend_no_seccomp)
        self._native = _native.sandbox.ForkServer(*self._options.args(), recycle_after)
        outcome = self._native.start(_make_tensor)
        if outcome["kind"] != "ok":
            raise SandboxError(outcome)
        self.isolation: Dict[str, Any] = outcome["isolation"]

    def open(self, path: Union[str, "os.PathLike[str]"], **kwargs: Any) -> "SandboxedPackage":
        """:func:`open` with this server's workers (verification options only)."""
        return open(path, fork_server=self, **kwargs)

    @property
    def pid(self) -> int:
        return int(self._native.pid)

    @property
    def forks(self) -> int:
        return int(self._native.forks)

    @property
    def restarts(self) -> int:
        return int(self._native.restarts)

    @property
    def alive(self) -> bool:
        return bool(self._native.alive)

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_shared_servers: Dict[Any, ForkServer] = {}
_shared_lock = threading.Lock()


def _shared_fork_server(options: _Options) -> ForkServer:
    """The process-wide fork server for this configuration (``mode="forkserver"``)."""
    with _shared_lock:
        server = _shared_servers.get(options.key())
        if server is None or not server.alive:
            o = options
            server = ForkServer(preload=o.preload, threads=o.threads, limits=o.limits,
                                require_full_isolation=o.require_full_isolation,
                                unsafe_allow_exec_memory=o.unsafe_allow_exec_memory,
                                diagnose=o.diagnose, torch=o.torch,
                                unsafe_test_pretend_no_seccomp=o.unsafe_test_pretend_no_seccomp)
            _shared_servers[options.key()] = server
        return server


def close_shared_fork_servers() -> None:
    """Close the process-wide fork servers that ``mode="forkserver"`` started (also at exit)."""
    with _shared_lock:
        servers = list(_shared_servers.values())
        _shared_servers.clear()
    for server in servers:
        server.close()


atexit.register(close_shared_fork_servers)


class RemoteObject:
    """An object that lives in the sandbox worker; only its public methods can be called.

    ``obj.forward(x)`` is ``obj.call("forward", x)``; arguments and results cross as plain data
    and tensors. ``type_name`` is the (demangled) qualified type name, ``methods`` the public
    callables the worker listed at load time."""

    def __init__(self, box: "SandboxedPackage", handle: int, type_name: str,
                 methods: Sequence[str]) -> None:
        self._box = box
        self.handle = handle
        self.type_name = type_name
        self.methods = list(methods)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._box.call(self.handle, method, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.__dict__.get("methods", ()):
            raise AttributeError(f"{self.__dict__.get('type_name', 'remote object')} in the "
                                 f"sandbox has no public method {name!r}")
        return functools.partial(self.call, name)

    def release(self) -> None:
        """Drop the worker's reference to the object."""
        self._box._request({"op": "release", "handle": self.handle})

    def __repr__(self) -> str:
        return f"<RemoteObject {self.type_name} handle={self.handle}>"


class SandboxedPackage:
    """A verified package whose loads run in sandboxed workers (see the module docs)."""

    def __init__(self, data: bytes, *, name: str, options: _Options, no_grad: bool = True,
                 fork_server: Optional[ForkServer] = None) -> None:
        self.name = name
        self._sealed = _native.sandbox.SealedBytes(data)
        self._options = options
        self._no_grad = no_grad
        self._fork_server = fork_server
        self._session: Any = None
        self._lock = threading.RLock()
        self.last_outcome: Optional[Dict[str, Any]] = None

    # -- one worker per load ----------------------------------------------------------------------

    def _run(self, op: str, package: str, resource: str) -> Any:
        request = {"op": op, "package": package, "resource": resource}
        if self._fork_server is None:
            o = self._options
            outcome = _native.sandbox.run_load(
                worker_path(), os.path.dirname(_PACKAGE_DIR), o.preload, o.threads,
                o.require_full_isolation, o.unsafe_allow_exec_memory, o.diagnose, not o.torch,
                o.unsafe_test_pretend_no_seccomp, o.limits, self._sealed, op, package, resource,
                _make_tensor)
        else:
            session = self._new_session()
            outcome = session.start(self._sealed, self._fork_server._native, _make_tensor)
            if outcome["kind"] == "ok":
                outcome = session.request(request, _make_tensor)
                if outcome["kind"] in ("ok", "worker-error", "memory-limit"):
                    closed = session.close(_make_tensor)
                    if closed["kind"] != "ok":
                        outcome = closed
        self.last_outcome = outcome
        if outcome["kind"] != "ok":
            raise SandboxError(outcome)
        return outcome["value"]

    def load_pickle(self, package: str, resource: str) -> Any:
        """Unpickle ``package/resource`` in a fresh worker; only plain data and tensors return."""
        return self._run("load_pickle", package, resource)

    def state_dict(self, package: str, resource: str) -> Dict[str, Any]:
        """Unpickle a module in a fresh worker and return its ``state_dict()`` (an OrderedDict)."""
        from collections import OrderedDict

        return OrderedDict(self._run("state_dict", package, resource))

    # -- the session worker (RPC) -----------------------------------------------------------------

    def _new_session(self) -> Any:
        o = self._options if self._fork_server is None else self._fork_server._options
        return _native.sandbox.Session(*o.args())

    def _request(self, request: Dict[str, Any]) -> Any:
        with self._lock:
            if self._session is None:
                session = self._new_session()
                server = None if self._fork_server is None else self._fork_server._native
                outcome = session.start(self._sealed, server, _make_tensor)
                self.last_outcome = outcome
                if outcome["kind"] != "ok":
                    raise SandboxError(outcome)
                self._session = session
            outcome = self._session.request(request, _make_tensor)
            self.last_outcome = outcome
            if outcome["kind"] != "ok":
                raise SandboxError(outcome)
            return outcome["value"]

    def load(self, package: str, resource: str) -> RemoteObject:
        """Unpickle ``package/resource`` in the session worker and keep it there."""
        reply = self._request({"op": "load", "package": package, "resource": resource})
        return RemoteObject(self, int(reply["handle"]), str(reply["type"]), reply["methods"])

    def call(self, handle: Union[int, RemoteObject], method: str, *args: Any,
             **kwargs: Any) -> Any:
        """Call public ``method`` of a loaded object with plain-data/tensor arguments."""
        if isinstance(handle, RemoteObject):
            handle = handle.handle
        if not isinstance(method, str) or method.startswith("_"):
            raise AttributeError(f"method {method!r} refused: only public methods can be called")
        return self._request({"op": "call", "handle": handle, "method": method,
                              "args": list(args), "kwargs": dict(kwargs),
                              "no_grad": self._no_grad})

    @property
    def pid(self) -> Optional[int]:
        """The session worker's pid (None before the first ``load``/``call``)."""
        return None if self._session is None else int(self._session.pid)

    def close(self) -> None:
        """End the session worker (it exits; the outcome is in ``last_outcome``)."""
        with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                self.last_outcome = session.close(_make_tensor)

    def __enter__(self) -> "SandboxedPackage":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def isolation(self) -> Optional[Dict[str, Any]]:
        """The layers the last worker reported active (uid, namespaces, Landlock, seccomp...)."""
        return None if self.last_outcome is None else self.last_outcome["isolation"]


def _verify_in_parent(data: bytes, path: str, policy: Optional[str], trust: Any,
                      require_signature: bool, unsafe_skip_verification: bool) -> List[str]:
    """Raises unless the package may reach a worker; returns its policy-allowed externs."""
    from .package_importer import PackageRejectedError

    if trust is not None or require_signature:
        from .verify import _call_trusted

        trust_dir = getattr(trust, "directory", trust)
        result = _call_trusted(data, name=path, policy=policy, trust=trust_dir, signature=None,
                               unsafe_unsigned_policy=False, require_signature=True)
        report = result["report"]
        if result["accepted"]:
            return list(report.externs) if report is not None else []
        if report is not None and result["failed_check"] == "static":
            detail = report.to_text()
        else:
            error = result["error"] or {}
            where = f" entry {error.get('entry')!r}" if error.get("entry") else ""
            detail = (f"{result['failed_check']} check failed: [{error.get('reason')}]{where}: "
                      f"{error.get('message')}\n")
        raise PackageRejectedError(
            f"{path} rejected ({result['failed_check']} check); nothing reached the sandbox:\n"
            + detail, report)
    if policy is None:
        if not unsafe_skip_verification:
            raise TypeError("sandbox.open() needs policy= (or trust=, or "
                            "unsafe_skip_verification=True)")
        return []
    from .verify import verify

    report = verify(data, policy=policy, name=path)
    if not report.accepted:
        raise PackageRejectedError(f"{path} rejected by {policy}; nothing reached the sandbox",
                                   report)
    return list(report.externs)


def open(  # noqa: A001 - the API name from the design
    path: Union[str, "os.PathLike[str]"],
    *,
    policy: Optional[str] = "builtin:torchvision",
    trust: Any = None,
    require_signature: bool = False,
    limits: Optional[Dict[str, int]] = None,
    preload: Sequence[str] = (),
    threads: int = 1,
    require_full_isolation: bool = False,
    unsafe_skip_verification: bool = False,
    unsafe_allow_exec_memory: bool = False,
    diagnose: bool = False,
    torch: bool = True,
    no_grad: bool = True,
    mode: str = "exec",
    fork_server: Optional[ForkServer] = None,
    unsafe_test_pretend_no_seccomp: bool = False,
) -> SandboxedPackage:
    """Read ``path`` once, verify it here, and return a sandboxed handle.

    ``policy``: what the static verifier must accept (``None`` needs ``trust=`` or
    ``unsafe_skip_verification=True``). ``trust``: a trust store directory or
    :class:`sealpkg.TrustStore`; with it (or ``require_signature=True``, default store) the
    package signature, its statement and the policy are checked before anything starts.
    ``limits``: SandboxLimits fields (``wall_time_ms`` -- per start and per request in a
    session --, ``cpu_seconds``, ``address_space_bytes``, ``file_size_bytes``, ``open_files``,
    ``max_output_bytes``, ``max_tensor_bytes``, ``max_message_bytes``). ``preload``: extra
    modules imported before lockdown (nothing can be imported from disk after it); the
    package's own externs (``.data/extern_modules``, each allowed by the policy) are imported
    too when this machine has them.
    ``no_grad``: calls run under ``torch.no_grad()``. ``mode``: ``"exec"`` (a worker exec'd per
    load or session) or ``"forkserver"`` (forked from this process's shared :class:`ForkServer`
    for these worker options); ``fork_server=`` uses a given server (its worker options win).
    ``unsafe_test_pretend_no_seccomp``: tests only, the worker behaves as if the kernel had no
    seccomp (degraded mode).
    """
    with _builtin_open(os.fspath(path), "rb") as f:
        data = f.read()
    externs = _verify_in_parent(data, os.fspath(path), policy, trust, require_signature,
                                unsafe_skip_verification)
    # The package's externs, each allowed by the policy, are host modules the worker imports
    # before lockdown (nothing can be imported after it); "?": optional, a module this machine
    # lacks stays missing, as in-process. A fork server is shared per worker options, so a
    # fork_server= given by the caller keeps its own preload list.
    wanted = list(preload) + [f"?{m}" for m in externs if m not in preload]
    options = _Options(preload=wanted, threads=threads, limits=limits,
                       require_full_isolation=require_full_isolation,
                       unsafe_allow_exec_memory=unsafe_allow_exec_memory, diagnose=diagnose,
                       torch=torch, unsafe_test_pretend_no_seccomp=unsafe_test_pretend_no_seccomp)
    if mode not in ("exec", "forkserver"):
        raise ValueError(f"mode must be 'exec' or 'forkserver', not {mode!r}")
    if fork_server is None and mode == "forkserver":
        fork_server = _shared_fork_server(options)
    return SandboxedPackage(data, name=os.fspath(path), options=options, no_grad=no_grad,
                            fork_server=fork_server)


import builtins as _builtins  # noqa: E402

_builtin_open = _builtins.open
