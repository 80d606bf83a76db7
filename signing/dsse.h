// DSSE v1 envelopes (secure-systems-lab/dsse): the signature layer of every sealpkg bundle.
//
// What is signed is PreAuthEncoding(payloadType, payload) =
//   "DSSEv1" SP len(payloadType) SP payloadType SP len(payload) SP payload
// (lengths in ASCII decimal bytes, no leading zeros). There is exactly one PAE implementation and
// no fallback encoding. The payload is verified as the exact bytes received and only then parsed;
// nothing is re-serialized before checking.
//
// An envelope may carry several signatures. `CheckDsseSignatures` verifies each one against the
// caller's KeyResolver (key id -> trusted key and algorithm; the algorithm never comes from the
// envelope) and reports every signature's claimed keyid and outcome plus the DISTINCT key ids
// that verified, in first-seen order, so thresholds are never met by one key signing twice (or
// by an ECDSA (r, n-s) twin). Policy layers count `verified_key_ids`; strict callers use
// `RequireAllVerified`.
//
//   SEALPKG_ASSIGN_OR_RETURN(DsseSignature s, SignDsse(key, kInTotoPayloadType, payload));
//   DsseEnvelope env{payload, std::string(kInTotoPayloadType), {s}};
//   std::string json = SerializeDsseEnvelope(env);
//   ...
//   SEALPKG_ASSIGN_OR_RETURN(DsseEnvelope got, ParseDsseEnvelope(json_bytes, limits.signing));
//   SEALPKG_RETURN_IF_ERROR(CheckPayloadType(got, kInTotoPayloadType));
//   DsseVerification v = CheckDsseSignatures(got, resolver);
//   if (v.verified_key_ids.size() < threshold) ...
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "signing/json.h"
#include "signing/keys.h"

namespace sealpkg::signing {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

std::vector<uint8_t> PreAuthEncoding(std::string_view payload_type,
                                     std::span<const uint8_t> payload);

struct DsseSignature {
  std::string keyid;         // unauthenticated hint; sealpkg writes the signer's key id
  std::vector<uint8_t> sig;  // raw signature bytes (base64 in JSON)
};

struct DsseEnvelope {
  std::vector<uint8_t> payload;  // raw bytes (base64 in JSON)
  std::string payload_type;
  std::vector<DsseSignature> signatures;
};

// Canonical JSON: {"payload":..,"payloadType":..,"signatures":[{"keyid":..,"sig":..}]}.
JsonValue DsseEnvelopeToJson(const DsseEnvelope& envelope);
std::string SerializeDsseEnvelope(const DsseEnvelope& envelope);

// Strict reading of an envelope object at `path`: exactly payload, payloadType, signatures
// (1..max_signatures, each {sig, keyid?}; keyid may be absent, "" or null as DSSE allows),
// strict base64, non-empty signatures. kMalformed "json.*" / "base64.*" / "dsse.*" reasons.
Result<DsseEnvelope> DsseEnvelopeFromJson(const JsonValue& value, const std::string& path,
                                          const SigningLimits& limits);
Result<DsseEnvelope> ParseDsseEnvelope(std::span<const uint8_t> json, const SigningLimits& limits);

// Signs PAE(payload_type, payload); keyid = the signer's key id.
Result<DsseSignature> SignDsse(const PrivateKey& key, std::string_view payload_type,
                               std::span<const uint8_t> payload);

// A key the caller trusts, with the algorithm its trust record assigns.
struct TrustedKey {
  PublicKey key;
  KeyAlgorithm algorithm;
};

// Resolves signer keys from the caller's trust source (trust store, a pinned key, ...).
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  // The trusted key whose id (hex SHA-256 of the DER SPKI) is `key_id`, or nullopt if unknown.
  virtual std::optional<TrustedKey> FindByKeyId(std::string_view key_id) const = 0;
  // For signatures without a keyid (model_signing bundles): the trusted key whose OMS hint is
  // `hint`. The default knows none.
  virtual std::optional<TrustedKey> FindByOmsHint(std::string_view hint) const;
};

// A fixed set of trusted keys.
class StaticKeyResolver : public KeyResolver {
 public:
  explicit StaticKeyResolver(std::vector<TrustedKey> keys) : keys_(std::move(keys)) {}
  std::optional<TrustedKey> FindByKeyId(std::string_view key_id) const override;
  std::optional<TrustedKey> FindByOmsHint(std::string_view hint) const override;

 private:
  std::vector<TrustedKey> keys_;
};

// kSignatureInvalid "signature.payload-type" unless the envelope's payloadType is `expected`.
Status CheckPayloadType(const DsseEnvelope& envelope, std::string_view expected);

struct SignatureCheck {
  std::string claimed_keyid;  // as written in the envelope (may be empty)
  std::string key_id;         // id of the key that verified it; empty when it did not
  Status status;              // OK, or why not ("signature.unknown-key", "signature.bad-signature")
};

struct DsseVerification {
  std::vector<SignatureCheck> checks;         // one per signature, in envelope order
  std::vector<std::string> verified_key_ids;  // distinct, first-seen order
};

// Verifies every signature over PAE(payloadType, payload). A signature is resolved by its keyid,
// or, when the keyid is empty and `oms_hint` is not, by the hint. A resolved key whose id differs
// from the claimed keyid counts as unknown.
DsseVerification CheckDsseSignatures(const DsseEnvelope& envelope, const KeyResolver& resolver,
                                     std::string_view oms_hint = {});

// OK only if there is at least one signature and every one verified; otherwise the first
// failure ("signature.none" for an empty list).
Status RequireAllVerified(const DsseVerification& verification);

}  // namespace sealpkg::signing
