#include "signing/signed_policy.h"

#include <cstring>
#include <set>

#include "core/printable.h"
#include "core/sha256.h"
#include "signing/bundle.h"
#include "signing/dsse.h"
#include "signing/hashing.h"
#include "signing/internal/utc_time.h"
#include "signing/json.h"
#include "signing/statement.h"

namespace sealpkg::signing {
namespace {

Status Invalid(std::string_view reason, std::string message) {
  return SignatureInvalid(std::string(reason), std::move(message));
}

Status WrapBundle(const Status& inner) {
  if (inner.code() == ErrorCode::kLimitExceeded) return inner;
  return Invalid(kPolicyBundle,
                 "[" + std::string(inner.reason()) + "] " + std::string(inner.message()));
}

JsonValue ClaimsToJson(const PolicyClaims& c) {
  JsonValue p = JsonValue::Object();
  p.Set("name", JsonValue::String(c.name));
  p.Set("version", JsonValue::Integer(c.version));
  p.Set("expires", JsonValue::String(internal::FormatUtcTime(c.expires)));
  p.Set("trust_version", JsonValue::Integer(c.trust_version));
  return p;
}

Result<PolicyClaims> ClaimsFromJson(const JsonValue& predicate) {
  SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(predicate, "$.predicate"));
  PolicyClaims c;
  SEALPKG_ASSIGN_OR_RETURN(std::string_view name, f.String("name"));
  SEALPKG_ASSIGN_OR_RETURN(c.version, f.Integer("version"));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view expires, f.String("expires"));
  SEALPKG_ASSIGN_OR_RETURN(c.trust_version, f.Integer("trust_version"));
  SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
  if (name.empty()) return JsonSchemaError(f.PathOf("name"), "must not be empty");
  if (c.version < 1) return JsonSchemaError(f.PathOf("version"), "must be positive");
  if (c.trust_version < 0) return JsonSchemaError(f.PathOf("trust_version"), "must be >= 0");
  SEALPKG_ASSIGN_OR_RETURN(c.expires, internal::ParseUtcTime(expires));
  c.name = std::string(name);
  return c;
}

}  // namespace

Result<std::string> SignPolicy(std::span<const uint8_t> policy_bytes, const PolicyClaims& claims,
                               std::span<const PrivateKey* const> keys) {
  if (keys.empty()) return InternalError("internal.no-keys", "signing needs at least one key");
  InTotoStatement st;
  Subject subject;
  subject.name = claims.name;
  subject.sha256 = Sha256(policy_bytes);
  st.subjects.push_back(std::move(subject));
  st.predicate_type = std::string(kPolicyPredicateType);
  st.predicate = ClaimsToJson(claims);
  const std::string payload = SerializeJson(InTotoStatementToJson(st));
  Bundle bundle;
  bundle.key_hint = keys.front()->public_key().oms_hint();
  bundle.envelope.payload.assign(payload.begin(), payload.end());
  bundle.envelope.payload_type = std::string(kInTotoPayloadType);
  std::set<std::string> seen;
  for (const PrivateKey* key : keys) {
    if (!seen.insert(key->public_key().key_id()).second) continue;
    SEALPKG_ASSIGN_OR_RETURN(DsseSignature s,
                             SignDsse(*key, kInTotoPayloadType, bundle.envelope.payload));
    bundle.envelope.signatures.push_back(std::move(s));
  }
  return SerializeBundle(bundle);
}

Result<VerifiedPolicy> VerifySignedPolicy(std::span<const uint8_t> policy_bytes,
                                          std::span<const uint8_t> bundle_json,
                                          const TrustStore& store, const SigningLimits& limits) {
  auto bundle = ParseBundle(bundle_json, limits);
  if (!bundle.ok()) return WrapBundle(bundle.status());
  const std::string canonical = SerializeBundle(*bundle);
  if (canonical.size() != bundle_json.size() ||
      std::memcmp(canonical.data(), bundle_json.data(), bundle_json.size()) != 0) {
    return Invalid(kPolicyBundle, "the policy bundle is not in canonical form");
  }
  {
    Status s = CheckPayloadType(bundle->envelope, kInTotoPayloadType);
    if (!s.ok()) return s;
  }
  auto statement = ParseInTotoStatement(bundle->envelope.payload, limits);
  if (!statement.ok()) return WrapBundle(statement.status());
  // security: the type decides how the rest is read; checked before anything else.
  if (statement->predicate_type != kPolicyPredicateType) {
    return Invalid(kPolicyPredicateTypeReason,
                   "the bundle's predicateType is '" + Printable(statement->predicate_type) +
                       "', not a policy (" + std::string(kPolicyPredicateType) + ")");
  }
  auto claims = ClaimsFromJson(statement->predicate);
  if (!claims.ok()) return WrapBundle(claims.status());
  if (statement->subjects.size() != 1 || statement->subjects[0].name != claims->name) {
    return Invalid(kPolicyBundle, "a policy statement has one subject named after the policy");
  }
  if (!DigestEqual(Sha256(policy_bytes), statement->subjects[0].sha256)) {
    return Invalid(kPolicyDigest, "the policy file's bytes do not match its signed SHA-256");
  }

  SEALPKG_ASSIGN_OR_RETURN(RoleKeyResolver signers, store.ResolverFor(kRolePolicySigner));
  const DsseVerification v = CheckDsseSignatures(bundle->envelope, signers, bundle->key_hint);
  if (v.verified_key_ids.size() < signers.threshold()) {
    std::string detail;
    for (const SignatureCheck& c : v.checks) {
      if (c.status.ok()) continue;
      std::optional<Status> why = signers.RefusalFor(c.claimed_keyid);
      detail += "; signature by " + Printable(c.claimed_keyid.substr(0, 64)) + ": " +
                std::string(why ? why->message() : c.status.message());
    }
    return Invalid(kPolicyThreshold, "policy '" + Printable(claims->name) +
                                         "': " + std::to_string(v.verified_key_ids.size()) +
                                         " of " + std::to_string(signers.threshold()) +
                                         " required distinct policy-signer keys verified" + detail);
  }
  // security: the hint is unauthenticated; it must name the key of the first signature.
  if (!bundle->key_hint.empty()) {
    const TrustKeyRecord* first = store.root().FindKey(v.checks.front().key_id);
    if (first == nullptr || first->key.oms_hint() != bundle->key_hint) {
      return Invalid("signature.hint-mismatch",
                     "verificationMaterial.publicKey.hint does not name the first signer");
    }
  }
  const int64_t now = store.Now();
  if (now >= claims->expires) {
    return Invalid(kPolicyExpired, "policy '" + Printable(claims->name) + "' expired at " +
                                       internal::FormatUtcTime(claims->expires));
  }
  if (claims->trust_version > store.root().version) {
    return Invalid(kPolicyTrustNewer,
                   "policy '" + Printable(claims->name) + "' was signed against trust root " +
                       std::to_string(claims->trust_version) + "; this store has version " +
                       std::to_string(store.root().version) + " (update the trust store)");
  }
  SEALPKG_RETURN_IF_ERROR(store.CheckPolicyVersion(claims->name, claims->version));
  VerifiedPolicy out;
  out.claims = std::move(*claims);
  out.key_ids = v.verified_key_ids;
  out.statement_sha256 = Sha256Hex(bundle->envelope.payload);
  return out;
}

}  // namespace sealpkg::signing
