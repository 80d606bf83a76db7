#include "signing/json.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sealpkg::signing {
namespace {

using namespace std::string_literals;

Status ParseStatus(std::string_view text, const SigningLimits& limits = {}) {
  return ParseJson(text, limits).status();
}

TEST(JsonTest, ParsesAndSerializesCanonically) {
  auto v = ParseJson(R"( { "a" : [1, -2, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {} } )",
                     SigningLimits{});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(SerializeJson(*v),
            "{\"a\":[1,-2,true,false,null,\"x\\n\xc3\xa9\xf0\x9f\x98\x80\"],\"b\":{}}");
  ASSERT_NE(v->Find("a"), nullptr);
  EXPECT_EQ(v->Find("a")->items().size(), 6u);
  EXPECT_EQ(v->Find("a")->items()[1].integer_value(), -2);
  EXPECT_EQ(v->Find("zz"), nullptr);
}

TEST(JsonTest, SerializerEscapesMinimally) {
  JsonValue o = JsonValue::Object();
  o.Set("k\"", JsonValue::String("a\\b/\x01\x1f\t\x7f"));
  EXPECT_EQ(SerializeJson(o), R"({"k\"":"a\\b/\u0001\u001f\t)"
                              "\x7f"
                              R"("})");
  auto back = ParseJson(SerializeJson(o), SigningLimits{});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(SerializeJson(*back), SerializeJson(o));
}

TEST(JsonTest, TopLevelScalarsAndNesting) {
  EXPECT_TRUE(ParseStatus("0").ok());
  EXPECT_TRUE(ParseStatus("\"s\"").ok());
  EXPECT_TRUE(ParseStatus("[[[]],{\"a\":{\"b\":[]}}]").ok());
  EXPECT_TRUE(ParseStatus(" null ").ok());
}

struct Rejection {
  std::string text;
  std::string reason;
};

TEST(JsonTest, GoldenRejections) {
  const Rejection cases[] = {
      {"", "json.truncated"},
      {"   ", "json.truncated"},
      {"{\"a\":1,\"a\":2}", "json.duplicate-key"},
      {"{\"resources\":[],\"x\":1,\"resources\":[]}", "json.duplicate-key"},
      {"{} {}", "json.trailing-data"},
      {"1 x", "json.trailing-data"},
      {"[1,]", "json.syntax"},
      {"{\"a\":1,}", "json.syntax"},
      {"[1 2]", "json.syntax"},
      {"{\"a\" 1}", "json.syntax"},
      {"{1:2}", "json.syntax"},
      {"[01]", "json.syntax"},
      {"-", "json.syntax"},
      {"+1", "json.syntax"},
      {"tru", "json.syntax"},
      {"NaN", "json.syntax"},
      {"1.0", "json.not-integer"},
      {"1e3", "json.not-integer"},
      {"-0", "json.not-integer"},
      {"9007199254740992", "json.integer-range"},
      {"-9007199254740992", "json.integer-range"},
      {"123456789012345678901234567890", "json.integer-range"},
      {"\"a\x01\"", "json.control-char"},
      {"\"\\x\"", "json.bad-escape"},
      {"\"\\u12\"", "json.bad-escape"},
      {"\"\\ud800\"", "json.bad-escape"},
      {"\"\\udc00\"", "json.bad-escape"},
      {"\"\\ud800\\u0041\"", "json.bad-escape"},
      {"\"\\u0000\"", "json.nul-in-string"},
      {"\"\xff\"", "json.not-utf8"},
      {"\"\xc0\xaf\"", "json.not-utf8"},          // overlong '/'
      {"\"\xed\xa0\x80\"", "json.not-utf8"},      // raw surrogate
      {"\"\xf4\x90\x80\x80\"", "json.not-utf8"},  // above U+10FFFF
      {"\"abc", "json.truncated"},
      {"[", "json.truncated"},
      {"{\"a\":", "json.truncated"},
      {"\xef\xbb\xbf{}", "json.syntax"},  // a byte-order mark is not JSON
  };
  for (const Rejection& c : cases) {
    const Status st = ParseStatus(c.text);
    EXPECT_EQ(st.reason(), c.reason) << "input: " << c.text << " -> " << st.ToString();
    EXPECT_EQ(st.code(), ErrorCode::kMalformed) << c.text;
  }
}

