#include "signing/keys.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/sha256.h"

namespace sealpkg::signing {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// PEM/DER of a key made directly with OpenSSL (types sealpkg refuses).
std::string ForeignPublicPem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}
std::string ForeignPrivatePem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sealpkg-keys-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class KeysTest : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(KeysTest, GenerateSignVerifyRoundTrip) {
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->algorithm(), GetParam());
  const std::string msg = "DSSEv1 28 application/vnd.in-toto+json 2 {}";
  auto sig = key->Sign(AsBytes(msg));
  ASSERT_TRUE(sig.ok());
  if (GetParam() == KeyAlgorithm::kEd25519) {
    EXPECT_EQ(sig->size(), 64u);
  } else {
    EXPECT_GE(sig->size(), 8u);
    EXPECT_LE(sig->size(), 72u);
    EXPECT_EQ((*sig)[0], 0x30);  // DER SEQUENCE
  }
  EXPECT_TRUE(key->public_key().Verify(GetParam(), AsBytes(msg), *sig).ok());
  // One flipped bit in the message or the signature fails.
  std::string other = msg;
  other.back() ^= 1;
  EXPECT_EQ(key->public_key().Verify(GetParam(), AsBytes(other), *sig).reason(),
            "signature.bad-signature");
  for (size_t i = 0; i < sig->size(); ++i) {
    auto bad = *sig;
    bad[i] ^= 0x01;
    const Status st = key->public_key().Verify(GetParam(), AsBytes(msg), bad);
    EXPECT_EQ(st.code(), ErrorCode::kSignatureInvalid) << i;
  }
  // Truncated and empty signatures.
  auto shorter = *sig;
  shorter.pop_back();
  EXPECT_FALSE(key->public_key().Verify(GetParam(), AsBytes(msg), shorter).ok());
  EXPECT_FALSE(key->public_key().Verify(GetParam(), AsBytes(msg), {}).ok());
}

TEST_P(KeysTest, PemRoundTripsAndIdsAreCanonical) {
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok());
  auto pem = key->ToPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto again = PrivateKey::FromPem(*pem);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->public_key(), key->public_key());
  const PublicKey& pub = key->public_key();
  EXPECT_EQ(pub.key_id(), Sha256Hex(pub.spki_der()));
  EXPECT_EQ(pub.oms_hint(), Sha256Hex(AsBytes(pub.pem())));
  EXPECT_EQ(pub.key_id().size(), 64u);
  EXPECT_NE(pub.key_id(), pub.oms_hint());
  EXPECT_EQ(pub.pem().rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  auto from_pem = PublicKey::FromPem(pub.pem());
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->key_id(), pub.key_id());
  auto from_der = PublicKey::FromDer(pub.spki_der());
  ASSERT_TRUE(from_der.ok());
  EXPECT_EQ(from_der->oms_hint(), pub.oms_hint());
  // A signature from the reloaded private key verifies with the original public key.
  auto sig = again->Sign(AsBytes("m"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub.Verify(GetParam(), AsBytes("m"), *sig).ok());
}

TEST_P(KeysTest, WrongKeyIsRejected) {
  auto a = PrivateKey::Generate(GetParam());
  auto b = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(a.ok() && b.ok());
  auto sig = a->Sign(AsBytes("payload"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(b->public_key().Verify(GetParam(), AsBytes("payload"), *sig).reason(),
            "signature.bad-signature");
}

INSTANTIATE_TEST_SUITE_P(Both, KeysTest,
                         ::testing::Values(KeyAlgorithm::kEcdsaP256Sha256, KeyAlgorithm::kEd25519),
                         [](const auto& p) {
                           return p.param == KeyAlgorithm::kEd25519 ? "Ed25519" : "P256";
                         });

TEST(KeysTest, AlgorithmConfusionIsRejected) {
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  auto ed = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ec.ok() && ed.ok());
  auto ec_sig = ec->Sign(AsBytes("m"));
  auto ed_sig = ed->Sign(AsBytes("m"));
  ASSERT_TRUE(ec_sig.ok() && ed_sig.ok());
  // The trust record says Ed25519 but the key is P-256 (and the reverse): refused before any
  // signature math, even for the key's own valid signature.
  EXPECT_EQ(ec->public_key().Verify(KeyAlgorithm::kEd25519, AsBytes("m"), *ec_sig).reason(),
            "signature.algorithm-mismatch");
  EXPECT_EQ(ed->public_key().Verify(KeyAlgorithm::kEcdsaP256Sha256, AsBytes("m"), *ed_sig).reason(),
            "signature.algorithm-mismatch");
  // An ECDSA signature checked with an Ed25519 key (right algorithm label) fails, and the reverse.
  EXPECT_EQ(ed->public_key().Verify(KeyAlgorithm::kEd25519, AsBytes("m"), *ec_sig).reason(),
            "signature.bad-signature");
  EXPECT_EQ(ec->public_key().Verify(KeyAlgorithm::kEcdsaP256Sha256, AsBytes("m"), *ed_sig).reason(),
            "signature.bad-signature");
}

TEST(KeysTest, Ed25519MalleatedSignatureIsRejected) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  ASSERT_TRUE(key.ok());
  auto sig = key->Sign(AsBytes("message"));
  ASSERT_TRUE(sig.ok());
  // S' = S + L (little-endian), L = 2^252 + 27742317777372353535851937790883648493.
  static constexpr uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                     0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                     0,    0,    0,    0,    0,    0,    0,    0,
                                     0,    0,    0,    0,    0,    0,    0,    0x10};
  auto malleated = *sig;
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    const unsigned v = malleated[32 + i] + kL[i] + carry;
    malleated[32 + i] = static_cast<uint8_t>(v & 0xFF);
    carry = v >> 8;
  }
  ASSERT_EQ(carry, 0u);
  ASSERT_NE(malleated, *sig);
  EXPECT_EQ(
      key->public_key().Verify(KeyAlgorithm::kEd25519, AsBytes("message"), malleated).reason(),
      "signature.bad-signature");
}

