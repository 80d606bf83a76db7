// Strict parser for the TOML subset sealpkg policies use.
//
// Policies decide what may load, so their parser is as strict as the archive reader: it accepts
// TOML 1.0 key/value pairs (bare, quoted and dotted keys), [tables], [[arrays of tables]],
// basic and literal strings (single- and multi-line, all TOML escapes), decimal integers
// (with '_' separators, optional sign; hex/octal/binary too), booleans, arrays and inline
// tables; it rejects floats, dates/times, duplicate keys, redefined tables, invalid UTF-8,
// control characters and anything else outside TOML 1.0 with the line and column. Tables keep
// their keys in document order. Parsing is iterative (no recursion) with a nesting limit.
//
//   SEALPKG_ASSIGN_OR_RETURN(TomlValue doc, ParseToml(text, limits.policy));
//   const TomlValue* v = doc.Find("pickle");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::verifier {

class TomlValue {
 public:
  enum class Kind : uint8_t { kString, kInteger, kBool, kArray, kTable };

  Kind kind() const { return kind_; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_integer() const { return kind_ == Kind::kInteger; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_table() const { return kind_ == Kind::kTable; }

  const std::string& as_string() const { return string_; }
  int64_t as_integer() const { return integer_; }
  bool as_bool() const { return boolean_; }
  const std::vector<TomlValue>& as_array() const { return array_; }
  // Key/value pairs in document order.
  const std::vector<std::pair<std::string, TomlValue>>& as_table() const { return table_; }
  // Table lookup; nullptr if absent or this is not a table.
  const TomlValue* Find(std::string_view key) const;
  // 1-based position where the value was defined (for error messages about its meaning).
  uint32_t line() const { return line_; }
  uint32_t column() const { return column_; }

  // Builders (used by the parser and by tests).
  static TomlValue String(std::string s, uint32_t line = 0, uint32_t column = 0);
  static TomlValue Integer(int64_t v, uint32_t line = 0, uint32_t column = 0);
  static TomlValue Bool(bool v, uint32_t line = 0, uint32_t column = 0);
  static TomlValue Array(uint32_t line = 0, uint32_t column = 0);
  static TomlValue Table(uint32_t line = 0, uint32_t column = 0);
  std::vector<TomlValue>& mutable_array() { return array_; }
  std::vector<std::pair<std::string, TomlValue>>& mutable_table() { return table_; }

 private:
  Kind kind_ = Kind::kTable;
  std::string string_;
  int64_t integer_ = 0;
  bool boolean_ = false;
  std::vector<TomlValue> array_;
  std::vector<std::pair<std::string, TomlValue>> table_;
  uint32_t line_ = 0;
  uint32_t column_ = 0;
};

// Parses a whole document into its root table. Errors: kMalformed "toml.syntax" (message names
// line and column and what was expected), "toml.duplicate-key", "toml.unsupported" (floats,
// dates); kLimitExceeded "toml.too-large" / "toml.too-deep".
// Every error message starts with "line L, column C: " and the Status carries the byte offset.
// Lines and columns are 1-based; columns count code points. A leading UTF-8 byte order mark is
// skipped (it takes no column). Nesting counts tables and arrays below the root ([a.b] is 2,
// an element of [[a]] is 2); TomlValue's destructor recurses once per level, which
// limits.max_nesting bounds.
Result<TomlValue> ParseToml(std::string_view text, const PolicyLimits& limits);

}  // namespace sealpkg::verifier
