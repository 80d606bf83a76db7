"""The exporter's pickler: globals are named through an :class:`~sealpkg.importer.Importer`.

With :data:`~sealpkg.importer.sys_importer` the C pickler is used (the ordinary environment, and
the fastest). Otherwise :class:`PackagePickler`, a pure-Python pickler whose global lookup goes
through the importer, so objects loaded from a package (``<torch_package_N>.mod``) are written
under their in-package names (``mod``) after checking that the importer finds the very same
object there; it raises ``pickle.PicklingError`` otherwise. Same opcodes as torch.package's
``PackagePickler`` for the same objects.
"""
from __future__ import annotations

import pickle
import sys
from struct import pack
from types import FunctionType
from typing import Any, BinaryIO, Optional, Tuple

from .importer import ObjMismatchError, ObjNotFoundError, sys_importer

__all__ = ["PackagePickler", "create_pickler"]


def _lookup_errors() -> Tuple[type, ...]:
    """The importer errors to turn into PicklingError: sealpkg's and, if loaded, torch's."""
    errors: Tuple[type, ...] = (ObjNotFoundError, ObjMismatchError)
    torch_importer = sys.modules.get("torch.package.importer")
    if torch_importer is not None:
        errors += (torch_importer.ObjNotFoundError, torch_importer.ObjMismatchError)
    return errors


def _resolve_path(root: Any, qualname: str) -> Tuple[Any, Any]:
    """(object, its parent) for a dotted qualified name inside ``root``."""
    parent = None
    obj = root
    for part in qualname.split("."):
        if part == "<locals>":
            raise AttributeError(f"Can't get local attribute {qualname!r} on {root!r}")
        parent = obj
        obj = getattr(obj, part)
    return obj, parent


class PackagePickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """A pure-Python pickler that names globals through ``importer``."""

    def __init__(self, importer: Any, *args: Any, **kwargs: Any) -> None:
        self.importer = importer
        super().__init__(*args, **kwargs)
        # A private copy of the current table: libraries such as dill patch _Pickler.dispatch
        # and undo it later (pytorch/pytorch PR #71025).
        self.dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]
        self.dispatch[FunctionType] = PackagePickler.save_global

    def save_global(self, obj: Any, name: Optional[str] = None) -> None:
        write = self.write
        try:
            module_name, name = self.importer.get_name(obj, name)
        except _lookup_errors() as error:
            raise pickle.PicklingError(f"Can't pickle {obj}: {error}") from None
        module = self.importer.import_module(module_name)
        _, parent = _resolve_path(module, name)

        if self.proto >= 2:
            code = pickle._extension_registry.get((module_name, name))  # type: ignore[attr-defined]
            if code:
                if code <= 0xFF:
                    write(pickle.EXT1 + pack("<B", code))
                elif code <= 0xFFFF:
                    write(pickle.EXT2 + pack("<H", code))
                else:
                    write(pickle.EXT4 + pack("<i", code))
                return
        last_name = name.rpartition(".")[2]
        if parent is module:
            name = last_name
        if self.proto >= 4:
            self.save(module_name)
            self.save(name)
            write(pickle.STACK_GLOBAL)
        elif parent is not module:
            # A nested name below protocol 4: getattr(parent, "last")
            self.save_reduce(getattr, (parent, last_name))
        elif self.proto >= 3:
            write(pickle.GLOBAL + module_name.encode("utf-8") + b"\n" + name.encode("utf-8") + b"\n")
        else:
            if self.fix_imports:
                name_map = pickle._compat_pickle.REVERSE_NAME_MAPPING  # type: ignore[attr-defined]
                import_map = pickle._compat_pickle.REVERSE_IMPORT_MAPPING  # type: ignore[attr-defined]
                if (module_name, name) in name_map:
                    module_name, name = name_map[(module_name, name)]
                elif module_name in import_map:
                    module_name = import_map[module_name]
            try:
                write(pickle.GLOBAL + module_name.encode("ascii") + b"\n"
                      + name.encode("ascii") + b"\n")
            except UnicodeEncodeError:
                raise pickle.PicklingError(
                    f"can't pickle global identifier '{module_name}.{name}' using pickle "
                    f"protocol {self.proto}"
                ) from None
        self.memoize(obj)


def create_pickler(data_buf: BinaryIO, importer: Any, protocol: int = 4) -> Any:
    """The C pickler for the ordinary environment, else a :class:`PackagePickler`."""
    if importer is sys_importer:
        return pickle.Pickler(data_buf, protocol=protocol)
    return PackagePickler(importer, data_buf, protocol=protocol)
