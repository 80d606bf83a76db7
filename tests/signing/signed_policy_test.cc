// Signed policies: policy-signer thresholds over distinct keys, expiry, rollback, the policy
// file's exact bytes, and type confusion with package signatures in both directions.
#include "signing/signed_policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "archive/zip_writer.h"
#include "signing/bundle.h"
#include "signing/internal/utc_time.h"
#include "signing/package_signature.h"
#include "signing/trust_store.h"

namespace sealpkg::signing {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t T(std::string_view text) {
  return internal::ParseUtcTime(text).value();
}

PrivateKey NewKey(KeyAlgorithm alg = KeyAlgorithm::kEcdsaP256Sha256) {
  return PrivateKey::Generate(alg).value();
}

constexpr std::string_view kToml =
    "[policy]\nname = \"example:p\"\nversion = 3\n[pickle]\nglobals = []\n";

class SignedPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("policy_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    TrustRoot r;
    r.version = 2;
    r.expires = T("2027-01-01T00:00:00Z");
    for (const PrivateKey* k : {&root_, &package_signer_, &policy1_, &policy2_}) {
      r.PutKey(TrustKeyRecord{k->public_key().key_id(), k->public_key(), k->algorithm(),
                              std::nullopt, std::nullopt});
    }
    r.roles[std::string(kRoleRoot)] = TrustRole{{root_.public_key().key_id()}, 1};
    r.roles[std::string(kRolePackageSigner)] =
        TrustRole{{package_signer_.public_key().key_id()}, 1};
    r.roles[std::string(kRolePolicySigner)] = TrustRole{
        {policy1_.public_key().key_id(), policy2_.public_key().key_id()}, policy_threshold_};
    const PrivateKey* keys[] = {&root_};
    const std::string json = SignTrustRoot(r, keys).value();
    TrustOptions o;
    o.now = [this] { return now_; };
    auto store = TrustStore::Initialize(dir_.string(), AsBytes(json), o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_.emplace(std::move(*store));
  }
  void TearDown() override { fs::remove_all(dir_); }

  PolicyClaims Claims(int64_t version = 3) {
    return PolicyClaims{"example:p", version, T("2026-12-01T00:00:00Z"), 2};
  }
  std::string SignWith(std::vector<const PrivateKey*> keys, PolicyClaims claims,
                       std::string_view toml = kToml) {
    auto s = SignPolicy(AsBytes(toml), claims, keys);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : "";
  }
  Result<VerifiedPolicy> Verify(const std::string& bundle, std::string_view toml = kToml) {
    return VerifySignedPolicy(AsBytes(toml), AsBytes(bundle), *store_);
  }

  fs::path dir_;
  int64_t now_ = T("2026-06-01T00:00:00Z");
  uint32_t policy_threshold_ = 1;
  PrivateKey root_ = NewKey();
  PrivateKey package_signer_ = NewKey();
  PrivateKey policy1_ = NewKey();
  PrivateKey policy2_ = NewKey(KeyAlgorithm::kEd25519);
  std::optional<TrustStore> store_;
};

TEST_F(SignedPolicyTest, AcceptsAPolicySignerSignature) {
  auto v = Verify(SignWith({&policy1_}, Claims()));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->claims.name, "example:p");
  EXPECT_EQ(v->claims.version, 3);
  EXPECT_EQ(v->key_ids, std::vector<std::string>{policy1_.public_key().key_id()});
  EXPECT_TRUE(Verify(SignWith({&policy2_}, Claims())).ok());
}

TEST_F(SignedPolicyTest, WrongRoleAndUnknownKeysRefused) {
  EXPECT_EQ(Verify(SignWith({&package_signer_}, Claims())).status().reason(), kPolicyThreshold);
  EXPECT_EQ(Verify(SignWith({&root_}, Claims())).status().reason(), kPolicyThreshold);
  PrivateKey stranger = NewKey();
  auto r = Verify(SignWith({&stranger}, Claims()));
  EXPECT_EQ(r.status().reason(), kPolicyThreshold);
  EXPECT_NE(r.status().message().find("not in the trust store"), std::string_view::npos)
      << r.status().ToString();
}

TEST_F(SignedPolicyTest, EditedPolicyBytesRefused) {
  const std::string bundle = SignWith({&policy1_}, Claims());
  std::string edited(kToml);
  edited += "\n";
  EXPECT_EQ(Verify(bundle, edited).status().reason(), kPolicyDigest);
  std::string spaced = bundle;
  spaced.push_back('\n');
  EXPECT_EQ(Verify(spaced).status().reason(), kPolicyBundle);
}

