#include "cli/policy_loader.h"

#include "core/file_bytes.h"
#include "core/limits.h"

namespace sealpkg::cli {

Result<verifier::Policy> LoadPolicy(const std::string& spec) {
  if (spec.rfind("builtin:", 0) == 0) return verifier::LoadBuiltinPolicy(spec);
  const Limits limits;
  ArchiveLimits read_limits;
  read_limits.max_archive_bytes = limits.policy.max_policy_bytes;
  SEALPKG_ASSIGN_OR_RETURN(FileBytes bytes, FileBytes::Snapshot(spec, read_limits));
  const std::string_view text(reinterpret_cast<const char*>(bytes.span().data()),
                              bytes.span().size());
  auto policy = verifier::ParsePolicy(text, limits.policy);
  if (!policy.ok()) {
    return Status(policy.status().code(), std::string(policy.status().reason()),
                  spec + ": " + std::string(policy.status().message()));
  }
  return policy;
}

}  // namespace sealpkg::cli
