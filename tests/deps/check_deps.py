#!/usr/bin/python3
"""Fails on a dependency edge between sealpkg components that the architecture forbids.

    check_deps.py --graph BUILD/tests/deps/link_graph.tsv --source-root REPO

The contract is shared/design/ARCHITECTURE.md, "Allowed edges":

    core <- archive <- verifier; core/archive <- signing; core <- sandbox;
    loader -> {archive, verifier, signing, sandbox}; cli -> everything; nothing depends on
    loader except the Python module and the worker. `verifier` and `archive` never link
    Python, pybind11, Boost.Process or libseccomp.

Two views are checked against ALLOWED below (a direct edge to anything reachable through
allowed edges is allowed too):

* the CMake link graph (link_graph.tsv, written at configure time by tests/deps/CMakeLists.txt:
  each component target's LINK_LIBRARIES, the imported targets they reach, and the sources of
  each target);
* every `#include "<component>/..."` line of every .cc/.h under a component folder. A .cc file
  belongs to the target that compiles it, a header to the target compiling the .cc of the same
  name, other headers to their folder's library.

The forbidden third-party libraries (Python, pybind11, Boost, libseccomp) are checked for
every component reachable from `archive` and `verifier`, through links and through includes.
Unknown targets in a component folder fail the check (the rules must name every target).
Exit 0 when clean, 1 with one line per forbidden edge, 2 on unusable input.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

# Direct edges the architecture allows, by component. "worker" is the sealpkg-worker executable
# (sandbox/ folder), "python" the sealpkg._native module, "cli" the sealpkg command.
ALLOWED: Dict[str, Set[str]] = {
    "core": set(),
    "archive": {"core"},
    "verifier": {"archive", "core"},
    "signing": {"archive", "core"},
    "sandbox": {"core"},
    # The safetensors reader/writer (sandbox/ folder, `sealpkg extract|run`): its own library so
    # that the sandbox library and the worker keep depending on core only.
    "safetensors": {"sandbox", "signing", "core"},
    "loader": {"archive", "verifier", "signing", "sandbox", "core"},
    # "cli -> everything" except loader: only the Python module and the worker depend on loader.
    "cli": {"core", "archive", "verifier", "signing", "sandbox", "safetensors"},
    "worker": {"sandbox", "safetensors", "loader", "core"},
    "python": {"core", "archive", "verifier", "signing", "loader", "sandbox", "safetensors"},
}

# Target name -> component.
TARGETS: Dict[str, str] = {
    "sealpkg_core": "core",
    "sealpkg_archive": "archive",
    "sealpkg_verifier": "verifier",
    "sealpkg_signing": "signing",
    "sealpkg_loader": "loader",
    "sealpkg_sandbox": "sandbox",
    "sealpkg_safetensors": "safetensors",
    "sealpkg_worker": "worker",
    "sealpkg_cli": "cli",
    "sealpkg_native": "python",
}

# Folder -> the component its headers belong to.
FOLDERS: Dict[str, str] = {c: c for c in
                           ("core", "archive", "verifier", "signing", "loader", "sandbox", "cli",
                            "python")}

# Components that must stay free of the embedding and sandboxing stacks, with everything they
# depend on (computed below).
PURE = ("archive", "verifier")

# Third-party libraries PURE components may not link (CMake target or file names) ...
FORBIDDEN_LINK = re.compile(r"^(Python::|pybind11::|Boost::|PkgConfig::LIBSECCOMP$)|"
                            r"(^|/)lib(python3[.0-9]*|seccomp|boost_[a-z_]+)[^/]*$")
# ... or include.
FORBIDDEN_INCLUDE = re.compile(r"^(Python\.h|pybind11/.*|boost/.*|seccomp\.h)$")

# Another component's internal/ header is off limits (CONVENTIONS.md item 8), except these,
# each with its reason. (including file's component, header)
INTERNAL_EXCEPTIONS: Dict[Tuple[str, str], str] = {
    # Signing appends its entry to an archive with the exact record layout the canonical writer
    # uses (ZIP constants and little-endian writers), so both stay byte-identical.
    ("signing", "archive/internal/zip_format.h"): "ZIP record layout shared with the writer",
    ("signing", "archive/internal/le_writer.h"): "ZIP record layout shared with the writer",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


@dataclass
class Graph:
    target_component: Dict[str, str] = field(default_factory=dict)  # our targets
    links: Dict[str, List[str]] = field(default_factory=dict)  # target -> direct link items
    sources: Dict[str, str] = field(default_factory=dict)  # absolute source path -> target
    problems: List[str] = field(default_factory=list)


def closure(component: str, allowed: Dict[str, Set[str]] = ALLOWED) -> Set[str]:
    """Every component reachable from `component` through allowed edges (itself excluded)."""
    seen: Set[str] = set()
    todo = list(allowed.get(component, ()))
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.add(c)
            todo.extend(allowed.get(c, ()))
    return seen


def pure_components() -> Set[str]:
    out = set(PURE)
    for c in PURE:
        out |= closure(c)
    return out


_GENEX = re.compile(r"^\$<(LINK_ONLY|BUILD_INTERFACE):(.*)>$")


def _strip_genex(item: str) -> Optional[str]:
    """The library a link item names; None for an install-only item; raises on other genexes."""
    if item.startswith("$<INSTALL_INTERFACE:"):
        return None
    m = _GENEX.match(item)
    if m:
        return m.group(2)
    if "$<" in item:
        raise ValueError(f"cannot interpret link item {item!r}")
    return item


def parse_graph(lines: Iterable[str]) -> Graph:
    g = Graph()
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"link graph line {n}: expected 3 tab-separated fields: {line!r}")
        kind, target, value = parts
        if kind == "target":
            component = TARGETS.get(target)
            if component is None:
                g.problems.append(f"unknown target {target} in {value}/: add it to TARGETS and "
                                  "ALLOWED in tests/deps/check_deps.py")
                component = "?" + target
            g.target_component[target] = component
            g.links.setdefault(target, [])
        elif kind == "link":
            try:
                lib = _strip_genex(value)
            except ValueError as e:
                g.problems.append(f"{target}: {e}")
                continue
            if lib:
                g.links.setdefault(target, []).append(lib)
        elif kind == "source":
            g.sources[str(Path(value))] = target
        elif kind == "imported":
            g.links.setdefault(target, [])
        else:
            raise ValueError(f"link graph line {n}: unknown kind {kind!r}")
    return g


def check_links(g: Graph) -> List[str]:
    """Forbidden direct edges between our targets, and forbidden libraries reachable from a
    pure component through any chain of links."""
    problems: List[str] = []
    for target, component in sorted(g.target_component.items()):
        allowed = ALLOWED.get(component, set())
        reachable = allowed | closure(component)
        for lib in g.links.get(target, []):
            dep = g.target_component.get(lib)
            if dep is not None and dep != component and dep not in reachable:
                problems.append(f"link: {target} ({component}) -> {lib} ({dep}) is not an "
                                f"allowed edge; {component} may depend on "
                                f"{sorted(reachable) or 'nothing of ours'}")
    pure = pure_components()
    reported: Set[Tuple[str, str]] = set()  # the offending edge, once even if several reach it
    for target, component in sorted(g.target_component.items()):
        if component not in pure:
            continue
        # Breadth-first over every link item, through our targets and imported ones, stopping
        # at the first forbidden library of each chain.
        path_to: Dict[str, List[str]] = {target: [target]}
        todo = [target]
        while todo:
            cur = todo.pop(0)
            for lib in g.links.get(cur, []):
                if lib in path_to:
                    continue
                path_to[lib] = path_to[cur] + [lib]
                if not FORBIDDEN_LINK.search(lib):
                    todo.append(lib)
                elif (cur, lib) not in reported:
                    reported.add((cur, lib))
                    problems.append(f"link: {target} ({component}) reaches {lib}, which "
                                    f"{component} must never link: {' -> '.join(path_to[lib])}")
    return problems


def _component_of_file(path: Path, root: Path, g: Graph) -> Optional[str]:
    """The target compiling the file (a header: the target compiling its .cc, if any), else the
    folder's library."""
    for candidate in (path, path.with_suffix(".cc")):
        target = g.sources.get(str(candidate))
        if target is not None and target in g.target_component:
            return g.target_component[target]
    rel = path.relative_to(root)
    return FOLDERS.get(rel.parts[0])


