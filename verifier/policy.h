// Allow-list policies: what a pickle may resolve and call, what packaged sources may import and
// use, which extern modules and resources a package may carry. Deny by default.
//
// A policy is TOML (schema and examples: policies/README.md). Names are torch.package glob
// patterns over dotted names ("torch.nn.modules.**", "torch.*Storage"); a resolved name whose
// attribute part is itself dotted (protocol >= 4 "pathlib" + "os.getcwd") matches only an exact
// entry, never a pattern. Built-in policies are compiled into the binary and named
// "builtin:weights-only", "builtin:data-only", "builtin:torchvision".
//
//   SEALPKG_ASSIGN_OR_RETURN(Policy p, LoadBuiltinPolicy("builtin:weights-only"));
//   std::vector<Finding> findings = EvaluatePickle(run, p, "archive/data.pkl");
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/glob.h"
#include "core/limits.h"
#include "core/status.h"
#include "verifier/finding.h"
#include "verifier/pickle_machine.h"
#include "verifier/toml.h"

namespace sealpkg::verifier {

// A list of name patterns. Exact entries are kept apart so dotted attribute names can require
// an exact match.
class NameSet {
 public:
  static Result<NameSet> Create(std::vector<std::string> patterns, std::string_view separator);
  // `name` matches a pattern (or, when `exact_only`, equals an entry).
  bool Matches(std::string_view name, bool exact_only = false) const;
  const std::vector<std::string>& patterns() const { return patterns_; }
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;
  std::vector<std::string> exact_;  // sorted
  std::optional<GlobGroup> glob_;
};

// Extra checks on the arguments of one callable.
struct CallRule {
  std::string callable;                 // exact name
  std::vector<uint32_t> callable_args;  // positional args that must be allowed callables
  std::vector<uint32_t> global_args;    // positional args that must be allowed globals
  std::vector<uint32_t> build_state_callable_items;  // BUILD state tuple items: callables
};

struct PicklePolicy {
  std::vector<int> protocols;       // allowed PROTO values; empty: any
  std::vector<uint8_t> opcodes;     // allowed opcode bytes, sorted
  NameSet globals;                  // may be resolved (GLOBAL, STACK_GLOBAL, INST)
  NameSet callables;                // may be called (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)
  NameSet build;                    // objects made by these callables may receive BUILD
  NameSet mutable_types;            // ... may receive APPEND/APPENDS/SETITEM(S)/ADDITEMS
  NameSet storage_types;            // types allowed in ("storage", type, ...) persistent ids
  bool storage_ids = false;         // torch storage persistent ids
  bool reduce_package_ids = false;  // torch.package ("reduce_package", ...) persistent ids
  std::vector<CallRule> rules;
};

struct SourcePolicy {
  NameSet imports;     // modules sources may import besides the package's own modules
  NameSet attributes;  // "module.attribute" uses allowed on imported modules
  // Module patterns whose sources may use each capability.
  NameSet exec, eval, compile, builtins, reflection, dynamic_import;
};

struct PackagePolicy {
  NameSet externs;    // allowed .data/extern_modules entries
  NameSet interned;   // allowed packaged module names
  NameSet resources;  // other records ('/'-separated paths)
  bool torchscript = false;
  // [package.sources]: record path -> SHA-256 (hex). When present, every packaged source must
  // be listed and match byte for byte: the package can only carry exactly the reviewed code.
  bool pin_sources = false;
  std::map<std::string, std::string> sources;
  // Signature requirements, enforced by the signing layer (`sealpkg verify --trust`,
  // `sealpkg.verify(trust=...)`), not by the static verifier: the package must carry a valid
  // signature by at least `signer_threshold` distinct `signer_role` keys of the trust store
  // (the role's own threshold applies too, whichever is higher).
  bool require_signature = false;
  std::string signer_role = "package-signer";
  uint32_t signer_threshold = 1;
};

struct Policy {
  std::string name;
  std::string description;
  int64_t version = 1;
  PicklePolicy pickle;
  SourcePolicy source;
  PackagePolicy package;
};

// Builds a policy from a parsed TOML document. Unknown tables or keys are errors (a typo must
// not silently allow or deny). Reasons: "policy.schema" (kMalformed).
Result<Policy> PolicyFromToml(const TomlValue& doc);
// Parses and builds (TOML errors keep their reasons).
Result<Policy> ParsePolicy(std::string_view text, const PolicyLimits& limits);
// "builtin:weights-only", "builtin:data-only", "builtin:torchvision".
Result<Policy> LoadBuiltinPolicy(std::string_view name);
std::vector<std::string_view> BuiltinPolicyNames();
// A policy named on a command line or in an API call: "builtin:<name>" or the path of a TOML
// file (read once, at most limits.max_policy_bytes).
Result<Policy> LoadPolicySpec(const std::string& spec, const PolicyLimits& limits);
// The TOML text of a built-in policy (for `sealpkg policy show`).
std::optional<std::string_view> BuiltinPolicyText(std::string_view name);

// A storage a pickle refers to through a torch persistent id.
struct StorageRef {
  std::string key;            // record key ("0" -> ".data/0.storage" or "data/0")
  std::string type;           // "torch.FloatStorage"
  uint64_t numel = 0;         // declared element count
  uint64_t element_size = 0;  // bytes per element for `type` (0 if unknown)
  uint64_t offset = 0;        // BINPERSID offset
};

struct PickleVerdict {
  std::vector<Finding> findings;
  std::vector<StorageRef> storages;
  std::vector<std::string> modules;  // modules the pickle's globals import (for packages)
};

// Checks one pickle run against the policy. `entry` names the record in findings. The run's own
// structural error (if any) is included.
PickleVerdict EvaluatePickle(const PickleRun& run, const Policy& policy, std::string_view entry);

// Bytes per element of a torch storage type name ("torch.FloatStorage" -> 4), or 0.
uint64_t StorageElementSize(std::string_view type);

}  // namespace sealpkg::verifier
