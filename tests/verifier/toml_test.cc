// Tests for verifier/toml.cc: a table of valid documents compared through a canonical
// JSON-like dump, a golden table of invalid documents with their exact reason and position,
// positions of values, and every limit at N (accepted) and N+1 (rejected).
#include "verifier/toml.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace sealpkg::verifier {
namespace {

// Canonical rendering: tables {"k":v,...} in document order, arrays [v,...], strings quoted
// with JSON escapes (non-ASCII kept as UTF-8), integers in decimal, booleans. Recursive, which is
// fine for test documents (nesting is bounded by PolicyLimits::max_nesting).
void DumpTo(const TomlValue& v, std::string& out) {
  switch (v.kind()) {
    case TomlValue::Kind::kString: {
      out += '"';
      for (char c : v.as_string()) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (c == '\n') {
          out += "\\n";
        } else if (c == '\t') {
          out += "\\t";
        } else if (b < 0x20 || b == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", b);
          out += buf;
        } else {
          out += c;
        }
      }
      out += '"';
      break;
    }
    case TomlValue::Kind::kInteger:
      out += std::to_string(v.as_integer());
      break;
    case TomlValue::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case TomlValue::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const TomlValue& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        DumpTo(item, out);
      }
      out += ']';
      break;
    }
    case TomlValue::Kind::kTable: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.as_table()) {
        if (!first) out += ',';
        first = false;
        TomlValue k = TomlValue::String(key);
        DumpTo(k, out);
        out += ':';
        DumpTo(item, out);
      }
      out += '}';
      break;
    }
  }
}

