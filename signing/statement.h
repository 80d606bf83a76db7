// in-toto Statement v1 payloads: the generic envelope and the OMS v1.0 model-signing predicate.
//
// ParseInTotoStatement reads any Statement v1 strictly (exactly _type, subject, predicateType,
// predicate; subjects {name, digest: {sha256}, annotations?: {string: string}}) and hands back
// the predicate as a JsonValue: policy and trust documents use it with their own predicateType.
// ParseOmsStatement adds the OMS v1.0 rules for https://model_signing/signature/v1.0: exactly
// one subject whose digest is the root digest (SHA-256 over the raw resource digests in order),
// a predicate with only `resources` and `serialization` (additionalProperties: false), resources
// {name, algorithm: "sha256", digest, size?} with non-empty names strictly sorted by UTF-8 bytes
// (unique), serialization {method: "files", hash_type: "sha256", allow_symlinks, ignore_paths?}.
// Serialize* write the canonical compact form sealpkg signs. Pure; no I/O.
//
//   OmsStatement s;
//   s.subject.name = "mymodel";
//   s.resources = {{"mymodel/.data/version", digest, 2}};
//   std::string payload = SerializeOmsStatement(s);   // fills in the root digest
//   SEALPKG_ASSIGN_OR_RETURN(OmsStatement back, ParseOmsStatement(bytes, limits.signing));
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/sha256.h"
#include "core/status.h"
#include "signing/json.h"

namespace sealpkg::signing {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kOmsPredicateType = "https://model_signing/signature/v1.0";

struct Annotation {
  std::string key;
  std::string value;
};

struct Subject {
  std::string name;
  Sha256Digest sha256{};
  std::vector<Annotation> annotations;  // written only when non-empty, in this order

  const std::string* FindAnnotation(std::string_view key) const;
};

struct InTotoStatement {
  std::vector<Subject> subjects;
  std::string predicate_type;
  JsonValue predicate;  // an object
};

JsonValue InTotoStatementToJson(const InTotoStatement& statement);
// Reasons: "json.*", "statement.type", "statement.no-subject", "statement.digest" (anything but
// exactly one lower-hex sha256), "statement.annotation" (non-string value), kLimitExceeded
// "statement.subjects-limit" (more than max_signatures subjects: statements name few subjects).
Result<InTotoStatement> ParseInTotoStatement(std::span<const uint8_t> payload,
                                             const SigningLimits& limits);

struct Resource {
  std::string name;
  Sha256Digest digest{};
  std::optional<uint64_t> size;  // sealpkg always writes it; model_signing does not
};

struct OmsStatement {
  Subject subject;                        // subject.sha256 is the root digest
  std::vector<Resource> resources;        // sorted by name bytes, unique
  std::vector<std::string> ignore_paths;  // serialization.ignore_paths
  bool allow_symlinks = false;
};

// SHA-256 over the concatenated raw digests, in order (OMS "root digest"; it does not cover
// names: never use it as a package identity).
Sha256Digest OmsRootDigest(std::span<const Resource> resources);

// Canonical payload bytes. Sorts nothing and checks nothing: callers pass sorted resources. The
// subject digest written is OmsRootDigest(resources), whatever `statement.subject.sha256` holds.
std::string SerializeOmsStatement(const OmsStatement& statement);

// Reasons (kMalformed unless noted): those of ParseInTotoStatement, "statement.predicate-type",
// "statement.subject-count", "statement.resource" (bad name, algorithm, digest or size),
// "statement.unsorted" (not strictly increasing: also duplicates), "statement.serialization"
// (method other than "files", hash_type other than "sha256", bad ignore_paths),
// "statement.root-digest" (subject digest != OmsRootDigest), kLimitExceeded
// "statement.resources-limit".
Result<OmsStatement> ParseOmsStatement(std::span<const uint8_t> payload,
                                       const SigningLimits& limits);

}  // namespace sealpkg::signing
