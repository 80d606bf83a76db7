#include "signing/package_signature.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "core/sha256.h"
#include "signing/bundle.h"
#include "signing/internal/zip_tail.h"
#include "signing/statement.h"

namespace sealpkg::signing {
namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> Build(const Records& records, const std::string& name = "pkg") {
  archive::WriterOptions options;
  options.archive_name = name;
  auto w = archive::ZipWriter::CreateInMemory(options);
  EXPECT_TRUE(w.ok());
  for (const auto& [record, data] : records) {
    const Status st = w->AddRecord(record, AsBytes(data));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_TRUE(w->Finish().ok());
  return w->TakeBuffer();
}

Records SmallRecords() {
  return {{".data/version", "6\n"},
          {"mymodel/__init__.py", ""},
          {"mymodel/net.py", "import torch\nclass Net: pass\n"},
          {"data.pkl", std::string("\x80\x02}q\x00.", 6)},
          {".data/extern_modules", "torch\n"},
          {".data/0.storage", std::string(48, '\x01')}};
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ec_ = *PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
    ed_ = *PrivateKey::Generate(KeyAlgorithm::kEd25519);
    options_.package_name = "org.example.model";
    options_.package_version = "3";
    options_.signed_at = "2026-01-01T00:00:00Z";
  }
  StaticKeyResolver Trust(std::initializer_list<const PrivateKey*> keys) const {
    std::vector<TrustedKey> out;
    for (const PrivateKey* k : keys) out.push_back({k->public_key(), k->algorithm()});
    return StaticKeyResolver(out);
  }
  std::vector<uint8_t> Sign(std::span<const uint8_t> archive, const PrivateKey& key) {
    const PrivateKey* keys[] = {&key};
    auto out = SignEmbedded(archive, keys, options_);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : std::vector<uint8_t>();
  }
  Status Verify(std::span<const uint8_t> archive, const KeyResolver& trust) const {
    return VerifyEmbedded(archive, trust).status();
  }
  // The bundle bytes of a signed archive.
  static std::string BundleOf(std::span<const uint8_t> signed_archive) {
    auto index = archive::ParseZip(signed_archive, ArchiveLimits{});
    EXPECT_TRUE(index.ok());
    const auto& e = index->entries().back();
    const auto b = signed_archive.subspan(e.data_offset, e.compressed_size);
    return {b.begin(), b.end()};
  }
  // An attacker's transplant: `unsigned_archive` with `bundle` appended in canonical form.
  static std::vector<uint8_t> Transplant(std::span<const uint8_t> unsigned_archive,
                                         std::string_view bundle) {
    auto index = archive::ParseZip(unsigned_archive, ArchiveLimits{});
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    const uint64_t cd = index->central_directory_offset();
    std::vector<uint8_t> out(unsigned_archive.begin(),
                             unsigned_archive.begin() + static_cast<std::ptrdiff_t>(cd));
    internal::AppendSignatureTail(
        out, cd, index->prefix() + "/" + std::string(kSignatureRecord), AsBytes(bundle),
        unsigned_archive.subspan(cd, index->central_directory_size()), index->entries().size());
    return out;
  }

  std::optional<PrivateKey> ec_, ed_;
  SignOptions options_;
};

TEST_F(SignatureTest, SignAndVerifyBothAlgorithms) {
  const auto plain = Build(SmallRecords());
  for (const PrivateKey* key : {&*ec_, &*ed_}) {
    const auto signed_archive = Sign(plain, *key);
    auto v = VerifyEmbedded(signed_archive, Trust({key}));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->key_ids, std::vector<std::string>{key->public_key().key_id()});
    EXPECT_EQ(v->package_name, "org.example.model");
    EXPECT_EQ(v->package_version, "3");
    EXPECT_EQ(v->signed_at, "2026-01-01T00:00:00Z");
    EXPECT_EQ(v->subject_name, "pkg");
    EXPECT_EQ(v->entry_count, SmallRecords().size());
    EXPECT_EQ(v->statement_sha256.size(), 64u);
    // Every original byte before the old central directory is kept.
    auto index = archive::ParseZip(plain, ArchiveLimits{});
    const uint64_t cd = index->central_directory_offset();
    ASSERT_GT(signed_archive.size(), cd);
    EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(cd),
                           signed_archive.begin()));
    // The signed archive passes the strict reader; the signature is its last entry.
    auto signed_index = archive::ParseZip(signed_archive, ArchiveLimits{});
    ASSERT_TRUE(signed_index.ok());
    EXPECT_EQ(signed_index->entries().back().record(), kSignatureRecord);
    // Not trusted: unknown key.
    EXPECT_EQ(Verify(signed_archive, Trust({key == &*ec_ ? &*ed_ : &*ec_})).reason(),
              kReasonUnknownKey);
  }
}

