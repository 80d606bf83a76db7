// Import forms, relative resolution, __import__/importlib semantics and dynamic uses, checked
// against what CPython 3.11 executes (and against torch 1.13's scanner where it differs:
// shared/reference/torch_package.md §3.2, §6.7, §6.8).
#include "verifier/import_scanner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sealpkg::verifier {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<SourceScan> Scan(std::string_view src, std::string_view module = "pkg.mod",
                        bool is_package = false, const SourceLimits& limits = SourceLimits{}) {
  return ScanPythonSource(Bytes(src), module, is_package, limits);
}

// "kind module[:name] @line:column", one per import.
std::vector<std::string> Imports(std::string_view src, std::string_view module = "pkg.mod",
                                 bool is_package = false) {
  auto r = Scan(src, module, is_package);
  if (!r.ok()) return {"error: " + r.status().ToString()};
  std::vector<std::string> out;
  for (const ImportRef& i : r->imports) {
    std::string s = std::string(ImportKindName(i.kind)) + " " + i.module;
    if (i.name) s += ":" + *i.name;
    if (i.level != 0) s += " level=" + std::to_string(i.level);
    s += " @" + std::to_string(i.pos.line) + ":" + std::to_string(i.pos.column);
    out.push_back(s);
  }
  return out;
}

// Same without positions.
std::vector<std::string> Modules(std::string_view src, std::string_view module = "pkg.mod",
                                 bool is_package = false) {
  std::vector<std::string> out;
  for (std::string s : Imports(src, module, is_package)) {
    const size_t at = s.find(" @");
    if (at != std::string::npos) s.resize(at);
    out.push_back(s);
  }
  return out;
}

// "kind module:name @line:column", one per use.
std::vector<std::string> Uses(std::string_view src, std::string_view module = "pkg.mod",
                              bool is_package = false, bool positions = false) {
  auto r = Scan(src, module, is_package);
  if (!r.ok()) return {"error: " + r.status().ToString()};
  std::vector<std::string> out;
  for (const DynamicUse& u : r->uses) {
    std::string s = std::string(DynamicUseKindName(u.kind)) + " " + u.module + ":" + u.name;
    if (positions) s += " @" + std::to_string(u.pos.line) + ":" + std::to_string(u.pos.column);
    out.push_back(s);
  }
  return out;
}

using V = std::vector<std::string>;

void ExpectSyntax(std::string_view src, std::string_view message_part) {
  auto r = Scan(src);
  ASSERT_FALSE(r.ok()) << src;
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed) << src;
  EXPECT_EQ(r.status().reason(), "source.syntax") << src;
  EXPECT_NE(r.status().message().find(message_part), std::string_view::npos)
      << src << " -> " << r.status().message();
}

// ---------------------------------------------------------------------------------------------
// Import statements

TEST(ImportScannerTest, PlainImports) {
  EXPECT_EQ(Imports("import os\nimport a.b.c\nimport x as y, z\nimport p.q as r"),
            (V{"import os @1:8", "import a.b.c @2:8", "import x @3:8", "import z @3:16",
               "import p.q @4:8"}));
  EXPECT_EQ(Modules("import os . path"), (V{"import os.path"}));
  EXPECT_EQ(Modules("import \\\n  os.\\\npath"), (V{"import os.path"}));
}

TEST(ImportScannerTest, FromImports) {
  EXPECT_EQ(Imports("from a.b import c\nfrom x import (y, z as w,)\nfrom m import *"),
            (V{"from-import a.b:c @1:17", "from-import x:y @2:16", "from-import x:z @2:19",
               "from-import m:* @3:15"}));
  EXPECT_EQ(Modules("from a import (\n  b,\n  c as d\n)"),
            (V{"from-import a:b", "from-import a:c"}));
  EXPECT_EQ(Modules("from ctypes import CDLL, cdll\nimport ctypes.util"),
            (V{"from-import ctypes:CDLL", "from-import ctypes:cdll", "import ctypes.util"}));
}

