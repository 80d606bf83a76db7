// Strict JSON for signed documents (Sigstore bundles, DSSE envelopes, in-toto statements).
//
// ParseJson() accepts exactly one RFC 8259 value and nothing a second parser could read
// differently: the whole input must be valid UTF-8, object keys are unique, there is no trailing
// data, numbers are integers in the I-JSON safe range (|n| <= 2^53 - 1, no fraction, exponent or
// "-0"), strings hold no NUL and no unpaired surrogate escapes. Size, nesting, value count,
// members per container and string length are bounded by SigningLimits and checked before the
// work they bound. The parser is pure and iterative (explicit stack, no recursion).
//
// SerializeJson() writes the canonical compact form sealpkg signs and compares against: no
// whitespace, members in insertion order, minimal escapes (\" \\ \b \f \n \r \t, \u00xx for
// other controls), everything else as raw UTF-8.
//
// JsonFields reads an object against a schema: typed accessors return a Status whose message
// starts with the JSON path ("$.predicate.resources[3].digest: expected a string"), and
// NoOtherKeys() rejects members the schema does not name.
//
//   SEALPKG_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(text, limits.signing));
//   SEALPKG_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(doc, "$"));
//   SEALPKG_ASSIGN_OR_RETURN(std::string_view type, f.String("payloadType"));
//   SEALPKG_RETURN_IF_ERROR(f.NoOtherKeys());
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::signing {

struct JsonMember;

// The implicit copy and assignment of this tree recurse over its nesting (misc-no-recursion):
// bounded, since the parser (iterative) caps nesting at SigningLimits::max_json_depth and the
// builders write fixed shallow schemas.
class JsonValue {  // NOLINT(misc-no-recursion)
 public:
  enum class Type : uint8_t { kNull, kBool, kInteger, kString, kArray, kObject };

  JsonValue() = default;  // null
  static JsonValue Bool(bool v);
  static JsonValue Integer(int64_t v);
  static JsonValue String(std::string v);
  static JsonValue Array();
  static JsonValue Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_integer() const { return type_ == Type::kInteger; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Preconditions: the matching type (otherwise a neutral value is returned).
  bool bool_value() const { return bool_; }
  int64_t integer_value() const { return integer_; }
  const std::string& string_value() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<JsonMember>& members() const { return members_; }

  // Object member by key, or nullptr (also for non-objects).
  const JsonValue* Find(std::string_view key) const;

  // Building (no duplicate check: callers build fixed schemas).
  JsonValue& Append(JsonValue v);                // arrays
  JsonValue& Set(std::string key, JsonValue v);  // objects: appends a member

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t integer_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<JsonMember> members_;
};

struct JsonMember {  // NOLINT(misc-no-recursion): see JsonValue
  std::string key;
  JsonValue value;
};

// Largest integer magnitude accepted: 2^53 - 1, exact in every JSON implementation (I-JSON).
inline constexpr int64_t kMaxJsonInteger = (int64_t{1} << 53) - 1;

// Parses one document. Rejections are kMalformed "json.*" (syntax, UTF-8, duplicate key,
// trailing data, number form) or kLimitExceeded "json.*-limit", with the byte offset.
Result<JsonValue> ParseJson(std::span<const uint8_t> text, const SigningLimits& limits);
Result<JsonValue> ParseJson(std::string_view text, const SigningLimits& limits);

// Canonical compact serialization (see the header comment).
std::string SerializeJson(const JsonValue& value);

// Typed, path-aware access to one JSON object. Keeps a pointer to the value: the value must
// outlive the JsonFields. Schema errors are kMalformed "json.schema" with the path in the
// message; unknown members are kMalformed "json.unknown-key".
class JsonFields {
 public:
  static Result<JsonFields> Of(const JsonValue& value, std::string path);

  const std::string& path() const { return path_; }
  bool Has(std::string_view key) const { return value_->Find(key) != nullptr; }

  Result<std::string_view> String(std::string_view key);
  Result<std::optional<std::string_view>> OptionalString(std::string_view key);
  Result<int64_t> Integer(std::string_view key);
  Result<std::optional<int64_t>> OptionalInteger(std::string_view key);
  Result<bool> Bool(std::string_view key);
  Result<JsonFields> Object(std::string_view key);
  Result<std::span<const JsonValue>> Array(std::string_view key);
  // The raw member (any type), or an error when absent.
  Result<const JsonValue*> Value(std::string_view key);

  // Every member not read through an accessor above (or named in `also_allowed`) is an error.
  Status NoOtherKeys(std::span<const std::string_view> also_allowed = {}) const;

  // "path.key" and "path[i]" builders for nested error messages.
  std::string PathOf(std::string_view key) const;
  static std::string Index(const std::string& path, size_t i);

 private:
  JsonFields(const JsonValue* value, std::string path) : value_(value), path_(std::move(path)) {}
  Result<const JsonValue*> Get(std::string_view key, JsonValue::Type type, const char* what);
  const JsonValue* value_;
  std::string path_;
  std::vector<std::string> used_;
};

// A kMalformed "json.schema" error for `path` ("<path>: <what>").
Status JsonSchemaError(const std::string& path, std::string_view what);

}  // namespace sealpkg::signing
