"""Per-model corpus checks that run in a recycled child process (see isolated()).

Loading a package keeps process-wide references to its code (torch.fx.wrap, typing and
TorchScript caches), which pin the importer and, with sealpkg, its sealed in-memory snapshot of
the archive. Loading all 89 corpus models in one process would hold them all (> 20 GB), so each
check runs in a child interpreter (spawn) that is replaced every few models. The functions here
take plain paths and return plain strings, and importing this module has no side effects.
"""
from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

_POOL: Any = None
CHECKS_PER_CHILD = 12


def isolated(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in the child process (created on first use, replaced every CHECKS_PER_CHILD)."""
    global _POOL
    if _POOL is None:
        _POOL = multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=CHECKS_PER_CHILD)
    return _POOL.apply(fn, args)


def _close(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                and torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_close(x, y) for x, y in zip(a, b)))
    return bool(a == b)


def _same_state(got: Dict, want: Dict) -> Optional[str]:
    import torch

    if list(got) != list(want):
        return "state_dict keys differ"
    bad = [k for k in want if not torch.equal(got[k], want[k])]
    return f"state_dict values differ: {bad[:5]}" if bad else None


def _observe(model: Any, family: str, name: str) -> Tuple[Any, Dict]:
    """(output or None, state_dict): outputs only for the models forward_checked() names."""
    import torch
    from torchvision_corpus import example_input, forward_checked

    assert not model.training
    if not forward_checked(name):
        return None, model.state_dict()
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(*example_input(family, name))
    return out, model.state_dict()


def compare_importers(package: str, state_dict: Optional[str], family: str,
                      name: str) -> Tuple[Optional[str], Optional[str]]:
    """(torch error, sealpkg error), None meaning fine: stock torch.package loads the package
    and its weights equal the model's saved state_dict; sealpkg loads the same weights and
    computes an output allclose to stock's on the same input."""
    import sealpkg
    import torch
    import torch.package

    try:
        imp = torch.package.PackageImporter(package)
        model = imp.load_pickle("model", "model.pkl")
        assert type(model).__module__.startswith(imp.id() + "."), type(model).__module__
        want, stock_state = _observe(model, family, name)
        torch_error = (_same_state(stock_state, torch.load(state_dict))
                       if state_dict is not None else None)
    except Exception:  # noqa: BLE001 - reported by the test
        return "stock load failed:\n" + traceback.format_exc(), "no stock reference"
    try:
        imp2 = sealpkg.PackageImporter(package)
        model2 = imp2.load_pickle("model", "model.pkl")
        assert type(model2).__module__.startswith(imp2.id() + "."), type(model2).__module__
        got, state = _observe(model2, family, name)
        sealpkg_error = _same_state(state, stock_state) or (
            None if _close(want, got) else "outputs differ from the stock load's")
    except Exception:  # noqa: BLE001
        sealpkg_error = traceback.format_exc()
    return torch_error, sealpkg_error


def reexport_check(package: str, family: str, name: str, workdir: str) -> Optional[str]:
    """A stock corpus package re-exported by sealpkg through OrderedImporter(sealpkg importer,
    sys_importer) loads in stock torch.package and in sealpkg with the same weights (and
    outputs, for the forward-checked models) as the stock load of the original."""
    import sealpkg
    import torch.package
    from torchvision_corpus import EXTERN, EXTERN_TORCHVISION, MOCK

    target = Path(workdir) / f"{name}.reexported.pt"
    try:
        want = _observe(torch.package.PackageImporter(package).load_pickle("model", "model.pkl"),
                        family, name)
        imp = sealpkg.PackageImporter(package)
        model = imp.load_pickle("model", "model.pkl")
        with sealpkg.PackageExporter(str(target), importer=(imp, sealpkg.sys_importer)) as e:
            e.intern("torchvision.**", exclude=MOCK + EXTERN_TORCHVISION)
            e.extern(EXTERN + EXTERN_TORCHVISION + ["accimage"])
            e.mock(MOCK)
            e.save_pickle("model", "model.pkl", model)
        del model, imp
        for importer_cls in (torch.package.PackageImporter, sealpkg.PackageImporter):
            got = _observe(importer_cls(str(target)).load_pickle("model", "model.pkl"), family,
                           name)
            if _same_state(got[1], want[1]) or not _close(want[0], got[0]):
                return f"{importer_cls.__module__}: re-exported model differs"
        return None
    except Exception:  # noqa: BLE001
        return traceback.format_exc()
    finally:
        if target.exists():
            target.unlink()
