#include "archive/internal/names.h"

#include <gtest/gtest.h>

#include <string>

#include "archive/errors.h"

namespace sealpkg::archive::internal {
namespace {

using namespace std::string_literals;

Status Check(const std::string& name, bool utf8_flag = true) {
  return ValidateEntryName(name, utf8_flag, ArchiveLimits{});
}

void ExpectRejected(const std::string& name, std::string_view reason, bool utf8_flag = true) {
  const Status s = Check(name, utf8_flag);
  ASSERT_FALSE(s.ok()) << "accepted: " << name;
  EXPECT_EQ(s.code(), ErrorCode::kMalformed) << name;
  EXPECT_EQ(s.reason(), reason) << name;
  EXPECT_EQ(s.entry(), name) << "the status names the entry";
}

TEST(ValidateEntryNameTest, AcceptsOrdinaryNames) {
  for (const std::string n :
       {"a", "archive/data.pkl", "archive/.data/version", "m/.data/0.storage", "m/a/b/c/d/e.py",
        "m/...", "m/.../x", "m/..x", "m/x..", "m/.hidden", "m/a b", "m/~x",
        "m/a-b_c+d=e@f#g$h%i^j&k(l)m[n]o{p};q'r,s!t", "m/x.tar.gz"}) {
    const Status s = Check(n);
    EXPECT_TRUE(s.ok()) << n << ": " << s.ToString();
  }
}

TEST(ValidateEntryNameTest, Utf8NamesNeedTheUtf8Flag) {
  const std::string name = "m/caf\xc3\xa9.py";
  EXPECT_TRUE(Check(name, /*utf8_flag=*/true).ok());
  ExpectRejected(name, reason::kNameUtf8FlagMissing, /*utf8_flag=*/false);
  // Pure ASCII is the same in cp437 and UTF-8: no flag needed.
  EXPECT_TRUE(Check("m/plain.py", /*utf8_flag=*/false).ok());
  EXPECT_TRUE(Check("m/\xf0\x9f\x98\x80", true).ok());
}

TEST(ValidateEntryNameTest, RejectsInvalidUtf8) {
  ExpectRejected("m/\xff", reason::kNameNotUtf8);
  ExpectRejected("m/\xc0\xaf", reason::kNameNotUtf8);      // overlong '/'
  ExpectRejected("m/\xed\xa0\x80", reason::kNameNotUtf8);  // surrogate
  ExpectRejected("m/\xc3", reason::kNameNotUtf8);          // truncated
  // Invalid UTF-8 is reported as such even without the UTF-8 flag.
  ExpectRejected("m/\xff", reason::kNameNotUtf8, /*utf8_flag=*/false);
}

TEST(ValidateEntryNameTest, RejectsControlCharacters) {
  ExpectRejected("m/a\0b"s, reason::kNameControlChar);
  ExpectRejected("m/a\x01", reason::kNameControlChar);
  ExpectRejected("m/a\n", reason::kNameControlChar);
  ExpectRejected("m/a\r", reason::kNameControlChar);
  ExpectRejected("m/a\t", reason::kNameControlChar);
  ExpectRejected("m/\x1b[2J", reason::kNameControlChar);
  ExpectRejected("m/\x1f", reason::kNameControlChar);
  ExpectRejected("m/\x7f", reason::kNameControlChar);
  ExpectRejected("\0"s, reason::kNameControlChar);
}

TEST(ValidateEntryNameTest, RejectsBackslash) {
  ExpectRejected("m\\a", reason::kNameBackslash);
  ExpectRejected("m/..\\..\\etc", reason::kNameBackslash);
  ExpectRejected("\\", reason::kNameBackslash);
}

TEST(ValidateEntryNameTest, RejectsColon) {
  ExpectRejected("m/c:", reason::kNameForbiddenChar);
  ExpectRejected("C:/x", reason::kNameForbiddenChar);
  ExpectRejected("m/file:stream", reason::kNameForbiddenChar);
}

TEST(ValidateEntryNameTest, RejectsEmptyName) {
  ExpectRejected("", reason::kNameEmptySegment);
}

TEST(ValidateEntryNameTest, RejectsAbsolutePaths) {
  ExpectRejected("/m/a", reason::kNameAbsolute);
  ExpectRejected("/", reason::kNameAbsolute);
  ExpectRejected("//m", reason::kNameAbsolute);
}

TEST(ValidateEntryNameTest, RejectsEmptySegments) {
  ExpectRejected("m//a", reason::kNameEmptySegment);
  ExpectRejected("m/", reason::kNameEmptySegment);
  ExpectRejected("m/a/", reason::kNameEmptySegment);
}

TEST(ValidateEntryNameTest, RejectsDotSegments) {
  ExpectRejected(".", reason::kNameDotSegment);
  ExpectRejected("..", reason::kNameDotSegment);
  ExpectRejected("../x", reason::kNameDotSegment);
  ExpectRejected("m/../x", reason::kNameDotSegment);
  ExpectRejected("m/./x", reason::kNameDotSegment);
  ExpectRejected("m/..", reason::kNameDotSegment);
  ExpectRejected("m/.", reason::kNameDotSegment);
  ExpectRejected("./m", reason::kNameDotSegment);
}

TEST(ValidateEntryNameTest, CheckOrder) {
  // Characters are checked before the path shape.
  ExpectRejected("/m\\a", reason::kNameBackslash);
  ExpectRejected("../a:b", reason::kNameForbiddenChar);
  ExpectRejected("m//\x01", reason::kNameControlChar);
  // Encoding before characters.
  ExpectRejected("m/\x01\xff", reason::kNameNotUtf8);
  ExpectRejected("m/\x01\xc3\xa9", reason::kNameUtf8FlagMissing, /*utf8_flag=*/false);
}

TEST(ValidateEntryNameTest, NameLengthLimitAtNAndNPlusOne) {
  ArchiveLimits limits;
  limits.max_name_bytes = 10;
  EXPECT_TRUE(ValidateEntryName("m/45678901", true, limits).ok());
  const Status s = ValidateEntryName("m/456789012", true, limits);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(s.reason(), reason::kNameTooLong);
  EXPECT_EQ(s.entry(), "m/456789012");

  // The default limit is 4096 bytes.
  const std::string at = "m/" + std::string(4094, 'x');
  const std::string over = at + "x";
  EXPECT_TRUE(Check(at).ok());
  const Status d = Check(over);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(d.reason(), reason::kNameTooLong);
  // The status names the entry by a bounded prefix only.
  EXPECT_EQ(d.entry(), over.substr(0, 256));
}

TEST(ValidateEntryNameTest, LengthIsCheckedBeforeContent) {
  ArchiveLimits limits;
  limits.max_name_bytes = 4;
  const Status s = ValidateEntryName("../\xff\x01", true, limits);
  EXPECT_EQ(s.reason(), reason::kNameTooLong);
  limits.max_name_bytes = 0;
  EXPECT_EQ(ValidateEntryName("a", true, limits).reason(), reason::kNameTooLong);
  // An empty name is within any limit and then refused for being empty.
  EXPECT_EQ(ValidateEntryName("", true, limits).reason(), reason::kNameEmptySegment);
}

TEST(AsciiLowerTest, LowersOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower(""), "");
  EXPECT_EQ(AsciiLower("ABC/Def.PY"), "abc/def.py");
  EXPECT_EQ(AsciiLower("@[`{AZaz09"), "@[`{azaz09");        // neighbours of A-Z are untouched
  EXPECT_EQ(AsciiLower("\xc3\x84"), "\xc3\x84");            // Ä stays (miniz lowers ASCII only)
  EXPECT_EQ(AsciiLower("\xc4\xb0"), "\xc4\xb0");            // İ
  EXPECT_EQ(AsciiLower("K\xe2\x84\xaa"), "k\xe2\x84\xaa");  // KELVIN SIGN unchanged
  EXPECT_EQ(AsciiLower("A\0B"s), "a\0b"s);
}

TEST(IsAsciiTest, Bytes) {
  EXPECT_TRUE(IsAscii(""));
  EXPECT_TRUE(IsAscii("abc/DEF.py"));
  EXPECT_TRUE(IsAscii("\x7f"));
  EXPECT_TRUE(IsAscii("\0\x01"s));
  EXPECT_FALSE(IsAscii("\x80"));
  EXPECT_FALSE(IsAscii("abc\xc3\xa9"));
  EXPECT_FALSE(IsAscii("\xff"));
}

}  // namespace
}  // namespace sealpkg::archive::internal
