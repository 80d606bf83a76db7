#include "signing/json.h"

#include <algorithm>
#include <cstdio>

#include "core/printable.h"

namespace sealpkg::signing {
namespace {

std::string Num(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

JsonValue JsonValue::Bool(bool v) {
  JsonValue out;
  out.type_ = Type::kBool;
  out.bool_ = v;
  return out;
}
JsonValue JsonValue::Integer(int64_t v) {
  JsonValue out;
  out.type_ = Type::kInteger;
  out.integer_ = v;
  return out;
}
JsonValue JsonValue::String(std::string v) {
  JsonValue out;
  out.type_ = Type::kString;
  out.string_ = std::move(v);
  return out;
}
JsonValue JsonValue::Array() {
  JsonValue out;
  out.type_ = Type::kArray;
  return out;
}
JsonValue JsonValue::Object() {
  JsonValue out;
  out.type_ = Type::kObject;
  return out;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const JsonMember& m : members_) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

JsonValue& JsonValue::Append(JsonValue v) {
  items_.push_back(std::move(v));
  return items_.back();
}

JsonValue& JsonValue::Set(std::string key, JsonValue v) {
  members_.push_back(JsonMember{std::move(key), std::move(v)});
  return members_.back().value;
}

// The parser: one pass over validated UTF-8, an explicit stack of open containers.
class JsonParser {
 public:
  JsonParser(std::string_view text, const SigningLimits& limits) : s_(text), limits_(limits) {}

  Result<JsonValue> Parse() {
    if (s_.size() > limits_.max_json_bytes) {
      return LimitExceeded(
          "json.size-limit",
          "document is " + Num(s_.size()) + " bytes; the limit is " + Num(limits_.max_json_bytes));
    }
    // security: one encoding only; a second parser must not see different text.
    if (!IsValidUtf8(s_)) return Bad("json.not-utf8", "document is not valid UTF-8", 0);
    JsonValue root;
    SEALPKG_RETURN_IF_ERROR(ParseDocument(root));
    return root;
  }

 private:
  struct Frame {
    JsonValue* container;
  };

  Status Bad(std::string reason, std::string message, uint64_t offset) const {
    return Malformed(std::move(reason), std::move(message)).WithOffset(offset);
  }

  void SkipWs() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  Status CountValue() {
    if (++values_ > limits_.max_json_values) {
      return LimitExceeded("json.values-limit",
                           "document has more than " + Num(limits_.max_json_values) + " values")
          .WithOffset(i_);
    }
    return OkStatus();
  }

  Status ParseDocument(JsonValue& root) {
    std::vector<Frame> stack;
    bool have_root = false;
    while (true) {
      SkipWs();
      if (have_root && stack.empty()) break;
      if (i_ >= s_.size()) return Bad("json.truncated", "document ends early", i_);
      JsonValue* slot = nullptr;
      if (!stack.empty()) {
        Frame& top = stack.back();
        JsonValue& c = *top.container;
        const char ch = s_[i_];
        if (c.type_ == JsonValue::Type::kArray) {
          if (ch == ']' && c.items_.empty()) {
            ++i_;
            stack.pop_back();
            SEALPKG_RETURN_IF_ERROR(AfterValue(stack));
            continue;
          }
          if (c.items_.size() >= limits_.max_json_members) {
            return LimitExceeded("json.members-limit",
                                 "array has more than " + Num(limits_.max_json_members) + " items")
                .WithOffset(i_);
          }
          c.items_.emplace_back();
          slot = &c.items_.back();
        } else {
          if (ch == '}' && c.members_.empty()) {
            ++i_;
            stack.pop_back();
            SEALPKG_RETURN_IF_ERROR(AfterValue(stack));
            continue;
          }
          if (ch != '"') return Bad("json.syntax", "expected a member name", i_);
          if (c.members_.size() >= limits_.max_json_members) {
            return LimitExceeded(
                       "json.members-limit",
                       "object has more than " + Num(limits_.max_json_members) + " members")
                .WithOffset(i_);
          }
          const uint64_t key_at = i_;
          std::string key;
          SEALPKG_RETURN_IF_ERROR(ParseString(key));
          // security: duplicate keys are read as the first or the last copy by different
          // parsers (the JSON "Master Key"); refuse them.
          for (const JsonMember& m : c.members_) {
            if (m.key == key) {
              return Bad("json.duplicate-key", "member '" + Printable(key) + "' appears twice",
                         key_at);
            }
          }
          SkipWs();
          if (i_ >= s_.size() || s_[i_] != ':') return Bad("json.syntax", "expected ':'", i_);
          ++i_;
          SkipWs();
          c.members_.push_back(JsonMember{std::move(key), JsonValue()});
          slot = &c.members_.back().value;
        }
      } else {
        slot = &root;
        have_root = true;
      }
      if (i_ >= s_.size()) return Bad("json.truncated", "document ends early", i_);
      SEALPKG_RETURN_IF_ERROR(CountValue());
      const char ch = s_[i_];
      if (ch == '{' || ch == '[') {
        if (stack.size() >= limits_.max_json_depth) {
          return LimitExceeded("json.depth-limit",
                               "nesting deeper than " + Num(limits_.max_json_depth) + " levels")
              .WithOffset(i_);
        }
        ++i_;
        slot->type_ = ch == '{' ? JsonValue::Type::kObject : JsonValue::Type::kArray;
        stack.push_back(Frame{slot});
        continue;
      }
      SEALPKG_RETURN_IF_ERROR(ParseScalar(*slot));
      SEALPKG_RETURN_IF_ERROR(AfterValue(stack));
    }
    if (i_ != s_.size()) return Bad("json.trailing-data", "data after the document", i_);
    return OkStatus();
  }

  // After a complete value: closes every container that ends here, then expects ',' before the
  // next value (or nothing, at the top level).
  Status AfterValue(std::vector<Frame>& stack) {
    while (!stack.empty()) {
      SkipWs();
      if (i_ >= s_.size()) return Bad("json.truncated", "document ends early", i_);
      const bool array = stack.back().container->type_ == JsonValue::Type::kArray;
      if (s_[i_] == ',') {
        ++i_;
        SkipWs();
        if (i_ < s_.size() && (s_[i_] == ']' || s_[i_] == '}')) {
          return Bad("json.syntax", "trailing comma", i_);
        }
        return OkStatus();
      }
      if (s_[i_] != (array ? ']' : '}')) {
        return Bad("json.syntax", array ? "expected ',' or ']'" : "expected ',' or '}'", i_);
      }
      ++i_;
      stack.pop_back();
    }
    return OkStatus();
  }

  Status ParseScalar(JsonValue& out) {
    const char ch = s_[i_];
    if (ch == '"') {
      out.type_ = JsonValue::Type::kString;
      return ParseString(out.string_);
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) return ParseInteger(out);
    for (const auto& [word, type, value] : {std::tuple{"true", JsonValue::Type::kBool, true},
                                            std::tuple{"false", JsonValue::Type::kBool, false},
                                            std::tuple{"null", JsonValue::Type::kNull, false}}) {
      const std::string_view w(word);
      if (s_.substr(i_, w.size()) == w) {
        i_ += w.size();
        out.type_ = type;
        out.bool_ = value;
        return OkStatus();
      }
    }
    return Bad("json.syntax", "unexpected character", i_);
  }

  Status ParseInteger(JsonValue& out) {
    const uint64_t start = i_;
    const bool negative = s_[i_] == '-';
    if (negative) ++i_;
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') {
      return Bad("json.syntax", "'-' without digits", start);
    }
    uint64_t magnitude = 0;
    const uint64_t digits_at = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      magnitude = magnitude * 10 + static_cast<uint64_t>(s_[i_] - '0');
      ++i_;
      if (magnitude > static_cast<uint64_t>(kMaxJsonInteger)) {
        return Bad("json.integer-range", "integer beyond +-(2^53 - 1)", start);
      }
    }
    if (s_[digits_at] == '0' && i_ - digits_at > 1) {
      return Bad("json.syntax", "integer with a leading zero", start);
    }
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
      return Bad("json.not-integer", "only integers are accepted (no fraction or exponent)", start);
    }
    if (negative && magnitude == 0)
      return Bad("json.not-integer", "\"-0\" is not canonical", start);
    out.type_ = JsonValue::Type::kInteger;
    out.integer_ = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    return OkStatus();
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Status ReadHex4(uint32_t& out) {
    if (s_.size() - i_ < 4) return Bad("json.bad-escape", "truncated \\u escape", i_);
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = HexValue(s_[i_ + k]);
      if (h < 0) return Bad("json.bad-escape", "bad hex digit in \\u escape", i_);
      out = out * 16 + static_cast<uint32_t>(h);
    }
    i_ += 4;
    return OkStatus();
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Status ParseString(std::string& out) {
    const uint64_t start = i_;
    ++i_;  // opening quote
    out.clear();
    while (true) {
      if (i_ >= s_.size()) return Bad("json.truncated", "unterminated string", start);
      if (out.size() > limits_.max_json_string_bytes) {
        return LimitExceeded("json.string-limit",
                             "string longer than " + Num(limits_.max_json_string_bytes) + " bytes")
            .WithOffset(start);
      }
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Bad("json.control-char", "raw control character in a string", i_);
      }
      if (c != '\\') {
        // Copy the run of plain bytes at once (input is already valid UTF-8).
        const size_t end = s_.find_first_of(std::string_view("\"\\\0", 3), i_);
        size_t stop = end == std::string_view::npos ? s_.size() : end;
        size_t j = i_;
        while (j < stop && static_cast<unsigned char>(s_[j]) >= 0x20) ++j;
        out.append(s_.substr(i_, j - i_));
        i_ = j;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) return Bad("json.truncated", "unterminated escape", start);
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          SEALPKG_RETURN_IF_ERROR(ReadHex4(cp));
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Bad("json.bad-escape", "unpaired low surrogate escape", i_ - 6);
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.size() - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
              return Bad("json.bad-escape", "unpaired high surrogate escape", i_ - 6);
            }
            i_ += 2;
            uint32_t lo = 0;
            SEALPKG_RETURN_IF_ERROR(ReadHex4(lo));
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return Bad("json.bad-escape", "unpaired high surrogate escape", i_ - 12);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          // security: NUL truncates names in C APIs; no signed document needs it.
          if (cp == 0) return Bad("json.nul-in-string", "\\u0000 in a string", i_ - 6);
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Bad("json.bad-escape", "unknown escape", i_ - 2);
      }
    }
    if (out.size() > limits_.max_json_string_bytes) {
      return LimitExceeded("json.string-limit",
                           "string longer than " + Num(limits_.max_json_string_bytes) + " bytes")
          .WithOffset(start);
    }
    return OkStatus();
  }

  std::string_view s_;
  const SigningLimits& limits_;
  uint64_t i_ = 0;
  uint64_t values_ = 0;
};

