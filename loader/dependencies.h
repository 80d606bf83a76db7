// Dependency resolution for the exporter: which modules a pickle or a Python source needs, and
// what to do with each module (intern, extern, mock, deny), with torch.package 1.13's rules and
// its defects fixed (shared/reference/torch_package.md §3, §6).
//
// The scanning is the verifier's: pickles run through the symbolic pickle machine (every
// protocol, exact memo semantics, _compat_pickle renames; torch 1.13 tracked STACK_GLOBAL
// arguments with a string heuristic that misread memo reads), sources through the import scanner
// (imports, `from` imports with relative levels resolved, every literal `__import__` form, also
// nested in other calls). Nothing here imports or runs anything: whether a candidate such as
// `pkg.sub` of `from pkg import sub` is a module is decided by the caller's importer.
//
// Classification (ModuleClassifier::Classify) fixes 1.13's order, in which the implicit externs
// (torch and the standard library except sys and io) were decided before any user pattern, so
// deny("os") or mock("torch") did nothing: for those modules the user patterns that name the
// module's top-level package literally (first include segment without a wildcard: "os",
// "torch.**", "json.*") are tried first, in registration order; wildcard-led patterns such as
// "**" never claim them, and without an explicit match they are externed implicitly.
//
//   SEALPKG_ASSIGN_OR_RETURN(PickleDependencies p, FindPickleDependencies(bytes, limits));
//   for (const std::string& m : p.modules) classifier.Classify(m) ...
//   SEALPKG_ASSIGN_OR_RETURN(SourceDependencies s,
//                            FindSourceDependencies(src, "pkg.mod", false, limits));
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/glob.h"
#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::loader {

// What the exporter scans: pickles it has just written from the user's own objects and the
// sources it is about to package. Not untrusted input, so these only bound time and memory and
// sit far above what real models need. (Kept here rather than in core/limits.h, which every
// translation unit includes; the untrusted-input limits all live there.)
struct ExportLimits {
  // Opcodes in one pickle. A whole nn.Module costs ~20 opcodes per parameter tensor plus a few
  // per submodule: vit_l_16 runs ~200k; 64M covers models 300x larger and scans in seconds.
  uint64_t max_pickle_opcodes = 64u << 20;
  // Stack values and open MARKs at once: CPython's pickler never nests deeper than the object
  // graph; the untrusted-input values are far beyond that.
  uint64_t max_pickle_stack = PickleLimits{}.max_stack;
  uint64_t max_pickle_marks = PickleLimits{}.max_marks;
  // Memo entries: the pickler memoizes every object it writes, ~5 per parameter tensor.
  uint64_t max_pickle_memo = 16u << 20;
  // Bytes of one inline argument: numpy arrays and bytes objects are pickled inline (tensor
  // storages are not), so only what the user saved bounds it; the scan skips over the argument.
  uint64_t max_pickle_argument_bytes = 1ull << 40;
  // Symbolic values in total (~32 bytes each): 32M values is ~1 GiB, for 32M pickled objects.
  uint64_t max_pickle_values = 32u << 20;
  // Bytes of one Python source (FX code generated for a large traced graph can reach MiBs).
  uint64_t max_source_bytes = 64u << 20;
  // Tokens of one source, and bracket nesting (CPython's own parser stops at 200).
  uint64_t max_source_tokens = 32u << 20;
  uint64_t max_source_nesting = SourceLimits{}.max_nesting;

  PickleLimits pickle() const;
  SourceLimits source() const;
};

// ----- pickles

struct PickleGlobal {
  std::string module;  // what find_class imports (after protocol < 3 renames)
  std::string name;    // attribute looked up in it; dotted for nested names (protocol >= 4)
  bool operator==(const PickleGlobal&) const = default;
};

struct PickleDependencies {
  int protocol = 0;
  std::vector<PickleGlobal> globals;  // distinct (module, name), in order of first use
  std::vector<std::string> modules;   // distinct modules of `globals`, in order of first use
};

