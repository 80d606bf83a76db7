#include "signing/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace sealpkg::signing {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded;
    EXPECT_EQ(*d, Bytes(plain));
  }
}

TEST(Base64Test, RoundTripsAllByteValuesAndLengths) {
  std::vector<uint8_t> data;
  for (int n = 0; n < 300; ++n) {
    data.push_back(static_cast<uint8_t>(n * 7 + 3));
    auto d = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, data);
  }
}

TEST(Base64Test, GoldenRejections) {
  const std::pair<const char*, const char*> cases[] = {
      {"Zg", "base64.length"},  // padding required
      {"Zm9", "base64.length"},
      {"Zh==", "base64.pad-bits"},  // 'h' leaves non-zero bits
                                    // under "=="
      {"Zm9=", "base64.pad-bits"},
      {"Zm8=Zm8=", "base64.padding"},  // padding in the middle
      {"Z===", "base64.padding"},
      {"====", "base64.padding"},
      {"Zg=a", "base64.padding"},
      {"Zm9v\n", "base64.length"},
      {"Zm 9", "base64.alphabet"},  // whitespace
      {"Zm9v Zm8=", "base64.length"},
      {"Zm-_", "base64.alphabet"},  // URL-safe alphabet
      {"Zm9\xc3", "base64.alphabet"},
  };
  for (const auto& [text, reason] : cases) {
    const auto r = Base64Decode(text);
    EXPECT_EQ(r.status().reason(), reason) << text << " -> " << r.status().ToString();
    EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  }
}

}  // namespace
}  // namespace sealpkg::signing
