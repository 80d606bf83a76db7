"""Differential test: sealpkg.Directory against torch.package.Directory (torch 1.13).

Randomized file lists (deep paths, empty segments, unicode, names whose byte order differs
from their case-insensitive order, file/folder collisions, duplicates) are added to both
trees in the same order; the trees, has_file() and the printed text must be torch's.
"""
from __future__ import annotations

import importlib
import random
from typing import List

import pytest
import sealpkg
from torch.package.file_structure_representation import Directory as TorchDirectory
from torch.package.file_structure_representation import _create_directory_from_file_list

NAMES = [
    "a", "b", "A", "B", "Z", "z", "_x", "__init__.py", "model.pkl", "Model.pkl", "MODEL.pkl",
    "a.py", "B.py", "b.py", "é.py", "É", "e", "ß", "日本", "日本語.txt", "🙂", "x🙂y", "ﬀ",
    "0", "10", "9", "-", ".data", ".hidden", "~", "a b", "tab\tname", "Ä", "ä", "a\u0301",
    "\u00e1", "zz" * 20, "storage.0", "0.storage",
]


def _segment(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        return ""  # "a//b", leading or trailing '/'
    if r < 0.75:
        return rng.choice(NAMES[:12])  # collide often
    if r < 0.9:
        return rng.choice(NAMES)
    return "".join(rng.choice("aAbBéÉ日🙂_.-0") for _ in range(rng.randint(1, 4)))


def random_paths(rng: random.Random, count: int) -> List[str]:
    paths: List[str] = []
    for _ in range(count):
        r = rng.random()
        if r < 0.1 and paths:
            paths.append(rng.choice(paths))  # duplicate
            continue
        if r < 0.2 and paths:  # extend an existing path: a file becomes a folder
            paths.append(rng.choice(paths) + "/" + _segment(rng))
            continue
        if r < 0.25 and paths:  # a prefix of an existing path: a folder becomes a file
            parts = rng.choice(paths).split("/")
            paths.append("/".join(parts[: rng.randint(1, len(parts))]))
            continue
        depth = rng.randint(40, 120) if rng.random() < 0.02 else rng.randint(1, 6)
        paths.append("/".join(_segment(rng) for _ in range(depth)))
    return paths


def assert_same_tree(ours, ref, where: str = "") -> None:
    """Same nodes, names, kinds and children (in insertion order), recursively."""
    stack = [(ours, ref, where or ref.name)]
    while stack:
        o, r, path = stack.pop()
        assert type(o).__name__ == "Directory"
        assert o.name == r.name, path
        assert o.is_dir == r.is_dir, path
        assert list(o.children) == list(r.children), path
        for key in r.children:
            stack.append((o.children[key], r.children[key], f"{path}/{key}"))


def _queries(rng: random.Random, paths: List[str]) -> List[str]:
    out = ["", "/", "a", "a/", "nothing", "A", "a/b/c/d/e/f"]
    for p in rng.sample(paths, min(len(paths), 40)):
        parts = p.split("/")
        out.append(p)
        out.append("/".join(parts[: rng.randint(1, len(parts))]))
        out.append(p + "/" + rng.choice(NAMES))
        out.append(p.upper())
        out.append(p.replace("a", "A", 1))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_trees_match_torch(seed: int) -> None:
    rng = random.Random(seed)
    paths = random_paths(rng, rng.choice([1, 5, 30, 150, 400]))
    root = rng.choice(["/tmp/x/model.pt", "model.pt", "", "日本.pt", "a/b"])
    ours = sealpkg.Directory(root, True)
    ref = TorchDirectory(root, True)
    for p in paths:
        ours._add_file(p)
        ref._add_file(p)
    assert_same_tree(ours, ref)
    assert str(ours) == str(ref)
    for q in _queries(rng, paths):
        assert ours.has_file(q) == ref.has_file(q), q


def test_byte_order_versus_case_order() -> None:
    paths = ["b.py", "B.py", "a/x", "A/x", "Z.py", "z.py", "_a", "~a", "é", "e", "É", "日",
             "🙂", "\uffff", "ﬀ", "a\u0301", "\u00e1", "10", "9", "dir/Zeta", "dir/alpha"]
    ours = sealpkg.Directory("pkg.pt", True)
    ref = TorchDirectory("pkg.pt", True)
    for p in paths:
        ours._add_file(p)
        ref._add_file(p)
    assert str(ours) == str(ref)
    lines = str(ref).splitlines()
    assert lines.index("    ├── B.py") < lines.index("    ├── b.py")  # code point order


def test_deep_path() -> None:
    deep = "/".join(f"d{i}" for i in range(300)) + "/leaf.py"
    ours = sealpkg.Directory("root", True)
    ref = TorchDirectory("root", True)
    for p in (deep, "top.py", deep.rsplit("/", 5)[0] + "/side.txt"):
        ours._add_file(p)
        ref._add_file(p)
    assert str(ours) == str(ref)
    assert ours.has_file(deep) and ref.has_file(deep)
    assert_same_tree(ours, ref)


def test_empty_and_single_trees() -> None:
    for root in ["", "x", "a/b.pt"]:
        assert str(sealpkg.Directory(root, True)) == str(TorchDirectory(root, True))
        assert str(sealpkg.Directory(root, False)) == str(TorchDirectory(root, False))
    ours, ref = sealpkg.Directory("r", True), TorchDirectory("r", True)
    ours._add_file("")
    ref._add_file("")
    assert str(ours) == str(ref)
    assert ours.has_file("") and ref.has_file("")


def test_file_then_folder_collisions() -> None:
    sequences = [
        ["a", "a/b"],  # a file node that then gets children
        ["a/b", "a"],  # a folder replaced by a file
        ["a/b/c", "a/b", "a/b/d"],
        ["x/y", "x/y/z", "x/y"],
        ["a/", "a"],
        ["/a", "a"],
    ]
    for seq in sequences:
        ours, ref = sealpkg.Directory("root", True), TorchDirectory("root", True)
        for p in seq:
            ours._add_file(p)
            ref._add_file(p)
        assert str(ours) == str(ref), seq
        assert_same_tree(ours, ref)
        for q in ["a", "a/b", "a/b/c", "a/b/d", "x/y/z", "", "a/"]:
            assert ours.has_file(q) == ref.has_file(q), (seq, q)


def test_hand_built_trees_print_like_torch() -> None:
    """torch prints a folder child's own name and a file child's dict key."""

    def build(cls):
        top = cls("top", True)
        top.children["key_dir"] = cls("other_name", True)
        top.children["key_dir"].children["f"] = cls("g", False)
        top.children["file_key"] = cls("file_name", False)
        top.children["file_key"].children["hidden"] = cls("hidden", True)  # files hide children
        top.children["empty"] = cls("empty", True)
        return top

    assert str(build(sealpkg.Directory)) == str(build(TorchDirectory))


def test_children_api() -> None:
    ours, ref = sealpkg.Directory("r", True), TorchDirectory("r", True)
    for p in ["pkg/__init__.py", "pkg/sub/mod.py", "res.txt"]:
        ours._add_file(p)
        ref._add_file(p)
    assert isinstance(ours.children, dict)
    assert list(ours.children) == ["pkg", "res.txt"]
    assert ours.children["pkg"].is_dir and not ours.children["res.txt"].is_dir
    assert ours.children["pkg"].children["sub"].children["mod.py"].name == "mod.py"
    assert_same_tree(ours, ref)


@pytest.mark.parametrize("seed", range(10))
def test_directory_from_records_with_globs(seed: int) -> None:
    """The tree file_structure() builds: torch's _create_directory_from_file_list."""
    fs = importlib.import_module("sealpkg.file_structure")
    rng = random.Random(1000 + seed)
    records = list(dict.fromkeys(p for p in random_paths(rng, 120) if p))
    globs = ["**", "a/**", "*/*.py", "**/*.pkl", "b", "**/__init__.py", "*", "A/**/b.py"]
    include = rng.sample(globs, rng.randint(1, 3))
    exclude = rng.sample(globs, rng.randint(0, 2))
    ours = fs._directory_from_records("pkg.pt", records, include, exclude)
    ref = _create_directory_from_file_list("pkg.pt", records, include, exclude)
    assert str(ours) == str(ref)
    assert_same_tree(ours, ref)


def test_names_python_can_hold_but_utf8_cannot() -> None:
    """A Directory is plain Python: any str is a valid name (e.g. surrogateescape'd bytes)."""
    paths = ["a/\udcff.py", "\ud800", "ok.py"]
    ours, ref = sealpkg.Directory("r\udcfe", True), TorchDirectory("r\udcfe", True)
    for p in paths:
        ours._add_file(p)
        ref._add_file(p)
    assert ours.has_file("a/\udcff.py") and ref.has_file("a/\udcff.py")
    assert str(ours) == str(ref)
