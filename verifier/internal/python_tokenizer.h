// Python 3 tokenizer for the import scanner (verifier/import_scanner.h).
//
// Turns the bytes of one Python source file into the tokens the scanner needs: names, numbers,
// strings, f-string boundaries (with the tokens of every replacement field in between),
// operators and logical-line ends. Where it matters for what is code and what is not, it follows
// CPython 3.11's tokenizer and f-string parser exactly: the encoding cookie and BOM rules, string
// prefixes and extents, comments, `\` continuations, implicit continuation inside brackets, and
// how the end of an f-string replacement field is found. So nothing Python would execute can hide
// inside a token the scanner skips.
//
// Simplifications (none lets code hide): indentation is not tracked (no INDENT/DEDENT tokens);
// any non-ASCII code point is accepted as an identifier character, without CPython's
// XID_Start/XID_Continue check; identifiers are folded the way NFKC folds them only where the
// result is ASCII (U+FF45 'ｅ' becomes 'e', so `ｅｘｅｃ` is seen as `exec`, as CPython sees it),
// other non-ASCII characters are kept as written. Escapes in string literals are decoded only by
// StringLiteralValue(), on demand. Iterative: brackets and f-string nesting share one explicit
// stack capped by SourceLimits::max_nesting.
//
//   SEALPKG_ASSIGN_OR_RETURN(TokenizedSource src, TokenizePython(bytes, limits.source));
//   for (size_t i = 0; i < src.tokens.size(); ++i)
//     if (src.tokens[i].kind == TokenKind::kName && src.Name(i) == "exec") ...
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::verifier::internal {

enum class TokenKind : uint8_t {
  kName,          // identifier or keyword
  kNumber,        // any numeric literal
  kString,        // a complete string or bytes literal that is not an f-string
  kFStringStart,  // prefix and opening quote of an f-string; its fields' tokens follow
  kFStringEnd,    // closing quote of an f-string
  kOp,            // operator or delimiter, including the braces of f-string fields
  kNewline,       // end of a logical line (outside brackets and f-strings)
};

// String prefix flags (Token::flags) of kString and kFStringStart tokens.
inline constexpr uint8_t kStringRaw = 1;
inline constexpr uint8_t kStringBytes = 2;
inline constexpr uint8_t kStringFormatted = 4;

inline constexpr uint32_t kNoPartner = UINT32_MAX;

struct Token {
  TokenKind kind = TokenKind::kOp;
  uint8_t flags = 0;
  uint32_t begin = 0;  // byte offsets into TokenizedSource::text
  uint32_t end = 0;
  // Brackets, f-strings and f-string fields open before this token (for a closing bracket:
  // after it closed). 0 means the token is at statement level.
  uint32_t depth = 0;
  // For '(' '[' '{' and kFStringStart: the index of the closing token, and back.
  uint32_t partner = kNoPartner;
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in code points
};

struct TokenizedSource {
  std::string text;  // decoded UTF-8, BOM removed, "\r\n" and "\r" turned into "\n"
  std::vector<Token> tokens;
  uint32_t line_count = 0;  // lines of text ("a\n" has 1, "a\nb" has 2)
  // token index -> folded spelling, for names whose folded form differs from the text
  std::vector<std::pair<uint32_t, std::string>> folded_names;

  std::string_view Text(const Token& token) const {
    return std::string_view(text).substr(token.begin, token.end - token.begin);
  }
  // The identifier Python sees for tokens[index] (folded, see above); the text otherwise.
  std::string_view Name(size_t index) const;
};

// Errors: kMalformed "source.syntax" ("line L, column C: ...") for undecodable bytes, a bad or
// unsupported encoding cookie, NUL bytes, unterminated strings or brackets, mismatched brackets,
// invalid characters, and f-string fields CPython 3.11 rejects; kLimitExceeded
// "source.too-large" when the source exceeds limits.max_source_bytes, the tokens exceed
// limits.max_tokens or open brackets/f-strings exceed limits.max_nesting.
Result<TokenizedSource> TokenizePython(std::span<const uint8_t> source, const SourceLimits& limits);

// The value of a str literal token's text (prefix, quotes, escapes decoded), or nullopt for
// bytes and f-strings and for escapes that cannot be decoded here (\N{...}, surrogates,
// malformed escapes).
std::optional<std::string> StringLiteralValue(std::string_view token_text);

std::string_view TokenKindName(TokenKind kind);

}  // namespace sealpkg::verifier::internal