std::string Dump(const TomlValue& v) {
  std::string out;
  DumpTo(v, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Valid documents.

struct ValidCase {
  const char* name;
  std::string_view doc;
  std::string_view expected;
};

const ValidCase kValid[] = {
    {"Empty", "", "{}"},
    {"OnlyCommentsAndBlankLines", "# c\n\n  \t# d\n   \n", "{}"},
    {"NoFinalNewline", "a = 1", R"({"a":1})"},
    {"BareKeys", "A-z_0 = 1\n1234 = 2\n-_- = 3\ntrue = 4\ninf = 5\n",
     R"({"A-z_0":1,"1234":2,"-_-":3,"true":4,"inf":5})"},
    {"QuotedKeys", "\"a.b\" = 1\n'c d' = 2\n\"\" = 3\n\"\\u00e9\" = 4\n",
     R"({"a.b":1,"c d":2,"":3,"é":4})"},
    {"EmptyLiteralKey", "'' = 1", R"({"":1})"},
    {"DottedKeys", "a.b.c = 1\na.d = 2\n", R"({"a":{"b":{"c":1},"d":2}})"},
    {"DottedKeyWhitespace", "a . b = 1\na.  \"c\"\t= 2\n'x'.\"y\" = 3",
     R"({"a":{"b":1,"c":2},"x":{"y":3}})"},
    {"DottedNumberKey", "3.14159 = \"pi\"", R"({"3":{"14159":"pi"}})"},
    {"Tables", "[a]\nx = 1\n[b]\ny = 2\n", R"({"a":{"x":1},"b":{"y":2}})"},
    {"SubTableAfterTable", "[a]\nx = 1\n[a.b]\ny = 2\n", R"({"a":{"x":1,"b":{"y":2}}})"},
    {"SuperTableAfterSubTable", "[a.b]\ny = 2\n[a]\nx = 1\n", R"({"a":{"b":{"y":2},"x":1}})"},
    {"HeaderWhitespaceAndQuotes", "[ a . \"b c\" . 'd' ]\nx = 1\n[[ e . f ]]\n",
     R"({"a":{"b c":{"d":{"x":1}}},"e":{"f":[{}]}})"},
    {"QuotedHeaderWithDot", "[\"a.b\"]\nc = 1\n[a.b]\nd = 2\n",
     R"({"a.b":{"c":1},"a":{"b":{"d":2}}})"},
    {"EmptyTables", "[a]\n[b.c]\n", R"({"a":{},"b":{"c":{}}})"},
    {"ArrayOfTables", "[[p]]\nname = \"x\"\n[[p]]\n[[p]]\nname = \"z\"\n",
     R"({"p":[{"name":"x"},{},{"name":"z"}]})"},
    {"ArrayOfTablesWithSubTables",
     "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
     "[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny\"\n"
     "[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
     R"({"fruits":[{"name":"apple","physical":{"color":"red"},"varieties":[{"name":"red delicious"},{"name":"granny"}]},{"name":"banana","varieties":[{"name":"plantain"}]}]})"},
    {"ArrayOfTablesInsideTable", "[a]\n[[a.b]]\nc = 1\n[a.d]\n", R"({"a":{"b":[{"c":1}],"d":{}}})"},
    {"DottedKeysThenSubTableHeader",
     "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\n"
     "smooth = true\n",
     R"({"fruit":{"apple":{"color":"red","taste":{"sweet":true},"texture":{"smooth":true}}}})"},
    {"RootDottedKeysThenHeaderBelow", "a.b.c = 1\n[a.b.d]\ne = 2\n",
     R"({"a":{"b":{"c":1,"d":{"e":2}}}})"},
    {"DottedKeysThroughImplicitTable", "[a.b.c]\n[a]\nb.x = 1\n", R"({"a":{"b":{"c":{},"x":1}}})"},
    {"DottedKeysInArrayOfTablesElements", "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n",
     R"({"a":[{"b":{"c":1}},{"b":{"c":2}}]})"},
    {"BasicStringEscapes", R"(s = "\b\t\n\f\r\"\\\u00E9\U0001F600\u0000/")",
     "{\"s\":\"\\u0008\\t\\n\\u000c\\u000d\\\"\\\\\xC3\xA9\xF0\x9F\x98\x80\\u0000/\"}"},
    {"LiteralString", R"(s = 'C:\Users\nodejs\templates')",
     R"({"s":"C:\\Users\\nodejs\\templates"})"},
    {"LiteralStringWithDoubleQuotes", R"(s = 'Tom "Dubs" Preston')",
     R"({"s":"Tom \"Dubs\" Preston"})"},
    {"MultiLineBasicTrimsFirstNewline", "s = \"\"\"\nRoses\nViolets\"\"\"",
     R"({"s":"Roses\nViolets"})"},
    {"MultiLineBasicLineEndingBackslash", "s = \"\"\"\nThe quick \\\n\n   brown \\\n   fox.\"\"\"",
     R"({"s":"The quick brown fox."})"},
    {"MultiLineBasicBackslashThenSpaces", "s = \"\"\"a \\  \t\n  \n  b\"\"\"", R"({"s":"a b"})"},
    {"MultiLineBasicBackslashBeforeClose", "s = \"\"\"a\\\n   \"\"\"", R"({"s":"a"})"},
    {"MultiLineBasicQuotesInside", "s = \"\"\"Two quotes: \"\". One: \".\"\"\"",
     R"({"s":"Two quotes: \"\". One: \"."})"},
    {"MultiLineBasicQuotesAtEnd", "s = \"\"\"\"This,\" she said.\"\"\"\"\nt = \"\"\"x\"\"\"\"\"",
     R"({"s":"\"This,\" she said.\"","t":"x\"\""})"},
    {"MultiLineBasicEscapes", "s = \"\"\"tab\\there\\\"\"\"\"", R"({"s":"tab\there\""})"},
    {"MultiLineLiteral", "s = '''\nThe first newline is\ntrimmed.\n   Whitespace\tkept \\n.\n'''",
     R"({"s":"The first newline is\ntrimmed.\n   Whitespace\tkept \\n.\n"})"},
    {"MultiLineLiteralQuotes", "s = ''''That,' she said, 'is pointless.''''",
     R"({"s":"'That,' she said, 'is pointless.'"})"},
    {"EmptyStrings", "a = \"\"\nb = ''\nc = \"\"\"\"\"\"\nd = ''''''\n",
     R"({"a":"","b":"","c":"","d":""})"},
    {"CrLfLineEnds", "a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n[t]\r\nc = [\r\n1,\r\n]\r\n",
     R"({"a":1,"b":"x\ny","t":{"c":[1]}})"},
    {"Integers",
     "a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = 1_2_3_4_5\nh = -0\n"
     "i = +0\n",
     R"({"a":99,"b":42,"c":0,"d":-17,"e":1000,"f":5349221,"g":12345,"h":0,"i":0})"},
    {"IntegerBounds", "max = 9223372036854775807\nmin = -9223372036854775808\n",
     R"({"max":9223372036854775807,"min":-9223372036854775808})"},
    {"PrefixedIntegers",
     "a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o01234567\nd = 0o755\ne = 0b11010110\n"
     "f = 0x7FFFFFFFFFFFFFFF\ng = 0x00ff\nh = 0b0\n",
     R"({"a":3735928559,"b":3735928559,"c":342391,"d":493,"e":214,"f":9223372036854775807,"g":255,"h":0})"},
    {"Booleans", "t = true\nf = false", R"({"t":true,"f":false})"},
    {"Arrays", "a = [1, \"two\", [3, 4], {x = 5}, true,]\nb = []\nc = [ ]\nd = [\n]\n",
     R"({"a":[1,"two",[3,4],{"x":5},true],"b":[],"c":[],"d":[]})"},
    {"ArraysWithCommentsAndNewlines", "a = [ # start\n  1, # one\n  2\n  , 3 # three\n  # end\n]\n",
     R"({"a":[1,2,3]})"},
    {"NestedArrays", "a = [[], [[]], [[1], [2, [3]]]]", R"({"a":[[],[[]],[[1],[2,[3]]]]})"},
    {"InlineTables", "a = {x = 1, y.z = 2, \"q\" = {}, w = { v = [] } }\nb = {}\n",
     R"({"a":{"x":1,"y":{"z":2},"q":{},"w":{"v":[]}},"b":{}})"},
    {"InlineTableDottedKeysShareTable", "a = {b.c = 1, b.d = 2}", R"({"a":{"b":{"c":1,"d":2}}})"},
    {"InlineTableWithMultiLineArray", "a = { b = [\n  1, # c\n  2\n] }\n", R"({"a":{"b":[1,2]}})"},
    {"InlineTableWithMultiLineString", "a = { b = \"\"\"x\ny\"\"\" }", R"({"a":{"b":"x\ny"}})"},
    {"ArrayOfInlineTables", "points = [ { x = 1, y = 2 }, { x = 7 } ]",
     R"({"points":[{"x":1,"y":2},{"x":7}]})"},
    {"CommentsAfterEverything", "[a] # c\nb = 1 # c\n[[d]]#c\ne = \"#not a comment\"#c",
     R"({"a":{"b":1},"d":[{"e":"#not a comment"}]})"},
    {"TabsAsWhitespace", "\ta\t=\t1\t\n\t[\tt\t]\t\n", R"({"a":1,"t":{}})"},
    {"UnicodeInCommentsAndStrings",
     "# \xC3\xA9\xE2\x82\xAC\na = \"\xC3\xA9\" # \xF0\x9F\x98\x80\n"
     "b = '\xC2\x85'",
     "{\"a\":\"\xC3\xA9\",\"b\":\"\xC2\x85\"}"},
    {"TabInsideStrings", "a = \"x\ty\"\nb = 'x\ty'", R"({"a":"x\ty","b":"x\ty"})"},
    {"KeysLookLikeValues", "1979-05-27 = 1\n0x10 = 2\n", R"({"1979-05-27":1,"0x10":2})"},
    {"ValueFollowedByComment", "a = 1#c\nb = [1]#c\nc = {}#c", R"({"a":1,"b":[1],"c":{}})"},
    {"ByteOrderMarkAtStart",
     "\xEF\xBB\xBF"
     "a = 1",
     R"({"a":1})"},
    {"IndentedLines", "  [a]\n    b = 1\n  [[c]]\n", R"({"a":{"b":1},"c":[{}]})"},
};

