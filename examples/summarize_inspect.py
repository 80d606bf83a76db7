#!/usr/bin/python3
"""Summarise `sealpkg inspect --json` output (read from stdin) in a few lines."""
import json
import sys

report = json.load(sys.stdin)
fw = report["framework"]
aligned = sum(s["aligned_64"] for s in fw["storages"])
stored_bytes = sum(s["size"] for s in fw["storages"])
print(f"  {len(report['entries'])} entries, format {fw['format']} v{fw['version']}, "
      f"written by Python {fw['python_version']}")
print(f"  {len(fw['storages'])} tensor storages ({stored_bytes / 2**20:.1f} MiB), "
      f"{aligned} of them 64-byte aligned (zero-copy mappable)")
externs = fw["extern_modules"] or []
print(f"  {len(externs)} extern modules: {', '.join(externs[:6])}{', ...' if len(externs) > 6 else ''}")