TEST_F(SignatureTest, StatementIsOmsShaped) {
  const auto signed_archive = Sign(Build(SmallRecords()), *ec_);
  auto bundle = ParseBundle(AsBytes(BundleOf(signed_archive)), SigningLimits{});
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(bundle->key_hint, ec_->public_key().oms_hint());
  EXPECT_EQ(bundle->envelope.payload_type, kInTotoPayloadType);
  auto st = ParseOmsStatement(bundle->envelope.payload, SigningLimits{});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ignore_paths, std::vector<std::string>{"pkg/" + std::string(kSignatureRecord)});
  ASSERT_EQ(st->resources.size(), SmallRecords().size());
  for (size_t i = 1; i < st->resources.size(); ++i) {
    EXPECT_LT(st->resources[i - 1].name, st->resources[i].name);
  }
  for (const auto& [record, data] : SmallRecords()) {
    const std::string full = "pkg/" + record;  // clang-14 cannot capture structured bindings
    const auto it = std::find_if(st->resources.begin(), st->resources.end(),
                                 [&](const Resource& r) { return r.name == full; });
    ASSERT_NE(it, st->resources.end()) << record;
    EXPECT_EQ(HexEncode(it->digest), Sha256Hex(AsBytes(data)));
    EXPECT_EQ(*it->size, data.size());
  }
}

TEST_F(SignatureTest, Ed25519SigningIsDeterministic) {
  const auto plain = Build(SmallRecords());
  EXPECT_EQ(Sign(plain, *ed_), Sign(plain, *ed_));
}

