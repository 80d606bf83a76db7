#!/usr/bin/python3
"""Load a hostile package that the policy let through: the sandbox contains it and says how.

Usage: sandbox_contained.py PACKAGE.pt --policy P [--trust DIR] [--resource model/model.pkl]

The static verifier only decides what may be attempted: a careless policy (here, one inferred
from the hostile package itself and signed anyway) accepts it. The real import then runs in a
locked-down worker; the payload's first forbidden system call ends the worker, and the parent
reports the layer that stopped it and, in diagnose mode, the system call. Exit 0 when the
package was contained, 1 if it loaded.
"""
from __future__ import annotations

import argparse
import sys

import sealpkg.sandbox as sandbox


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--policy", required=True)
    parser.add_argument("--trust")
    parser.add_argument("--resource", default="model/model.pkl")
    args = parser.parse_args()
    package, _, resource = args.resource.rpartition("/")

    for diagnose in (False, True):
        box = sandbox.open(args.package, policy=args.policy, trust=args.trust, diagnose=diagnose,
                           limits={"wall_time_ms": 60000})
        try:
            box.state_dict(package, resource)
        except sandbox.SandboxError as err:
            mode = "diagnose mode (TRAP, the worker names the call)" if diagnose else \
                "production mode (KILL_PROCESS)"
            print(f"  {mode}: contained [{err.kind}] {err}")
            if err.kind != "seccomp-kill":
                return 1
            continue
        print("  the package LOADED: not contained")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
