"""``PackageImporter``: torch.package 1.13 loading, on sealpkg's strict archive layer.

Code written for ``torch.package.PackageImporter`` runs unchanged with
``import sealpkg as package``, and every package stock torch writes loads. Modules are
executed from the archive under mangled names (``<torch_package_N>.name``) in a module table
private to the importer, exactly as torch does. This is **not a sandbox**: importing a module or
unpickling a resource runs code from the package.

Differences from torch 1.13 (deliberate; see also the module docstrings of
``_directory_reader`` and ``_package_unpickler``):

* the archive is read once into sealed memory and validated strictly (ambiguous or hostile
  ZIPs are refused with :class:`sealpkg.errors.MalformedError`);
* tensor storages are not copied: a STORED, aligned storage record is viewed in place through
  a private copy-on-write mapping of that sealed snapshot (one mapping per ``load_pickle``
  call, so tensors from different calls or importers never share writes, as with torch's
  copies); storage ids are validated in C++ first (decimal key, known type, size within the
  record);
* a persistent id of an unknown type raises ``pickle.UnpicklingError`` (torch returns None);
* ``policy=`` (keyword-only, off by default) verifies the exact bytes that will be loaded
  before the importer exists; on rejection :class:`PackageRejectedError` carries the report.
  ``trust=`` (a trust store directory) / ``require_signature=True`` check the package signature
  first (embedded, or ``signature=`` a detached bundle); a policy file from disk must be signed
  (``unsafe_unsigned_policy=True`` for local experiments). All decisions are made in C++ on the
  sealed snapshot; nothing from the package has run when they fail.
"""
from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import importlib.util
import inspect
import io
import linecache
import os
import pickle
import sys
import types
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Union

from . import _native
from ._directory_reader import DirectoryReader
from ._importlib import (
    calc_package,
    normalize_line_endings,
    normalize_resource_name,
    resolve_name,
    sanity_check,
)
from ._mangling import PackageMangler, demangle
from ._package_unpickler import PackageUnpickler
from .archive import ArchiveReader
from .errors import PolicyDeniedError
from .file_structure import Directory, _directory_from_records
from .glob_group import GlobPattern
from .importer import Importer, register_with_torch

__all__ = ["PackageImporter", "PackageRejectedError", "IMPLICIT_IMPORT_ALLOWLIST"]

# torch's C++ core imports numpy without any Python import statement the exporter could see
# (meta-pytorch/multipy#46), so these are importable from the host even when not externed.
IMPLICIT_IMPORT_ALLOWLIST = ["numpy", "numpy.core", "numpy.core._multiarray_umath"]

_STORAGE_RECORD_PREFIX = ".data/"


class PackageRejectedError(PolicyDeniedError):
    """``policy=`` rejected the package; nothing from it was imported or unpickled.

    ``report`` is the verifier's :class:`sealpkg.Report` (``to_text()``, ``findings``...).
    """

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message, code="policy-denied", reason="loader.policy-rejected")
        self.report = report


def _torch() -> Any:
    import torch

    return torch


def _torch_if_installed() -> Any:
    """torch, or None where it is not installed (packages without tensors still load)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _decode_ascii(value: Any) -> Any:
    """Protocol-2 pickles from Python 2 carry str fields as bytes."""
    return value.decode("ascii") if isinstance(value, bytes) else value


# --- the module tree of an archive -------------------------------------------------------------


class _PathNode:
    pass


class _PackageNode(_PathNode):
    def __init__(self, source_file: Optional[str]) -> None:
        self.source_file = source_file
        self.children: Dict[str, _PathNode] = {}


class _ModuleNode(_PathNode):
    __slots__ = ["source_file"]

    def __init__(self, source_file: str) -> None:
        self.source_file = source_file


class _ExternNode(_PathNode):
    pass


_NEEDS_LOADING = object()


# --- record sources ----------------------------------------------------------------------------


class _SnapshotFile(io.RawIOBase):
    """A seekable read-only file over the sealed snapshot, for torch's own archive reader."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self._pos : self._pos + len(buffer)]
        n = len(chunk)
        memoryview(buffer).cast("B")[:n] = chunk
        self._pos += n
        return n