TEST_F(SignatureTest, ResigningReplacesTheSignature) {
  const auto once = Sign(Build(SmallRecords()), *ec_);
  const auto twice = Sign(once, *ed_);
  auto v = VerifyEmbedded(twice, Trust({&*ed_}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->entry_count, SmallRecords().size());
  EXPECT_EQ(Verify(twice, Trust({&*ec_})).reason(), kReasonUnknownKey);
  auto index = archive::ParseZip(twice, ArchiveLimits{});
  EXPECT_EQ(index->entries().size(), SmallRecords().size() + 1);
}

TEST_F(SignatureTest, MultipleSignersAllMustVerify) {
  const PrivateKey* keys[] = {&*ec_, &*ed_, &*ec_};
  auto signed_archive = SignEmbedded(Build(SmallRecords()), keys, options_);
  ASSERT_TRUE(signed_archive.ok());
  auto v = VerifyEmbedded(*signed_archive, Trust({&*ec_, &*ed_}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->key_ids.size(), 2u);  // the same key twice counts once
  EXPECT_EQ(Verify(*signed_archive, Trust({&*ec_})).reason(), kReasonUnknownKey);
}

TEST_F(SignatureTest, AlgorithmFromTrustRecordOnly) {
  const auto signed_archive = Sign(Build(SmallRecords()), *ed_);
  StaticKeyResolver wrong({{ed_->public_key(), KeyAlgorithm::kEcdsaP256Sha256}});
  EXPECT_EQ(Verify(signed_archive, wrong).reason(), kReasonAlgorithm);
}

// Every single-byte change anywhere in a small signed package is rejected.
TEST_F(SignatureTest, EveryByteFlipIsRejected) {
  const auto signed_archive = Sign(Build(SmallRecords()), *ec_);
  const StaticKeyResolver trust = Trust({&*ec_});
  ASSERT_TRUE(Verify(signed_archive, trust).ok());
  std::map<std::string, int> reasons;
  auto copy = signed_archive;
  for (size_t i = 0; i < copy.size(); ++i) {
    copy[i] ^= 0xFF;
    const Status st = Verify(copy, trust);
    copy[i] ^= 0xFF;
    ASSERT_FALSE(st.ok()) << "flip at offset " << i << " of " << copy.size() << " accepted";
    ++reasons[std::string(st.reason())];
  }
  EXPECT_GT(copy.size(), 1000u);
  // The sweep exercises several layers (reader, tail, bundle, digests), not one catch-all.
  EXPECT_GE(reasons.size(), 5u);
  EXPECT_GT(reasons[std::string(kReasonEntryDigest)], 0);
  EXPECT_GT(reasons[std::string(kReasonTail)], 0);
}

TEST_F(SignatureTest, SampledFlipSweepOfLargerPackage) {
  Records records = SmallRecords();
  for (int i = 0; i < 8; ++i) {
    std::string data(96 * 1024 + i * 777, '\0');
    for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<char>(k * 13 + i);
    records.push_back({".data/" + std::to_string(i + 1) + ".storage", data});
  }
  const auto signed_archive = Sign(Build(records), *ed_);
  const StaticKeyResolver trust = Trust({&*ed_});
  ASSERT_TRUE(Verify(signed_archive, trust).ok());
  auto copy = signed_archive;
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int n = 0; n < 600; ++n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const size_t i = (n < 100) ? copy.size() - 1 - static_cast<size_t>(n)  // the whole tail
                               : static_cast<size_t>(state >> 11) % copy.size();
    copy[i] ^= 0xFF;
    ASSERT_FALSE(Verify(copy, trust).ok()) << "flip at offset " << i << " accepted";
    copy[i] ^= 0xFF;
  }
}

TEST_F(SignatureTest, TamperingWithEachEntryNamesTheEntry) {
  const auto signed_archive = Sign(Build(SmallRecords()), *ec_);
  const StaticKeyResolver trust = Trust({&*ec_});
  auto index = archive::ParseZip(signed_archive, ArchiveLimits{});
  ASSERT_TRUE(index.ok());
  for (const auto& e : index->entries()) {
    if (e.record() == kSignatureRecord || e.compressed_size == 0) continue;
    for (uint64_t at : {e.data_offset, e.data_offset + e.compressed_size / 2,
                        e.data_offset + e.compressed_size - 1}) {
      auto copy = signed_archive;
      copy[at] ^= 0x20;
      const Status st = Verify(copy, trust);
      EXPECT_EQ(st.reason(), kReasonEntryDigest) << e.name << " @" << at;
      EXPECT_EQ(st.entry(), e.name);
      EXPECT_EQ(st.code(), ErrorCode::kSignatureInvalid);
    }
  }
}

TEST_F(SignatureTest, EntrySetManipulationIsRejected) {
  const Records base = SmallRecords();
  const auto signed_archive = Sign(Build(base), *ec_);
  const std::string bundle = BundleOf(signed_archive);
  const StaticKeyResolver trust = Trust({&*ec_});
  ASSERT_TRUE(Verify(Transplant(Build(base), bundle), trust).ok());  // the transplant is exact

  const auto check = [&](Records records, std::string_view reason, std::string_view entry = {}) {
    const Status st = Verify(Transplant(Build(records), bundle), trust);
    EXPECT_EQ(st.reason(), reason) << st.ToString();
    if (!entry.empty()) {
      EXPECT_EQ(st.entry(), entry);
    }
  };
  Records added_end = base;
  added_end.push_back({"evil.py", "import os\n"});
  check(added_end, kReasonEntryCount);
  Records added_start = base;
  added_start.insert(added_start.begin(), {"evil.py", "import os\n"});
  check(added_start, kReasonEntryCount);
  Records removed = base;
  removed.erase(removed.begin() + 2);
  check(removed, kReasonEntryCount);
  Records renamed = base;
  renamed[2].first = "mymodel/net2.py";
  check(renamed, kReasonEntryMissing, "pkg/mymodel/net.py");
  Records replaced = base;
  replaced[3] = {"dat.pkl", replaced[3].second};
  check(replaced, kReasonEntryUnsigned, "pkg/dat.pkl");
  Records reordered = base;
  std::swap(reordered[1], reordered[2]);
  check(reordered, kReasonLayout);
  Records resized = base;
  resized[4].second += "os\n";
  check(resized, kReasonEntrySize, "pkg/.data/extern_modules");
  Records changed = base;
  changed[4].second = "numpy\n";
  check(changed, kReasonEntryDigest, "pkg/.data/extern_modules");

  // An entry added after the signature entry: the signature is no longer last.
  {
    auto index = archive::ParseZip(signed_archive, ArchiveLimits{});
    Records with_sig = base;
    with_sig.push_back({std::string(kSignatureRecord), bundle});
    with_sig.push_back({"late.py", "x = 1\n"});
    EXPECT_EQ(Verify(Build(with_sig), trust).reason(), kReasonNotLast);
  }
  // The signature entry written by an ordinary writer (descriptor, padding): not canonical.
  Records plain_sig = base;
  plain_sig.push_back({std::string(kSignatureRecord), bundle});
  EXPECT_EQ(Verify(Build(plain_sig), trust).reason(), kReasonTail);
  // Signature removed: an unsigned package.
  EXPECT_EQ(Verify(Build(base), trust).reason(), kReasonMissing);
}

TEST_F(SignatureTest, CaseOnlyDuplicateCraftedArchiveIsRejected) {
  // Build with two distinct names, then patch the second to differ only by case.
  Records records = SmallRecords();
  records.push_back({"data.pkx", "other"});
  const auto signed_archive = Sign(Build(records), *ec_);
  auto copy = signed_archive;
  std::string s(copy.begin(), copy.end());
  const std::string from = "pkg/data.pkx", to = "pkg/DATA.pkl";
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) {
    std::copy(to.begin(), to.end(), copy.begin() + static_cast<std::ptrdiff_t>(at));
  }
  EXPECT_EQ(Verify(copy, Trust({&*ec_})).reason(), "zip.case-collision");
  // And an exact duplicate.
  const std::string to2 = "pkg/data.pkl";
  copy = signed_archive;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) {
    std::copy(to2.begin(), to2.end(), copy.begin() + static_cast<std::ptrdiff_t>(at));
  }
  EXPECT_EQ(Verify(copy, Trust({&*ec_})).reason(), "zip.duplicate-name");
}

