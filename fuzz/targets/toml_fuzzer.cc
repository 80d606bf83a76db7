// toml: arbitrary bytes -> sealpkg::verifier::ParseToml (verifier/toml.h), with default
// PolicyLimits, and two canonical writers whose output must parse back to the same tree.
//
// Invariants (each violation calls abort()):
//   - ParseToml never returns kInternal; a rejection is kMalformed with reason toml.syntax,
//     toml.duplicate-key or toml.unsupported, or kLimitExceeded with toml.too-large or
//     toml.too-deep; its message starts with "line L, column C: " (L, C >= 1) and it carries a
//     byte offset no larger than the input;
//   - an accepted input is valid UTF-8, its root is a table, every key and string in the tree
//     is valid UTF-8, and no container is nested deeper than max_nesting;
//   - the "inline" writer (one `key = value` line per root key, tables as inline tables, every
//     string and key escaped) parses back to an equal tree with keys in the same order;
//   - the "header" writer (tables as [a."b"] headers, arrays of tables as [[...]], inline
//     tables only inside static arrays) parses back to an equal tree whose tables list plain
//     values before sub-tables, as that writer orders them.
// The writers and the comparison recurse, once per nesting level; max_nesting bounds that.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/printable.h"
#include "core/status.h"
#include "verifier/toml.h"

namespace {

using sealpkg::verifier::TomlValue;

[[noreturn]] void Fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(stderr, "toml_fuzzer: invariant violated: %s\n  input:  '%s'\n  detail: '%s'\n",
               what, sealpkg::Printable(input).c_str(), sealpkg::Printable(detail).c_str());
  std::abort();
}

