#include "signing/trust_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/printable.h"
#include "core/sha256.h"
#include "signing/base64.h"
#include "signing/bundle.h"
#include "signing/hashing.h"
#include "signing/internal/store_files.h"
#include "signing/internal/utc_time.h"
#include "signing/json.h"
#include "signing/statement.h"

namespace sealpkg::signing {
namespace {

using internal::FormatUtcTime;
using internal::ParseUtcTime;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool IsHexKeyId(std::string_view id) {
  Sha256Digest unused;
  return ParseHexDigest(id, unused);
}

Status Bad(const std::string& path, std::string_view what) {
  return Malformed(std::string(kTrustMalformed), path + ": " + std::string(what));
}

// Prefixes a parse error from a helper (JSON schema, base64, keys) with the trust reason.
Status Rewrap(const Status& inner) {
  if (inner.code() == ErrorCode::kLimitExceeded) return inner;
  return Malformed(std::string(kTrustMalformed),
                   "[" + std::string(inner.reason()) + "] " + std::string(inner.message()));
}

Result<int64_t> TimeField(JsonFields& f, std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(std::string_view text, f.String(key));
  auto t = ParseUtcTime(text);
  if (!t.ok()) return Bad(f.PathOf(key), t.status().message());
  return *t;
}

Result<std::optional<int64_t>> OptionalTimeField(JsonFields& f, std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(std::optional<std::string_view> text, f.OptionalString(key));
  if (!text) return std::optional<int64_t>();
  auto t = ParseUtcTime(*text);
  if (!t.ok()) return Bad(f.PathOf(key), t.status().message());
  return std::optional<int64_t>(*t);
}

Result<TrustKeyRecord> KeyFromJson(const std::string& key_id, const JsonValue& value,
                                   const std::string& path) {
  if (!IsHexKeyId(key_id)) return Bad(path, "a key id is 64 lower-case hex digits");
  SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(value, path));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view alg_name, f.String("alg"));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view spki_b64, f.String("spki_der_b64"));
  SEALPKG_ASSIGN_OR_RETURN(std::optional<int64_t> not_before, OptionalTimeField(f, "not_before"));
  SEALPKG_ASSIGN_OR_RETURN(std::optional<int64_t> not_after, OptionalTimeField(f, "not_after"));
  SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
  auto algorithm = ParseKeyAlgorithm(alg_name);
  if (!algorithm.ok()) return Bad(f.PathOf("alg"), algorithm.status().message());
  auto der = Base64Decode(spki_b64);
  if (!der.ok()) return Bad(f.PathOf("spki_der_b64"), der.status().message());
  auto key = PublicKey::FromDer(*der);
  if (!key.ok()) return Bad(f.PathOf("spki_der_b64"), key.status().message());
  // security: the id is derived, never chosen, so one key cannot be listed under two ids and
  // count twice towards a threshold.
  if (key->key_id() != key_id) {
    return Bad(path, "the key id is not the SHA-256 of the key's DER SubjectPublicKeyInfo");
  }
  // security: the algorithm the store trusts must be the key's own type (no confusion later).
  if (key->algorithm() != *algorithm) {
    return Bad(f.PathOf("alg"), "does not match the key's type");
  }
  if (not_before && not_after && *not_after <= *not_before) {
    return Bad(path, "not_after must be later than not_before");
  }
  return TrustKeyRecord{key_id, std::move(*key), *algorithm, not_before, not_after};
}

Result<TrustRole> RoleFromJson(const JsonValue& value, const std::string& path,
                               const TrustRoot& root, bool is_root) {
  SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(value, path));
  SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> ids, f.Array("keyids"));
  SEALPKG_ASSIGN_OR_RETURN(int64_t threshold, f.Integer("threshold"));
  SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
  TrustRole role;
  std::set<std::string> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string at = JsonFields::Index(f.PathOf("keyids"), i);
    if (!ids[i].is_string()) return Bad(at, "expected a key id string");
    const std::string& id = ids[i].string_value();
    // security: a role listing one id twice would let one signature count twice.
    if (!seen.insert(id).second) return Bad(at, "key id listed twice in one role");
    if (root.FindKey(id) == nullptr) return Bad(at, "no record for this key id in $.keys");
    role.key_ids.push_back(id);
  }
  // An empty signer role (threshold 1) is allowed and verifies nothing; the root role must be
  // satisfiable.
  const bool empty_ok = role.key_ids.empty() && threshold == 1 && !is_root;
  if (threshold < 1 || (static_cast<uint64_t>(threshold) > role.key_ids.size() && !empty_ok)) {
    return Bad(f.PathOf("threshold"), "must be between 1 and the number of key ids");
  }
  role.threshold = static_cast<uint32_t>(threshold);
  return role;
}

