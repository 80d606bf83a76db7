// Resolves a --policy argument: "builtin:<name>" or the path of a TOML policy file.
#pragma once

#include <string>

#include "core/status.h"
#include "verifier/policy.h"

namespace sealpkg::cli {

Result<verifier::Policy> LoadPolicy(const std::string& spec);

}  // namespace sealpkg::cli