def source_files(root: Path) -> List[Path]:
    out = []
    for folder in FOLDERS:
        base = root / folder
        if base.is_dir():
            out += sorted(p for p in base.rglob("*") if p.suffix in (".cc", ".h") and p.is_file())
    return out


def check_includes(root: Path, g: Graph, files: Optional[List[Path]] = None) -> List[str]:
    """Forbidden `#include "<component>/..."` lines and forbidden third-party headers."""
    problems: List[str] = []
    pure = pure_components()
    for path in files if files is not None else source_files(root):
        component = _component_of_file(path, root, g)
        if component is None:
            continue
        reachable = ALLOWED.get(component, set()) | closure(component)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"include: cannot read {path}: {e}")
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            header = m.group(2)
            where = f"{path.relative_to(root)}:{lineno}"
            top = header.split("/", 1)[0]
            if m.group(1) == '"' and "/" in header and top in FOLDERS:
                dep = FOLDERS[top]
                if dep != component and dep not in reachable:
                    problems.append(f"include: {where} ({component}) includes \"{header}\" "
                                    f"({dep}): not an allowed edge")
                elif (dep != component and header.split("/")[1:2] == ["internal"]
                      and (component, header) not in INTERNAL_EXCEPTIONS):
                    problems.append(f"include: {where} ({component}) includes {dep}'s internal "
                                    f"header \"{header}\"")
            if component in pure and FORBIDDEN_INCLUDE.match(header):
                problems.append(f"include: {where} ({component}) includes <{header}>, which "
                                f"{component} must never use")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, required=True)
    parser.add_argument("--source-root", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        g = parse_graph(args.graph.read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError) as e:
        print(f"check_deps: {e}", file=sys.stderr)
        return 2
    root = args.source_root.resolve()
    if not g.target_component:
        print(f"check_deps: no component targets in {args.graph}", file=sys.stderr)
        return 2
    problems = g.problems + check_links(g) + check_includes(root, g)
    counts: Tuple[int, int, int] = (len(g.target_component), sum(map(len, g.links.values())),
                                    len(source_files(root)))
    for p in problems:
        print(p)
    print(f"check_deps: {counts[0]} targets, {counts[1]} link items, {counts[2]} sources: "
          f"{len(problems)} forbidden edge(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