struct ParsedTrust {
  TrustRoot root;
  DsseEnvelope envelope;
  std::string hint;
  std::string payload_sha256;
};

Result<ParsedTrust> ParseTrustBundle(std::span<const uint8_t> bytes, const Limits& limits) {
  if (bytes.size() > limits.trust.max_trust_bytes) {
    return LimitExceeded(
        "trust.too-large",
        "trust.json is larger than " + std::to_string(limits.trust.max_trust_bytes) + " bytes");
  }
  auto bundle = ParseBundle(bytes, limits.signing);
  if (!bundle.ok()) return Rewrap(bundle.status());
  // security: one spelling only; an edited-but-equivalent trust.json is not the pinned one.
  const std::string canonical = SerializeBundle(*bundle);
  if (canonical.size() != bytes.size() ||
      std::memcmp(canonical.data(), bytes.data(), bytes.size()) != 0) {
    return Malformed(std::string(kTrustMalformed), "trust.json is not in canonical form");
  }
  SEALPKG_RETURN_IF_ERROR(CheckPayloadType(bundle->envelope, kInTotoPayloadType));
  auto statement = ParseInTotoStatement(bundle->envelope.payload, limits.signing);
  if (!statement.ok()) return Rewrap(statement.status());
  // security: checked before the predicate is read: a package or policy bundle is never a root.
  if (statement->predicate_type != kTrustPredicateType) {
    return SignatureInvalid(std::string(kTrustPredicateTypeReason),
                            "predicateType is '" + Printable(statement->predicate_type) +
                                "', not " + std::string(kTrustPredicateType));
  }
  if (statement->subjects.size() != 1 || statement->subjects[0].name != kTrustSubjectName) {
    return Malformed(std::string(kTrustMalformed), "a trust root has exactly one subject named " +
                                                       std::string(kTrustSubjectName));
  }
  const Sha256Digest digest = Sha256(AsBytes(SerializeJson(statement->predicate)));
  if (!DigestEqual(digest, statement->subjects[0].sha256)) {
    return Malformed(std::string(kTrustMalformed),
                     "the subject digest is not the SHA-256 of the predicate");
  }
  for (const DsseSignature& s : bundle->envelope.signatures) {
    if (s.keyid.empty()) {
      return Malformed(std::string(kTrustMalformed), "every trust signature names its key id");
    }
  }
  SEALPKG_ASSIGN_OR_RETURN(TrustRoot root, TrustRootFromJson(statement->predicate, limits.trust));
  ParsedTrust out{std::move(root), std::move(bundle->envelope), std::move(bundle->key_hint), ""};
  out.payload_sha256 = Sha256Hex(out.envelope.payload);
  return out;
}

// Distinct usable root keys of `root` that signed the envelope.
Status CheckRootThreshold(const DsseEnvelope& envelope, std::shared_ptr<const TrustRoot> root,
                          int64_t now, bool check_validity, std::string_view which) {
  RoleKeyResolver resolver(root, std::string(kRoleRoot), now, check_validity);
  const DsseVerification v = CheckDsseSignatures(envelope, resolver);
  const uint32_t need = resolver.threshold();
  if (v.verified_key_ids.size() >= need) return OkStatus();
  std::string detail;
  for (const SignatureCheck& c : v.checks) {
    if (c.status.ok()) continue;
    std::optional<Status> why = resolver.RefusalFor(c.claimed_keyid);
    detail += "; signature by " + Printable(c.claimed_keyid.substr(0, 64)) + ": " +
              std::string(why ? why->message() : c.status.message());
  }
  return SignatureInvalid(
      std::string(kTrustThreshold),
      std::string(which) + " root threshold not met: " + std::to_string(v.verified_key_ids.size()) +
          " of " + std::to_string(need) + " distinct root keys verified" + detail);
}