// Errors: kMalformed "dependencies.pickle" when the stream is not a complete pickle CPython would
// load (the machine's finding in the message), kPolicyDenied "dependencies.pickle-extension" for
// EXT1/EXT2/EXT4 (a copyreg extension code names no module a package could provide),
// kLimitExceeded for `limits`.
Result<PickleDependencies> FindPickleDependencies(std::span<const uint8_t> pickle,
                                                  const ExportLimits& limits);

// ----- sources

struct SourceCandidate {
  // `import a.b` -> ("a.b", none); `from a import b` -> ("a", "b"): `a.b` if that is a module,
  // else `a`; `from a import *` -> ("a", none). Relative names are already absolute.
  std::string module;
  std::optional<std::string> name;
  bool operator==(const SourceCandidate&) const = default;
};

struct UnresolvedImport {
  std::string callee;  // "__import__" (or the alias it was called through)
  std::string module;  // literal part that was understood, may be empty
  uint32_t line = 0;
  uint32_t column = 0;
};

struct SourceDependencies {
  std::vector<SourceCandidate> candidates;  // distinct, in source order
  // Set when the source cannot be resolved at all (torch: DEPENDENCY_RESOLUTION_FAILED, and the
  // module contributes no dependencies): a syntax error, or a relative import beyond the
  // top-level package ("attempted relative import beyond top-level package", as importlib says).
  std::optional<std::string> resolution_error;
  // `__import__` calls whose module is not a literal: the exporter cannot know what they load.
  std::vector<UnresolvedImport> unresolved;
};

// `module_name` is the name the source is saved under, `is_package` whether it is a package's
// __init__ (relative imports resolve against the module itself then, else against its parent; a
// top-level non-package module has no package, so any relative import in it goes beyond the top).
// `importlib.import_module` calls are not dependencies: packaged code calling it imports from the
// host, not from the package. Errors: kLimitExceeded "source.too-large" for `limits`.
Result<SourceDependencies> FindSourceDependencies(std::span<const uint8_t> source,
                                                  std::string_view module_name, bool is_package,
                                                  const ExportLimits& limits);

// ----- standard library

// Whether the top-level package of `module_name` is in CPython 3.11's sys.stdlib_module_names
// (table generated by loader/internal/gen_stdlib_modules.py).
bool IsStdlibModule(std::string_view module_name);
std::span<const std::string_view> StdlibModuleNames();  // sorted

// torch.package's implicit externs: top-level `torch`, or a standard-library module other than
// `sys` and `io` (which give packaged code system-level access and must be named explicitly).
bool IsImplicitExtern(std::string_view module_name);

// ----- classification

enum class Action : uint8_t { kIntern = 1, kExtern = 2, kMock = 3, kDeny = 4 };

struct Classification {
  enum class Kind : uint8_t {
    kSkip,                  // torch_package_importer: provided by every PackageImporter
    kRepackagedMockModule,  // _mock: written once by the exporter itself
    kImplicitExtern,        // torch / stdlib with no explicit pattern
    kPattern,               // user pattern `pattern` (its action in `action`)
    kNoMatch,               // no pattern applies: torch's NO_ACTION error
  };
  Kind kind = Kind::kNoMatch;
  uint32_t pattern = 0;
  Action action = Action::kIntern;
};

class ModuleClassifier {
 public:
  // Registers a pattern (GlobGroup over "." with torch's semantics); returns its index.
  // Errors: the glob's kMalformed "glob.bad-pattern".
  Result<uint32_t> AddPattern(const std::vector<std::string>& include,
                              const std::vector<std::string>& exclude, Action action);
  // The action for `module_name` by the rules in this header's comment.
  Classification Classify(std::string_view module_name) const;
  size_t size() const { return patterns_.size(); }

 private:
  struct Pattern {
    GlobGroup all;        // include/exclude as given
    GlobGroup explicit_;  // only the includes whose first segment is literal (same excludes)
    bool has_explicit = false;
    Action action = Action::kIntern;
  };
  std::vector<Pattern> patterns_;
};

}  // namespace sealpkg::loader
