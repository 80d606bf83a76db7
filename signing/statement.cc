#include "signing/statement.h"

#include "core/printable.h"
#include "signing/hashing.h"

namespace sealpkg::signing {
namespace {

Status Bad(std::string reason, const std::string& path, std::string_view what) {
  return Malformed(std::move(reason), path + ": " + std::string(what));
}

Result<Sha256Digest> ParseSha256Object(JsonFields& parent, std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(JsonFields digest, parent.Object(key));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view hex, digest.String("sha256"));
  if (!digest.NoOtherKeys().ok()) {
    return Bad("statement.digest", digest.path(), "only a 'sha256' digest is accepted");
  }
  Sha256Digest out{};
  if (!ParseHexDigest(hex, out)) {
    return Bad("statement.digest", digest.PathOf("sha256"), "expected 64 lower-case hex digits");
  }
  return out;
}

}  // namespace

const std::string* Subject::FindAnnotation(std::string_view key) const {
  for (const Annotation& a : annotations) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

JsonValue InTotoStatementToJson(const InTotoStatement& statement) {
  JsonValue o = JsonValue::Object();
  o.Set("_type", JsonValue::String(std::string(kStatementType)));
  JsonValue& subjects = o.Set("subject", JsonValue::Array());
  for (const Subject& s : statement.subjects) {
    JsonValue& so = subjects.Append(JsonValue::Object());
    so.Set("name", JsonValue::String(s.name));
    so.Set("digest", JsonValue::Object()).Set("sha256", JsonValue::String(HexEncode(s.sha256)));
    if (!s.annotations.empty()) {
      JsonValue& ann = so.Set("annotations", JsonValue::Object());
      for (const Annotation& a : s.annotations) ann.Set(a.key, JsonValue::String(a.value));
    }
  }
  o.Set("predicateType", JsonValue::String(statement.predicate_type));
  o.Set("predicate", statement.predicate);
  return o;
}

Result<InTotoStatement> ParseInTotoStatement(std::span<const uint8_t> payload,
                                             const SigningLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(payload, limits));
  SEALPKG_ASSIGN_OR_RETURN(JsonFields top, JsonFields::Of(doc, "$"));
  SEALPKG_ASSIGN_OR_RETURN(std::string_view type, top.String("_type"));
  if (type != kStatementType) {
    return Bad("statement.type", top.PathOf("_type"),
               "expected '" + std::string(kStatementType) + "'");
  }
  InTotoStatement out;
  SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> subjects, top.Array("subject"));
  if (subjects.empty()) return Bad("statement.no-subject", top.PathOf("subject"), "no subject");
  if (subjects.size() > limits.max_signatures) {
    return LimitExceeded("statement.subjects-limit", top.PathOf("subject") + ": more than " +
                                                         std::to_string(limits.max_signatures) +
                                                         " subjects");
  }
  for (size_t i = 0; i < subjects.size(); ++i) {
    SEALPKG_ASSIGN_OR_RETURN(
        JsonFields sf, JsonFields::Of(subjects[i], JsonFields::Index(top.PathOf("subject"), i)));
    Subject s;
    SEALPKG_ASSIGN_OR_RETURN(std::string_view name, sf.String("name"));
    s.name = std::string(name);
    SEALPKG_ASSIGN_OR_RETURN(s.sha256, ParseSha256Object(sf, "digest"));
    if (sf.Has("annotations")) {
      SEALPKG_ASSIGN_OR_RETURN(JsonFields ann, sf.Object("annotations"));
      SEALPKG_ASSIGN_OR_RETURN(const JsonValue* raw, sf.Value("annotations"));
      for (const JsonMember& m : raw->members()) {
        if (!m.value.is_string()) {
          return Bad("statement.annotation", ann.PathOf(m.key), "annotation values are strings");
        }
        s.annotations.push_back(Annotation{m.key, m.value.string_value()});
      }
    }
    SEALPKG_RETURN_IF_ERROR(sf.NoOtherKeys());
    out.subjects.push_back(std::move(s));
  }
  SEALPKG_ASSIGN_OR_RETURN(std::string_view predicate_type, top.String("predicateType"));
  out.predicate_type = std::string(predicate_type);
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* predicate, top.Value("predicate"));
  if (!predicate->is_object()) {
    return JsonSchemaError(top.PathOf("predicate"), "expected an object");
  }
  SEALPKG_RETURN_IF_ERROR(top.NoOtherKeys());
  out.predicate = *predicate;
  return out;
}

Sha256Digest OmsRootDigest(std::span<const Resource> resources) {
  Sha256Hasher h;
  for (const Resource& r : resources) h.Update(r.digest);
  return h.Final();
}

std::string SerializeOmsStatement(const OmsStatement& statement) {
  InTotoStatement st;
  Subject subject = statement.subject;
  subject.sha256 = OmsRootDigest(statement.resources);
  st.subjects.push_back(std::move(subject));
  st.predicate_type = std::string(kOmsPredicateType);
  st.predicate = JsonValue::Object();
  JsonValue& resources = st.predicate.Set("resources", JsonValue::Array());
  for (const Resource& r : statement.resources) {
    JsonValue& ro = resources.Append(JsonValue::Object());
    ro.Set("name", JsonValue::String(r.name));
    ro.Set("algorithm", JsonValue::String("sha256"));
    ro.Set("digest", JsonValue::String(HexEncode(r.digest)));
    if (r.size) ro.Set("size", JsonValue::Integer(static_cast<int64_t>(*r.size)));
  }
  JsonValue& ser = st.predicate.Set("serialization", JsonValue::Object());
  ser.Set("method", JsonValue::String("files"));
  ser.Set("hash_type", JsonValue::String("sha256"));
  ser.Set("allow_symlinks", JsonValue::Bool(statement.allow_symlinks));
  JsonValue& ignore = ser.Set("ignore_paths", JsonValue::Array());
  for (const std::string& p : statement.ignore_paths) ignore.Append(JsonValue::String(p));
  return SerializeJson(InTotoStatementToJson(st));
}