TEST(ImportScannerTest, ImportsAnywhere) {
  const char* src =
      "def f():\n"
      "    import a\n"
      "class C:\n"
      "    from b import c\n"
      "if x: import d\n"
      "else: import e; import f\n"
      "try:\n"
      "    import g\n"
      "except ImportError: from h import i\n"
      "with x: import j\n"
      "while 1: import k\n"
      "match x:\n"
      "    case 1: import l\n"
      "lambda: 0; import m\n"
      "x = 1;import n;\n";
  EXPECT_EQ(Modules(src),
            (V{"import a", "from-import b:c", "import d", "import e", "import f", "import g",
               "from-import h:i", "import j", "import k", "import l", "import m", "import n"}));
}

TEST(ImportScannerTest, FromThatIsNotAnImport) {
  EXPECT_EQ(Modules("def g():\n    yield from x\nraise E from y\nx = (yield from z)"), V{});
}

TEST(ImportScannerTest, KeywordsInStringsAndCommentsAreNotImports) {
  EXPECT_EQ(Modules("x = 'import os'\n# import sys\ny = \"\"\"\nimport re\n\"\"\"\n"), V{});
}

TEST(ImportScannerTest, RelativeImportsInAModule) {
  // pkg.sub.mod (not a package): the package is pkg.sub.
  EXPECT_EQ(Modules("from . import a\nfrom .b import c\nfrom .. import d\nfrom ..e.f import g\n"
                    "from .import h\nfrom . import *",
                    "pkg.sub.mod", false),
            (V{"from-import pkg.sub:a level=1", "from-import pkg.sub.b:c level=1",
               "from-import pkg:d level=2", "from-import pkg.e.f:g level=2",
               "from-import pkg.sub:h level=1", "from-import pkg.sub:* level=1"}));
}

TEST(ImportScannerTest, RelativeImportsInAPackage) {
  // pkg/sub/__init__.py: the package is pkg.sub itself.
  EXPECT_EQ(
      Modules("from . import a\nfrom .. import *\nfrom ...x import y", "a.b.c", true),
      (V{"from-import a.b.c:a level=1", "from-import a.b:* level=2", "from-import a.x:y level=3"}));
}

TEST(ImportScannerTest, RelativeImportBeyondTop) {
  // a.b.c is a package: three dots reach `a`, four go above it.
  EXPECT_EQ(Modules("from ....x import y", "a.b.c", true), V{});
  EXPECT_EQ(Uses("from ....x import y, z\nfrom ..... import *", "a.b.c", true, true),
            (V{"relative-beyond-top ....x:y @1:19", "relative-beyond-top ....x:z @1:22",
               "relative-beyond-top .....:* @2:19"}));
  EXPECT_EQ(Modules("from ... import y", "a.b.c", true), (V{"from-import a:y level=3"}));
  EXPECT_EQ(Modules("from ... import y", "a.b.c", false), V{});
}

TEST(ImportScannerTest, RelativeImportInADotlessModule) {
  // A module without a parent package has package "": torch 1.13 resolved `from . import y`
  // in module `x` against `x` itself (§6.8); CPython refuses it, and so do we.
  EXPECT_EQ(Modules("from . import y", "x", false), V{});
  EXPECT_EQ(Uses("from . import y", "x", false), (V{"relative-beyond-top .:y"}));
  EXPECT_EQ(Modules("from . import y", "x", true), (V{"from-import x:y level=1"}));
}

TEST(ImportScannerTest, MalformedImportStatements) {
  ExpectSyntax("import", "line 1, column 7: invalid import statement: expected a name");
  ExpectSyntax("import a,", "invalid import statement: expected a name");
  ExpectSyntax("import (a)", "line 1, column 8: invalid import statement: expected a name");
  ExpectSyntax("import a.b.c as", "expected a name after 'as'");
  ExpectSyntax("import a.", "expected a name after '.'");
  ExpectSyntax("import a b", "line 1, column 10: invalid import statement");
  ExpectSyntax("from a", "expected 'import'");
  ExpectSyntax("from import x", "line 1, column 6: invalid import statement: expected a name");
  ExpectSyntax("from a import", "expected a name");
  ExpectSyntax("from a import b,", "expected a name");
  ExpectSyntax("from a import (b", "'(' was never closed");
  ExpectSyntax("from a import (b c)", "expected ')'");
  ExpectSyntax("from a import ()", "expected a name");
  ExpectSyntax("from a import *, b", "invalid import statement");
  ExpectSyntax("from a import (*)", "expected a name");
  ExpectSyntax("from a import class", "expected a name");
  ExpectSyntax("import if", "expected a name");
  ExpectSyntax("x = import os", "line 1, column 5: 'import' outside an import statement");
  ExpectSyntax("f(import os)", "'import' outside an import statement");
  ExpectSyntax("f'{import os}'", "'import' outside an import statement");
}

