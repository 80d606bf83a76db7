"""Differential test: sealpkg's C++ import scanner against Python's own parser (``ast``).

Over every ``.py`` file of the Python standard library (``/usr/lib/python3.11``) and of
torchvision, the imports sealpkg's scanner (verifier/import_scanner.h, through
``_native.scan_python_source``) finds must be a **superset** of what ``ast`` finds:

* every ``Import`` alias as ``(name, None)`` and every ``ImportFrom`` alias as
  ``(resolved module, name)`` at the alias's line, relative imports resolved against the file's
  package the way importlib does (one that goes above the top must be reported as
  ``relative-beyond-top`` instead);
* every ``__import__("literal", ...)`` call (anywhere, nested in calls or lambdas too) as an
  import of the resolved module, or as a ``dynamic-import`` / ``relative-beyond-top`` use when its
  fromlist or level is not a literal;

and the scanner must accept every file ``ast`` accepts. Files ``ast`` itself rejects are
skipped; their number is printed (and must stay small), as are the totals and the number of
imports we find beyond ``ast`` (``importlib.import_module`` calls, ``x.__import__(...)``,
fromlist items). A seeded mutation round then inserts quotes, backslashes, line ends, brackets,
f-string prefixes and import fragments into standard-library sources and holds every mutant
``ast`` still accepts to the same rules, which exercises the tokenizer's corner cases. The whole
run takes well under a minute.
"""
from __future__ import annotations

import ast
import random
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest
from sealpkg import _native

CORPORA = {
    # name: (root folder, module prefix)
    "stdlib": (Path("/usr/lib/python3.11"), ""),
    "torchvision": (Path("/usr/lib/python3/dist-packages/torchvision"), "torchvision"),
}
MAX_SKIPPED = 10  # files ast rejects (lib2to3 test data and the like)


def module_of(root: Path, prefix: str, path: Path) -> Tuple[str, bool]:
    """The dotted module name of ``path`` under ``root`` and whether it is a package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    if prefix:
        parts.insert(0, prefix)
    return ".".join(parts), is_package


def resolve(name: str, package: str, level: int) -> Optional[str]:
    """importlib._bootstrap._resolve_name, None above the top (or without a package)."""
    if level == 0:
        return name
    if not package:
        return None
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        return None
    return f"{bits[0]}.{name}" if name else bits[0]


def _constant_int(node: Optional[ast.expr]) -> Optional[int]:
    if node is None:
        return 0
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    return None


class Expected:
    """What ast says one file imports."""

    def __init__(self) -> None:
        self.statement_imports: Set[Tuple[str, Optional[str], int]] = set()
        self.beyond_top: Set[Tuple[str, int]] = set()  # (item, line)
        self.dunder: List[Tuple[Optional[str], int]] = []  # (resolved module or None, line)


def ast_imports(tree: ast.AST, module: str, is_package: bool) -> Expected:
    package = module if is_package else module.rpartition(".")[0]
    out = Expected()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.statement_imports.add((alias.name, None, alias.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module or "", package, node.level)
            for alias in node.names:
                if base is None:
                    out.beyond_top.add((alias.name, alias.lineno))
                else:
                    out.statement_imports.add((base, alias.name, alias.lineno))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "__import__" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            level_node = node.args[4] if len(node.args) > 4 else None
            for kw in node.keywords:
                if kw.arg == "level":
                    level_node = kw.value
            level = _constant_int(level_node)
            resolved = None if level is None else resolve(node.args[0].value, package, level)
            out.dunder.append((resolved, node.lineno))
    return out


def check_file(path: Path, module: str, is_package: bool, source: bytes,
               tree: ast.AST) -> Tuple[List[str], int, int]:
    """Problems found in one file, the number of ast imports and of our extra imports."""
    try:
        ours = _native.scan_python_source(source, module, is_package)
    except Exception as e:  # noqa: BLE001 - any rejection of a file ast accepts is a failure
        return [f"{path}: scanner rejects a file ast accepts: {e}"], 0, 0
    expected = ast_imports(tree, module, is_package)
    problems: List[str] = []

    statement = {(i["module"], i["name"], i["line"]) for i in ours["imports"]
                 if i["kind"] in ("import", "from-import")}
    for missing in sorted(expected.statement_imports - statement, key=str):
        problems.append(f"{path}:{missing[2]}: import {missing[0]!r} name {missing[1]!r} missed")
    beyond = {(u["name"], u["line"]) for u in ours["uses"] if u["kind"] == "relative-beyond-top"}
    for missing in sorted(expected.beyond_top - beyond, key=str):
        problems.append(f"{path}:{missing[1]}: relative import beyond top not reported")

    dunder_lines = {(i["module"], i["line"]) for i in ours["imports"]
                    if i["kind"] == "dunder-import"}
    dynamic_lines = {u["line"] for u in ours["uses"]
                     if u["kind"] in ("dynamic-import", "relative-beyond-top")}
    for resolved, line in expected.dunder:
        if (resolved, line) not in dunder_lines and line not in dynamic_lines:
            problems.append(f"{path}:{line}: __import__ of {resolved!r} missed")

    ast_pairs = {(m, n) for m, n, _ in expected.statement_imports}
    ast_pairs |= {(m, None) for m, _ in expected.dunder if m is not None}
    our_pairs = {(i["module"], i["name"]) for i in ours["imports"]}
    return problems, len(ast_pairs), len(our_pairs - ast_pairs)


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_scanner_finds_every_import_ast_finds(corpus: str, capsys: pytest.CaptureFixture) -> None:
    root, prefix = CORPORA[corpus]
    files = sorted(root.rglob("*.py"))
    assert files, f"no .py files under {root}"
    started = time.monotonic()
    problems: List[str] = []
    skipped: List[str] = []
    scanned = ast_total = extra_total = 0
    for path in files:
        source = path.read_bytes()
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as e:
            skipped.append(f"{path}: {type(e).__name__}: {e}")
            continue
        module, is_package = module_of(root, prefix, path)
        file_problems, n_ast, n_extra = check_file(path, module, is_package, source, tree)
        problems += file_problems
        scanned += 1
        ast_total += n_ast
        extra_total += n_extra
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[{corpus}] {scanned} files scanned, {len(skipped)} skipped (ast rejects them), "
              f"{ast_total} distinct (module, name) imports per ast, {extra_total} more found by "
              f"sealpkg, {elapsed:.1f} s")
        for s in skipped:
            print(f"  skipped {s}")
    assert len(skipped) <= MAX_SKIPPED, skipped
    assert not problems, "\n".join(problems[:50]) + f"\n({len(problems)} problems)"
    assert elapsed < 60


# Fragments the mutation round inserts: everything that changes what is code and what is not.
MUTATION_FRAGMENTS = [
    b"'", b'"', b"'''", b'"""', b"\\", b"\n", b"\r", b"\r\n", b"#", b"{", b"}", b"f", b"rf",
    b"b", b"u", b"(", b")", b"[", b"]", b";", b":", b" ", b"\t", b"\\\n", b"import os\n",
    b"from . import x\n", b"from .. import (y,)\n", b"__import__('q')",
    b"f'{__import__(\"z\")}'", b"!r", b"=", b".", b"...", "ｅ".encode(),
]
MUTATION_SEED = 20240613
MUTATIONS = 2500


