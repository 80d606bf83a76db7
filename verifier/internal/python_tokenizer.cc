#include "verifier/internal/python_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <tuple>

#include "core/printable.h"
#include "verifier/finding.h"

namespace sealpkg::verifier::internal {
namespace {

// ---------------------------------------------------------------------------------------------
// Characters

bool IsDigit(uint8_t c) {
  return c >= '0' && c <= '9';
}
bool IsAsciiLetter(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiAlnum(uint8_t c) {
  return IsAsciiLetter(c) || IsDigit(c);
}
bool IsHexDigit(uint8_t c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsOctDigit(uint8_t c) {
  return c >= '0' && c <= '7';
}
bool IsBinDigit(uint8_t c) {
  return c == '0' || c == '1';
}
// CPython's is_potential_identifier_start/char: every byte >= 0x80 qualifies (simplification:
// CPython then checks XID_Start/XID_Continue and rejects the rest; we accept them).
bool IsIdentifierStart(uint8_t c) {
  return IsAsciiLetter(c) || c == '_' || c >= 0x80;
}
bool IsIdentifierChar(uint8_t c) {
  return IsIdentifierStart(c) || IsDigit(c);
}
// The whitespace CPython skips between tokens (besides newlines).
bool IsBlank(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\f';
}
// Py_ISSPACE.
bool IsPySpace(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Bounds-checked read: 0 past the end (NUL bytes are rejected before lexing, so 0 is "none").
uint8_t At(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<uint8_t>(s[i]) : 0;
}

// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 if the bytes there are not one.
size_t Utf8Length(std::string_view s, size_t i) {
  const uint8_t b0 = At(s, i);
  size_t len;
  uint32_t cp;
  uint32_t min_cp;
  if (i >= s.size()) return 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1Fu, min_cp = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0Fu, min_cp = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07u, min_cp = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = At(s, i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min_cp || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return len;
}

// Code point of the valid sequence of `len` bytes at s[i].
uint32_t CodePointAt(std::string_view s, size_t i, size_t len) {
  static constexpr uint8_t kLeadMask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t cp = At(s, i) & kLeadMask[len];
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (At(s, i + k) & 0x3Fu);
  return cp;
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

// Line and column (code points, 1-based) of byte `offset` in `text`, counted from the start.
std::pair<uint32_t, uint32_t> LocateFromStart(std::string_view text, size_t offset) {
  uint32_t line = 1;
  uint32_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    const uint8_t c = At(text, i);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

std::string Where(uint32_t line, uint32_t column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
}

Status SyntaxErrorAt(std::string_view text, size_t offset, std::string_view message) {
  const auto [line, column] = LocateFromStart(text, offset);
  return Malformed(std::string(code::kSourceSyntax), Where(line, column) + std::string(message));
}

// ---------------------------------------------------------------------------------------------
// NFKC folding of identifiers to ASCII.
//
// CPython NFKC-normalizes every non-ASCII identifier, so `ｅｘｅｃ` *is* `exec`. A full NFKC
// needs Unicode tables; what matters for a verifier is every spelling that becomes an ASCII
// name, which is exactly the code points below. Generated with Python 3.11 (Unicode 14.0.0):
//   for cp in range(0x80, 0x110000):
//       c = chr(cp); n = unicodedata.normalize("NFKC", c)
//       if ("a" + c).isidentifier() and n.isascii(): table[cp] = n
// and merged into runs [first, last] whose code points map to consecutive single characters
// (for a run of one code point, `ascii` is the whole replacement).
struct AsciiFold {
  uint32_t first;
  uint32_t last;
  const char* ascii;
};

constexpr AsciiFold kAsciiFolds[] = {
    {0xAA, 0xAA, "a"},        {0xBA, 0xBA, "o"},       {0x132, 0x132, "IJ"},
    {0x133, 0x133, "ij"},     {0x17F, 0x17F, "s"},     {0x1C7, 0x1C7, "LJ"},
    {0x1C8, 0x1C8, "Lj"},     {0x1C9, 0x1C9, "lj"},    {0x1CA, 0x1CA, "NJ"},
    {0x1CB, 0x1CB, "Nj"},     {0x1CC, 0x1CC, "nj"},    {0x1F1, 0x1F1, "DZ"},
    {0x1F2, 0x1F2, "Dz"},     {0x1F3, 0x1F3, "dz"},    {0x2B0, 0x2B0, "h"},
    {0x2B2, 0x2B2, "j"},      {0x2B3, 0x2B3, "r"},     {0x2B7, 0x2B7, "w"},
    {0x2B8, 0x2B8, "y"},      {0x2E1, 0x2E1, "l"},     {0x2E2, 0x2E2, "s"},
    {0x2E3, 0x2E3, "x"},      {0x1D2C, 0x1D2C, "A"},   {0x1D2E, 0x1D2E, "B"},
    {0x1D30, 0x1D31, "D"},    {0x1D33, 0x1D3A, "G"},   {0x1D3C, 0x1D3C, "O"},
    {0x1D3E, 0x1D3E, "P"},    {0x1D3F, 0x1D3F, "R"},   {0x1D40, 0x1D41, "T"},
    {0x1D42, 0x1D42, "W"},    {0x1D43, 0x1D43, "a"},   {0x1D47, 0x1D47, "b"},
    {0x1D48, 0x1D49, "d"},    {0x1D4D, 0x1D4D, "g"},   {0x1D4F, 0x1D4F, "k"},
    {0x1D50, 0x1D50, "m"},    {0x1D52, 0x1D52, "o"},   {0x1D56, 0x1D56, "p"},
    {0x1D57, 0x1D58, "t"},    {0x1D5B, 0x1D5B, "v"},   {0x1D62, 0x1D62, "i"},
    {0x1D63, 0x1D63, "r"},    {0x1D64, 0x1D65, "u"},   {0x1D9C, 0x1D9C, "c"},
    {0x1DA0, 0x1DA0, "f"},    {0x1DBB, 0x1DBB, "z"},   {0x2071, 0x2071, "i"},
    {0x207F, 0x207F, "n"},    {0x2090, 0x2090, "a"},   {0x2091, 0x2091, "e"},
    {0x2092, 0x2092, "o"},    {0x2093, 0x2093, "x"},   {0x2095, 0x2095, "h"},
    {0x2096, 0x2099, "k"},    {0x209A, 0x209A, "p"},   {0x209B, 0x209C, "s"},
    {0x2102, 0x2102, "C"},    {0x210A, 0x210A, "g"},   {0x210B, 0x210B, "H"},
    {0x210C, 0x210C, "H"},    {0x210D, 0x210D, "H"},   {0x210E, 0x210E, "h"},
    {0x2110, 0x2110, "I"},    {0x2111, 0x2111, "I"},   {0x2112, 0x2112, "L"},
    {0x2113, 0x2113, "l"},    {0x2115, 0x2115, "N"},   {0x2119, 0x211B, "P"},
    {0x211C, 0x211C, "R"},    {0x211D, 0x211D, "R"},   {0x2124, 0x2124, "Z"},
    {0x2128, 0x2128, "Z"},    {0x212A, 0x212A, "K"},   {0x212C, 0x212D, "B"},
    {0x212F, 0x212F, "e"},    {0x2130, 0x2131, "E"},   {0x2133, 0x2133, "M"},
    {0x2134, 0x2134, "o"},    {0x2139, 0x2139, "i"},   {0x2145, 0x2145, "D"},
    {0x2146, 0x2147, "d"},    {0x2148, 0x2149, "i"},   {0x2160, 0x2160, "I"},
    {0x2161, 0x2161, "II"},   {0x2162, 0x2162, "III"}, {0x2163, 0x2163, "IV"},
    {0x2164, 0x2164, "V"},    {0x2165, 0x2165, "VI"},  {0x2166, 0x2166, "VII"},
    {0x2167, 0x2167, "VIII"}, {0x2168, 0x2168, "IX"},  {0x2169, 0x2169, "X"},
    {0x216A, 0x216A, "XI"},   {0x216B, 0x216B, "XII"}, {0x216C, 0x216C, "L"},
    {0x216D, 0x216E, "C"},    {0x216F, 0x216F, "M"},   {0x2170, 0x2170, "i"},
    {0x2171, 0x2171, "ii"},   {0x2172, 0x2172, "iii"}, {0x2173, 0x2173, "iv"},
    {0x2174, 0x2174, "v"},    {0x2175, 0x2175, "vi"},  {0x2176, 0x2176, "vii"},
    {0x2177, 0x2177, "viii"}, {0x2178, 0x2178, "ix"},  {0x2179, 0x2179, "x"},
    {0x217A, 0x217A, "xi"},   {0x217B, 0x217B, "xii"}, {0x217C, 0x217C, "l"},
    {0x217D, 0x217E, "c"},    {0x217F, 0x217F, "m"},   {0x2C7C, 0x2C7C, "j"},
    {0x2C7D, 0x2C7D, "V"},    {0xA7F2, 0xA7F2, "C"},   {0xA7F3, 0xA7F3, "F"},
    {0xA7F4, 0xA7F4, "Q"},    {0xFB00, 0xFB00, "ff"},  {0xFB01, 0xFB01, "fi"},
    {0xFB02, 0xFB02, "fl"},   {0xFB03, 0xFB03, "ffi"}, {0xFB04, 0xFB04, "ffl"},
    {0xFB05, 0xFB05, "st"},   {0xFB06, 0xFB06, "st"},  {0xFE33, 0xFE33, "_"},
    {0xFE34, 0xFE34, "_"},    {0xFE4D, 0xFE4D, "_"},   {0xFE4E, 0xFE4E, "_"},
    {0xFE4F, 0xFE4F, "_"},    {0xFF10, 0xFF19, "0"},   {0xFF21, 0xFF3A, "A"},
    {0xFF3F, 0xFF3F, "_"},    {0xFF41, 0xFF5A, "a"},   {0x107A5, 0x107A5, "q"},
    {0x1D400, 0x1D419, "A"},  {0x1D41A, 0x1D433, "a"}, {0x1D434, 0x1D44D, "A"},
    {0x1D44E, 0x1D454, "a"},  {0x1D456, 0x1D467, "i"}, {0x1D468, 0x1D481, "A"},
    {0x1D482, 0x1D49B, "a"},  {0x1D49C, 0x1D49C, "A"}, {0x1D49E, 0x1D49F, "C"},
    {0x1D4A2, 0x1D4A2, "G"},  {0x1D4A5, 0x1D4A6, "J"}, {0x1D4A9, 0x1D4AC, "N"},
    {0x1D4AE, 0x1D4B5, "S"},  {0x1D4B6, 0x1D4B9, "a"}, {0x1D4BB, 0x1D4BB, "f"},
    {0x1D4BD, 0x1D4C3, "h"},  {0x1D4C5, 0x1D4CF, "p"}, {0x1D4D0, 0x1D4E9, "A"},
    {0x1D4EA, 0x1D503, "a"},  {0x1D504, 0x1D505, "A"}, {0x1D507, 0x1D50A, "D"},
    {0x1D50D, 0x1D514, "J"},  {0x1D516, 0x1D51C, "S"}, {0x1D51E, 0x1D537, "a"},
    {0x1D538, 0x1D539, "A"},  {0x1D53B, 0x1D53E, "D"}, {0x1D540, 0x1D544, "I"},
    {0x1D546, 0x1D546, "O"},  {0x1D54A, 0x1D550, "S"}, {0x1D552, 0x1D56B, "a"},
    {0x1D56C, 0x1D585, "A"},  {0x1D586, 0x1D59F, "a"}, {0x1D5A0, 0x1D5B9, "A"},
    {0x1D5BA, 0x1D5D3, "a"},  {0x1D5D4, 0x1D5ED, "A"}, {0x1D5EE, 0x1D607, "a"},
    {0x1D608, 0x1D621, "A"},  {0x1D622, 0x1D63B, "a"}, {0x1D63C, 0x1D655, "A"},
    {0x1D656, 0x1D66F, "a"},  {0x1D670, 0x1D689, "A"}, {0x1D68A, 0x1D6A3, "a"},
    {0x1D7CE, 0x1D7D7, "0"},  {0x1D7D8, 0x1D7E1, "0"}, {0x1D7E2, 0x1D7EB, "0"},
    {0x1D7EC, 0x1D7F5, "0"},  {0x1D7F6, 0x1D7FF, "0"}, {0x1FBF0, 0x1FBF9, "0"},
};

// Appends the NFKC fold of `cp` if it is ASCII; returns false if `cp` has no ASCII fold.
bool AppendAsciiFold(std::string& out, uint32_t cp) {
  const auto* it = std::upper_bound(std::begin(kAsciiFolds), std::end(kAsciiFolds), cp,
                                    [](uint32_t v, const AsciiFold& f) { return v < f.first; });
  if (it == std::begin(kAsciiFolds)) return false;
  const AsciiFold& f = *(it - 1);
  if (cp > f.last) return false;
  const std::string_view ascii(f.ascii);
  if (f.first == f.last) {
    out += ascii;
  } else {
    out += static_cast<char>(ascii.front() + (cp - f.first));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoding: BOM, PEP 263 cookie, line ends (CPython 3.11 Parser/tokenizer.c, decode_str()).

enum class Encoding : uint8_t { kUtf8, kLatin1, kAscii, kUnsupported };

// get_coding_spec(): the name after "coding[:=]" on a line that is only a comment.
std::optional<std::string_view> CodingSpec(std::string_view line) {
  const size_t size = line.size();
  size_t i = 0;
  for (; i + 6 < size; ++i) {
    const uint8_t c = At(line, i);
    if (c == '#') break;
    if (!IsBlank(c)) return std::nullopt;
  }
  for (; i + 6 < size; ++i) {
    if (line.substr(i, 6) != "coding") continue;
    size_t t = i + 6;
    if (At(line, t) != ':' && At(line, t) != '=') continue;
    do {
      ++t;
    } while (At(line, t) == ' ' || At(line, t) == '\t');
    const size_t begin = t;
    while (IsAsciiAlnum(At(line, t)) || At(line, t) == '-' || At(line, t) == '_' ||
           At(line, t) == '.') {
      ++t;
    }
    if (begin < t) return line.substr(begin, t - begin);
  }
  return std::nullopt;
}

// True if `line` holds nothing but blanks and maybe a comment (then line 2 may hold the cookie).
bool IsCommentOrBlank(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    const uint8_t c = At(line, i);
    if (c == '#') return true;
    if (!IsBlank(c)) return false;
  }
  return true;
}

std::string HexByte(uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[b >> 4] + kHex[b & 15];
}

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// get_normal_name(): "utf-8" and "iso-8859-1" for their common spellings, else the spec.
std::string NormalName(std::string_view spec) {
  std::string buf;
  for (size_t i = 0; i < spec.size() && i < 12; ++i) {
    buf += spec[i] == '_' ? '-' : AsciiLower(spec[i]);
  }
  const std::string_view b(buf);
  if (b == "utf-8" || b.starts_with("utf-8-")) return "utf-8";
  if (b == "latin-1" || b == "iso-8859-1" || b == "iso-latin-1" || b.starts_with("latin-1-") ||
      b.starts_with("iso-8859-1-") || b.starts_with("iso-latin-1-")) {
    return "iso-8859-1";
  }
  return std::string(spec);
}

// codecs.lookup() restricted to the codecs we accept: encodings.normalize_encoding() on the
// lower-cased name, then the aliases of utf_8, latin_1 and ascii in encodings/aliases.py.
Encoding LookupCodec(std::string_view name) {
  std::string norm;
  bool punct = false;
  for (char c : name) {
    if (IsAsciiAlnum(static_cast<uint8_t>(c)) || c == '.') {
      if (punct && !norm.empty()) norm += '_';
      norm += AsciiLower(c);
      punct = false;
    } else {
      punct = true;
    }
  }
  struct Alias {
    std::string_view name;
    Encoding encoding;
  };
  static constexpr Alias kAliases[] = {
      {"u8", Encoding::kUtf8},
      {"utf", Encoding::kUtf8},
      {"utf8", Encoding::kUtf8},
      {"utf8_ucs2", Encoding::kUtf8},
      {"utf8_ucs4", Encoding::kUtf8},
      {"cp65001", Encoding::kUtf8},
      {"8859", Encoding::kLatin1},
      {"cp819", Encoding::kLatin1},
      {"csisolatin1", Encoding::kLatin1},
      {"ibm819", Encoding::kLatin1},
      {"iso8859", Encoding::kLatin1},
      {"iso8859_1", Encoding::kLatin1},
      {"iso_8859_1", Encoding::kLatin1},
      {"iso_8859_1_1987", Encoding::kLatin1},
      {"iso_ir_100", Encoding::kLatin1},
      {"l1", Encoding::kLatin1},
      {"latin", Encoding::kLatin1},
      {"latin1", Encoding::kLatin1},
      {"646", Encoding::kAscii},
      {"ansi_x3.4_1968", Encoding::kAscii},
      {"ansi_x3_4_1968", Encoding::kAscii},
      {"ansi_x3.4_1986", Encoding::kAscii},
      {"cp367", Encoding::kAscii},
      {"csascii", Encoding::kAscii},
      {"ibm367", Encoding::kAscii},
      {"iso646_us", Encoding::kAscii},
      {"iso_646.irv_1991", Encoding::kAscii},
      {"iso_ir_6", Encoding::kAscii},
      {"us", Encoding::kAscii},
      {"us_ascii", Encoding::kAscii},
  };
  std::string underscored = norm;
  std::replace(underscored.begin(), underscored.end(), '.', '_');
  for (const Alias& a : kAliases) {
    if (a.name == norm || a.name == underscored) return a.encoding;
  }
  // Not an alias: the name of a module in the encodings package, taken as is.
  if (norm == "utf_8") return Encoding::kUtf8;
  if (norm == "latin_1") return Encoding::kLatin1;
  if (norm == "ascii") return Encoding::kAscii;
  return Encoding::kUnsupported;
}

// Bytes -> UTF-8 text with "\n" line ends, as CPython 3.11 reads source bytes.
Result<std::string> DecodeSource(std::span<const uint8_t> source) {
  const std::string_view bytes(reinterpret_cast<const char*>(source.data()), source.size());
  // translate_newlines(): "\r\n" and "\r" become "\n" before anything else looks at lines.
  std::string raw;
  raw.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t c = At(bytes, i);
    if (c == 0) {
      // CPython refuses NUL bytes; C tools reading the same file would stop at them.
      return SyntaxErrorAt(raw, raw.size(), "source code cannot contain null bytes");
    }
    if (c == '\r') {
      raw += '\n';
      if (At(bytes, i + 1) == '\n') ++i;
    } else {
      raw += static_cast<char>(c);
    }
  }
  std::string_view body(raw);
  const bool bom = body.starts_with("\xEF\xBB\xBF");
  if (bom) body.remove_prefix(3);

  // The cookie may be on line 1, or on line 2 if line 1 is blank or only a comment.
  Encoding encoding = Encoding::kUtf8;
  const size_t nl1 = body.find('\n');
  const std::string_view line1 = body.substr(0, nl1);
  std::optional<std::string_view> spec = CodingSpec(line1);
  uint32_t spec_line = 1;
  if (!spec && nl1 != std::string_view::npos && IsCommentOrBlank(line1) && nl1 + 1 < body.size()) {
    const size_t nl2 = body.find('\n', nl1 + 1);
    spec = CodingSpec(body.substr(nl1 + 1, nl2 == std::string_view::npos ? nl2 : nl2 - nl1 - 1));
    spec_line = 2;
  }
  if (spec) {
    const std::string normal = NormalName(*spec);
    const std::string where = Where(spec_line, 1);
    if (bom && normal != "utf-8") {
      // A BOM says UTF-8; a cookie naming anything else makes the encoding ambiguous.
      return Malformed(std::string(code::kSourceSyntax),
                       where + "encoding problem: " + Printable(normal) + " with BOM");
    }
    if (normal == "utf-8") {
      encoding = Encoding::kUtf8;
    } else if (normal == "iso-8859-1") {
      encoding = Encoding::kLatin1;
    } else {
      encoding = LookupCodec(normal);
    }
    if (encoding == Encoding::kUnsupported) {
      return Malformed(std::string(code::kSourceSyntax),
                       where + "unsupported source encoding '" + Printable(normal) +
                           "' (only utf-8, latin-1 and ascii are accepted)");
    }
  }

  std::string text;
  switch (encoding) {
    case Encoding::kUtf8:
      for (size_t i = 0; i < body.size();) {
        const size_t len = Utf8Length(body, i);
        if (len == 0) {
          return SyntaxErrorAt(body, i, "invalid UTF-8 byte " + HexByte(At(body, i)));
        }
        i += len;
      }
      text.assign(body);
      break;
    case Encoding::kLatin1:
      text.reserve(body.size());
      for (size_t i = 0; i < body.size(); ++i) AppendUtf8(text, At(body, i));
      break;
    case Encoding::kAscii:
      for (size_t i = 0; i < body.size(); ++i) {
        if (At(body, i) >= 0x80) {
          return SyntaxErrorAt(body, i,
                               "non-ASCII byte " + HexByte(At(body, i)) + " in ascii source");
        }
      }
      text.assign(body);
      break;
    case Encoding::kUnsupported:
      break;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Lexing. One loop over an explicit context stack: brackets, f-strings (their literal text),
// f-string replacement fields (code up to the end CPython computes for them) and format specs.

class Lexer {
 public:
  Lexer(const SourceLimits& limits, TokenizedSource& out)
      : limits_(limits), out_(out), text_(out.text), limit_(text_.size()) {}

  Status Run() {
    while (true) {
      if (!stack_.empty() && (stack_.back().kind == ContextKind::kFString ||
                              stack_.back().kind == ContextKind::kFormatSpec)) {
        SEALPKG_RETURN_IF_ERROR(LiteralStep());
        continue;
      }
      if (pos_ < limit_) {
        SEALPKG_RETURN_IF_ERROR(CodeStep());
        continue;
      }
      if (active_fields_ > 0) {
        SEALPKG_RETURN_IF_ERROR(FinishFieldExpression());
        continue;
      }
      // End of the source.
      if (!stack_.empty()) {
        const Token& open = out_.tokens[stack_.back().token];
        return Malformed(std::string(code::kSourceSyntax),
                         Where(open.line, open.column) + "'" +
                             std::string(out_.Text(open).substr(0, 1)) + "' was never closed");
      }
      if (!out_.tokens.empty() && out_.tokens.back().kind != TokenKind::kNewline) {
        SEALPKG_RETURN_IF_ERROR(Emit(TokenKind::kNewline, pos_, pos_));
      }
      return OkStatus();
    }
  }

 private:
  enum class ContextKind : uint8_t {
    kBracket,     // ( [ { in code
    kFString,     // literal text of an f-string (level 0)
    kField,       // a replacement field: code up to expr_end, then conversion/spec/'}'
    kFormatSpec,  // literal text of a format spec (level >= 1), ends at '}'
  };
  struct Context {
    ContextKind kind = ContextKind::kBracket;
    bool raw = false;        // f-string contexts: an rf-string (no escapes in literal text)
    bool expr_done = false;  // kField: the expression was lexed, a format spec follows
    uint8_t quote_len = 0;   // kFString: 1 or 3
    uint32_t level = 0;      // nesting level of the literal text (CPython's recurse_lvl)
    uint32_t token = 0;      // index of the opening token
    size_t body_end = 0;     // f-string contexts: offset of the closing quote
    size_t saved_limit = 0;  // kField: limit_ to restore when the expression ends
  };

  // Reads in code: 0 at and after limit_ (the end of the text or of a field's expression).
  uint8_t C(size_t i) const { return i < limit_ ? At(text_, i) : 0; }

  Status Error(size_t offset, std::string_view message) {
    const auto [line, column] = Locate(offset);
    return Malformed(std::string(code::kSourceSyntax), Where(line, column) + std::string(message));
  }
  Status TooLarge(size_t offset, std::string_view message) {
    const auto [line, column] = Locate(offset);
    return LimitExceeded(std::string(code::kSourceTooLarge),
                         Where(line, column) + std::string(message));
  }

  // Line/column of `offset`; O(1) amortized for the increasing offsets of tokens.
  std::pair<uint32_t, uint32_t> Locate(size_t offset) {
    if (offset < track_offset_) {
      track_offset_ = 0;
      track_line_ = 1;
      track_column_ = 1;
    }
    for (; track_offset_ < offset && track_offset_ < text_.size(); ++track_offset_) {
      const uint8_t c = At(text_, track_offset_);
      if (c == '\n') {
        ++track_line_;
        track_column_ = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++track_column_;
      }
    }
    return {track_line_, track_column_};
  }

  Status Emit(TokenKind kind, size_t begin, size_t end, uint8_t flags = 0) {
    if (out_.tokens.size() >= limits_.max_tokens) {
      return TooLarge(begin, "more than " + std::to_string(limits_.max_tokens) + " tokens");
    }
    Token t;
    t.kind = kind;
    t.flags = flags;
    t.begin = static_cast<uint32_t>(begin);
    t.end = static_cast<uint32_t>(end);
    t.depth = static_cast<uint32_t>(std::min<size_t>(stack_.size(), UINT32_MAX - 1));
    std::tie(t.line, t.column) = Locate(begin);
    out_.tokens.push_back(t);
    return OkStatus();
  }
  uint32_t LastIndex() const { return static_cast<uint32_t>(out_.tokens.size() - 1); }

  // Emits the opening token of `context` and pushes it; the stack is capped by max_nesting.
  Status Open(Context context, TokenKind kind, size_t begin, size_t end, uint8_t flags = 0) {
    if (stack_.size() >= limits_.max_nesting) {
      return TooLarge(begin, "more than " + std::to_string(limits_.max_nesting) +
                                 " nested brackets and f-string parts");
    }
    SEALPKG_RETURN_IF_ERROR(Emit(kind, begin, end, flags));
    context.token = LastIndex();
    stack_.push_back(context);
    return OkStatus();
  }
  // Pops the top context and emits its closing token, linking the two.
  Status Close(TokenKind kind, size_t begin, size_t end) {
    const Context top = stack_.back();
    stack_.pop_back();
    SEALPKG_RETURN_IF_ERROR(Emit(kind, begin, end));
    out_.tokens.back().partner = top.token;
    out_.tokens[top.token].partner = LastIndex();
    return OkStatus();
  }

  // ----- code

  Status CodeStep() {
    const uint8_t c = C(pos_);
    if (IsBlank(c)) {
      ++pos_;
      return OkStatus();
    }
    if (c == '\n') {
      // A logical line ends at a newline outside brackets and f-strings.
      if (stack_.empty() && !out_.tokens.empty() &&
          out_.tokens.back().kind != TokenKind::kNewline) {
        SEALPKG_RETURN_IF_ERROR(Emit(TokenKind::kNewline, pos_, pos_ + 1));
      }
      ++pos_;
      return OkStatus();
    }
    if (c == '#') {
      while (pos_ < limit_ && C(pos_) != '\n') ++pos_;
      return OkStatus();
    }
    if (c == '\\') {
      // Explicit line joining: a backslash must end its line, and a line must follow.
      if (C(pos_ + 1) != '\n') {
        return Error(pos_, "unexpected character after line continuation character");
      }
      if (pos_ + 2 >= limit_) return Error(pos_, "unexpected end of file after line continuation");
      pos_ += 2;
      return OkStatus();
    }
    if (c == '\'' || c == '"') return LexString(pos_, pos_, 0);
    if (IsDigit(c) || (c == '.' && IsDigit(C(pos_ + 1)))) return LexNumber();
    if (IsIdentifierStart(c)) return LexName();
    return LexOperator();
  }

  Status LexName() {
    // CPython tok_get(): a run of prefix letters directly followed by a quote starts a string.
    size_t p = pos_;
    bool saw_b = false, saw_r = false, saw_u = false, saw_f = false;
    while (true) {
      const uint8_t c = C(p);
      if (!(saw_b || saw_u || saw_f) && (c == 'b' || c == 'B')) {
        saw_b = true;
      } else if (!(saw_b || saw_u || saw_r || saw_f) && (c == 'u' || c == 'U')) {
        saw_u = true;
      } else if (!(saw_r || saw_u) && (c == 'r' || c == 'R')) {
        saw_r = true;
      } else if (!(saw_f || saw_b || saw_u) && (c == 'f' || c == 'F')) {
        saw_f = true;
      } else {
        break;
      }
      ++p;
      if (C(p) == '"' || C(p) == '\'') {
        const uint8_t flags =
            (saw_r ? kStringRaw : 0) | (saw_b ? kStringBytes : 0) | (saw_f ? kStringFormatted : 0);
        return LexString(pos_, p, flags);
      }
    }
    bool ascii = true;
    while (IsIdentifierChar(C(p))) {
      ascii = ascii && C(p) < 0x80;
      ++p;
    }
    SEALPKG_RETURN_IF_ERROR(Emit(TokenKind::kName, pos_, p));
    if (!ascii) SEALPKG_RETURN_IF_ERROR(FoldName(pos_, p));
    pos_ = p;
    return OkStatus();
  }

  // Records the NFKC-to-ASCII fold of the non-ASCII name text_[begin, end).
  Status FoldName(size_t begin, size_t end) {
    std::string folded;
    for (size_t i = begin; i < end;) {
      const size_t len = std::max<size_t>(Utf8Length(text_, i), 1);  // text is valid UTF-8
      if (len == 1 || !AppendAsciiFold(folded, CodePointAt(text_, i, len))) {
        folded.append(text_.substr(i, len));
      }
      i += len;
    }
    if (IsDigit(At(folded, 0))) {
      // Only digits (Nd) fold to ASCII digits, and no identifier starts with one.
      return Error(begin, "invalid character in identifier");
    }
    if (folded != text_.substr(begin, end - begin)) {
      out_.folded_names.emplace_back(LastIndex(), std::move(folded));
    }
    return OkStatus();
  }

  Status LexNumber() {
    size_t p = pos_;
    // digit ('_'? digit)*: underscores only between digits, as in CPython.
    const auto digits = [&](bool (*is_digit)(uint8_t)) {
      while (true) {
        if (is_digit(C(p))) {
          ++p;
        } else if (C(p) == '_' && is_digit(C(p + 1))) {
          p += 2;
        } else {
          break;
        }
      }
    };
    const uint8_t radix = static_cast<uint8_t>(C(p + 1) | 0x20);
    if (C(p) == '0' && (radix == 'x' || radix == 'o' || radix == 'b')) {
      p += 2;
      digits(radix == 'x' ? IsHexDigit : radix == 'o' ? IsOctDigit : IsBinDigit);
    } else {
      if (C(p) != '.') digits(IsDigit);
      if (C(p) == '.') {
        ++p;
        if (IsDigit(C(p))) digits(IsDigit);
      }
      if ((C(p) | 0x20) == 'e') {
        size_t q = p + 1;
        if (C(q) == '+' || C(q) == '-') ++q;
        if (IsDigit(C(q))) {
          p = q;
          digits(IsDigit);
        }
      }
      if ((C(p) | 0x20) == 'j') ++p;
    }
    SEALPKG_RETURN_IF_ERROR(Emit(TokenKind::kNumber, pos_, p));
    pos_ = p;
    return OkStatus();
  }

  // A string starting at `begin` (its prefix) whose opening quote is at `quote`. The extent is
  // found exactly as CPython's tokenizer finds it (a backslash always skips the next character,
  // raw or not), so f-string fields are split up only after the whole literal is known.
  Status LexString(size_t begin, size_t quote, uint8_t flags) {
    const uint8_t q = C(quote);
    size_t p = quote + 1;
    uint8_t quote_len = 1;
    size_t body_begin = p;
    size_t body_end = p;
    if (C(p) == q && C(p + 1) == q) {
      quote_len = 3;
      p += 2;
      body_begin = p;
    }
    if (C(quote + 1) == q && quote_len == 1) {  // '' or ""
      p = quote + 2;
      body_end = quote + 1;
    } else {
      int end_quote = 0;
      while (end_quote != quote_len) {
        if (p >= limit_) {
          return Error(begin, quote_len == 3 ? "unterminated triple-quoted string literal"
                                             : "unterminated string literal");
        }
        const uint8_t c = C(p++);
        if (quote_len == 1 && c == '\n') return Error(begin, "unterminated string literal");
        if (c == q) {
          ++end_quote;
        } else {
          end_quote = 0;
          if (c == '\\' && p < limit_) ++p;
        }
      }
      body_end = p - quote_len;
    }
    if (flags & kStringFormatted) {
      Context fstring;
      fstring.kind = ContextKind::kFString;
      fstring.raw = (flags & kStringRaw) != 0;
      fstring.quote_len = quote_len;
      fstring.level = 0;
      fstring.body_end = body_end;
      SEALPKG_RETURN_IF_ERROR(Open(fstring, TokenKind::kFStringStart, begin, body_begin, flags));
      pos_ = body_begin;
      return OkStatus();
    }
    SEALPKG_RETURN_IF_ERROR(Emit(TokenKind::kString, begin, p, flags));
    pos_ = p;
    return OkStatus();
  }

  Status LexOperator() {
    static constexpr std::string_view kThree[] = {"**=", "//=", ">>=", "<<=", "..."};
    static constexpr std::string_view kTwo[] = {"!=", "%=", "&=", "**", "*=", "+=", "-=",
                                                "->", "//", "/=", ":=", "<<", "<=", "<>",
                                                "==", ">=", ">>", "@=", "^=", "|="};
    static constexpr std::string_view kOne = "%&()*+,-./:;<=>@[]^{|}~";
    const std::string_view ahead = text_.substr(pos_, std::min<size_t>(3, limit_ - pos_));
    size_t len = 0;
    for (std::string_view op : kThree) {
      if (ahead.starts_with(op)) len = 3;
    }
    for (std::string_view op : kTwo) {
      if (len == 0 && ahead.starts_with(op)) len = 2;
    }
    const uint8_t c = C(pos_);
    if (len == 0 && kOne.find(static_cast<char>(c)) != std::string_view::npos) len = 1;
    if (len == 0) {
      if (c < 0x20 || c == 0x7F) {
        return Error(pos_, "invalid non-printable character " + HexByte(c));
      }
      return Error(pos_, "invalid character '" + Printable(text_.substr(pos_, 1)) + "'");
    }
    const size_t begin = pos_;
    pos_ += len;
    if (c == '(' || c == '[' || c == '{') {
      Context bracket;
      bracket.kind = ContextKind::kBracket;
      return Open(bracket, TokenKind::kOp, begin, pos_);
    }
    if (c == ')' || c == ']' || c == '}') {
      if (stack_.empty() || stack_.back().kind != ContextKind::kBracket) {
        return Error(begin, std::string("unmatched '") + static_cast<char>(c) + "'");
      }
      const char open = static_cast<char>(At(text_, out_.tokens[stack_.back().token].begin));
      if ((open == '(' && c != ')') || (open == '[' && c != ']') || (open == '{' && c != '}')) {
        return Error(begin, std::string("closing parenthesis '") + static_cast<char>(c) +
                                "' does not match opening parenthesis '" + open + "'");
      }
      return Close(TokenKind::kOp, begin, pos_);
    }
    return Emit(TokenKind::kOp, begin, pos_);
  }

  // ----- f-strings (CPython 3.11 Parser/string_parser.c)

  // fstring_find_literal(): literal text up to a '{' starting a field, a '}' ending a format
  // spec, or the closing quote.
  Status LiteralStep() {
    const Context& ctx = stack_.back();
    const size_t end = ctx.body_end;
    const bool raw = ctx.raw;
    const uint32_t level = ctx.level;
    size_t s = pos_;
    while (s < end) {
      uint8_t ch = At(text_, s++);
      if (!raw && ch == '\\' && s < end) {
        ch = At(text_, s++);
        if (ch == 'N') {
          // "\N{NAME}": its braces do not start a field.
          if (s < end && At(text_, s++) == '{') {
            while (s < end && At(text_, s++) != '}') {
            }
          }
          continue;
        }
      }
      if (ch == '{' || ch == '}') {
        if (level == 0) {
          if (s < end && At(text_, s) == ch) {  // "{{" or "}}"
            ++s;
            continue;
          }
          if (ch == '}') return Error(s - 1, "f-string: single '}' is not allowed");
        }
        --s;
        break;
      }
    }
    pos_ = s;
    if (s >= end) {
      if (level > 0) return Error(s, "f-string: expecting '}'");
      const size_t quote_len = ctx.quote_len;
      SEALPKG_RETURN_IF_ERROR(Close(TokenKind::kFStringEnd, end, end + quote_len));
      pos_ = end + quote_len;
      return OkStatus();
    }
    if (At(text_, s) == '}') {  // end of a format spec (level > 0): closes its field
      stack_.pop_back();
      return CloseField(s);
    }
    // '{': a replacement field.
    if (level >= 2) return Error(s, "f-string: expressions nested too deeply");
    SEALPKG_ASSIGN_OR_RETURN(const size_t expr_end, FindExpressionEnd(s + 1, end));
    size_t k = s + 1;
    while (k < expr_end && (IsBlank(At(text_, k)) || At(text_, k) == '\n')) ++k;
    if (k == expr_end) return Error(s, "f-string: empty expression not allowed");
    Context field;
    field.kind = ContextKind::kField;
    field.raw = raw;
    field.level = level;
    field.body_end = end;
    field.saved_limit = limit_;
    SEALPKG_RETURN_IF_ERROR(Open(field, TokenKind::kOp, s, s + 1));
    ++active_fields_;
    limit_ = expr_end;
    pos_ = s + 1;
    return OkStatus();
  }

  // fstring_find_expr(): where the expression of the field starting at `start` ends (at '!',
  // ':', '}' or '=' outside brackets and nested strings).
  Result<size_t> FindExpressionEnd(size_t start, size_t end) {
    uint8_t quote = 0;
    int string_type = 0;
    std::string parens;
    size_t s = start;
    for (; s < end; ++s) {
      const uint8_t ch = At(text_, s);
      if (ch == '\\') return Error(s, "f-string expression part cannot include a backslash");
      if (quote != 0) {
        if (ch == quote) {
          if (string_type == 3) {
            if (s + 2 < end && At(text_, s + 1) == ch && At(text_, s + 2) == ch) {
              s += 2;
              string_type = 0;
              quote = 0;
            }
          } else {
            string_type = 0;
            quote = 0;
          }
        }
      } else if (ch == '\'' || ch == '"') {
        if (s + 2 < end && At(text_, s + 1) == ch && At(text_, s + 2) == ch) {
          string_type = 3;
          s += 2;
        } else {
          string_type = 1;
        }
        quote = ch;
      } else if (ch == '[' || ch == '{' || ch == '(') {
        if (parens.size() + stack_.size() >= limits_.max_nesting) {
          return TooLarge(s, "more than " + std::to_string(limits_.max_nesting) +
                                 " nested brackets and f-string parts");
        }
        parens += static_cast<char>(ch);
      } else if (ch == '#') {
        return Error(s, "f-string expression part cannot include '#'");
      } else if (parens.empty() &&
                 (ch == '!' || ch == ':' || ch == '}' || ch == '=' || ch == '>' || ch == '<')) {
        if (s + 1 < end) {
          const uint8_t next = At(text_, s + 1);
          if ((ch == '!' || ch == '=' || ch == '<' || ch == '>') && next == '=') {
            ++s;  // != == <= >=
            continue;
          }
          if (ch == '>' || ch == '<') continue;
        }
        break;
      } else if (ch == ']' || ch == '}' || ch == ')') {
        if (parens.empty()) {
          return Error(s, std::string("f-string: unmatched '") + static_cast<char>(ch) + "'");
        }
        const char open = parens.back();
        parens.pop_back();
        if (!((open == '(' && ch == ')') || (open == '[' && ch == ']') ||
              (open == '{' && ch == '}'))) {
          return Error(s, std::string("f-string: closing parenthesis '") + static_cast<char>(ch) +
                              "' does not match opening parenthesis '" + open + "'");
        }
      }
    }
    if (quote != 0) return Error(s, "f-string: unterminated string");
    if (!parens.empty()) {
      return Error(s, std::string("f-string: unmatched '") + parens.back() + "'");
    }
    if (s >= end) return Error(s, "f-string: expecting '}'");
    return s;
  }

  // The field's expression has been lexed up to expr_end (limit_): '=', '!c', ':spec', '}'.
  Status FinishFieldExpression() {
    Context& field = stack_.back();
    if (field.kind != ContextKind::kField) {
      // A bracket opened inside the expression was not closed before the end CPython found.
      return Error(out_.tokens[field.token].begin, "f-string: unmatched bracket");
    }
    const size_t end = field.body_end;
    size_t p = limit_;
    const auto ch = [&](size_t i) { return i < end ? At(text_, i) : 0; };
    if (ch(p) == '=') {  // f"{x=}": self-documenting expression
      ++p;
      while (p < end && IsPySpace(At(text_, p))) ++p;
    }
    if (ch(p) == '!') {
      ++p;
      if (p >= end) return Error(p, "f-string: expecting '}'");
      const uint8_t conversion = At(text_, p++);
      if (conversion != 's' && conversion != 'r' && conversion != 'a') {
        return Error(p - 1, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
      }
    }
    if (p >= end) return Error(p, "f-string: expecting '}'");
    if (At(text_, p) == ':') {
      ++p;
      if (p >= end) return Error(p, "f-string: expecting '}'");
      field.expr_done = true;
      --active_fields_;
      limit_ = field.saved_limit;
      Context spec;
      spec.kind = ContextKind::kFormatSpec;
      spec.raw = field.raw;
      spec.level = field.level + 1;
      spec.body_end = end;
      spec.token = field.token;
      if (stack_.size() >= limits_.max_nesting) {
        return TooLarge(p, "more than " + std::to_string(limits_.max_nesting) +
                               " nested brackets and f-string parts");
      }
      stack_.push_back(spec);
      pos_ = p;
      return OkStatus();
    }
    if (At(text_, p) != '}') return Error(p, "f-string: expecting '}'");
    return CloseField(p);
  }

  // Emits the '}' at `at` closing the field on top of the stack.
  Status CloseField(size_t at) {
    const Context& field = stack_.back();
    if (!field.expr_done) --active_fields_;
    limit_ = field.saved_limit;
    SEALPKG_RETURN_IF_ERROR(Close(TokenKind::kOp, at, at + 1));
    pos_ = at + 1;
    return OkStatus();
  }

  const SourceLimits& limits_;
  TokenizedSource& out_;
  std::string_view text_;
  std::vector<Context> stack_;
  size_t pos_ = 0;
  size_t limit_;              // end of the code being lexed (text end or a field's expr_end)
  size_t active_fields_ = 0;  // kField contexts whose expression is being lexed
  size_t track_offset_ = 0;   // Locate() cache
  uint32_t track_line_ = 1;
  uint32_t track_column_ = 1;
};

}  // namespace

std::string_view TokenizedSource::Name(size_t index) const {
  const auto it = std::lower_bound(
      folded_names.begin(), folded_names.end(), index,
      [](const std::pair<uint32_t, std::string>& f, size_t i) { return f.first < i; });
  if (it != folded_names.end() && it->first == index) return it->second;
  return index < tokens.size() ? Text(tokens[index]) : std::string_view();
}

Result<TokenizedSource> TokenizePython(std::span<const uint8_t> source,
                                       const SourceLimits& limits) {
  if (source.size() > limits.max_source_bytes) {
    return LimitExceeded(std::string(code::kSourceTooLarge),
                         "source is " + std::to_string(source.size()) +
                             " bytes, more than the limit of " +
                             std::to_string(limits.max_source_bytes));
  }
  TokenizedSource out;
  SEALPKG_ASSIGN_OR_RETURN(out.text, DecodeSource(source));
  // Token offsets are 32-bit; latin-1 sources grow by up to 2x when decoded.
  if (out.text.size() >= UINT32_MAX - 8) {
    return LimitExceeded(std::string(code::kSourceTooLarge), "decoded source exceeds 4 GiB");
  }
  for (char c : out.text) out.line_count += c == '\n';
  if (!out.text.empty() && out.text.back() != '\n') ++out.line_count;
  // Real sources have about one token per 4-6 bytes; reserving for one per 4 (within the
  // limit) avoids most regrowth copies, and untouched reserved pages cost nothing.
  out.tokens.reserve(std::min<uint64_t>(out.text.size() / 4 + 16, limits.max_tokens));
  Lexer lexer(limits, out);
  SEALPKG_RETURN_IF_ERROR(lexer.Run());
  return out;
}

// ---------------------------------------------------------------------------------------------
// String literal values (decode_unicode_with_escapes() for str literals).

std::optional<std::string> StringLiteralValue(std::string_view text) {
  size_t i = 0;
  bool raw = false;
  while (i < text.size() && IsAsciiLetter(At(text, i))) {
    const uint8_t c = static_cast<uint8_t>(At(text, i) | 0x20);
    if (c == 'b' || c == 'f') return std::nullopt;  // bytes and f-strings are not str constants
    if (c == 'r') raw = true;
    ++i;
  }
  const uint8_t q = At(text, i);
  if (q != '\'' && q != '"') return std::nullopt;
  const size_t quote_len =
      (At(text, i + 1) == q && At(text, i + 2) == q && text.size() - i >= 6) ? 3 : 1;
  if (text.size() < i + 2 * quote_len) return std::nullopt;
  const std::string_view body = text.substr(i + quote_len, text.size() - i - 2 * quote_len);
  if (raw) return std::string(body);
  std::string out;
  for (size_t k = 0; k < body.size();) {
    const uint8_t c = At(body, k);
    if (c != '\\') {
      out += static_cast<char>(c);
      ++k;
      continue;
    }
    const uint8_t e = At(body, k + 1);
    k += 2;
    uint32_t cp = 0;
    size_t hex_digits = 0;
    switch (e) {
      case '\n':
        continue;
      case '\\':
      case '\'':
      case '"':
        out += static_cast<char>(e);
        continue;
      case 'a':
        out += '\a';
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'v':
        out += '\v';
        continue;
      case 'x':
        hex_digits = 2;
        break;
      case 'u':
        hex_digits = 4;
        break;
      case 'U':
        hex_digits = 8;
        break;
      case 'N':
        return std::nullopt;  // needs the Unicode name table
      default:
        if (IsOctDigit(e)) {
          cp = e - '0';
          for (int n = 0; n < 2 && IsOctDigit(At(body, k)); ++n, ++k) {
            cp = cp * 8 + (At(body, k) - '0');
          }
          AppendUtf8(out, cp);
          continue;
        }
        if (k - 1 > body.size()) return std::nullopt;  // lone trailing backslash
        out += '\\';                                   // unknown escapes stay as written
        k -= 1;
        continue;
    }
    for (size_t n = 0; n < hex_digits; ++n, ++k) {
      const uint8_t h = At(body, k);
      if (!IsHexDigit(h)) return std::nullopt;  // truncated escape: a SyntaxError in CPython
      cp = cp * 16 + static_cast<uint32_t>(IsDigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    AppendUtf8(out, cp);
  }
  return out;
}

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kName:
      return "NAME";
    case TokenKind::kNumber:
      return "NUMBER";
    case TokenKind::kString:
      return "STRING";
    case TokenKind::kFStringStart:
      return "FSTRING_START";
    case TokenKind::kFStringEnd:
      return "FSTRING_END";
    case TokenKind::kOp:
      return "OP";
    case TokenKind::kNewline:
      return "NEWLINE";
  }
  return "?";
}

}  // namespace sealpkg::verifier::internal
