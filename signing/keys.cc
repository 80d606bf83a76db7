#include "signing/keys.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/sha256.h"

namespace sealpkg::signing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// The supported algorithm of `pkey`, or why it is refused.
Result<KeyAlgorithm> Classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyAlgorithm::kEd25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char encoding[32] = {0};
    size_t len = 0;
    // security: explicit curve parameters invite invalid-curve tricks; named curves only.
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof encoding,
                                       &len) != 1 ||
        std::string_view(encoding, len) != OSSL_PKEY_EC_ENCODING_GROUP) {
      return Malformed("key.unsupported-curve",
                       "EC key with explicit curve parameters; only the named curve P-256 "
                       "(prime256v1) is supported");
    }
    char group[64] = {0};
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
      return Malformed("key.unsupported-curve", "EC key without a named curve");
    }
    const std::string_view name(group, len);
    if (name != "prime256v1") {
      return Malformed("key.unsupported-curve", "EC key on curve '" + std::string(name) +
                                                    "'; only P-256 (prime256v1) is supported");
    }
    return KeyAlgorithm::kEcdsaP256Sha256;
  }
  const char* type = EVP_PKEY_get0_type_name(pkey);
  return Malformed("key.unsupported-type", std::string("key type '") + (type ? type : "unknown") +
                                               "' is not supported; use ECDSA P-256 or Ed25519");
}

Result<std::vector<uint8_t>> SpkiDer(EVP_PKEY* pkey) {
  // One encoding per key: EC points always uncompressed (what OMS and model_signing hash).
  if (EVP_PKEY_is_a(pkey, "EC") &&
      EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 1) {
    return InternalError("internal.key-encode", "cannot select the uncompressed point format");
  }
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pkey, &der);
  if (n <= 0) return InternalError("internal.key-encode", "cannot encode a public key as DER");
  std::vector<uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

Result<std::string> SpkiPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return InternalError("internal.key-encode", "cannot encode a public key as PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Runs the one-shot EVP_DigestSign/Verify recipe for `algorithm`.
const char* DigestName(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEcdsaP256Sha256 ? "SHA256" : nullptr;  // Ed25519: none
}

int NoPassphrase(char*, int, int, void*) {
  return -1;  // never prompt: an encrypted key fails to load
}

Result<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("io.open", "cannot open '" + path + "': " + ErrnoText(errno));
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return IoError("io.read", "cannot read '" + path + "': " + ErrnoText(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 10)) {
      ::close(fd);
      OPENSSL_cleanse(out.data(), out.size());
      return LimitExceeded("key.file-too-large", "key file '" + path + "' is larger than 64 KiB");
    }
  }
  ::close(fd);
  return out;
}

// Temp file (0600) in the target's folder, filled and fsynced, then linked or renamed.
Status WriteKeyFile(const std::string& path, std::string_view text, mode_t perms,
                    KeyFileMode mode) {
  const size_t sep = path.find_last_of('/');
  const std::string dir = sep == std::string::npos ? "" : path.substr(0, sep + 1);
  const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
  std::string temp = dir + "." + base.substr(0, 200) + ".sealpkg-key-XXXXXX";
  // mkostemp creates the file with mode 0600: no window in which others can read it.
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return IoError("io.create", "cannot create a file next to '" + path + "': " + ErrnoText(errno));
  }
  const auto fail = [&](std::string what) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return IoError("io.write", what + " '" + path + "': " + ErrnoText(err));
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, perms) != 0 || ::fsync(fd) != 0) return fail("cannot finish");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.write", "cannot close '" + path + "': " + ErrnoText(err));
  }
  if (mode == KeyFileMode::kCreateNew) {
    // link() fails if the target exists: never clobber an existing key.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      if (err == EEXIST) return IoError("io.exists", "'" + path + "' already exists");
      return IoError("io.create", "cannot create '" + path + "': " + ErrnoText(err));
    }
    ::unlink(temp.c_str());
  } else if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("io.rename", "cannot replace '" + path + "': " + ErrnoText(err));
  }
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // Best effort: the file itself was fsynced; this makes the new name durable too.
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

