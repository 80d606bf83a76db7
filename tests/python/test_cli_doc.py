"""docs/cli.md is the --help output of the CLI under test: fails when a command, option or help
text changed and the page was not regenerated (scripts/gen-cli-doc.sh)."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_doc_is_current(sealpkg_cli):
    generated = subprocess.run(
        ["bash", str(REPO / "scripts" / "gen-cli-doc.sh"), str(sealpkg_cli), "-"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    # Every command the CLI lists today has a section (the generator found them all).
    top = subprocess.run([str(sealpkg_cli), "--help"], capture_output=True, text=True,
                         check=True).stdout
    listed = [line.split()[0] for line in top.split("Subcommands:", 1)[1].splitlines()
              if line.startswith("  ") and line.strip()]
    assert "scan" in listed and "verify" in listed
    for command in listed:
        assert f"\n## `sealpkg {command}`\n" in generated
    current = (REPO / "docs" / "cli.md").read_text()
    assert current == generated, (
        "docs/cli.md is stale: run scripts/gen-cli-doc.sh "
        f"{sealpkg_cli} (then review and commit docs/cli.md)")
