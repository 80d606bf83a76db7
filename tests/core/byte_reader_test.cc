#include "core/byte_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace sealpkg {
namespace {

const std::vector<uint8_t> kBytes = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                     0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff};

TEST(RangeFitsTest, Basics) {
  EXPECT_TRUE(RangeFits(0, 0, 0));
  EXPECT_FALSE(RangeFits(0, 1, 0));
  EXPECT_FALSE(RangeFits(1, 0, 0));
  EXPECT_TRUE(RangeFits(0, 10, 10));
  EXPECT_TRUE(RangeFits(10, 0, 10));  // empty range at the very end
  EXPECT_FALSE(RangeFits(11, 0, 10));
  EXPECT_FALSE(RangeFits(0, 11, 10));
  EXPECT_TRUE(RangeFits(3, 7, 10));
  EXPECT_FALSE(RangeFits(3, 8, 10));
}

TEST(RangeFitsTest, OverflowBoundaries) {
  constexpr uint64_t kMax = UINT64_MAX;
  EXPECT_TRUE(RangeFits(0, kMax, kMax));
  EXPECT_TRUE(RangeFits(kMax, 0, kMax));
  EXPECT_FALSE(RangeFits(kMax, 1, kMax));  // offset + length wraps to 0
  EXPECT_FALSE(RangeFits(1, kMax, kMax));  // wraps to 0 as well
  EXPECT_FALSE(RangeFits(kMax, kMax, kMax));
  EXPECT_TRUE(RangeFits(kMax - 1, 1, kMax));
  EXPECT_FALSE(RangeFits(kMax - 1, 2, kMax));
  EXPECT_FALSE(RangeFits(2, kMax - 1, kMax));
  EXPECT_TRUE(RangeFits(1, kMax - 1, kMax));
  // Small sizes with huge offsets/lengths: a naive "off + n > size" would wrap and pass.
  EXPECT_FALSE(RangeFits(16, kMax - 15, 32));
  EXPECT_FALSE(RangeFits(kMax - 15, 16, 32));
  EXPECT_FALSE(RangeFits(kMax, kMax, 0));
}

TEST(RangeFitsTest, IsConstexpr) {
  static_assert(RangeFits(0, 4, 4));
  static_assert(!RangeFits(UINT64_MAX, 2, 8));
  SUCCEED();
}

TEST(ByteReaderTest, LittleEndianReads) {
  ByteReader r(kBytes);
  EXPECT_EQ(r.U8(), 0x01);
  EXPECT_EQ(r.U16(), 0x0302);
  EXPECT_EQ(r.U32(), 0x07060504u);
  EXPECT_EQ(r.U64(), 0x0f0e0d0c0b0a0908ull);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.position(), 15u);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_EQ(r.size(), kBytes.size());
}

TEST(ByteReaderTest, HighBitsAreNotSignExtended) {
  const std::vector<uint8_t> ff(8, 0xff);
  ByteReader r(ff);
  EXPECT_EQ(r.U16(), 0xffffu);
  r.Seek(0);
  EXPECT_EQ(r.U32(), 0xffffffffu);
  r.Seek(0);
  EXPECT_EQ(r.U64(), UINT64_MAX);
  EXPECT_TRUE(r.ok());
}

TEST(ByteReaderTest, BytesIsAViewIntoTheInput) {
  ByteReader r(kBytes);
  r.Skip(2);
  const auto b = r.Bytes(3);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.data(), kBytes.data() + 2);
  EXPECT_EQ(b[0], 0x03);
  EXPECT_EQ(b[2], 0x05);
  EXPECT_EQ(r.position(), 5u);
  const auto c = r.Chars(2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(static_cast<const void*>(c.data()), static_cast<const void*>(kBytes.data() + 5));
  EXPECT_EQ(r.position(), 7u);
  EXPECT_TRUE(r.ok());
}

TEST(ByteReaderTest, StickyErrorAfterFirstFailure) {
  const std::vector<uint8_t> three = {0xaa, 0xbb, 0xcc};
  ByteReader r(three);
  EXPECT_EQ(r.U16(), 0xbbaa);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U16(), 0u);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), 2u);
  EXPECT_EQ(r.position(), 2u);  // a failed read does not advance
  // One byte remains, but every later read fails too.
  EXPECT_EQ(r.U8(), 0u);
  EXPECT_TRUE(r.Bytes(1).empty());
  EXPECT_TRUE(r.Bytes(0).empty());
  EXPECT_TRUE(r.Chars(1).empty());
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), 2u);
  EXPECT_EQ(r.position(), 2u);
  // Seek cannot clear the error or move the reader.
  r.Seek(0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 2u);
  EXPECT_EQ(r.U8(), 0u);
  EXPECT_EQ(r.error_offset(), 2u);
}