// Keeps ctest names readable (gtest would otherwise print the parameter's bytes).
void PrintTo(const ValidCase& c, std::ostream* os) {
  *os << c.name;
}

class TomlValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(TomlValidTest, ParsesToExpectedTree) {
  const ValidCase& c = GetParam();
  auto doc = ParseToml(c.doc, PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(Dump(*doc), c.expected);
  EXPECT_TRUE(doc->is_table());
}

INSTANTIATE_TEST_SUITE_P(Documents, TomlValidTest, ::testing::ValuesIn(kValid),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// ---------------------------------------------------------------------------------------------
// Invalid documents: the exact reason and where the error is reported.

struct InvalidCase {
  const char* name;
  std::string_view doc;
  std::string_view reason;
  uint32_t line;
  uint32_t column;
};

constexpr std::string_view kSyntax = "toml.syntax";
constexpr std::string_view kDup = "toml.duplicate-key";
constexpr std::string_view kUnsup = "toml.unsupported";

const InvalidCase kInvalid[] = {
    // Duplicate keys in all their forms.
    {"DuplicateKey", "a = 1\na = 2", kDup, 2, 1},
    {"DuplicateDottedKey", "a.b = 1\na.b = 2", kDup, 2, 3},
    {"DuplicateBareAndQuoted", "a = 1\n\"a\" = 2", kDup, 2, 1},
    {"DuplicateLiteralAndBasic", "'a' = 1\n\"a\" = 2", kDup, 2, 1},
    {"DuplicateViaEscape", "a = 1\n\"\\u0061\" = 2", kDup, 2, 1},
    {"DuplicateEmptyKey", "\"\" = 1\n'' = 2", kDup, 2, 1},
    {"DuplicateInTable", "[t]\na = 1\na = 2", kDup, 3, 1},
    {"DuplicateInInlineTable", "a = {b = 1, b = 2}", kDup, 1, 13},
    {"DuplicateDottedInInlineTable", "a = {b.c = 1, b.c = 2}", kDup, 1, 17},
    {"DottedKeyThroughValue", "a = 1\na.b = 2", kDup, 2, 1},
    {"ValueOverDottedTable", "a.b = 1\na = 2", kDup, 2, 1},
    {"ValueOverSubTable", "[a.b]\n[a]\nb = 1", kDup, 3, 1},
    // Tables defined twice or in conflict with other definitions.
    {"TableTwice", "[a]\n[a]", kDup, 2, 2},
    {"DottedTableTwice", "[a.b]\nx = 1\n[a.b]", kDup, 3, 4},
    {"QuotedTableTwice", "[a]\n[\"a\"]", kDup, 2, 2},
    {"TableOverValue", "[a]\nb = 1\n[a.b]", kDup, 3, 4},
    {"TableThroughValue", "a = 1\n[a.b]", kDup, 2, 2},
    {"TableOverDottedKeys", "[fruit]\napple.color = \"red\"\n[fruit.apple]", kDup, 3, 8},
    {"RootTableOverDottedKeys", "a.b = 1\n[a]", kDup, 2, 2},
    {"DottedKeysIntoHeaderTable", "[a.b]\nx = 1\n[a]\nb.y = 2", kDup, 4, 1},
    {"DottedKeysDeepIntoHeaderTable", "[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1", kDup, 4, 5},
    // Inline tables and static arrays are immutable.
    {"HeaderOverInlineTable", "a = {}\n[a]", kDup, 2, 2},
    {"HeaderExtendsInlineTable", "a = {b = 1}\n[a.c]", kDup, 2, 2},
    {"DottedKeyExtendsInlineTable", "a = {b = 1}\na.c = 2", kDup, 2, 1},
    {"InlineTableExtendsNestedInlineTable", "a = {b = {}, b.c = 1}", kDup, 1, 14},
    {"HeaderExtendsInlineTableInArrayElement", "[[a]]\nb = {}\n[a.b.c]", kDup, 3, 4},
    {"ArrayOfTablesOverStaticArray", "a = [1]\n[[a]]", kDup, 2, 3},
    {"HeaderThroughStaticArray", "a = [{}]\n[a.b]", kDup, 2, 2},
    // [[a]] and [a] do not mix.
    {"TableAfterArrayOfTables", "[[a]]\n[a]", kDup, 2, 2},
    {"ArrayOfTablesAfterTable", "[a]\n[[a]]", kDup, 2, 3},
    {"ArrayOfTablesOverImplicitTable", "[a.b]\n[[a]]", kDup, 2, 3},
    {"TableOverNestedArrayOfTables", "[[a]]\n[[a.b]]\n[a.b]", kDup, 3, 4},
    {"ArrayOfTablesOverSubTable", "[[a]]\n[a.b]\n[[a.b]]", kDup, 3, 5},
    // Unsupported value types.
    {"Float", "a = 3.14", kUnsup, 1, 5},
    {"FloatExponent", "a = 1e10", kUnsup, 1, 5},
    {"FloatSignedExponent", "a = -2E-3", kUnsup, 1, 5},
    {"FloatInArray", "a = [1, 2.5]", kUnsup, 1, 9},
    {"Infinity", "a = -inf", kUnsup, 1, 5},
    {"NaN", "a = nan", kUnsup, 1, 5},
    {"LocalDate", "a = 1979-05-27", kUnsup, 1, 5},
    {"OffsetDateTime", "a = 1979-05-27T07:32:00.999-07:00", kUnsup, 1, 5},
    {"DateTimeWithSpace", "a = 1979-05-27 07:32:00Z", kUnsup, 1, 5},
    {"LocalTime", "a = 07:32:00", kUnsup, 1, 5},
    // Strings.
    {"UnknownEscape", "a = \"\\q\"", kSyntax, 1, 6},
    {"HexEscapeIsNotToml10", "a = \"\\x41\"", kSyntax, 1, 6},
    {"EscapeEIsNotToml10", "a = \"\\e\"", kSyntax, 1, 6},
    {"ShortUnicodeEscape", "a = \"\\u12\"", kSyntax, 1, 6},
    {"SurrogateEscape", "a = \"\\uD800\"", kSyntax, 1, 6},
    {"EscapeAboveUnicode", "a = \"\\U00110000\"", kSyntax, 1, 6},
    {"BackslashSpaceInSingleLine", "a = \"x\\ \n\"", kSyntax, 1, 7},
    {"BackslashSpaceNotAtLineEnd", "a = \"\"\"x\\ y\"\"\"", kSyntax, 1, 9},
    {"UnterminatedBasicAtEof", "a = \"abc", kSyntax, 1, 9},
    {"UnterminatedBasicAtNewline", "a = \"abc\nb = 1", kSyntax, 1, 9},
    {"UnterminatedLiteral", "a = 'abc\n", kSyntax, 1, 9},
    {"UnterminatedMultiLineBasic", "a = \"\"\"abc\n", kSyntax, 2, 1},
    {"UnterminatedMultiLineLiteral", "a = '''abc''", kSyntax, 1, 13},
    {"SixQuotesCloseMultiLine", "a = \"\"\"x\"\"\"\"\"\"", kSyntax, 1, 14},
    {"MultiLineStringAsKey", "\"\"\"a\"\"\" = 1", kSyntax, 1, 1},
    {"NewlineInKey", "\"a\nb\" = 1", kSyntax, 1, 3},
    // Arrays and inline tables.
    {"UnterminatedArray", "a = [1, 2", kSyntax, 1, 10},
    {"UnterminatedArrayAfterComma", "a = [1,", kSyntax, 1, 8},
    {"UnterminatedInlineTable", "a = {b = 1", kSyntax, 1, 11},
    {"NewlineInInlineTable", "a = {b = 1,\nc = 2}", kSyntax, 1, 12},
    {"NewlineBeforeInlineTableClose", "a = {b = 1\n}", kSyntax, 1, 11},
    {"CommentInInlineTable", "a = {b = 1 # c\n}", kSyntax, 1, 12},
    {"TrailingCommaInInlineTable", "a = {b = 1,}", kSyntax, 1, 12},
    {"EmptyArrayElement", "a = [1,,2]", kSyntax, 1, 8},
    {"OnlyCommaInArray", "a = [,]", kSyntax, 1, 6},
    {"MissingCommaInArray", "a = [1 2]", kSyntax, 1, 8},
    {"InlineTableMissingEquals", "a = {b}", kSyntax, 1, 7},
    // Integers.
    {"LeadingZero", "a = 012", kSyntax, 1, 5},
    {"DoubleZero", "a = 00", kSyntax, 1, 5},
    {"SignedLeadingZero", "a = -01", kSyntax, 1, 5},
    {"IntegerOverflow", "a = 9223372036854775808", kSyntax, 1, 5},
    {"NegativeIntegerOverflow", "a = -9223372036854775809", kSyntax, 1, 5},
    {"HexOverflow", "a = 0x8000000000000000", kSyntax, 1, 5},
    {"SignedHex", "a = +0x1", kSyntax, 1, 5},
    {"UppercasePrefix", "a = 0X1", kSyntax, 1, 5},
    {"EmptyHex", "a = 0x", kSyntax, 1, 7},
    {"BadBinaryDigit", "a = 0b102", kSyntax, 1, 9},
    {"DoubleUnderscore", "a = 1__2", kSyntax, 1, 6},
    {"TrailingUnderscore", "a = 1_", kSyntax, 1, 6},
    {"LeadingUnderscore", "a = _1", kSyntax, 1, 5},
    {"UnderscoreAfterPrefix", "a = 0x_1", kSyntax, 1, 7},
    {"FloatWithoutFraction", "a = 1.", kSyntax, 1, 5},
    {"FloatWithoutIntegerPart", "a = .5", kSyntax, 1, 5},
    {"CapitalisedBoolean", "a = True", kSyntax, 1, 5},
    {"BooleanWithSuffix", "a = truee", kSyntax, 1, 5},
    {"BareWordValue", "a = yes", kSyntax, 1, 5},
    // Line structure and characters.
    {"BareCarriageReturn", "a = 1\rb = 2", kSyntax, 1, 6},
    {"BareCarriageReturnInComment", "# a\r\nb = 1\n# c\rd", kSyntax, 3, 4},
    {"BareCarriageReturnInMultiLineString", "a = \"\"\"x\ry\"\"\"", kSyntax, 1, 9},
    {"ControlCharacterInString", "a = \"x\x01y\"", kSyntax, 1, 7},
    {"DeleteInLiteralString", "a = 'x\x7Fy'", kSyntax, 1, 7},
    {"ControlCharacterInComment", "a = 1 # x\x1B[31m", kSyntax, 1, 10},
    {"NulInComment", std::string_view("# \0", 3), kSyntax, 1, 3},
    {"NulAsKey", std::string_view("\0 = 1", 5), kSyntax, 1, 1},
    {"InvalidUtf8InString", "a = \"\xFF\"", kSyntax, 1, 6},
    {"OverlongUtf8", "# ok\n# \xC0\xAF", kSyntax, 2, 3},
    {"Utf8EncodedSurrogate", "a = 'x\xED\xA0\x80'", kSyntax, 1, 7},
    {"TruncatedUtf8AtEnd", "a = 1 # \xE2\x82", kSyntax, 1, 9},
    {"InvalidUtf8ColumnCountsCharacters", "a = \"\xC3\xA9\xC3\xA9\xFF\"", kSyntax, 1, 8},
    {"ByteOrderMarkNotAtStart",
     "a = 1\n\xEF\xBB\xBF"
     "b = 2",
     kSyntax, 2, 1},
    {"ByteOrderMarkAsValue",
     "a = \xEF\xBB\xBF"
     "1",
     kSyntax, 1, 5},
    {"TwoByteOrderMarks",
     "\xEF\xBB\xBF\xEF\xBB\xBF"
     "a = 1",
     kSyntax, 1, 1},
    {"FormFeedAsWhitespace", "a =\f1", kSyntax, 1, 4},
    // Keys, '=' and values.
    {"MissingEquals", "a 1", kSyntax, 1, 3},
    {"MissingKey", "= 1", kSyntax, 1, 1},
    {"MissingValueAtEof", "a =", kSyntax, 1, 4},
    {"MissingValueAtNewline", "a = \nb = 1", kSyntax, 1, 5},
    {"EmptyDottedKeyPart", "a. = 1", kSyntax, 1, 4},
    {"InvalidBareKeyCharacter", "a$ = 1", kSyntax, 1, 2},
    {"NonAsciiBareKey", "\xC3\xA9 = 1", kSyntax, 1, 1},
    {"JunkAfterValue", "a = 1 b", kSyntax, 1, 7},
    {"JunkAfterString", "a = \"x\"y", kSyntax, 1, 8},
    {"TwoKeyValuesOnOneLine", "a = 1 b = 2", kSyntax, 1, 7},
    {"JunkAfterArray", "a = [] []", kSyntax, 1, 8},
    // Headers.
    {"JunkAfterHeader", "[a] b = 1", kSyntax, 1, 5},
    {"ExtraCloseBracket", "[a]]", kSyntax, 1, 4},
    {"SplitArrayHeaderClose", "[[a] ]", kSyntax, 1, 4},
    {"SplitArrayHeaderOpen", "[ [a] ]", kSyntax, 1, 3},
    {"EmptyHeader", "[]", kSyntax, 1, 2},
    {"UnterminatedHeader", "[a", kSyntax, 1, 3},
    {"UnterminatedArrayHeader", "[[a]", kSyntax, 1, 4},
    {"HeaderWithSpaceInKey", "[a b]", kSyntax, 1, 4},
};

void PrintTo(const InvalidCase& c, std::ostream* os) {
  *os << c.name;
}

class TomlInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(TomlInvalidTest, RejectedWithReasonAndPosition) {
  const InvalidCase& c = GetParam();
  auto doc = ParseToml(c.doc, PolicyLimits{});
  ASSERT_FALSE(doc.ok()) << "accepted: " << Dump(*doc);
  const Status& st = doc.status();
  EXPECT_EQ(st.code(), ErrorCode::kMalformed) << st.ToString();
  EXPECT_EQ(st.reason(), c.reason) << st.ToString();
  const std::string prefix =
      "line " + std::to_string(c.line) + ", column " + std::to_string(c.column) + ": ";
  EXPECT_EQ(st.message().substr(0, prefix.size()), prefix) << st.ToString();
  EXPECT_TRUE(st.offset().has_value());
}

INSTANTIATE_TEST_SUITE_P(Documents, TomlInvalidTest, ::testing::ValuesIn(kInvalid),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(TomlTest, GoldenTableIsLargeAndNamesAreUnique) {
  EXPECT_GE(std::size(kInvalid), 40u);
  std::vector<std::string> names;
  for (const InvalidCase& c : kInvalid) names.emplace_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

// ---------------------------------------------------------------------------------------------
// Messages, positions and lookups.

TEST(TomlTest, MessagesExplainTheProblem) {
  auto dup = ParseToml("a = 1\na = 2", PolicyLimits{});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(),
            "line 2, column 1: duplicate key 'a' (first defined at line 1, column 5)");
  auto flt = ParseToml("x = 1.5", PolicyLimits{});
  ASSERT_FALSE(flt.ok());
  EXPECT_NE(flt.status().message().find("floating-point numbers are not supported"),
            std::string_view::npos);
  auto date = ParseToml("x = 2024-01-01", PolicyLimits{});
  ASSERT_FALSE(date.ok());
  EXPECT_NE(date.status().message().find("dates and times are not supported"),
            std::string_view::npos);
  auto table = ParseToml("[a]\n[\"a\"]", PolicyLimits{});
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(),
            "line 2, column 2: table [a] is defined twice (first at line 1, column 1)");
  auto unterminated = ParseToml("a = [\n1,\n", PolicyLimits{});
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message(),
            "line 3, column 1: unterminated array (opened at line 1, column 5)");
}

TEST(TomlTest, ValuesRecordLineAndColumn) {
  auto doc = ParseToml("a = 1\n[t]\n  b = \"x\"\nc = [\"\xC3\xA9\", {d = true}]\n[[arr]]\n",
                       PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->line(), 1u);
  EXPECT_EQ(doc->column(), 1u);
  const TomlValue* a = doc->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->line(), 1u);
  EXPECT_EQ(a->column(), 5u);
  const TomlValue* t = doc->Find("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->line(), 2u);
  EXPECT_EQ(t->column(), 1u);
  const TomlValue* b = t->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->line(), 3u);
  EXPECT_EQ(b->column(), 7u);
  const TomlValue* c = t->Find("c");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->is_array());
  ASSERT_EQ(c->as_array().size(), 2u);
  EXPECT_EQ(c->as_array()[0].column(), 6u);
  // Columns count characters: "é" is two bytes but one column.
  EXPECT_EQ(c->as_array()[1].line(), 4u);
  EXPECT_EQ(c->as_array()[1].column(), 11u);
  const TomlValue* d = c->as_array()[1].Find("d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->column(), 16u);
  const TomlValue* arr = t->Find("arr");
  EXPECT_EQ(arr, nullptr);
  arr = doc->Find("arr");
  ASSERT_NE(arr, nullptr);
  EXPECT_EQ(arr->line(), 5u);
  ASSERT_EQ(arr->as_array().size(), 1u);
  EXPECT_EQ(arr->as_array()[0].line(), 5u);
}