TEST(JsonTest, IntegerBoundsAccepted) {
  auto v = ParseJson("[9007199254740991,-9007199254740991]", SigningLimits{});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->items()[0].integer_value(), kMaxJsonInteger);
  EXPECT_EQ(v->items()[1].integer_value(), -kMaxJsonInteger);
}

TEST(JsonTest, SizeLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_json_bytes = 10;
  EXPECT_TRUE(ParseStatus("\"12345678\"", limits).ok());
  const Status st = ParseStatus("\"123456789\"", limits);
  EXPECT_EQ(st.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(st.reason(), "json.size-limit");
}

TEST(JsonTest, DepthLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_json_depth = 4;
  EXPECT_TRUE(ParseStatus("[[[[]]]]", limits).ok());
  EXPECT_EQ(ParseStatus("[[[[[]]]]]", limits).reason(), "json.depth-limit");
  EXPECT_EQ(ParseStatus("{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}", limits).reason(), "json.depth-limit");
  // Deep input with default limits: rejected without recursion.
  const std::string deep(200000, '[');
  EXPECT_EQ(ParseStatus(deep).reason(), "json.depth-limit");
}

TEST(JsonTest, ValuesLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_json_values = 4;
  EXPECT_TRUE(ParseStatus("[1,2,3]", limits).ok());  // the array itself counts
  EXPECT_EQ(ParseStatus("[1,2,3,4]", limits).reason(), "json.values-limit");
}

TEST(JsonTest, MembersLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_json_members = 2;
  EXPECT_TRUE(ParseStatus("[1,2]", limits).ok());
  EXPECT_EQ(ParseStatus("[1,2,3]", limits).reason(), "json.members-limit");
  EXPECT_TRUE(ParseStatus("{\"a\":1,\"b\":2}", limits).ok());
  EXPECT_EQ(ParseStatus("{\"a\":1,\"b\":2,\"c\":3}", limits).reason(), "json.members-limit");
}

TEST(JsonTest, StringLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_json_string_bytes = 4;
  EXPECT_TRUE(ParseStatus("\"abcd\"", limits).ok());
  EXPECT_TRUE(ParseStatus("\"\\u00e9\\u00e9\"", limits).ok());  // 4 bytes decoded
  EXPECT_EQ(ParseStatus("\"abcde\"", limits).reason(), "json.string-limit");
  EXPECT_EQ(ParseStatus("{\"abcde\":1}", limits).reason(), "json.string-limit");
}

TEST(JsonTest, FieldsReportPathsAndUnknownKeys) {
  auto v = ParseJson(R"({"a":"s","n":3,"o":{"x":[1]},"extra":true})", SigningLimits{});
  ASSERT_TRUE(v.ok());
  auto f = JsonFields::Of(*v, "$");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->String("a"), "s");
  EXPECT_EQ(*f->Integer("n"), 3);
  auto wrong = f->String("n");
  EXPECT_EQ(wrong.status().reason(), "json.schema");
  EXPECT_EQ(wrong.status().message(), "$.n: expected a string, found an integer");
  auto missing = f->Integer("m");
  EXPECT_EQ(missing.status().message(), "$.m: required member is missing");
  auto o = f->Object("o");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->path(), "$.o");
  auto x = o->Array("x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->size(), 1u);
  EXPECT_EQ(JsonFields::Index(o->PathOf("x"), 0), "$.o.x[0]");
  EXPECT_TRUE(o->NoOtherKeys().ok());
  const Status unknown = f->NoOtherKeys();
  EXPECT_EQ(unknown.reason(), "json.unknown-key");
  EXPECT_EQ(unknown.message(), "$.extra: member is not allowed here");
  const std::string_view allowed[] = {"extra"};
  EXPECT_TRUE(f->NoOtherKeys(allowed).ok());
  EXPECT_FALSE(f->OptionalString("nope")->has_value());
  EXPECT_EQ(f->OptionalString("n").status().reason(), "json.schema");
  EXPECT_EQ(JsonFields::Of(JsonValue::Array(), "$.q").status().message(),
            "$.q: expected an object, found an array");
}

}  // namespace
}  // namespace sealpkg::signing
