// Signing keys: ECDSA P-256 with SHA-256 (the default, OMS/model_signing compatible) and
// Ed25519 (sealpkg-native). Every other key type, curve or encoding is refused with a reason.
//
// A PublicKey knows its canonical encodings: `spki_der()` (DER SubjectPublicKeyInfo as OpenSSL
// writes it), `pem()` (that DER as OpenSSL's PEM text), the key id (lower-case hex SHA-256 of
// the DER) and the OMS hint (hex SHA-256 of the PEM text, what model_signing puts in
// `verificationMaterial.publicKey.hint`). Inputs whose DER is not already canonical are refused,
// so one key has exactly one id.
//
// Verification takes the algorithm from the caller's trusted key record, never from a bundle,
// and succeeds only when OpenSSL's EVP_DigestVerify returns exactly 1. P-256 signatures are DER
// (r, s); Ed25519 is pure Ed25519 (one-shot, no pre-hash). OpenSSL types stay in keys.cc.
//
//   SEALPKG_ASSIGN_OR_RETURN(auto key, PrivateKey::Generate(KeyAlgorithm::kEcdsaP256Sha256));
//   SEALPKG_RETURN_IF_ERROR(WritePrivateKeyFile("signer.pem", key));   // mode 0600, new file
//   SEALPKG_ASSIGN_OR_RETURN(auto sig, key.Sign(message));
//   SEALPKG_RETURN_IF_ERROR(key.public_key().Verify(KeyAlgorithm::kEcdsaP256Sha256, message, sig));
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sealpkg::signing {

enum class KeyAlgorithm : uint8_t {
  kEcdsaP256Sha256,  // "ecdsa-p256-sha256"
  kEd25519,          // "ed25519"
};

// Stable names used in trust stores and CLI flags.
std::string_view KeyAlgorithmName(KeyAlgorithm algorithm);
// kMalformed "key.unknown-algorithm" for any other name.
Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name);

class PublicKey {
 public:
  // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo) only. Errors: kMalformed "key.malformed",
  // "key.non-canonical" (DER that OpenSSL would re-encode differently, e.g. a compressed
  // point), "key.unsupported-type" (RSA, DSA, X25519, Ed448, ...), "key.unsupported-curve"
  // (P-384, secp256k1, explicit curve parameters, ...).
  static Result<PublicKey> FromPem(std::string_view pem);
  static Result<PublicKey> FromDer(std::span<const uint8_t> spki_der);

  KeyAlgorithm algorithm() const;
  const std::vector<uint8_t>& spki_der() const;
  const std::string& pem() const;
  const std::string& key_id() const;    // hex SHA-256 of spki_der()
  const std::string& oms_hint() const;  // hex SHA-256 of pem()

  // kSignatureInvalid "signature.algorithm-mismatch" when this key is not of the `trusted`
  // algorithm, "signature.bad-signature" unless EVP_DigestVerify returns exactly 1 (a wrong or
  // malformed signature, including DER that OpenSSL cannot parse).
  Status Verify(KeyAlgorithm trusted, std::span<const uint8_t> message,
                std::span<const uint8_t> signature) const;

  bool operator==(const PublicKey& other) const { return spki_der() == other.spki_der(); }

  struct Impl;  // opaque (OpenSSL handle and cached encodings), defined in keys.cc

 private:
  friend class PrivateKey;
  explicit PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> Generate(KeyAlgorithm algorithm);
  // Unencrypted PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") PEM. Encrypted keys are refused
  // ("key.encrypted"): sealpkg never prompts for a passphrase.
  static Result<PrivateKey> FromPem(std::string_view pem);

  KeyAlgorithm algorithm() const;
  const PublicKey& public_key() const;
  // P-256: DER ECDSA signature over SHA-256(message). Ed25519: 64-byte signature of message.
  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> message) const;
  // Unencrypted PKCS#8 PEM. Holds secret material: callers must not log it.
  Result<std::string> ToPem() const;

 private:
  struct Impl;
  PrivateKey(std::shared_ptr<const Impl> impl, PublicKey pub)
      : impl_(std::move(impl)), public_(std::move(pub)) {}
  std::shared_ptr<const Impl> impl_;
  PublicKey public_;
};

enum class KeyFileMode {
  kCreateNew,  // fail with kIo "io.exists" if the path exists (the default: never clobber a key)
  kReplace,    // atomically replace an existing file
};

// Writes the key as PEM. The file is created under a temporary name with mode 0600, filled,
// fsynced, then linked (kCreateNew) or renamed (kReplace) into place, so the private key is
// never readable by others, not even briefly, and the target never holds a partial file.
Status WritePrivateKeyFile(const std::string& path, const PrivateKey& key,
                           KeyFileMode mode = KeyFileMode::kCreateNew);
// The same for a public key, mode 0644 (minus the umask).
Status WritePublicKeyFile(const std::string& path, const PublicKey& key,
                          KeyFileMode mode = KeyFileMode::kCreateNew);

// Reads a key file (at most 64 KiB). kIo on read errors, else as FromPem.
Result<PrivateKey> ReadPrivateKeyFile(const std::string& path);
Result<PublicKey> ReadPublicKeyFile(const std::string& path);

}  // namespace sealpkg::signing