TEST(TomlTest, ByteOrderMarkTakesNoColumn) {
  auto doc = ParseToml(
      "\xEF\xBB\xBF"
      "a = 1",
      PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->Find("a")->column(), 5u);
  auto bad = ParseToml(
      "\xEF\xBB\xBF"
      "a = x",
      PolicyLimits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().substr(0, 18), "line 1, column 5: ");
}

TEST(TomlTest, ImplicitTableTakesPositionOfItsHeaderWhenDefined) {
  auto doc = ParseToml("[a.b]\n\n[a]\n", PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const TomlValue* a = doc->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->line(), 3u);
}

TEST(TomlTest, FindAndKinds) {
  auto doc = ParseToml("s = 'x'\ni = 3\nb = false\narr = [1]\n[t]\n", PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_TRUE(doc->Find("s")->is_string());
  EXPECT_EQ(doc->Find("s")->as_string(), "x");
  EXPECT_TRUE(doc->Find("i")->is_integer());
  EXPECT_EQ(doc->Find("i")->as_integer(), 3);
  EXPECT_TRUE(doc->Find("b")->is_bool());
  EXPECT_FALSE(doc->Find("b")->as_bool());
  EXPECT_TRUE(doc->Find("arr")->is_array());
  EXPECT_TRUE(doc->Find("t")->is_table());
  EXPECT_EQ(doc->Find("missing"), nullptr);
  EXPECT_EQ(doc->Find("s")->Find("x"), nullptr);  // not a table
}

TEST(TomlTest, ManyKeysInOneTable) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "k" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  auto doc = ParseToml(text, PolicyLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->as_table().size(), 20000u);
  EXPECT_EQ(doc->as_table().back().first, "k19999");
  text += "k77 = 1\n";
  auto dup = ParseToml(text, PolicyLimits{});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().reason(), "toml.duplicate-key");
}

