"""Differential test: sealpkg.GlobGroup against torch.package.GlobGroup (torch 1.13).

A seeded generator builds thousands of (include, exclude, separator, candidate) cases from a
small alphabet (separators, '*', '**' segments, empty segments, the other separator as a
literal, regex metacharacters, non-ASCII); every answer must be torch's.
"""
from __future__ import annotations

import random
from typing import List, Tuple

import pytest
import sealpkg
import torch.package

SEPARATORS = [".", "/"]
SEED_COUNT = 8
GROUPS_PER_SEED = 1000
CANDIDATES_PER_GROUP = 12

# Literal characters patterns and candidates are made of (weights favour collisions).
LITERALS = ["a"] * 12 + ["b"] * 8 + ["_", "-", "é", "日", "+", "?", "[", "]", "(", "\\", "^", "$",
                                   "|", "{", " ", "\n"]


def _literal(rng: random.Random, sep: str, max_len: int = 3) -> str:
    other = "/" if sep == "." else "."
    out = []
    for _ in range(rng.randint(0, max_len)):
        r = rng.random()
        out.append(other if r < 0.07 else rng.choice(LITERALS))
    return "".join(out)


def _pattern_segment(rng: random.Random, sep: str) -> str:
    r = rng.random()
    if r < 0.18:
        return "**"
    if r < 0.30:
        return "*"
    if r < 0.36:
        return ""
    if r < 0.375:  # invalid: '**' inside a longer segment
        return rng.choice(["a**", "**b", "***", "a**b", "****", "*a**"])
    # literal text with single wildcards in it
    parts = [_literal(rng, sep, 2) for _ in range(rng.randint(1, 3))]
    return "*".join(parts) if rng.random() < 0.5 else "".join(parts)


def random_pattern(rng: random.Random, sep: str) -> str:
    return sep.join(_pattern_segment(rng, sep) for _ in range(rng.randint(1, 4)))


def _instantiate(rng: random.Random, pattern: str, sep: str) -> str:
    """A candidate that often matches ``pattern`` (and sometimes narrowly does not)."""
    out = []
    for seg in pattern.split(sep):
        if seg == "**":
            n = rng.choice([0, 0, 1, 1, 2, 3])
            out.extend(_literal(rng, sep, 3) or "a" for _ in range(n))
            if n == 0:
                continue
        else:
            pieces = seg.split("*")
            filled = []
            for i, piece in enumerate(pieces):
                filled.append(piece)
                if i < len(pieces) - 1:
                    r = rng.random()
                    filled.append(sep if r < 0.08 else _literal(rng, sep, 2))
            out.append("".join(filled))
    cand = sep.join(out)
    r = rng.random()
    if r < 0.1 and cand:  # perturb: drop, add or swap a character
        i = rng.randrange(len(cand))
        cand = cand[:i] + cand[i + 1:]
    elif r < 0.2:
        i = rng.randint(0, len(cand))
        cand = cand[:i] + rng.choice(["a", sep, "b"]) + cand[i:]
    return cand


def random_candidate(rng: random.Random, sep: str) -> str:
    segs = [_literal(rng, sep, 3) for _ in range(rng.randint(0, 5))]
    cand = sep.join(segs)
    if rng.random() < 0.1:
        cand = sep + cand
    if rng.random() < 0.1:
        cand = cand + sep
    return cand


def _pack(rng: random.Random, patterns: List[str], allow_str: bool):
    """Pass patterns as str (if one), list or tuple, as callers of torch do."""
    if allow_str and len(patterns) == 1 and rng.random() < 0.5:
        return patterns[0]
    return list(patterns) if rng.random() < 0.6 else tuple(patterns)


def _build(cls, include, exclude, sep: str, omit_exclude: bool, omit_sep: bool):
    kwargs = {}
    if not omit_exclude:
        kwargs["exclude"] = exclude
    if not omit_sep:
        kwargs["separator"] = sep
    try:
        return cls(include, **kwargs), None
    except ValueError as e:
        return None, e


