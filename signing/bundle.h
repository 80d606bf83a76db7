// Sigstore bundle v0.3 in key mode (OMS v1.0 / model_signing compatible): the container of every
// sealpkg signature.
//
//   {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//    "verificationMaterial": {"publicKey": {"hint": "<hex SHA-256 of the signer's PEM SPKI>"},
//                             "tlogEntries": []},
//    "dsseEnvelope": {...}}                                      (see dsse.h)
//
// ParseBundle is strict: exact mediaType, key material only as publicKey.hint (certificate
// chains, Rekor entries and timestamps are out of scope and refused, except the empty forms
// `tlogEntries: []` and `timestampVerificationData: {}` / `{"rfc3161Timestamps": []}` that
// protobuf JSON writers emit), no unknown members anywhere. The hint is an unauthenticated
// claim: verifiers must check it equals the hint of the key that actually verified.
//
//   Bundle b{key.public_key().oms_hint(), envelope};
//   std::string json = SerializeBundle(b);
//   SEALPKG_ASSIGN_OR_RETURN(Bundle got, ParseBundle(bytes, limits.signing));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/status.h"
#include "signing/dsse.h"

namespace sealpkg::signing {

inline constexpr std::string_view kBundleMediaType =
    "application/vnd.dev.sigstore.bundle.v0.3+json";

struct Bundle {
  std::string key_hint;  // verificationMaterial.publicKey.hint ("" when absent)
  DsseEnvelope envelope;
};

JsonValue BundleToJson(const Bundle& bundle);
// Canonical compact JSON (what sealpkg embeds; embedded verification requires these exact bytes).
std::string SerializeBundle(const Bundle& bundle);

// Reasons: "json.*", "base64.*", "dsse.*", "bundle.media-type", "bundle.unsupported-material"
// (certificates, Rekor entries, timestamps, missing publicKey).
Result<Bundle> ParseBundle(std::span<const uint8_t> json, const SigningLimits& limits);

}  // namespace sealpkg::signing