// ---------------------------------------------------------------------------------------------
// Limits at N and N+1.

TEST(TomlLimitsTest, PolicyBytes) {
  PolicyLimits limits;
  limits.max_policy_bytes = 64;
  std::string text = "a = \"" + std::string(58, 'x') + "\"";
  ASSERT_EQ(text.size(), 64u);
  EXPECT_TRUE(ParseToml(text, limits).ok());
  text.insert(5, "y");
  auto big = ParseToml(text, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(big.status().reason(), "toml.too-large");
  EXPECT_EQ(big.status().message().substr(0, 19), "line 1, column 65: ");
}

TEST(TomlLimitsTest, SizeIsCheckedBeforeAnythingElse) {
  PolicyLimits limits;
  limits.max_policy_bytes = 4;
  auto r = ParseToml("\xFF\xFF = = =", limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "toml.too-large");
}

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

void ExpectDepthLimit(const std::string& at_limit, const std::string& over_limit,
                      const PolicyLimits& limits) {
  auto ok = ParseToml(at_limit, limits);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  auto deep = ParseToml(over_limit, limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), ErrorCode::kLimitExceeded) << deep.status().ToString();
  EXPECT_EQ(deep.status().reason(), "toml.too-deep");
}

TEST(TomlLimitsTest, NestingOfArrays) {
  PolicyLimits limits;
  limits.max_nesting = 5;
  ExpectDepthLimit("a = " + Repeat("[", 5) + Repeat("]", 5),
                   "a = " + Repeat("[", 6) + Repeat("]", 6), limits);
  // The error points at the bracket that goes one level too deep.
  auto deep = ParseToml("a = [[[[[[1]]]]]]", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message().substr(0, 20), "line 1, column 10: t");
}