Status CheckHint(const ParsedTrust& doc, const TrustRoot* previous) {
  if (doc.hint.empty()) return OkStatus();
  const std::string& first = doc.envelope.signatures.front().keyid;
  const TrustKeyRecord* k = doc.root.FindKey(first);
  if (k == nullptr && previous != nullptr) k = previous->FindKey(first);
  if (k == nullptr || k->key.oms_hint() != doc.hint) {
    return SignatureInvalid("signature.hint-mismatch",
                            "verificationMaterial.publicKey.hint does not name the first signer");
  }
  return OkStatus();
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

}  // namespace

Result<int64_t> ParseTrustTime(std::string_view text) {
  return ParseUtcTime(text);
}
std::string FormatTrustTime(int64_t seconds) {
  return FormatUtcTime(seconds);
}
int64_t SystemTrustNow() {
  return internal::SystemUtcNow();
}

// ---------------------------------------------------------------------------------------------
// TrustRoot

const TrustKeyRecord* TrustRoot::FindKey(std::string_view key_id) const {
  auto it =
      std::lower_bound(keys.begin(), keys.end(), key_id,
                       [](const TrustKeyRecord& k, std::string_view id) { return k.key_id < id; });
  return it != keys.end() && it->key_id == key_id ? &*it : nullptr;
}

bool TrustRoot::IsRevoked(std::string_view key_id) const {
  return std::binary_search(revoked.begin(), revoked.end(), key_id);
}

const TrustRole* TrustRoot::FindRole(std::string_view role) const {
  auto it = roles.find(std::string(role));
  return it == roles.end() ? nullptr : &it->second;
}

void TrustRoot::PutKey(TrustKeyRecord record) {
  auto it = std::lower_bound(
      keys.begin(), keys.end(), record.key_id,
      [](const TrustKeyRecord& k, const std::string& id) { return k.key_id < id; });
  if (it != keys.end() && it->key_id == record.key_id) {
    *it = std::move(record);
  } else {
    keys.insert(it, std::move(record));
  }
}

Status CheckKeyUsable(const TrustRoot& root, std::string_view key_id, std::string_view role,
                      int64_t now) {
  const std::string id = Printable(key_id.substr(0, 64));
  const TrustKeyRecord* k = root.FindKey(key_id);
  if (k == nullptr) {
    return SignatureInvalid(std::string(kTrustUnknownKey),
                            "key " + id + " is not in the trust store");
  }
  if (root.IsRevoked(key_id)) {
    return SignatureInvalid(std::string(kTrustRevoked), "key " + id + " is revoked");
  }
  const TrustRole* r = root.FindRole(role);
  if (r == nullptr || std::find(r->key_ids.begin(), r->key_ids.end(), key_id) == r->key_ids.end()) {
    return SignatureInvalid(std::string(kTrustWrongRole),
                            "key " + id + " is not a " + Printable(role) + " key");
  }
  if (k->not_before && now < *k->not_before) {
    return SignatureInvalid(std::string(kTrustKeyNotYetValid),
                            "key " + id + " is not valid before " + FormatUtcTime(*k->not_before));
  }
  if (k->not_after && now >= *k->not_after) {
    return SignatureInvalid(std::string(kTrustKeyExpired),
                            "key " + id + " expired at " + FormatUtcTime(*k->not_after));
  }
  return OkStatus();
}

JsonValue TrustRootToJson(const TrustRoot& root) {
  JsonValue p = JsonValue::Object();
  p.Set("version", JsonValue::Integer(root.version));
  p.Set("expires", JsonValue::String(FormatUtcTime(root.expires)));
  JsonValue keys = JsonValue::Object();
  for (const TrustKeyRecord& k : root.keys) {
    JsonValue rec = JsonValue::Object();
    rec.Set("alg", JsonValue::String(std::string(KeyAlgorithmName(k.algorithm))));
    rec.Set("spki_der_b64", JsonValue::String(Base64Encode(k.key.spki_der())));
    if (k.not_before) rec.Set("not_before", JsonValue::String(FormatUtcTime(*k.not_before)));
    if (k.not_after) rec.Set("not_after", JsonValue::String(FormatUtcTime(*k.not_after)));
    keys.Set(k.key_id, std::move(rec));
  }
  p.Set("keys", std::move(keys));
  JsonValue roles = JsonValue::Object();
  for (const auto& [name, role] : root.roles) {
    JsonValue r = JsonValue::Object();
    JsonValue ids = JsonValue::Array();
    for (const std::string& id : role.key_ids) ids.Append(JsonValue::String(id));
    r.Set("keyids", std::move(ids));
    r.Set("threshold", JsonValue::Integer(role.threshold));
    roles.Set(name, std::move(r));
  }
  p.Set("roles", std::move(roles));
  JsonValue revoked = JsonValue::Array();
  for (const std::string& id : root.revoked) revoked.Append(JsonValue::String(id));
  p.Set("revoked", std::move(revoked));
  return p;
}

