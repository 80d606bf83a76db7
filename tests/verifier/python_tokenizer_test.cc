// Expectations follow CPython 3.11 (Parser/tokenizer.c, Parser/string_parser.c), checked against
// `ast.parse` of Debian's /usr/bin/python3 where the behaviour is observable.
#include "verifier/internal/python_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sealpkg::verifier::internal {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<TokenizedSource> Tok(std::string_view src, const SourceLimits& limits = SourceLimits{}) {
  return TokenizePython(Bytes(src), limits);
}

// "NAME:x OP:= NUMBER:1 NL": kind and text of every token (names folded).
std::string Dump(std::string_view src) {
  auto r = Tok(src);
  if (!r.ok()) return "error: " + std::string(r.status().message());
  std::string out;
  for (size_t i = 0; i < r->tokens.size(); ++i) {
    const Token& t = r->tokens[i];
    if (!out.empty()) out += ' ';
    switch (t.kind) {
      case TokenKind::kNewline:
        out += "NL";
        continue;
      case TokenKind::kName:
        out += "NAME:" + std::string(r->Name(i));
        continue;
      case TokenKind::kNumber:
        out += "NUM:";
        break;
      case TokenKind::kString:
        out += "STR:";
        break;
      case TokenKind::kFStringStart:
        out += "FS:";
        break;
      case TokenKind::kFStringEnd:
        out += "FE:";
        break;
      case TokenKind::kOp:
        out += "OP:";
        break;
    }
    out += r->Text(t);
  }
  return out;
}

void ExpectError(std::string_view src, ErrorCode code, std::string_view reason,
                 std::string_view message_part, const SourceLimits& limits = SourceLimits{}) {
  auto r = Tok(src, limits);
  ASSERT_FALSE(r.ok()) << src;
  EXPECT_EQ(r.status().code(), code) << src;
  EXPECT_EQ(r.status().reason(), reason) << src;
  EXPECT_NE(r.status().message().find(message_part), std::string_view::npos)
      << src << " -> " << r.status().message();
}

void ExpectSyntax(std::string_view src, std::string_view message_part) {
  ExpectError(src, ErrorCode::kMalformed, "source.syntax", message_part);
}

// ---------------------------------------------------------------------------------------------
// Basics

TEST(PythonTokenizerTest, SimpleStatement) {
  EXPECT_EQ(Dump("x = 1\n"), "NAME:x OP:= NUM:1 NL");
  EXPECT_EQ(Dump("x = 1"), "NAME:x OP:= NUM:1 NL");  // implicit final newline
  EXPECT_EQ(Dump(""), "");
  EXPECT_EQ(Dump("\n\n   \n# only a comment\n"), "");
}

TEST(PythonTokenizerTest, CommentsAreSkipped) {
  EXPECT_EQ(Dump("x # import os\n# __import__('x')\ny"), "NAME:x NL NAME:y NL");
  EXPECT_EQ(Dump("f(a, # c\n  b)"), "NAME:f OP:( NAME:a OP:, NAME:b OP:) NL");
}