TEST(KeysTest, MalformedDerSignatureIsFailureNotError) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(key.ok());
  auto sig = key->Sign(AsBytes("m"));
  ASSERT_TRUE(sig.ok());
  // Garbage, a wrong outer tag, a length that overruns, trailing bytes after valid DER: OpenSSL
  // returns -1 or 0 for these; both must be a plain signature failure.
  std::vector<std::vector<uint8_t>> bad = {
      {0x30, 0x02, 0x02},
      {0xFF, 0xFF, 0xFF, 0xFF},
      {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01},
      {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01},  // r = s = 1: well-formed, wrong
  };
  auto trailing = *sig;
  trailing.push_back(0);
  bad.push_back(trailing);
  auto long_len = *sig;
  long_len[1] = 0x81;
  bad.push_back(long_len);
  for (const auto& b : bad) {
    const Status st = key->public_key().Verify(KeyAlgorithm::kEcdsaP256Sha256, AsBytes("m"), b);
    EXPECT_EQ(st.reason(), "signature.bad-signature");
    EXPECT_EQ(st.code(), ErrorCode::kSignatureInvalid);
  }
}

TEST(KeysTest, OtherKeyTypesAndCurvesAreRefused) {
  struct Case {
    EVP_PKEY* pkey;
    const char* reason;
  };
  Case cases[] = {
      {EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), "key.unsupported-type"},
      {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), "key.unsupported-curve"},
      {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"), "key.unsupported-curve"},
      {EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"), "key.unsupported-type"},
      {EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"), "key.unsupported-type"},
  };
  for (const Case& c : cases) {
    ASSERT_NE(c.pkey, nullptr);
    auto pub = PublicKey::FromPem(ForeignPublicPem(c.pkey));
    EXPECT_EQ(pub.status().reason(), c.reason) << pub.status().ToString();
    auto priv = PrivateKey::FromPem(ForeignPrivatePem(c.pkey));
    EXPECT_EQ(priv.status().reason(), c.reason) << priv.status().ToString();
    EXPECT_NE(pub.status().message().find("supported"), std::string_view::npos);
    EVP_PKEY_free(c.pkey);
  }
}

TEST(KeysTest, NonCanonicalAndMalformedPublicKeysAreRefused) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(pkey, nullptr);
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
            1);
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pkey, &der);
  ASSERT_GT(n, 0);
  std::vector<uint8_t> compressed(der, der + n);
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
  EXPECT_EQ(PublicKey::FromDer(compressed).status().reason(), "key.non-canonical");

  auto key = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(key.ok());
  auto with_tail = key->public_key().spki_der();
  with_tail.push_back(0);
  EXPECT_EQ(PublicKey::FromDer(with_tail).status().reason(), "key.malformed");
  EXPECT_EQ(PublicKey::FromDer({}).status().reason(), "key.malformed");
  EXPECT_EQ(PublicKey::FromPem("not a key").status().reason(), "key.malformed");
  auto priv_pem = key->ToPem();
  ASSERT_TRUE(priv_pem.ok());
  EXPECT_EQ(PublicKey::FromPem(*priv_pem).status().reason(), "key.malformed");  // wrong label
  EXPECT_EQ(PrivateKey::FromPem(key->public_key().pem()).status().reason(), "key.malformed");
  EXPECT_EQ(PrivateKey::FromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END "
                                "ENCRYPTED PRIVATE KEY-----\n")
                .status()
                .reason(),
            "key.encrypted");
  EXPECT_EQ(ParseKeyAlgorithm("rsa").status().reason(), "key.unknown-algorithm");
  EXPECT_EQ(*ParseKeyAlgorithm("ed25519"), KeyAlgorithm::kEd25519);
  EXPECT_EQ(KeyAlgorithmName(KeyAlgorithm::kEcdsaP256Sha256), "ecdsa-p256-sha256");
}

TEST(KeysTest, KeyFilesHaveSafeModesAndAreNeverClobbered) {
  TempDir dir;
  auto key = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(key.ok());
  const std::string priv = dir / "signer.pem";
  const std::string pub = dir / "signer.pub.pem";
  const mode_t old = ::umask(0);  // even with a permissive umask, the private key is 0600
  ASSERT_TRUE(WritePrivateKeyFile(priv, *key).ok());
  ASSERT_TRUE(WritePublicKeyFile(pub, key->public_key()).ok());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(priv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(pub.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Existing files are not replaced unless asked.
  auto other = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(WritePrivateKeyFile(priv, *other).reason(), "io.exists");
  auto read = ReadPrivateKeyFile(priv);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->public_key(), key->public_key());
  ASSERT_TRUE(WritePrivateKeyFile(priv, *other, KeyFileMode::kReplace).ok());
  ASSERT_EQ(::stat(priv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  read = ReadPrivateKeyFile(priv);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->algorithm(), KeyAlgorithm::kEd25519);
  auto read_pub = ReadPublicKeyFile(pub);
  ASSERT_TRUE(read_pub.ok());
  EXPECT_EQ(read_pub->key_id(), key->public_key().key_id());
  // No temporary files are left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2u);
  EXPECT_EQ(ReadPrivateKeyFile(dir / "missing.pem").status().code(), ErrorCode::kIo);
  EXPECT_EQ(WritePrivateKeyFile(dir / "no/such/dir.pem", *key).code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace sealpkg::signing
