// The built-in policies' TOML texts, embedded at build time from policies/*.toml.
#pragma once

#include <string_view>
#include <vector>

namespace sealpkg::verifier::internal {

struct BuiltinPolicyText {
  std::string_view name;  // "builtin:weights-only"
  std::string_view toml;
};

const std::vector<BuiltinPolicyText>& BuiltinPolicyTexts();

}  // namespace sealpkg::verifier::internal
