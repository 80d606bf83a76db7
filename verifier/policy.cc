#include "verifier/policy.h"

#include <algorithm>
#include <map>

#include "core/printable.h"

namespace sealpkg::verifier {
namespace {

constexpr std::string_view kSchema = "policy.schema";

Status SchemaError(const TomlValue& at, std::string message) {
  return Malformed(std::string(kSchema), "line " + std::to_string(at.line()) + ", column " +
                                             std::to_string(at.column()) + ": " + message);
}

// Reads an array of strings.
Result<std::vector<std::string>> Strings(const TomlValue& v, std::string_view key) {
  if (!v.is_array()) return SchemaError(v, std::string(key) + " must be an array of strings");
  std::vector<std::string> out;
  for (const TomlValue& item : v.as_array()) {
    if (!item.is_string()) {
      return SchemaError(item, std::string(key) + " must contain only strings");
    }
    out.push_back(item.as_string());
  }
  return out;
}

Result<std::vector<uint32_t>> Indices(const TomlValue& v, std::string_view key) {
  if (!v.is_array()) return SchemaError(v, std::string(key) + " must be an array of integers");
  std::vector<uint32_t> out;
  for (const TomlValue& item : v.as_array()) {
    if (!item.is_integer() || item.as_integer() < 0 || item.as_integer() > 255) {
      return SchemaError(item, std::string(key) + " must contain integers from 0 to 255");
    }
    out.push_back(static_cast<uint32_t>(item.as_integer()));
  }
  return out;
}

Result<NameSet> Names(const TomlValue& v, std::string_view key, std::string_view separator) {
  SEALPKG_ASSIGN_OR_RETURN(std::vector<std::string> patterns, Strings(v, key));
  auto set = NameSet::Create(std::move(patterns), separator);
  if (!set.ok())
    return SchemaError(v, std::string(key) + ": " + std::string(set.status().message()));
  return set;
}

Result<bool> Bool(const TomlValue& v, std::string_view key) {
  if (!v.is_bool()) return SchemaError(v, std::string(key) + " must be true or false");
  return v.as_bool();
}

// Iterates a table's keys, rejecting unknown ones: a typo must never silently change a policy.
template <typename Handler>
Status ForEachKey(const TomlValue& table, std::string_view where, Handler handle) {
  if (!table.is_table()) return SchemaError(table, std::string(where) + " must be a table");
  for (const auto& [key, value] : table.as_table()) {
    SEALPKG_ASSIGN_OR_RETURN(bool known, handle(key, value));
    if (!known) {
      return SchemaError(value, "unknown key '" + Printable(key) + "' in " + std::string(where));
    }
  }
  return OkStatus();
}

std::vector<uint8_t> DefaultOpcodes() {
  std::vector<uint8_t> out;
  for (int b = 0; b < 256; ++b) {
    const auto op = static_cast<uint8_t>(b);
    if (OpName(op).empty()) continue;
    const Op o = static_cast<Op>(op);
    if (o == Op::kExt1 || o == Op::kExt2 || o == Op::kExt4 || o == Op::kNextBuffer ||
        o == Op::kReadOnlyBuffer) {
      continue;
    }
    out.push_back(op);
  }
  return out;
}

Result<std::vector<uint8_t>> Opcodes(const TomlValue& v) {
  SEALPKG_ASSIGN_OR_RETURN(std::vector<std::string> names, Strings(v, "pickle.opcodes"));
  std::map<std::string_view, uint8_t> by_name;
  for (int b = 0; b < 256; ++b) {
    if (!OpName(static_cast<uint8_t>(b)).empty()) {
      by_name[OpName(static_cast<uint8_t>(b))] = static_cast<uint8_t>(b);
    }
  }
  std::vector<uint8_t> out;
  for (const auto& n : names) {
    const auto it = by_name.find(n);
    if (it == by_name.end()) return SchemaError(v, "unknown opcode '" + Printable(n) + "'");
    out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status ParsePickleTable(const TomlValue& t, PicklePolicy& p) {
  p.opcodes = DefaultOpcodes();
  return ForEachKey(t, "[pickle]", [&](const std::string& key, const TomlValue& v) -> Result<bool> {
    if (key == "protocols") {
      SEALPKG_ASSIGN_OR_RETURN(auto list, Indices(v, "pickle.protocols"));
      for (uint32_t x : list) {
        if (x > 5) return SchemaError(v, "pickle protocols go from 0 to 5");
        p.protocols.push_back(static_cast<int>(x));
      }
    } else if (key == "opcodes") {
      SEALPKG_ASSIGN_OR_RETURN(p.opcodes, Opcodes(v));
    } else if (key == "globals") {
      SEALPKG_ASSIGN_OR_RETURN(p.globals, Names(v, "pickle.globals", "."));
    } else if (key == "callables") {
      SEALPKG_ASSIGN_OR_RETURN(p.callables, Names(v, "pickle.callables", "."));
    } else if (key == "build") {
      SEALPKG_ASSIGN_OR_RETURN(p.build, Names(v, "pickle.build", "."));
    } else if (key == "mutable") {
      SEALPKG_ASSIGN_OR_RETURN(p.mutable_types, Names(v, "pickle.mutable", "."));
    } else if (key == "storage_types") {
      SEALPKG_ASSIGN_OR_RETURN(p.storage_types, Names(v, "pickle.storage_types", "."));
    } else if (key == "persistent_ids") {
      SEALPKG_ASSIGN_OR_RETURN(auto kinds, Strings(v, "pickle.persistent_ids"));
      for (const auto& k : kinds) {
        if (k == "storage") {
          p.storage_ids = true;
        } else if (k == "reduce_package") {
          p.reduce_package_ids = true;
        } else {
          return SchemaError(v, "persistent_ids may hold \"storage\" and \"reduce_package\"");
        }
      }
    } else if (key == "rules") {
      if (!v.is_array()) return SchemaError(v, "pickle.rules must be an array of tables");
      for (const TomlValue& r : v.as_array()) {
        CallRule rule;
        SEALPKG_RETURN_IF_ERROR(ForEachKey(
            r, "[[pickle.rules]]", [&](const std::string& k, const TomlValue& x) -> Result<bool> {
              if (k == "callable") {
                if (!x.is_string()) return SchemaError(x, "callable must be a string");
                rule.callable = x.as_string();
              } else if (k == "callable_args") {
                SEALPKG_ASSIGN_OR_RETURN(rule.callable_args, Indices(x, k));
              } else if (k == "global_args") {
                SEALPKG_ASSIGN_OR_RETURN(rule.global_args, Indices(x, k));
              } else if (k == "build_state_callable_items") {
                SEALPKG_ASSIGN_OR_RETURN(rule.build_state_callable_items, Indices(x, k));
              } else {
                return false;
              }
              return true;
            }));
        if (rule.callable.empty()) return SchemaError(r, "a pickle rule needs a callable");
        p.rules.push_back(std::move(rule));
      }
    } else {
      return false;
    }
    return true;
  });
}

Status ParseSourceTable(const TomlValue& t, SourcePolicy& s) {
  return ForEachKey(t, "[source]", [&](const std::string& key, const TomlValue& v) -> Result<bool> {
    NameSet* target = key == "imports"          ? &s.imports
                      : key == "attributes"     ? &s.attributes
                      : key == "exec"           ? &s.exec
                      : key == "eval"           ? &s.eval
                      : key == "compile"        ? &s.compile
                      : key == "builtins"       ? &s.builtins
                      : key == "reflection"     ? &s.reflection
                      : key == "dynamic_import" ? &s.dynamic_import
                                                : nullptr;
    if (target == nullptr) return false;
    SEALPKG_ASSIGN_OR_RETURN(*target, Names(v, "source." + key, "."));
    return true;
  });
}

// [package.sources]: "path" = "sha256:<hex>".
Status ParseSourcePins(const TomlValue& v, PackagePolicy& p) {
  if (!v.is_table()) return SchemaError(v, "package.sources must be a table");
  p.pin_sources = true;
  for (const auto& [path, hash] : v.as_table()) {
    const std::string_view h = hash.is_string() ? std::string_view(hash.as_string()) : "";
    const bool hex = h.size() == 71 && h.starts_with("sha256:") &&
                     std::all_of(h.begin() + 7, h.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
    if (!hex) return SchemaError(hash, "package.sources values are \"sha256:<64 hex digits>\"");
    p.sources[path] = std::string(h.substr(7));
  }
  return OkStatus();
}

Status ParsePackageTable(const TomlValue& t, PackagePolicy& p) {
  return ForEachKey(
      t, "[package]", [&](const std::string& key, const TomlValue& v) -> Result<bool> {
        if (key == "externs") {
          SEALPKG_ASSIGN_OR_RETURN(p.externs, Names(v, "package.externs", "."));
        } else if (key == "interned") {
          SEALPKG_ASSIGN_OR_RETURN(p.interned, Names(v, "package.interned", "."));
        } else if (key == "resources") {
          SEALPKG_ASSIGN_OR_RETURN(p.resources, Names(v, "package.resources", "/"));
        } else if (key == "torchscript") {
          SEALPKG_ASSIGN_OR_RETURN(p.torchscript, Bool(v, "package.torchscript"));
        } else if (key == "sources") {
          SEALPKG_RETURN_IF_ERROR(ParseSourcePins(v, p));
        } else if (key == "require_signature") {
          SEALPKG_ASSIGN_OR_RETURN(p.require_signature, Bool(v, "package.require_signature"));
        } else if (key == "signer_role") {
          if (!v.is_string() || (v.as_string() != "package-signer" &&
                                 v.as_string() != "policy-signer" && v.as_string() != "root")) {
            return SchemaError(v,
                               "package.signer_role must be \"package-signer\", "
                               "\"policy-signer\" or \"root\"");
          }
          p.signer_role = v.as_string();
        } else if (key == "threshold") {
          // Bounded like a DSSE envelope's signature count (SigningLimits).
          if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 16) {
            return SchemaError(v, "package.threshold must be an integer in 1..16");
          }
          p.signer_threshold = static_cast<uint32_t>(v.as_integer());
        } else {
          return false;
        }
        return true;
      });
}

// ---- evaluation ----

Finding MakeFinding(std::string_view code, std::string_view entry, uint64_t offset, Op op,
                    std::string name, std::string rule, std::string message) {
  Finding f;
  f.code = std::string(code);
  f.kind = ErrorCode::kPolicyDenied;
  f.entry = std::string(entry);
  f.offset = offset;
  f.construct = std::string(OpName(static_cast<uint8_t>(op)));
  f.name = std::move(name);
  f.rule = std::move(rule);
  f.message = std::move(message);
  return f;
}

class Evaluator {
 public:
  Evaluator(const PickleRun& run, const Policy& policy, std::string_view entry)
      : run_(run), p_(policy.pickle), entry_(entry) {}

  PickleVerdict Run() {
    if (run_.error) {
      Finding f = *run_.error;
      f.entry = std::string(entry_);
      out_.findings.push_back(std::move(f));
    }
    CheckProtocolAndOpcodes();
    for (const GlobalRef& g : run_.globals) {
      out_.modules.push_back(g.module);
      if (!GlobalAllowed(g)) {
        out_.findings.push_back(MakeFinding(
            code::kPickleGlobalDenied, entry_, g.offset, g.op, g.full_name(), "pickle.globals",
            "'" + Printable(g.full_name()) + "' is not an allowed global" +
                (g.renamed ? " (renamed from '" + Printable(g.written) + "' for protocol < 3)"
                           : "") +
                (g.name.find('.') != std::string::npos ? "; dotted names must be listed exactly"
                                                       : "")));
      }
    }
    for (const CallSite& c : run_.calls) CheckCall(c);
    return std::move(out_);
  }

 private:
  bool Dotted(const GlobalRef& g) const { return g.name.find('.') != std::string::npos; }
  bool GlobalAllowed(const GlobalRef& g) const {
    return p_.globals.Matches(g.full_name(), Dotted(g));
  }
  const GlobalRef* AsGlobal(uint32_t id) const {
    const Value& v = run_.value(id);
    return v.kind == ValueKind::kGlobal ? &run_.globals[v.ref] : nullptr;
  }
  bool CallableAllowed(const GlobalRef& g) const {
    return GlobalAllowed(g) && p_.callables.Matches(g.full_name(), Dotted(g));
  }
  // The global that produced a call result, if it was a call of a global.
  const GlobalRef* Maker(uint32_t id) const {
    const Value& v = run_.value(id);
    if (v.kind != ValueKind::kCallResult) return nullptr;
    return AsGlobal(run_.calls[v.ref].callee);
  }
  std::string Describe(uint32_t id) const {
    if (const GlobalRef* g = AsGlobal(id)) return "'" + Printable(g->full_name()) + "'";
    if (const GlobalRef* m = Maker(id))
      return "an object made by '" + Printable(m->full_name()) + "'";
    return "a " + std::string(ValueKindName(run_.value(id).kind));
  }

  void Deny(std::string_view code, const CallSite& c, std::string name, std::string rule,
            std::string message) {
    out_.findings.push_back(MakeFinding(code, entry_, c.offset, c.op, std::move(name),
                                        std::move(rule), std::move(message)));
  }

  void CheckProtocolAndOpcodes() {
    if (!p_.protocols.empty() && std::find(p_.protocols.begin(), p_.protocols.end(),
                                           run_.highest_protocol) == p_.protocols.end()) {
      Finding f = MakeFinding(
          code::kPickleProtocolDenied, entry_, 0, Op::kProto, std::to_string(run_.highest_protocol),
          "pickle.protocols",
          "pickle protocol " + std::to_string(run_.highest_protocol) + " is not allowed");
      out_.findings.push_back(std::move(f));
    }
    for (size_t i = 0; i < run_.opcodes_used.size(); ++i) {
      const uint8_t op = run_.opcodes_used[i];
      if (!std::binary_search(p_.opcodes.begin(), p_.opcodes.end(), op)) {
        out_.findings.push_back(
            MakeFinding(code::kPickleOpcodeDenied, entry_, run_.opcodes_first_offset[i],
                        static_cast<Op>(op), std::string(OpName(op)), "pickle.opcodes",
                        "opcode " + std::string(OpName(op)) + " is not allowed"));
      }
    }
  }

  // Positional argument `index` of a call's args tuple, if present.
  std::optional<uint32_t> Arg(uint32_t args, uint32_t index) const {
    const auto& items = run_.items(args);
    if (index >= items.size()) return std::nullopt;
    return items[index];
  }

  void CheckRule(const CallRule& rule, const CallSite& c, const std::string& callee) {
    for (uint32_t i : rule.callable_args) {
      const auto a = Arg(c.args, i);
      const GlobalRef* g = a ? AsGlobal(*a) : nullptr;
      if (g == nullptr || !CallableAllowed(*g)) {
        Deny(code::kPickleCallDenied, c, callee, "pickle.rules",
             "argument " + std::to_string(i) + " of '" + Printable(callee) +
                 "' must be an allowed callable, not " + (a ? Describe(*a) : "missing"));
      }
    }
    for (uint32_t i : rule.global_args) {
      const auto a = Arg(c.args, i);
      const GlobalRef* g = a ? AsGlobal(*a) : nullptr;
      if (g == nullptr || !GlobalAllowed(*g)) {
        Deny(code::kPickleCallDenied, c, callee, "pickle.rules",
             "argument " + std::to_string(i) + " of '" + Printable(callee) +
                 "' must be an allowed global, not " + (a ? Describe(*a) : "missing"));
      }
    }
  }

  const CallRule* RuleFor(const std::string& name) const {
    for (const CallRule& r : p_.rules) {
      if (r.callable == name) return &r;
    }
    return nullptr;
  }

  void CheckCall(const CallSite& c) {
    switch (c.kind) {
      case CallSite::Kind::kCall: {
        const GlobalRef* g = AsGlobal(c.callee);
        if (g == nullptr) {
          Deny(code::kPickleCallDenied, c, "", "pickle.callables",
               "calls " + Describe(c.callee) + "; only allowed globals may be called");
          return;
        }
        if (!GlobalAllowed(*g)) return;  // already reported as a denied global
        const std::string name = g->full_name();
        if (!p_.callables.Matches(name, Dotted(*g))) {
          Deny(code::kPickleCallDenied, c, name, "pickle.callables",
               "'" + Printable(name) + "' may be referenced but not called");
          return;
        }
        if (const CallRule* r = RuleFor(name)) CheckRule(*r, c, name);
        return;
      }
      case CallSite::Kind::kBuild: {
        const GlobalRef* maker = Maker(c.callee);
        // security: BUILD on a class, function or module rewrites its attributes (module
        // attribute overwrite, function __code__/__globals__ tricks): never allowed.
        if (maker == nullptr || !p_.build.Matches(maker->full_name(), Dotted(*maker))) {
          const std::string name = maker ? maker->full_name() : "";
          Deny(code::kPickleBuildDenied, c, name, "pickle.build",
               "BUILD (__setstate__ / attribute update) on " + Describe(c.callee) +
                   " is not allowed");
          return;
        }
        if (const CallRule* r = RuleFor(maker->full_name())) {
          const auto& state = run_.items(c.args);
          for (uint32_t i : r->build_state_callable_items) {
            const GlobalRef* g = i < state.size() ? AsGlobal(state[i]) : nullptr;
            if (g == nullptr || !CallableAllowed(*g)) {
              Deny(code::kPickleBuildDenied, c, maker->full_name(), "pickle.rules",
                   "state item " + std::to_string(i) + " of '" + Printable(maker->full_name()) +
                       "' must be an allowed callable, not " +
                       (i < state.size() ? Describe(state[i]) : "missing"));
            }
          }
        }
        return;
      }
      case CallSite::Kind::kMutate: {
        const GlobalRef* maker = Maker(c.callee);
        if (maker == nullptr || !p_.mutable_types.Matches(maker->full_name(), Dotted(*maker))) {
          Deny(code::kPickleMutationDenied, c, maker ? maker->full_name() : "", "pickle.mutable",
               std::string(OpName(static_cast<uint8_t>(c.op))) + " on " + Describe(c.callee) +
                   " calls its methods; only allowed container types may be filled this way");
        }
        return;
      }
      case CallSite::Kind::kPersistentLoad:
        CheckPersistentId(c);
        return;
    }
  }

  void CheckPersistentId(const CallSite& c) {
    const auto& items = run_.items(c.args);
    const bool tuple = run_.value(c.args).kind == ValueKind::kTuple;
    const std::string_view kind =
        tuple && !items.empty() && run_.value(items[0]).kind == ValueKind::kStr
            ? run_.text(items[0])
            : std::string_view();
    if (kind == "storage" && p_.storage_ids) {
      CheckStorageId(c, items);
      return;
    }
    if (kind == "reduce_package" && p_.reduce_package_ids) {
      // ("reduce_package", id, func, args), or the legacy ("reduce_package", func, args).
      const size_t func = items.size() == 4 ? 2 : 1;
      const GlobalRef* g = items.size() >= 3 ? AsGlobal(items[func]) : nullptr;
      if (g == nullptr || !CallableAllowed(*g)) {
        Deny(code::kPicklePersistentIdDenied, c, g ? g->full_name() : "", "pickle.callables",
             "reduce_package persistent id calls " +
                 (items.size() >= 3 ? Describe(items[func]) : std::string("nothing valid")) +
                 ", which is not an allowed callable");
      }
      return;
    }
    Deny(code::kPicklePersistentIdDenied, c, std::string(kind), "pickle.persistent_ids",
         kind.empty() ? "persistent id is " + Describe(c.args) + ", not an allowed form"
                      : "persistent id type '" + Printable(kind) + "' is not allowed");
  }

  void CheckStorageId(const CallSite& c, std::span<const uint32_t> items) {
    // ("storage", type, key, location, numel) and the legacy form with view metadata. A pid not
    // of this form is denied; a well-formed one that names a bad record is a storage mismatch.
    const auto malformed = [&](std::string why) {
      Deny(code::kPicklePersistentIdDenied, c, "storage", "pickle.persistent_ids",
           "storage persistent id: " + why);
    };
    const auto bad = [&](std::string why) {
      Deny(code::kPickleStorageMismatch, c, "storage", "pickle.persistent_ids",
           "storage persistent id: " + why);
    };
    if (items.size() != 5 && items.size() != 6) return malformed("expected 5 or 6 fields");
    const GlobalRef* type = AsGlobal(items[1]);
    if (type == nullptr || !GlobalAllowed(*type) ||
        !p_.storage_types.Matches(type->full_name(), Dotted(*type))) {
      return Deny(code::kPicklePersistentIdDenied, c, type ? type->full_name() : "",
                  "pickle.storage_types",
                  "storage type " + Describe(items[1]) + " is not an allowed storage type");
    }
    const Value& key = run_.value(items[2]);
    std::string key_text;
    if (key.kind == ValueKind::kInt && !key.big && key.integer >= 0) {
      key_text = std::to_string(key.integer);
    } else if (key.kind == ValueKind::kStr && !key.big) {
      key_text = std::string(run_.text(items[2]));
    } else {
      return malformed("key is not a non-negative integer or a string");
    }
    // security: keys become record names; torch 1.13's DirectoryReader joined them into paths.
    // TorchScript pickles write "<n>.storage"; everything else a bare key.
    std::string_view base = key_text;
    if (base.ends_with(".storage")) base.remove_suffix(8);
    const bool plain =
        !base.empty() && base.size() <= 64 && std::all_of(base.begin(), base.end(), [](char ch) {
          return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == '_';
        });
    if (!plain) return bad("key '" + Printable(key_text) + "' is not a plain record key");
    if (run_.value(items[3]).kind != ValueKind::kStr) return malformed("location is not a string");
    const Value& numel = run_.value(items[4]);
    if (numel.kind != ValueKind::kInt || numel.big || numel.integer < 0) {
      return malformed("element count is not a non-negative integer");
    }
    out_.storages.push_back(StorageRef{key_text, type->full_name(),
                                       static_cast<uint64_t>(numel.integer),
                                       StorageElementSize(type->full_name()), c.offset});
  }

  const PickleRun& run_;
  const PicklePolicy& p_;
  std::string_view entry_;
  PickleVerdict out_;
};

}  // namespace

Result<NameSet> NameSet::Create(std::vector<std::string> patterns, std::string_view separator) {
  NameSet s;
  std::vector<std::string> wildcards;
  for (const auto& p : patterns) {
    (p.find('*') == std::string::npos ? s.exact_ : wildcards).push_back(p);
  }
  std::sort(s.exact_.begin(), s.exact_.end());
  // Exact names are found by binary search; only real patterns go through glob matching.
  if (!wildcards.empty()) {
    SEALPKG_ASSIGN_OR_RETURN(GlobGroup g, GlobGroup::Create(wildcards, {}, separator));
    s.glob_ = std::move(g);
  }
  s.patterns_ = std::move(patterns);
  return s;
}

bool NameSet::Matches(std::string_view name, bool exact_only) const {
  if (std::binary_search(exact_.begin(), exact_.end(), name)) return true;
  if (exact_only || !glob_) return false;
  return glob_->Matches(name);
}

Result<Policy> PolicyFromToml(const TomlValue& doc) {
  Policy p;
  p.pickle.opcodes = DefaultOpcodes();
  SEALPKG_RETURN_IF_ERROR(ForEachKey(
      doc, "the policy", [&](const std::string& key, const TomlValue& v) -> Result<bool> {
        if (key == "policy") {
          SEALPKG_RETURN_IF_ERROR(ForEachKey(
              v, "[policy]", [&](const std::string& k, const TomlValue& x) -> Result<bool> {
                if (k == "name" || k == "description") {
                  if (!x.is_string()) return SchemaError(x, k + " must be a string");
                  (k == "name" ? p.name : p.description) = x.as_string();
                } else if (k == "version") {
                  if (!x.is_integer() || x.as_integer() < 1) {
                    return SchemaError(x, "version must be a positive integer");
                  }
                  p.version = x.as_integer();
                } else {
                  return false;
                }
                return true;
              }));
        } else if (key == "pickle") {
          SEALPKG_RETURN_IF_ERROR(ParsePickleTable(v, p.pickle));
        } else if (key == "source") {
          SEALPKG_RETURN_IF_ERROR(ParseSourceTable(v, p.source));
        } else if (key == "package") {
          SEALPKG_RETURN_IF_ERROR(ParsePackageTable(v, p.package));
        } else {
          return false;
        }
        return true;
      }));
  if (p.name.empty()) return SchemaError(doc, "[policy] needs a name");
  return p;
}

Result<Policy> ParsePolicy(std::string_view text, const PolicyLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(TomlValue doc, ParseToml(text, limits));
  return PolicyFromToml(doc);
}

PickleVerdict EvaluatePickle(const PickleRun& run, const Policy& policy, std::string_view entry) {
  return Evaluator(run, policy, entry).Run();
}

uint64_t StorageElementSize(std::string_view type) {
  static const std::map<std::string_view, uint64_t> kSizes = {
      {"torch.BFloat16Storage", 2},       {"torch.BoolStorage", 1},
      {"torch.ByteStorage", 1},           {"torch.CharStorage", 1},
      {"torch.ComplexDoubleStorage", 16}, {"torch.ComplexFloatStorage", 8},
      {"torch.DoubleStorage", 8},         {"torch.FloatStorage", 4},
      {"torch.HalfStorage", 2},           {"torch.IntStorage", 4},
      {"torch.LongStorage", 8},           {"torch.QInt32Storage", 4},
      {"torch.QInt8Storage", 1},          {"torch.QUInt2x4Storage", 1},
      {"torch.QUInt4x2Storage", 1},       {"torch.QUInt8Storage", 1},
      {"torch.ShortStorage", 2},          {"torch.storage.UntypedStorage", 1},
      {"torch.UntypedStorage", 1},
  };
  const auto it = kSizes.find(type);
  return it == kSizes.end() ? 0 : it->second;
}

}  // namespace sealpkg::verifier
