"""TorchScript and FX through sealpkg.PackageExporter: torch's own serializers, loaded back by
stock torch.package and by sealpkg."""
from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "exporter_fixtures"))

import expfix_models  # noqa: E402
import sealpkg  # noqa: E402
import sealpkg.package_exporter  # noqa: E402
import torch  # noqa: E402
import torch.fx  # noqa: E402
import torch.package  # noqa: E402
from expfix_support import BACKENDS, records  # noqa: E402


def load(data: bytes, backend: str):
    cls = torch.package.PackageImporter if backend == "torch" else sealpkg.PackageImporter
    return cls(io.BytesIO(data))


@pytest.fixture
def ungated(monkeypatch):
    monkeypatch.setattr(sealpkg.package_exporter, "_gate_torchscript_serialization", False)


class WithScript(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.scripted = torch.jit.script(torch.nn.Linear(4, 3))
        self.eager = torch.nn.Linear(3, 2)
        self.shared = self.scripted.weight  # the same storage as the script module's weight

    def forward(self, x):
        return self.eager(self.scripted(x))


def test_script_module_is_gated():
    with pytest.raises(Exception, match="Serializing ScriptModules directly into a package is a "
                       "beta feature"):
        with sealpkg.PackageExporter(io.BytesIO()) as e:
            e.save_pickle("m", "m.pkl", torch.jit.script(torch.nn.Linear(2, 2)))


def test_script_module_round_trip(ungated):
    model = WithScript().eval()
    x = torch.randn(5, 4)
    buf = io.BytesIO()
    with sealpkg.PackageExporter(buf) as e:
        e.extern("test_exporter_torchscript")
        e.save_pickle("m", "m.pkl", model)
        e.save_pickle("m", "again.pkl", model.scripted)
    data = buf.getvalue()
    recs = records(data)
    assert ".data/ts_code/0/data.pkl" in recs and ".data/ts_code/1/data.pkl" not in recs
    assert any(r.startswith(".data/ts_code/code/__torch__/") for r in recs)
    # The script module's weight is shared with the eager attribute: one storage record.
    storages = [r for r in recs if r.endswith(".storage")]
    assert len(storages) == 4, storages  # scripted w+b, eager w+b
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    for backend in BACKENDS:
        imp = load(data, backend)
        loaded = imp.load_pickle("m", "m.pkl")
        assert torch.equal(loaded(x), model(x))
        assert isinstance(loaded.scripted, torch.jit.RecursiveScriptModule)
        assert loaded.shared.data_ptr() == loaded.scripted.weight.data_ptr()


def test_fx_graph_module_round_trip():
    model = expfix_models.TinyNet().eval()
    traced = torch.fx.symbolic_trace(model)
    x = torch.randn(2, 3, 8, 8)
    buf = io.BytesIO()
    with sealpkg.PackageExporter(buf) as e:
        e.intern(["expfix_plain", "expfix_models"])
        e.save_pickle("fx", "model.pkl", traced)
    data = buf.getvalue()
    assert "fx-generated/_0.py" in records(data)
    for backend in BACKENDS:
        loaded = load(data, backend).load_pickle("fx", "model.pkl")
        assert isinstance(loaded, torch.fx.GraphModule)
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))


def test_fx_with_packaged_leaf_function():
    traced = torch.fx.symbolic_trace(expfix_models.UsesLeaf())
    buf = io.BytesIO()
    with sealpkg.PackageExporter(buf) as e:
        e.intern(["expfix_models", "expfix_plain"])
        e.save_pickle("fx", "leaf.pkl", traced)
    for backend in BACKENDS:
        loaded = load(buf.getvalue(), backend).load_pickle("fx", "leaf.pkl")
        assert torch.equal(loaded(torch.ones(2)), torch.full((2,), 4.0))
        assert "leaf_function" in loaded.code


def test_fx_repackage_through_the_importer():
    traced = torch.fx.symbolic_trace(expfix_models.TinyNet().eval())
    buf = io.BytesIO()
    with sealpkg.PackageExporter(buf) as e:
        e.intern(["expfix_plain", "expfix_models"])
        e.save_pickle("fx", "model.pkl", traced)
    imp = sealpkg.PackageImporter(io.BytesIO(buf.getvalue()))
    loaded = imp.load_pickle("fx", "model.pkl")
    again = io.BytesIO()
    with sealpkg.PackageExporter(again, importer=(imp, sealpkg.sys_importer)) as e:
        e.intern("**")
        e.save_pickle("fx", "again.pkl", loaded)
    x = torch.randn(1, 3, 8, 8)
    for backend in BACKENDS:
        reloaded = load(again.getvalue(), backend).load_pickle("fx", "again.pkl")
        with torch.no_grad():
            assert torch.equal(reloaded(x), loaded(x))
