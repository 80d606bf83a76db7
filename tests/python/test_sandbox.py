"""sealpkg.sandbox end to end: every hostile sandboxee in tests/sandboxees/ runs in its own real
worker and the parent survives with the specific classified outcome; a stock torch.package
resnet18 loads in the sandbox with outputs equal to in-process loading; no fd growth."""
from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import torch
import torchvision
from torch.package import PackageExporter, PackageImporter

import sealpkg
import sealpkg.sandbox as sandbox

ROOT = Path(__file__).resolve().parents[2]
SANDBOXEES = ROOT / "tests" / "sandboxees"
# Short limits so that the resource cases end quickly.
LIMITS = {"wall_time_ms": 30000, "cpu_seconds": 5}


def _expectation(path: Path) -> Tuple[str, str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), path
    parts = first[len("# expect: "):].split()
    return parts[0], parts[1] if len(parts) > 1 else ""


def _hostile_package(tmp: Path, name: str, source: str) -> Path:
    """A stock torch.package archive whose pickle calls evil.hit() when loaded."""
    path = tmp / f"{name}.pt"
    with PackageExporter(str(path)) as exp:
        exp.extern(["os", "socket", "subprocess", "ctypes", "threading", "time"])
        exp.save_source_string("evil", source)
        # GLOBAL evil.hit, EMPTY_TUPLE, REDUCE: evil is imported (and hit called) only on load.
        exp.save_binary("res", "obj.pkl", b"\x80\x02cevil\nhit\n)R.")
    return path


def _reduce_package(tmp: Path) -> Path:
    """A __reduce__ payload: the pickle itself calls os.system (no packaged code at all)."""
    path = tmp / "reduce.pt"
    with PackageExporter(str(path)) as exp:
        exp.extern(["os"])
        exp.save_source_string("uses_os", "import os\n")
        exp.save_binary("res", "obj.pkl", b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.")
    return path


def _open_unverified(path: Path, **kw: Any) -> sandbox.SandboxedPackage:
    return sandbox.open(path, policy=None, unsafe_skip_verification=True,
                        limits=kw.pop("limits", LIMITS), **kw)


CASES = sorted(p for p in SANDBOXEES.glob("*.py"))


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_hostile_sandboxee_is_contained(tmp_path: Path, case: Path) -> None:
    kind, detail = _expectation(case)
    limits = dict(LIMITS)
    if kind == "timeout":
        limits = {"wall_time_ms": 4000, "cpu_seconds": 60}
    box = _open_unverified(_hostile_package(tmp_path, case.stem, case.read_text()), limits=limits)
    if kind == "ok":
        assert box.load_pickle("res", "obj.pkl") == {"thread": 8, "pid_positive": True}
        return
    with pytest.raises(sandbox.SandboxError) as info:
        box.load_pickle("res", "obj.pkl")
    err = info.value
    assert err.kind == kind, (err.kind, str(err), err.outcome["output"][-2000:])
    if detail:
        assert err.outcome["error_type"] == detail, str(err)
    if kind == "seccomp-kill":
        assert "seccomp" in str(err)
        assert err.outcome["signal"] == 31
    if kind == "exited":
        assert err.outcome["exit_code"] == 31 and err.outcome["signal"] == 0
    assert not os.path.exists("/tmp/sealpkg-sandboxee-wrote-this")


def test_reduce_payload_is_killed(tmp_path: Path) -> None:
    box = _open_unverified(_reduce_package(tmp_path))
    with pytest.raises(sandbox.SandboxError) as info:
        box.load_pickle("res", "obj.pkl")
    assert info.value.kind == "seccomp-kill", str(info.value)


def test_policy_rejects_before_the_worker(tmp_path: Path) -> None:
    path = _hostile_package(tmp_path, "os_system", (SANDBOXEES / "os_system.py").read_text())
    with pytest.raises(sealpkg.errors.PolicyDeniedError):
        sandbox.open(path, policy="builtin:torchvision")
    with pytest.raises(TypeError):
        sandbox.open(path, policy=None)


def test_all_isolation_layers_reported(tmp_path: Path) -> None:
    box = _open_unverified(_hostile_package(tmp_path, "thread_ok",
                                            (SANDBOXEES / "thread_ok.py").read_text()))
    box.load_pickle("res", "obj.pkl")
    layers = box.isolation
    assert layers is not None
    print("isolation layers:", layers)
    assert layers["seccomp"] and layers["rlimits"] and layers["uid_dropped"]


def test_selftest_and_policy_commands() -> None:
    worker = sandbox.worker_path()
    out = subprocess.run([worker, "selftest"], capture_output=True, text=True, timeout=60)
    print(out.stdout)
    assert "seccomp:          active" in out.stdout
    assert out.returncode in (0, 3)  # 3: degraded, reported
    table = sandbox.policy_table()
    assert "kill-process" in table and "clone" in table and "socket" not in table


@pytest.fixture(scope="module")
def resnet18_package(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, torch.nn.Module]:
    path = tmp_path_factory.mktemp("sbx") / "resnet18.pt"
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    with PackageExporter(str(path)) as exp:
        exp.intern("torchvision.**", exclude=["torchvision.io.**", "torchvision.datasets.**",
                                               "torchvision.extension"])
        exp.extern(["numpy.**", "PIL.**", "scipy.**", "sympy.**", "requests.**",
                    "typing_extensions", "sys", "io", "torchvision.extension"])
        exp.mock(["torchvision.io.**", "torchvision.datasets.**"])
        exp.save_pickle("model", "model.pkl", model)
        exp.save_pickle("cfg", "config.pkl", {"name": "resnet18", "classes": 1000,
                                              "mean": (0.485, 0.456, 0.406), "fc": model.fc.weight})
    return path, model


def test_resnet18_state_dict_matches_in_process(resnet18_package: Tuple[Path, Any]) -> None:
    path, _ = resnet18_package
    box = sandbox.open(path, policy="builtin:torchvision", preload=["torchvision"],
                       limits={"wall_time_ms": 120000})
    sd = box.state_dict("model", "model.pkl")
    ref = PackageImporter(str(path)).load_pickle("model", "model.pkl")
    ref_sd = ref.state_dict()
    assert list(sd) == list(ref_sd)
    for k in ref_sd:
        assert sd[k].dtype == ref_sd[k].dtype and torch.equal(sd[k], ref_sd[k]), k
    fresh = torchvision.models.resnet18(weights=None).eval()
    fresh.load_state_dict(sd)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(fresh(x), ref(x))
    cfg = box.load_pickle("cfg", "config.pkl")
    assert cfg["name"] == "resnet18" and cfg["mean"] == (0.485, 0.456, 0.406)
    assert torch.equal(cfg["fc"], ref.fc.weight.detach())
    # A module itself cannot cross the boundary.
    with pytest.raises(sandbox.SandboxError) as info:
        box.load_pickle("model", "model.pkl")
    assert info.value.kind == "worker-error" and "ResNet" in str(info.value)


def test_no_fd_growth_over_many_loads(tmp_path: Path) -> None:
    path = tmp_path / "data.pt"
    with PackageExporter(str(path)) as exp:
        exp.save_pickle("d", "d.pkl", {"t": torch.arange(10), "s": "x"})
    box = sandbox.open(path, policy="builtin:torchvision", torch=True)
    n = int(os.environ.get("SEALPKG_SANDBOX_LOADS", "100"))
    box.load_pickle("d", "d.pkl")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(n):
        out = box.load_pickle("d", "d.pkl")
        assert torch.equal(out["t"], torch.arange(10))
        del out
    assert len(os.listdir("/proc/self/fd")) == before