TEST_F(SignatureTest, PrependedAppendedBytesAndSwappedBundlesAreRejected) {
  const auto signed_archive = Sign(Build(SmallRecords()), *ec_);
  const StaticKeyResolver trust = Trust({&*ec_});
  auto prepended = signed_archive;
  prepended.insert(prepended.begin(), 64, 'J');
  EXPECT_FALSE(Verify(prepended, trust).ok());
  auto appended = signed_archive;
  appended.push_back(0);
  EXPECT_FALSE(Verify(appended, trust).ok());
  // Another package's valid bundle (same key) swapped in.
  Records other = SmallRecords();
  other[2].second = "import torch\nclass Net: evil = 1\n";
  const std::string other_bundle = BundleOf(Sign(Build(other), *ec_));
  const Status swapped = Verify(Transplant(Build(SmallRecords()), other_bundle), trust);
  EXPECT_EQ(swapped.reason(), kReasonEntrySize);
  Records same_size = SmallRecords();
  same_size[4].second = "numpy\n";
  const std::string same_size_bundle = BundleOf(Sign(Build(same_size), *ec_));
  EXPECT_EQ(Verify(Transplant(Build(SmallRecords()), same_size_bundle), trust).reason(),
            kReasonEntryDigest);
  // A bundle from a package with another folder name.
  const std::string renamed_bundle = BundleOf(Sign(Build(SmallRecords(), "pkg2"), *ec_));
  EXPECT_EQ(Verify(Transplant(Build(SmallRecords()), renamed_bundle), trust).reason(),
            kReasonSubject);
}