TEST(TomlLimitsTest, NestingOfInlineTables) {
  PolicyLimits limits;
  limits.max_nesting = 4;
  ExpectDepthLimit("a = " + Repeat("{b = ", 4) + "1" + Repeat("}", 4),
                   "a = " + Repeat("{b = ", 5) + "1" + Repeat("}", 5), limits);
  // Dotted keys inside an inline table add levels too.
  ExpectDepthLimit("a = {b.c.d = {}}", "a = {b.c.d.e = {}}", limits);
}

TEST(TomlLimitsTest, NestingOfTableHeaders) {
  PolicyLimits limits;
  limits.max_nesting = 6;
  ExpectDepthLimit("[" + Repeat("a.", 5) + "a]", "[" + Repeat("a.", 6) + "a]", limits);
  // An array of tables is one level and each of its elements another.
  ExpectDepthLimit("[" + Repeat("a.", 3) + "a]\n[[" + Repeat("a.", 4) + "b]]",
                   "[" + Repeat("a.", 3) + "a]\n[[" + Repeat("a.", 5) + "b]]", limits);
  ExpectDepthLimit("[[a]]\n[[a.b]]\n[[a.b.c]]\n", "[[a]]\n[[a.b]]\n[[a.b.c]]\n[[a.b.c.d]]\n",
                   limits);
}