def _check_group(rng: random.Random, sep: str) -> Tuple[int, int]:
    includes = [random_pattern(rng, sep) for _ in range(rng.randint(1, 3))]
    excludes = [random_pattern(rng, sep) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
    include = _pack(rng, includes, allow_str=True)
    exclude = _pack(rng, excludes, allow_str=True) if excludes else rng.choice([(), []])
    omit_exclude = not excludes and rng.random() < 0.5  # torch's default exclude=()
    omit_sep = sep == "." and rng.random() < 0.3  # torch's default separator="."
    ref, ref_err = _build(torch.package.GlobGroup, include, exclude, sep, omit_exclude, omit_sep)
    ours, ours_err = _build(sealpkg.GlobGroup, include, exclude, sep, omit_exclude, omit_sep)
    case = f"include={include!r} exclude={exclude!r} separator={sep!r}"
    if ref_err is not None:
        assert ours_err is not None, f"torch raised {ref_err!r} but sealpkg accepted {case}"
        assert str(ours_err) == str(ref_err), case
        return 0, 1
    assert ours_err is None, f"sealpkg raised {ours_err!r} but torch accepted {case}"
    assert str(ours) == str(ref), case
    assert repr(ours) == repr(ref), case
    assert ours.separator == ref.separator
    candidates = [_instantiate(rng, rng.choice(includes + excludes), sep)
                  for _ in range(CANDIDATES_PER_GROUP // 2)]
    candidates += [random_candidate(rng, sep) for _ in range(CANDIDATES_PER_GROUP // 2)]
    positives = 0
    for cand in candidates:
        expected = ref.matches(cand)
        assert ours.matches(cand) == expected, f"{case} candidate={cand!r}: torch says {expected}"
        positives += expected
    return positives, 0


@pytest.mark.parametrize("seed", range(SEED_COUNT))
def test_random_globs_match_torch(seed: int) -> None:
    rng = random.Random(seed)
    positives = invalid = 0
    for i in range(GROUPS_PER_SEED):
        p, e = _check_group(rng, SEPARATORS[i % 2])
        positives += p
        invalid += e
    # the generator must exercise both outcomes and the error path
    total = (GROUPS_PER_SEED - invalid) * CANDIDATES_PER_GROUP
    assert positives > total * 0.15, (positives, total)
    assert positives < total * 0.85, (positives, total)
    assert invalid > 0


FIXED = [
    # (include, exclude, separator, candidate) — the examples in torch's docs and tests
    ("torch.**", (), ".", "torch"),
    ("torch.**", (), ".", "torch.nn.functional"),
    ("torch.**", (), ".", "torchvision"),
    ("torch.*", (), ".", "torch"),
    ("torch.*", (), ".", "torch.nn"),
    ("torch.*", (), ".", "torch.nn.functional"),
    ("torch*.**", (), ".", "torchvision.models"),
    ("**", (), ".", ""),
    ("**", (), ".", "a"),
    ("**", (), "/", "a/b/c"),
    ("", (), ".", ""),
    ("", (), ".", "a"),
    ("foo.**.bar", (), ".", "foo.bar"),
    ("foo.**.bar", (), ".", "foo.x.y.bar"),
    ("foo.**.bar", (), ".", "foo..bar"),
    ("a*b.c", (), ".", "ab.c"),
    ("a*b.c", (), ".", "axxb.c"),
    ("a*b.c", (), ".", "a.b.c"),
    ("foo/*.txt", (), "/", "foo/.txt"),
    ("foo/*.txt", (), "/", "foo/a.txt"),
    ("foo/*.txt", (), "/", "foo/a/b.txt"),
    ("**", "**/*.storage", "/", ".data/0.storage"),
    ("**", ".data/**", "/", ".data"),
    (["a.**", "b.**"], ["a.c.**", "b"], ".", "b.c"),
    (["a.**", "b.**"], ["a.c.**", "b"], ".", "b"),
    (["a.**", "b.**"], ["a.c.**", "b"], ".", "a.c.d"),
    ("a.**", (), ".", "a."),
    ("a.**", (), ".", "a..b"),
    ("a.*", (), ".", "a."),
    ("*", (), ".", ""),
    ("*", (), "/", "a.b"),
    ("a+b", (), ".", "a+b"),
    ("a+b", (), ".", "aab"),
    ("a[b]", (), ".", "ab"),
    ("a[b]", (), ".", "a[b]"),
    ("a\\", (), ".", "a\\"),
    ("é.*", (), ".", "é.日"),
    ("a.*", (), ".", "a.\n"),
]


@pytest.mark.parametrize("include,exclude,sep,candidate", FIXED)
def test_fixed_examples(include, exclude, sep, candidate) -> None:
    ref = torch.package.GlobGroup(include, exclude=exclude, separator=sep)
    ours = sealpkg.GlobGroup(include, exclude=exclude, separator=sep)
    assert ours.matches(candidate) == ref.matches(candidate)
    assert str(ours) == str(ref) and repr(ours) == repr(ref)


@pytest.mark.parametrize("pattern", ["a**", "**b", "***", "a.b**.c", "a.**b", "x.****"])
@pytest.mark.parametrize("where", ["include", "exclude", "both"])
def test_invalid_patterns_raise_like_torch(pattern: str, where: str) -> None:
    kwargs = {
        "include": pattern if where != "exclude" else "ok.**",
        "exclude": [pattern] if where != "include" else (),
    }
    with pytest.raises(ValueError) as ref:
        torch.package.GlobGroup(kwargs["include"], exclude=kwargs["exclude"])
    with pytest.raises(ValueError) as ours:
        sealpkg.GlobGroup(kwargs["include"], exclude=kwargs["exclude"])
    assert str(ours.value) == str(ref.value) == "** can only appear as an entire path segment"


def test_invalid_patterns_with_slash_separator() -> None:
    # with '/', 'a.b**' is the single segment 'a.b**': invalid as well
    for pattern, sep in [("a.b**", "/"), ("x/**y", "/"), ("x/**.y", "/")]:
        with pytest.raises(ValueError) as ref:
            torch.package.GlobGroup(pattern, separator=sep)
        with pytest.raises(ValueError) as ours:
            sealpkg.GlobGroup(pattern, separator=sep)
        assert str(ours.value) == str(ref.value)
    # the other separator does not delimit segments: '**' next to it is not a whole segment
    for pattern, sep in [("a/**", "."), ("**.x", "/")]:
        with pytest.raises(ValueError):
            torch.package.GlobGroup(pattern, separator=sep)
        with pytest.raises(ValueError):
            sealpkg.GlobGroup(pattern, separator=sep)


def test_iterables_of_patterns() -> None:
    def gen():
        yield "a.**"
        yield "b.*"

    ref = torch.package.GlobGroup(gen(), exclude=iter(["a.x"]))
    ours = sealpkg.GlobGroup(gen(), exclude=iter(["a.x"]))
    for cand in ["a", "a.x", "a.y.z", "b", "b.c", "b.c.d"]:
        assert ours.matches(cand) == ref.matches(cand), cand


def test_str_and_repr() -> None:
    cases = [
        ("torch.**", ()),
        (["torch.**", "numpy.*"], ["torch.cuda"]),
        (("a",), ("b", "c")),
        ("", ""),
        (["x'y", 'q"r'], ()),
    ]
    for include, exclude in cases:
        ref = torch.package.GlobGroup(include, exclude=exclude)
        ours = sealpkg.GlobGroup(include, exclude=exclude)
        assert str(ours) == str(ref)
        assert repr(ours) == repr(ref)
    assert str(sealpkg.GlobGroup("a")) == str(torch.package.GlobGroup("a"))