TEST_F(SignedPolicyTest, ExpiryAndRollback) {
  PolicyClaims expired = Claims();
  expired.expires = now_;
  EXPECT_EQ(Verify(SignWith({&policy1_}, expired)).status().reason(), kPolicyExpired);
  // Version 3 accepted and recorded; version 2 (validly signed) is then a rollback.
  auto v3 = Verify(SignWith({&policy1_}, Claims(3)));
  ASSERT_TRUE(v3.ok());
  ASSERT_TRUE(store_->RecordPolicyVersion(v3->claims.name, v3->claims.version).ok());
  EXPECT_EQ(Verify(SignWith({&policy1_}, Claims(2))).status().reason(), kTrustPolicyRollback);
  EXPECT_TRUE(Verify(SignWith({&policy1_}, Claims(3))).ok());  // replaying the current one is fine
  EXPECT_TRUE(Verify(SignWith({&policy1_}, Claims(4))).ok());
  // Signed against a newer trust root than the local one.
  PolicyClaims newer = Claims();
  newer.trust_version = 3;
  EXPECT_EQ(Verify(SignWith({&policy1_}, newer)).status().reason(), kPolicyTrustNewer);
}

class SignedPolicyThreshold2Test : public SignedPolicyTest {
 protected:
  void SetUp() override {
    policy_threshold_ = 2;
    SignedPolicyTest::SetUp();
  }
};

TEST_F(SignedPolicyThreshold2Test, DistinctKeysOnly) {
  EXPECT_EQ(Verify(SignWith({&policy1_}, Claims())).status().reason(), kPolicyThreshold);
  // One key's signature twice in the envelope.
  auto b = ParseBundle(AsBytes(SignWith({&policy1_}, Claims())), SigningLimits{}).value();
  b.envelope.signatures.push_back(b.envelope.signatures[0]);
  EXPECT_EQ(Verify(SerializeBundle(b)).status().reason(), kPolicyThreshold);
  // A fresh ECDSA signature by the same key (different bytes): still one key.
  b.envelope.signatures[1] = SignDsse(policy1_, kInTotoPayloadType, b.envelope.payload).value();
  EXPECT_EQ(Verify(SerializeBundle(b)).status().reason(), kPolicyThreshold);
  // Two distinct policy signers.
  EXPECT_TRUE(Verify(SignWith({&policy1_, &policy2_}, Claims())).ok());
}

std::vector<uint8_t> SmallPackage() {
  archive::WriterOptions options;
  options.archive_name = "pkg";
  auto w = archive::ZipWriter::CreateInMemory(options).value();
  EXPECT_TRUE(w.AddRecord(".data/version", AsBytes("6\n")).ok());
  EXPECT_TRUE(w.Finish().ok());
  return w.TakeBuffer();
}

TEST_F(SignedPolicyTest, PackageSignatureIsNotAPolicyAndTheReverse) {
  // A detached package signature (OMS statement) over the policy file's bytes, by a key that IS
  // a policy signer: refused on its predicate type.
  const PrivateKey* keys[] = {&policy1_};
  auto pkg_sig = SignDetached(AsBytes(kToml), "p.toml", keys);
  ASSERT_TRUE(pkg_sig.ok());
  EXPECT_EQ(Verify(*pkg_sig).status().reason(), kPolicyPredicateTypeReason);
  // A trust root (signed by the root key) presented as a policy.
  std::ifstream in(dir_ / "trust.json", std::ios::binary);
  const std::string trust_json((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(trust_json.empty());
  EXPECT_EQ(Verify(trust_json).status().reason(), kPolicyPredicateTypeReason);
  // A policy bundle presented as a package's detached signature: refused by the OMS parser.
  const std::vector<uint8_t> package = SmallPackage();
  auto policy_bundle = SignPolicy(package, Claims(), keys);
  ASSERT_TRUE(policy_bundle.ok());
  StaticKeyResolver resolver({{policy1_.public_key(), policy1_.algorithm()}});
  auto as_package = VerifyDetached(package, AsBytes(*policy_bundle), "pkg.pt", resolver);
  EXPECT_FALSE(as_package.ok());
  EXPECT_EQ(as_package.status().reason(), kReasonStatement) << as_package.status().ToString();
}

}  // namespace
}  // namespace sealpkg::signing
