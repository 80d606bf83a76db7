#include "signing/statement.h"

#include <gtest/gtest.h>

#include <string>

#include "signing/hashing.h"

namespace sealpkg::signing {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

OmsStatement Sample() {
  OmsStatement s;
  s.subject.name = "m";
  s.subject.annotations = {{"sealpkg.format", "1"}, {"sealpkg.entry_count", "2"}};
  s.resources = {{"m/a", Sha256(AsBytes("a")), 1}, {"m/b", Sha256(AsBytes("bb")), 2}};
  s.ignore_paths = {"m/.data/signatures/package.sigstore.json"};
  return s;
}

TEST(StatementTest, CanonicalOmsStatementRoundTrips) {
  const std::string text = SerializeOmsStatement(Sample());
  const std::string root = HexEncode(OmsRootDigest(Sample().resources));
  EXPECT_EQ(
      text,
      R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":")" +
          root +
          R"("},"annotations":{"sealpkg.format":"1","sealpkg.entry_count":"2"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"resources":[{"name":"m/a","algorithm":"sha256","digest":")" +
          HexEncode(Sha256(AsBytes("a"))) +
          R"(","size":1},{"name":"m/b","algorithm":"sha256","digest":")" +
          HexEncode(Sha256(AsBytes("bb"))) +
          R"(","size":2}],"serialization":{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":["m/.data/signatures/package.sigstore.json"]}}})");
  auto back = ParseOmsStatement(AsBytes(text), SigningLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->resources.size(), 2u);
  EXPECT_EQ(*back->resources[1].size, 2u);
  EXPECT_EQ(*back->subject.FindAnnotation("sealpkg.entry_count"), "2");
  EXPECT_EQ(back->subject.FindAnnotation("nope"), nullptr);
  EXPECT_EQ(SerializeOmsStatement(*back), text);
  // Root digest = SHA-256(raw digest a || raw digest b).
  std::vector<uint8_t> cat;
  for (const auto& r : Sample().resources) cat.insert(cat.end(), r.digest.begin(), r.digest.end());
  EXPECT_EQ(HexEncode(back->subject.sha256), Sha256Hex(cat));
}

// A model_signing-shaped statement: resources without size, keys in its order, no annotations.
TEST(StatementTest, AcceptsModelSigningShape) {
  const std::string d = HexEncode(Sha256(AsBytes("x")));
  const std::string root = Sha256Hex(Sha256(AsBytes("x")));
  const std::string text =
      R"({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "model", "digest": {"sha256": ")" +
      root +
      R"("}}], "predicateType": "https://model_signing/signature/v1.0", "predicate": {"serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": ["model.sig"]}, "resources": [{"digest": ")" +
      d + R"(", "algorithm": "sha256", "name": "."}]}})";
  auto st = ParseOmsStatement(AsBytes(text), SigningLimits{});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->resources[0].name, ".");
  EXPECT_FALSE(st->resources[0].size.has_value());
}

TEST(StatementTest, GoldenRejections) {
  const std::string good = SerializeOmsStatement(Sample());
  const auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  const std::string da = HexEncode(Sha256(AsBytes("a")));
  const std::pair<std::string, std::string> cases[] = {
      {replace("Statement/v1", "Statement/v0.1"), "statement.type"},
      {replace("signature/v1.0", "signature/v0.2"), "statement.predicate-type"},
      {replace("\"serialization\"", "\"extra\":1,\"serialization\""), "json.unknown-key"},
      {replace("\"method\":\"files\"", "\"method\":\"shards\""), "statement.serialization"},
      {replace("\"hash_type\":\"sha256\"", "\"hash_type\":\"blake2b\""), "statement.serialization"},
      {replace("\"allow_symlinks\":false", "\"allow_symlinks\":false,\"shard_size\":1"),
       "json.unknown-key"},
      {replace("\"name\":\"m/b\"", "\"name\":\"m/a\""), "statement.unsorted"},
      {replace("\"name\":\"m/a\"", "\"name\":\"m/c\""), "statement.unsorted"},
      {replace("\"name\":\"m/a\"", "\"name\":\"\""), "statement.resource"},
      {replace("\"algorithm\":\"sha256\"", "\"algorithm\":\"SHA256\""), "statement.resource"},
      {replace(da, std::string(63, 'a')), "statement.resource"},
      {replace(da, std::string(64, 'A')), "statement.resource"},
      {replace("\"size\":1", "\"size\":-1"), "statement.resource"},
      {replace("\"size\":1", "\"size\":1.0"), "json.not-integer"},
      {replace("\"size\":1", "\"size\":1,\"x\":2"), "json.unknown-key"},
      {replace(da, HexEncode(Sha256(AsBytes("z")))), "statement.root-digest"},
      {replace("\"sealpkg.format\":\"1\"", "\"sealpkg.format\":1"), "statement.annotation"},
      {replace("{\"sha256\":", "{\"sha512\":\"00\",\"sha256\":"), "statement.digest"},
      {replace("\"predicate\":{", "\"predicate\":{\"resources\":[],"), "json.duplicate-key"},
      {good + " x", "json.trailing-data"},
      {replace("\"subject\":[{", "\"subject\":[],\"x\":[{"), "statement.no-subject"},
  };
  for (const auto& [text, reason] : cases) {
    auto st = ParseOmsStatement(AsBytes(text), SigningLimits{});
    EXPECT_EQ(st.status().reason(), reason) << text << "\n -> " << st.status().ToString();
  }
  // Two subjects.
  InTotoStatement two;
  two.subjects = {Subject{"a", {}, {}}, Subject{"b", {}, {}}};
  two.predicate_type = std::string(kOmsPredicateType);
  two.predicate = JsonValue::Object();
  const std::string two_text = SerializeJson(InTotoStatementToJson(two));
  EXPECT_EQ(ParseOmsStatement(AsBytes(two_text), SigningLimits{}).status().reason(),
            "statement.subject-count");
  auto generic = ParseInTotoStatement(AsBytes(two_text), SigningLimits{});
  ASSERT_TRUE(generic.ok());
  EXPECT_EQ(generic->subjects.size(), 2u);
}

TEST(StatementTest, ResourceLimitAtNAndNPlusOne) {
  SigningLimits limits;
  limits.max_resources = 2;
  const std::string two = SerializeOmsStatement(Sample());
  EXPECT_TRUE(ParseOmsStatement(AsBytes(two), limits).ok());
  OmsStatement three = Sample();
  three.resources.push_back({"m/c", Sha256(AsBytes("c")), 1});
  const auto st = ParseOmsStatement(AsBytes(SerializeOmsStatement(three)), limits).status();
  EXPECT_EQ(st.reason(), "statement.resources-limit");
  EXPECT_EQ(st.code(), ErrorCode::kLimitExceeded);
}

}  // namespace
}  // namespace sealpkg::signing