Result<TrustRoot> TrustRootFromJson(const JsonValue& predicate, const TrustLimits& limits) {
  auto parse = [&]() -> Result<TrustRoot> {
    TrustRoot root;
    SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(predicate, "$.predicate"));
    SEALPKG_ASSIGN_OR_RETURN(root.version, f.Integer("version"));
    if (root.version < 1) return Bad(f.PathOf("version"), "must be a positive integer");
    SEALPKG_ASSIGN_OR_RETURN(root.expires, TimeField(f, "expires"));
    SEALPKG_ASSIGN_OR_RETURN(const JsonValue* keys, f.Value("keys"));
    SEALPKG_ASSIGN_OR_RETURN(const JsonValue* roles, f.Value("roles"));
    SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> revoked, f.Array("revoked"));
    SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());

    if (!keys->is_object()) return Bad(f.PathOf("keys"), "expected an object");
    if (keys->members().size() > limits.max_keys) {
      return LimitExceeded("trust.keys-limit", "more than " + std::to_string(limits.max_keys) +
                                                   " keys in the trust root");
    }
    for (const JsonMember& m : keys->members()) {
      SEALPKG_ASSIGN_OR_RETURN(
          TrustKeyRecord k, KeyFromJson(m.key, m.value, f.PathOf("keys") + "." + Printable(m.key)));
      root.PutKey(std::move(k));  // the JSON parser already refused duplicate member names
    }

    if (!roles->is_object()) return Bad(f.PathOf("roles"), "expected an object");
    for (const JsonMember& m : roles->members()) {
      if (m.key != kRoleRoot && m.key != kRolePackageSigner && m.key != kRolePolicySigner) {
        return Bad(f.PathOf("roles") + "." + Printable(m.key), "unknown role");
      }
      SEALPKG_ASSIGN_OR_RETURN(
          TrustRole role,
          RoleFromJson(m.value, f.PathOf("roles") + "." + m.key, root, m.key == kRoleRoot));
      root.roles.emplace(m.key, std::move(role));
    }
    for (std::string_view name : {kRoleRoot, kRolePackageSigner, kRolePolicySigner}) {
      if (root.roles.count(std::string(name)) == 0) {
        return Bad(f.PathOf("roles"), "missing role " + std::string(name));
      }
    }

    if (revoked.size() > limits.max_revoked) {
      return LimitExceeded("trust.revoked-limit",
                           "more than " + std::to_string(limits.max_revoked) + " revoked keys");
    }
    for (size_t i = 0; i < revoked.size(); ++i) {
      const std::string at = JsonFields::Index(f.PathOf("revoked"), i);
      if (!revoked[i].is_string() || !IsHexKeyId(revoked[i].string_value())) {
        return Bad(at, "expected a key id (64 lower-case hex digits)");
      }
      root.revoked.push_back(revoked[i].string_value());
    }
    std::sort(root.revoked.begin(), root.revoked.end());
    if (std::adjacent_find(root.revoked.begin(), root.revoked.end()) != root.revoked.end()) {
      return Bad(f.PathOf("revoked"), "a key id is listed twice");
    }
    return root;
  };
  auto root = parse();
  if (!root.ok() && root.status().reason() != kTrustMalformed &&
      root.status().code() != ErrorCode::kLimitExceeded) {
    return Rewrap(root.status());
  }
  return root;
}

