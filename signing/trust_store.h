// The local trust store: which keys may sign packages and policies, and rollback state.
//
// A directory ($SEALPKG_HOME, default ~/.config/sealpkg) holding two files:
//
//   trust.json  a Sigstore bundle (bundle.h) whose DSSE payload is an in-toto Statement v1 with
//               predicateType https://sealpkg.dev/trust/v1, subject
//               {name: "sealpkg-trust-root", digest: {sha256: SHA-256 of the canonical predicate}}
//               and the predicate (a small TUF root, signing.md §2.7 / §6.5):
//                 {"version": N, "expires": "2027-01-01T00:00:00Z",
//                  "keys": {"<key id>": {"alg": "ecdsa-p256-sha256", "spki_der_b64": "...",
//                                        "not_before": "...", "not_after": "..."}},   (both
//                                        optional)
//                  "roles": {"root": {"keyids": [...], "threshold": 1},
//                            "package-signer": {...}, "policy-signer": {...}},
//                  "revoked": ["<key id>", ...]}
//   state.json  high-water marks (mode 0600, replaced atomically, never inside a package):
//                 {"format": 1, "trust": {"version": N, "payload_sha256": "<hex>"},
//                  "policies": {"<name>": version}, "packages": {"<name>": version}}
//
// Rules (TUF's root, with python-tuf's threshold bug avoided):
// - The first root is pinned out of band: Initialize() accepts a self-signed root (a threshold
//   of its own root keys) into an empty directory and writes state.json.
// - Open() fails closed: state.json missing or corrupt, trust.json not the exact document the
//   state pins (same version and payload SHA-256), or its own root signatures not verifying.
// - Update() accepts only version N+1, signed by a threshold of the OLD root's usable keys AND a
//   threshold of the NEW root's usable keys, not expired. Skipping versions is refused.
// - Thresholds count DISTINCT key ids that verified (one key signing twice counts once; a key id
//   must be the SHA-256 of its own SPKI, so one key cannot appear under two ids; a role listing
//   an id twice is malformed).
// - A key is usable for a role now when it is listed in the role, not revoked, and inside
//   [not_before, not_after) by the injectable clock. An expired trust root verifies nothing.
// - Policy and package versions below their recorded marks are refused (rollback); accepted
//   higher versions raise the marks (state.json rewritten under a directory lock).
//
// The root private keys never live in the store: every mutation (`sealpkg trust add|revoke|
// rotate`) builds the next root, signs it with key files the caller names, and goes through
// Update() like any other N+1 document.
//
//   SEALPKG_ASSIGN_OR_RETURN(TrustStore store, TrustStore::Open(TrustStore::DefaultDirectory()));
//   SEALPKG_ASSIGN_OR_RETURN(RoleKeyResolver signers, store.ResolverFor(kRolePackageSigner));
//   ... VerifyEmbedded(bytes, signers) ...
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "signing/dsse.h"
#include "signing/keys.h"