// 0644 minus the process umask, read without umask(2) (which would change it for every thread).
mode_t UmaskedPublicMode() {
  mode_t mask = 022;
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return 0644 & ~mask;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned value = 0;
    if (std::sscanf(line, "Umask: %o", &value) == 1) {
      mask = static_cast<mode_t>(value & 0777);
      break;
    }
  }
  std::fclose(f);
  return 0644 & ~mask;
}

}  // namespace

std::string_view KeyAlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kEcdsaP256Sha256:
      return "ecdsa-p256-sha256";
    case KeyAlgorithm::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name) {
  if (name == "ecdsa-p256-sha256") return KeyAlgorithm::kEcdsaP256Sha256;
  if (name == "ed25519") return KeyAlgorithm::kEd25519;
  return Malformed("key.unknown-algorithm",
                   "unknown key algorithm; expected 'ecdsa-p256-sha256' or 'ed25519'");
}

struct PublicKey::Impl {
  PkeyPtr pkey;
  KeyAlgorithm algorithm;
  std::vector<uint8_t> der;
  std::string pem;
  std::string key_id;
  std::string hint;
};

namespace {

Result<std::shared_ptr<const PublicKey::Impl>> MakePublicImpl(PkeyPtr pkey) {
  SEALPKG_ASSIGN_OR_RETURN(KeyAlgorithm alg, Classify(pkey.get()));
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->algorithm = alg;
  SEALPKG_ASSIGN_OR_RETURN(impl->der, SpkiDer(pkey.get()));
  SEALPKG_ASSIGN_OR_RETURN(impl->pem, SpkiPem(pkey.get()));
  impl->key_id = Sha256Hex(impl->der);
  impl->hint = Sha256Hex(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(impl->pem.data()), impl->pem.size()));
  impl->pkey = std::move(pkey);
  return std::shared_ptr<const PublicKey::Impl>(std::move(impl));
}

}  // namespace

Result<PublicKey> PublicKey::FromDer(std::span<const uint8_t> spki_der) {
  const unsigned char* p = spki_der.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey) return Malformed("key.malformed", "not a DER SubjectPublicKeyInfo");
  if (p != spki_der.data() + spki_der.size()) {
    return Malformed("key.malformed", "bytes after the DER SubjectPublicKeyInfo");
  }
  SEALPKG_ASSIGN_OR_RETURN(auto impl, MakePublicImpl(std::move(pkey)));
  // security: one key, one id. A compressed point or non-minimal DER would give a second id.
  if (impl->der.size() != spki_der.size() ||
      !std::equal(impl->der.begin(), impl->der.end(), spki_der.begin())) {
    return Malformed("key.non-canonical",
                     "public key DER is not in canonical form (e.g. a compressed EC point)");
  }
  return PublicKey(std::move(impl));
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("internal.alloc", "BIO_new_mem_buf failed");
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    return Malformed("key.malformed", "no PEM block in the public key text");
  }
  const std::string label = name;
  const bool has_header = header != nullptr && header[0] != '\0';
  std::vector<uint8_t> der(data, data + len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  if (label != "PUBLIC KEY" || has_header) {
    return Malformed("key.malformed",
                     "expected a '-----BEGIN PUBLIC KEY-----' block, found '" + label + "'");
  }
  return FromDer(der);
}

KeyAlgorithm PublicKey::algorithm() const {
  return impl_->algorithm;
}
const std::vector<uint8_t>& PublicKey::spki_der() const {
  return impl_->der;
}
const std::string& PublicKey::pem() const {
  return impl_->pem;
}
const std::string& PublicKey::key_id() const {
  return impl_->key_id;
}
const std::string& PublicKey::oms_hint() const {
  return impl_->hint;
}