def _mutate(rng: random.Random, source: bytes) -> bytes:
    data = bytearray(source)
    if len(data) > 12000:  # a window of whole lines keeps ast fast
        start = rng.randrange(0, len(data) - 12000)
        data = data[start:start + 12000]
        data = data[data.find(b"\n") + 1:data.rfind(b"\n") + 1]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(0, len(data) + 1)
        if rng.random() < 0.7:
            data[at:at] = rng.choice(MUTATION_FRAGMENTS)
        else:
            del data[at:at + rng.randint(1, 3)]
    return bytes(data)


def test_mutated_sources(capsys: pytest.CaptureFixture) -> None:
    root, _ = CORPORA["stdlib"]
    files = sorted(root.rglob("*.py"))
    rng = random.Random(MUTATION_SEED)
    problems: List[str] = []
    accepted = 0
    started = time.monotonic()
    for i in range(MUTATIONS):
        path = rng.choice(files)
        source = _mutate(rng, path.read_bytes())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        accepted += 1
        module, is_package = rng.choice([("pkg.mod", False), ("a.b.c", True), ("top", False)])
        file_problems, _, _ = check_file(Path(f"{path}#mutant{i}"), module, is_package, source,
                                         tree)
        problems += file_problems
    with capsys.disabled():
        print(f"\n[mutants] {MUTATIONS} mutated stdlib sources, {accepted} accepted by ast, "
              f"{len(problems)} problems, {time.monotonic() - started:.1f} s")
    assert accepted > MUTATIONS // 10
    assert not problems, "\n".join(problems[:50])


# A few hand-written sources ast accepts, with the exact imports torch 1.13 would miss.
TRICKY: Dict[str, Tuple[str, bool, Set[Tuple[str, Optional[str]]]]] = {
    "nested_dunder": ("print(len(__import__('a.b')))\nf = lambda: __import__('c', fromlist=['d'])\n",
                      "m", False, {("a.b", None), ("c", "d")}),
    "fstring_dunder": ("x = f\"{__import__('os').getcwd()!r:>{10}}\"\n", "m", False,
                       {("os", None)}),
    "relative_in_package": ("from . import x\nfrom .. import y\n", "p.q", True,
                            {("p.q", "x"), ("p", "y")}),
    "import_module": ("import importlib\nimportlib.import_module('.s', 'p')\n", "m", False,
                      {("importlib", None), ("p.s", None)}),
}


@pytest.mark.parametrize("key", sorted(TRICKY))
def test_tricky_sources(key: str) -> None:
    source, module, is_package, expected = TRICKY[key]
    ast.parse(source)
    ours = _native.scan_python_source(source.encode(), module, is_package)
    assert {(i["module"], i["name"]) for i in ours["imports"]} == expected


def test_dotless_module_relative_import_is_beyond_top() -> None:
    # torch 1.13 resolves this against the module itself (reference §6.8); CPython refuses it.
    ours = _native.scan_python_source(b"from . import y\n", "x", False)
    assert ours["imports"] == []
    assert [(u["kind"], u["module"], u["name"]) for u in ours["uses"]] == [
        ("relative-beyond-top", ".", "y")]


def test_errors_are_sealpkg_errors() -> None:
    import sealpkg.errors
    with pytest.raises(sealpkg.errors.MalformedError, match=r"source\.syntax.*line 1, column 5"):
        _native.scan_python_source(b"x = 'unterminated\n", "m", False)