TEST(PythonTokenizerTest, LineEnds) {
  const std::string lf = Dump("a = 1\nb = '''x\ny'''\nc\n");
  EXPECT_EQ(Dump("a = 1\r\nb = '''x\r\ny'''\r\nc\r\n"), lf);
  EXPECT_EQ(Dump("a = 1\rb = '''x\ry'''\rc\r"), lf);
  auto r = Tok("a\r\nb\rc\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "a\nb\nc\n");
  EXPECT_EQ(r->line_count, 3u);
  EXPECT_EQ(r->tokens[4].line, 3u);  // a NL b NL c
}

TEST(PythonTokenizerTest, LineCount) {
  EXPECT_EQ(Tok("")->line_count, 0u);
  EXPECT_EQ(Tok("a")->line_count, 1u);
  EXPECT_EQ(Tok("a\n")->line_count, 1u);
  EXPECT_EQ(Tok("a\nb")->line_count, 2u);
  EXPECT_EQ(Tok("a\n\n")->line_count, 2u);
}

TEST(PythonTokenizerTest, ExplicitContinuation) {
  EXPECT_EQ(Dump("x = 1 + \\\n    2\ny"), "NAME:x OP:= NUM:1 OP:+ NUM:2 NL NAME:y NL");
  EXPECT_EQ(Dump("import \\\nos"), "NAME:import NAME:os NL");
  EXPECT_EQ(Dump("x = 1\\\n\n"), "NAME:x OP:= NUM:1 NL");
  ExpectSyntax("x = 1 \\ \n", "line 1, column 7: unexpected character after line continuation");
  ExpectSyntax("x = 1 \\", "line 1, column 7: unexpected");
  ExpectSyntax("x = 1 \\\n", "line 1, column 7: unexpected end of file");
}

TEST(PythonTokenizerTest, ImplicitContinuationInBrackets) {
  EXPECT_EQ(Dump("f(1,\n  2)\n[3,\n4]\n{5:\n6}"),
            "NAME:f OP:( NUM:1 OP:, NUM:2 OP:) NL OP:[ NUM:3 OP:, NUM:4 OP:] NL OP:{ NUM:5 OP:: "
            "NUM:6 OP:} NL");
}

TEST(PythonTokenizerTest, BracketsDepthAndPartners) {
  auto r = Tok("f(a[b], {c})");
  ASSERT_TRUE(r.ok());
  const auto& t = r->tokens;
  // f ( a [ b ] , { c } ) NL
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(t[0].depth, 0u);
  EXPECT_EQ(t[1].depth, 0u);
  EXPECT_EQ(t[2].depth, 1u);
  EXPECT_EQ(t[4].depth, 2u);
  EXPECT_EQ(t[5].depth, 1u);
  EXPECT_EQ(t[10].depth, 0u);
  EXPECT_EQ(t[1].partner, 10u);
  EXPECT_EQ(t[10].partner, 1u);
  EXPECT_EQ(t[3].partner, 5u);
  EXPECT_EQ(t[7].partner, 9u);
  EXPECT_EQ(t[0].partner, kNoPartner);
}

TEST(PythonTokenizerTest, BracketErrors) {
  ExpectSyntax("x = (1,\n  2", "line 1, column 5: '(' was never closed");
  ExpectSyntax("x = [(1]", "line 1, column 8: closing parenthesis ']' does not match opening");
  ExpectSyntax("x = 1)", "line 1, column 6: unmatched ')'");
  ExpectSyntax("}", "line 1, column 1: unmatched '}'");
}

TEST(PythonTokenizerTest, Operators) {
  EXPECT_EQ(Dump("a **= b //= c >>= d <<= e ... f -> g := h != i <> j == k"),
            "NAME:a OP:**= NAME:b OP://= NAME:c OP:>>= NAME:d OP:<<= NAME:e OP:... NAME:f OP:-> "
            "NAME:g OP::= NAME:h OP:!= NAME:i OP:<> NAME:j OP:== NAME:k NL");
  EXPECT_EQ(Dump("a%=b&=c*=d+=e-=f/=g@=h^=i|=j**k//l<<m>>n<=o>=p"),
            "NAME:a OP:%= NAME:b OP:&= NAME:c OP:*= NAME:d OP:+= NAME:e OP:-= NAME:f OP:/= "
            "NAME:g OP:@= NAME:h OP:^= NAME:i OP:|= NAME:j OP:** NAME:k OP:// NAME:l OP:<< "
            "NAME:m OP:>> NAME:n OP:<= NAME:o OP:>= NAME:p NL");
  EXPECT_EQ(Dump("x[1:2, ...];y.z@w~v"),
            "NAME:x OP:[ NUM:1 OP:: NUM:2 OP:, OP:... OP:] OP:; NAME:y OP:. NAME:z OP:@ NAME:w "
            "OP:~ NAME:v NL");
  EXPECT_EQ(Dump("...."), "OP:... OP:. NL");
}

TEST(PythonTokenizerTest, InvalidCharacters) {
  ExpectSyntax("x = $", "line 1, column 5: invalid character '$'");
  ExpectSyntax("x = 1 ? 2", "line 1, column 7: invalid character '?'");
  ExpectSyntax("x!", "line 1, column 2: invalid character '!'");
  ExpectSyntax("`x`", "invalid character '`'");
  ExpectSyntax("x = 1\x0b", "line 1, column 6: invalid non-printable character 0x0b");
  ExpectSyntax("x = \x01", "invalid non-printable character 0x01");
  ExpectSyntax("x = \x7f", "invalid non-printable character 0x7f");
  EXPECT_EQ(Dump("x = 1\f+ 2"), "NAME:x OP:= NUM:1 OP:+ NUM:2 NL");  // form feed is blank
}

TEST(PythonTokenizerTest, NulBytesAreRejected) {
  ExpectSyntax(std::string_view("x = 1\n\0", 7),
               "line 2, column 1: source code cannot contain null");
  ExpectSyntax(std::string_view("# \0\n", 4), "null bytes");
}

// ---------------------------------------------------------------------------------------------
// Numbers

TEST(PythonTokenizerTest, NumberForms) {
  for (std::string_view n :
       {"0",    "7",  "1_000", "0x_1F", "0XdeadBEEF", "0o17",   "0O1_7", "0b1_0", "0B1",
        "1.5",  ".5", "1.",    "1e5",   "1E-5",       "1.5e+3", "1j",    "1.5J",  "1_0.0_1e1_0j",
        "09.5", "00", "0_0",   ".5e-3", "1.e5j"}) {
    EXPECT_EQ(Dump(n), "NUM:" + std::string(n) + " NL") << n;
  }
}

TEST(PythonTokenizerTest, NumbersNeverSwallowNames) {
  EXPECT_EQ(Dump("1if x else 2"), "NUM:1 NAME:if NAME:x NAME:else NUM:2 NL");
  EXPECT_EQ(Dump("0x1for x in y"), "NUM:0x1f NAME:or NAME:x NAME:in NAME:y NL");
  EXPECT_EQ(Dump("1..real"), "NUM:1. OP:. NAME:real NL");
  EXPECT_EQ(Dump("1 .real"), "NUM:1 OP:. NAME:real NL");
  EXPECT_EQ(Dump("1.__class__"), "NUM:1. NAME:__class__ NL");
  EXPECT_EQ(Dump("1_x"), "NUM:1 NAME:_x NL");
  EXPECT_EQ(Dump("1e"), "NUM:1 NAME:e NL");
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(PythonTokenizerTest, AsciiAndUnicodeNames) {
  EXPECT_EQ(Dump("_x1 = été + 日本"), "NAME:_x1 OP:= NAME:été OP:+ NAME:日本 NL");
  auto r = Tok("été");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->folded_names.empty());  // nothing folds to ASCII: kept as written
}

TEST(PythonTokenizerTest, NamesAreFoldedToAsciiLikeNfkc) {
  // CPython NFKC-normalizes identifiers: these *are* exec, os, file and K.
  EXPECT_EQ(Dump("ｅｘｅｃ"), "NAME:exec NL");  // fullwidth
  EXPECT_EQ(Dump("import ｏｓ"), "NAME:import NAME:os NL");
  EXPECT_EQ(Dump("ﬁle"), "NAME:file NL");                             // ligature U+FB01
  EXPECT_EQ(Dump("\xF0\x9D\x90\x9E\xF0\x9D\x90\xAF"), "NAME:ev NL");  // math bold e, v
  EXPECT_EQ(Dump("\xE2\x84\xAA"), "NAME:K NL");                       // KELVIN SIGN
  EXPECT_EQ(Dump("ſys"), "NAME:sys NL");                              // long s U+017F
  EXPECT_EQ(Dump("xⅳ"), "NAME:xiv NL");                               // roman numeral U+2173
  EXPECT_EQ(Dump("ｏｓé"), "NAME:osé NL");                            // partial fold
  auto r = Tok("a ｅｖａｌ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Text(r->tokens[1]), "ｅｖａｌ");
  EXPECT_EQ(r->Name(1), "eval");
  EXPECT_EQ(r->Name(0), "a");
  // A name cannot start with a digit, however it is spelled.
  ExpectSyntax(
      "\xF0\x9D\x9F\x8E"
      "x = 1",
      "line 1, column 1: invalid character in identifier");
}

// ---------------------------------------------------------------------------------------------
// Strings

TEST(PythonTokenizerTest, EveryStringPrefix) {
  struct Case {
    std::string_view prefix;
    uint8_t flags;
  };
  const Case cases[] = {
      {"", 0},
      {"r", kStringRaw},
      {"R", kStringRaw},
      {"u", 0},
      {"U", 0},
      {"b", kStringBytes},
      {"B", kStringBytes},
      {"br", kStringBytes | kStringRaw},
      {"Br", kStringBytes | kStringRaw},
      {"bR", kStringBytes | kStringRaw},
      {"BR", kStringBytes | kStringRaw},
      {"rb", kStringBytes | kStringRaw},
      {"rB", kStringBytes | kStringRaw},
      {"Rb", kStringBytes | kStringRaw},
      {"RB", kStringBytes | kStringRaw},
  };
  for (const Case& c : cases) {
    for (std::string_view quote : {"'", "\"", "'''", "\"\"\""}) {
      const std::string src = std::string(c.prefix) + std::string(quote) + "x" + std::string(quote);
      auto r = Tok(src);
      ASSERT_TRUE(r.ok()) << src;
      ASSERT_EQ(r->tokens.size(), 2u) << src;
      EXPECT_EQ(r->tokens[0].kind, TokenKind::kString) << src;
      EXPECT_EQ(r->tokens[0].flags, c.flags) << src;
      EXPECT_EQ(r->Text(r->tokens[0]), src);
    }
  }
  for (std::string_view prefix : {"f", "F", "fr", "fR", "Fr", "FR", "rf", "rF", "Rf", "RF"}) {
    const std::string src = std::string(prefix) + "'x'";
    auto r = Tok(src);
    ASSERT_TRUE(r.ok()) << src;
    ASSERT_EQ(r->tokens.size(), 3u) << src;
    EXPECT_EQ(r->tokens[0].kind, TokenKind::kFStringStart);
    EXPECT_EQ(r->tokens[0].flags & kStringFormatted, kStringFormatted);
    EXPECT_EQ((r->tokens[0].flags & kStringRaw) != 0, prefix.size() == 2);
    EXPECT_EQ(r->tokens[1].kind, TokenKind::kFStringEnd);
  }
}

TEST(PythonTokenizerTest, PrefixesThatAreNotPrefixes) {
  // CPython 3.11 tokenizes these as a NAME followed by a string (then rejects the pair).
  EXPECT_EQ(Dump("ur'x'"), "NAME:ur STR:'x' NL");
  EXPECT_EQ(Dump("bu'x'"), "NAME:bu STR:'x' NL");
  EXPECT_EQ(Dump("fb'x'"), "NAME:fb STR:'x' NL");
  EXPECT_EQ(Dump("bf'x'"), "NAME:bf STR:'x' NL");
  EXPECT_EQ(Dump("rr'x'"), "NAME:rr STR:'x' NL");
  EXPECT_EQ(Dump("x'y'"), "NAME:x STR:'y' NL");
  EXPECT_EQ(Dump("rb 'x'"), "NAME:rb STR:'x' NL");
}

TEST(PythonTokenizerTest, StringExtents) {
  EXPECT_EQ(Dump(R"(x = 'a\'b' + "c\"d")"), R"(NAME:x OP:= STR:'a\'b' OP:+ STR:"c\"d" NL)");
  EXPECT_EQ(Dump(R"('a\\' + b)"), R"(STR:'a\\' OP:+ NAME:b NL)");
  // A backslash escapes the quote even in a raw string.
  EXPECT_EQ(Dump(R"(r'\'' + b)"), R"(STR:r'\'' OP:+ NAME:b NL)");
  EXPECT_EQ(Dump("'' \"\" '''''' \"\"\"\"\"\""), "STR:'' STR:\"\" STR:'''''' STR:\"\"\"\"\"\" NL");
  EXPECT_EQ(Dump("'''a''b'''"), "STR:'''a''b''' NL");
  EXPECT_EQ(Dump("''''a'''"), "STR:''''a''' NL");
  EXPECT_EQ(Dump("'''a'''' '"), "STR:'''a''' STR:' ' NL");
  EXPECT_EQ(Dump("\"\"\"a\n# not a comment\nimport os\"\"\""),
            "STR:\"\"\"a\n# not a comment\nimport os\"\"\" NL");
  EXPECT_EQ(Dump("'a # b' # c"), "STR:'a # b' NL");
  EXPECT_EQ(Dump("x = 'a\\\nb'"), "NAME:x OP:= STR:'a\\\nb' NL");  // escaped newline
  EXPECT_EQ(Dump("'a' 'b'"), "STR:'a' STR:'b' NL");
}

TEST(PythonTokenizerTest, UnterminatedStrings) {
  ExpectSyntax("x = 'abc", "line 1, column 5: unterminated string literal");
  ExpectSyntax("x = 'abc\n'", "line 1, column 5: unterminated string literal");
  ExpectSyntax("x = '''abc\n\n", "line 1, column 5: unterminated triple-quoted string literal");
  ExpectSyntax("x = r'\\'", "line 1, column 5: unterminated string literal");
  ExpectSyntax("y\nx = b\"abc\\\"", "line 2, column 5: unterminated string literal");
  ExpectSyntax("f'{x}", "line 1, column 1: unterminated string literal");
}

TEST(PythonTokenizerTest, StringLiteralValues) {
  EXPECT_EQ(StringLiteralValue("'os'"), "os");
  EXPECT_EQ(StringLiteralValue("u\"os\""), "os");
  EXPECT_EQ(StringLiteralValue("'''o\ns'''"), "o\ns");
  EXPECT_EQ(StringLiteralValue("''"), "");
  EXPECT_EQ(StringLiteralValue("''''''"), "");
  EXPECT_EQ(StringLiteralValue(R"('o\x73')"), "os");
  EXPECT_EQ(StringLiteralValue(R"('\157\163')"), "os");
  EXPECT_EQ(StringLiteralValue(R"('\u006f\U00000073')"), "os");
  EXPECT_EQ(StringLiteralValue(R"('\u00e9')"), "é");
  EXPECT_EQ(StringLiteralValue(R"('a\\b\'c\"d')"), "a\\b'c\"d");
  EXPECT_EQ(StringLiteralValue(R"('\a\b\f\n\r\t\v')"), "\a\b\f\n\r\t\v");
  EXPECT_EQ(StringLiteralValue("'o\\\ns'"), "os");       // line continuation
  EXPECT_EQ(StringLiteralValue(R"('\q\é')"), "\\q\\é");  // unknown escapes are kept
  EXPECT_EQ(StringLiteralValue(R"('\0')"), std::string(1, '\0'));
  EXPECT_EQ(StringLiteralValue(R"(r'o\x73')"), R"(o\x73)");
  EXPECT_EQ(StringLiteralValue(R"(R'\'')"), R"(\')");
  EXPECT_EQ(StringLiteralValue("b'os'"), std::nullopt);
  EXPECT_EQ(StringLiteralValue("rb'os'"), std::nullopt);
  EXPECT_EQ(StringLiteralValue("f'os'"), std::nullopt);
  EXPECT_EQ(StringLiteralValue(R"('\N{DIGIT ONE}')"), std::nullopt);
  EXPECT_EQ(StringLiteralValue(R"('\x4')"), std::nullopt);
  EXPECT_EQ(StringLiteralValue(R"('\ud800')"), std::nullopt);
  EXPECT_EQ(StringLiteralValue(R"('\U00110000')"), std::nullopt);
  EXPECT_EQ(StringLiteralValue("os"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// f-strings

TEST(PythonTokenizerTest, FStringFieldsAreTokenized) {
  EXPECT_EQ(Dump("f'a{x}b'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");
  EXPECT_EQ(Dump("f\"{__import__('os').system('x')}\""),
            "FS:f\" OP:{ NAME:__import__ OP:( STR:'os' OP:) OP:. NAME:system OP:( STR:'x' OP:) "
            "OP:} FE:\" NL");
  EXPECT_EQ(Dump("F'{a}{b!r}{c=}{d = !s:>10}'"),
            "FS:F' OP:{ NAME:a OP:} OP:{ NAME:b OP:} OP:{ NAME:c OP:} OP:{ NAME:d OP:} FE:' NL");
  EXPECT_EQ(Dump("f'{x!=y}{x==y}{x<=y}{x>y}'"),
            "FS:f' OP:{ NAME:x OP:!= NAME:y OP:} OP:{ NAME:x OP:== NAME:y OP:} OP:{ NAME:x OP:<= "
            "NAME:y OP:} OP:{ NAME:x OP:> NAME:y OP:} FE:' NL");
  EXPECT_EQ(Dump("f'{a[\"b\"]}{ {1: 2}[1] }'"),
            "FS:f' OP:{ NAME:a OP:[ STR:\"b\" OP:] OP:} OP:{ OP:{ NUM:1 OP:: NUM:2 OP:} OP:[ "
            "NUM:1 OP:] OP:} FE:' NL");
}

TEST(PythonTokenizerTest, FStringDoubledBracesAndEscapes) {
  EXPECT_EQ(Dump("f'{{x}}'"), "FS:f' FE:' NL");
  EXPECT_EQ(Dump("f'{{{x}}}'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");
  EXPECT_EQ(Dump("f'\\N{DIGIT ONE}{y}'"), "FS:f' OP:{ NAME:y OP:} FE:' NL");
  EXPECT_EQ(Dump("rf'\\N{z}'"), "FS:rf' OP:{ NAME:z OP:} FE:' NL");  // raw: \N is no escape
  EXPECT_EQ(Dump("f'\\{x}'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");     // CPython: still a field
  EXPECT_EQ(Dump("f'\\\\{x}'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");
  EXPECT_EQ(Dump("f''"), "FS:f' FE:' NL");
  EXPECT_EQ(Dump("f''''''"), "FS:f''' FE:''' NL");
}

TEST(PythonTokenizerTest, FStringFormatSpecs) {
  EXPECT_EQ(Dump("f'{x:>{w}.{p}f}'"),
            "FS:f' OP:{ NAME:x OP:{ NAME:w OP:} OP:{ NAME:p OP:} OP:} FE:' NL");
  EXPECT_EQ(Dump("f'{x!r:>{w}}'"), "FS:f' OP:{ NAME:x OP:{ NAME:w OP:} OP:} FE:' NL");
  EXPECT_EQ(Dump("f'{x:{{}}}'"), "FS:f' OP:{ NAME:x OP:{ OP:{ OP:} OP:} OP:} FE:' NL");
  EXPECT_EQ(Dump("f'{x:=10}'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");  // spec "=10"
  EXPECT_EQ(Dump("f'{x:%H:%M}'"), "FS:f' OP:{ NAME:x OP:} FE:' NL");
  ExpectSyntax("f'{x:{y:{z}}}'", "line 1, column 9: f-string: expressions nested too deeply");
}

TEST(PythonTokenizerTest, FStringNesting) {
  EXPECT_EQ(Dump("f\"{f'{x}'}\""), "FS:f\" OP:{ FS:f' OP:{ NAME:x OP:} FE:' OP:} FE:\" NL");
  EXPECT_EQ(Dump("f'''{f\"{f'{__import__(\"\"\"os\"\"\")}'}\"}'''"),
            "error: line 1, column 37: f-string: unterminated string");  // CPython too
  EXPECT_EQ(Dump("f'''{f\"\"\"{f'{x}'}\"\"\"}'''"),
            "FS:f''' OP:{ FS:f\"\"\" OP:{ FS:f' OP:{ NAME:x OP:} FE:' OP:} FE:\"\"\" OP:} FE:''' "
            "NL");
  auto r = Tok("f\"{f'{x}'}\"");
  ASSERT_TRUE(r.ok());
  const auto& t = r->tokens;
  EXPECT_EQ(t[0].partner, 8u);  // FS ... FE
  EXPECT_EQ(t[1].partner, 7u);  // { ... }
  EXPECT_EQ(t[2].partner, 6u);
  EXPECT_EQ(t[4].depth, 4u);  // x: outer f-string, field, inner f-string, field
}

TEST(PythonTokenizerTest, FStringSameQuoteEndsTheString) {
  // Python 3.11: a quote inside a field that matches the outer quote ends the f-string.
  ExpectSyntax("f'{a['b']}'", "f-string: unmatched '['");
  ExpectSyntax("f'{'a'}'", "f-string: expecting '}'");
}

TEST(PythonTokenizerTest, FStringMultiLineField) {
  EXPECT_EQ(Dump("f'''{\n  x +\n  y\n}'''\nz"),
            "FS:f''' OP:{ NAME:x OP:+ NAME:y OP:} FE:''' NL NAME:z NL");
  auto r = Tok("f'''{\n  x}'''");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens[2].line, 2u);
  EXPECT_EQ(r->tokens[2].column, 3u);
}

TEST(PythonTokenizerTest, FStringErrors) {
  ExpectSyntax("f'{}'", "line 1, column 3: f-string: empty expression not allowed");
  ExpectSyntax("f'{ \t}'", "f-string: empty expression not allowed");
  ExpectSyntax("f'}'", "line 1, column 3: f-string: single '}' is not allowed");
  ExpectSyntax("f'{x}}'", "f-string: single '}' is not allowed");
  ExpectSyntax("f'{x'", "f-string: expecting '}'");
  ExpectSyntax("f'{x!}'", "f-string: invalid conversion character");
  ExpectSyntax("f'{x!z}'", "f-string: invalid conversion character");
  ExpectSyntax("f'{x#}'", "f-string expression part cannot include '#'");
  ExpectSyntax("f'{x\\n}'", "f-string expression part cannot include a backslash");
  ExpectSyntax("f'{x)}'", "f-string: unmatched ')'");
  ExpectSyntax("f'{(x]}'", "f-string: closing parenthesis ']' does not match");
  ExpectSyntax("f'{\"x}'", "f-string: unterminated string");
  ExpectSyntax("f'{x:{y}'", "f-string: expecting '}'");
  ExpectSyntax("f'{x!r'", "f-string: expecting '}'");
  ExpectSyntax("f'{x:'", "f-string: expecting '}'");
}

// ---------------------------------------------------------------------------------------------
// Decoding: BOM, cookies, UTF-8

TEST(PythonTokenizerTest, Utf8Bom) {
  auto r = Tok("\xEF\xBB\xBFx = 'é'");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "x = 'é'");
  EXPECT_EQ(r->tokens[0].column, 1u);
  EXPECT_TRUE(Tok("\xEF\xBB\xBF# coding: utf-8\nx = 1").ok());
  EXPECT_TRUE(Tok("\xEF\xBB\xBF# coding: UTF_8\nx = 1").ok());
  ExpectSyntax("\xEF\xBB\xBF# coding: latin-1\nx = 1",
               "line 1, column 1: encoding problem: iso-8859-1 with BOM");
  // CPython compares the cookie with "utf-8" after only its own normalization.
  ExpectSyntax("\xEF\xBB\xBF# coding: utf8\nx = 1", "encoding problem: utf8 with BOM");
  ExpectSyntax("\xEF\xBBx = 1", "line 1, column 1: invalid UTF-8 byte 0xef");
}

TEST(PythonTokenizerTest, Latin1Cookies) {
  for (std::string_view cookie :
       {"# coding: latin-1", "# -*- coding: iso-8859-1 -*-", "#coding=latin_1",
        "# vim: set fileencoding=l1 :", "# coding: ISO_8859_1", "# coding: iso-latin-1",
        "# coding: latin-1-unix", "# coding: 8859", "# coding: iso_8859_1_1987", "# coding: latin1",
        "# coding: -latin1-", "# codingcoding: latin", "\f# coding: cp819",
        "  # coding:  \t latin-1"}) {
    const std::string src = std::string(cookie) + "\nx = '\xE9'\n";
    auto r = Tok(src);
    ASSERT_TRUE(r.ok()) << cookie << ": " << r.status().ToString();
    EXPECT_NE(r->text.find("x = '\xC3\xA9'"), std::string::npos) << cookie;
  }
}

TEST(PythonTokenizerTest, CookieOnLineTwo) {
  EXPECT_TRUE(Tok("#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nx = '\xE9'").ok());
  EXPECT_TRUE(Tok("\n# coding: latin-1\nx = '\xE9'").ok());
  EXPECT_TRUE(Tok("#\r# coding: latin-1\rx = '\xE9'").ok());
  // Line 1 is code: line 2 is not looked at, so the source is UTF-8 and invalid.
  ExpectSyntax("x = 1\n# coding: latin-1\nx = '\xE9'", "line 3, column 6: invalid UTF-8");
  // Line 3 is never looked at.
  ExpectSyntax("#\n#\n# coding: latin-1\nx = '\xE9'", "line 4, column 6: invalid UTF-8");
  // A cookie must be in a comment of its own.
  ExpectSyntax("x = 1  # coding: latin-1\nx = '\xE9'", "line 2, column 6: invalid UTF-8");
}

TEST(PythonTokenizerTest, Utf8AndAsciiCookies) {
  for (std::string_view cookie :
       {"# coding: utf-8", "# coding: utf8", "# coding: UTF-8", "# coding: u8", "# coding: utf_8",
        "# coding: utf-8-sig", "# coding: cp65001"}) {
    const std::string src = std::string(cookie) + "\nx = '\xC3\xA9'\n";
    EXPECT_TRUE(Tok(src).ok()) << cookie;
  }
  EXPECT_TRUE(Tok("# coding: ascii\nx = 'e'").ok());
  EXPECT_TRUE(Tok("# coding: us-ascii\nx = 'e'").ok());
  ExpectSyntax("# coding: us-ascii\nx = '\xE9'", "line 2, column 6: non-ASCII byte 0xe9");
  ExpectSyntax("# coding: 646\nx = '\xC3\xA9'", "non-ASCII byte");
}

TEST(PythonTokenizerTest, UnsupportedCookies) {
  ExpectSyntax("# coding: cp1252\nx = 1", "line 1, column 1: unsupported source encoding 'cp1252'");
  ExpectSyntax("#!python\n# coding: bogus\nx = 1",
               "line 2, column 1: unsupported source encoding 'bogus'");
  ExpectSyntax("# coding: utf-16\nx = 1", "unsupported source encoding 'utf-16'");
  ExpectSyntax("# coding=utf-8.\nx = 1", "unsupported source encoding 'utf-8.'");
  ExpectSyntax("# coding: latin.1\nx = 1", "unsupported source encoding 'latin.1'");
  // "coding:" followed by nothing is no cookie at all.
  EXPECT_TRUE(Tok("# coding: \nx = 1").ok());
}

TEST(PythonTokenizerTest, InvalidUtf8) {
  ExpectSyntax("x = '\xFF'", "line 1, column 6: invalid UTF-8 byte 0xff");
  ExpectSyntax("x = 1\n# \xC3\n", "line 2, column 3: invalid UTF-8 byte 0xc3");  // comments too
  ExpectSyntax("\xC0\xAF", "invalid UTF-8 byte 0xc0");                           // overlong '/'
  ExpectSyntax("x = '\xED\xA0\x80'", "invalid UTF-8 byte 0xed");                 // surrogate
  ExpectSyntax("x = '\xF4\x90\x80\x80'", "invalid UTF-8 byte 0xf4");             // > U+10FFFF
  ExpectSyntax("é = 1\n日本 = '\xE6\x97'", "line 2, column 7: invalid UTF-8");
}

// ---------------------------------------------------------------------------------------------
// Positions

TEST(PythonTokenizerTest, PositionsAreLinesAndCodePointColumns) {
  auto r = Tok("é = 'ü'; 日本 = x\n  y = '''a\nb''' + z");
  ASSERT_TRUE(r.ok());
  const auto& t = r->tokens;
  // é = 'ü' ; 日本 = x NL y = '''...''' + z NL
  EXPECT_EQ(t[0].line, 1u);
  EXPECT_EQ(t[0].column, 1u);
  EXPECT_EQ(t[2].column, 5u);   // 'ü'
  EXPECT_EQ(t[3].column, 8u);   // ;
  EXPECT_EQ(t[4].column, 10u);  // 日本
  EXPECT_EQ(t[6].column, 15u);  // x
  EXPECT_EQ(t[8].line, 2u);     // y
  EXPECT_EQ(t[8].column, 3u);
  EXPECT_EQ(t[10].line, 2u);  // the string starts on line 2
  EXPECT_EQ(t[11].line, 3u);  // +
  EXPECT_EQ(t[11].column, 6u);
  EXPECT_EQ(t[12].column, 8u);  // z
}

// ---------------------------------------------------------------------------------------------
// Limits, each at N (accepted) and N + 1 (rejected)

TEST(PythonTokenizerTest, MaxSourceBytes) {
  SourceLimits limits;
  limits.max_source_bytes = 10;
  EXPECT_TRUE(Tok("x = 123456", limits).ok());  // 10 bytes
  ExpectError("x = 1234567", ErrorCode::kLimitExceeded, "source.too-large",
              "source is 11 bytes, more than the limit of 10", limits);
}

TEST(PythonTokenizerTest, MaxTokens) {
  SourceLimits limits;
  limits.max_tokens = 4;  // x = 1 NEWLINE
  EXPECT_TRUE(Tok("x = 1", limits).ok());
  ExpectError("x = 1;", ErrorCode::kLimitExceeded, "source.too-large",
              "line 1, column 7: more than 4 tokens", limits);
  ExpectError("x = f'{y}'", ErrorCode::kLimitExceeded, "source.too-large", "more than 4 tokens",
              limits);
}

TEST(PythonTokenizerTest, MaxNesting) {
  SourceLimits limits;
  limits.max_nesting = 5;
  EXPECT_TRUE(Tok("x = ((([[1]])))", limits).ok());
  ExpectError("x = (((([[1]]))))", ErrorCode::kLimitExceeded, "source.too-large",
              "line 1, column 10: more than 5 nested brackets", limits);
  // f-strings and their fields count: FString + field + FString + field + '(' = 5.
  EXPECT_TRUE(Tok("f\"{f'{(x)}'}\"", limits).ok());
  ExpectError("f\"{f'{((x))}'}\"", ErrorCode::kLimitExceeded, "source.too-large",
              "more than 5 nested", limits);
  // The default is CPython's: 200 nested parentheses parse, 201 do not.
  const SourceLimits defaults;
  EXPECT_TRUE(Tok(std::string(200, '(') + std::string(200, ')')).ok());
  ExpectError(std::string(201, '(') + std::string(201, ')'), ErrorCode::kLimitExceeded,
              "source.too-large", "more than 200 nested", defaults);
}

TEST(PythonTokenizerTest, DeepNestingIsIterative) {
  SourceLimits limits;
  limits.max_nesting = 1'000'000;
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  auto r = Tok(deep, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens.size(), 400'001u);
  EXPECT_EQ(r->tokens[0].partner, 399'999u);
}

TEST(PythonTokenizerTest, KindNames) {
  EXPECT_EQ(TokenKindName(TokenKind::kName), "NAME");
  EXPECT_EQ(TokenKindName(TokenKind::kFStringStart), "FSTRING_START");
  EXPECT_EQ(TokenKindName(TokenKind::kNewline), "NEWLINE");
}

}  // namespace
}  // namespace sealpkg::verifier::internal
