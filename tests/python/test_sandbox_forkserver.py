"""Fork-server mode: one pre-warmed sealpkg-worker forks a locked-down child per load/session.
Loads give the exec-mode results from distinct children; a seccomp-killed or timed-out child is
classified from its raw wait status and the server survives it; fds and zombies stay flat over
many loads; the server recycles after N forks, dies with its parent, and serves RPC sessions."""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Set

import pytest
import torch
from torch.package import PackageExporter

import sealpkg.sandbox as sandbox

LIMITS = {"wall_time_ms": 30000, "cpu_seconds": 30}

SOURCE = '''
import os, time

def info():
    return {"pid": os.getpid(), "value": 7}

def tensors():
    import torch
    return {"pid": os.getpid(), "t": torch.arange(12).reshape(3, 4)}

def evil():
    import ctypes
    return ctypes.CDLL(None).system(b"/bin/true")

def nap():
    time.sleep(1000)

class Calc:
    def double(self, x):
        return x * 2

def calc():
    return Calc()
'''


def _package(tmp: Path) -> Path:
    path = tmp / "fs.pt"
    with PackageExporter(str(path)) as exp:
        exp.extern(["os", "time", "ctypes", "torch"])
        exp.save_source_string("fs", SOURCE)
        for name in ("info", "tensors", "evil", "nap", "calc"):
            # GLOBAL fs.<name>, EMPTY_TUPLE, REDUCE: calls it on load.
            exp.save_binary("r", f"{name}.pkl", b"\x80\x02cfs\n" + name.encode() + b"\n)R.")
    return path


def _children(pid: int) -> Set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(entry))
    return out


@pytest.fixture(scope="module", autouse=True)
def no_shared_servers_left() -> Iterator[None]:
    """mode="forkserver" servers are process-wide: later test files must not inherit them."""
    yield
    sandbox.close_shared_fork_servers()
    # A server lives until its last session is gone: sessions of boxes caught in reference
    # cycles (box <-> RemoteObject) go only when the collector runs.
    gc.collect()


@pytest.fixture(scope="module")
def torch_server() -> sandbox.ForkServer:
    server = sandbox.ForkServer(limits=LIMITS)
    yield server
    server.close()


def test_twenty_loads_from_distinct_children(tmp_path: Path,
                                             torch_server: sandbox.ForkServer) -> None:
    box = torch_server.open(_package(tmp_path), policy=None, unsafe_skip_verification=True)
    pids = set()
    for _ in range(20):
        out = box.load_pickle("r", "tensors.pkl")
        assert torch.equal(out["t"], torch.arange(12).reshape(3, 4))
        pids.add(out["pid"])
        assert box.last_outcome["kind"] == "ok"
        assert box.isolation["seccomp"] and box.isolation["uid_dropped"]
    assert len(pids) == 20
    assert torch_server.pid not in pids
    assert torch_server.alive and torch_server.forks >= 20


def test_a_seccomp_killed_child_does_not_kill_the_server(
        tmp_path: Path, torch_server: sandbox.ForkServer) -> None:
    box = torch_server.open(_package(tmp_path), policy=None, unsafe_skip_verification=True)
    server_pid = torch_server.pid
    with pytest.raises(sandbox.SandboxError) as info:
        box.load_pickle("r", "evil.pkl")
    assert info.value.kind == "seccomp-kill", str(info.value)
    assert info.value.outcome["signal"] == signal.SIGSYS
    assert torch_server.alive and torch_server.pid == server_pid
    assert box.load_pickle("r", "info.pkl")["value"] == 7


def test_a_stuck_child_is_killed_at_the_deadline(tmp_path: Path) -> None:
    with sandbox.ForkServer(torch=False, limits={"wall_time_ms": 3000, "cpu_seconds": 30}) as fs:
        box = fs.open(_package(tmp_path), policy=None, unsafe_skip_verification=True)
        with pytest.raises(sandbox.SandboxError) as info:
            box.load_pickle("r", "nap.pkl")
        assert info.value.kind == "timeout"
        assert info.value.outcome["signal"] == signal.SIGKILL
        assert fs.alive
        assert box.load_pickle("r", "info.pkl")["value"] == 7
        assert _children(fs.pid) == set()  # the killed child was reaped by the server