// ---------------------------------------------------------------------------------------------
// __import__

TEST(ImportScannerTest, DunderImportForms) {
  EXPECT_EQ(Imports("__import__('os')\n__import__(\"a.b.c\")"),
            (V{"dunder-import os @1:1", "dunder-import a.b.c @2:1"}));
  // fromlist, positional and keyword.
  EXPECT_EQ(
      Modules("__import__('a.b', globals(), locals(), ['c', 'd'])\n"
              "__import__('x', fromlist=('y',))\n"
              "__import__('m', None, None, ['*'])"),
      (V{"dunder-import a.b:c", "dunder-import a.b:d", "dunder-import x:y", "dunder-import m:*"}));
  // Empty fromlists: the module only.
  EXPECT_EQ(Modules("__import__('a', fromlist=None)\n__import__('b', fromlist=[])\n"
                    "__import__('c', {}, {}, ())\n__import__('d', fromlist=0)\n"
                    "__import__('e', fromlist=False)\n__import__('f', fromlist='')"),
            (V{"dunder-import a", "dunder-import b", "dunder-import c", "dunder-import d",
               "dunder-import e", "dunder-import f"}));
  // name= keyword, escapes, concatenation, parentheses.
  EXPECT_EQ(Modules("__import__(name='os')\n__import__('o\\x73')\n__import__('sub' 'process')\n"
                    "__import__(('os'))\n__import__(u'os', fromlist=(('p'),))"),
            (V{"dunder-import os", "dunder-import os", "dunder-import subprocess",
               "dunder-import os", "dunder-import os:p"}));
}

TEST(ImportScannerTest, DunderImportLevels) {
  EXPECT_EQ(Modules("__import__('x', globals(), locals(), [], 1)\n"
                    "__import__('y', level=2)\n__import__('', globals(), None, ['z'], 1)\n"
                    "__import__('w', level=0)\n__import__('v', level=False)",
                    "a.b.c", false),
            (V{"dunder-import a.b.x level=1", "dunder-import a.y level=2",
               "dunder-import a.b:z level=1", "dunder-import w", "dunder-import v"}));
  EXPECT_EQ(Uses("__import__('x', level=3)", "a.b.c", false),
            (V{"relative-beyond-top ...x:__import__"}));
  EXPECT_EQ(Uses("__import__('x', level=1)", "top", false),
            (V{"relative-beyond-top .x:__import__"}));
}

