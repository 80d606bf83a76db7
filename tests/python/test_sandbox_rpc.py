"""Sandbox sessions (RPC): objects stay in one locked-down worker and their public methods are
called with plain-data/tensor arguments that travel in sealed memfds. A stock-torch resnet18
runs forward in the sandbox with the in-process result; errors in a call keep the session; bad
handles, unknown and private methods are refused; a killed or seccomp-killed worker gives the
classified SandboxError and the parent survives; trust= checks the signature first."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Tuple

import pytest
import torch
import torchvision
from torch.package import PackageExporter, PackageImporter

import sealpkg
import sealpkg.sandbox as sandbox
from sealpkg.package_importer import PackageRejectedError

LIMITS = {"wall_time_ms": 60000, "cpu_seconds": 30}

CALC_SOURCE = '''
import os, time

class Calc:
    def __init__(self):
        self.scale = 2

    def double(self, t):
        return t * self.scale

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def fail(self):
        raise ValueError("boom from the package")

    def _secret(self):
        return "never"

    def evil(self):
        import ctypes
        # os.system through libc directly: fork/execve must be killed by seccomp.
        return ctypes.CDLL(None).system(b"/bin/true")

    def open_socket(self):
        import socket
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM).fileno()

    def nap(self, seconds):
        time.sleep(seconds)

    def grad_enabled(self):
        import torch
        return torch.is_grad_enabled()

def make():
    return Calc()
'''


def _calc_package(tmp: Path) -> Path:
    path = tmp / "calc.pt"
    with PackageExporter(str(path)) as exp:
        exp.extern(["os", "time", "ctypes", "socket", "torch"])
        exp.save_source_string("calc", CALC_SOURCE)
        # GLOBAL calc.make, EMPTY_TUPLE, REDUCE: a Calc instance.
        exp.save_binary("obj", "calc.pkl", b"\x80\x02ccalc\nmake\n)R.")
    return path


def _open_calc(tmp: Path, **kw: Any) -> sandbox.SandboxedPackage:
    return sandbox.open(_calc_package(tmp), policy=None, unsafe_skip_verification=True,
                        limits=kw.pop("limits", LIMITS), **kw)


@pytest.fixture(scope="module")
def resnet18_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rpc") / "resnet18.pt"
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    with PackageExporter(str(path)) as exp:
        exp.intern("torchvision.**", exclude=["torchvision.io.**", "torchvision.datasets.**",
                                               "torchvision.extension"])
        exp.extern(["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**",
                    "typing_extensions", "sys", "io", "torchvision.extension"])
        exp.mock(["torchvision.io.**", "torchvision.datasets.**"])
        exp.save_pickle("model", "model.pkl", model)
    return path


def test_resnet18_forward_in_the_sandbox_equals_in_process(resnet18_package: Path) -> None:
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with sandbox.open(resnet18_package, policy="builtin:torchvision", preload=["torchvision"],
                      limits={"wall_time_ms": 120000}) as box:
        model = box.load("model", "model.pkl")
        assert model.type_name == "torchvision.models.resnet.ResNet"
        assert "forward" in model.methods and "state_dict" in model.methods
        assert not any(m.startswith("_") for m in model.methods)
        y = model.forward(x)
        y2 = model.call("forward", x)
        y3 = box.call(model.handle, "forward", x)
        pid = box.pid
        assert pid is not None and box.pid == pid  # one worker served every call
    assert box.last_outcome is not None and box.last_outcome["kind"] == "ok"
    ref = PackageImporter(str(resnet18_package)).load_pickle("model", "model.pkl")
    threads = torch.get_num_threads()
    # The worker computes with one thread and torch's native kernels (oneDNN's JIT would need
    # executable memory, which the seccomp policy refuses).
    torch.set_num_threads(1)
    try:
        with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
            expected = ref(x)
    finally:
        torch.set_num_threads(threads)
    assert y.shape == (2, 1000) and y.dtype == torch.float32
    assert torch.equal(y, expected), (y - expected).abs().max()
    assert torch.equal(y2, y) and torch.equal(y3, y)


def test_a_call_that_raises_keeps_the_session(tmp_path: Path) -> None:
    with _open_calc(tmp_path) as box:
        calc = box.load("obj", "calc.pkl")
        assert calc.type_name == "calc.Calc"
        assert set(calc.methods) >= {"double", "echo", "fail", "evil", "nap"}
        assert "_secret" not in calc.methods
        with pytest.raises(sandbox.SandboxError) as info:
            calc.fail()
        assert info.value.kind == "worker-error"
        assert info.value.outcome["error_type"] == "ValueError"
        assert "boom from the package" in str(info.value)
        pid = box.pid
        assert torch.equal(calc.double(torch.tensor([1.5, 2.0])), torch.tensor([3.0, 4.0]))
        assert calc.double(21) == 42
        assert box.pid == pid


def test_bad_handle_unknown_and_private_methods_are_refused(tmp_path: Path) -> None:
    with _open_calc(tmp_path) as box:
        calc = box.load("obj", "calc.pkl")
        with pytest.raises(sandbox.SandboxError) as info:
            box.call(calc.handle + 1000, "double", 1)
        assert info.value.kind == "worker-error"
        assert info.value.outcome["error_type"] == "LookupError"
        with pytest.raises(sandbox.SandboxError) as info:
            box.call(calc.handle, "no_such_method")
        assert info.value.outcome["error_type"] == "AttributeError"
        with pytest.raises(AttributeError):
            calc.no_such_method  # noqa: B018 - refused locally from the method list
        # Private names: refused by the parent API and, for a raw request, by the worker too.
        with pytest.raises(AttributeError):
            box.call(calc.handle, "_secret")
        with pytest.raises(AttributeError):
            calc._secret  # noqa: B018
        with pytest.raises(sandbox.SandboxError) as info:
            box._request({"op": "call", "handle": calc.handle, "method": "_secret",
                          "args": [], "kwargs": {}})
        assert info.value.outcome["error_type"] == "AttributeError"
        assert "only public methods" in str(info.value)
        with pytest.raises(sandbox.SandboxError) as info:
            box._request({"op": "call", "handle": calc.handle, "method": "__reduce_ex__",
                          "args": [2], "kwargs": {}})
        assert info.value.outcome["error_type"] == "AttributeError"
        # A released handle is gone; the session is still fine.
        calc.release()
        with pytest.raises(sandbox.SandboxError) as info:
            calc.double(1)
        assert info.value.outcome["error_type"] == "LookupError"
        assert box.load("obj", "calc.pkl").double(2) == 4


def test_tensor_arguments_round_trip(tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    cases = {
        "non_contiguous": base.t(),
        "strided_view": base[1:, ::2],
        "zero_dim": torch.tensor(3.25, dtype=torch.float64),
        "empty": torch.empty(0, 5, dtype=torch.int32),
        "bool": torch.tensor([[True, False], [False, True]]),
        "bfloat16": torch.tensor([1.5, -2.25, 3.0], dtype=torch.bfloat16),
        "float16": torch.tensor([0.5, 1.0], dtype=torch.float16),
        "int8": torch.tensor([-128, 0, 127], dtype=torch.int8),
    }
    with _open_calc(tmp_path) as box:
        calc = box.load("obj", "calc.pkl")
        args, kwargs = calc.echo(*cases.values(), shared=base, same=base, n=3, s="x",
                                 nested={"t": [base[0]]})
        for (name, sent), got in zip(cases.items(), args):
            assert got.dtype == sent.dtype, name
            assert got.shape == sent.shape, name
            assert torch.equal(got, sent), name
            if sent.numel() > 0:
                assert got.stride() == sent.stride(), name
        assert torch.equal(kwargs["shared"], base) and kwargs["n"] == 3 and kwargs["s"] == "x"
        assert torch.equal(kwargs["nested"]["t"][0], base[0])
        # Results are copy-on-write views: writing to them changes nothing in the sandbox.
        out = calc.double(base)
        out.zero_()
        assert torch.equal(calc.double(base), base * 2)
        # Gradients are off by default inside calls.
        assert calc.grad_enabled() is False
    with _open_calc(tmp_path, no_grad=False) as box:
        assert box.load("obj", "calc.pkl").grad_enabled() is True


def test_unsupported_arguments_are_refused_in_the_parent(tmp_path: Path) -> None:
    with _open_calc(tmp_path) as box:
        calc = box.load("obj", "calc.pkl")
        with pytest.raises(TypeError):
            calc.echo(object())
        with pytest.raises(TypeError):
            calc.echo(torch.tensor([1 + 2j]))
        assert calc.double(1) == 2  # the session was never involved


def test_call_on_a_killed_worker_is_classified(tmp_path: Path) -> None:
    box = _open_calc(tmp_path)
    calc = box.load("obj", "calc.pkl")
    pid = box.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(sandbox.SandboxError) as info:
        calc.double(1)
    assert info.value.kind == "killed", str(info.value)
    assert info.value.outcome["signal"] == signal.SIGKILL
    with pytest.raises(sandbox.SandboxError) as again:
        calc.double(1)
    assert again.value.kind == "killed"
    box.close()
    assert box.last_outcome["kind"] == "killed"


def test_hostile_method_over_rpc_is_seccomp_killed(tmp_path: Path) -> None:
    box = _open_calc(tmp_path)
    marker_fds = len(os.listdir("/proc/self/fd"))
    calc = box.load("obj", "calc.pkl")
    assert calc.double(2) == 4
    with pytest.raises(sandbox.SandboxError) as info:
        calc.evil()
    assert info.value.kind == "seccomp-kill", str(info.value)
    assert info.value.outcome["signal"] == signal.SIGSYS
    assert "seccomp" in str(info.value)
    with pytest.raises(sandbox.SandboxError) as again:
        calc.double(2)
    assert again.value.kind == "seccomp-kill"
    box.close()
    assert len(os.listdir("/proc/self/fd")) == marker_fds


def test_diagnose_mode_names_the_blocked_syscall(tmp_path: Path) -> None:
    box = _open_calc(tmp_path, diagnose=True)
    calc = box.load("obj", "calc.pkl")
    with pytest.raises(sandbox.SandboxError) as info:
        calc.open_socket()
    err = info.value
    # The verdict is still the wait status (SIGSYS); the number the worker's SIGSYS handler
    # wrote is resolved to a name in the parent (libseccomp).
    assert err.kind == "seccomp-kill" and err.outcome["signal"] == signal.SIGSYS
    assert "seccomp: blocked syscall socket (41, diagnose mode)" in str(err), str(err)
    box.close()
    # system() blocks every signal before it clones: the kernel then kills without running the
    # handler, and the report falls back to the plain SIGSYS verdict.
    box = _open_calc(tmp_path, diagnose=True)
    with pytest.raises(sandbox.SandboxError) as info:
        box.load("obj", "calc.pkl").evil()
    assert info.value.kind == "seccomp-kill"
    box.close()


def test_request_deadline_kills_a_stuck_call(tmp_path: Path) -> None:
    box = _open_calc(tmp_path, limits={"wall_time_ms": 5000, "cpu_seconds": 30}, torch=False)
    calc = box.load("obj", "calc.pkl")
    calc.nap(0.01)
    with pytest.raises(sandbox.SandboxError) as info:
        calc.nap(1000)
    assert info.value.kind == "timeout"
    box.close()


def test_one_shot_loads_still_work_beside_a_session(tmp_path: Path) -> None:
    path = tmp_path / "data.pt"
    with PackageExporter(str(path)) as exp:
        exp.save_pickle("d", "d.pkl", {"t": torch.arange(6), "s": "x"})
    with sandbox.open(path, policy="builtin:torchvision") as box:
        first = box.load_pickle("d", "d.pkl")
        assert torch.equal(first["t"], torch.arange(6)) and first["s"] == "x"
        assert box.pid is None  # one-shot loads use their own fresh workers
        assert box.isolation is not None and box.isolation["seccomp"]


@pytest.fixture()
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tuple[Path, Path, Path]:
    monkeypatch.setenv("SEALPKG_HOME", str(tmp_path / "default-home"))
    root = sealpkg.keygen(tmp_path / "root")
    signer = sealpkg.keygen(tmp_path / "signer")
    store = sealpkg.TrustStore.init(tmp_path / "trust", root_keys=[root])
    store.add(signer.public_key, role="package-signer", root_keys=[root])
    pkg = tmp_path / "signed.pt"
    with sealpkg.PackageExporter(str(pkg), signing_key=signer) as e:
        e.save_pickle("d", "d.pkl", {"t": torch.arange(4), "name": "signed-value"})
    unsigned = tmp_path / "unsigned.pt"
    with sealpkg.PackageExporter(str(unsigned)) as e:
        e.save_pickle("d", "d.pkl", {"t": torch.arange(4), "name": "unsigned"})
    return pkg, unsigned, tmp_path / "trust"


def test_trust_checks_the_signature_before_the_worker(signed: Tuple[Path, Path, Path]) -> None:
    pkg, unsigned, trust = signed
    box = sandbox.open(pkg, trust=str(trust))
    assert box.load_pickle("d", "d.pkl")["name"] == "signed-value"
    box = sandbox.open(pkg, trust=sealpkg.TrustStore(trust), policy="builtin:torchvision")
    assert torch.equal(box.load_pickle("d", "d.pkl")["t"], torch.arange(4))
    with pytest.raises(PackageRejectedError) as info:
        sandbox.open(unsigned, trust=str(trust))
    assert "signature.missing" in str(info.value)
    data = bytearray(pkg.read_bytes())
    at = data.index(b"signed-value")
    data[at] ^= 0x20
    bad = pkg.parent / "tampered.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(PackageRejectedError) as info:
        sandbox.open(bad, trust=str(trust))
    assert "signature" in str(info.value)
    # require_signature with the default (empty) trust store fails closed.
    with pytest.raises(sealpkg.SealpkgError):
        sandbox.open(pkg, require_signature=True)


def _data_package(tmp: Path) -> Path:
    path = tmp / "plain.pt"
    with PackageExporter(str(path)) as exp:
        exp.save_pickle("d", "d.pkl", {"t": torch.arange(3), "s": "plain"})
    return path


def test_degraded_mode_hook_refuses_or_reports(tmp_path: Path) -> None:
    """Reference test 38: a worker told to behave as if seccomp were unavailable (test hook with
    an explicit unsafe token) is refused under require_full_isolation and reported otherwise."""
    path = _data_package(tmp_path)
    strict = sandbox.open(path, policy="builtin:torchvision", require_full_isolation=True,
                          unsafe_test_pretend_no_seccomp=True)
    with pytest.raises(sandbox.SandboxError) as info:
        strict.load_pickle("d", "d.pkl")
    assert info.value.kind == "degraded"
    assert "seccomp:          MISSING" in str(info.value)
    with pytest.raises(sandbox.SandboxError) as info:
        strict.load("d", "d.pkl")  # a session is refused the same way
    assert info.value.kind == "degraded"

    lenient = sandbox.open(path, policy="builtin:torchvision",
                           unsafe_test_pretend_no_seccomp=True)
    assert lenient.load_pickle("d", "d.pkl")["s"] == "plain"
    layers = lenient.isolation
    assert layers is not None and layers["seccomp"] is False
    assert any("pretend" in note for note in layers["notes"])
    assert layers["rlimits"] and layers["uid_dropped"]  # the other layers are still there
    # Without the hook the same package gets the full sandbox.
    normal = sandbox.open(path, policy="builtin:torchvision", require_full_isolation=True)
    assert normal.load_pickle("d", "d.pkl")["s"] == "plain"
    assert normal.isolation["seccomp"] is True
