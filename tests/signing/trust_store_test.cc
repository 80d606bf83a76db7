// Trust store: thresholds over distinct keys, rotation N -> N+1, expiry, revocation, roles,
// state file fail-closed behaviour, rollback marks, and package verification through a role.
#include "signing/trust_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "archive/zip_writer.h"
#include "signing/base64.h"
#include "signing/bundle.h"
#include "signing/internal/utc_time.h"
#include "signing/json.h"
#include "signing/package_signature.h"
#include "signing/statement.h"
#include "signing/verify_package.h"

namespace sealpkg::signing {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t T(std::string_view text) {
  auto t = internal::ParseUtcTime(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : 0;
}

const int64_t kNow = T("2026-06-01T00:00:00Z");

PrivateKey NewKey(KeyAlgorithm alg = KeyAlgorithm::kEcdsaP256Sha256) {
  auto k = PrivateKey::Generate(alg);
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

TrustKeyRecord Record(const PrivateKey& k, std::optional<int64_t> not_before = std::nullopt,
                      std::optional<int64_t> not_after = std::nullopt) {
  return TrustKeyRecord{k.public_key().key_id(), k.public_key(), k.algorithm(), not_before,
                        not_after};
}

// A root with `roots` as root keys (threshold `root_threshold`), one package and one policy key.
TrustRoot MakeRoot(const std::vector<const PrivateKey*>& roots, uint32_t root_threshold,
                   const PrivateKey& package_key, const PrivateKey& policy_key,
                   int64_t version = 1) {
  TrustRoot r;
  r.version = version;
  r.expires = T("2027-01-01T00:00:00Z");
  TrustRole root_role;
  for (const PrivateKey* k : roots) {
    r.PutKey(Record(*k));
    root_role.key_ids.push_back(k->public_key().key_id());
  }
  root_role.threshold = root_threshold;
  r.PutKey(Record(package_key));
  r.PutKey(Record(policy_key));
  r.roles[std::string(kRoleRoot)] = root_role;
  r.roles[std::string(kRolePackageSigner)] = TrustRole{{package_key.public_key().key_id()}, 1};
  r.roles[std::string(kRolePolicySigner)] = TrustRole{{policy_key.public_key().key_id()}, 1};
  return r;
}

std::string Sign(const TrustRoot& root, std::vector<const PrivateKey*> keys) {
  auto s = SignTrustRoot(root, keys);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : "";
}

class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("trust_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.now = [this] { return now_; };
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<TrustStore> Init(const std::string& trust_json) {
    return TrustStore::Initialize(dir_.string(), AsBytes(trust_json), options_);
  }
  Result<TrustStore> Open() { return TrustStore::Open(dir_.string(), options_); }

  fs::path dir_;
  int64_t now_ = kNow;
  TrustOptions options_;
  PrivateKey root1_ = NewKey();
  PrivateKey root2_ = NewKey(KeyAlgorithm::kEd25519);
  PrivateKey signer_ = NewKey();
  PrivateKey policy_signer_ = NewKey(KeyAlgorithm::kEd25519);
};

TEST_F(TrustStoreTest, InitOpenRoundTripAndStateIsPrivate) {
  const TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  auto store = Init(Sign(root, {&root1_}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->root().version, 1);
  EXPECT_EQ(again->root().keys.size(), 3u);
  EXPECT_EQ(again->state().trust_version, 1);
  // Initialising over an existing store is refused.
  EXPECT_EQ(Init(Sign(root, {&root1_})).status().reason(), kTrustExists);
}

TEST_F(TrustStoreTest, InitialRootMustBeSelfSignedByItsRootThreshold) {
  // Signed only by a package signer: not a root signature.
  EXPECT_EQ(
      Init(Sign(MakeRoot({&root1_}, 1, signer_, policy_signer_), {&signer_})).status().reason(),
      kTrustThreshold);
  // Threshold 2 of 2 root keys, one signature.
  EXPECT_EQ(Init(Sign(MakeRoot({&root1_, &root2_}, 2, signer_, policy_signer_), {&root1_}))
                .status()
                .reason(),
            kTrustThreshold);
  // Expired root.
  TrustRoot expired = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  expired.expires = kNow - 1;
  EXPECT_EQ(Init(Sign(expired, {&root1_})).status().reason(), kTrustExpired);
  EXPECT_TRUE(
      Init(Sign(MakeRoot({&root1_, &root2_}, 2, signer_, policy_signer_), {&root1_, &root2_}))
          .ok());
}

TEST_F(TrustStoreTest, OneKeySigningTwiceCountsOnce) {
  const TrustRoot root = MakeRoot({&root1_, &root2_}, 2, signer_, policy_signer_);
  // Build a bundle carrying root1's signature twice (SignTrustRoot itself signs once per key).
  const std::string one = Sign(root, {&root1_});
  auto b = ParseBundle(AsBytes(one), SigningLimits{});
  ASSERT_TRUE(b.ok());
  b->envelope.signatures.push_back(b->envelope.signatures[0]);
  ASSERT_EQ(b->envelope.signatures.size(), 2u);
  auto r = VerifyTrustDocument(AsBytes(SerializeBundle(*b)), nullptr, kNow);
  EXPECT_EQ(r.status().reason(), kTrustThreshold) << r.status().ToString();
  // An ECDSA re-signature by the same key (different bytes) also counts once.
  auto again = SignDsse(root1_, kInTotoPayloadType, b->envelope.payload);
  ASSERT_TRUE(again.ok());
  b->envelope.signatures[1] = *again;
  EXPECT_NE(b->envelope.signatures[0].sig, b->envelope.signatures[1].sig);
  EXPECT_EQ(VerifyTrustDocument(AsBytes(SerializeBundle(*b)), nullptr, kNow).status().reason(),
            kTrustThreshold);
}

TEST_F(TrustStoreTest, KeyListedTwiceOrUnderAForeignIdIsMalformed) {
  const TrustRoot root = MakeRoot({&root1_, &root2_}, 2, signer_, policy_signer_);
  JsonValue p = TrustRootToJson(root);
  ASSERT_TRUE(TrustRootFromJson(p, TrustLimits{}).ok());

  // The root role lists root1 twice with threshold 2: one key would count twice.
  TrustRoot twice = root;
  twice.roles[std::string(kRoleRoot)].key_ids = {root1_.public_key().key_id(),
                                                 root1_.public_key().key_id()};
  auto r = TrustRootFromJson(TrustRootToJson(twice), TrustLimits{});
  EXPECT_EQ(r.status().reason(), kTrustMalformed);
  EXPECT_NE(r.status().message().find("listed twice"), std::string_view::npos);

  // root1's key recorded under root2's id as well: the id must be the key's own SHA-256.
  std::string text = SerializeJson(TrustRootToJson(root));
  const std::string spki1 = Base64Encode(root1_.public_key().spki_der());
  const std::string spki2 = Base64Encode(root2_.public_key().spki_der());
  const size_t at = text.find(spki2);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, spki2.size(), spki1);
  auto parsed = ParseJson(text, SigningLimits{});
  ASSERT_TRUE(parsed.ok());
  r = TrustRootFromJson(*parsed, TrustLimits{});
  EXPECT_EQ(r.status().reason(), kTrustMalformed);
  EXPECT_NE(r.status().message().find("SHA-256"), std::string_view::npos) << r.status().ToString();
}

TEST_F(TrustStoreTest, PredicateSchemaIsStrict) {
  const TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  const std::string good = SerializeJson(TrustRootToJson(root));
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"\"version\":1", "\"version\":0"},
      {"\"version\":1", "\"version\":1,\"extra\":1"},
      {"\"expires\":\"2027-01-01T00:00:00Z\"", "\"expires\":\"2027-01-01 00:00:00\""},
      {"\"threshold\":1", "\"threshold\":0"},
      {"\"threshold\":1", "\"threshold\":2"},
      {"\"package-signer\"", "\"admin\""},
      {"\"revoked\":[]", "\"revoked\":[\"abc\"]"},
      {"\"ecdsa-p256-sha256\"", "\"ed25519\""},
  };
  for (const auto& [from, to] : edits) {
    std::string text = good;
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    auto parsed = ParseJson(text, SigningLimits{});
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(TrustRootFromJson(*parsed, TrustLimits{}).status().reason(), kTrustMalformed) << to;
  }
}

TEST_F(TrustStoreTest, EmptySignerRoleVerifiesNothingEmptyRootIsMalformed) {
  TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  root.roles[std::string(kRolePolicySigner)] = TrustRole{};
  ASSERT_TRUE(TrustRootFromJson(TrustRootToJson(root), TrustLimits{}).ok());
  ASSERT_TRUE(Init(Sign(root, {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());
  auto r = store->ResolverFor(kRolePolicySigner);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->FindByKeyId(policy_signer_.public_key().key_id()).has_value());
  TrustRoot no_root = root;
  no_root.roles[std::string(kRoleRoot)] = TrustRole{};
  EXPECT_EQ(TrustRootFromJson(TrustRootToJson(no_root), TrustLimits{}).status().reason(),
            kTrustMalformed);
}

TEST_F(TrustStoreTest, KeysAndRevokedLimitsAtNAndNPlusOne) {
  TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);  // 3 keys
  TrustLimits limits;
  limits.max_keys = 3;
  EXPECT_TRUE(TrustRootFromJson(TrustRootToJson(root), limits).ok());
  limits.max_keys = 2;
  EXPECT_EQ(TrustRootFromJson(TrustRootToJson(root), limits).status().reason(), "trust.keys-limit");
  root.revoked = {std::string(64, 'a'), std::string(64, 'b')};
  limits = TrustLimits{};
  limits.max_revoked = 2;
  EXPECT_TRUE(TrustRootFromJson(TrustRootToJson(root), limits).ok());
  limits.max_revoked = 1;
  EXPECT_EQ(TrustRootFromJson(TrustRootToJson(root), limits).status().reason(),
            "trust.revoked-limit");
}

TEST_F(TrustStoreTest, TypeConfusionAndNonCanonicalBytesRefused) {
  const TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  std::string good = Sign(root, {&root1_});
  // Whitespace added: same JSON value, not the canonical bytes.
  std::string spaced = good;
  spaced.insert(1, " ");
  EXPECT_EQ(VerifyTrustDocument(AsBytes(spaced), nullptr, kNow).status().reason(), kTrustMalformed);
  // A package signature (OMS statement) presented as a trust root.
  OmsStatement oms;
  oms.subject.name = "pkg";
  oms.resources.push_back(Resource{"pkg/.data/version", Sha256(AsBytes("6\n")), 2});
  const std::string payload = SerializeOmsStatement(oms);
  Bundle b;
  b.key_hint = root1_.public_key().oms_hint();
  b.envelope.payload.assign(payload.begin(), payload.end());
  b.envelope.payload_type = std::string(kInTotoPayloadType);
  auto s = SignDsse(root1_, kInTotoPayloadType, b.envelope.payload);
  ASSERT_TRUE(s.ok());
  b.envelope.signatures.push_back(*s);
  EXPECT_EQ(VerifyTrustDocument(AsBytes(SerializeBundle(b)), nullptr, kNow).status().reason(),
            kTrustPredicateTypeReason);
}

TEST_F(TrustStoreTest, RotationFollowsOneStepSignedByOldAndNewRoots) {
  ASSERT_TRUE(Init(Sign(MakeRoot({&root1_}, 1, signer_, policy_signer_), {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());
  PrivateKey new_root = NewKey();
  TrustRoot v2 = MakeRoot({&new_root}, 1, signer_, policy_signer_, 2);

  // New root signed only by the new key: the old root did not approve it.
  Status st = store->Update(AsBytes(Sign(v2, {&new_root})));
  EXPECT_EQ(st.reason(), kTrustThreshold);
  EXPECT_NE(st.message().find("old root"), std::string_view::npos) << st.ToString();
  // Signed only by the old key: the new root's own keys did not accept it.
  st = store->Update(AsBytes(Sign(v2, {&root1_})));
  EXPECT_EQ(st.reason(), kTrustThreshold);
  EXPECT_NE(st.message().find("new root"), std::string_view::npos) << st.ToString();
  // Skipping N -> N+2 and repeating N are refused even when properly signed.
  TrustRoot v3 = MakeRoot({&new_root}, 1, signer_, policy_signer_, 3);
  EXPECT_EQ(store->Update(AsBytes(Sign(v3, {&root1_, &new_root}))).reason(), kTrustVersion);
  TrustRoot v1 = MakeRoot({&new_root}, 1, signer_, policy_signer_, 1);
  EXPECT_EQ(store->Update(AsBytes(Sign(v1, {&root1_, &new_root}))).reason(), kTrustVersion);

  // Properly signed N+1.
  ASSERT_TRUE(store->Update(AsBytes(Sign(v2, {&root1_, &new_root}))).ok());
  EXPECT_EQ(store->root().version, 2);
  auto reopened = Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(reopened->root().version, 2);
  EXPECT_EQ(reopened->root().FindRole(kRoleRoot)->key_ids[0], new_root.public_key().key_id());

  // The old root key after rotation: it can no longer move the store (v3 signed by it alone).
  EXPECT_EQ(reopened->Update(AsBytes(Sign(v3, {&root1_}))).reason(), kTrustThreshold);
  // ... and v3 by the current root is fine.
  EXPECT_TRUE(reopened->Update(AsBytes(Sign(v3, {&new_root}))).ok());
}

TEST_F(TrustStoreTest, RotationWithTooFewOldSignaturesFails) {
  PrivateKey root3 = NewKey();
  ASSERT_TRUE(Init(Sign(MakeRoot({&root1_, &root2_, &root3}, 2, signer_, policy_signer_),
                        {&root1_, &root2_}))
                  .ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());
  PrivateKey new_root = NewKey();
  TrustRoot v2 = MakeRoot({&new_root}, 1, signer_, policy_signer_, 2);
  EXPECT_EQ(store->Update(AsBytes(Sign(v2, {&root1_, &new_root}))).reason(), kTrustThreshold);
  // Two of the three old root keys plus the new root: accepted.
  EXPECT_TRUE(store->Update(AsBytes(Sign(v2, {&root1_, &root3, &new_root}))).ok());
}

TEST_F(TrustStoreTest, StateMissingCorruptOrMismatchedFailsClosed) {
  const TrustRoot v1 = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  const std::string v1_json = Sign(v1, {&root1_});
  ASSERT_TRUE(Init(v1_json).ok());
  const fs::path state = dir_ / "state.json";
  std::string saved;
  {
    std::ifstream in(state, std::ios::binary);
    saved.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write_state = [&](const std::string& text) {
    fs::remove(state);
    std::ofstream(state, std::ios::binary) << text;
  };

  fs::remove(state);
  EXPECT_EQ(Open().status().reason(), kTrustStateMissing);
  for (const std::string& bad :
       {std::string("garbage\n"), std::string(""), saved.substr(0, saved.size() / 2),
        saved.substr(0, saved.size() - 1), std::string("{\"format\":1}\n"),
        saved.substr(0, saved.size() - 2) + ",\"extra\":{}}\n"}) {
    write_state(bad);
    EXPECT_EQ(Open().status().reason(), kTrustStateCorrupt) << bad;
  }
  write_state(saved);
  ASSERT_TRUE(Open().ok());

  // Rollback of trust.json itself: move to v2, then put the validly signed v1 back.
  auto store = Open();
  TrustRoot v2 = v1;
  v2.version = 2;
  ASSERT_TRUE(store->Update(AsBytes(Sign(v2, {&root1_}))).ok());
  std::ofstream(dir_ / "trust.json", std::ios::binary | std::ios::trunc) << v1_json;
  EXPECT_EQ(Open().status().reason(), kTrustStateMismatch);
  // trust.json gone while the state pins a root.
  fs::remove(dir_ / "trust.json");
  EXPECT_EQ(Open().status().reason(), kTrustStateMismatch);
  // An empty directory is simply not initialised.
  fs::remove(state);
  EXPECT_EQ(Open().status().reason(), kTrustNotInitialized);
}

TEST_F(TrustStoreTest, KeyUsabilityRolesRevocationAndValidity) {
  TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  PrivateKey later = NewKey(), old = NewKey(), revoked = NewKey(), stranger = NewKey();
  root.PutKey(Record(later, T("2026-07-01T00:00:00Z")));
  root.PutKey(Record(old, std::nullopt, T("2026-05-01T00:00:00Z")));
  root.PutKey(Record(revoked));
  auto& signers = root.roles[std::string(kRolePackageSigner)].key_ids;
  for (const PrivateKey* k : {&later, &old, &revoked}) signers.push_back(k->public_key().key_id());
  root.revoked = {revoked.public_key().key_id()};
  ASSERT_TRUE(Init(Sign(root, {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = store->ResolverFor(kRolePackageSigner);
  ASSERT_TRUE(r.ok());

  EXPECT_TRUE(r->FindByKeyId(signer_.public_key().key_id()).has_value());
  const std::vector<std::pair<const PrivateKey*, std::string_view>> refused = {
      {&later, kTrustKeyNotYetValid},     {&old, kTrustKeyExpired},
      {&revoked, kTrustRevoked},          {&stranger, kTrustUnknownKey},
      {&policy_signer_, kTrustWrongRole}, {&root1_, kTrustWrongRole}};
  for (const auto& [key, reason] : refused) {
    EXPECT_FALSE(r->FindByKeyId(key->public_key().key_id()).has_value()) << reason;
    auto why = r->RefusalFor(key->public_key().key_id());
    ASSERT_TRUE(why.has_value()) << reason;
    EXPECT_EQ(why->reason(), reason);
  }
  // The not-yet-valid key becomes usable, the others stay refused, as the clock moves.
  now_ = T("2026-07-01T00:00:00Z");
  auto later_r = store->ResolverFor(kRolePackageSigner);
  ASSERT_TRUE(later_r.ok());
  EXPECT_TRUE(later_r->FindByKeyId(later.public_key().key_id()).has_value());
  EXPECT_FALSE(later_r->FindByKeyId(old.public_key().key_id()).has_value());
  // Once the root itself expires, nothing resolves.
  now_ = T("2027-01-01T00:00:00Z");
  EXPECT_EQ(store->ResolverFor(kRolePackageSigner).status().reason(), kTrustExpired);
}

TEST_F(TrustStoreTest, MarksRefuseRollbackAndPersist) {
  ASSERT_TRUE(Init(Sign(MakeRoot({&root1_}, 1, signer_, policy_signer_), {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(store->CheckPolicyVersion("p", 1).ok());
  ASSERT_TRUE(store->RecordPolicyVersion("p", 3).ok());
  ASSERT_TRUE(store->RecordPackageVersion("org.m", 7).ok());
  auto again = Open();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->CheckPolicyVersion("p", 2).reason(), kTrustPolicyRollback);
  EXPECT_TRUE(again->CheckPolicyVersion("p", 3).ok());
  EXPECT_EQ(again->CheckPackageVersion("org.m", 6).reason(), kTrustPackageRollback);
  EXPECT_TRUE(again->CheckPackageVersion("other", 0).ok());
  // A stale in-memory store still cannot lower a mark another process raised.
  ASSERT_TRUE(again->RecordPolicyVersion("p", 5).ok());
  EXPECT_EQ(store->RecordPolicyVersion("p", 4).reason(), kTrustPolicyRollback);
}

TEST(TrustStateTest, ParseRoundTripAndLimits) {
  TrustState s;
  s.trust_version = 4;
  s.trust_payload_sha256 = std::string(64, 'c');
  s.policies["a"] = 2;
  s.packages["b"] = 9;
  const std::string text = SerializeTrustState(s);
  TrustLimits limits;
  limits.max_state_bytes = text.size();
  auto back = ParseTrustState(AsBytes(text), limits);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->packages.at("b"), 9);
  limits.max_state_bytes = text.size() - 1;
  EXPECT_EQ(ParseTrustState(AsBytes(text), limits).status().reason(), kTrustStateCorrupt);
}

// --- packages through the trust store --------------------------------------------------------

std::vector<uint8_t> SmallPackage() {
  archive::WriterOptions options;
  options.archive_name = "pkg";
  auto w = archive::ZipWriter::CreateInMemory(options);
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE(w->AddRecord(".data/version", AsBytes("6\n")).ok());
  EXPECT_TRUE(w->AddRecord("mymodel/net.py", AsBytes("import torch\n")).ok());
  EXPECT_TRUE(w->Finish().ok());
  return w->TakeBuffer();
}

std::vector<uint8_t> SignPackage(const std::vector<const PrivateKey*>& keys,
                                 const std::string& version = "") {
  SignOptions o;
  if (!version.empty()) {
    o.package_name = "org.example.m";
    o.package_version = version;
  }
  auto s = SignEmbedded(SmallPackage(), keys, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : std::vector<uint8_t>{};
}

TEST_F(TrustStoreTest, PackageSignerRoleRulesApply) {
  TrustRoot root = MakeRoot({&root1_}, 1, signer_, policy_signer_);
  PrivateKey revoked = NewKey(), expired = NewKey(), second = NewKey(), stranger = NewKey();
  root.PutKey(Record(revoked));
  root.PutKey(Record(expired, std::nullopt, kNow - 10));
  root.PutKey(Record(second));
  auto& ids = root.roles[std::string(kRolePackageSigner)].key_ids;
  for (const PrivateKey* k : {&revoked, &expired, &second}) ids.push_back(k->public_key().key_id());
  root.revoked = {revoked.public_key().key_id()};
  ASSERT_TRUE(Init(Sign(root, {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());

  auto ok = VerifyPackageWithTrust(SignPackage({&signer_}), nullptr, "pkg.pt", *store);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->mode, "embedded");
  EXPECT_EQ(ok->verification.key_ids, std::vector<std::string>{signer_.public_key().key_id()});

  const std::vector<std::pair<const PrivateKey*, std::string_view>> refused = {
      {&revoked, kTrustRevoked},
      {&expired, kTrustKeyExpired},
      {&stranger, kTrustUnknownKey},
      {&policy_signer_, kTrustWrongRole},
      {&root1_, kTrustWrongRole}};
  for (const auto& [key, reason] : refused) {
    auto r = VerifyPackageWithTrust(SignPackage({key}), nullptr, "pkg.pt", *store);
    EXPECT_EQ(r.status().reason(), reason);
    EXPECT_NE(r.status().message().find(key->public_key().key_id()), std::string_view::npos)
        << r.status().ToString();
  }

  // A policy demanding two signers: one key signing twice is still one signer.
  PackageTrustOptions two;
  two.min_threshold = 2;
  EXPECT_EQ(
      VerifyPackageWithTrust(SignPackage({&signer_, &signer_}), nullptr, "pkg.pt", *store, two)
          .status()
          .reason(),
      kPackageThreshold);
  EXPECT_TRUE(
      VerifyPackageWithTrust(SignPackage({&signer_, &second}), nullptr, "pkg.pt", *store, two)
          .ok());

  // Detached mode resolves through the same role.
  const std::vector<uint8_t> plain = SmallPackage();
  const PrivateKey* keys[] = {&signer_};
  auto sig = SignDetached(plain, "pkg.pt", keys);
  ASSERT_TRUE(sig.ok());
  const std::vector<uint8_t> sig_bytes(sig->begin(), sig->end());
  auto d = VerifyPackageWithTrust(plain, &sig_bytes, "pkg.pt", *store);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->mode, "detached");
  std::vector<uint8_t> tampered = plain;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_EQ(VerifyPackageWithTrust(tampered, &sig_bytes, "pkg.pt", *store).status().reason(),
            kReasonFileDigest);
}

TEST_F(TrustStoreTest, PackageVersionRollbackRefused) {
  ASSERT_TRUE(Init(Sign(MakeRoot({&root1_}, 1, signer_, policy_signer_), {&root1_})).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(VerifyPackageWithTrust(SignPackage({&signer_}, "2"), nullptr, "m.pt", *store).ok());
  EXPECT_TRUE(VerifyPackageWithTrust(SignPackage({&signer_}, "2"), nullptr, "m.pt", *store).ok());
  auto old = VerifyPackageWithTrust(SignPackage({&signer_}, "1"), nullptr, "m.pt", *store);
  EXPECT_EQ(old.status().reason(), kTrustPackageRollback);
  EXPECT_EQ(VerifyPackageWithTrust(SignPackage({&signer_}, "1.0"), nullptr, "m.pt", *store)
                .status()
                .reason(),
            kPackageVersionReason);
  // The mark persists across processes.
  auto again = Open();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state().packages.at("org.example.m"), 2);
}

TEST(UtcTimeTest, OneSpellingPerInstant) {
  EXPECT_EQ(internal::ParseUtcTime("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(internal::FormatUtcTime(T("2024-02-29T23:59:59Z")), "2024-02-29T23:59:59Z");
  for (const char* bad : {"2023-02-29T00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01T24:00:00Z",
                          "2026-01-01T00:00:00+00:00", "2026-1-01T00:00:00Z",
                          "2026-01-01T00:00:60Z", "1969-12-31T23:59:59Z", ""}) {
    EXPECT_EQ(internal::ParseUtcTime(bad).status().reason(), "time.format") << bad;
  }
}

}  // namespace
}  // namespace sealpkg::signing
