// The [package] signature requirement keys of verifier/policy.cc (require_signature,
// signer_role, threshold): defaults, accepted values, and every invalid form refused.
#include <gtest/gtest.h>

#include <string>

#include "core/limits.h"
#include "verifier/policy.h"

namespace sealpkg::verifier {
namespace {

constexpr std::string_view kHead = "[policy]\nname = \"x\"\n[package]\n";

TEST(PolicySignatureKeysTest, DefaultsRequireNothing) {
  auto p = ParsePolicy("[policy]\nname = \"x\"\n", PolicyLimits{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->package.require_signature);
  EXPECT_EQ(p->package.signer_role, "package-signer");
  EXPECT_EQ(p->package.signer_threshold, 1u);
  for (auto name : BuiltinPolicyNames()) {
    auto b = LoadBuiltinPolicy(name);
    ASSERT_TRUE(b.ok());
    EXPECT_FALSE(b->package.require_signature) << name;
  }
}

TEST(PolicySignatureKeysTest, ParsesTheKeys) {
  auto p = ParsePolicy(std::string(kHead) +
                           "require_signature = true\nsigner_role = \"policy-signer\"\n"
                           "threshold = 16\n",
                       PolicyLimits{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->package.require_signature);
  EXPECT_EQ(p->package.signer_role, "policy-signer");
  EXPECT_EQ(p->package.signer_threshold, 16u);
}

TEST(PolicySignatureKeysTest, RefusesBadValues) {
  for (const char* bad : {"require_signature = 1\n", "require_signature = \"yes\"\n",
                          "signer_role = \"admin\"\n", "signer_role = 1\n", "threshold = 0\n",
                          "threshold = 17\n", "threshold = \"2\"\n", "signer = \"root\"\n"}) {
    auto p = ParsePolicy(std::string(kHead) + bad, PolicyLimits{});
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), ErrorCode::kMalformed) << bad;
  }
}

}  // namespace
}  // namespace sealpkg::verifier