class _ArchiveRecords:
    """Records of a strictly validated archive; storages viewed in place."""

    kind = "archive"

    def __init__(self, reader: ArchiveReader) -> None:
        self.reader = reader
        self._first_map: Optional[Any] = None
        self._maps_handed_out = 0
        self._torch_reader: Optional[Any] = None

    def get_record(self, name: str) -> bytes:
        if not self.reader.has_record(name):
            # torch's reader raises RuntimeError with this text; code catches it as such.
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found")
        return self.reader.read(name)

    def has_record(self, name: str) -> bool:
        return self.reader.has_record(name)

    def get_all_records(self) -> List[str]:
        return self.reader.records()

    def new_storage_map(self) -> Any:
        """A fresh private mapping (one per load_pickle call; CRC checks are shared)."""
        if self._first_map is None:
            self._first_map = _native.StorageMap.create(self.reader._impl)
        self._maps_handed_out += 1
        return self._first_map if self._maps_handed_out == 1 else self._first_map.sibling()

    def torch_reader(self) -> Any:
        """torch's own reader over the same sealed bytes (for TorchScript records), or this
        object itself where torch is not installed (it has the same record methods)."""
        if self._torch_reader is None:
            torch = _torch_if_installed()
            if torch is None:
                return self
            view = _native.archive_snapshot(self.reader._impl)
            self._torch_reader = torch._C.PyTorchFileReader(_SnapshotFile(view))
        return self._torch_reader


class _StorageLoader:
    """Resolves ``("storage", ...)`` ids for one ``load_pickle`` call."""

    def __init__(self, records: Any) -> None:
        self._records = records
        self._map: Optional[Any] = None
        self._view: Optional[memoryview] = None

    def load(self, storage_type: Any, key: Any, numel: Any) -> Any:
        """An UntypedStorage holding the record's first numel × element size bytes."""
        torch = _torch()
        type_name = _storage_type_name(storage_type)
        key_text = _storage_key_text(key)
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise pickle.UnpicklingError(f"storage size {numel!r} is not a non-negative int")
        dtype = _storage_dtype(storage_type)
        if isinstance(self._records, _ArchiveRecords):
            if self._map is None:
                self._map = self._records.new_storage_map()
                self._view = memoryview(self._map)
            record, offset, nbytes, _, mapped = self._map.locate(key_text, type_name, numel)
            if nbytes == 0:
                return _untyped(torch.empty(0, dtype=torch.uint8))
            if mapped:
                assert self._view is not None
                window = self._view[offset : offset + nbytes]
                return _untyped(torch.frombuffer(window, dtype=torch.uint8))
            data = bytearray(self._records.get_record(record)[:nbytes])
            return _untyped(torch.frombuffer(data, dtype=torch.uint8))
        # Directory or torch reader: the same C++ check of the key, then the reader's storage.
        record = _native.storage_record_name(key_text)
        return _untyped(self._records.get_storage_from_record(record, numel, dtype))


def _untyped(tensor: Any) -> Any:
    get = getattr(tensor, "untyped_storage", None) or getattr(tensor, "_storage", None)
    if get is not None:
        return get()
    return tensor.storage().untyped()