Result<std::string> SignTrustRoot(const TrustRoot& root, std::span<const PrivateKey* const> keys) {
  if (keys.empty()) return InternalError("internal.no-keys", "signing needs at least one key");
  const JsonValue predicate = TrustRootToJson(root);
  InTotoStatement st;
  Subject subject;
  subject.name = std::string(kTrustSubjectName);
  subject.sha256 = Sha256(AsBytes(SerializeJson(predicate)));
  st.subjects.push_back(std::move(subject));
  st.predicate_type = std::string(kTrustPredicateType);
  st.predicate = predicate;
  const std::string payload = SerializeJson(InTotoStatementToJson(st));
  Bundle bundle;
  bundle.key_hint = keys.front()->public_key().oms_hint();
  bundle.envelope.payload.assign(payload.begin(), payload.end());
  bundle.envelope.payload_type = std::string(kInTotoPayloadType);
  std::set<std::string> signed_ids;
  for (const PrivateKey* key : keys) {
    if (!signed_ids.insert(key->public_key().key_id()).second) continue;  // once per key
    SEALPKG_ASSIGN_OR_RETURN(DsseSignature s,
                             SignDsse(*key, kInTotoPayloadType, bundle.envelope.payload));
    bundle.envelope.signatures.push_back(std::move(s));
  }
  return SerializeBundle(bundle);
}

Result<TrustDocument> VerifyTrustDocument(std::span<const uint8_t> bundle_json,
                                          const TrustRoot* previous, int64_t now,
                                          const Limits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(ParsedTrust doc, ParseTrustBundle(bundle_json, limits));
  auto root = std::make_shared<const TrustRoot>(doc.root);
  if (previous != nullptr) {
    // security: one step at a time; a skipped or repeated version is refused (TUF 5.3.5).
    if (doc.root.version != previous->version + 1) {
      return SignatureInvalid(std::string(kTrustVersion),
                              "trust root version " + std::to_string(doc.root.version) +
                                  " does not follow the trusted version " +
                                  std::to_string(previous->version) + " (expected " +
                                  std::to_string(previous->version + 1) + ")");
    }
    SEALPKG_RETURN_IF_ERROR(CheckRootThreshold(
        doc.envelope, std::make_shared<const TrustRoot>(*previous), now, true, "old"));
    SEALPKG_RETURN_IF_ERROR(CheckRootThreshold(doc.envelope, root, now, true, "new"));
  } else {
    SEALPKG_RETURN_IF_ERROR(CheckRootThreshold(doc.envelope, root, now, true, "own"));
  }
  SEALPKG_RETURN_IF_ERROR(CheckHint(doc, previous));
  if (now >= doc.root.expires) {
    return SignatureInvalid(std::string(kTrustExpired),
                            "the trust root expired at " + FormatUtcTime(doc.root.expires));
  }
  return TrustDocument{std::move(doc.root), std::move(doc.payload_sha256)};
}

// ---------------------------------------------------------------------------------------------
// RoleKeyResolver

RoleKeyResolver::RoleKeyResolver(std::shared_ptr<const TrustRoot> root, std::string role,
                                 int64_t now, bool check_validity)
    : root_(std::move(root)), role_(std::move(role)), now_(now), check_validity_(check_validity) {}

uint32_t RoleKeyResolver::threshold() const {
  const TrustRole* r = root_->FindRole(role_);
  return r ? r->threshold : 1;
}

std::optional<TrustedKey> RoleKeyResolver::FindByKeyId(std::string_view key_id) const {
  Status why;
  if (check_validity_) {
    why = CheckKeyUsable(*root_, key_id, role_, now_);
  } else {
    const TrustRole* r = root_->FindRole(role_);
    if (root_->FindKey(key_id) == nullptr || r == nullptr ||
        std::find(r->key_ids.begin(), r->key_ids.end(), key_id) == r->key_ids.end()) {
      why =
          SignatureInvalid(std::string(kTrustWrongRole), "key " + Printable(key_id.substr(0, 64)) +
                                                             " is not a " + role_ + " key");
    }
  }
  if (!why.ok()) {
    refusals_.push_back({std::string(key_id.substr(0, 64)), why});
    return std::nullopt;
  }
  const TrustKeyRecord* k = root_->FindKey(key_id);
  return TrustedKey{k->key, k->algorithm};
}

std::optional<TrustedKey> RoleKeyResolver::FindByOmsHint(std::string_view hint) const {
  for (const TrustKeyRecord& k : root_->keys) {
    if (k.key.oms_hint() == hint) return FindByKeyId(k.key_id);
  }
  refusals_.push_back(
      {std::string(hint.substr(0, 64)),
       SignatureInvalid(std::string(kTrustUnknownKey), "no key in the trust store has the hint " +
                                                           Printable(hint.substr(0, 64)))});
  return std::nullopt;
}