Result<JsonValue> ParseJson(std::string_view text, const SigningLimits& limits) {
  return JsonParser(text, limits).Parse();
}

Result<JsonValue> ParseJson(std::span<const uint8_t> text, const SigningLimits& limits) {
  return ParseJson(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()),
                   limits);
}

namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Iterative as well: the writer walks the same explicit-stack shape as the parser.
void Serialize(std::string& out, const JsonValue& root) {
  struct Frame {
    const JsonValue* v;
    size_t next;
  };
  std::vector<Frame> stack;
  const auto open_or_scalar = [&](const JsonValue& v) {
    switch (v.type()) {
      case JsonValue::Type::kNull:
        out += "null";
        break;
      case JsonValue::Type::kBool:
        out += v.bool_value() ? "true" : "false";
        break;
      case JsonValue::Type::kInteger:
        out += std::to_string(v.integer_value());
        break;
      case JsonValue::Type::kString:
        AppendEscaped(out, v.string_value());
        break;
      case JsonValue::Type::kArray:
        out += '[';
        stack.push_back(Frame{&v, 0});
        break;
      case JsonValue::Type::kObject:
        out += '{';
        stack.push_back(Frame{&v, 0});
        break;
    }
  };
  open_or_scalar(root);
  while (!stack.empty()) {
    Frame& f = stack.back();
    const bool array = f.v->is_array();
    const size_t n = array ? f.v->items().size() : f.v->members().size();
    if (f.next == n) {
      out += array ? ']' : '}';
      stack.pop_back();
      continue;
    }
    if (f.next > 0) out += ',';
    const size_t i = f.next++;
    if (array) {
      open_or_scalar(f.v->items()[i]);  // may invalidate f
    } else {
      const JsonMember& m = f.v->members()[i];
      AppendEscaped(out, m.key);
      out += ':';
      open_or_scalar(m.value);
    }
  }
}