namespace sealpkg::signing {

inline constexpr std::string_view kTrustPredicateType = "https://sealpkg.dev/trust/v1";
inline constexpr std::string_view kTrustSubjectName = "sealpkg-trust-root";
inline constexpr std::string_view kTrustFileName = "trust.json";
inline constexpr std::string_view kStateFileName = "state.json";

inline constexpr std::string_view kRoleRoot = "root";
inline constexpr std::string_view kRolePackageSigner = "package-signer";
inline constexpr std::string_view kRolePolicySigner = "policy-signer";

// Stable reasons (Status::reason()). Key checks are kSignatureInvalid, state problems kIo or
// kMalformed as noted, rollback kPolicyDenied.
inline constexpr std::string_view kTrustMalformed = "trust.malformed";  // kMalformed
inline constexpr std::string_view kTrustPredicateTypeReason = "trust.predicate-type";
inline constexpr std::string_view kTrustThreshold = "trust.threshold";
inline constexpr std::string_view kTrustVersion = "trust.version";  // not N+1 / rollback
inline constexpr std::string_view kTrustExpired = "trust.expired";  // the root itself
inline constexpr std::string_view kTrustUnknownKey = "trust.unknown-key";
inline constexpr std::string_view kTrustWrongRole = "trust.wrong-role";
inline constexpr std::string_view kTrustRevoked = "trust.revoked-key";
inline constexpr std::string_view kTrustKeyExpired = "trust.key-expired";
inline constexpr std::string_view kTrustKeyNotYetValid = "trust.key-not-yet-valid";
inline constexpr std::string_view kTrustStateMissing = "trust.state-missing";  // kIo
inline constexpr std::string_view kTrustStateCorrupt = "trust.state-corrupt";  // kMalformed
inline constexpr std::string_view kTrustStateMismatch = "trust.state-mismatch";
inline constexpr std::string_view kTrustNotInitialized = "trust.not-initialized";  // kIo
inline constexpr std::string_view kTrustExists = "trust.exists";                   // kIo
inline constexpr std::string_view kTrustPolicyRollback = "trust.policy-rollback";
inline constexpr std::string_view kTrustPackageRollback = "trust.package-rollback";

struct TrustKeyRecord {
  std::string key_id;  // hex SHA-256 of the DER SPKI (checked)
  PublicKey key;
  KeyAlgorithm algorithm;             // the algorithm this store trusts for the key
  std::optional<int64_t> not_before;  // Unix seconds
  std::optional<int64_t> not_after;
};

struct TrustRole {
  std::vector<std::string> key_ids;  // unique
  // 1 <= threshold <= key_ids.size(); a signer role may be empty (threshold 1): it then
  // verifies nothing. The root role never is.
  uint32_t threshold = 1;
};

// The trust root predicate.
struct TrustRoot {
  int64_t version = 1;
  int64_t expires = 0;                     // Unix seconds
  std::vector<TrustKeyRecord> keys;        // sorted by key id, unique
  std::map<std::string, TrustRole> roles;  // exactly root, package-signer, policy-signer
  std::vector<std::string> revoked;        // sorted, unique

  const TrustKeyRecord* FindKey(std::string_view key_id) const;
  bool IsRevoked(std::string_view key_id) const;
  const TrustRole* FindRole(std::string_view role) const;
  // Adds (or replaces) a key record; keeps `keys` sorted.
  void PutKey(TrustKeyRecord record);
};

// Times in trust roots and policies: exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC), Unix seconds.
// kMalformed "time.format" otherwise.
Result<int64_t> ParseTrustTime(std::string_view text);
std::string FormatTrustTime(int64_t seconds);
int64_t SystemTrustNow();

// Why a key cannot sign for `role` at `now` (OK if it can).
Status CheckKeyUsable(const TrustRoot& root, std::string_view key_id, std::string_view role,
                      int64_t now);

// Canonical predicate JSON and its strict reading (kMalformed "trust.malformed" with the JSON
// path: unknown members, key id != SHA-256 of the SPKI, unknown algorithm or one that differs
// from the key's type, duplicate ids in a role, a role keyid with no key record, threshold 0 or
// above the role size, missing or extra roles, non-positive version, bad times; kLimitExceeded
// "trust.keys-limit" / "trust.revoked-limit").
JsonValue TrustRootToJson(const TrustRoot& root);
Result<TrustRoot> TrustRootFromJson(const JsonValue& predicate, const TrustLimits& limits);

// The trust.json bytes for `root`, signed by every key in `keys` (canonical bundle JSON).
Result<std::string> SignTrustRoot(const TrustRoot& root, std::span<const PrivateKey* const> keys);

// A parsed, signature-checked trust document.
struct TrustDocument {
  TrustRoot root;
  std::string payload_sha256;  // hex SHA-256 of the DSSE payload bytes
};

// Checks a trust.json: canonical bundle bytes, payloadType, statement, predicateType, subject,
// predicate; then the signatures. With `previous` == nullptr (initial pin) a threshold of the
// document's own usable root keys must have signed. With `previous`, the version must be exactly
// previous.version + 1 and both a threshold of the previous root's usable keys and one of the new
// root's usable keys must have signed. The new root must not be expired at `now`.
Result<TrustDocument> VerifyTrustDocument(std::span<const uint8_t> bundle_json,
                                          const TrustRoot* previous, int64_t now,
                                          const Limits& limits = {});

// KeyResolver over the usable keys of one role. Every refused lookup is remembered (key id and
// the Status saying why: unknown, wrong role, revoked, expired) so reports can name the key.
class RoleKeyResolver : public KeyResolver {
 public:
  // `check_validity` false ignores revocation and validity times (only for re-checking the
  // signatures of a document the state file already pins).
  RoleKeyResolver(std::shared_ptr<const TrustRoot> root, std::string role, int64_t now,
                  bool check_validity = true);
  std::optional<TrustedKey> FindByKeyId(std::string_view key_id) const override;
  std::optional<TrustedKey> FindByOmsHint(std::string_view hint) const override;