def _storage_type_name(storage_type: Any) -> str:
    module = getattr(storage_type, "__module__", None)
    name = getattr(storage_type, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise pickle.UnpicklingError(f"storage id names {storage_type!r}, not a storage type")
    return f"{module}.{name}"


def _storage_dtype(storage_type: Any) -> Any:
    """The dtype of a storage type from a persistent id, after the C++ check of its name."""
    type_name = _storage_type_name(storage_type)
    element_size = _native.storage_element_size(type_name)  # raises for unknown types
    dtype = getattr(storage_type, "dtype", None)
    torch = _torch()
    if not isinstance(dtype, torch.dtype) or torch._utils._element_size(dtype) != element_size:
        raise pickle.UnpicklingError(f"storage type {type_name} does not match its dtype")
    return dtype


def _storage_key_text(key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        if key < 0:
            raise pickle.UnpicklingError(f"storage key {key} is negative")
        return str(key)
    if isinstance(key, (str, bytes)):
        return _decode_ascii(key) if isinstance(key, bytes) else key
    raise pickle.UnpicklingError(f"storage key {key!r} is neither an int nor a str")


# --- the importer ------------------------------------------------------------------------------

# Every module any sealpkg importer made, by mangled name (for the inspect.getfile patch).
_package_imported_modules: "weakref.WeakValueDictionary[str, types.ModuleType]" = (
    weakref.WeakValueDictionary()
)


class PackageImporter(Importer):
    """Loads code and data from a package written by ``torch.package.PackageExporter``.

    ``file_or_buffer`` is a path (a package file, or an unzipped package folder), a binary
    buffer (anything with ``read``, or bytes), or a ``torch._C.PyTorchFileReader``.
    ``module_allowed`` is called for every module the package declares extern; a refusal
    raises ImportError. ``policy`` (keyword-only) names a verifier policy
    (``"builtin:torchvision"``, a TOML path...): the package is verified first and
    :class:`PackageRejectedError` is raised if it is not accepted.
    """

    modules: Dict[str, types.ModuleType]

    def __init__(
        self,
        file_or_buffer: Union[str, Path, BinaryIO, bytes, Any],
        module_allowed: Callable[[str], bool] = lambda module_name: True,
        *,
        policy: Optional[Union[str, "os.PathLike[str]"]] = None,
        trust: Optional[Union[str, "os.PathLike[str]"]] = None,
        require_signature: bool = False,
        signature: Optional[Union[bytes, str, "os.PathLike[str]"]] = None,
        unsafe_unsigned_policy: bool = False,
    ) -> None:
        checked = (policy is not None or trust is not None or require_signature
                   or signature is not None)
        self.zip_reader: Any
        self._records: Any
        if isinstance(file_or_buffer, (str, Path)):
            self.filename = str(file_or_buffer)
            if os.path.isdir(self.filename):
                if checked:
                    raise ValueError(
                        "policy= needs a package file or buffer: a folder is not an "
                        "immutable snapshot that can be verified and then loaded"
                    )
                self._records = self.zip_reader = DirectoryReader(self.filename)
            else:
                self._records = _ArchiveRecords(ArchiveReader(self.filename))
        elif _is_torch_file_reader(file_or_buffer):
            if checked:
                raise ValueError(
                    "policy=/trust= need a package file or buffer, not a "
                    "torch._C.PyTorchFileReader"
                )
            self.filename = "<pytorch_file_reader>"
            self._records = self.zip_reader = file_or_buffer
        else:
            self.filename = "<binary>"
            self._records = _ArchiveRecords(ArchiveReader(file_or_buffer))

        if checked:
            self._verify(
                os.fspath(policy) if policy is not None else None,
                os.fspath(trust) if trust is not None else None,
                require_signature or trust is not None or signature is not None,
                signature,
                unsafe_unsigned_policy,
            )

        self.root = _PackageNode(None)
        self.modules = {}
        self.extern_modules = self._read_extern()
        for extern_module in self.extern_modules:
            if not module_allowed(extern_module):
                raise ImportError(
                    f"package '{file_or_buffer}' needs the external module '{extern_module}' "
                    f"but that module has been disallowed"
                )
            self._add_extern(extern_module)
        for record in self._records.get_all_records():
            self._add_file(record)

        self.patched_builtins = builtins.__dict__.copy()
        self.patched_builtins["__import__"] = self.__import__
        # Packaged code can reach its importer as `import torch_package_importer`.
        self.modules["torch_package_importer"] = self  # type: ignore[assignment]
        self._mangler = PackageMangler()

        # Visible to __reduce_package__ loaders during load_pickle, as in torch.
        self.storage_context: Any = None
        self.last_map_location: Any = None
        self.Unpickler = lambda *args, **kwargs: PackageUnpickler(self, *args, **kwargs)
        register_with_torch()
        _patch_inspect_getfile()

    def __getattr__(self, name: str) -> Any:
        # `zip_reader` of an archive is torch's own reader over the same sealed bytes, built on
        # first use (TorchScript loading requires that exact type).
        if name == "zip_reader":
            records = self.__dict__.get("_records")
            if isinstance(records, _ArchiveRecords):
                return records.torch_reader()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _verify(
        self,
        policy: Optional[str],
        trust: Optional[str],
        require_signature: bool,
        signature: Optional[Union[bytes, str, "os.PathLike[str]"]],
        unsafe_unsigned_policy: bool,
    ) -> None:
        if not isinstance(self._records, _ArchiveRecords):
            raise ValueError("policy=/trust= need a package file or buffer")
        if signature is not None and not isinstance(signature, (bytes, bytearray)):
            with open(os.fspath(signature), "rb") as f:
                signature = f.read()
        # Signature (trust store), statement, policy (signed unless built in), then the static
        # verifier: all in C++, over the sealed snapshot this importer loads from.
        result = _native.verify_with_trust(
            self._records.reader._impl, self.filename, policy, trust, unsafe_unsigned_policy,
            bytes(signature) if signature is not None else None, require_signature)
        if result["accepted"]:
            return
        report = result["report"]
        what = f"policy '{policy}'" if result["failed_check"] == "static" else "its signature"
        if report is not None and result["failed_check"] == "static":
            detail = report.to_text()
        else:
            error = result["error"] or {}
            where = f" entry {error.get('entry')!r}" if error.get("entry") else ""
            detail = (f"{result['failed_check']} check failed: [{error.get('reason')}]{where}: "
                      f"{error.get('message')}\n")
        raise PackageRejectedError(
            f"package '{self.filename}' was rejected by {what}:\n" + detail, report)

    # -- public API -----------------------------------------------------------------------------

    def import_module(self, name: str, package: Any = None) -> types.ModuleType:
        """Import ``name`` from the package (or its externs) into this importer's modules.

        Names this importer mangled (``obj.__module__`` of a loaded object) are accepted.
        """
        return self._gcd_import(self._mangler.demangle(name))

    def load_binary(self, package: str, resource: str) -> bytes:
        return self._records.get_record(self._zipfile_path(package, resource))

    def load_text(
        self, package: str, resource: str, encoding: str = "utf-8", errors: str = "strict"
    ) -> str:
        return self.load_binary(package, resource).decode(encoding, errors)

    def load_pickle(self, package: str, resource: str, map_location: Any = None) -> Any:
        """Unpickle ``package/resource``, importing what it needs through this importer.

        ``map_location`` works as for ``torch.load``: None, a device string, a torch.device,
        a dict of location renames, or a callable ``(storage, location) -> storage``.
        """
        pickle_file = self._zipfile_path(package, resource)
        data = io.BytesIO(self._records.get_record(pickle_file))
        torch = _torch_if_installed()

        restore_location = None
        storage_context = None
        if torch is not None:
            restore_location = torch.serialization._get_restore_location(map_location)
            storage_context = torch._C.DeserializationStorageContext()
        storages = _StorageLoader(self._records)
        loaded_storages: Dict[Any, Any] = {}
        loaded_reduces: Dict[Any, Any] = {}
        context_shared = isinstance(self._records, _ArchiveRecords) or _is_torch_file_reader(
            self._records
        )

        def load_storage(storage_type: Any, key: Any, location: Any, numel: Any) -> Any:
            dtype = _storage_dtype(storage_type)
            name = f"{key}.storage"
            if storage_context.has_storage(name):
                typed = storage_context.get_storage(name, dtype).storage()
            else:
                untyped = storages.load(storage_type, key, numel)
                typed = torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype)
                if context_shared:
                    # TorchScript in the same package shares these storages, as in torch.
                    storage_context.add_storage(name, torch.empty(0, dtype=dtype).set_(typed))
            return restore_location(typed, location)

        def persistent_load(saved_id: Any) -> Any:
            if not isinstance(saved_id, tuple) or not saved_id:
                raise pickle.UnpicklingError(f"persistent id {saved_id!r} is not a tuple")
            typename = _decode_ascii(saved_id[0])
            fields = saved_id[1:]
            if typename == "storage":
                if torch is None:
                    raise pickle.UnpicklingError("loading tensor storages requires torch")
                if len(fields) != 4:
                    raise pickle.UnpicklingError(
                        f"storage persistent id has {len(fields)} fields, expected 4"
                    )
                storage_type, key, location, numel = fields
                if key not in loaded_storages:
                    loaded_storages[key] = load_storage(
                        storage_type, key, _decode_ascii(location), numel
                    )
                return torch.storage.TypedStorage(
                    wrap_storage=loaded_storages[key].untyped(), dtype=_storage_dtype(storage_type)
                )
            if typename == "reduce_package":
                # Archives from before the reduce id was added: rebuilt on every occurrence.
                if len(fields) == 2:
                    func, args = fields
                    return func(self, *args)
                if len(fields) != 3:
                    raise pickle.UnpicklingError(
                        f"reduce_package persistent id has {len(fields)} fields, expected 2 or 3"
                    )
                reduce_id, func, args = fields
                if reduce_id not in loaded_reduces:
                    loaded_reduces[reduce_id] = func(self, *args)
                return loaded_reduces[reduce_id]
            # torch 1.13 builds this message but forgets to raise it, and returns None.
            raise pickle.UnpicklingError(
                "Unknown typename for persistent_load, expected 'storage' or 'reduce_package' "
                f"but got '{typename}'"
            )

        unpickler = self.Unpickler(data)
        unpickler.persistent_load = persistent_load

        with self._deserialization_context(storage_context, map_location):
            result = unpickler.load()
        if torch is not None:
            torch._utils._validate_loaded_sparse_tensors()
        return result

    def id(self) -> str:
        """The mangle parent of this importer's modules, e.g. ``<torch_package_0>``."""
        return self._mangler.parent_name()

    def file_structure(
        self, *, include: GlobPattern = "**", exclude: GlobPattern = ()
    ) -> Directory:
        """The package's records as a :class:`Directory` tree (filtered by glob patterns)."""
        return _directory_from_records(
            self.filename, list(self._records.get_all_records()), include, exclude
        )

    def python_version(self) -> Optional[str]:
        """The Python version the package was written with, or None for older packages."""
        record = ".data/python_version"
        if not self._records.has_record(record):
            return None
        return self._records.get_record(record).decode("utf-8").strip()

    # Loader protocol (linecache, inspect).
    def get_source(self, module_name: str) -> str:
        module = self.import_module(demangle(module_name))
        return self._records.get_record(demangle(module.__file__)).decode("utf-8")

    # importlib.resources hook.
    def get_resource_reader(self, fullname: str) -> Optional["_PackageResourceReader"]:
        try:
            package = self._get_package(fullname)
        except ImportError:
            return None
        if package.__loader__ is not self:
            return None
        return _PackageResourceReader(self, fullname)

    def __import__(
        self,
        name: str,
        globals: Optional[Dict[str, Any]] = None,
        locals: Optional[Dict[str, Any]] = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level == 0:
            module = self._gcd_import(name)
        else:
            package = calc_package(globals if globals is not None else {})
            module = self._gcd_import(name, package, level)
        if fromlist:
            return self._handle_fromlist(module, fromlist)
        # Without a fromlist, `import a.b.c` binds `a`: return the top of the dotted name.
        if level == 0:
            return self._gcd_import(name.partition(".")[0])
        if not name:
            return module
        cut_off = len(name) - len(name.partition(".")[0])
        module_name = demangle(module.__name__)
        return self.modules[module_name[: len(module_name) - cut_off]]

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _deserialization_context(self, storage_context: Any, map_location: Any) -> Iterator[None]:
        self.storage_context = storage_context
        self.last_map_location = map_location
        try:
            yield
        finally:
            self.storage_context = None
            self.last_map_location = None

    def _read_extern(self) -> List[str]:
        record = ".data/extern_modules"
        if isinstance(self._records, _ArchiveRecords):
            # The strict parse (one name per "\n"-terminated line, valid UTF-8) runs in C++.
            if self._records.reader.framework()["extern_modules"] is None:
                raise RuntimeError(
                    f"package '{self.filename}' has no record '{record}': not a torch.package "
                    "archive"
                )
        return self._records.get_record(record).decode("utf-8").splitlines(keepends=False)

    def _make_module(
        self, name: str, filename: Optional[str], is_package: bool, parent: str
    ) -> types.ModuleType:
        mangled_filename = self._mangler.mangle(filename) if filename else None
        spec = importlib.machinery.ModuleSpec(
            name, self, origin="<package_importer>", is_package=is_package  # type: ignore[arg-type]
        )
        module = importlib.util.module_from_spec(spec)
        self.modules[name] = module
        module.__name__ = self._mangler.mangle(name)
        ns = module.__dict__
        ns["__spec__"] = spec
        ns["__loader__"] = self
        ns["__file__"] = mangled_filename
        ns["__cached__"] = None
        ns["__builtins__"] = self.patched_builtins
        ns["__torch_package__"] = True
        _package_imported_modules[module.__name__] = module
        # Installed on the parent before running, so IMPORT_FROM never looks in sys.modules.
        self._install_on_parent(parent, name, module)
        if filename is not None:
            assert mangled_filename is not None
            # Tracebacks, inspect and linecache find the source through get_source, via a
            # weak reference: linecache's entries live forever, and a strong one would keep
            # the importer, and with it the whole archive snapshot, alive for good.
            linecache.lazycache(
                mangled_filename, {"__name__": module.__name__, "__loader__": _WeakLoader(self)}
            )
            source = normalize_line_endings(self._records.get_record(filename))
            code = compile(source, mangled_filename, "exec", dont_inherit=True)
            exec(code, ns)
        return module

    def _load_module(self, name: str, parent: str) -> types.ModuleType:
        node: _PathNode = self.root
        for atom in name.split("."):
            if not isinstance(node, _PackageNode) or atom not in node.children:
                if name in IMPLICIT_IMPORT_ALLOWLIST:
                    module = self.modules[name] = importlib.import_module(name)
                    return module
                raise ModuleNotFoundError(
                    f'No module named "{name}" in self-contained archive "{self.filename}"'
                    " and the module is also not in the list of allowed external modules: "
                    f"{self.extern_modules}",
                    name=name,
                )
            node = node.children[atom]
            if isinstance(node, _ExternNode):
                module = self.modules[name] = importlib.import_module(name)
                return module
        assert isinstance(node, (_PackageNode, _ModuleNode))
        return self._make_module(name, node.source_file, isinstance(node, _PackageNode), parent)

    def _install_on_parent(self, parent: str, name: str, module: types.ModuleType) -> None:
        if not parent:
            return
        parent_module = self.modules[parent]
        if parent_module.__loader__ is self:
            setattr(parent_module, name.rpartition(".")[2], module)

    def _do_find_and_load(self, name: str) -> types.ModuleType:
        parent, _, child = name.rpartition(".")
        if parent:
            if parent not in self.modules:
                self._gcd_import(parent)
            # Importing the parent may have imported this module as a side effect.
            if name in self.modules:
                return self.modules[name]
            parent_module = self.modules[parent]
            if not hasattr(parent_module, "__path__"):
                loader = getattr(parent_module, "__loader__", None)
                if isinstance(loader, importlib.machinery.ExtensionFileLoader):
                    # Submodules of C extensions (e.g. torch._C._nn) exist only if externed.
                    if name not in self.extern_modules:
                        raise ModuleNotFoundError(
                            f"No module named {name!r}; {name!r} is a c extension module which "
                            "was not externed. C extension modules need to be externed by the "
                            "PackageExporter in order to be used as we do not support "
                            "interning them.",
                            name=name,
                        )
                    if not isinstance(parent_module.__dict__.get(child), types.ModuleType):
                        raise ModuleNotFoundError(
                            f"No module named {name!r}; {parent!r} is a c extension package "
                            f"which does not contain {name!r}.",
                            name=name,
                        )
                else:
                    raise ModuleNotFoundError(
                        f"No module named {name!r}; {parent!r} is not a package", name=name
                    )
        module = self._load_module(name, parent)
        self._install_on_parent(parent, name, module)
        return module

    def _find_and_load(self, name: str) -> types.ModuleType:
        module = self.modules.get(name, _NEEDS_LOADING)
        if module is _NEEDS_LOADING:
            return self._do_find_and_load(name)
        if module is None:
            raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules", name=name)
        # Stdlib modules that fake submodules through sys.modules (pytorch/pytorch#57490).
        if name == "os":
            self.modules["os.path"] = module.path  # type: ignore[attr-defined]
        elif name == "typing":
            self.modules["typing.io"] = module.io  # type: ignore[attr-defined]
            self.modules["typing.re"] = module.re  # type: ignore[attr-defined]
        return module  # type: ignore[return-value]

    def _gcd_import(self, name: str, package: Any = None, level: int = 0) -> types.ModuleType:
        sanity_check(name, package, level)
        if level > 0:
            name = resolve_name(name, package, level)
        return self._find_and_load(name)

    def _handle_fromlist(
        self, module: types.ModuleType, fromlist: Any, *, recursive: bool = False
    ) -> types.ModuleType:
        if not hasattr(module, "__path__"):
            return module
        module_name = demangle(module.__name__)
        for item in fromlist:
            if not isinstance(item, str):
                where = module_name + ".__all__" if recursive else "``from list''"
                raise TypeError(f"Item in {where} must be str, not {type(item).__name__}")
            if item == "*":
                if not recursive and hasattr(module, "__all__"):
                    self._handle_fromlist(module, module.__all__, recursive=True)
            elif not hasattr(module, item):
                from_name = f"{module_name}.{item}"
                try:
                    self._gcd_import(from_name)
                except ModuleNotFoundError as exc:
                    # Like CPython: a missing submodule named in a fromlist is not an error.
                    if (
                        exc.name == from_name
                        and self.modules.get(from_name, _NEEDS_LOADING) is not None
                    ):
                        continue
                    raise
        return module

    def _get_package(self, package: Any) -> types.ModuleType:
        """The package module for a name or module; TypeError if it is a plain module."""
        if hasattr(package, "__spec__"):
            if package.__spec__.submodule_search_locations is None:
                raise TypeError(f"{package.__spec__.name!r} is not a package")
            return package
        module = self.import_module(package)
        if module.__spec__.submodule_search_locations is None:  # type: ignore[union-attr]
            raise TypeError(f"{package!r} is not a package")
        return module

    def _zipfile_path(self, package: Any, resource: Optional[str] = None) -> str:
        package_module = self._get_package(package)
        assert package_module.__loader__ is self
        folder = demangle(package_module.__name__).replace(".", "/")
        if resource is None:
            return folder
        return f"{folder}/{normalize_resource_name(resource)}"

    def _get_or_create_package(self, atoms: List[str]) -> Union[_PackageNode, _ExternNode]:
        node = self.root
        for i, atom in enumerate(atoms):
            child = node.children.get(atom)
            if child is None:
                child = node.children[atom] = _PackageNode(None)
            if isinstance(child, _ExternNode):
                return child
            if isinstance(child, _ModuleNode):
                raise ImportError(
                    f"inconsistent module structure. module {'.'.join(atoms[:i])} is not a "
                    "package, but has submodules"
                )
            assert isinstance(child, _PackageNode)
            node = child
        return node

    def _add_file(self, filename: str) -> None:
        *prefix, last = filename.split("/")
        # Framework records (.data/<n>.storage, .data/ts_code/...) are not modules. Like torch,
        # only records at least two levels deep are skipped: .data itself becomes an empty
        # package node.
        if len(prefix) > 1 and prefix[0] == ".data":
            return
        package = self._get_or_create_package(prefix)
        if isinstance(package, _ExternNode):
            raise ImportError(
                f"inconsistent module structure. package contains a module file {filename}"
                " that is a subpackage of a module marked external."
            )
        if last == "__init__.py":
            package.source_file = filename
        elif last.endswith(".py"):
            package.children[last[: -len(".py")]] = _ModuleNode(filename)

    def _add_extern(self, extern_name: str) -> None:
        *prefix, last = extern_name.split(".")
        package = self._get_or_create_package(prefix)
        if isinstance(package, _ExternNode):
            return  # a shorter extern already covers this one
        package.children[last] = _ExternNode()


class _WeakLoader:
    """``get_source`` of an importer that may be gone (then there is no source: None)."""

    def __init__(self, importer: PackageImporter) -> None:
        self._importer = weakref.ref(importer)

    def get_source(self, module_name: str) -> Optional[str]:
        importer = self._importer()
        return None if importer is None else importer.get_source(module_name)


def _is_torch_file_reader(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    reader_type = getattr(getattr(torch, "_C", None), "PyTorchFileReader", None)
    return reader_type is not None and isinstance(obj, reader_type)


class _PackageResourceReader:
    """``importlib.abc.ResourceReader`` for one package of an importer."""

    def __init__(self, importer: PackageImporter, fullname: str) -> None:
        self.importer = importer
        self.fullname = fullname

    def open_resource(self, resource: str) -> io.BytesIO:
        return io.BytesIO(self.importer.load_binary(self.fullname, resource))

    def resource_path(self, resource: str) -> str:
        # Only an unzipped package has real file paths; otherwise the contract is to raise.
        reader = self.importer._records
        record = os.path.join(self.fullname, resource)
        if isinstance(reader, DirectoryReader) and reader.has_record(record):
            return os.path.join(reader.directory, self.fullname, resource)
        raise FileNotFoundError

    def is_resource(self, name: str) -> bool:
        return self.importer._records.has_record(self.importer._zipfile_path(self.fullname, name))

    def contents(self) -> Iterator[str]:
        base = Path(self.importer._zipfile_path(self.fullname))
        seen_folders = set()
        for record in self.importer._records.get_all_records():
            try:
                relative = Path(record).relative_to(base)
            except ValueError:
                continue
            folder = relative.parent.name
            if not folder:
                yield relative.name
            elif folder not in seen_folders:
                seen_folders.add(folder)
                yield folder


# `inspect` finds a class's file through sys.modules, where packaged modules never are: look in
# the registry of package-imported modules first. torch.package installs the same patch when it
# is imported; sealpkg installs it when the first importer is made (importing sealpkg to verify
# packages changes nothing in `inspect`).
_previous_getfile: Optional[Callable[[Any], str]] = None


def _getfile(obj: Any) -> str:
    if inspect.isclass(obj):
        module = _package_imported_modules.get(obj.__module__)
        if module is not None and module.__file__ is not None:
            return module.__file__
    assert _previous_getfile is not None
    return _previous_getfile(obj)


def _patch_inspect_getfile() -> None:
    global _previous_getfile
    if _previous_getfile is None:
        _previous_getfile = inspect.getfile
        inspect.getfile = _getfile