const char* TypeName(JsonValue::Type t) {
  switch (t) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return "a boolean";
    case JsonValue::Type::kInteger:
      return "an integer";
    case JsonValue::Type::kString:
      return "a string";
    case JsonValue::Type::kArray:
      return "an array";
    case JsonValue::Type::kObject:
      return "an object";
  }
  return "?";
}

}  // namespace

std::string SerializeJson(const JsonValue& value) {
  std::string out;
  Serialize(out, value);
  return out;
}

Status JsonSchemaError(const std::string& path, std::string_view what) {
  return Malformed("json.schema", path + ": " + std::string(what));
}

Result<JsonFields> JsonFields::Of(const JsonValue& value, std::string path) {
  if (!value.is_object()) {
    return JsonSchemaError(path,
                           std::string("expected an object, found ") + TypeName(value.type()));
  }
  return JsonFields(&value, std::move(path));
}

std::string JsonFields::PathOf(std::string_view key) const {
  return path_ + "." + Printable(key);
}

std::string JsonFields::Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

Result<const JsonValue*> JsonFields::Value(std::string_view key) {
  const JsonValue* v = value_->Find(key);
  if (v == nullptr) return JsonSchemaError(PathOf(key), "required member is missing");
  used_.emplace_back(key);
  return v;
}