  const std::string& role() const { return role_; }
  uint32_t threshold() const;
  struct Refusal {
    std::string key_id;  // or the hint when looked up by hint
    Status why;
  };
  const std::vector<Refusal>& refusals() const { return refusals_; }
  // The first refusal for `key_id` (or the first refusal when `key_id` is empty), if any.
  std::optional<Status> RefusalFor(std::string_view key_id) const;

 private:
  std::shared_ptr<const TrustRoot> root_;
  std::string role_;
  int64_t now_;
  bool check_validity_;
  mutable std::vector<Refusal> refusals_;
};

struct TrustOptions {
  // The clock trust decisions use (Unix seconds). Tests inject a fixed time.
  std::function<int64_t()> now;
  Limits limits;
};

// The high-water marks of state.json.
struct TrustState {
  int64_t trust_version = 0;
  std::string trust_payload_sha256;
  std::map<std::string, int64_t> policies;
  std::map<std::string, int64_t> packages;
};

std::string SerializeTrustState(const TrustState& state);
// kMalformed "trust.state-corrupt" for anything but the exact schema.
Result<TrustState> ParseTrustState(std::span<const uint8_t> json, const TrustLimits& limits);

class TrustStore {
 public:
  // $SEALPKG_HOME, else $HOME/.config/sealpkg.
  static std::string DefaultDirectory();

  // Pins `trust_json` (a self-signed root, see VerifyTrustDocument) in `dir` (created 0700 if
  // missing). kIo "trust.exists" if the directory already holds a trust.json or state.json.
  static Result<TrustStore> Initialize(const std::string& dir, std::span<const uint8_t> trust_json,
                                       TrustOptions options = {});
  // Opens an initialized store, failing closed (see the header comment).
  static Result<TrustStore> Open(const std::string& dir, TrustOptions options = {});

  const std::string& directory() const { return dir_; }
  const TrustRoot& root() const { return *root_; }
  const TrustState& state() const { return state_; }
  int64_t Now() const;

  // Accepts the N+1 document `trust_json` (see VerifyTrustDocument) and replaces trust.json and
  // the state's trust mark.
  Status Update(std::span<const uint8_t> trust_json);

  // Resolver for `role`'s usable keys. kSignatureInvalid "trust.expired" if the root has expired.
  Result<RoleKeyResolver> ResolverFor(std::string_view role) const;

  // Rollback marks. Check* refuse a version below the mark (kPolicyDenied "trust.*-rollback");
  // Record* raise the mark to `version` if higher (re-reading state.json under a lock, so
  // concurrent verifiers only ever raise marks).
  Status CheckPolicyVersion(std::string_view name, int64_t version) const;
  Status RecordPolicyVersion(const std::string& name, int64_t version);
  Status CheckPackageVersion(std::string_view name, int64_t version) const;
  Status RecordPackageVersion(const std::string& name, int64_t version);

 private:
  TrustStore(std::string dir, std::shared_ptr<const TrustRoot> root, TrustState state,
             TrustOptions options)
      : dir_(std::move(dir)),
        root_(std::move(root)),
        state_(std::move(state)),
        options_(std::move(options)) {}
  std::string TrustPath() const;
  std::string StatePath() const;
  Status RecordMark(bool policy, const std::string& name, int64_t version);

  std::string dir_;
  std::shared_ptr<const TrustRoot> root_;
  TrustState state_;
  TrustOptions options_;
};

}  // namespace sealpkg::signing