Result<OmsStatement> ParseOmsStatement(std::span<const uint8_t> payload,
                                       const SigningLimits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(InTotoStatement st, ParseInTotoStatement(payload, limits));
  if (st.predicate_type != kOmsPredicateType) {
    return Bad("statement.predicate-type", "$.predicateType",
               "'" + Printable(st.predicate_type) + "' is not " + std::string(kOmsPredicateType));
  }
  if (st.subjects.size() != 1) {
    return Bad("statement.subject-count", "$.subject", "OMS statements have exactly one subject");
  }
  OmsStatement out;
  out.subject = std::move(st.subjects.front());
  SEALPKG_ASSIGN_OR_RETURN(JsonFields pred, JsonFields::Of(st.predicate, "$.predicate"));
  SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> resources, pred.Array("resources"));
  SEALPKG_ASSIGN_OR_RETURN(JsonFields ser, pred.Object("serialization"));
  // OMS: the predicate has additionalProperties: false.
  SEALPKG_RETURN_IF_ERROR(pred.NoOtherKeys());

  SEALPKG_ASSIGN_OR_RETURN(std::string_view method, ser.String("method"));
  if (method != "files") {
    return Bad("statement.serialization", ser.PathOf("method"),
               "only the 'files' method is supported");
  }
  SEALPKG_ASSIGN_OR_RETURN(std::string_view hash_type, ser.String("hash_type"));
  if (hash_type != "sha256") {
    return Bad("statement.serialization", ser.PathOf("hash_type"), "only sha256 is supported");
  }
  SEALPKG_ASSIGN_OR_RETURN(out.allow_symlinks, ser.Bool("allow_symlinks"));
  if (ser.Has("ignore_paths")) {
    SEALPKG_ASSIGN_OR_RETURN(std::span<const JsonValue> ignore, ser.Array("ignore_paths"));
    if (ignore.size() > limits.max_resources) {
      return LimitExceeded("statement.resources-limit", ser.PathOf("ignore_paths") + ": too many");
    }
    for (size_t i = 0; i < ignore.size(); ++i) {
      if (!ignore[i].is_string() || ignore[i].string_value().empty()) {
        return Bad("statement.serialization", JsonFields::Index(ser.PathOf("ignore_paths"), i),
                   "expected a non-empty path");
      }
      out.ignore_paths.push_back(ignore[i].string_value());
    }
  }
  SEALPKG_RETURN_IF_ERROR(ser.NoOtherKeys());

  if (resources.size() > limits.max_resources) {
    return LimitExceeded("statement.resources-limit", pred.PathOf("resources") + ": more than " +
                                                          std::to_string(limits.max_resources) +
                                                          " resources");
  }
  out.resources.reserve(resources.size());
  for (size_t i = 0; i < resources.size(); ++i) {
    const std::string path = JsonFields::Index(pred.PathOf("resources"), i);
    SEALPKG_ASSIGN_OR_RETURN(JsonFields rf, JsonFields::Of(resources[i], path));
    Resource r;
    SEALPKG_ASSIGN_OR_RETURN(std::string_view name, rf.String("name"));
    if (name.empty()) return Bad("statement.resource", rf.PathOf("name"), "empty name");
    r.name = std::string(name);
    SEALPKG_ASSIGN_OR_RETURN(std::string_view algorithm, rf.String("algorithm"));
    if (algorithm != "sha256") {
      return Bad("statement.resource", rf.PathOf("algorithm"), "only sha256 is supported");
    }
    SEALPKG_ASSIGN_OR_RETURN(std::string_view digest, rf.String("digest"));
    if (!ParseHexDigest(digest, r.digest)) {
      return Bad("statement.resource", rf.PathOf("digest"), "expected 64 lower-case hex digits");
    }
    SEALPKG_ASSIGN_OR_RETURN(std::optional<int64_t> size, rf.OptionalInteger("size"));
    if (size) {
      if (*size < 0) return Bad("statement.resource", rf.PathOf("size"), "negative size");
      r.size = static_cast<uint64_t>(*size);
    }
    SEALPKG_RETURN_IF_ERROR(rf.NoOtherKeys());
    // security: one order, no duplicates: a verifier must never pick one of two entries.
    if (!out.resources.empty() && !(out.resources.back().name < r.name)) {
      return Bad("statement.unsorted", rf.PathOf("name"),
                 "resources must be strictly sorted by name bytes (no duplicates)");
    }
    out.resources.push_back(std::move(r));
  }
  if (!DigestEqual(OmsRootDigest(out.resources), out.subject.sha256)) {
    return Bad("statement.root-digest", "$.subject[0].digest.sha256",
               "does not match the root digest of the resources");
  }
  return out;
}

}  // namespace sealpkg::signing