Result<const JsonValue*> JsonFields::Get(std::string_view key, JsonValue::Type type,
                                         const char* what) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Value(key));
  if (v->type() != type) {
    return JsonSchemaError(PathOf(key),
                           std::string("expected ") + what + ", found " + TypeName(v->type()));
  }
  return v;
}

Result<std::string_view> JsonFields::String(std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Type::kString, "a string"));
  return std::string_view(v->string_value());
}

Result<std::optional<std::string_view>> JsonFields::OptionalString(std::string_view key) {
  if (!Has(key)) return std::optional<std::string_view>();
  SEALPKG_ASSIGN_OR_RETURN(std::string_view s, String(key));
  return std::optional<std::string_view>(s);
}

Result<int64_t> JsonFields::Integer(std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Type::kInteger, "an integer"));
  return v->integer_value();
}

Result<std::optional<int64_t>> JsonFields::OptionalInteger(std::string_view key) {
  if (!Has(key)) return std::optional<int64_t>();
  SEALPKG_ASSIGN_OR_RETURN(int64_t n, Integer(key));
  return std::optional<int64_t>(n);
}

Result<bool> JsonFields::Bool(std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Type::kBool, "a boolean"));
  return v->bool_value();
}

Result<JsonFields> JsonFields::Object(std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Type::kObject, "an object"));
  return JsonFields(v, PathOf(key));
}

Result<std::span<const JsonValue>> JsonFields::Array(std::string_view key) {
  SEALPKG_ASSIGN_OR_RETURN(const JsonValue* v, Get(key, JsonValue::Type::kArray, "an array"));
  return std::span<const JsonValue>(v->items());
}

Status JsonFields::NoOtherKeys(std::span<const std::string_view> also_allowed) const {
  for (const JsonMember& m : value_->members()) {
    const bool known =
        std::find(used_.begin(), used_.end(), m.key) != used_.end() ||
        std::find(also_allowed.begin(), also_allowed.end(), m.key) != also_allowed.end();
    if (!known) {
      return Malformed("json.unknown-key", PathOf(m.key) + ": member is not allowed here");
    }
  }
  return OkStatus();
}

}  // namespace sealpkg::signing