TEST(ImportScannerTest, DunderImportNonLiterals) {
  EXPECT_EQ(Uses("__import__(name)"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__('o' + 's')"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__(f'os')"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__(b'os')"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__(*args)"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__('os', **kw)"), (V{"dynamic-import os:__import__"}));
  EXPECT_EQ(Uses("__import__(x for x in y)"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("__import__('\\N{LATIN SMALL LETTER O}s')"), (V{"dynamic-import :__import__"}));
  // Non-literal level: unknown relativity.
  EXPECT_EQ(Modules("__import__('x', level=n)"), V{});
  EXPECT_EQ(Uses("__import__('x', level=n)"), (V{"dynamic-import x:__import__"}));
  // Non-literal fromlist: the module is known, its items are not.
  EXPECT_EQ(Modules("__import__('x', fromlist=names)"), (V{"dunder-import x"}));
  EXPECT_EQ(Uses("__import__('x', fromlist=names)"), (V{"dynamic-import x:__import__"}));
  EXPECT_EQ(Uses("__import__('x', fromlist='ab')"), (V{"dynamic-import x:__import__"}));
  EXPECT_EQ(Uses("__import__('x', fromlist=['a.b', ''])"), (V{"dynamic-import x:__import__"}));
  EXPECT_EQ(Modules("__import__('x', fromlist=['a.b', ''])"), (V{"dunder-import x:a.b"}));
  // Names that are not module names never become imports.
  for (std::string_view bad : {"''", "'.os'", "'os.'", "'a..b'", "'os;x'", "'1x'", "'o s'"}) {
    const std::string src = "__import__(" + std::string(bad) + ")";
    EXPECT_EQ(Modules(src), V{}) << src;
    EXPECT_EQ(Uses(src).size(), 1u) << src;
  }
  // The function itself escaping.
  EXPECT_EQ(Uses("f = __import__\nf('os')"), (V{"dynamic-import :__import__"}));
  EXPECT_EQ(Uses("builtins.__import__ = hook"), (V{"dynamic-import :__import__"}));
}

TEST(ImportScannerTest, NestedDunderImportsAreFound) {
  // torch 1.13's visit_Call does not recurse into arguments (§6.7); we see every call.
  EXPECT_EQ(Imports("print(__import__('a'))\nf = lambda: __import__('b')\n"
                    "x = [__import__('c') for _ in y]\n"
                    "@dec(__import__('d'))\ndef g(h=__import__('e')): pass\n"
                    "x = {'k': __import__('f').g}\n"
                    "s = f\"{__import__('os').system('id')}\"\n"
                    "t = f'{x:{__import__(\"q\")}}'"),
            (V{"dunder-import a @1:7", "dunder-import b @2:13", "dunder-import c @3:6",
               "dunder-import d @4:6", "dunder-import e @5:9", "dunder-import f @6:11",
               "dunder-import os @7:8", "dunder-import q @8:11"}));
}

TEST(ImportScannerTest, DunderImportAnyReceiver) {
  EXPECT_EQ(Modules("import importlib, builtins\nimportlib.__import__('a')\n"
                    "builtins.__import__('b')\nx.__import__('c', fromlist=['d'])"),
            (V{"import importlib", "import builtins", "dunder-import a", "dunder-import b",
               "dunder-import c:d"}));
  EXPECT_EQ(Modules("from builtins import __import__ as imp\nimp('os')"),
            (V{"from-import builtins:__import__", "dunder-import os"}));
  EXPECT_EQ(Modules("from importlib import __import__\n__import__('os')"),
            (V{"from-import importlib:__import__", "dunder-import os"}));
}

TEST(ImportScannerTest, DefiningDunderImportIsNotAUse) {
  EXPECT_EQ(Uses("class I:\n    def __import__(self, name): pass"), V{});
}

// ---------------------------------------------------------------------------------------------
// importlib.import_module

TEST(ImportScannerTest, ImportModuleForms) {
  EXPECT_EQ(Imports("import importlib\nimportlib.import_module('os.path')\n"
                    "importlib.import_module('.sub', 'pkg')\n"
                    "importlib.import_module('..up', package='a.b.c')"),
            (V{"import importlib @1:8", "import-module os.path @2:11",
               "import-module pkg.sub level=1 @3:11", "import-module a.b.up level=2 @4:11"}));
  EXPECT_EQ(Modules("from importlib import import_module\nimport_module('x')\n"
                    "import_module(name='y')"),
            (V{"from-import importlib:import_module", "import-module x", "import-module y"}));
  EXPECT_EQ(Modules("from importlib import import_module as im\nim('x')\nim('.y', __package__)\n"
                    "im('.z', __name__)",
                    "p.q.m", false),
            (V{"from-import importlib:import_module", "import-module x",
               "import-module p.q.y level=1", "import-module p.q.m.z level=1"}));
  EXPECT_EQ(Modules("importlib.import_module('..', 'a.b.c')"), (V{"import-module a.b level=2"}));
}

TEST(ImportScannerTest, ImportModuleNonLiterals) {
  EXPECT_EQ(Uses("import_module(name)"), (V{"dynamic-import :import_module"}));
  EXPECT_EQ(Uses("import_module('.x', pkg)"), (V{"dynamic-import .x:import_module"}));
  EXPECT_EQ(Uses("import_module('x' + y)"), (V{"dynamic-import :import_module"}));
  EXPECT_EQ(Uses("m = importlib.import_module"), (V{"dynamic-import :import_module"}));
  EXPECT_EQ(Uses("import_module('a b')"), (V{"dynamic-import a b:import_module"}));
  // A relative name without a package (TypeError in CPython) or beyond the top.
  EXPECT_EQ(Uses("import_module('.x')"), (V{"relative-beyond-top .x:import_module"}));
  EXPECT_EQ(Uses("import_module('.x', None)"), (V{"relative-beyond-top .x:import_module"}));
  EXPECT_EQ(Uses("import_module('...x', 'a.b')"), (V{"relative-beyond-top ...x:import_module"}));
}

// ---------------------------------------------------------------------------------------------
// Dynamic code, builtins, reflection

TEST(ImportScannerTest, ExecEvalCompile) {
  EXPECT_EQ(Uses("exec('x')\neval(y)\ncompile(a, b, 'exec')\ne = eval", "m", false, true),
            (V{"exec :exec @1:1", "eval :eval @2:1", "compile :compile @3:1", "eval :eval @4:5"}));
  // Methods and other modules' functions of the same name are not the builtins.
  EXPECT_EQ(Uses("model.eval()\nre.compile('x')\nself.exec(1)\nx.eval"), V{});
  // Definitions, keyword arguments, and names rebound by an import are not uses either.
  EXPECT_EQ(Uses("def compile(x): pass\nclass eval: pass\nf(exec=1, eval=2)"), V{});
  EXPECT_EQ(Uses("from re import compile\ncompile('x')"), V{});
}

TEST(ImportScannerTest, BuiltinsModule) {
  EXPECT_EQ(Uses("import builtins\nbuiltins.exec('x')\nbuiltins.open('f')"),
            (V{"module-attribute builtins:exec", "exec :exec", "module-attribute builtins:open"}));
  EXPECT_EQ(Uses("import builtins as b\nb.eval('x')"),
            (V{"module-attribute builtins:eval", "eval :eval"}));
  EXPECT_EQ(Uses("from builtins import exec as run\nrun('x')"), (V{"exec :exec"}));
  // Without an import (builtins injected some other way) the dangerous members still count.
  EXPECT_EQ(Uses("builtins.compile(s)\nbuiltins.len(x)"), (V{"compile :compile"}));
  EXPECT_EQ(Uses("import builtins\nbuiltins.__dict__['exec']"),
            (V{"module-attribute builtins:__dict__", "builtins builtins:__dict__"}));
}

TEST(ImportScannerTest, DunderBuiltins) {
  EXPECT_EQ(Uses("__builtins__['exec']\nx = __builtins__\nf.__builtins__", "m", false, true),
            (V{"builtins :__builtins__ @1:1", "builtins :__builtins__ @2:5",
               "builtins :__builtins__ @3:3"}));
  EXPECT_EQ(Uses("__builtins__.exec('x')"), (V{"builtins :__builtins__", "exec :exec"}));
  EXPECT_EQ(Uses("globals()['__builtins__']"), (V{"builtins :__builtins__"}));
  EXPECT_EQ(Uses("x = '__builtins_'"), V{});
}

TEST(ImportScannerTest, Reflection) {
  EXPECT_EQ(Uses("getattr(o, name)\nsetattr(o, n, v)\ndelattr(o, n)\ng = getattr"),
            (V{"reflection :getattr", "reflection :setattr", "reflection :delattr",
               "reflection :getattr"}));
  EXPECT_EQ(Uses("getattr(o, 'x')\ngetattr(o, 'x', None)\nsetattr(o, 'y', 1)\ndelattr(o, 'z')"),
            V{});
  EXPECT_EQ(Uses("getattr(o, *a)\ngetattr(o)\ngetattr(o, 'a' + b)"),
            (V{"reflection :getattr", "reflection :getattr", "reflection :getattr"}));
  EXPECT_EQ(Uses("x.__getattribute__(n)\nobject.__getattribute__(o, n)\nf = o.__getattribute__"),
            (V{"reflection :__getattribute__", "reflection :__getattribute__",
               "reflection :__getattribute__"}));
  EXPECT_EQ(Uses("x.__getattribute__('a')\nobject.__getattribute__(o, 'b')"), V{});
  EXPECT_EQ(Uses("import builtins\nbuiltins.getattr(o, n)"),
            (V{"module-attribute builtins:getattr", "reflection :getattr"}));
  EXPECT_EQ(Uses("def getattr(o, n): pass\nf(getattr=1)"), V{});
}

TEST(ImportScannerTest, IntrospectionEscapes) {
  // Ways out of any namespace that need no import, exec or getattr.
  EXPECT_EQ(Uses("().__class__.__base__.__subclasses__()\nf.__globals__['os']\n"
                 "sys._getframe().f_back.f_globals\ng.__code__ = c\ngetattr(f, '__globals__')",
                 "m", false, true),
            (V{"reflection :__subclasses__ @1:23", "reflection :__globals__ @2:3",
               "reflection :f_back @3:17", "reflection :f_globals @3:24",
               "reflection :__code__ @4:3", "reflection :__globals__ @5:1"}));
  EXPECT_EQ(Uses("self.__class__.__name__\nx.__dict__\ntype(x).__mro__"), V{});
}

TEST(ImportScannerTest, LiteralGetattrOnModules) {
  EXPECT_EQ(Uses("import os\ngetattr(os, 'system')('id')"), (V{"module-attribute os:system"}));
  EXPECT_EQ(Uses("getattr(__import__('os'), 'system')"), (V{"module-attribute os:system"}));
  EXPECT_EQ(Uses("import importlib\ngetattr(importlib.import_module('subprocess'), 'run')"),
            (V{"module-attribute subprocess:run", "module-attribute importlib:import_module"}));
  EXPECT_EQ(Uses("import os.path\ngetattr(os.path, 'join')"), (V{"module-attribute os.path:join"}));
  EXPECT_EQ(Uses("getattr(builtins, 'exec')('x')"), (V{"exec :exec"}));
  EXPECT_EQ(Uses("import importlib\ngetattr(importlib, 'import_module')"),
            (V{"module-attribute importlib:import_module", "reflection importlib:import_module"}));
}

// ---------------------------------------------------------------------------------------------
// Module attributes

TEST(ImportScannerTest, ModuleAttributes) {
  EXPECT_EQ(Uses("import os\nos.system('id')\nx = os.environ['A']", "m", false, true),
            (V{"module-attribute os:system @2:1", "module-attribute os:environ @3:5"}));
  // import os.path binds os and makes os.path a known submodule.
  EXPECT_EQ(Uses("import os.path\nos.path.join(a)\nos.getcwd()"),
            (V{"module-attribute os.path:join", "module-attribute os:getcwd"}));
  // Only os imported: os.path is an attribute of os.
  EXPECT_EQ(Uses("import os\nos.path.join(a)"), (V{"module-attribute os:path"}));
  EXPECT_EQ(Uses("import os.path as p\np.join(a)"), (V{"module-attribute os.path:join"}));
  EXPECT_EQ(Uses("from os import path\npath.join(a)"), (V{"module-attribute os.path:join"}));
  EXPECT_EQ(Uses("from . import sub\nsub.f()", "pkg.mod", false),
            (V{"module-attribute pkg.sub:f"}));
  EXPECT_EQ(Uses("import a.b.c\na.b.c.d.e"), (V{"module-attribute a.b.c:d"}));
}

TEST(ImportScannerTest, ModuleAttributesAreFlowInsensitive) {
  // The import comes later, or in another function: the name is still the module.
  EXPECT_EQ(Uses("def f():\n    return os.system('x')\nimport os", "m", false, true),
            (V{"module-attribute os:system @2:12"}));
  EXPECT_EQ(Uses("def f():\n    import numpy as np\ndef g():\n    import cupy as np\nnp.zeros"),
            (V{"module-attribute numpy:zeros", "module-attribute cupy:zeros"}));
}

TEST(ImportScannerTest, ModuleAttributesNotReported) {
  // Attributes of other objects, the import statement itself, bare module names.
  EXPECT_EQ(Uses("import os\nself.os.system\nx = os\nf(os)\nfrom os import path"), V{});
  // Documented limitation: no data flow beyond import bindings.
  EXPECT_EQ(Uses("import os\no = os\no.system('x')"), V{});
  EXPECT_EQ(Uses("from os import *\nsystem('x')"), V{});
}

TEST(ImportScannerTest, ImportCallResults) {
  EXPECT_EQ(Uses("__import__('os').system('id')"), (V{"module-attribute os:system"}));
  // Without a fromlist __import__ returns the top-level package.
  EXPECT_EQ(Uses("__import__('os.path').getcwd()"), (V{"module-attribute os:getcwd"}));
  EXPECT_EQ(Uses("__import__('os.path').path.join"), (V{"module-attribute os.path:join"}));
  EXPECT_EQ(Uses("__import__('a.b', fromlist=['c']).c.d"), (V{"module-attribute a.b.c:d"}));
  EXPECT_EQ(Uses("import importlib\nimportlib.import_module('a.b').f"),
            (V{"module-attribute importlib:import_module", "module-attribute a.b:f"}));
}

TEST(ImportScannerTest, NfkcSpellingsAreSeen) {
  // CPython runs these as exec and os.system.
  EXPECT_EQ(Uses("ｅｘｅｃ('x')"), (V{"exec :exec"}));
  EXPECT_EQ(Modules("import ｏｓ"), (V{"import os"}));
  EXPECT_EQ(Uses("import os\nos.ｓｙｓｔｅｍ('x')"), (V{"module-attribute os:system"}));
  EXPECT_EQ(Modules("__import__('ｏｓ')"), (V{"dunder-import ｏｓ"}));  // strings are not folded
}

// ---------------------------------------------------------------------------------------------
// Positions, order, errors, limits

TEST(ImportScannerTest, ItemsAreInSourceOrder) {
  auto r = Scan("x = f'{__import__(\"a\")}'\nimport b\nexec(c); __import__('d')\nfrom e import f");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->imports.size(), 4u);
  EXPECT_EQ(r->imports[0].module, "a");
  EXPECT_EQ(r->imports[1].module, "b");
  EXPECT_EQ(r->imports[2].module, "d");
  EXPECT_EQ(r->imports[3].module, "e");
  ASSERT_EQ(r->uses.size(), 1u);
  EXPECT_EQ(r->uses[0].pos.line, 3u);
}

TEST(ImportScannerTest, PositionsCountCodePoints) {
  EXPECT_EQ(Imports("é = 'ü'; import os\r\n\r\nx = \"\"\"\n\"\"\"; import sys"),
            (V{"import os @1:17", "import sys @4:13"}));
}

TEST(ImportScannerTest, TokenizerErrorsPropagate) {
  ExpectSyntax("import os\nx = 'abc", "line 2, column 5: unterminated string literal");
  ExpectSyntax("\xEF\xBB\xBF# coding: latin-1\n", "encoding problem");
  ExpectSyntax("x = (", "'(' was never closed");
}

TEST(ImportScannerTest, Limits) {
  SourceLimits limits;
  limits.max_source_bytes = 9;
  EXPECT_TRUE(Scan("import os", "m", false, limits).ok());
  auto r = Scan("import os\n", "m", false, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(r.status().reason(), "source.too-large");

  limits = SourceLimits{};
  limits.max_tokens = 3;  // import os NEWLINE
  EXPECT_TRUE(Scan("import os", "m", false, limits).ok());
  r = Scan("import os;", "m", false, limits);  // 4 tokens
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "source.too-large");

  limits = SourceLimits{};
  limits.max_nesting = 3;
  EXPECT_TRUE(Scan("f(((1)))", "m", false, limits).ok());
  r = Scan("f((((1))))", "m", false, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(r.status().reason(), "source.too-large");
}

TEST(ImportScannerTest, EmptyAndTrivialSources) {
  auto r = Scan("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->imports.empty());
  EXPECT_TRUE(r->uses.empty());
  EXPECT_TRUE(Scan("\n\n# nothing\n").ok());
}

TEST(ImportScannerTest, KindNames) {
  EXPECT_EQ(ImportKindName(ImportRef::Kind::kImport), "import");
  EXPECT_EQ(ImportKindName(ImportRef::Kind::kFromImport), "from-import");
  EXPECT_EQ(ImportKindName(ImportRef::Kind::kDunderImport), "dunder-import");
  EXPECT_EQ(ImportKindName(ImportRef::Kind::kImportModule), "import-module");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kExec), "exec");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kEval), "eval");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kCompile), "compile");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kBuiltins), "builtins");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kReflection), "reflection");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kDynamicImport), "dynamic-import");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kModuleAttribute), "module-attribute");
  EXPECT_EQ(DynamicUseKindName(DynamicUse::Kind::kRelativeBeyondTop), "relative-beyond-top");
}

}  // namespace
}  // namespace sealpkg::verifier