TEST(TomlLimitsTest, NestingOfDottedKeysAndValuesBelowHeaders) {
  PolicyLimits limits;
  limits.max_nesting = 6;
  // 5 tables from the key, then the array at level 6 (accepted) or 7 (rejected).
  ExpectDepthLimit(Repeat("a.", 5) + "b = []", Repeat("a.", 6) + "b = []", limits);
  ExpectDepthLimit("[a.b]\nc.d = [[[]]]", "[a.b]\nc.d = [[[[]]]]", limits);
}

TEST(TomlLimitsTest, ZeroNestingAllowsOnlyScalarsAtTheRoot) {
  PolicyLimits limits;
  limits.max_nesting = 0;
  ExpectDepthLimit("a = 1\nb = 'x'", "a = []", limits);
  ExpectDepthLimit("a = 1", "[a]", limits);
}

TEST(TomlLimitsTest, DefaultNestingLimit) {
  const PolicyLimits limits;
  const size_t n = limits.max_nesting;
  ExpectDepthLimit("a = " + Repeat("[", n) + Repeat("]", n),
                   "a = " + Repeat("[", n + 1) + Repeat("]", n + 1), limits);
}

TEST(TomlLimitsTest, HundredThousandDeepInputsFailWithoutRecursion) {
  const struct {
    std::string text;
    std::string_view reason;
  } cases[] = {
      {Repeat("[", 100000), "toml.syntax"},  // "[[" then a key is expected, not '['
      {"a=" + Repeat("[", 100000), "toml.too-deep"},
      {"a=" + Repeat("[", 100000) + Repeat("]", 100000), "toml.too-deep"},
      {"a=" + Repeat("{b=", 100000), "toml.too-deep"},
      {"a=" + Repeat("[{b=", 50000), "toml.too-deep"},
      {"[" + Repeat("a.", 100000) + "a]", "toml.too-deep"},
      {Repeat("a.", 100000) + "a = 1", "toml.too-deep"},
  };
  for (const auto& c : cases) {
    auto r = ParseToml(c.text, PolicyLimits{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reason(), c.reason) << r.status().ToString();
  }
}

TEST(TomlLimitsTest, LargestDefaultDocumentParses) {
  // A 1 MiB array of one-digit integers: the worst case for values per byte.
  const PolicyLimits limits;
  std::string text = "a = [";
  while (text.size() + 3 <= limits.max_policy_bytes) text += "1,";
  text += "]";
  ASSERT_LE(text.size(), limits.max_policy_bytes);
  auto doc = ParseToml(text, limits);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_GT(doc->Find("a")->as_array().size(), 500000u);
}

}  // namespace
}  // namespace sealpkg::verifier
