#include "core/printable.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sealpkg {
namespace {

using namespace std::string_literals;

TEST(IsValidUtf8Test, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("hello world/._-"));
  EXPECT_TRUE(IsValidUtf8("\0"s));  // NUL is valid UTF-8 (callers reject it separately)
  EXPECT_TRUE(IsValidUtf8("\x7f"));
}

TEST(IsValidUtf8Test, AcceptsValidMultiByteSequences) {
  EXPECT_TRUE(IsValidUtf8("\xc2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9"));          // é
  EXPECT_TRUE(IsValidUtf8("\xdf\xbf"));          // U+07FF, largest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xee\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xf0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));  // 😀
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the largest code point
  EXPECT_TRUE(IsValidUtf8("a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80."));
}

TEST(IsValidUtf8Test, RejectsOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // NUL, 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // '/', 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // U+007F, 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // '/', 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));  // '/', 4 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF, 4 bytes
}

TEST(IsValidUtf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xaf\xbf"));              // U+DBFF
  EXPECT_FALSE(IsValidUtf8("\xed\xb0\x80"));              // U+DC00
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x80"));  // CESU-8 pair for 😀
}

TEST(IsValidUtf8Test, RejectsAboveMaxCodePoint) {
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));  // U+1FFFFF
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xfc\x84\x80\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(IsValidUtf8Test, RejectsTruncatedAndBrokenSequences) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("a\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));
  EXPECT_FALSE(IsValidUtf8("\xc3Z"));  // continuation replaced by ASCII
  EXPECT_FALSE(IsValidUtf8("\xe2\x82Z"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9fZY"));
  EXPECT_FALSE(IsValidUtf8("\x80"));  // lone continuation
  EXPECT_FALSE(IsValidUtf8("a\xbfz"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xa9\xa9"));  // extra continuation
  EXPECT_FALSE(IsValidUtf8("\xe2\x82\xac\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xc3\xa9"));  // lead followed by lead
}

TEST(PrintableTest, KeepsPrintableAscii) {
  std::string all;
  for (int c = 0x20; c < 0x7f; ++c) {
    if (c != '\\') all.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(Printable(all), all);
  EXPECT_EQ(Printable(""), "");
}

TEST(PrintableTest, EscapesBackslash) {
  EXPECT_EQ(Printable("\\"), "\\\\");
  EXPECT_EQ(Printable("a\\x41"), "a\\\\x41");  // a literal "\x41" cannot pass for an escape
}

TEST(PrintableTest, EscapesControlCharacters) {
  EXPECT_EQ(Printable("\0"s), "\\x00");
  EXPECT_EQ(Printable("a\0b"s), "a\\x00b");
  EXPECT_EQ(Printable("\x01"), "\\x01");
  EXPECT_EQ(Printable("\t"), "\\x09");
  EXPECT_EQ(Printable("line\nforged: ok"), "line\\x0aforged: ok");
  EXPECT_EQ(Printable("\r"), "\\x0d");
  EXPECT_EQ(Printable("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");
  EXPECT_EQ(Printable("\x1f"), "\\x1f");
  EXPECT_EQ(Printable("\x7f"), "\\x7f");  // DEL
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    const std::string out = Printable(in);
    ASSERT_EQ(out.size(), 4u) << c;
    EXPECT_EQ(out.substr(0, 2), "\\x") << c;
  }
}

TEST(PrintableTest, EscapesInvalidBytesOneByOne) {
  EXPECT_EQ(Printable("\xff"), "\\xff");
  EXPECT_EQ(Printable("\x80"), "\\x80");
  EXPECT_EQ(Printable("a\xc3"), "a\\xc3");  // truncated
  EXPECT_EQ(Printable("\xc3Z"), "\\xc3Z");
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(Printable("\xe2\x82\xc3\xa9"), "\\xe2\\x82\xc3\xa9");  // recovers at é
}

TEST(PrintableTest, EscapesC1Controls) {
  EXPECT_EQ(Printable("\xc2\x80"), "\\xc2\\x80");          // U+0080
  EXPECT_EQ(Printable("\xc2\x85"), "\\xc2\\x85");          // NEL
  EXPECT_EQ(Printable("\xc2\x9b[31m"), "\\xc2\\x9b[31m");  // CSI
  EXPECT_EQ(Printable("\xc2\x9f"), "\\xc2\\x9f");          // U+009F
  EXPECT_EQ(Printable("\xc2\xa0"), "\xc2\xa0");            // U+00A0 (no-break space) is not C1
}

TEST(PrintableTest, EscapesBidiOverridesAndZeroWidthCharacters) {
  EXPECT_EQ(Printable("\xe2\x80\xae"), "\\xe2\\x80\\xae");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(Printable("a\xe2\x80\xaetxt.exe"), "a\\xe2\\x80\\xaetxt.exe");
  EXPECT_EQ(Printable("\xe2\x80\xaa"), "\\xe2\\x80\\xaa");  // U+202A
  EXPECT_EQ(Printable("\xe2\x80\xab"), "\\xe2\\x80\\xab");  // U+202B
  EXPECT_EQ(Printable("\xe2\x80\xac"), "\\xe2\\x80\\xac");  // U+202C
  EXPECT_EQ(Printable("\xe2\x80\xad"), "\\xe2\\x80\\xad");  // U+202D
  EXPECT_EQ(Printable("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");  // U+2066 LRI
  EXPECT_EQ(Printable("\xe2\x81\xa9"), "\\xe2\\x81\\xa9");  // U+2069 PDI
  EXPECT_EQ(Printable("\xe2\x80\x8b"), "\\xe2\\x80\\x8b");  // U+200B ZERO WIDTH SPACE
  EXPECT_EQ(Printable("\xe2\x80\x8c"), "\\xe2\\x80\\x8c");  // U+200C ZWNJ
  EXPECT_EQ(Printable("\xe2\x80\x8d"), "\\xe2\\x80\\x8d");  // U+200D ZWJ
  EXPECT_EQ(Printable("\xe2\x80\x8e"), "\\xe2\\x80\\x8e");  // U+200E LRM
  EXPECT_EQ(Printable("\xe2\x80\x8f"), "\\xe2\\x80\\x8f");  // U+200F RLM
}

TEST(PrintableTest, KeepsNeighboursOfTheEscapedRanges) {
  EXPECT_EQ(Printable("\xe2\x80\x8a"), "\xe2\x80\x8a");  // U+200A HAIR SPACE
  EXPECT_EQ(Printable("\xe2\x80\x90"), "\xe2\x80\x90");  // U+2010 HYPHEN
  EXPECT_EQ(Printable("\xe2\x80\xaf"), "\xe2\x80\xaf");  // U+202F
  EXPECT_EQ(Printable("\xe2\x81\xb0"), "\xe2\x81\xb0");  // U+2070 SUPERSCRIPT ZERO
  EXPECT_EQ(Printable("\xe2\x82\xac"), "\xe2\x82\xac");  // €
}

// Other invisible format characters make a name display as another just like U+200B does:
// U+2060 WORD JOINER, U+FEFF ZERO WIDTH NO-BREAK SPACE, and the bidi mark U+061C (ALM), which
// is in the same Unicode bidi-control set as LRM/RLM (U+200E/U+200F, already escaped).
TEST(PrintableTest, EscapesOtherZeroWidthAndBidiMarks) {
  EXPECT_EQ(Printable("a\xe2\x81\xa0z"), "a\\xe2\\x81\\xa0z");  // U+2060
  EXPECT_EQ(Printable("a\xef\xbb\xbfz"), "a\\xef\\xbb\\xbfz");  // U+FEFF
  EXPECT_EQ(Printable("a\xd8\x9cz"), "a\\xd8\\x9cz");           // U+061C
}

TEST(PrintableTest, KeepsValidNonAsciiText) {
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Printable("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac");  // 日本
  EXPECT_EQ(Printable("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(Printable("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");
  EXPECT_EQ(Printable("\xd0\x9f\xd1\x80\xd0\xb8"), "\xd0\x9f\xd1\x80\xd0\xb8");  // При
}

TEST(PrintableTest, OutputIsAlwaysValidUtf8WithoutControls) {
  // Every 1- and 2-byte input.
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string in(1, static_cast<char>(a));
      if (b >= 0) in.push_back(static_cast<char>(b));
      const std::string out = Printable(in);
      ASSERT_TRUE(IsValidUtf8(out)) << a << "," << b;
      for (char c : out) {
        const auto u = static_cast<unsigned char>(c);
        ASSERT_FALSE(u < 0x20 || u == 0x7f) << a << "," << b;
      }
      ASSERT_EQ(out.find("\xc2\x85"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace sealpkg
