#include "signing/bundle.h"

#include <gtest/gtest.h>

#include <string>

namespace sealpkg::signing {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const char kEnv[] =
    R"({"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"AQID"}]})";

std::string Make(std::string_view vm, std::string_view media = kBundleMediaType) {
  return std::string(R"({"mediaType":")") + std::string(media) + R"(","verificationMaterial":)" +
         std::string(vm) + R"(,"dsseEnvelope":)" + kEnv + "}";
}

TEST(BundleTest, CanonicalRoundTrip) {
  Bundle b;
  b.key_hint = "ab";
  b.envelope = DsseEnvelope{{'{', '}'}, std::string(kInTotoPayloadType), {{"k", {1, 2, 3}}}};
  const std::string json = SerializeBundle(b);
  EXPECT_EQ(json, Make(R"({"publicKey":{"hint":"ab"},"tlogEntries":[]})"));
  auto back = ParseBundle(AsBytes(json), SigningLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->key_hint, "ab");
  EXPECT_EQ(SerializeBundle(*back), json);
}

TEST(BundleTest, AcceptsProtobufJsonVariants) {
  for (const char* vm :
       {R"({"publicKey":{"hint":"ab"}})", R"({"publicKey":{}, "tlogEntries": []})",
        R"({"publicKey":{"hint":"ab"},"timestampVerificationData":{}})",
        R"({"publicKey":{"hint":"ab"},"timestampVerificationData":{"rfc3161Timestamps":[]}})"}) {
    auto b = ParseBundle(AsBytes(Make(vm)), SigningLimits{});
    EXPECT_TRUE(b.ok()) << vm << " " << b.status().ToString();
  }
}

TEST(BundleTest, GoldenRejections) {
  const std::pair<std::string, std::string> cases[] = {
      {Make(R"({"publicKey":{"hint":"ab"}})",
            "application/vnd.dev.sigstore.bundle+json;version=0.2"),
       "bundle.media-type"},
      {Make(R"({"x509CertificateChain":{"certificates":[]}})"), "bundle.unsupported-material"},
      {Make(R"({"publicKey":{"hint":"ab"},"certificate":{"rawBytes":""}})"),
       "bundle.unsupported-material"},
      {Make(R"({"publicKey":{"hint":"ab"},"tlogEntries":[{}]})"), "bundle.unsupported-material"},
      {Make(
           R"({"publicKey":{"hint":"ab"},"timestampVerificationData":{"rfc3161Timestamps":[{}]}})"),
       "bundle.unsupported-material"},
      {Make(R"({"publicKey":{"hint":"ab","rawBytes":"AA=="}})"), "json.unknown-key"},
      {Make(R"({"publicKey":{"hint":7}})"), "json.schema"},
      {Make(R"({"publicKey":{"hint":"ab"}})").replace(1, 0, R"("messageSignature":{},)"),
       "json.unknown-key"},
      {Make(R"({"publicKey":{"hint":"ab"}})").replace(1, 0, R"("mediaType":"x",)"),
       "json.duplicate-key"},
  };
  for (const auto& [json, reason] : cases) {
    auto b = ParseBundle(AsBytes(json), SigningLimits{});
    EXPECT_EQ(b.status().reason(), reason) << json << " -> " << b.status().ToString();
  }
  EXPECT_EQ(ParseBundle(AsBytes(R"({"mediaType":")" + std::string(kBundleMediaType) +
                                R"(","verificationMaterial":{"publicKey":{}}})"),
                        SigningLimits{})
                .status()
                .reason(),
            "json.schema");  // no dsseEnvelope
}

}  // namespace
}  // namespace sealpkg::signing
