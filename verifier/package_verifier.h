// Whole-input verification: torch.package archives, torch.save / torch.jit.save zips, legacy
// (non-zip) torch files, plain pickles and .npy object arrays, checked against a policy.
//
// CollectFacts() identifies the input by content (never by name), validates a ZIP with the
// strict archive reader, then classifies every record by role and content: framework records,
// tensor storages, Python sources (scanned for imports and dynamic code), TorchScript records,
// nested archives, and pickles — found by content, so a pickle under any name (or none) is
// still run through the pickle machine. Nothing is imported or executed. EvaluateFacts() then
// applies a policy: every pickle's globals and call sites, storage ids against their records,
// `.data/extern_modules`, every packaged module and its imports, resources, TorchScript.
// InferPolicy() writes the least-privilege policy that accepts exactly what the facts contain.
//
//   SEALPKG_ASSIGN_OR_RETURN(Policy policy, LoadBuiltinPolicy("builtin:torchvision"));
//   VerifyReport report = VerifyPath("model.pt", policy, Limits{});
//   if (!report.accepted) for (const Finding& f : report.findings) ...
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "verifier/finding.h"
#include "verifier/import_scanner.h"
#include "verifier/pickle_machine.h"
#include "verifier/policy.h"

namespace sealpkg::verifier {

struct PackageFacts {
  std::string format;  // torch.package, torch.save, torchscript, legacy-torch, pickle, npy, zip
  std::vector<Finding> problems;  // structural findings found while collecting

  struct PickleEntry {
    std::string entry;  // record name, or the file path (with "#N" for the N-th pickle)
    PickleRun run;
  };
  std::vector<PickleEntry> pickles;

  struct SourceEntry {
    std::string entry;   // record name
    std::string module;  // dotted module name
    bool is_package = false;
    std::string sha256;  // hex, of the record's bytes
    SourceScan scan;
  };
  std::vector<SourceEntry> sources;

  std::optional<std::vector<std::string>> externs;  // .data/extern_modules
  std::map<std::string, uint64_t> storages;         // storage record -> size in bytes
  std::vector<std::string> resources;               // other records
  std::vector<std::string> torchscript;             // TorchScript records
  std::string storage_prefix;  // ".data/" (package) or "data/" (torch.save); "" when none
  // Inflated copies of compressed records that pickle runs refer to. Stored records are viewed
  // in the input itself: facts must not outlive the bytes they were collected from.
  std::deque<std::vector<uint8_t>> inflated;
};

struct VerifyReport {
  std::string path;
  std::string format;
  std::string policy;
  bool accepted = false;
  std::vector<Finding> findings;
  uint64_t pickles = 0;
  uint64_t sources = 0;
  uint64_t storages = 0;
  uint64_t globals = 0;
  // The package's `.data/extern_modules` (empty when it has none). When the report is accepted,
  // the policy allowed each of them: the sandbox pre-imports them before lockdown.
  std::vector<std::string> externs;
};

// `name` labels findings for plain files (the path as given).
PackageFacts CollectFacts(std::span<const uint8_t> bytes, std::string_view name,
                          const Limits& limits);
std::vector<Finding> EvaluateFacts(const PackageFacts& facts, const Policy& policy);

VerifyReport VerifyBytes(std::span<const uint8_t> bytes, std::string_view path,
                         const Policy& policy, const Limits& limits);
// Reads the file once (sealed snapshot); I/O problems become an "input.unreadable" finding.
VerifyReport VerifyPath(const std::string& path, const Policy& policy, const Limits& limits);

// The TOML of the least-privilege policy accepting exactly these facts.
std::string InferPolicy(const PackageFacts& facts, std::string_view name);

}  // namespace sealpkg::verifier