std::optional<Status> RoleKeyResolver::RefusalFor(std::string_view key_id) const {
  for (const Refusal& r : refusals_) {
    if (key_id.empty() || r.key_id == key_id) return r.why;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// State file

std::string SerializeTrustState(const TrustState& state) {
  JsonValue s = JsonValue::Object();
  s.Set("format", JsonValue::Integer(1));
  JsonValue trust = JsonValue::Object();
  trust.Set("version", JsonValue::Integer(state.trust_version));
  trust.Set("payload_sha256", JsonValue::String(state.trust_payload_sha256));
  s.Set("trust", std::move(trust));
  for (const auto& [key, marks] :
       {std::pair<const char*, const std::map<std::string, int64_t>*>{"policies", &state.policies},
        {"packages", &state.packages}}) {
    JsonValue m = JsonValue::Object();
    for (const auto& [name, version] : *marks) m.Set(name, JsonValue::Integer(version));
    s.Set(key, std::move(m));
  }
  return SerializeJson(s) + "\n";
}

Result<TrustState> ParseTrustState(std::span<const uint8_t> json, const TrustLimits& limits) {
  auto parse = [&]() -> Result<TrustState> {
    if (json.size() > limits.max_state_bytes) {
      return LimitExceeded(
          "trust.state-limit",
          "state.json is larger than " + std::to_string(limits.max_state_bytes) + " bytes");
    }
    SigningLimits jl;
    jl.max_json_bytes = limits.max_state_bytes + 1;  // the trailing newline
    jl.max_json_members = limits.max_marks;
    // The canonical form ends in one newline; anything else is not what we wrote.
    if (json.empty() || json.back() != '\n') {
      return Malformed("trust.state-corrupt", "state.json does not end in a newline");
    }
    SEALPKG_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(json.first(json.size() - 1), jl));
    TrustState st;
    SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(doc, "$"));
    SEALPKG_ASSIGN_OR_RETURN(int64_t format, f.Integer("format"));
    if (format != 1) return Malformed("trust.state-corrupt", "unknown state format");
    SEALPKG_ASSIGN_OR_RETURN(JsonFields trust, f.Object("trust"));
    SEALPKG_ASSIGN_OR_RETURN(st.trust_version, trust.Integer("version"));
    SEALPKG_ASSIGN_OR_RETURN(std::string_view sha, trust.String("payload_sha256"));
    SEALPKG_RETURN_IF_ERROR(trust.NoOtherKeys());
    if (st.trust_version < 1 || !IsHexKeyId(sha)) {
      return Malformed("trust.state-corrupt", "bad trust mark");
    }
    st.trust_payload_sha256 = std::string(sha);
    for (const auto& [key, marks] :
         {std::pair<const char*, std::map<std::string, int64_t>*>{"policies", &st.policies},
          {"packages", &st.packages}}) {
      SEALPKG_ASSIGN_OR_RETURN(const JsonValue* m, f.Value(key));
      if (!m->is_object()) return Malformed("trust.state-corrupt", std::string(key) + ": object");
      for (const JsonMember& member : m->members()) {
        if (!member.value.is_integer() || member.value.integer_value() < 0 || member.key.empty()) {
          return Malformed("trust.state-corrupt", std::string(key) + ": bad mark");
        }
        (*marks)[member.key] = member.value.integer_value();
      }
    }
    SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
    return st;
  };
  auto st = parse();
  if (!st.ok()) {
    // security: any unreadable state fails closed as "corrupt", never as "no marks".
    return Malformed(std::string(kTrustStateCorrupt),
                     "state.json is corrupt: " + std::string(st.status().message()));
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// TrustStore

std::string TrustStore::DefaultDirectory() {
  if (const char* home = std::getenv("SEALPKG_HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  const char* user_home = std::getenv("HOME");
  return std::string(user_home != nullptr && *user_home != '\0' ? user_home : ".") +
         "/.config/sealpkg";
}

std::string TrustStore::TrustPath() const {
  return dir_ + "/" + std::string(kTrustFileName);
}
std::string TrustStore::StatePath() const {
  return dir_ + "/" + std::string(kStateFileName);
}

int64_t TrustStore::Now() const {
  return options_.now ? options_.now() : internal::SystemUtcNow();
}

Result<TrustStore> TrustStore::Initialize(const std::string& dir,
                                          std::span<const uint8_t> trust_json,
                                          TrustOptions options) {
  const int64_t now = options.now ? options.now() : internal::SystemUtcNow();
  SEALPKG_ASSIGN_OR_RETURN(TrustDocument doc,
                           VerifyTrustDocument(trust_json, nullptr, now, options.limits));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("io.create", "cannot create '" + dir + "': " + ErrnoText(errno));
  }
  SEALPKG_ASSIGN_OR_RETURN(internal::DirectoryLock lock, internal::DirectoryLock::Acquire(dir));
  TrustStore store(dir, std::make_shared<const TrustRoot>(std::move(doc.root)), TrustState{},
                   std::move(options));
  if (internal::PathExists(store.TrustPath()) || internal::PathExists(store.StatePath())) {
    return IoError(std::string(kTrustExists),
                   "'" + dir + "' already holds a trust store; use update/rotate");
  }
  store.state_.trust_version = store.root_->version;
  store.state_.trust_payload_sha256 = doc.payload_sha256;
  SEALPKG_RETURN_IF_ERROR(internal::WriteFileAtomic(store.TrustPath(), trust_json, 0644));
  const std::string state = SerializeTrustState(store.state_);
  SEALPKG_RETURN_IF_ERROR(internal::WriteFileAtomic(store.StatePath(), AsBytes(state), 0600));
  return store;
}

Result<TrustStore> TrustStore::Open(const std::string& dir, TrustOptions options) {
  const std::string trust_path = dir + "/" + std::string(kTrustFileName);
  const std::string state_path = dir + "/" + std::string(kStateFileName);
  auto state_bytes = internal::ReadFileBounded(state_path, options.limits.trust.max_state_bytes + 1,
                                               "trust.state-limit");
  if (!state_bytes.ok()) {
    if (state_bytes.status().reason() == "io.missing") {
      if (!internal::PathExists(trust_path)) {
        return IoError(std::string(kTrustNotInitialized),
                       "no trust store in '" + dir + "' (run `sealpkg trust init`)");
      }
      // security: without marks every rollback would be accepted: fail closed.
      return IoError(std::string(kTrustStateMissing),
                     "'" + state_path + "' is missing: rollback protection is lost");
    }
    if (state_bytes.status().code() == ErrorCode::kLimitExceeded) {
      return Malformed(std::string(kTrustStateCorrupt), "state.json is too large");
    }
    return state_bytes.status();
  }
  SEALPKG_ASSIGN_OR_RETURN(TrustState state, ParseTrustState(*state_bytes, options.limits.trust));
  auto trust_bytes = internal::ReadFileBounded(trust_path, options.limits.trust.max_trust_bytes,
                                               "trust.too-large");
  if (!trust_bytes.ok()) {
    if (trust_bytes.status().reason() == "io.missing") {
      return IoError(std::string(kTrustStateMismatch),
                     "'" + trust_path + "' is missing but state.json pins a trust root");
    }
    return trust_bytes.status();
  }
  SEALPKG_ASSIGN_OR_RETURN(ParsedTrust doc, ParseTrustBundle(*trust_bytes, options.limits));
  // security: trust.json must be exactly the document last accepted (the state pins its
  // version and payload digest): an older, validly signed root put back is a rollback.
  if (doc.root.version != state.trust_version || doc.payload_sha256 != state.trust_payload_sha256) {
    return SignatureInvalid(std::string(kTrustStateMismatch),
                            "trust.json (version " + std::to_string(doc.root.version) +
                                ") is not the trust root state.json pins (version " +
                                std::to_string(state.trust_version) + ")");
  }
  auto root = std::make_shared<const TrustRoot>(std::move(doc.root));
  // Its signatures were checked (with key validity) when it was accepted; re-check the
  // cryptography so a corrupted file is caught, without re-judging expiry.
  SEALPKG_RETURN_IF_ERROR(CheckRootThreshold(doc.envelope, root, 0, false, "own"));
  return TrustStore(dir, std::move(root), std::move(state), std::move(options));
}

Status TrustStore::Update(std::span<const uint8_t> trust_json) {
  SEALPKG_ASSIGN_OR_RETURN(internal::DirectoryLock lock, internal::DirectoryLock::Acquire(dir_));
  // Re-open under the lock: another process may have moved the store on.
  SEALPKG_ASSIGN_OR_RETURN(TrustStore current, Open(dir_, options_));
  SEALPKG_ASSIGN_OR_RETURN(TrustDocument doc, VerifyTrustDocument(trust_json, current.root_.get(),
                                                                  Now(), options_.limits));
  TrustState state = current.state_;
  state.trust_version = doc.root.version;
  state.trust_payload_sha256 = doc.payload_sha256;
  SEALPKG_RETURN_IF_ERROR(internal::WriteFileAtomic(TrustPath(), trust_json, 0644));
  const std::string text = SerializeTrustState(state);
  SEALPKG_RETURN_IF_ERROR(internal::WriteFileAtomic(StatePath(), AsBytes(text), 0600));
  root_ = std::make_shared<const TrustRoot>(std::move(doc.root));
  state_ = std::move(state);
  return OkStatus();
}

Result<RoleKeyResolver> TrustStore::ResolverFor(std::string_view role) const {
  const int64_t now = Now();
  // security: an expired root is frozen metadata (TUF): it vouches for nothing.
  if (now >= root_->expires) {
    return SignatureInvalid(std::string(kTrustExpired),
                            "the trust root expired at " + FormatUtcTime(root_->expires) +
                                " (re-sign it with `sealpkg trust` and the root keys)");
  }
  if (root_->FindRole(role) == nullptr) {
    return SignatureInvalid(std::string(kTrustWrongRole), "unknown role '" + Printable(role) + "'");
  }
  return RoleKeyResolver(root_, std::string(role), now);
}

Status TrustStore::CheckPolicyVersion(std::string_view name, int64_t version) const {
  auto it = state_.policies.find(std::string(name));
  if (it != state_.policies.end() && version < it->second) {
    return PolicyDenied(std::string(kTrustPolicyRollback),
                        "policy '" + Printable(name) + "' version " + std::to_string(version) +
                            " is older than version " + std::to_string(it->second) +
                            " already accepted (rollback)");
  }
  return OkStatus();
}

Status TrustStore::CheckPackageVersion(std::string_view name, int64_t version) const {
  auto it = state_.packages.find(std::string(name));
  if (it != state_.packages.end() && version < it->second) {
    return PolicyDenied(std::string(kTrustPackageRollback),
                        "package '" + Printable(name) + "' version " + std::to_string(version) +
                            " is older than version " + std::to_string(it->second) +
                            " already accepted (rollback)");
  }
  return OkStatus();
}

Status TrustStore::RecordPolicyVersion(const std::string& name, int64_t version) {
  return RecordMark(true, name, version);
}
Status TrustStore::RecordPackageVersion(const std::string& name, int64_t version) {
  return RecordMark(false, name, version);
}

Status TrustStore::RecordMark(bool policy, const std::string& name, int64_t version) {
  const auto& marks = policy ? state_.policies : state_.packages;
  if (auto it = marks.find(name); it != marks.end() && it->second >= version) return OkStatus();
  SEALPKG_ASSIGN_OR_RETURN(internal::DirectoryLock lock, internal::DirectoryLock::Acquire(dir_));
  auto bytes = internal::ReadFileBounded(StatePath(), options_.limits.trust.max_state_bytes + 1,
                                         "trust.state-limit");
  if (!bytes.ok()) {
    if (bytes.status().reason() == "io.missing") {
      return IoError(std::string(kTrustStateMissing), "'" + StatePath() + "' disappeared");
    }
    return bytes.status();
  }
  SEALPKG_ASSIGN_OR_RETURN(TrustState fresh, ParseTrustState(*bytes, options_.limits.trust));
  auto& fresh_marks = policy ? fresh.policies : fresh.packages;
  if (fresh_marks.size() >= options_.limits.trust.max_marks && fresh_marks.count(name) == 0) {
    return LimitExceeded("trust.marks-limit", "state.json already holds " +
                                                  std::to_string(options_.limits.trust.max_marks) +
                                                  " marks of this kind");
  }
  int64_t& mark = fresh_marks[name];
  if (version < mark) {
    // Another verifier accepted a newer version meanwhile: this one is now a rollback.
    state_ = std::move(fresh);
    return policy ? CheckPolicyVersion(name, version) : CheckPackageVersion(name, version);
  }
  mark = version;
  const std::string text = SerializeTrustState(fresh);
  SEALPKG_RETURN_IF_ERROR(internal::WriteFileAtomic(StatePath(), AsBytes(text), 0600));
  state_ = std::move(fresh);
  return OkStatus();
}

}  // namespace sealpkg::signing
