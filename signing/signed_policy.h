// Signed policies: a policy file from disk is trusted only with a valid detached bundle.
//
// The bundle for `POLICY.toml` is `POLICY.toml.sig` (the same `<file>.sig` convention as
// detached package signatures). It is a Sigstore bundle v0.3 whose DSSE payload is an in-toto
// Statement v1 with predicateType https://sealpkg.dev/policy/v1, exactly one subject
// {name: "<policy name>", digest: {sha256: SHA-256 of the policy file's exact bytes}} and the
// predicate
//   {"name": "<policy name>", "version": N, "expires": "2027-01-01T00:00:00Z",
//    "trust_version": T}
// `version` and `expires` are the signed truth (the TOML's own [policy] version must equal the
// signed one; the caller checks that after parsing the TOML, because signing does not depend on
// the verifier). `trust_version` is the trust root version the signer saw; a policy written
// against a newer root than the local one is refused until the store is updated.
//
// VerifySignedPolicy, in order (signing.md §6.6): canonical bundle bytes, payloadType,
// predicateType BEFORE anything else in the predicate (a package signature or trust root is
// never read as a policy, and a policy bundle fails package verification, whose predicate type
// is OMS), subject name and digest == SHA-256(policy bytes), a threshold of DISTINCT usable
// policy-signer keys, not expired, version not below the store's high-water mark. Built-in
// policies are part of the binary and need none of this.
//
//   SEALPKG_ASSIGN_OR_RETURN(std::string sig, SignPolicy(toml, claims, {&key}));
//   SEALPKG_ASSIGN_OR_RETURN(VerifiedPolicy p, VerifySignedPolicy(toml, sig, store));
//   ... parse `toml` with the verifier, require name/version == p.claims ...
//   SEALPKG_RETURN_IF_ERROR(store.RecordPolicyVersion(p.claims.name, p.claims.version));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "signing/keys.h"
#include "signing/trust_store.h"

namespace sealpkg::signing {

inline constexpr std::string_view kPolicyPredicateType = "https://sealpkg.dev/policy/v1";
// Suffix of the bundle file next to a policy file.
inline constexpr std::string_view kPolicySignatureSuffix = ".sig";

// Reasons (kSignatureInvalid unless noted).
inline constexpr std::string_view kPolicyUnsigned = "policy.unsigned";  // no bundle file
inline constexpr std::string_view kPolicyBundle = "policy.bundle-malformed";
inline constexpr std::string_view kPolicyPredicateTypeReason = "policy.predicate-type";
inline constexpr std::string_view kPolicyDigest = "policy.digest";  // file bytes differ
inline constexpr std::string_view kPolicyThreshold = "policy.threshold";
inline constexpr std::string_view kPolicyExpired = "policy.expired";
inline constexpr std::string_view kPolicyTrustNewer = "policy.trust-newer";
inline constexpr std::string_view kPolicyMismatch = "policy.claims-mismatch";  // TOML vs signed

struct PolicyClaims {
  std::string name;
  int64_t version = 1;
  int64_t expires = 0;  // Unix seconds
  int64_t trust_version = 0;
};

struct VerifiedPolicy {
  PolicyClaims claims;
  std::vector<std::string> key_ids;  // distinct policy-signer keys that verified
  std::string statement_sha256;      // hex SHA-256 of the DSSE payload
};

// The canonical bundle JSON for `policy_bytes`, signed by every key.
Result<std::string> SignPolicy(std::span<const uint8_t> policy_bytes, const PolicyClaims& claims,
                               std::span<const PrivateKey* const> keys);

// See the header comment. Does not write state: callers record the version after they have
// also checked the TOML against the claims.
Result<VerifiedPolicy> VerifySignedPolicy(std::span<const uint8_t> policy_bytes,
                                          std::span<const uint8_t> bundle_json,
                                          const TrustStore& store,
                                          const SigningLimits& limits = {});

}  // namespace sealpkg::signing
