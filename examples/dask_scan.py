#!/usr/bin/python3
"""Scan a very large model collection on a Dask cluster with ``sealpkg scan --shard``.

Recipe: the collection is split into N shards by ``sealpkg scan --shard i/N`` itself (a file's
shard is a hash of its path relative to the scanned directory, so the split is stable when
files are added and needs no file list up front). Each shard is one Dask task that runs the
``sealpkg`` CLI in a subprocess on a worker::

    sealpkg scan PATH... --policy P --shard i/N --jsonl PARTS/part-i-of-N.jsonl --resume

and the client merges the parts, which are each sorted by path, into one JSONL file in the same
order a single ``sealpkg scan PATH... --jsonl OUT`` writes (byte-identical). The exit code is
aggregated like the CLI's: 2 if any shard had an error, else 1 if any file was rejected, else 0.

Nothing from the collection is loaded anywhere: ``sealpkg scan`` is the static verifier (it
imports and unpickles nothing), and the only thing a task returns is the CLI's exit code and
output text.

Requirements:

* every worker runs the ``sealpkg`` CLI (``--sealpkg PATH``, same path on every worker);
* PATH... and PARTS are on a file system shared by the client and all workers, at the same
  paths (the records hold the paths as given);
* Debian 12: ``apt-get install python3-distributed`` (``scripts/install-deps.sh`` installs it).

``--resume`` makes a task idempotent: when Dask re-runs a task after losing a worker, the new
run keeps the records the old one finished and verifies only the rest. Rerunning the whole
script after an interruption does the same for every shard.

Usage::

    # local cluster of 4 worker processes on this machine
    /usr/bin/python3 examples/dask_scan.py --local-workers 4 --shards 16 \\
        --sealpkg build/cli/sealpkg --parts /shared/scan-parts --out /shared/scan.jsonl /shared/models
    # an existing cluster
    /usr/bin/python3 examples/dask_scan.py --scheduler tcp://10.0.0.5:8786 --shards 256 ... /shared/models

From Python::

    with distributed.Client("tcp://10.0.0.5:8786") as client:
        result = scan_on_cluster(client, ["/shared/models"], shards=256,
                                 parts_dir="/shared/scan-parts", out="/shared/scan.jsonl",
                                 sealpkg="/opt/sealpkg/bin/sealpkg")
    sys.exit(result.exit_code)
"""
from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass
class ShardRun:
    index: int
    part: Path
    exit_code: int
    worker: str  # address of the Dask worker that ran it
    stdout: str
    stderr: str


@dataclasses.dataclass
class ScanResult:
    exit_code: int  # 0 all accepted, 1 some rejected, 2 an error in some shard
    records: int  # lines in the merged file
    shards: List[ShardRun]

    @property
    def workers(self) -> List[str]:
        return [s.worker for s in self.shards]


def shard_command(sealpkg: str, paths: Sequence[PathLike], policy: str, index: int, count: int,
                  part: Path, extra: Sequence[str] = ()) -> List[str]:
    """The CLI invocation of one shard (what each Dask task runs)."""
    return [sealpkg, "scan", *map(os.fspath, paths), "--policy", policy,
            "--shard", f"{index}/{count}", "--jsonl", os.fspath(part), "--resume", *extra]


def path_order(line: bytes) -> bytes:
    """The sort key ``sealpkg scan`` uses: the raw bytes of the path (``path_hex`` when the path
    is not UTF-8, since ``path`` then has U+FFFD in place of the invalid bytes)."""
    record = json.loads(line)
    if "path_hex" in record:
        return bytes.fromhex(record["path_hex"])
    return record["path"].encode("utf-8")


def _lines(part: Path) -> Iterator[Tuple[bytes, bytes]]:
    with open(part, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                raise ValueError(f"{part}: incomplete last line (the shard did not finish)")
            yield path_order(line), line


def merge_parts(parts: Sequence[Path], out: PathLike) -> int:
    """Merge sorted part files into ``out`` (written atomically); returns the record count."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    count = 0
    previous: Optional[bytes] = None
    with open(tmp, "wb") as f:
        for key, line in heapq.merge(*(_lines(p) for p in parts), key=lambda kl: kl[0]):
            if key == previous:
                raise ValueError(f"{os.fsdecode(key)!r} is in two parts: shards overlap")
            previous = key
            f.write(line)
            count += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    return count


def scan_on_cluster(client, paths: Sequence[PathLike], *, shards: int, parts_dir: PathLike,
                    out: PathLike, sealpkg: str = "sealpkg",
                    policy: str = "builtin:weights-only",
                    extra_args: Sequence[str] = ()) -> ScanResult:
    """Run ``shards`` scan tasks on the cluster of ``client`` and merge their parts into ``out``.

    ``extra_args`` go to every ``sealpkg scan`` (``-j 1`` when each worker has one thread,
    ``--trust DIR`` for a signed policy file...).
    """
    parts_dir = Path(parts_dir)
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = [parts_dir / f"part-{i}-of-{shards}.jsonl" for i in range(shards)]
    # subprocess.run is importable on every worker: no code of ours has to be shipped.
    futures = [
        client.submit(subprocess.run,
                      shard_command(sealpkg, paths, policy, i, shards, parts[i], extra_args),
                      capture_output=True, text=True, key=f"sealpkg-scan-{i}-of-{shards}")
        for i in range(shards)
    ]
    done = client.gather(futures)
    where = client.who_has(futures)
    runs = []
    for i, (future, proc) in enumerate(zip(futures, done)):
        holders = where.get(future.key) or ("?",)
        runs.append(ShardRun(i, parts[i], proc.returncode, sorted(holders)[0], proc.stdout,
                             proc.stderr))
    codes = {r.exit_code for r in runs}
    if codes - {0, 1}:
        # A shard that failed may have stopped early: its part is not complete, so no merge.
        return ScanResult(2, 0, runs)
    records = merge_parts(parts, out)
    return ScanResult(1 if 1 in codes else 0, records, runs)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="files and directories to scan")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    where.add_argument("--local-workers", type=int, help="start a LocalCluster of N processes")
    ap.add_argument("--shards", type=int, required=True, help="number of shards (tasks)")
    ap.add_argument("--parts", required=True, help="shared folder for part-i-of-N.jsonl")
    ap.add_argument("--out", required=True, help="merged JSONL file")
    ap.add_argument("--sealpkg", default="sealpkg", help="path of the sealpkg CLI on workers")
    ap.add_argument("--policy", default="builtin:weights-only")
    ap.add_argument("--jobs-per-shard", type=int, default=1, help="sealpkg scan -j")
    args = ap.parse_args(argv)

    import distributed

    extra = ["-j", str(args.jobs_per_shard)]
    if args.scheduler:
        client = distributed.Client(args.scheduler)
        cluster = None
    else:
        cluster = distributed.LocalCluster(n_workers=args.local_workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        result = scan_on_cluster(client, args.paths, shards=args.shards, parts_dir=args.parts,
                                 out=args.out, sealpkg=args.sealpkg, policy=args.policy,
                                 extra_args=extra)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for run in result.shards:
        summary = run.stdout.strip().splitlines()[-1:] or [""]
        print(f"shard {run.index}: exit {run.exit_code} on {run.worker}: {summary[0]}")
        if run.exit_code == 2:
            sys.stderr.write(run.stderr)
    if result.exit_code != 2:
        print(f"{result.records} records merged into {args.out}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
