"""``sealpkg scan`` over large collections: --shard I/N, --jsonl OUT, --resume, stable order,
and the Dask recipe (examples/dask_scan.py) against a LocalCluster of worker processes.

The collection is a temporary tree of benign checkpoints and pickles written here with
``torch.save`` / ``pickle.dumps`` of plain data, copies of hostile files from
``tests/data/hostile`` (harmless targets such as ``os.getcwd``; only ever verified, never
loaded), and non-model files the scan must skip. Nothing from the collection is unpickled.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
HOSTILE = REPO / "tests" / "data" / "hostile"
EXAMPLE = REPO / "examples" / "dask_scan.py"

# Hostile files copied into the collection: pickles, a legacy .pt, a zip, an npy object array.
HOSTILE_FILES = [
    "a_builtins_import.pkl",
    "a_functools_partial.pkl",
    "b1_memo_index_confusion.pkl",
    "b6_dotted_name.pkl",
    "b12_legacy_eval_magic.pt",
    "c10_nested_zip.pt",
    "c14_object_array.npy",
]


def shard_of(key: str, count: int) -> int:
    """The documented partition: first 8 bytes of SHA-256(relative path), big-endian, mod N."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count


def make_collection(root: Path, benign: int = 24) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(benign):
        sub = root / f"group{i % 4}" / ("deep" if i % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        if i % 2 == 0:
            torch.save({"weight": torch.full((2, 3), float(i)), "step": i}, sub / f"ckpt{i}.pt")
        else:
            (sub / f"data{i}.pkl").write_bytes(pickle.dumps({"i": i, "xs": [1, 2.5, "s"]}, 2))
        (sub / f"notes{i}.txt").write_text("not a model file\n")  # never opened as a model
    hostile = root / "incoming"
    hostile.mkdir(exist_ok=True)
    for name in HOSTILE_FILES:
        shutil.copyfile(HOSTILE / name, hostile / name)
    return root


def run_scan(cli: Path, *args: str, check_codes=(0, 1)) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(cli), "scan", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode in check_codes, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture()
def collection(tmp_path: Path) -> Path:
    return make_collection(tmp_path / "models")


def test_jsonl_matches_json_report_and_order_is_stable(sealpkg_cli, collection, tmp_path):
    out1, out2 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    p1 = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out1), "-j", "1")
    p2 = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out2), "-j", "4")
    assert p1.returncode == p2.returncode == 1  # the hostile files are rejected
    # Same bytes whatever the parallelism; lines sorted by path bytes.
    assert out1.read_bytes() == out2.read_bytes()
    records = read_jsonl(out1)
    paths = [r["path"] for r in records]
    assert paths == sorted(paths, key=lambda p: p.encode())
    assert len(paths) == len(set(paths)) == 24 + len(HOSTILE_FILES)
    assert not any(p.endswith(".txt") for p in paths)
    # Each line carries the same report as --format json, plus the head fields.
    full = json.loads(run_scan(sealpkg_cli, str(collection), "--format", "json").stdout)
    assert [r["path"] for r in full["reports"]] == paths
    for line, report in zip(records, full["reports"]):
        assert {k: line[k] for k in report} == report
        assert line["status"] == ("accepted" if report["accepted"] else "rejected")
        assert line["shard_key"] == os.path.relpath(line["path"], collection)
    rejected = {Path(r["path"]).name for r in records if r["status"] == "rejected"}
    assert rejected == set(HOSTILE_FILES)
    # stdout lists only the rejected files, then the totals.
    assert "ACCEPTED" not in p1.stdout
    assert p1.stdout.count("REJECTED") == len(HOSTILE_FILES)
    assert p1.stdout.splitlines()[-1].startswith(f"{len(records)} files verified (0 skipped")


@pytest.mark.parametrize("count", [1, 3, 7])
def test_shards_are_disjoint_and_their_union_is_the_full_scan(
        sealpkg_cli, collection, tmp_path, count):
    full = tmp_path / "full.jsonl"
    run_scan(sealpkg_cli, str(collection), "--jsonl", str(full))
    full_lines = full.read_text().splitlines()
    parts: List[List[str]] = []
    for i in range(count):
        part = tmp_path / f"part-{i}.jsonl"
        proc = run_scan(sealpkg_cli, str(collection), "--shard", f"{i}/{count}",
                        "--jsonl", str(part))
        lines = part.read_text().splitlines()
        statuses = {json.loads(line)["status"] for line in lines}
        assert proc.returncode == (1 if "rejected" in statuses else 0)
        for line in lines:
            assert shard_of(json.loads(line)["shard_key"], count) == i
        parts.append(lines)
    seen = [line for lines in parts for line in lines]
    assert len(seen) == len(set(seen)) == len(full_lines)  # disjoint, nothing lost
    merged = sorted(seen, key=lambda line: json.loads(line)["path"].encode())
    assert merged == full_lines  # byte-identical records


