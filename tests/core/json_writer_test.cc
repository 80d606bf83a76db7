#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "core/printable.h"

namespace sealpkg {
namespace {

using namespace std::string_literals;

// A small strict RFC 8259 validator: true if `text` is exactly one JSON value (plus whitespace),
// every string is valid UTF-8 without raw control characters, and escapes are well-formed.
class JsonValidator {
 public:
  explicit JsonValidator(std::string_view text) : s_(text) {}

  bool Valid() {
    if (!IsValidUtf8(s_)) return false;
    Ws();
    if (!Value(0)) return false;
    Ws();
    return i_ == s_.size();
  }

 private:
  bool Value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String();
      case 't':
        return Word("true");
      case 'f':
        return Word("false");
      case 'n':
        return Word("null");
      default:
        return Number();
    }
  }
  bool Object(int depth) {
    ++i_;
    Ws();
    if (Peek('}')) return ++i_, true;
    while (true) {
      Ws();
      if (!Peek('"') || !String()) return false;
      Ws();
      if (!Peek(':')) return false;
      ++i_;
      Ws();
      if (!Value(depth + 1)) return false;
      Ws();
      if (Peek(',')) {
        ++i_;
        continue;
      }
      if (Peek('}')) return ++i_, true;
      return false;
    }
  }
  bool Array(int depth) {
    ++i_;
    Ws();
    if (Peek(']')) return ++i_, true;
    while (true) {
      Ws();
      if (!Value(depth + 1)) return false;
      Ws();
      if (Peek(',')) {
        ++i_;
        continue;
      }
      if (Peek(']')) return ++i_, true;
      return false;
    }
  }
  bool String() {
    ++i_;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) return false;
        const char e = s_[i_];
        if (e == 'u') {
          if (i_ + 4 >= s_.size()) return false;
          for (int k = 1; k <= 4; ++k) {
            if (!std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) return false;
          }
          i_ += 5;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
      }
      ++i_;
    }
    return false;
  }
  bool Number() {
    const size_t start = i_;
    if (Peek('-')) ++i_;
    if (Peek('0')) {
      ++i_;
    } else {
      if (i_ >= s_.size() || s_[i_] < '1' || s_[i_] > '9') return false;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    return i_ > start;
  }
  bool Word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool ValidJson(std::string_view text) {
  return JsonValidator(text).Valid();
}

TEST(JsonValidatorSelfTest, RejectsBrokenJson) {
  EXPECT_TRUE(ValidJson(R"({"a":[1,-2,true,false,null,"x"]})"));
  EXPECT_FALSE(ValidJson(R"({"a":1,})"));
  EXPECT_FALSE(ValidJson(R"({"a" 1})"));
  EXPECT_FALSE(ValidJson(R"(["a"]])"));
  EXPECT_FALSE(ValidJson("\"a\nb\""));
  EXPECT_FALSE(ValidJson("\"\\x41\""));
  EXPECT_FALSE(ValidJson("\"\xff\""));
  EXPECT_FALSE(ValidJson("[1 2]"));
}

std::string Str(std::string_view v) {
  JsonWriter j;
  j.String(v);
  return j.Take();
}

TEST(JsonWriterTest, CompactNesting) {
  JsonWriter j;
  j.BeginObject()
      .Key("a")
      .Uint(1)
      .Key("b")
      .BeginArray()
      .String("x")
      .Int(-2)
      .Bool(true)
      .Bool(false)
      .Null()
      .EndArray()
      .Key("c")
      .BeginObject()
      .Key("d")
      .BeginArray()
      .EndArray()
      .Key("e")
      .BeginObject()
      .EndObject()
      .EndObject()
      .EndObject();
  const std::string out = j.Take();
  EXPECT_EQ(out, R"({"a":1,"b":["x",-2,true,false,null],"c":{"d":[],"e":{}}})");
  EXPECT_TRUE(ValidJson(out));
}

TEST(JsonWriterTest, EmptyContainers) {
  JsonWriter a;
  a.BeginArray().EndArray();
  EXPECT_EQ(a.Take(), "[]");
  JsonWriter o(2);
  o.BeginObject().EndObject();
  EXPECT_EQ(o.Take(), "{}");
  JsonWriter n(2);
  n.BeginArray().BeginArray().EndArray().BeginObject().EndObject().EndArray();
  EXPECT_EQ(n.Take(), "[\n  [],\n  {}\n]");
}

TEST(JsonWriterTest, ArrayOfArrays) {
  JsonWriter j;
  j.BeginArray().BeginArray().Uint(1).Uint(2).EndArray().BeginArray().Uint(3).EndArray().EndArray();
  EXPECT_EQ(j.Take(), "[[1,2],[3]]");
}

TEST(JsonWriterTest, Indented) {
  JsonWriter j(2);
  j.BeginObject()
      .Key("a")
      .Uint(1)
      .Key("b")
      .BeginArray()
      .String("x")
      .Uint(2)
      .EndArray()
      .Key("c")
      .BeginObject()
      .Key("d")
      .Null()
      .EndObject()
      .EndObject();
  const std::string out = j.Take();
  EXPECT_EQ(out,
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    \"x\",\n"
            "    2\n"
            "  ],\n"
            "  \"c\": {\n"
            "    \"d\": null\n"
            "  }\n"
            "}");
  EXPECT_TRUE(ValidJson(out));
}

TEST(JsonWriterTest, IndentWidth) {
  JsonWriter j(4);
  j.BeginArray().Bool(true).EndArray();
  EXPECT_EQ(j.Take(), "[\n    true\n]");
}

TEST(JsonWriterTest, TopLevelScalars) {
  JsonWriter a;
  a.Uint(0);
  EXPECT_EQ(a.Take(), "0");
  JsonWriter b;
  b.Null();
  EXPECT_EQ(b.Take(), "null");
  EXPECT_EQ(Str("x"), "\"x\"");
}

TEST(JsonWriterTest, IntegerExtremes) {
  JsonWriter j;
  j.BeginArray().Uint(UINT64_MAX).Int(INT64_MIN).Int(INT64_MAX).Int(0).EndArray();
  const std::string out = j.Take();
  EXPECT_EQ(out, "[18446744073709551615,-9223372036854775808,9223372036854775807,0]");
  EXPECT_TRUE(ValidJson(out));
}

TEST(JsonWriterTest, EscapesQuotesBackslashAndControls) {
  EXPECT_EQ(Str("a\"b"), R"("a\"b")");
  EXPECT_EQ(Str("a\\b"), R"("a\\b")");
  EXPECT_EQ(Str("\n"), R"("\n")");
  EXPECT_EQ(Str("\t"), R"("\t")");
  EXPECT_EQ(Str("\r"), R"("\u000d")");
  EXPECT_EQ(Str("\x01"), R"("\u0001")");
  EXPECT_EQ(Str("\x1b[2J"), R"("\u001b[2J")");
  EXPECT_EQ(Str("\x1f"), R"("\u001f")");
  EXPECT_EQ(Str("a\0b"s), R"("a\u0000b")");
  EXPECT_EQ(Str("/"), R"("/")");
  EXPECT_EQ(Str("\x7f"), "\"\x7f\"");  // DEL needs no escape in JSON
  EXPECT_EQ(Str(""), R"("")");
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter j;
  j.BeginObject().Key("k\"\n\xff").Uint(1).EndObject();
  const std::string out = j.Take();
  EXPECT_EQ(out, "{\"k\\\"\\n\xef\xbf\xbd\":1}");
  EXPECT_TRUE(ValidJson(out));
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(Str("\xff"), "\"" + fffd + "\"");
  EXPECT_EQ(Str("a\xc3"), "\"a" + fffd + "\"");                      // truncated at the end
  EXPECT_EQ(Str("\xc3(x"), "\"" + fffd + "(x\"");                    // bad continuation
  EXPECT_EQ(Str("\xc0\xaf"), "\"" + fffd + fffd + "\"");             // overlong
  EXPECT_EQ(Str("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\"");  // surrogate
  EXPECT_EQ(Str("\xf4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
  EXPECT_EQ(Str("x\x80y"), "\"x" + fffd + "y\"");
  EXPECT_EQ(Str("\xe2\x82\n"), "\"" + fffd + fffd + "\\n\"");
}

TEST(JsonWriterTest, ValidUtf8PassesThrough) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5 \xc2\x85";
  EXPECT_EQ(Str(text), "\"" + text + "\"");
  EXPECT_EQ(Str("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");
}

TEST(JsonWriterTest, RandomStringsAlwaysProduceValidJson) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> len(0, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int l = len(rng);
    for (int k = 0; k < l; ++k) s.push_back(static_cast<char>(byte(rng)));
    JsonWriter j(n % 2 == 0 ? 0 : 2);
    j.BeginObject().Key(s).BeginArray().String(s).EndArray().EndObject();
    const std::string out = j.Take();
    ASSERT_TRUE(ValidJson(out)) << out;
  }
}

TEST(JsonWriterTest, ValidUtf8RoundTripsExactlyModuloEscapes) {
  // A string that is valid UTF-8 without '"', '\\' or controls is copied byte for byte.
  std::string s;
  for (uint32_t cp : {0x41u, 0xe9u, 0x7ffu, 0x800u, 0xfffdu, 0x10000u, 0x10ffffu}) {
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  ASSERT_TRUE(IsValidUtf8(s));
  EXPECT_EQ(Str(s), "\"" + s + "\"");
}

TEST(JsonWriterTest, UnbalancedEndIsIgnored) {
  JsonWriter j;
  j.EndObject().EndArray();  // nothing open: must not touch memory
  j.BeginArray().Uint(1).EndArray().EndArray();
  EXPECT_EQ(j.Take(), "[1]");
}

}  // namespace
}  // namespace sealpkg
