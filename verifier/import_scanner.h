// Static scan of one Python source file: what it imports and which dynamic constructs it uses.
//
// torch.package executes every interned module when a pickle names it, so the verifier must know
// what each source can reach without running it. ScanPythonSource() tokenizes the source with its
// own Python 3 tokenizer (every string form including f-strings and prefixes, comments, line
// continuations, brackets, the encoding cookie, a UTF-8 BOM, CRLF) and extracts:
//   - imports: `import a.b as c`, `from .x import y` (relative imports resolved against the
//     module's package), `__import__("m", ..., fromlist, level)`, `importlib.import_module("m")`;
//   - dynamic uses: exec/eval/compile, `__builtins__`, getattr/setattr/delattr with a non-literal
//     name, `__import__`/`import_module` with a non-literal argument, and every attribute access
//     on a name bound to an imported module (`os.system`, `p.join` after `import os.path as p`).
// Each item carries its 1-based line and column. Pure: bytes in, values out; no recursion.
//
//   SEALPKG_ASSIGN_OR_RETURN(SourceScan scan,
//                            ScanPythonSource(bytes, "pkg.mod", /*is_package=*/false, limits));
//   for (const ImportRef& i : scan.imports) ... i.module ...
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::verifier {

struct SourcePosition {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in code points of the decoded line
};

struct ImportRef {
  enum class Kind : uint8_t {
    kImport,        // import a.b.c [as d]
    kFromImport,    // from a.b import c [as d] / from a.b import *
    kDunderImport,  // __import__("a.b", globals, locals, fromlist, level) with literal name
    kImportModule,  // importlib.import_module("a.b") / import_module(".b", "pkg") with literals
  };
  Kind kind = Kind::kImport;
  // Absolute module name after resolving relative imports ("pkg.sub" for `from .sub import x`
  // inside package "pkg"). For `from m import n` this is "m"; `name` is "n" ("*" for star).
  std::string module;
  std::optional<std::string> name;
  uint32_t level = 0;  // leading dots of a relative import as written
  SourcePosition pos;
};

struct DynamicUse {
  enum class Kind : uint8_t {
    kExec,               // exec(...)
    kEval,               // eval(...)
    kCompile,            // compile(...)
    kBuiltins,           // any use of the name __builtins__ (or builtins.__dict__ etc.)
    kReflection,         // getattr/setattr/delattr with a non-literal attribute name
    kDynamicImport,      // __import__ / import_module / importlib.__import__ with a non-literal
    kModuleAttribute,    // attribute of an imported module: module="os", name="system"
    kRelativeBeyondTop,  // a relative import that goes above the top-level package
  };
  Kind kind = Kind::kExec;
  std::string module;  // for kModuleAttribute: the module the name is bound to ("os.path")
  std::string name;    // the attribute / builtin / callee as written ("system", "exec", "getattr")
  SourcePosition pos;
};

struct SourceScan {
  std::vector<ImportRef> imports;  // in source order, duplicates kept (each has its position)
  std::vector<DynamicUse> uses;    // in source order
};

// `module_name` is the dotted name the module is imported under ("pkg.sub"); `is_package` is true
// for a package's __init__.py. Errors: kMalformed "source.syntax" (undecodable bytes, unterminated
// strings or brackets, bad encoding cookie) with line/column in the message; kLimitExceeded
// "source.too-large" for limits.max_source_bytes / max_tokens / max_nesting.
Result<SourceScan> ScanPythonSource(std::span<const uint8_t> source, std::string_view module_name,
                                    bool is_package, const SourceLimits& limits);

std::string_view ImportKindName(ImportRef::Kind kind);
std::string_view DynamicUseKindName(DynamicUse::Kind kind);

}  // namespace sealpkg::verifier
