// Lexical layer of the TOML policy parser (verifier/toml.cc): a cursor over the document that
// knows whitespace, comments, line ends, keys and scalar values (strings, integers, booleans),
// turns byte offsets into 1-based line/column positions and formats every error as
// "line L, column C: ...". The document structure (tables, arrays, duplicate rules) lives in
// toml.cc. Internal to the verifier; not a public API.
//
// Preconditions: ValidateUtf8() has succeeded before any other lexing call, so the lexer may
// copy non-ASCII bytes without re-checking them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sealpkg::verifier::internal {

inline constexpr std::string_view kTomlSyntax = "toml.syntax";
inline constexpr std::string_view kTomlDuplicateKey = "toml.duplicate-key";
inline constexpr std::string_view kTomlUnsupported = "toml.unsupported";
inline constexpr std::string_view kTomlTooLarge = "toml.too-large";
inline constexpr std::string_view kTomlTooDeep = "toml.too-deep";

struct TomlPosition {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based, in code points
};

// A string, integer or boolean value as written in the document.
struct TomlScalar {
  enum class Kind : uint8_t { kString, kInteger, kBool };
  Kind kind = Kind::kString;
  std::string string_value;
  int64_t integer_value = 0;
  bool bool_value = false;
};

class TomlLexer {
 public:
  explicit TomlLexer(std::string_view text) : text_(text) {}

  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ >= text_.size(); }
  // The byte `ahead` positions from the cursor (0..255), or -1 past the end.
  int Peek(size_t ahead = 0) const;
  // Moves forward by `n` bytes (never past the end). Callers only skip bytes they have peeked.
  void Advance(size_t n);

  // "\n" or "\r\n" at the cursor (a lone "\r" is not a line end).
  bool AtNewline() const;
  void ConsumeNewline();
  // Spaces and tabs.
  void SkipWhitespace();
  // At '#': checks the comment text and stops before its line end (or at the end of input).
  Status SkipComment();
  // Whitespace, comments and line ends, as allowed between array elements.
  Status SkipWhitespaceCommentsNewlines();
  // Optional whitespace and comment, then a line end (consumed) or the end of input.
  // `after` names what was just parsed, for the error message ("value", "table header").
  Status ExpectLineEnd(std::string_view after);

  // Skips a UTF-8 byte order mark at the very start (TOML test suites treat it as valid). It
  // occupies no column: the first character after it is column 1.
  void SkipByteOrderMark();

  // The whole document must be UTF-8 (no overlong forms, surrogates or values > U+10FFFF);
  // the error points at the first invalid byte.
  Status ValidateUtf8();

  // One part of a key: bare (A-Za-z0-9_-), "basic" or 'literal' (single-line only).
  Result<std::string> ParseSimpleKey();
  // A string, integer or boolean starting at the cursor. Floats, inf/nan and dates are
  // kMalformed "toml.unsupported"; anything else that is not a value is "toml.syntax".
  Result<TomlScalar> ParseScalar();

  // Line and column of a byte offset (offset == size is the end of input). Amortised O(1) for
  // non-decreasing offsets, O(offset) otherwise.
  TomlPosition Locate(size_t offset);
  // kMalformed / kLimitExceeded errors whose message starts with "line L, column C: ".
  Status Error(ErrorCode code, std::string_view reason, size_t offset, std::string_view message);
  Status SyntaxError(size_t offset, std::string_view message) {
    return Error(ErrorCode::kMalformed, kTomlSyntax, offset, message);
  }
  // What is at `offset`, for "expected X, found Y" messages: "'='", "end of line", "U+00E9".
  std::string Describe(size_t offset) const;

 private:
  Result<std::string> ParseBasicString(bool multiline);
  Result<std::string> ParseLiteralString(bool multiline);
  // At a backslash inside a basic string: appends the escaped character (or, in a multi-line
  // string, skips a line-ending backslash and the whitespace after it).
  Status ParseEscape(std::string& out, bool multiline);
  Result<TomlScalar> ParseBareValue();
  Result<int64_t> ParseIntegerDigits(std::string_view digits, size_t digits_offset, int base,
                                     bool negative, size_t token_offset);

  std::string_view text_;
  size_t pos_ = 0;
  size_t origin_ = 0;  // 3 after a byte order mark, else 0
  // Locate() cache: the position of byte `located_offset_`.
  size_t located_offset_ = 0;
  TomlPosition located_;
};

}  // namespace sealpkg::verifier::internal
