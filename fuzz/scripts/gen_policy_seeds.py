#!/usr/bin/env python3
"""Deterministic seed corpus for the policy_parser fuzz target (standard library only).

    python3 fuzz/scripts/gen_policy_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/policy_parser/, each file named by the SHA-1 of its content: every
policies/*.toml file as shipped, then variants: a policy using every key of every table,
the shapes the unit tests use (weights-only-like, package, partial rules), one-key edits of the
built-in policies, and rejected ones (unknown keys and tables, wrong types, bad opcode names,
protocols above 5, bad globs, TOML syntax errors, a missing name). Existing files are left alone;
--check only reports which seeds are missing and exits 1 if any are.
"""

import argparse
import glob
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
POLICIES = os.path.join(HERE, "..", "..", "policies")

FULL = """\
[policy]
name = "full"
version = 7
description = "every key"

[pickle]
protocols = [2, 4]
opcodes = ["PROTO", "STOP", "NONE", "GLOBAL", "REDUCE", "BUILD", "BINPERSID", "MARK", "TUPLE"]
globals = ["a.b", "c.**", "torch.*Storage"]
callables = ["a.b"]
build = ["a.B"]
mutable = ["a.M"]
storage_types = ["torch.*Storage"]
persistent_ids = ["storage", "reduce_package"]

[[pickle.rules]]
callable = "a.b"
callable_args = [0, 2]
global_args = [1]
build_state_callable_items = [3]

[[pickle.rules]]
callable = "c.d"

[source]
imports = ["numpy.**"]
attributes = ["os.path.join"]
exec = ["m1"]
eval = ["m2"]
compile = ["m3"]
builtins = ["m4"]
reflection = ["m5"]
dynamic_import = ["m6"]

[package]
externs = ["numpy"]
interned = ["mypkg.**"]
resources = ["res/*.txt", "**"]
torchscript = true
"""

PARTIAL = """\
[policy]
name = "partial"

[pickle]
globals = ["functools.partial", "torch.nn.modules.normalization.LayerNorm", "os.system"]
callables = ["functools.partial", "torch.nn.modules.normalization.LayerNorm"]
build = ["functools.partial", "collections.OrderedDict"]
mutable = ["collections.OrderedDict"]

[[pickle.rules]]
callable = "functools.partial"
callable_args = [0]
build_state_callable_items = [0]
"""

PACKAGE = """\
[policy]
name = "pkg"

[pickle]
globals = ["mymodel.**", "torch._utils._rebuild_tensor_v2", "torch.*Storage",
           "collections.OrderedDict"]
callables = ["mymodel.net.Net", "torch._utils._rebuild_tensor_v2", "collections.OrderedDict"]
build = ["mymodel.net.Net"]
storage_types = ["torch.*Storage"]
persistent_ids = ["storage"]

[source]
imports = ["torch.**"]
exec = ["mymodel.*"]

[package]
interned = ["mymodel.**"]
externs = ["numpy"]
resources = ["res/**"]
"""

INFERRED = """\
# Least-privilege policy inferred by `sealpkg policy infer` from one known-good input.
[policy]
name = "inferred"
version = 1
description = "inferred from a torch.save input"

[pickle]
protocols = [2]
opcodes = [
  "BINPERSID",
  "BINUNICODE",
  "GLOBAL",
]
globals = [
  "collections.OrderedDict",
  "torch.FloatStorage",
]
callables = []
build = []
mutable = []
storage_types = [
  "torch.FloatStorage",
]
persistent_ids = [
  "storage",
]

[source]
imports = []
attributes = []

[package]
externs = []
interned = []
resources = []
torchscript = false
"""

HEAD = '[policy]\nname = "x"\n'

BROKEN = [
    HEAD + 'colour = "red"\n',
    HEAD + "[pickle]\nglobal = []\n",
    HEAD + "[extras]\nk = 1\n",
    HEAD + "[[pickle.rules]]\ncallable_args = [0]\n",
    HEAD + '[[pickle.rules]]\ncallable = "a"\ncallable_args = [256]\n',
    HEAD + "[pickle]\nprotocols = [6]\n",
    HEAD + "[pickle]\nprotocols = [-1]\n",
    HEAD + '[pickle]\nopcodes = ["NOPE", "proto"]\n',
    HEAD + '[pickle]\nglobals = "os.system"\n',
    HEAD + '[pickle]\nglobals = ["torch.a**"]\n',
    HEAD + '[pickle]\npersistent_ids = ["module"]\n',
    HEAD + '[package]\ntorchscript = "yes"\n',
    HEAD + '[package]\nresources = ["a/b**"]\n',
    HEAD + "[source]\nimports = [1]\n",
    '[policy]\nname = 1\n',
    '[policy]\nname = "x"\nversion = 0\n',
    '[pickle]\nglobals = []\n',
    '[policy\nname = "x"\n',
    '[policy]\nname = "x"\nname = "y"\n',
    '[policy]\nname = "\\u001b[2J"\n',
    '[policy]\nname = """multi\nline"""\n[pickle]\nglobals = [\'lit.eral\', "q.\\"uote"]\n',
    '[policy]\nname = "x"\n[pickle]\nrules = [{callable = "a.b", callable_args = [0]}]\n',
    '[policy]\nname = "x"\n[pickle]\nopcodes = []\nprotocols = []\n',
    "policy.name = \"dotted\"\npickle.globals = [\"a.b\"]\n",
    "",
]


def seeds():
    out = []
    for path in sorted(glob.glob(os.path.join(POLICIES, "*.toml"))):
        with open(path, "rb") as f:
            text = f.read()
        out.append(text)
        # One-key edits of the shipped policies.
        out.append(text.replace(b"persistent_ids = []", b'persistent_ids = ["storage"]'))
        out.append(text.replace(b"torchscript = false", b"torchscript = true"))
        out.append(text + b'\n[[pickle.rules]]\ncallable = "builtins.set"\nglobal_args = [0]\n')
        out.append(text.replace(b"[pickle]\n", b"[pickle]\nprotocols = [2, 3]\n", 1))
        out.append(text.replace(b'name = "builtin:', b'name = "copy-of-', 1))
    for text in [FULL, PARTIAL, PACKAGE, INFERRED] + BROKEN:
        out.append(text.encode())
    out.append(FULL.replace("\n", "\r\n").encode())
    out.append(b"\xef\xbb\xbf" + PARTIAL.encode())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "..", "corpus"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    out_dir = os.path.join(args.out, "policy_parser")
    os.makedirs(out_dir, exist_ok=True)
    missing = 0
    names = set()
    for data in seeds():
        name = hashlib.sha1(data).hexdigest()
        if name in names:
            continue
        names.add(name)
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            continue
        if args.check:
            print("missing:", path)
            missing += 1
            continue
        with open(path, "wb") as f:
            f.write(data)
    print(f"policy_parser: {len(names)} seeds")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
