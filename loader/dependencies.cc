#include "loader/dependencies.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <tuple>
#include <utility>

#include "verifier/finding.h"
#include "verifier/import_scanner.h"
#include "verifier/pickle_machine.h"

namespace sealpkg::loader {
namespace {

constexpr std::string_view kStdlibModules[] = {
#include "loader/internal/stdlib_modules.inc"
};

// torch.package's message for a relative import above the top-level package (importlib's).
constexpr std::string_view kBeyondTopLevel = "attempted relative import beyond top-level package";

std::string_view TopLevel(std::string_view module_name) {
  return module_name.substr(0, module_name.find('.'));
}

// The first dotted segment of a glob names one top-level package when it has no wildcard.
bool FirstSegmentIsLiteral(std::string_view pattern) {
  const std::string_view first = pattern.substr(0, pattern.find('.'));
  return !first.empty() && first.find('*') == std::string_view::npos;
}

}  // namespace

PickleLimits ExportLimits::pickle() const {
  PickleLimits p;
  p.max_opcodes = max_pickle_opcodes;
  p.max_stack = max_pickle_stack;
  p.max_marks = max_pickle_marks;
  p.max_memo = max_pickle_memo;
  p.max_argument_bytes = max_pickle_argument_bytes;
  p.max_values = max_pickle_values;
  return p;
}

SourceLimits ExportLimits::source() const {
  SourceLimits s;
  s.max_source_bytes = max_source_bytes;
  s.max_tokens = max_source_tokens;
  s.max_nesting = max_source_nesting;
  return s;
}

Result<PickleDependencies> FindPickleDependencies(std::span<const uint8_t> pickle,
                                                  const ExportLimits& limits) {
  const verifier::PickleRun run = verifier::RunPickle(pickle, limits.pickle());
  if (run.error) {
    const verifier::Finding& f = *run.error;
    const std::string where = " at offset " + std::to_string(f.offset.value_or(0));
    if (f.code == verifier::code::kPickleExtension) {
      return PolicyDenied("dependencies.pickle-extension",
                          f.message + where + ": the module it needs cannot be determined");
    }
    if (f.kind == ErrorCode::kLimitExceeded) {
      return LimitExceeded("dependencies.pickle-limit", f.message + where);
    }
    return Malformed("dependencies.pickle", f.code + ": " + f.message + where);
  }
  if (!run.stopped) return Malformed("dependencies.pickle", "pickle ends before STOP");

  PickleDependencies out;
  out.protocol = run.protocol;
  std::set<std::pair<std::string_view, std::string_view>> seen_globals;
  std::set<std::string_view> seen_modules;
  for (const verifier::GlobalRef& g : run.globals) {
    if (!seen_globals.emplace(g.module, g.name).second) continue;
    out.globals.push_back({g.module, g.name});
    if (seen_modules.insert(g.module).second) out.modules.push_back(g.module);
  }
  return out;
}

Result<SourceDependencies> FindSourceDependencies(std::span<const uint8_t> source,
                                                  std::string_view module_name, bool is_package,
                                                  const ExportLimits& limits) {
  SourceDependencies out;
  Result<verifier::SourceScan> scanned =
      verifier::ScanPythonSource(source, module_name, is_package, limits.source());
  if (!scanned.ok()) {
    if (scanned.status().code() == ErrorCode::kLimitExceeded) return scanned.status();
    out.resolution_error = std::string(scanned.status().message());  // a syntax error
    return out;
  }
  const verifier::SourceScan& scan = *scanned;
  for (const verifier::DynamicUse& use : scan.uses) {
    // A relative import() through importlib names a host module, never a packaged one.
    if (use.kind == verifier::DynamicUse::Kind::kRelativeBeyondTop && use.name != "import_module") {
      out.resolution_error = std::string(kBeyondTopLevel);
      return out;
    }
  }
  std::set<std::tuple<std::string, bool, std::string>> seen;  // (module, has name, name)
  for (const verifier::ImportRef& ref : scan.imports) {
    if (ref.kind == verifier::ImportRef::Kind::kImportModule) continue;
    const bool named = ref.name.has_value() && *ref.name != "*";
    const std::string name = named ? *ref.name : std::string();
    if (!seen.emplace(ref.module, named, name).second) continue;
    out.candidates.push_back({ref.module, named ? std::optional<std::string>(name) : std::nullopt});
  }
  for (const verifier::DynamicUse& use : scan.uses) {
    if (use.kind != verifier::DynamicUse::Kind::kDynamicImport || use.name == "import_module") {
      continue;
    }
    // A literal module with a non-literal fromlist still yields the module itself above; only
    // a call whose module name is unknown is unresolved.
    const bool module_known =
        !use.module.empty() &&
        std::any_of(out.candidates.begin(), out.candidates.end(),
                    [&](const SourceCandidate& c) { return c.module == use.module; });
    if (module_known) continue;
    out.unresolved.push_back({use.name, use.module, use.pos.line, use.pos.column});
  }
  return out;
}

bool IsStdlibModule(std::string_view module_name) {
  return std::binary_search(std::begin(kStdlibModules), std::end(kStdlibModules),
                            TopLevel(module_name));
}

std::span<const std::string_view> StdlibModuleNames() {
  return kStdlibModules;
}

bool IsImplicitExtern(std::string_view module_name) {
  const std::string_view top = TopLevel(module_name);
  if (top == "torch") return true;
  return top != "sys" && top != "io" && IsStdlibModule(top);
}

Result<uint32_t> ModuleClassifier::AddPattern(const std::vector<std::string>& include,
                                              const std::vector<std::string>& exclude,
                                              Action action) {
  std::vector<std::string> explicit_include;
  for (const std::string& p : include) {
    if (FirstSegmentIsLiteral(p)) explicit_include.push_back(p);
  }
  SEALPKG_ASSIGN_OR_RETURN(GlobGroup all, GlobGroup::Create(include, exclude, "."));
  SEALPKG_ASSIGN_OR_RETURN(GlobGroup explicit_group,
                           GlobGroup::Create(explicit_include, exclude, "."));
  patterns_.push_back(
      Pattern{std::move(all), std::move(explicit_group), !explicit_include.empty(), action});
  return static_cast<uint32_t>(patterns_.size() - 1);
}

Classification ModuleClassifier::Classify(std::string_view module_name) const {
  Classification c;
  if (module_name == "torch_package_importer") {
    c.kind = Classification::Kind::kSkip;
    return c;
  }
  if (module_name == "_mock") {
    c.kind = Classification::Kind::kRepackagedMockModule;
    return c;
  }
  const bool implicit = IsImplicitExtern(module_name);
  for (uint32_t i = 0; i < patterns_.size(); ++i) {
    const Pattern& p = patterns_[i];
    const bool matches =
        implicit ? p.has_explicit && p.explicit_.Matches(module_name) : p.all.Matches(module_name);
    if (!matches) continue;
    c.kind = Classification::Kind::kPattern;
    c.pattern = i;
    c.action = p.action;
    return c;
  }
  c.kind = implicit ? Classification::Kind::kImplicitExtern : Classification::Kind::kNoMatch;
  return c;
}

}  // namespace sealpkg::loader