TEST_F(SignatureTest, BundleMustBeCanonicalAndHintMustMatch) {
  const auto plain = Build(SmallRecords());
  const auto signed_archive = Sign(plain, *ec_);
  const StaticKeyResolver trust = Trust({&*ec_, &*ed_});
  const std::string bundle = BundleOf(signed_archive);
  // Same content, pretty-printed: not canonical.
  std::string spaced = bundle;
  spaced.insert(1, " ");
  EXPECT_EQ(Verify(Transplant(plain, spaced), trust).reason(), kReasonBundleNonCanonical);
  // Hint of another trusted key.
  auto parsed = ParseBundle(AsBytes(bundle), SigningLimits{});
  ASSERT_TRUE(parsed.ok());
  Bundle b = *parsed;
  b.key_hint = ed_->public_key().oms_hint();
  EXPECT_EQ(Verify(Transplant(plain, SerializeBundle(b)), trust).reason(), kReasonHint);
  b.key_hint.clear();
  EXPECT_EQ(Verify(Transplant(plain, SerializeBundle(b)), trust).reason(), kReasonHint);
  // Keyid of another trusted key: that key does not verify the signature.
  b = *parsed;
  b.envelope.signatures[0].keyid = ed_->public_key().key_id();
  EXPECT_EQ(Verify(Transplant(plain, SerializeBundle(b)), trust).reason(), kReasonBadSignature);
  b.envelope.signatures[0].keyid.clear();
  EXPECT_EQ(Verify(Transplant(plain, SerializeBundle(b)), trust).reason(), kReasonKeyid);
  // Another payload type (signature made over it, so only the type check can fail).
  b = *parsed;
  b.envelope.payload_type = "application/vnd.sealpkg.policy+json";
  EXPECT_EQ(Verify(Transplant(plain, SerializeBundle(b)), trust).reason(), kReasonPayloadType);
  EXPECT_EQ(Verify(Transplant(plain, "{}"), trust).reason(), kReasonBundle);
}

TEST_F(SignatureTest, StockTorchArchiveKeepsEveryByte) {
  const auto stock =
      ReadFile(std::string(SEALPKG_SOURCE_DIR) + "/tests/data/signing/stock_small.pt");
  ASSERT_FALSE(stock.empty());
  const auto signed_archive = Sign(stock, *ec_);
  auto v = VerifyEmbedded(signed_archive, Trust({&*ec_}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->subject_name, "archive");
  auto index = archive::ParseZip(stock, ArchiveLimits{});
  ASSERT_TRUE(index.ok());
  const auto cd = static_cast<std::ptrdiff_t>(index->central_directory_offset());
  EXPECT_TRUE(std::equal(stock.begin(), stock.begin() + cd, signed_archive.begin()));
  // The old central-directory records are kept verbatim, in front of the new one.
  EXPECT_TRUE(
      std::equal(stock.begin() + cd,
                 stock.begin() + cd + static_cast<std::ptrdiff_t>(index->central_directory_size()),
                 std::search(signed_archive.begin() + cd, signed_archive.end(), stock.begin() + cd,
                             stock.begin() + cd + 4)));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sealpkg-sig-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  size_t Count() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path_)) ++n;
    return n;
  }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::span<const uint8_t> data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

