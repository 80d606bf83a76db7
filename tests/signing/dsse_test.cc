#include "signing/dsse.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "signing/base64.h"

namespace sealpkg::signing {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}
std::string Str(const std::vector<uint8_t>& b) {
  return {b.begin(), b.end()};
}

TEST(DsseTest, PaeVectors) {
  // The DSSE protocol's own example.
  EXPECT_EQ(Str(PreAuthEncoding("http://example.com/HelloWorld", Bytes("hello world"))),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(Str(PreAuthEncoding("", {})), "DSSEv1 0  0 ");
  // Built the way the OMS key-mode vector is (signing.md §1): in-toto type, JSON statement body.
  const std::string statement =
      R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":")"
      R"(00"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{}})";
  EXPECT_EQ(Str(PreAuthEncoding(kInTotoPayloadType, Bytes(statement))),
            "DSSEv1 28 application/vnd.in-toto+json " + std::to_string(statement.size()) + " " +
                statement);
  // Lengths count bytes, not characters.
  EXPECT_EQ(Str(PreAuthEncoding("t\xc3\xa9", Bytes("\xe2\x82\xac"))),
            "DSSEv1 3 t\xc3\xa9 3 \xe2\x82\xac");
}

// An independent check of the OMS construction: openssl dgst verifies our P-256 signature over
// the PAE bytes, and rejects it when one byte is appended.
TEST(DsseTest, OpensslCliVerifiesOurPaeSignature) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    FAIL() << "the openssl command is required by this test";
  }
  auto key = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(key.ok());
  const std::vector<uint8_t> payload = Bytes(R"({"_type":"https://in-toto.io/Statement/v1"})");
  auto sig = SignDsse(*key, kInTotoPayloadType, payload);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->keyid, key->public_key().key_id());
  char tmpl[] = "/tmp/sealpkg-dsse-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const auto write = [&](const std::string& name, const std::vector<uint8_t>& data) {
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  };
  auto pae = PreAuthEncoding(kInTotoPayloadType, payload);
  write("pae", pae);
  write("sig", sig->sig);
  write("pub.pem", Bytes(key->public_key().pem()));
  pae.push_back('x');
  write("pae2", pae);
  const std::string base =
      "openssl dgst -sha256 -verify " + dir + "/pub.pem -signature " + dir + "/sig " + dir + "/";
  EXPECT_EQ(std::system((base + "pae >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((base + "pae2 >/dev/null 2>&1").c_str()), 0);
  std::filesystem::remove_all(dir);
}

TEST(DsseTest, EnvelopeRoundTripAndCanonicalForm) {
  DsseEnvelope env{Bytes("{}"), std::string(kInTotoPayloadType), {{"abc", {1, 2, 3}}}};
  const std::string json = SerializeDsseEnvelope(env);
  EXPECT_EQ(
      json,
      R"({"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"abc","sig":"AQID"}]})");
  auto back = ParseDsseEnvelope(Bytes(json), SigningLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->payload, env.payload);
  EXPECT_EQ(back->payload_type, env.payload_type);
  ASSERT_EQ(back->signatures.size(), 1u);
  EXPECT_EQ(back->signatures[0].keyid, "abc");
  EXPECT_EQ(SerializeDsseEnvelope(*back), json);
}

TEST(DsseTest, KeyidMayBeAbsentEmptyOrNull) {
  for (const char* sig :
       {R"({"sig":"AQID"})", R"({"sig":"AQID","keyid":""})", R"({"keyid":null,"sig":"AQID"})"}) {
    const std::string json =
        std::string(R"({"payload":"e30=","payloadType":"t","signatures":[)") + sig + "]}";
    auto env = ParseDsseEnvelope(Bytes(json), SigningLimits{});
    ASSERT_TRUE(env.ok()) << json << " " << env.status().ToString();
    EXPECT_EQ(env->signatures[0].keyid, "");
  }
}

TEST(DsseTest, GoldenRejections) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"payload":"e30=","payloadType":"t","signatures":[]})", "dsse.no-signatures"},
      {R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":""}]})", "dsse.empty-signature"},
      {R"({"payload":"e30","payloadType":"t","signatures":[{"sig":"AQID"}]})", "base64.length"},
      {R"({"payload":"e31=","payloadType":"t","signatures":[{"sig":"AQID"}]})", "base64.pad-bits"},
      {R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQ ID"}]})", "base64.length"},
      {R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQID","x":1}]})",
       "json.unknown-key"},
      {R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQID","keyid":7}]})",
       "json.schema"},
      {R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQID"}],"x":1})",
       "json.unknown-key"},
      {R"({"payload":"e30=","payloadType":"t","payloadType":"u","signatures":[{"sig":"AQID"}]})",
       "json.duplicate-key"},
      {R"({"payloadType":"t","signatures":[{"sig":"AQID"}]})", "json.schema"},
      {R"({"payload":"e30=","payloadType":1,"signatures":[{"sig":"AQID"}]})", "json.schema"},
      {R"([])", "json.schema"},
  };
  for (const auto& [json, reason] : cases) {
    auto env = ParseDsseEnvelope(Bytes(json), SigningLimits{});
    EXPECT_EQ(env.status().reason(), reason) << json << " -> " << env.status().ToString();
  }
  SigningLimits limits;
  limits.max_signatures = 2;
  const std::string two =
      R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQID"},{"sig":"AQID"}]})";
  EXPECT_TRUE(ParseDsseEnvelope(Bytes(two), limits).ok());
  const std::string three =
      R"({"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQID"},{"sig":"AQID"},{"sig":"AQID"}]})";
  EXPECT_EQ(ParseDsseEnvelope(Bytes(three), limits).status().reason(), "dsse.signatures-limit");
}

class DsseVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = *PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
    b_ = *PrivateKey::Generate(KeyAlgorithm::kEd25519);
    c_ = *PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  }
  DsseEnvelope Signed(std::initializer_list<const PrivateKey*> keys) {
    DsseEnvelope env{Bytes("{\"x\":1}"), std::string(kInTotoPayloadType), {}};
    for (const PrivateKey* k : keys)
      env.signatures.push_back(*SignDsse(*k, env.payload_type, env.payload));
    return env;
  }
  StaticKeyResolver Trust(std::initializer_list<const PrivateKey*> keys) {
    std::vector<TrustedKey> out;
    for (const PrivateKey* k : keys) out.push_back({k->public_key(), k->algorithm()});
    return StaticKeyResolver(out);
  }
  std::optional<PrivateKey> a_, b_, c_;
};

TEST_F(DsseVerifyTest, DistinctKeysCountedOnce) {
  const auto env = Signed({&*a_, &*b_, &*a_});
  const auto v = CheckDsseSignatures(env, Trust({&*a_, &*b_}));
  ASSERT_EQ(v.checks.size(), 3u);
  EXPECT_TRUE(RequireAllVerified(v).ok());
  EXPECT_EQ(v.verified_key_ids,
            (std::vector<std::string>{a_->public_key().key_id(), b_->public_key().key_id()}));
  EXPECT_EQ(v.checks[2].claimed_keyid, a_->public_key().key_id());
}

TEST_F(DsseVerifyTest, UnknownKeyAndBadSignatureAreReportedPerSignature) {
  auto env = Signed({&*a_, &*c_});
  const auto v = CheckDsseSignatures(env, Trust({&*a_}));
  EXPECT_TRUE(v.checks[0].status.ok());
  EXPECT_EQ(v.checks[1].status.reason(), "signature.unknown-key");
  EXPECT_EQ(v.verified_key_ids.size(), 1u);
  EXPECT_EQ(RequireAllVerified(v).reason(), "signature.unknown-key");
  // A signature copied under another key's id: that key does not verify it.
  env.signatures[1].keyid = a_->public_key().key_id();
  const auto v2 = CheckDsseSignatures(env, Trust({&*a_, &*c_}));
  EXPECT_EQ(v2.checks[1].status.reason(), "signature.bad-signature");
  EXPECT_EQ(v2.verified_key_ids.size(), 1u);
  // A changed payload type invalidates the signature (it is inside the PAE).
  auto retyped = Signed({&*a_});
  retyped.payload_type = "application/vnd.sealpkg.policy+json";
  EXPECT_EQ(RequireAllVerified(CheckDsseSignatures(retyped, Trust({&*a_}))).reason(),
            "signature.bad-signature");
  EXPECT_EQ(CheckPayloadType(retyped, kInTotoPayloadType).reason(), "signature.payload-type");
  EXPECT_TRUE(CheckPayloadType(env, kInTotoPayloadType).ok());
  DsseEnvelope empty;
  EXPECT_EQ(RequireAllVerified(CheckDsseSignatures(empty, Trust({&*a_}))).reason(),
            "signature.none");
}

TEST_F(DsseVerifyTest, AlgorithmComesFromTheTrustRecord) {
  const auto env = Signed({&*b_});
  StaticKeyResolver wrong({{b_->public_key(), KeyAlgorithm::kEcdsaP256Sha256}});
  EXPECT_EQ(RequireAllVerified(CheckDsseSignatures(env, wrong)).reason(),
            "signature.algorithm-mismatch");
}

TEST_F(DsseVerifyTest, EmptyKeyidResolvesByHintOnly) {
  auto env = Signed({&*a_});
  env.signatures[0].keyid.clear();
  EXPECT_EQ(RequireAllVerified(CheckDsseSignatures(env, Trust({&*a_}))).reason(),
            "signature.unknown-key");
  const auto v = CheckDsseSignatures(env, Trust({&*a_}), a_->public_key().oms_hint());
  EXPECT_TRUE(RequireAllVerified(v).ok());
  EXPECT_EQ(v.verified_key_ids[0], a_->public_key().key_id());
  EXPECT_EQ(RequireAllVerified(CheckDsseSignatures(env, Trust({&*a_}), c_->public_key().oms_hint()))
                .reason(),
            "signature.unknown-key");
}

}  // namespace
}  // namespace sealpkg::signing