Status PublicKey::Verify(KeyAlgorithm trusted, std::span<const uint8_t> message,
                         std::span<const uint8_t> signature) const {
  // security: the algorithm comes from the trust record; a key of another type never verifies.
  if (impl_->algorithm != trusted) {
    return SignatureInvalid("signature.algorithm-mismatch",
                            "key " + impl_->key_id + " is " +
                                std::string(KeyAlgorithmName(impl_->algorithm)) +
                                " but is trusted as " + std::string(KeyAlgorithmName(trusted)));
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("internal.alloc", "EVP_MD_CTX_new failed");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, DigestName(trusted), nullptr, nullptr,
                              impl_->pkey.get(), nullptr) != 1) {
    return InternalError("internal.verify-init", "EVP_DigestVerifyInit_ex failed");
  }
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                  message.size());
  // security: 0 is "wrong signature", < 0 is "could not even parse it"; only 1 is success.
  if (rc != 1) {
    return SignatureInvalid("signature.bad-signature",
                            "signature does not verify with key " + impl_->key_id);
  }
  return OkStatus();
}

struct PrivateKey::Impl {
  PkeyPtr pkey;
  KeyAlgorithm algorithm;
};

Result<PrivateKey> PrivateKey::Generate(KeyAlgorithm algorithm) {
  PkeyPtr pkey(algorithm == KeyAlgorithm::kEd25519
                   ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return InternalError("internal.keygen", "key generation failed");
  SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> der, SpkiDer(pkey.get()));
  SEALPKG_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromDer(der));
  auto impl = std::make_shared<Impl>();
  impl->algorithm = algorithm;
  impl->pkey = std::move(pkey);
  return PrivateKey(std::move(impl), std::move(pub));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Malformed("key.encrypted",
                     "encrypted private keys are not supported (sealpkg never asks for a "
                     "passphrase); store the key unencrypted with mode 0600");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("internal.alloc", "BIO_new_mem_buf failed");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) return Malformed("key.malformed", "not a PEM private key");
  SEALPKG_ASSIGN_OR_RETURN(KeyAlgorithm alg, Classify(pkey.get()));
  SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> der, SpkiDer(pkey.get()));
  SEALPKG_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromDer(der));
  auto impl = std::make_shared<Impl>();
  impl->algorithm = alg;
  impl->pkey = std::move(pkey);
  return PrivateKey(std::move(impl), std::move(pub));
}

KeyAlgorithm PrivateKey::algorithm() const {
  return impl_->algorithm;
}
const PublicKey& PrivateKey::public_key() const {
  return public_;
}

Result<std::vector<uint8_t>> PrivateKey::Sign(std::span<const uint8_t> message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("internal.alloc", "EVP_MD_CTX_new failed");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, DigestName(impl_->algorithm), nullptr, nullptr,
                            impl_->pkey.get(), nullptr) != 1) {
    return InternalError("internal.sign-init", "EVP_DigestSignInit_ex failed");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return InternalError("internal.sign", "EVP_DigestSign (size query) failed");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return InternalError("internal.sign", "EVP_DigestSign failed");
  }
  sig.resize(len);
  return sig;
}

Result<std::string> PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return InternalError("internal.key-encode", "cannot encode a private key as PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  return out;
}

Status WritePrivateKeyFile(const std::string& path, const PrivateKey& key, KeyFileMode mode) {
  SEALPKG_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  Status st = WriteKeyFile(path, pem, 0600, mode);
  OPENSSL_cleanse(pem.data(), pem.size());
  return st;
}

Status WritePublicKeyFile(const std::string& path, const PublicKey& key, KeyFileMode mode) {
  return WriteKeyFile(path, key.pem(), UmaskedPublicMode(), mode);
}

Result<PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  SEALPKG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto key = PrivateKey::FromPem(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key.ok()) return std::move(key).status().WithEntry(path);
  return key;
}

Result<PublicKey> ReadPublicKeyFile(const std::string& path) {
  SEALPKG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto key = PublicKey::FromPem(text);
  if (!key.ok()) return std::move(key).status().WithEntry(path);
  return key;
}

}  // namespace sealpkg::signing
