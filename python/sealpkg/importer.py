"""Import environments: where a module name is looked up, and how an object finds its name.

Same contract as ``torch.package.importer`` (1.13): an :class:`Importer` maps a module name to
a module (``import_module``) and an object back to ``(module, qualified name)``
(``get_name``), checking that the name leads back to the very same object.
:data:`sys_importer` is the ordinary Python environment; :class:`OrderedImporter` chains
several environments, first hit wins, skipping the empty placeholder packages an importer
makes for folders without an ``__init__.py``.

Interoperability: when ``torch.package`` is loaded, sealpkg's :class:`Importer` is registered
as a virtual subclass of torch's, so stock ``torch.package.PackageExporter`` accepts sealpkg
importers; :class:`OrderedImporter` likewise accepts torch's importers.
"""
from __future__ import annotations

import importlib
import pickle
import sys
from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple

from ._mangling import demangle, get_mangle_prefix, is_mangled

__all__ = ["ObjNotFoundError", "ObjMismatchError", "Importer", "OrderedImporter", "sys_importer"]


class ObjNotFoundError(Exception):
    """An importer could not find an object under the name derived from it."""


class ObjMismatchError(Exception):
    """An importer found a different object under the name derived from the given one."""


_interop_error_types: Dict[type, type] = {}


def _interop_error(error_type: type) -> type:
    """``error_type``, or while torch.package is loaded a subclass of it and of torch's error of
    the same name, so ``except`` clauses written for either (e.g. in torch's PackagePickler,
    which turns these into PicklingError) catch errors from sealpkg importers."""
    torch_module = sys.modules.get("torch.package.importer")
    torch_error = getattr(torch_module, error_type.__name__, None)
    if not isinstance(torch_error, type) or issubclass(error_type, torch_error):
        return error_type
    combined = _interop_error_types.get(error_type)
    if combined is None:
        combined = type(
            error_type.__name__,
            (error_type, torch_error),
            {"__module__": error_type.__module__, "__qualname__": error_type.__qualname__},
        )
        _interop_error_types[error_type] = combined
    return combined


def _resolve_qualname(root: Any, qualname: str) -> Any:
    """``getattr`` along a dotted qualified name; local (``<locals>``) names are not reachable."""
    obj = root
    for part in qualname.split("."):
        if part == "<locals>":
            raise AttributeError(f"Can't get local attribute {qualname!r} on {root!r}")
        obj = getattr(obj, part)
    return obj


def _reduce_to_global_name(obj: Any) -> Optional[str]:
    """The name given by ``__reduce__`` returning a string, for objects pickle has no rule for."""
    if not obj or type(obj) in pickle._Pickler.dispatch:  # type: ignore[attr-defined]
        return None
    reduce = getattr(obj, "__reduce__", None)
    if reduce is None:
        return None
    try:
        value = reduce()
    except Exception:
        return None
    return value if isinstance(value, str) else None