def test_shard_of_a_file_does_not_change_when_files_are_added(sealpkg_cli, collection, tmp_path):
    before = tmp_path / "before.jsonl"
    run_scan(sealpkg_cli, str(collection), "--shard", "1/3", "--jsonl", str(before))
    old = {r["shard_key"] for r in read_jsonl(before)}
    assert old  # the shard is not empty for this collection
    extra = collection / "group9"
    extra.mkdir()
    for i in range(12):
        torch.save({"w": torch.zeros(1)}, extra / f"new{i}.pt")
    after = tmp_path / "after.jsonl"
    run_scan(sealpkg_cli, str(collection), "--shard", "1/3", "--jsonl", str(after))
    new = {r["shard_key"] for r in read_jsonl(after)}
    assert old <= new
    added = new - old
    assert added == {f"group9/new{i}.pt" for i in range(12) if shard_of(f"group9/new{i}.pt", 3) == 1}
    # Moving the tree elsewhere keeps every file in its shard (keys are relative).
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(collection, moved)
    third = tmp_path / "moved.jsonl"
    run_scan(sealpkg_cli, str(moved), "--shard", "1/3", "--jsonl", str(third))
    assert {r["shard_key"] for r in read_jsonl(third)} == new


def test_resume_after_truncated_last_line(sealpkg_cli, collection, tmp_path):
    full = tmp_path / "full.jsonl"
    run_scan(sealpkg_cli, str(collection), "--jsonl", str(full))
    data = full.read_bytes()
    lines = data.splitlines(keepends=True)
    # What a kill mid-write leaves: 10 whole lines and half of the 11th.
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines[:10]) + lines[10][: len(lines[10]) // 2])
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out), "--resume")
    assert "dropped an incomplete last line" in proc.stderr
    assert f"10 resumed from" in proc.stdout
    assert out.read_bytes() == data


def test_resume_keeps_records_and_counts_them_in_the_exit_code(sealpkg_cli, tmp_path):
    root = tmp_path / "benign"
    root.mkdir()
    for i in range(6):
        torch.save({"w": torch.ones(2) * i}, root / f"m{i}.pt")
    out = tmp_path / "out.jsonl"
    assert run_scan(sealpkg_cli, str(root), "--jsonl", str(out)).returncode == 0
    records = read_jsonl(out)
    # Pretend the run before had rejected m0.pt: resume must keep that record (it does not
    # verify m0.pt again) and exit 1.
    forged = dict(records[0], status="rejected", accepted=False)
    assert forged["path"].endswith("m0.pt")
    out.write_text(json.dumps(forged, separators=(",", ":")) + "\n")
    proc = run_scan(sealpkg_cli, str(root), "--jsonl", str(out), "--resume")
    assert proc.returncode == 1
    after = read_jsonl(out)
    assert after[0] == forged and after[1:] == records[1:]
    assert "1 resumed from" in proc.stdout and ", 1 rejected" in proc.stdout


def test_resume_after_sigkill_gives_the_same_set(sealpkg_cli, tmp_path):
    root = make_collection(tmp_path / "big", benign=120)
    full = tmp_path / "full.jsonl"
    run_scan(sealpkg_cli, str(root), "--jsonl", str(full))
    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([str(sealpkg_cli), "scan", str(root), "--jsonl", str(out), "-j", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Kill it once it has written something (or it may finish first: resume is then a no-op).
        while proc.poll() is None and (not out.exists() or out.stat().st_size == 0):
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    partial = out.read_bytes()
    assert full.read_bytes().startswith(partial.rsplit(b"\n", 1)[0])  # a prefix, in order
    resumed = run_scan(sealpkg_cli, str(root), "--jsonl", str(out), "--resume")
    assert resumed.returncode == 1
    assert out.read_bytes() == full.read_bytes()
    # Resuming a finished file verifies nothing and keeps it as is.
    again = run_scan(sealpkg_cli, str(root), "--jsonl", str(out), "--resume")
    assert f"{len(full.read_text().splitlines())} resumed from" in again.stdout
    assert out.read_bytes() == full.read_bytes()


def test_resume_never_takes_a_different_non_utf8_path_for_a_scanned_one(sealpkg_cli, tmp_path):
    root = tmp_path / "names"
    root.mkdir()
    benign = os.path.join(os.fsencode(root), b"w\xff.pkl")
    hostile = os.path.join(os.fsencode(root), b"w\xfe.pkl")
    with open(benign, "wb") as f:
        f.write(pickle.dumps([1, 2, 3], 2))
    out = tmp_path / "out.jsonl"
    assert run_scan(sealpkg_cli, str(root), "--jsonl", str(out)).returncode == 0
    [record] = read_jsonl(out)
    assert record["path_hex"] == benign.hex()
    assert record["path"].endswith("w\ufffd.pkl")
    # A second file whose JSON path is the same ("w\ufffd.pkl") must still be verified.
    shutil.copyfile(HOSTILE / "a_builtins_import.pkl", hostile)
    proc = run_scan(sealpkg_cli, str(root), "--jsonl", str(out), "--resume")
    assert proc.returncode == 1
    records = read_jsonl(out)
    assert [r["path_hex"] for r in records] == [benign.hex(), hostile.hex()]
    assert records[1]["status"] == "rejected"


def test_resume_refuses_a_foreign_file_or_another_policy(sealpkg_cli, collection, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"not": "a scan record"}\n')
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out), "--resume",
                    check_codes=(2,))
    assert "scan.jsonl-record" in proc.stderr and "line 1" in proc.stderr
    run_scan(sealpkg_cli, str(collection), "--jsonl", str(out), "--policy", "builtin:data-only")
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out), "--resume",
                    check_codes=(2,))
    assert "scan.jsonl-policy" in proc.stderr
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n" + lines[0] + "\n")
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(out), "--resume",
                    "--policy", "builtin:data-only", check_codes=(2,))
    assert "scan.jsonl-duplicate" in proc.stderr


