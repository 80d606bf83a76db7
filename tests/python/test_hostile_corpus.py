"""The hostile corpus (tests/data/hostile/): sealpkg.verify rejects every file with the findings
its row in cases.tsv names.

The files and the table come from tests/data/hostile/generate.py (hand-assembled pickles,
harmless targets); each row gives the policy to verify with and the finding codes
(verifier/finding.h) that must be among the report's findings. Extra findings are fine.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List

import pytest
import sealpkg

REPO = Path(__file__).resolve().parents[2]
HOSTILE = REPO / "tests" / "data" / "hostile"
FINDING_H = REPO / "verifier" / "finding.h"
COLUMNS = ["file", "policy", "expect", "codes", "attack", "description"]
POLICIES = {"builtin:weights-only", "builtin:data-only", "builtin:torchvision"}


def _load_cases() -> List[Dict[str, str]]:
    lines = (HOSTILE / "cases.tsv").read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].split("\t") == COLUMNS, f"unexpected header: {lines[:1]}"
    cases = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        assert len(fields) == len(COLUMNS), f"cases.tsv:{number}: {len(fields)} fields"
        cases.append(dict(zip(COLUMNS, fields)))
    return cases


CASES = _load_cases()


def _describe(findings: Iterable[object]) -> str:
    lines = []
    for f in findings:
        fields = " ".join(f"{attr}={getattr(f, attr, None)!r}"
                          for attr in ("entry", "offset", "line", "name", "construct", "rule"))
        lines.append(f"  {getattr(f, 'code', '?')} {fields}: {getattr(f, 'message', '')}")
    return "\n".join(lines) if lines else "  (no findings)"


def test_table_is_consistent() -> None:
    """Every row names an existing file, a known policy and codes that exist in finding.h;
    every generated file has a row."""
    known = set(re.findall(r'inline constexpr std::string_view \w+ = "([^"]+)";',
                           FINDING_H.read_text(encoding="utf-8")))
    files = [c["file"] for c in CASES]
    assert len(files) == len(set(files)), "duplicate rows"
    for c in CASES:
        assert (HOSTILE / c["file"]).is_file(), c["file"]
        assert c["policy"] in POLICIES, c
        assert c["expect"] == "reject", c
        codes = c["codes"].split(",")
        assert codes and set(codes) <= known, f"{c['file']}: unknown codes {set(codes) - known}"
    on_disk = {p.name for p in HOSTILE.iterdir()
               if p.is_file() and p.name not in ("generate.py", "README.md", "cases.tsv")}
    assert on_disk == set(files), f"files without a row: {sorted(on_disk - set(files))}"


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_hostile_file_is_rejected(case: Dict[str, str]) -> None:
    report = sealpkg.verify(str(HOSTILE / case["file"]), policy=case["policy"])
    findings = list(report.findings)
    what = f"{case['file']} ({case['attack']}: {case['description']}) under {case['policy']}"
    assert not report.accepted, f"accepted: {what}\nfindings:\n{_describe(findings)}"
    got = {f.code for f in findings}
    missing = [code for code in case["codes"].split(",") if code not in got]
    assert not missing, (f"{what}: missing {missing}\nfindings:\n{_describe(findings)}")