def test_fds_and_zombies_stay_flat_over_many_loads(tmp_path: Path) -> None:
    n = int(os.environ.get("SEALPKG_FORKSERVER_LOADS", "200"))
    with sandbox.ForkServer(torch=False, limits=LIMITS) as fs:
        box = fs.open(_package(tmp_path), policy=None, unsafe_skip_verification=True)
        box.load_pickle("r", "info.pkl")
        fds = len(os.listdir("/proc/self/fd"))
        ours = _children(os.getpid())
        pids = set()
        for _ in range(n):
            pids.add(box.load_pickle("r", "info.pkl")["pid"])
        assert len(pids) == n
        assert len(os.listdir("/proc/self/fd")) == fds
        assert _children(os.getpid()) == ours
        assert _children(fs.pid) == set()


def test_recycling_re_execs_the_server(tmp_path: Path) -> None:
    with sandbox.ForkServer(torch=False, limits=LIMITS, recycle_after=3) as fs:
        box = fs.open(_package(tmp_path), policy=None, unsafe_skip_verification=True)
        first = fs.pid
        for _ in range(3):
            box.load_pickle("r", "info.pkl")
        assert fs.pid == first and fs.restarts == 0
        box.load_pickle("r", "info.pkl")
        assert fs.restarts == 1 and fs.pid != first
        assert first not in _children(os.getpid())  # the old server exited and was reaped


def test_rpc_sessions_through_the_fork_server(tmp_path: Path,
                                              torch_server: sandbox.ForkServer) -> None:
    with torch_server.open(_package(tmp_path), policy=None,
                           unsafe_skip_verification=True) as box:
        calc = box.load("r", "calc.pkl")
        assert calc.type_name == "fs.Calc"
        assert torch.equal(calc.double(torch.ones(3)), torch.full((3,), 2.0))
        assert calc.double(4) == 8
        assert box.pid in _children(torch_server.pid)


def test_mode_forkserver_shares_one_server_per_configuration(tmp_path: Path) -> None:
    path = _package(tmp_path)
    a = sandbox.open(path, policy=None, unsafe_skip_verification=True, mode="forkserver",
                     torch=False, limits=LIMITS)
    b = sandbox.open(path, policy=None, unsafe_skip_verification=True, mode="forkserver",
                     torch=False, limits=LIMITS)
    assert a._fork_server is b._fork_server
    assert a.load_pickle("r", "info.pkl")["value"] == 7
    assert b.load_pickle("r", "info.pkl")["value"] == 7
    a._fork_server.close()


def test_the_server_dies_with_its_parent(tmp_path: Path) -> None:
    script = (
        "import os, sys, sealpkg.sandbox as s\n"
        "fs = s.ForkServer(torch=False)\n"
        "print(fs.pid, flush=True)\n"
        "os._exit(0)\n")
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    server = int(out.stdout.split()[0])
    # PDEATHSIG is asynchronous: wait (bounded) for the kernel to deliver it.
    def gone() -> bool:
        try:
            with open(f"/proc/{server}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # dead, awaiting init
        except OSError:
            return True

    for _ in range(200):
        if gone():
            break
        time.sleep(0.05)
    assert gone()


def test_degraded_hook_in_fork_server_children(tmp_path: Path) -> None:
    path = _package(tmp_path)
    with sandbox.ForkServer(torch=False, limits=LIMITS, require_full_isolation=True,
                            unsafe_test_pretend_no_seccomp=True) as fs:
        with pytest.raises(sandbox.SandboxError) as info:
            fs.open(path, policy=None, unsafe_skip_verification=True).load_pickle("r", "info.pkl")
        assert info.value.kind == "degraded"
        assert fs.alive
    with sandbox.ForkServer(torch=False, limits=LIMITS,
                            unsafe_test_pretend_no_seccomp=True) as fs:
        box = fs.open(path, policy=None, unsafe_skip_verification=True)
        assert box.load_pickle("r", "info.pkl")["value"] == 7
        assert box.isolation["seccomp"] is False