@pytest.mark.parametrize("shard", ["3/3", "0/0", "1", "a/2", "-1/2", "1/2/3", "0/2000000"])
def test_bad_shard_is_a_usage_error(sealpkg_cli, collection, shard):
    proc = run_scan(sealpkg_cli, str(collection), "--shard", shard, check_codes=(2,))
    assert "--shard wants I/N" in proc.stderr


def test_option_combinations_that_are_errors(sealpkg_cli, collection, tmp_path):
    proc = run_scan(sealpkg_cli, str(collection), "--resume", check_codes=(2,))
    assert "--resume needs --jsonl" in proc.stderr
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(tmp_path / "o.jsonl"),
                    "--format", "json", check_codes=(2,))
    assert "--format must be text" in proc.stderr
    proc = run_scan(sealpkg_cli, str(collection), "--jsonl", str(tmp_path / "no" / "o.jsonl"),
                    check_codes=(2,))
    assert "cannot open" in proc.stderr


def test_explicit_files_are_keyed_by_name_and_named_twice_verified_once(sealpkg_cli, collection,
                                                                        tmp_path):
    one = collection / "incoming" / "a_builtins_import.pkl"
    out = tmp_path / "out.jsonl"
    run_scan(sealpkg_cli, str(collection / "incoming"), str(one), "--jsonl", str(out))
    records = read_jsonl(out)
    assert [r["path"] for r in records].count(str(one)) == 1
    keys = {r["path"]: r["shard_key"] for r in records}
    assert keys[str(one)] == "a_builtins_import.pkl"


# --- Dask: examples/dask_scan.py on a LocalCluster of worker processes ------------------------


def load_example():
    spec = importlib.util.spec_from_file_location("dask_scan_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_dask_recipe_merges_to_the_single_process_scan(sealpkg_cli, collection, tmp_path):
    distributed = pytest.importorskip("distributed")  # Debian python3-distributed
    example = load_example()
    single = tmp_path / "single.jsonl"
    expected_code = run_scan(sealpkg_cli, str(collection), "--jsonl", str(single)).returncode
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 3
        result = example.scan_on_cluster(
            client, [str(collection)], shards=5, parts_dir=tmp_path / "parts",
            out=tmp_path / "merged.jsonl", sealpkg=str(sealpkg_cli))
    assert (tmp_path / "merged.jsonl").read_bytes() == single.read_bytes()
    assert result.exit_code == expected_code == 1
    assert result.records == len(single.read_text().splitlines())
    assert len({w for w in result.workers}) >= 2  # the shards really ran in several processes
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [
        f"part-{i}-of-5.jsonl" for i in range(5)]


def test_progress_goes_to_stderr_only_on_a_terminal(sealpkg_cli, collection, tmp_path):
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([str(sealpkg_cli), "scan", str(collection), "-j", "1",
                               "--jsonl", str(tmp_path / "tty.jsonl")],
                              stdout=subprocess.PIPE, stderr=follower, timeout=300)
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 1
    total = 24 + len(HOSTILE_FILES)
    assert f"scanned {total}/{total}".encode() in seen
    assert b"scanned" not in proc.stdout
    # Not a terminal: no progress at all.
    piped = run_scan(sealpkg_cli, str(collection), "--jsonl", str(tmp_path / "pipe.jsonl"))
    assert "scanned" not in piped.stderr
