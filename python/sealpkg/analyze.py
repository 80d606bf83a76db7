"""Tools to understand a package's dependencies (``torch.package.analyze`` equivalents).

``is_from_package`` tells whether an object came out of a package; ``trace_dependencies`` runs a
callable and lists the modules of the functions it called; ``find_first_use_of_broken_modules``
reads the dependency graph attached to a packaging error and reports, for every module with an
error, the path through which it was first reached.
"""
from __future__ import annotations

import sys
import types
from typing import Any, Callable, Dict, Iterable, List, Set, Tuple

from ._mangling import is_mangled

__all__ = ["find_first_use_of_broken_modules", "is_from_package", "trace_dependencies"]


def is_from_package(obj: Any) -> bool:
    """Whether ``obj`` (a module, or an instance) was loaded from a package.

    As in torch 1.13, a non-module is judged by ``type(obj).__module__``: instances of packaged
    classes are, a packaged class object itself is not (its type is ``type``), and objects of
    externed modules are not.
    """
    if type(obj) is types.ModuleType:
        return is_mangled(obj.__name__)
    return is_mangled(type(obj).__module__)


def trace_dependencies(
    callable: Callable[..., Any], inputs: Iterable[Tuple[Any, ...]]
) -> List[str]:
    """Call ``callable(*args)`` for every ``args`` in ``inputs`` under a profiler and return the
    modules (``__module__``) of the Python functions it called, in no particular order."""
    modules_used: Set[str] = set()

    def record(frame: types.FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = frame.f_code.co_name
        module = None
        if name in frame.f_globals:
            module = getattr(frame.f_globals[name], "__module__", None)
        elif name in frame.f_locals:
            module = getattr(frame.f_locals[name], "__module__", None)
        elif "self" in frame.f_locals:
            method = getattr(frame.f_locals["self"], name, None)
            module = getattr(method, "__module__", None) if method else None
        if module:
            modules_used.add(module)

    try:
        sys.setprofile(record)
        for args in inputs:
            callable(*args)
    finally:
        sys.setprofile(None)
    return list(modules_used)


def _first_path(graph: Any, target: str) -> List[str]:
    """The path to ``target`` following, at each step, the predecessor inserted first."""
    first_path = getattr(graph, "first_path", None)
    if first_path is not None:
        return list(first_path(target))
    order = {name: i for i, name in enumerate(graph.nodes)}
    path: List[str] = []
    seen: Set[str] = set()
    node = target
    while node and node not in seen:  # a cycle ends the walk instead of looping
        seen.add(node)
        path.append(node)
        known = [p for p in graph.predecessors(node) if p in order]
        node = min(known, key=order.__getitem__) if known else ""
    return list(reversed(path))


def find_first_use_of_broken_modules(exc: Any) -> Dict[str, List[str]]:
    """For every module with an ``error`` in ``exc.dependency_graph`` (a PackagingError's
    graph), the dependency path through which it was first reached, e.g.
    ``{"m.n.o": ["a.b.c", "m.n.o"]}``."""
    graph = getattr(exc, "dependency_graph", None)
    if graph is None:
        raise TypeError("exception must be a PackagingError (it needs a .dependency_graph)")
    broken = [name for name, attrs in graph.nodes.items() if attrs.get("error", False)]
    return {name: _first_path(graph, name) for name in broken}