TEST(ByteReaderTest, ErrorOffsetIsPositionOfFailedRead) {
  ByteReader r(kBytes);
  r.Skip(10);
  EXPECT_EQ(r.U64(), 0u);  // 6 bytes remain
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), 10u);
  r.Skip(100);
  EXPECT_EQ(r.error_offset(), 10u);
}

TEST(ByteReaderTest, EachWidthFailsAtEnd) {
  for (uint64_t have = 0; have < 8; ++have) {
    const std::vector<uint8_t> bytes(have, 0x11);
    ByteReader r1(bytes);
    const uint8_t v8 = r1.U8();
    EXPECT_EQ(r1.ok(), have >= 1);
    EXPECT_EQ(v8, have >= 1 ? 0x11 : 0);
    ByteReader r2(bytes);
    const uint16_t v16 = r2.U16();
    EXPECT_EQ(r2.ok(), have >= 2);
    EXPECT_EQ(v16, have >= 2 ? 0x1111 : 0);
    ByteReader r4(bytes);
    const uint32_t v32 = r4.U32();
    EXPECT_EQ(r4.ok(), have >= 4);
    EXPECT_EQ(v32, have >= 4 ? 0x11111111u : 0u);
    ByteReader r8(bytes);
    EXPECT_EQ(r8.U64(), 0u);
    EXPECT_FALSE(r8.ok());
    EXPECT_EQ(r8.error_offset(), 0u);
  }
}

TEST(ByteReaderTest, SeekBounds) {
  ByteReader r(kBytes);
  r.Seek(kBytes.size());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.position(), kBytes.size());
  EXPECT_EQ(r.remaining(), 0u);
  r.Seek(3);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U8(), 0x04);

  ByteReader bad(kBytes);
  bad.Seek(kBytes.size() + 1);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error_offset(), kBytes.size() + 1);
  EXPECT_EQ(bad.position(), 0u);
  EXPECT_EQ(bad.U8(), 0u);

  ByteReader huge(kBytes);
  huge.Seek(UINT64_MAX);
  EXPECT_FALSE(huge.ok());
  EXPECT_EQ(huge.error_offset(), UINT64_MAX);
}

TEST(ByteReaderTest, ZeroLengthReadsAtTheEnd) {
  ByteReader r(kBytes);
  r.Seek(kBytes.size());
  const auto b = r.Bytes(0);
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(r.Chars(0).empty());
  r.Skip(0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.position(), kBytes.size());
  EXPECT_TRUE(r.Bytes(1).empty());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), kBytes.size());
}

TEST(ByteReaderTest, EmptyInput) {
  ByteReader r(std::span<const uint8_t>{});
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.Bytes(0).empty());
  r.Seek(0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U8(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), 0u);
}

TEST(ByteReaderTest, HugeLengthsFailWithoutOverflow) {
  ByteReader r(kBytes);
  r.Skip(1);
  EXPECT_TRUE(r.Bytes(UINT64_MAX).empty());  // 1 + UINT64_MAX wraps to 0
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_offset(), 1u);
  EXPECT_EQ(r.position(), 1u);

  ByteReader r2(kBytes);
  r2.Seek(kBytes.size());
  EXPECT_TRUE(r2.Chars(UINT64_MAX - kBytes.size() + 1).empty());
  EXPECT_FALSE(r2.ok());
}

TEST(ByteReaderTest, ReadWholeInputExactly) {
  ByteReader r(kBytes);
  const auto all = r.Bytes(kBytes.size());
  EXPECT_EQ(all.size(), kBytes.size());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(LoadTest, FixedSpans) {
  const std::array<uint8_t, 8> b = {0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a};
  const std::span<const uint8_t, 8> s(b);
  EXPECT_EQ(LoadU16(s.first<2>()), 0x5678);
  EXPECT_EQ(LoadU32(s.first<4>()), 0x12345678u);
  EXPECT_EQ(LoadU32(s.last<4>()), 0x9abcdef0u);
  EXPECT_EQ(LoadU64(s), 0x9abcdef012345678ull);
}

}  // namespace
}  // namespace sealpkg