TEST_F(SignatureTest, SignFileInPlaceIsAtomic) {
  TempDir dir;
  const std::string path = dir / "model.pt";
  const auto plain = Build(SmallRecords(), "model");
  WriteFile(path, plain);
  ::chmod(path.c_str(), 0640);
  const PrivateKey* keys[] = {&*ec_};
  ASSERT_TRUE(SignEmbeddedFile(path, keys, options_).ok());
  const auto signed_bytes = ReadFile(path);
  EXPECT_TRUE(VerifyEmbedded(signed_bytes, Trust({&*ec_})).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(dir.Count(), 1u);
  // A file the strict reader refuses: untouched, and no temporary file is left.
  const std::string bad = dir / "bad.pt";
  auto broken = plain;
  broken.insert(broken.begin(), 'X');
  WriteFile(bad, broken);
  EXPECT_FALSE(SignEmbeddedFile(bad, keys, options_).ok());
  EXPECT_EQ(ReadFile(bad), broken);
  EXPECT_EQ(dir.Count(), 2u);
  EXPECT_EQ(SignEmbeddedFile(dir / "missing.pt", keys, options_).code(), ErrorCode::kIo);
  // Read-only folder: the temporary file cannot be created; the original is untouched.
  if (::geteuid() != 0) {
    ::chmod((dir / "").c_str(), 0500);
    EXPECT_EQ(SignEmbeddedFile(path, keys, options_).code(), ErrorCode::kIo);
    ::chmod((dir / "").c_str(), 0700);
    EXPECT_EQ(ReadFile(path), signed_bytes);
  }
}

TEST_F(SignatureTest, DetachedSignatureRoundTrip) {
  const auto file = Build(SmallRecords(), "model");
  const PrivateKey* keys[] = {&*ec_};
  auto bundle = SignDetached(file, "model.pt", keys, options_);
  ASSERT_TRUE(bundle.ok());
  auto v = VerifyDetached(file, AsBytes(*bundle), "model.pt", Trust({&*ec_}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->key_ids[0], ec_->public_key().key_id());
  EXPECT_EQ(v->subject_name, "model.pt");
  // The OMS shape: one resource named ".", whole-file digest, PEM hint, in-toto PAE type.
  auto parsed = ParseBundle(AsBytes(*bundle), SigningLimits{});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key_hint, Sha256Hex(AsBytes(ec_->public_key().pem())));
  auto st = ParseOmsStatement(parsed->envelope.payload, SigningLimits{});
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->resources.size(), 1u);
  EXPECT_EQ(st->resources[0].name, ".");
  EXPECT_EQ(HexEncode(st->resources[0].digest), Sha256Hex(file));
  EXPECT_EQ(HexEncode(st->subject.sha256), Sha256Hex(st->resources[0].digest));
  // Tampered file, wrong key, wrong name in a basename-named bundle.
  auto tampered = file;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_EQ(
      VerifyDetached(tampered, AsBytes(*bundle), "model.pt", Trust({&*ec_})).status().reason(),
      kReasonFileDigest);
  EXPECT_EQ(VerifyDetached(file, AsBytes(*bundle), "model.pt", Trust({&*ed_})).status().reason(),
            kReasonUnknownKey);
  // A model_signing-style bundle: no keyid (resolved by hint), resource named by the basename.
  OmsStatement named;
  named.subject.name = "model.pt";
  named.resources.push_back({"model.pt", Sha256(file), std::nullopt});
  const std::string payload = SerializeOmsStatement(named);
  Bundle ms;
  ms.key_hint = ec_->public_key().oms_hint();
  ms.envelope.payload.assign(payload.begin(), payload.end());
  ms.envelope.payload_type = std::string(kInTotoPayloadType);
  auto sig = SignDsse(*ec_, kInTotoPayloadType, ms.envelope.payload);
  ASSERT_TRUE(sig.ok());
  sig->keyid.clear();
  ms.envelope.signatures.push_back(*sig);
  const std::string ms_json = SerializeBundle(ms);
  EXPECT_TRUE(VerifyDetached(file, AsBytes(ms_json), "model.pt", Trust({&*ec_})).ok());
  EXPECT_EQ(VerifyDetached(file, AsBytes(ms_json), "other.pt", Trust({&*ec_})).status().reason(),
            kReasonResource);
  // The hint, when given, must be the signing key's.
  ms.key_hint = ed_->public_key().oms_hint();
  EXPECT_FALSE(
      VerifyDetached(file, AsBytes(SerializeBundle(ms)), "model.pt", Trust({&*ec_, &*ed_})).ok());
}

// A package signed by sealpkg still loads in STOCK torch.package (module and pickle).
TEST_F(SignatureTest, SignedPackageLoadsInStockTorch) {
  TempDir dir;
  const std::string path = dir / "signed.pt";
  const auto stock =
      ReadFile(std::string(SEALPKG_SOURCE_DIR) + "/tests/data/signing/stock_small.pt");
  WriteFile(path, Sign(stock, *ec_));
  const std::string script =
      "import sys, torch\n"
      "from torch.package import PackageImporter\n"
      "imp = PackageImporter(sys.argv[1])\n"
      "m = imp.import_module('sealpkg_fixture_mod')\n"
      "assert m.answer() == 42\n"
      "box = imp.load_pickle('data', 'box.pkl')\n"
      "assert torch.equal(box.value['w'], torch.arange(8, dtype=torch.float32))\n"
      "assert imp.load_text('res', 'info.txt') == 'signed fixture\\n'\n"
      "tree = str(imp.file_structure())\n"
      "assert 'package.sigstore.json' in tree, tree\n"
      "mods = [k for k in sys.modules if 'sigstore' in k or 'signatures' in k]\n"
      "assert not mods, mods\n"
      "print('stock-torch-ok')\n";
  WriteFile(dir / "load.py", AsBytes(script));
  const std::string cmd =
      "/usr/bin/python3 " + (dir / "load.py") + " " + path + " > " + (dir / "out.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const auto out = ReadFile(dir / "out.txt");
  EXPECT_EQ(rc, 0) << std::string(out.begin(), out.end());
  EXPECT_NE(std::string(out.begin(), out.end()).find("stock-torch-ok"), std::string::npos);
}

}  // namespace
}  // namespace sealpkg::signing