class Importer(ABC):
    """An environment to import modules from (see the module docstring).

    Round trip guaranteed by :meth:`get_name` (or it raises :class:`ObjNotFoundError` /
    :class:`ObjMismatchError`)::

        module_name, obj_name = env.get_name(obj)
        assert getattr(env.import_module(module_name), obj_name) is obj
    """

    modules: Dict[str, ModuleType]

    @abstractmethod
    def import_module(self, module_name: str) -> ModuleType:
        """Import ``module_name`` from this environment (contract of importlib.import_module)."""

    def get_name(self, obj: Any, name: Optional[str] = None) -> Tuple[str, str]:
        """A ``(module name, attribute name)`` pair that retrieves ``obj`` from this environment."""
        if name is None:
            name = _reduce_to_global_name(obj)
        if name is None:
            name = getattr(obj, "__qualname__", None)
        if name is None:
            name = obj.__name__
        assert name is not None

        # Objects that came out of a package carry a mangled __module__; look them up by the
        # name they have inside the package.
        module_name = demangle(self.whichmodule(obj, name))
        try:
            found = _resolve_qualname(self.import_module(module_name), name)
        except (ImportError, KeyError, AttributeError):
            raise _interop_error(ObjNotFoundError)(
                f"{obj} was not found as {module_name}.{name}"
            ) from None
        if found is obj:
            return module_name, name

        def describe(candidate: Any) -> Tuple[str, str, str]:
            where = self.whichmodule(candidate, name)
            if is_mangled(where):
                prefix = get_mangle_prefix(where)
                return where, prefix, f"the importer for {prefix}"
            return where, "the current Python environment", "'sys_importer'"

        given_module, given_location, given_importer = describe(obj)
        found_module, found_location, found_importer = describe(found)
        raise _interop_error(ObjMismatchError)(
            f"\n\nThe object provided is from '{given_module}', "
            f"which is coming from {given_location}."
            f"\nHowever, when we import '{found_module}', it's coming from {found_location}."
            "\nTo fix this, make sure this 'PackageExporter's importer lists "
            f"{given_importer} before {found_importer}."
        )

    def whichmodule(self, obj: Any, name: str) -> str:
        """The module ``obj`` belongs to: ``__module__``, else a search of ``self.modules``.

        Unlike :func:`pickle.whichmodule`, ``sys.modules`` is not searched.
        """
        module_name = getattr(obj, "__module__", None)
        if module_name is not None:
            return module_name
        # A copy: getattr on a lazy module may import more modules while we iterate.
        for candidate_name, module in list(getattr(self, "modules", {}).items()):
            if candidate_name in ("__main__", "__mp_main__") or module is None:
                continue
            try:
                if _resolve_qualname(module, name) is obj:
                    return candidate_name
            except AttributeError:
                pass
        return "__main__"


class _SysImporter(Importer):
    """The ordinary Python import system."""

    def import_module(self, module_name: str) -> ModuleType:
        return importlib.import_module(module_name)

    def whichmodule(self, obj: Any, name: str) -> str:
        return pickle.whichmodule(obj, name)  # type: ignore[attr-defined]


sys_importer = _SysImporter()


def _torch_importer_class() -> Optional[type]:
    """torch.package's Importer ABC, only if torch.package is already loaded."""
    module = sys.modules.get("torch.package.importer")
    return getattr(module, "Importer", None) if module is not None else None


def _is_importer(obj: Any) -> bool:
    if isinstance(obj, Importer):
        return True
    torch_importer = _torch_importer_class()
    return torch_importer is not None and isinstance(obj, torch_importer)


def register_with_torch() -> None:
    """Make sealpkg importers acceptable wherever torch.package expects its own Importer."""
    torch_importer = _torch_importer_class()
    if torch_importer is not None and not issubclass(Importer, torch_importer):
        torch_importer.register(Importer)


class OrderedImporter(Importer):
    """Tries several importers in order; the first that finds a real module wins."""

    def __init__(self, *args: Any) -> None:
        self._importers: List[Any] = list(args)

    def _is_torchpackage_dummy(self, module: Any) -> bool:
        """Whether ``module`` is a package importer's placeholder for a folder without source.

        Interning ``a.b`` without ``a`` leaves ``a`` as an empty package; stopping there would
        hide the real ``a`` from the importers listed after (pytorch/pytorch PR #72064).
        """
        if not getattr(module, "__torch_package__", False):
            return False
        if not hasattr(module, "__path__"):
            return False
        return getattr(module, "__file__", None) is None

    def import_module(self, module_name: str) -> ModuleType:
        last_error: Optional[ModuleNotFoundError] = None
        for importer in self._importers:
            if not _is_importer(importer):
                raise TypeError(
                    f"{importer} is not a Importer. "
                    "All importers in OrderedImporter must inherit from Importer."
                )
            try:
                module = importer.import_module(module_name)
            except ModuleNotFoundError as error:
                last_error = error
                continue
            if self._is_torchpackage_dummy(module):
                continue
            return module
        if last_error is not None:
            raise last_error
        raise ModuleNotFoundError(module_name)

    def whichmodule(self, obj: Any, name: str) -> str:
        for importer in self._importers:
            module_name = importer.whichmodule(obj, name)
            if module_name != "__main__":
                return module_name
        return "__main__"


register_with_torch()
