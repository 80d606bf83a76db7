// Built-in policies: parsed from the texts compiled into the binary.
#include <map>
#include <mutex>

#include "core/file_bytes.h"
#include "verifier/internal/builtin_policy_data.h"
#include "verifier/policy.h"

namespace sealpkg::verifier {

std::vector<std::string_view> BuiltinPolicyNames() {
  std::vector<std::string_view> out;
  for (const auto& t : internal::BuiltinPolicyTexts()) out.push_back(t.name);
  return out;
}

std::optional<std::string_view> BuiltinPolicyText(std::string_view name) {
  for (const auto& t : internal::BuiltinPolicyTexts()) {
    if (t.name == name) return t.toml;
  }
  return std::nullopt;
}

namespace {

// Built-in policies never change at run time: parse each once per process.
Result<Policy> ParseBuiltin(std::string_view name) {
  const auto text = BuiltinPolicyText(name);
  if (!text) {
    std::string known;
    for (auto n : BuiltinPolicyNames()) known += (known.empty() ? "" : ", ") + std::string(n);
    return Malformed("policy.unknown-builtin",
                     "no built-in policy '" + std::string(name) + "' (known: " + known + ")");
  }
  auto policy = ParsePolicy(*text, PolicyLimits{});
  if (!policy.ok()) {
    return InternalError(
        "internal.builtin-policy",
        "built-in policy " + std::string(name) + " does not parse: " + policy.status().ToString());
  }
  if (policy->name != name) {
    return InternalError("internal.builtin-policy", "built-in policy file " + std::string(name) +
                                                        " names itself " + policy->name);
  }
  return policy;
}

}  // namespace

Result<Policy> LoadBuiltinPolicy(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, Policy, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (const auto it = cache.find(name); it != cache.end()) return it->second;
  SEALPKG_ASSIGN_OR_RETURN(Policy policy, ParseBuiltin(name));
  cache.emplace(std::string(name), policy);
  return policy;
}

Result<Policy> LoadPolicySpec(const std::string& spec, const PolicyLimits& limits) {
  if (spec.rfind("builtin:", 0) == 0) return LoadBuiltinPolicy(spec);
  ArchiveLimits read_limits;
  read_limits.max_archive_bytes = limits.max_policy_bytes;
  SEALPKG_ASSIGN_OR_RETURN(FileBytes bytes, FileBytes::Snapshot(spec, read_limits));
  const std::string_view text(reinterpret_cast<const char*>(bytes.span().data()),
                              bytes.span().size());
  auto policy = ParsePolicy(text, limits);
  if (!policy.ok()) {
    return Status(policy.status().code(), std::string(policy.status().reason()),
                  spec + ": " + std::string(policy.status().message()));
  }
  return policy;
}

}  // namespace sealpkg::verifier