// A TOML basic string for `s`: quotes, backslashes and control characters escaped.
void AppendQuoted(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (b < 0x20 || b == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", b);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendKey(std::string_view key, std::string& out) {
  bool bare = !key.empty();
  for (char c : key) {
    bare = bare && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-');
  }
  if (bare) {
    out += key;
  } else {
    AppendQuoted(key, out);
  }
}

// Any value on one line: tables as inline tables.
void AppendInline(const TomlValue& v, std::string& out) {
  switch (v.kind()) {
    case TomlValue::Kind::kString:
      AppendQuoted(v.as_string(), out);
      break;
    case TomlValue::Kind::kInteger:
      out += std::to_string(v.as_integer());
      break;
    case TomlValue::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case TomlValue::Kind::kArray: {
      out += '[';
      for (size_t i = 0; i < v.as_array().size(); ++i) {
        if (i > 0) out += ", ";
        AppendInline(v.as_array()[i], out);
      }
      out += ']';
      break;
    }
    case TomlValue::Kind::kTable: {
      out += '{';
      for (size_t i = 0; i < v.as_table().size(); ++i) {
        if (i > 0) out += ", ";
        AppendKey(v.as_table()[i].first, out);
        out += " = ";
        AppendInline(v.as_table()[i].second, out);
      }
      out += '}';
      break;
    }
  }
}

std::string WriteInline(const TomlValue& root) {
  std::string out;
  for (const auto& [key, value] : root.as_table()) {
    AppendKey(key, out);
    out += " = ";
    AppendInline(value, out);
    out += '\n';
  }
  return out;
}

bool IsArrayOfTables(const TomlValue& v) {
  if (!v.is_array() || v.as_array().empty()) return false;
  for (const TomlValue& item : v.as_array()) {
    if (!item.is_table()) return false;
  }
  return true;
}

// Written as a [header] / [[header]] by the header writer.
bool IsHeaderChild(const TomlValue& v) {
  return v.is_table() || IsArrayOfTables(v);
}

// The body of table `t` at `path`: plain keys, then sub-tables and arrays of tables.
void AppendSection(const TomlValue& t, const std::string& path, std::string& out) {
  for (const auto& [key, value] : t.as_table()) {
    if (IsHeaderChild(value)) continue;
    AppendKey(key, out);
    out += " = ";
    AppendInline(value, out);
    out += '\n';
  }
  for (const auto& [key, value] : t.as_table()) {
    if (!IsHeaderChild(value)) continue;
    std::string child = path;
    if (!child.empty()) child += '.';
    AppendKey(key, child);
    if (value.is_table()) {
      out += "[" + child + "]\n";
      AppendSection(value, child, out);
    } else {
      for (const TomlValue& element : value.as_array()) {
        out += "[[" + child + "]]\n";
        AppendSection(element, child, out);
      }
    }
  }
}

std::string WriteHeaders(const TomlValue& root) {
  std::string out;
  AppendSection(root, "", out);
  return out;
}

// Canonical text of a tree (positions ignored). With `headers_last`, tables that the header
// writer emits as sections list plain values first, as that writer does; inside static arrays
// everything is inline and keeps its order.
void AppendCanonical(const TomlValue& v, bool headers_last, std::string& out) {
  switch (v.kind()) {
    case TomlValue::Kind::kString:
      out += 's';
      AppendQuoted(v.as_string(), out);
      break;
    case TomlValue::Kind::kInteger:
      out += 'i' + std::to_string(v.as_integer());
      break;
    case TomlValue::Kind::kBool:
      out += v.as_bool() ? "T" : "F";
      break;
    case TomlValue::Kind::kArray: {
      const bool sections = headers_last && IsArrayOfTables(v);
      out += '[';
      for (const TomlValue& item : v.as_array()) {
        AppendCanonical(item, sections, out);
        out += ',';
      }
      out += ']';
      break;
    }
    case TomlValue::Kind::kTable: {
      out += '{';
      for (int pass = 0; pass < 2; ++pass) {
        for (const auto& [key, item] : v.as_table()) {
          const bool header = headers_last && IsHeaderChild(item);
          if (headers_last && header != (pass == 1)) continue;
          if (!headers_last && pass == 1) continue;
          AppendQuoted(key, out);
          out += ':';
          AppendCanonical(item, header, out);
          out += ',';
        }
      }
      out += '}';
      break;
    }
  }
}

std::string Canonical(const TomlValue& v, bool headers_last) {
  std::string out;
  AppendCanonical(v, headers_last, out);
  return out;
}

// Nesting depth (root = 0) and UTF-8 validity of every key and string.
void CheckTree(const TomlValue& v, uint64_t depth, const sealpkg::PolicyLimits& limits,
               std::string_view input) {
  if ((v.is_array() || v.is_table()) && depth > limits.max_nesting) {
    Fail("accepted tree is deeper than max_nesting", input, std::to_string(depth));
  }
  if (v.line() == 0 || v.column() == 0) Fail("value without a position", input, "");
  if (v.is_string() && !sealpkg::IsValidUtf8(v.as_string())) {
    Fail("string value is not UTF-8", input, v.as_string());
  }
  for (const TomlValue& item : v.as_array()) CheckTree(item, depth + 1, limits, input);
  for (const auto& [key, item] : v.as_table()) {
    if (!sealpkg::IsValidUtf8(key)) Fail("key is not UTF-8", input, key);
    CheckTree(item, depth + 1, limits, input);
  }
}

void CheckRejection(const sealpkg::Status& st, std::string_view input) {
  using sealpkg::ErrorCode;
  const std::string text = st.ToString();
  if (st.code() == ErrorCode::kInternal) Fail("kInternal", input, text);
  const std::string_view reason = st.reason();
  const bool malformed =
      st.code() == ErrorCode::kMalformed &&
      (reason == "toml.syntax" || reason == "toml.duplicate-key" || reason == "toml.unsupported");
  const bool limit = st.code() == ErrorCode::kLimitExceeded &&
                     (reason == "toml.too-large" || reason == "toml.too-deep");
  if (!malformed && !limit) Fail("unexpected code or reason", input, text);
  const std::string_view message = st.message();
  unsigned long line = 0, column = 0;
  int consumed = 0;
  const std::string head(message.substr(0, 64));
  if (std::sscanf(head.c_str(), "line %lu, column %lu: %n", &line, &column, &consumed) != 2 ||
      consumed == 0 || line == 0 || column == 0) {
    Fail("message does not start with 'line L, column C: '", input, text);
  }
  if (!st.offset().has_value() || *st.offset() > input.size()) {
    Fail("missing or out-of-range offset", input, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const sealpkg::PolicyLimits limits;
  auto doc = sealpkg::verifier::ParseToml(input, limits);
  if (!doc.ok()) {
    CheckRejection(doc.status(), input);
    return 0;
  }
  if (!sealpkg::IsValidUtf8(input)) Fail("accepted invalid UTF-8", input, "");
  if (!doc->is_table()) Fail("root is not a table", input, "");
  CheckTree(*doc, 0, limits, input);

  // Re-serialised text may be longer than the input (escapes, repeated header paths).
  sealpkg::PolicyLimits unbounded = limits;
  unbounded.max_policy_bytes = std::numeric_limits<uint64_t>::max();

  const std::string inline_text = WriteInline(*doc);
  auto inline_doc = sealpkg::verifier::ParseToml(inline_text, unbounded);
  if (!inline_doc.ok())
    Fail("inline writer output rejected", input,
         inline_doc.status().ToString() + "\n" + inline_text);
  if (Canonical(*inline_doc, false) != Canonical(*doc, false)) {
    Fail("inline round trip differs", input, inline_text);
  }

  const std::string header_text = WriteHeaders(*doc);
  auto header_doc = sealpkg::verifier::ParseToml(header_text, unbounded);
  if (!header_doc.ok())
    Fail("header writer output rejected", input,
         header_doc.status().ToString() + "\n" + header_text);
  if (Canonical(*header_doc, false) != Canonical(*doc, true)) {
    Fail("header round trip differs", input, header_text);
  }
  return 0;
}
