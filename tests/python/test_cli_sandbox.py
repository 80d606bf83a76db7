"""`sealpkg load`, `sealpkg extract` and `sealpkg run` end to end: packages written by stock
torch.package at test time are verified in the parent, loaded in the real sandboxed worker, and
reported; the safetensors file extract writes is parsed here with json + torch.frombuffer (no
pickle) and equals the in-process state_dict; rejections, contained workers and load errors get
their exit codes."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch
import torchvision
from torch.package import PackageExporter, PackageImporter

import sealpkg
from conftest import SEALPKG_CLI

TORCH_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
                "BF16": torch.bfloat16, "I8": torch.int8, "U8": torch.uint8, "I16": torch.int16,
                "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}


def cli(*args: str, env: Dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEALPKG_CLI), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def read_safetensors(path: Path) -> Tuple[Dict[str, torch.Tensor], Dict[str, str], int, List]:
    """A plain safetensors parse: json header + torch.frombuffer; returns tensors, metadata,
    header length and the (name, begin, end) table in header order."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = bytearray(raw[8 + n:])
    out, table = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        table.append((name, begin, end))
        dtype = TORCH_DTYPES[info["dtype"]]
        count = (end - begin) // torch.empty((), dtype=dtype).element_size()
        flat = (torch.frombuffer(data, dtype=dtype, count=count, offset=begin) if count
                else torch.empty(0, dtype=dtype))
        out[name] = flat.reshape(info["shape"])
    return out, meta, n, table


@pytest.fixture(scope="module")
def resnet18_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli_sbx") / "resnet18.pt"
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
                                              "mean": (0.485, 0.456, 0.406),
                                              "fc": model.fc.weight, "t": model.fc.weight.t()})
    return path


