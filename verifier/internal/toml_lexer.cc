#include "verifier/internal/toml_lexer.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

namespace sealpkg::verifier::internal {
namespace {

bool IsBareKeyChar(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Characters a number, boolean, float or date can be made of. Scanning the whole run before
// classifying it lets "1.5" or "1979-05-27" be reported as unsupported rather than as junk.
bool IsBareValueChar(int c) {
  return IsBareKeyChar(c) || c == '+' || c == '.' || c == ':';
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// TOML forbids these in strings and comments: C0 controls other than tab, and DEL.
bool IsForbiddenControl(uint8_t c) {
  return (c < 0x20 && c != '\t') || c == 0x7F;
}

int HexValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at text[i] (1..4), or 0 if it is invalid there.
size_t Utf8Length(std::string_view text, size_t i) {
  const auto b0 = static_cast<uint8_t>(text[i]);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t min_cp;
  uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min_cp = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min_cp = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min_cp = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min_cp) return 0;                   // overlong form
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;  // UTF-16 surrogate
  if (cp > 0x10FFFF) return 0;
  return len;
}

void AppendUtf8(std::string& out, uint32_t cp) {
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

std::string CodePointName(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

// A token for a message: at most 40 bytes (cut on a character boundary), control-free.
std::string Quoted(std::string_view token) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  size_t i = 0;
  for (; i < token.size() && i < kMax; ++i) {
    const auto c = static_cast<uint8_t>(token[i]);
    out += (c < 0x20 || c == 0x7F || c >= 0x80) ? '?' : static_cast<char>(c);
  }
  if (i < token.size()) out += "...";
  return out + "'";
}

// [+-]?(inf|nan): TOML's special floats.
bool IsSpecialFloat(std::string_view t) {
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
  return t == "inf" || t == "nan";
}

// DIGIT *( DIGIT / "_" DIGIT ) at t[i...]; returns the end or npos.
size_t MatchZeroPrefixableInt(std::string_view t, size_t i) {
  if (i >= t.size() || !IsDigit(t[i])) return std::string_view::npos;
  ++i;
  while (i < t.size()) {
    if (IsDigit(t[i])) {
      ++i;
    } else if (t[i] == '_' && i + 1 < t.size() && IsDigit(t[i + 1])) {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

// TOML 1.0 float: dec-int ( exp / frac [ exp ] ).
bool IsFloat(std::string_view t) {
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else {
    i = MatchZeroPrefixableInt(t, i);
    if (i == std::string_view::npos) return false;
  }
  bool fraction_or_exponent = false;
  if (i < t.size() && t[i] == '.') {
    i = MatchZeroPrefixableInt(t, i + 1);
    if (i == std::string_view::npos) return false;
    fraction_or_exponent = true;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    i = MatchZeroPrefixableInt(t, i);
    if (i == std::string_view::npos) return false;
    fraction_or_exponent = true;
  }
  return fraction_or_exponent && i == t.size();
}

// `n` digits at t[i...].
bool Digits(std::string_view t, size_t i, size_t n) {
  if (i > t.size() || n > t.size() - i) return false;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(t[i + k])) return false;
  }
  return true;
}

// HH:MM:SS[.fraction] at t[i...]; returns the end or npos.
size_t MatchTime(std::string_view t, size_t i) {
  if (!Digits(t, i, 2) || i + 2 >= t.size() || t[i + 2] != ':' || !Digits(t, i + 3, 2) ||
      i + 5 >= t.size() || t[i + 5] != ':' || !Digits(t, i + 6, 2)) {
    return std::string_view::npos;
  }
  i += 8;
  if (i < t.size() && t[i] == '.') {
    size_t j = i + 1;
    while (j < t.size() && IsDigit(t[j])) ++j;
    if (j == i + 1) return std::string_view::npos;
    i = j;
  }
  return i;
}

// The shapes of TOML's offset/local date-times, local dates and local times (without checking
// that months and days exist). A date followed by " HH:MM" stops the token at the space; the
// date alone already identifies the value as unsupported.
bool IsDateTime(std::string_view t) {
  if (MatchTime(t, 0) == t.size()) return true;
  if (!Digits(t, 0, 4) || t.size() < 10 || t[4] != '-' || !Digits(t, 5, 2) || t[7] != '-' ||
      !Digits(t, 8, 2)) {
    return false;
  }
  if (t.size() == 10) return true;
  if (t[10] != 'T' && t[10] != 't') return false;
  size_t i = MatchTime(t, 11);
  if (i == std::string_view::npos) return false;
  if (i == t.size()) return true;
  if ((t[i] == 'Z' || t[i] == 'z') && i + 1 == t.size()) return true;
  return (t[i] == '+' || t[i] == '-') && i + 6 == t.size() && Digits(t, i + 1, 2) &&
         t[i + 3] == ':' && Digits(t, i + 4, 2);
}

}  // namespace

int TomlLexer::Peek(size_t ahead) const {
  if (pos_ >= text_.size() || ahead >= text_.size() - pos_) return -1;
  return static_cast<uint8_t>(text_[pos_ + ahead]);
}

void TomlLexer::Advance(size_t n) {
  pos_ += std::min(n, text_.size() - pos_);
}

bool TomlLexer::AtNewline() const {
  return Peek() == '\n' || (Peek() == '\r' && Peek(1) == '\n');
}

void TomlLexer::ConsumeNewline() {
  Advance(Peek() == '\r' ? 2 : 1);
}

void TomlLexer::SkipWhitespace() {
  while (Peek() == ' ' || Peek() == '\t') Advance(1);
}

Status TomlLexer::SkipComment() {
  Advance(1);  // '#'
  for (int c = Peek(); c != -1 && c != '\n'; c = Peek()) {
    if (c == '\r') {
      if (Peek(1) == '\n') return OkStatus();
      return SyntaxError(pos_, "bare carriage return (CR without LF) in a comment");
    }
    // A control character in a comment can rewrite the terminal of whoever reads the policy.
    if (IsForbiddenControl(static_cast<uint8_t>(c))) {
      return SyntaxError(
          pos_, "control character " + CodePointName(static_cast<uint32_t>(c)) + " in a comment");
    }
    Advance(1);
  }
  return OkStatus();
}

Status TomlLexer::SkipWhitespaceCommentsNewlines() {
  for (;;) {
    SkipWhitespace();
    if (Peek() == '#') {
      SEALPKG_RETURN_IF_ERROR(SkipComment());
    } else if (AtNewline()) {
      ConsumeNewline();
    } else {
      return OkStatus();
    }
  }
}

Status TomlLexer::ExpectLineEnd(std::string_view after) {
  SkipWhitespace();
  if (Peek() == '#') SEALPKG_RETURN_IF_ERROR(SkipComment());
  if (AtEnd()) return OkStatus();
  if (AtNewline()) {
    ConsumeNewline();
    return OkStatus();
  }
  return SyntaxError(pos_, "expected the end of the line after the " + std::string(after) +
                               ", found " + Describe(pos_));
}

Status TomlLexer::ValidateUtf8() {
  for (size_t i = 0; i < text_.size();) {
    const size_t len = Utf8Length(text_, i);
    if (len == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x",
                    static_cast<unsigned>(static_cast<uint8_t>(text_[i])));
      return SyntaxError(i, std::string("invalid UTF-8 (byte ") + buf + ")");
    }
    i += len;
  }
  return OkStatus();
}

void TomlLexer::SkipByteOrderMark() {
  if (pos_ == 0 && text_.substr(0, 3) == "\xEF\xBB\xBF") {
    pos_ = origin_ = located_offset_ = 3;
    located_ = TomlPosition{};
  }
}

TomlPosition TomlLexer::Locate(size_t offset) {
  offset = std::clamp(offset, origin_, text_.size());
  if (offset < located_offset_) {
    located_offset_ = origin_;
    located_ = TomlPosition{};
  }
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  for (; located_offset_ < offset; ++located_offset_) {
    const auto b = static_cast<uint8_t>(text_[located_offset_]);
    if (b == '\n') {
      if (located_.line < kMax) ++located_.line;
      located_.column = 1;
    } else if ((b & 0xC0) != 0x80 && located_.column < kMax) {
      ++located_.column;  // count code points: skip UTF-8 continuation bytes
    }
  }
  return located_;
}

Status TomlLexer::Error(ErrorCode code, std::string_view reason, size_t offset,
                        std::string_view message) {
  const TomlPosition at = Locate(offset);
  std::string text = "line " + std::to_string(at.line) + ", column " + std::to_string(at.column) +
                     ": " + std::string(message);
  return Status(code, std::string(reason), std::move(text)).WithOffset(offset);
}

std::string TomlLexer::Describe(size_t offset) const {
  if (offset >= text_.size()) return "the end of the file";
  const auto c = static_cast<uint8_t>(text_[offset]);
  if (c == '\n') return "the end of the line";
  if (c == '\r') {
    if (offset + 1 < text_.size() && text_[offset + 1] == '\n') return "the end of the line";
    return "a bare carriage return (CR without LF)";
  }
  if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  if (c < 0x80) return CodePointName(c);
  const size_t len = Utf8Length(text_, offset);
  if (len < 2) return "an invalid UTF-8 byte";
  static constexpr uint8_t kLeadMask[5] = {0, 0, 0x1F, 0x0F, 0x07};
  uint32_t cp = c & kLeadMask[len];
  for (size_t k = 1; k < len; ++k)
    cp = (cp << 6) | (static_cast<uint8_t>(text_[offset + k]) & 0x3F);
  return CodePointName(cp);
}

Result<std::string> TomlLexer::ParseSimpleKey() {
  const int c = Peek();
  if (c == '"' || c == '\'') {
    if (Peek(1) == c && Peek(2) == c) {
      return SyntaxError(pos_, "a multi-line string cannot be used as a key");
    }
    return c == '"' ? ParseBasicString(false) : ParseLiteralString(false);
  }
  if (!IsBareKeyChar(c)) return SyntaxError(pos_, "expected a key, found " + Describe(pos_));
  const size_t start = pos_;
  while (IsBareKeyChar(Peek())) Advance(1);
  return std::string(text_.substr(start, pos_ - start));
}

Result<TomlScalar> TomlLexer::ParseScalar() {
  const int c = Peek();
  TomlScalar scalar;
  if (c == '"' || c == '\'') {
    const bool multiline = Peek(1) == c && Peek(2) == c;
    SEALPKG_ASSIGN_OR_RETURN(scalar.string_value, c == '"' ? ParseBasicString(multiline)
                                                           : ParseLiteralString(multiline));
    return scalar;
  }
  if (IsBareValueChar(c)) return ParseBareValue();
  return SyntaxError(pos_, "expected a value, found " + Describe(pos_));
}

Result<std::string> TomlLexer::ParseBasicString(bool multiline) {
  const size_t open = pos_;
  Advance(multiline ? 3 : 1);
  if (multiline && AtNewline()) ConsumeNewline();  // a newline right after """ is trimmed
  std::string out;
  for (;;) {
    const int c = Peek();
    if (c == '"') {
      if (!multiline) {
        Advance(1);
        return out;
      }
      size_t run = 1;
      while (Peek(run) == '"') ++run;
      if (run >= 3) {
        // """" and """"" end the string after one or two quotes that belong to it.
        const size_t extra = std::min<size_t>(run, 5) - 3;
        out.append(extra, '"');
        Advance(3 + extra);
        return out;
      }
      out.append(run, '"');
      Advance(run);
    } else if (c == '\\') {
      SEALPKG_RETURN_IF_ERROR(ParseEscape(out, multiline));
    } else if (c == -1 || (!multiline && AtNewline())) {
      const TomlPosition at = Locate(open);
      return SyntaxError(pos_, "unterminated string (opened at line " + std::to_string(at.line) +
                                   ", column " + std::to_string(at.column) + ")");
    } else if (multiline && AtNewline()) {
      ConsumeNewline();
      out += '\n';  // CRLF is normalised to LF
    } else if (c == '\r') {
      return SyntaxError(pos_, "bare carriage return (CR without LF) in a string");
    } else if (IsForbiddenControl(static_cast<uint8_t>(c))) {
      return SyntaxError(pos_, "control character " + CodePointName(static_cast<uint32_t>(c)) +
                                   " in a string (use an escape)");
    } else {
      out += static_cast<char>(c);
      Advance(1);
    }
  }
}

Status TomlLexer::ParseEscape(std::string& out, bool multiline) {
  const size_t at = pos_;  // the backslash
  const int e = Peek(1);
  char simple = 0;
  switch (e) {
    case 'b':
      simple = '\b';
      break;
    case 't':
      simple = '\t';
      break;
    case 'n':
      simple = '\n';
      break;
    case 'f':
      simple = '\f';
      break;
    case 'r':
      simple = '\r';
      break;
    case '"':
      simple = '"';
      break;
    case '\\':
      simple = '\\';
      break;
    default:
      break;
  }
  if (simple != 0) {
    out += simple;
    Advance(2);
    return OkStatus();
  }
  if (e == 'u' || e == 'U') {
    const size_t n = e == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t k = 0; k < n; ++k) {
      const int h = HexValue(Peek(2 + k));
      if (h < 0) {
        return SyntaxError(at, std::string("\\") + static_cast<char>(e) + " escape needs exactly " +
                                   std::to_string(n) + " hexadecimal digits");
      }
      cp = (cp << 4) | static_cast<uint32_t>(h);
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      return SyntaxError(at, "escape " + CodePointName(cp) + " is a surrogate, not a character");
    }
    if (cp > 0x10FFFF) return SyntaxError(at, "escape is above U+10FFFF");
    AppendUtf8(out, cp);
    Advance(2 + n);
    return OkStatus();
  }
  if (multiline) {
    // Line-ending backslash: only whitespace may follow it on its line; it removes that
    // whitespace and every newline and whitespace after it.
    size_t k = 1;
    while (Peek(k) == ' ' || Peek(k) == '\t') ++k;
    if (Peek(k) == '\n' || (Peek(k) == '\r' && Peek(k + 1) == '\n')) {
      Advance(k);
      for (;;) {
        SkipWhitespace();
        if (!AtNewline()) break;
        ConsumeNewline();
      }
      return OkStatus();
    }
  }
  if (e == -1) return SyntaxError(at, "backslash at the end of the file");
  return SyntaxError(at, "invalid escape sequence: backslash followed by " + Describe(at + 1));
}

Result<std::string> TomlLexer::ParseLiteralString(bool multiline) {
  const size_t open = pos_;
  Advance(multiline ? 3 : 1);
  if (multiline && AtNewline()) ConsumeNewline();
  std::string out;
  for (;;) {
    const int c = Peek();
    if (c == '\'') {
      if (!multiline) {
        Advance(1);
        return out;
      }
      size_t run = 1;
      while (Peek(run) == '\'') ++run;
      if (run >= 3) {
        const size_t extra = std::min<size_t>(run, 5) - 3;
        out.append(extra, '\'');
        Advance(3 + extra);
        return out;
      }
      out.append(run, '\'');
      Advance(run);
    } else if (c == -1 || (!multiline && AtNewline())) {
      const TomlPosition at = Locate(open);
      return SyntaxError(pos_, "unterminated string (opened at line " + std::to_string(at.line) +
                                   ", column " + std::to_string(at.column) + ")");
    } else if (multiline && AtNewline()) {
      ConsumeNewline();
      out += '\n';
    } else if (c == '\r') {
      return SyntaxError(pos_, "bare carriage return (CR without LF) in a string");
    } else if (IsForbiddenControl(static_cast<uint8_t>(c))) {
      return SyntaxError(pos_, "control character " + CodePointName(static_cast<uint32_t>(c)) +
                                   " in a literal string");
    } else {
      out += static_cast<char>(c);
      Advance(1);
    }
  }
}

Result<TomlScalar> TomlLexer::ParseBareValue() {
  const size_t start = pos_;
  while (IsBareValueChar(Peek())) Advance(1);
  const std::string_view token = text_.substr(start, pos_ - start);
  TomlScalar scalar;
  if (token == "true" || token == "false") {
    scalar.kind = TomlScalar::Kind::kBool;
    scalar.bool_value = token == "true";
    return scalar;
  }
  const bool has_sign = token[0] == '+' || token[0] == '-';
  const std::string_view unsigned_part = token.substr(has_sign ? 1 : 0);
  const size_t unsigned_offset = start + (has_sign ? 1 : 0);
  scalar.kind = TomlScalar::Kind::kInteger;
  if (unsigned_part.size() >= 2 && unsigned_part[0] == '0' &&
      (unsigned_part[1] == 'x' || unsigned_part[1] == 'o' || unsigned_part[1] == 'b')) {
    if (has_sign) {
      return SyntaxError(start, "a sign is not allowed on a hexadecimal, octal or binary integer");
    }
    const int base = unsigned_part[1] == 'x' ? 16 : unsigned_part[1] == 'o' ? 8 : 2;
    SEALPKG_ASSIGN_OR_RETURN(scalar.integer_value,
                             ParseIntegerDigits(unsigned_part.substr(2), start + 2, base,
                                                /*negative=*/false, start));
    return scalar;
  }
  const bool decimal_shape =
      !unsigned_part.empty() && std::all_of(unsigned_part.begin(), unsigned_part.end(),
                                            [](char ch) { return IsDigit(ch) || ch == '_'; });
  if (decimal_shape) {
    if (unsigned_part.size() > 1 && unsigned_part[0] == '0') {
      return SyntaxError(start, "leading zeros are not allowed in decimal integers");
    }
    SEALPKG_ASSIGN_OR_RETURN(
        scalar.integer_value,
        ParseIntegerDigits(unsigned_part, unsigned_offset, 10, token[0] == '-', start));
    return scalar;
  }
  // Policies never need them, and rejecting them keeps comparisons exact.
  if (IsFloat(token) || IsSpecialFloat(token)) {
    return Error(
        ErrorCode::kMalformed, kTomlUnsupported, start,
        "floating-point numbers are not supported in policies (found " + Quoted(token) + ")");
  }
  if (IsDateTime(token)) {
    return Error(ErrorCode::kMalformed, kTomlUnsupported, start,
                 "dates and times are not supported in policies (found " + Quoted(token) + ")");
  }
  return SyntaxError(start, "invalid value " + Quoted(token) +
                                " (expected a string, integer, boolean, array or inline table)");
}

Result<int64_t> TomlLexer::ParseIntegerDigits(std::string_view digits, size_t digits_offset,
                                              int base, bool negative, size_t token_offset) {
  if (digits.empty()) return SyntaxError(digits_offset, "missing digits in integer");
  // The magnitude may reach 2^63 only for a negative decimal (INT64_MIN).
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t value = 0;
  bool previous_is_digit = false;
  for (size_t i = 0; i < digits.size(); ++i) {
    const char ch = digits[i];
    if (ch == '_') {
      if (!previous_is_digit || i + 1 == digits.size() || digits[i + 1] == '_') {
        return SyntaxError(digits_offset + i, "'_' in an integer must be between two digits");
      }
      previous_is_digit = false;
      continue;
    }
    const int d = HexValue(ch);
    if (d < 0 || d >= base) {
      return SyntaxError(digits_offset + i, std::string("invalid digit ") + Quoted({&ch, 1}) +
                                                " in a base-" + std::to_string(base) + " integer");
    }
    const auto ud = static_cast<uint64_t>(d);
    if (value > (limit - ud) / static_cast<uint64_t>(base)) {
      return SyntaxError(token_offset, "integer does not fit in 64 bits (signed)");
    }
    value = value * static_cast<uint64_t>(base) + ud;
    previous_is_digit = true;
  }
  if (!negative) return static_cast<int64_t>(value);
  if (value == uint64_t{1} << 63) return std::numeric_limits<int64_t>::min();
  return -static_cast<int64_t>(value);
}

}  // namespace sealpkg::verifier::internal
