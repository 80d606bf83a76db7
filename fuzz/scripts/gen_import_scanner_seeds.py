#!/usr/bin/env python3
"""Deterministic seed corpus for the import_scanner fuzz target (standard library only).

    python3 fuzz/scripts/gen_import_scanner_seeds.py [--out fuzz/corpus] [--check]

Writes fuzz/corpus/import_scanner/, each file named by the SHA-1 of its content: one byte
selecting the module (bit 0: is_package; bits 1-2: "mod", "pkg.mod", "a.b.c.d", "") followed
by a small hand-written Python source covering one tricky form (string prefixes, f-string
nesting, continuation lines, CRLF, BOM, cookies, every import form, __import__ and importlib
variants, dynamic uses) or a broken one. Existing files are left alone; --check only reports
which seeds are missing and exits 1 if any are.
"""

import argparse
import hashlib
import os
import sys

MOD, PKG_MOD, DEEP, DOTLESS_EMPTY = 0, 2, 4, 6
PACKAGE = 1

SOURCES = [
    # import statements
    (PKG_MOD, "import os\nimport a.b.c as d, e\nfrom x.y import (z, w as v,)\nfrom m import *\n"),
    (DEEP, "from . import a\nfrom .. import *\nfrom ...p.q import r\nfrom .... import s\n"),
    (DEEP | PACKAGE, "from .....x import y\nfrom .import z\nfrom ... import (q)\n"),
    (MOD, "from . import y\n"),
    (PKG_MOD, "def f():\n    import a\nclass C:\n    from b import c\nif x: import d\n"
              "else: import e; import f\ntry:\n    import g\nexcept: from h import i\n"),
    (PKG_MOD, "import \\\n  os.\\\n  path\nfrom a import (\n  b,\n  c as d\n)\n"),
    (PKG_MOD, "def g():\n    yield from x\nraise E from y\n"),
    (PKG_MOD, "from ctypes import CDLL, cdll\nimport ctypes.util\n"),
    # __import__ and importlib
    (PKG_MOD, "__import__('os')\n__import__('a.b', globals(), locals(), ['c', '*'], 0)\n"
              "__import__('x', fromlist=('y',), level=1)\n__import__(name='o\\x73')\n"),
    (DEEP, "print(__import__('a'))\nf = lambda: __import__('b', fromlist=['c'])\n"
           "x = [__import__('d') for _ in y]\n@dec(__import__('e'))\ndef g(h=__import__('f')): pass\n"),
    (PKG_MOD, "__import__(n)\n__import__('x', level=n)\n__import__('x', fromlist=names)\n"
              "__import__(*a)\n__import__('', level=0)\n__import__('a..b')\nf = __import__\n"),
    (PKG_MOD, "import importlib\nimportlib.import_module('os.path')\n"
              "importlib.import_module('.sub', 'pkg')\nimportlib.import_module('..up', __package__)\n"
              "from importlib import import_module as im\nim('x').y\nim(name)\n"),
    (PKG_MOD, "__import__('os').system('id')\n__import__('os.path').path.join\n"
              "getattr(__import__('subprocess'), 'run')\n"),
    # dynamic uses
    (PKG_MOD, "exec('x')\neval(y)\ncompile(a, b, 'exec')\ne = eval\nmodel.eval()\nre.compile('x')\n"
              "def compile(x): pass\nf(exec=1)\n"),
    (PKG_MOD, "import builtins\nbuiltins.exec('x')\n__builtins__['eval']\nglobals()['__builtins__']\n"
              "getattr(o, n)\nsetattr(o, 'x', 1)\nx.__getattribute__(n)\ngetattr(builtins, 'exec')\n"),
    (PKG_MOD, "import os.path as p\np.join(a)\nfrom os import path\npath.join(b)\nos.system('x')\n"
              "def late():\n    return sys.modules\nimport sys\n"),
    ("nfkc", "\uff45\uff58\uff45\uff43('x')\nimport \uff4f\uff53\n\uff4f\uff53.system\n"),
    # strings
    (PKG_MOD, "a = r'\\'' + b'x' + rb'y' + BR\"z\" + u'w' + U'''q''' + R\"\"\"s\"\"\"\n"
              "b = 'a\\\nb' + '''x''y''' + \"\"\"\"a\"\"\" + ''\n"),
    (PKG_MOD, "ur'x'\nbu'x'\nfb'x'\n"),
    (PKG_MOD, "x = '\\N{DIGIT ONE}' '\\u00e9' '\\U0001F600' '\\x41' '\\101' '\\q'\n"),
    (PKG_MOD, "x = 'unterminated\n"),
    (PKG_MOD, "x = '''unterminated\n\n"),
    # f-strings
    (PKG_MOD, "f'{x!r:>{w}}' F\"{y=}\" rf'\\{z}' f'{{}}' f'{a[\"b\"]}' fr'{c:{d}.{e}f}'\n"),
    (PKG_MOD, "s = f\"{__import__('os').system('id')}\"\nt = f'{x:{__import__(\"q\")}}'\n"),
    (PKG_MOD, "f'''{f\"\"\"{f'{f\"{x}\"}'}\"\"\"}'''\n"),
    (PKG_MOD, "f'''{\n  x +\n  y\n}'''\n"),
    (PKG_MOD, "f'{x:{y:{z}}}'\n"),
    (PKG_MOD, "f'{}'\nf'}'\n"),
    (PKG_MOD, "f'{x#}'\n"),
    (PKG_MOD, "f'{a['b']}'\n"),
    (PKG_MOD, "f'\\N{DIGIT ONE}{y}' f'{x!=y}{x:=10}{x!s}'\n"),
    # numbers, operators, brackets, continuation
    (PKG_MOD, "x = 0x_1F + 0o17 + 0b1_0 + 1_000.5e-3j + .5 + 1. + 09.5 + 1if 1 else 2\n"
              "y = 0x1for x in z\nw = 1..real\n"),
    (PKG_MOD, "a **= b //= c >>= d <<= e ... f -> g := h != i == j <> k @= l\n"),
    (PKG_MOD, "x = f(a[b], {c: (d,\n  e)})\ny = 1 + \\\n  2\n"),
    (PKG_MOD, "x = (1,\n  2\n"),
    (PKG_MOD, "x = [(1]\n"),
    (PKG_MOD, "x = 1 \\ y\n"),
    (PKG_MOD, "x = $\n"),
    (PKG_MOD, "(" * 40 + ")" * 40 + "\n"),
    # line ends, BOM, cookies, bytes
    (PKG_MOD, "import os\r\nimport sys\rimport re\nx = '''a\r\nb'''\r\n"),
    ("raw", b"\xef\xbb\xbfimport os\n"),
    ("raw", b"\xef\xbb\xbf# coding: latin-1\nimport os\n"),
    ("raw", b"# -*- coding: latin-1 -*-\nx = '\xe9'\nimport os\n"),
    ("raw", b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-1 :\nx = '\xe9'\n"),
    ("raw", b"# coding: ascii\nx = '\xe9'\n"),
    ("raw", b"# coding: cp1252\nx = 1\n"),
    ("raw", b"x = '\xff'\n"),
    ("raw", b"x = 1\n\x00\n"),
    ("raw", "\u00e9 = '\u00fc'; import os\n\u65e5\u672c = os.getcwd()\n".encode()),
]


def seeds():
    for flags, text in SOURCES:
        if flags == "raw":
            yield bytes([PKG_MOD]) + text
        elif flags == "nfkc":
            yield bytes([PKG_MOD]) + text.encode()
        else:
            yield bytes([flags]) + text.encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "corpus"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    folder = os.path.join(args.out, "import_scanner")
    os.makedirs(folder, exist_ok=True)
    missing = 0
    for data in seeds():
        path = os.path.join(folder, hashlib.sha1(data).hexdigest())
        if os.path.exists(path):
            continue
        missing += 1
        if not args.check:
            with open(path, "wb") as f:
                f.write(data)
    if args.check and missing:
        print(f"{missing} import_scanner seeds missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