@pytest.fixture(scope="module")
def data_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One .pkl only: the default resource."""
    path = tmp_path_factory.mktemp("cli_data") / "data.pt"
    with PackageExporter(str(path)) as exp:
        exp.save_pickle("d", "d.pkl", {"t": torch.arange(10), "s": "x", "n": None})
    return path


def hostile_package(tmp: Path, name: str, pickle_bytes: bytes, source: str = "") -> Path:
    path = tmp / f"{name}.pt"
    with PackageExporter(str(path)) as exp:
        exp.extern(["os", "time"])
        if source:
            exp.save_source_string("evil", source)
        exp.save_binary("res", "obj.pkl", pickle_bytes)
    return path


def inferred_policy(pkg: Path, tmp: Path) -> Path:
    """The least-privilege policy accepting exactly `pkg` (unsigned: --unsafe-unsigned-policy)."""
    pol = tmp / f"{pkg.stem}.toml"
    r = cli("policy", "infer", str(pkg), "-o", str(pol))
    assert r.returncode == 0, r.stdout + r.stderr
    return pol


def test_help_documents_options_exit_codes_and_discovery() -> None:
    for cmd in ("load", "extract", "run"):
        r = cli(cmd, "--help")
        assert r.returncode == 0
        for text in ("--policy", "--trust", "--require-signature", "--resource", "--json",
                     "--timeout", "--memory", "--worker", "--python-path", "$SEALPKG_WORKER",
                     "$SEALPKG_PYTHONPATH", "libexec/sealpkg/sealpkg-worker",
                     "3 contained", "4 the load raised"):
            assert text in r.stdout, (cmd, text)
    assert "--weights" in cli("extract", "--help").stdout
    assert "--state-dict" in cli("load", "--help").stdout
    run_help = cli("run", "--help").stdout
    assert "--call" in run_help and "--input" in run_help and "--output" in run_help
    assert "name order" in run_help


def test_load_state_dict_text(resnet18_package: Path) -> None:
    # No --preload: the package's policy-allowed externs (torchvision.extension...) are
    # imported before lockdown by themselves.
    r = cli("load", str(resnet18_package), "--resource", "model/model.pkl", "--state-dict")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    print(out[:3000])
    assert "policy: " in out and "verify: accepted" in out
    assert "signature: not checked" in out
    assert "conv1.weight: tensor float32 [64, 3, 7, 7] (37632 bytes)" in out
    assert "bn1.num_batches_tracked: tensor int64 [] (8 bytes)" in out
    assert "isolation: " in out and "seccomp" in out
    ref = PackageImporter(str(resnet18_package)).load_pickle("model", "model.pkl").state_dict()
    total = sum(t.numel() * t.element_size() for t in ref.values())
    assert f"{len(ref)} tensors" in out
    assert f"dict ({len(ref)} entries)" in out
    assert total > 0


def test_load_json_plain_data(resnet18_package: Path) -> None:
    r = cli("load", str(resnet18_package), "--resource", "cfg/config.pkl", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["result"] == "ok"
    assert doc["sha256"] == hashlib.sha256(resnet18_package.read_bytes()).hexdigest()
    assert doc["policy"]["name"] and doc["policy"]["origin"] == "builtin"
    assert doc["verification"]["accepted"] is True
    assert doc["request"] == {"op": "load_pickle", "package": "cfg", "resource": "config.pkl"}
    assert doc["isolation"]["type"] == "dict" and doc["isolation"]["entries"]
    v = doc["value"]["entries"]
    assert v["name"] == {"type": "str", "value": "resnet18"}
    assert v["classes"] == {"type": "int", "value": 1000}
    assert [i["repr"] for i in v["mean"]["items"]] == ["0.485", "0.456", "0.406"]
    assert v["mean"]["type"] == "tuple"
    assert v["fc"] == {"type": "tensor", "dtype": "float32", "shape": [1000, 512],
                       "nbytes": 2048000, "contiguous": True}
    assert v["t"]["shape"] == [512, 1000] and v["t"]["contiguous"] is False
    assert doc["tensors"] == 2 and doc["tensor_bytes"] == 2 * 2048000


def test_default_resource(data_package: Path, resnet18_package: Path) -> None:
    r = cli("load", str(data_package), "--policy", "builtin:torchvision")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "load_pickle d/d.pkl" in r.stdout
    assert "t: tensor int64 [10] (80 bytes)" in r.stdout
    assert "s: str 'x'" in r.stdout and "n: None" in r.stdout
    # Two .pkl records: the choice is the user's, and the error lists both.
    r = cli("load", str(resnet18_package))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "model/model.pkl" in r.stderr and "cfg/config.pkl" in r.stderr
    r = cli("load", str(resnet18_package), "--resource", "model/nope.pkl")
    assert r.returncode == 2 and "model/nope.pkl" in r.stderr and "cfg/config.pkl" in r.stderr


def test_module_cannot_cross_the_boundary_exit_4(resnet18_package: Path) -> None:
    r = cli("load", str(resnet18_package), "--resource", "model/model.pkl",
            "--preload", "torchvision")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "ResNet" in r.stderr and "inside the sandbox" in r.stderr


def test_rejected_before_the_sandbox(tmp_path: Path) -> None:
    pkg = hostile_package(tmp_path, "reduce",
                          b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.",
                          "import os\n")
    for fmt in ([], ["--json"]):
        r = cli("load", str(pkg), *fmt)
        assert r.returncode == 1, r.stdout + r.stderr
        if fmt:
            doc = json.loads(r.stdout)
            assert doc["result"] == "rejected" and doc["failed_check"] == "static"
            assert "request" not in doc and "isolation" not in doc
            assert any(f["name"] == "os.system" for f in doc["verification"]["findings"])
        else:
            assert "nothing reached the sandbox" in r.stderr


def test_seccomp_kill_is_contained_exit_3(tmp_path: Path) -> None:
    # os.system("true") passes an inferred policy; the worker's seccomp filter kills it (fork).
    pkg = hostile_package(tmp_path, "reduce",
                          b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.",
                          "import os\n")
    pol = inferred_policy(pkg, tmp_path)
    r = cli("load", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "CONTAINED" in r.stderr and "seccomp" in r.stderr
    r = cli("load", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy", "--json")
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert doc["result"] == "contained" and doc["outcome"]["kind"] == "seccomp-kill"
    assert doc["outcome"]["signal"] == 31


def test_timeout_is_contained_exit_3(tmp_path: Path) -> None:
    # time.sleep(600) as the pickle: the parent's deadline stops it.
    pkg = hostile_package(tmp_path, "sleep", b"\x80\x02ctime\nsleep\nM\x58\x02\x85R.",
                          "import time\n")
    pol = inferred_policy(pkg, tmp_path)
    r = cli("load", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy",
            "--timeout", "5", "--json")
    assert r.returncode == 3, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["outcome"]["kind"] == "timeout", doc["outcome"]
    assert "timeout" in doc["outcome"]["message"]


def test_signature_required(tmp_path: Path, data_package: Path) -> None:
    root = sealpkg.keygen(tmp_path / "root")
    signer = sealpkg.keygen(tmp_path / "signer")
    trust = tmp_path / "trust"
    store = sealpkg.TrustStore.init(trust, root_keys=[root])
    store.add(signer.public_key, role="package-signer", root_keys=[root])
    pkg = tmp_path / "d.pt"
    pkg.write_bytes(data_package.read_bytes())
    env = dict(os.environ, SEALPKG_HOME=str(trust))
    r = cli("load", str(pkg), "--policy", "builtin:torchvision", "--trust", str(trust), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "signature.missing" in r.stderr
    r = cli("load", str(pkg), "--policy", "builtin:torchvision", "--require-signature",
            env=env)
    assert r.returncode == 1 and "signature.missing" in r.stderr
    sealpkg.sign(pkg, signer)
    r = cli("load", str(pkg), "--policy", "builtin:torchvision", "--trust", str(trust),
            "--json", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["signature"]["checked"] is True and signer.key_id in doc["signature"]["key_ids"]
    # A one-bit change after signing: rejected before the worker.
    data = bytearray(pkg.read_bytes())
    at = data.find(b"d.pkl") + 40
    data[at] ^= 1
    pkg.write_bytes(bytes(data))
    r = cli("load", str(pkg), "--policy", "builtin:torchvision", "--trust", str(trust),
            "--json", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["result"] == "rejected" and "request" not in doc


def test_worker_discovery_errors(data_package: Path, tmp_path: Path) -> None:
    r = cli("load", str(data_package), "--policy", "builtin:torchvision",
            "--worker", str(tmp_path / "missing-worker"))
    assert r.returncode == 2 and "--worker" in r.stderr
    env = dict(os.environ, SEALPKG_WORKER=str(tmp_path / "missing-worker"))
    r = cli("load", str(data_package), "--policy", "builtin:torchvision", env=env)
    assert r.returncode == 2 and "$SEALPKG_WORKER" in r.stderr


def test_extract_resnet18_equals_in_process_state_dict(resnet18_package: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "resnet18.safetensors"
    r = cli("extract", str(resnet18_package), "--resource", "model/model.pkl",
            "--weights", str(out), "--preload", "torchvision", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["result"] == "ok" and doc["skipped"] == [] and doc["reader_check"] == "ok"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert doc["file_bytes"] == out.stat().st_size
    tensors, meta, n, table = read_safetensors(out)
    assert (8 + n) % 8 == 0
    assert meta == {"format": "pt",
                    "source_sha256": hashlib.sha256(resnet18_package.read_bytes()).hexdigest(),
                    "source_resource": "model/model.pkl"}
    # Keys sorted, offsets contiguous from 0 and covering the data section exactly.
    assert [t[0] for t in table] == sorted(t[0] for t in table)
    pos = 0
    for _, begin, end in table:
        assert begin == pos
        pos = end
    assert pos == out.stat().st_size - 8 - n
    ref = PackageImporter(str(resnet18_package)).load_pickle("model", "model.pkl").state_dict()
    assert sorted(tensors) == sorted(ref)
    for k, v in ref.items():
        assert tensors[k].dtype == v.dtype and tensors[k].shape == v.shape, k
        assert torch.equal(tensors[k], v), k
    # The extracted weights drive a fresh model to the same outputs.
    fresh = torchvision.models.resnet18(weights=None).eval()
    fresh.load_state_dict(tensors)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    model = PackageImporter(str(resnet18_package)).load_pickle("model", "model.pkl")
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_extract_strided_and_shared_tensors(tmp_path: Path) -> None:
    """A state_dict whose tensors are a transpose and two views of one storage."""
    pkg = tmp_path / "views.pt"
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    lin = torch.nn.Linear(6, 4)
    with torch.no_grad():
        lin.weight = torch.nn.Parameter(base.t().contiguous().t())  # column-major storage
        lin.bias = torch.nn.Parameter(base[:, 1])  # strided view into a shared storage
    assert not lin.weight.is_contiguous() and not lin.bias.is_contiguous()
    with PackageExporter(str(pkg)) as exp:
        exp.save_pickle("m", "m.pkl", lin)
    out = tmp_path / "views.safetensors"
    r = cli("extract", str(pkg), "--weights", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    tensors, meta, _, _ = read_safetensors(out)
    assert torch.equal(tensors["weight"], base) and tensors["weight"].is_contiguous()
    assert torch.equal(tensors["bias"], base[:, 1])


def test_extract_non_tensor_state_skipped_or_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """get_extra_state() puts a dict into the state_dict: reported and skipped, or refused."""
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "cli_extra_state.py").write_text(
        "import torch\n"
        "class WithExtra(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = torch.nn.Parameter(torch.ones(3))\n"
        "    def get_extra_state(self):\n"
        "        return {'note': 'hello', 'step': 7}\n"
        "    def set_extra_state(self, state):\n"
        "        pass\n")
    monkeypatch.syspath_prepend(str(src_dir))
    import cli_extra_state  # our own test module, imported here to be packaged

    pkg = tmp_path / "extra.pt"
    with PackageExporter(str(pkg)) as exp:
        exp.intern("cli_extra_state")
        exp.save_pickle("m", "m.pkl", cli_extra_state.WithExtra())
    pol = inferred_policy(pkg, tmp_path)
    out = tmp_path / "extra.safetensors"
    r = cli("extract", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy",
            "--weights", str(out), "--strict")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "_extra_state" in r.stderr and not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    r = cli("extract", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy",
            "--weights", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped (not a tensor): _extra_state (dict)" in r.stdout
    tensors, _, _, _ = read_safetensors(out)
    assert list(tensors) == ["w"] and torch.equal(tensors["w"], torch.ones(3))


def test_extract_failure_leaves_nothing(resnet18_package: Path, tmp_path: Path) -> None:
    out = tmp_path / "cfg.safetensors"
    # A dict has no state_dict(): the load raises inside the sandbox.
    r = cli("extract", str(resnet18_package), "--resource", "cfg/config.pkl",
            "--weights", str(out))
    assert r.returncode == 4, r.stdout + r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())
    r = cli("extract", str(resnet18_package), "--resource", "model/model.pkl",
            "--preload", "torchvision", "--weights", str(tmp_path / "no-dir" / "x.safetensors"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert not list(tmp_path.iterdir())


def write_safetensors(path: Path, tensors: Dict[str, torch.Tensor]) -> None:
    """A plain safetensors writer (json + raw bytes), independent of sealpkg."""
    header, blobs, pos = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        dtype = next(k for k, v in TORCH_DTYPES.items() if v == t.dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_run_forward_equals_in_process(resnet18_package: Path, tmp_path: Path) -> None:
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    inp, out = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    write_safetensors(inp, {"x": x})
    r = cli("run", str(resnet18_package), "--resource", "model/model.pkl", "--preload",
            "torchvision", "--call", "forward", "--input", str(inp), "--output", str(out),
            "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "torchvision.models.resnet.ResNet"
    assert doc["request"]["inputs"] == ["x"] and doc["request"]["method"] == "forward"
    assert doc["value"]["shape"] == [2, 1000]
    tensors, meta, _, _ = read_safetensors(out)
    assert meta["method"] == "forward" and meta["format"] == "pt"
    assert meta["input_sha256"] == hashlib.sha256(inp.read_bytes()).hexdigest()
    ref = PackageImporter(str(resnet18_package)).load_pickle("model", "model.pkl")
    threads = torch.get_num_threads()
    # The worker computes with one thread and torch's native kernels (no oneDNN JIT).
    torch.set_num_threads(1)
    try:
        with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
            expected = ref(x)
    finally:
        torch.set_num_threads(threads)
    assert list(tensors) == ["output"] and torch.equal(tensors["output"], expected)


def test_run_positional_order_and_result_flattening(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "cli_run_calc.py").write_text(
        "import torch\n"
        "class Calc(torch.nn.Module):\n"
        "    def diff(self, a, b):\n"
        "        return {'d': a - b, 'parts': (a, b.t()), 'n': 3}\n")
    monkeypatch.syspath_prepend(str(src_dir))
    import cli_run_calc  # our own test module, imported here to be packaged

    pkg = tmp_path / "calc.pt"
    with PackageExporter(str(pkg)) as exp:
        exp.intern("cli_run_calc")
        exp.save_pickle("m", "m.pkl", cli_run_calc.Calc())
    pol = inferred_policy(pkg, tmp_path)
    a = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    b = torch.ones(2, 3, dtype=torch.float64) * 10
    inp, out = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    write_safetensors(inp, {"b": b, "a": a})  # positional order is name order: a, b
    r = cli("run", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy", "--call", "diff",
            "--input", str(inp), "--output", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped (not a tensor): output.n (int)" in r.stdout
    tensors, _, _, _ = read_safetensors(out)
    assert sorted(tensors) == ["output.d", "output.parts.0", "output.parts.1"]
    assert torch.equal(tensors["output.d"], a - b)
    assert torch.equal(tensors["output.parts.0"], a)
    assert torch.equal(tensors["output.parts.1"], b.t())  # strided result written in C order
    # Only public methods: the worker refuses, the load error is exit 4.
    r = cli("run", str(pkg), "--policy", str(pol), "--unsafe-unsigned-policy", "--call",
            "_apply", "--input", str(inp))
    assert r.returncode == 4, r.stdout + r.stderr
    assert "only public methods" in r.stderr


def test_run_input_checked_by_the_strict_reader(resnet18_package: Path, tmp_path: Path) -> None:
    inp = tmp_path / "bad.safetensors"
    h = (b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
         b'"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}')
    inp.write_bytes(struct.pack("<Q", len(h)) + h + bytes(12))
    r = cli("run", str(resnet18_package), "--resource", "model/model.pkl", "--call", "forward",
            "--input", str(inp), "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["failed_check"] == "input" and doc["error"]["reason"] == "safetensors.offsets"
    assert "isolation" not in doc
