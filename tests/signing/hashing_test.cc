#include "signing/hashing.h"

#include <gtest/gtest.h>

#include <string>

namespace sealpkg::signing {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(HashingTest, KnownVectors) {
  const std::string_view abc = "abc";
  const std::span<const uint8_t> inputs[] = {AsBytes(""), AsBytes(abc)};
  auto d = Sha256Many(inputs);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(HexEncode((*d)[0]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode((*d)[1]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashingTest, ParallelMatchesSerialForManySizes) {
  std::vector<std::vector<uint8_t>> data;
  for (size_t n : {0u, 1u, 63u, 64u, 1000u, (1u << 20) - 1, 1u << 20, (1u << 20) + 1, 5u << 20}) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + n);
    data.push_back(std::move(v));
  }
  std::vector<std::span<const uint8_t>> spans(data.begin(), data.end());
  for (unsigned threads : {1u, 2u, 3u, 16u}) {
    for (size_t chunk : {size_t{1}, size_t{1} << 20, size_t{3} << 20, size_t{64} << 20}) {
      auto d = Sha256Many(spans, HashOptions{threads, chunk});
      ASSERT_TRUE(d.ok());
      ASSERT_EQ(d->size(), spans.size());
      for (size_t i = 0; i < spans.size(); ++i) {
        EXPECT_TRUE(DigestEqual((*d)[i], Sha256(spans[i]))) << i << " threads " << threads;
      }
    }
  }
  auto none = Sha256Many({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(HashingTest, IncrementalHasherAndHelpers) {
  Sha256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  const Sha256Digest abc = h.Final();
  EXPECT_TRUE(DigestEqual(abc, Sha256(AsBytes("abc"))));
  // Reusable after Final().
  h.UpdateU64(0x0102030405060708ull);
  const uint8_t le[] = {8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_TRUE(DigestEqual(h.Final(), Sha256(le)));
  Sha256Digest parsed{};
  ASSERT_TRUE(ParseHexDigest(HexEncode(abc), parsed));
  EXPECT_TRUE(DigestEqual(parsed, abc));
  auto other = abc;
  other[31] ^= 1;
  EXPECT_FALSE(DigestEqual(other, abc));
  std::string upper = HexEncode(abc);
  upper[0] = 'B';
  EXPECT_FALSE(ParseHexDigest(upper, parsed));
  EXPECT_FALSE(ParseHexDigest(HexEncode(abc).substr(1), parsed));
  EXPECT_FALSE(ParseHexDigest(std::string(64, 'g'), parsed));
}

}  // namespace
}  // namespace sealpkg::signing
