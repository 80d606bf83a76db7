// Expectations below were checked against torch 1.13's GlobGroup (torch/package/glob_group.py):
// a pattern becomes the regex described in shared/reference/torch_package.md §3.6 and a
// candidate matches if fullmatch(SEP + candidate) succeeds.
#include "core/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace sealpkg {
namespace {

bool M(const std::string& pattern, const std::string& candidate, const std::string& sep = ".") {
  auto g = GlobGroup::Create({pattern}, {}, sep);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.status().ToString();
  if (!g.ok()) return false;
  return g->Matches(candidate);
}

TEST(GlobTest, DoubleStarSuffix) {
  // torch.** -> \.torch(\.[^.]+)*
  EXPECT_TRUE(M("torch.**", "torch"));
  EXPECT_TRUE(M("torch.**", "torch.nn"));
  EXPECT_TRUE(M("torch.**", "torch.nn.functional"));
  EXPECT_FALSE(M("torch.**", "torchvision"));
  EXPECT_FALSE(M("torch.**", "torch."));  // segments after torch must be non-empty
  EXPECT_FALSE(M("torch.**", "torch..nn"));
  EXPECT_FALSE(M("torch.**", "xtorch.nn"));
}

TEST(GlobTest, SingleStarSegment) {
  // torch.* -> \.torch\.[^.]*
  EXPECT_FALSE(M("torch.*", "torch"));
  EXPECT_TRUE(M("torch.*", "torch.nn"));
  EXPECT_FALSE(M("torch.*", "torch.nn.f"));
  EXPECT_TRUE(M("torch.*", "torch."));  // '*' may match an empty segment
}

TEST(GlobTest, DoubleStarAlone) {
  // ** -> (\.[^.]+)*
  EXPECT_FALSE(M("**", ""));
  EXPECT_FALSE(M("**", "."));
  EXPECT_TRUE(M("**", "a"));
  EXPECT_TRUE(M("**", "a.b"));
  EXPECT_FALSE(M("**", "a..b"));
  EXPECT_FALSE(M("**", "a."));
}

TEST(GlobTest, DoubleStarInTheMiddle) {
  // foo.**.bar -> \.foo(\.[^.]+)*\.bar
  EXPECT_TRUE(M("foo.**.bar", "foo.bar"));
  EXPECT_TRUE(M("foo.**.bar", "foo.x.bar"));
  EXPECT_TRUE(M("foo.**.bar", "foo.x.y.bar"));
  EXPECT_FALSE(M("foo.**.bar", "foo..bar"));
  EXPECT_FALSE(M("foo.**.bar", "foo.bar.x"));
  EXPECT_FALSE(M("foo.**.bar", "foobar"));
}

TEST(GlobTest, DoubleStarPrefixAndRepeated) {
  EXPECT_TRUE(M("**.x", "x"));
  EXPECT_TRUE(M("**.x", "a.x"));
  EXPECT_FALSE(M("**.x", "ax"));
  EXPECT_TRUE(M("**.**", "a"));
  EXPECT_FALSE(M("**.**", ""));
  EXPECT_TRUE(M("**.b.**", "b"));
  EXPECT_TRUE(M("**.b.**", "a.b.c"));
  EXPECT_FALSE(M("**.b.**", "ab"));
  EXPECT_FALSE(M("x.**", "x.a."));
}

TEST(GlobTest, StarInsideSegment) {
  // a*b.c -> \.a[^.]*b\.c
  EXPECT_TRUE(M("a*b.c", "ab.c"));
  EXPECT_TRUE(M("a*b.c", "axxb.c"));
  EXPECT_FALSE(M("a*b.c", "a.b.c"));
  EXPECT_TRUE(M("a*b*c", "abc"));
  EXPECT_TRUE(M("a*b*c", "aXbYc"));
  EXPECT_FALSE(M("a*b*c", "ac"));
  EXPECT_FALSE(M("a*", "a.b"));
  EXPECT_TRUE(M("*a", "ba"));
  EXPECT_TRUE(M("a.*.c", "a..c"));
}

TEST(GlobTest, StarMatchesEmptySegment) {
  EXPECT_TRUE(M("*", ""));
  EXPECT_TRUE(M("*", "a"));
  EXPECT_FALSE(M("*", "a.b"));
  EXPECT_TRUE(M("*.*", "."));
  EXPECT_TRUE(M("*.*", "a."));
}

TEST(GlobTest, LiteralPatterns) {
  EXPECT_TRUE(M("torch", "torch"));
  EXPECT_FALSE(M("torch", "torc"));
  EXPECT_FALSE(M("torch", "torch.nn"));
  EXPECT_FALSE(M("Torch", "torch"));  // case-sensitive
  EXPECT_TRUE(M("", ""));
  EXPECT_FALSE(M("", "a"));
  EXPECT_TRUE(M("a.", "a."));
  EXPECT_FALSE(M("a.", "a"));
}

TEST(GlobTest, RegexMetacharactersAreLiteral) {
  EXPECT_TRUE(M("a+b", "a+b"));
  EXPECT_FALSE(M("a+b", "aab"));
  EXPECT_TRUE(M("a(b", "a(b"));
  EXPECT_TRUE(M("a[b]", "a[b]"));
  EXPECT_FALSE(M("a[b]", "ab"));
  EXPECT_FALSE(M("a?", "ab"));
  EXPECT_TRUE(M("a$", "a$"));
  EXPECT_FALSE(M("a|b", "a"));
  EXPECT_FALSE(M("a.b", "axb"));  // '.' is the separator, not "any character"
}

TEST(GlobTest, SlashSeparator) {
  EXPECT_TRUE(M("foo/*.txt", "foo/.txt", "/"));
  EXPECT_TRUE(M("foo/*.txt", "foo/a.txt", "/"));
  EXPECT_FALSE(M("foo/*.txt", "foo/a/b.txt", "/"));
  EXPECT_TRUE(M("foo/**", "foo/a/b.txt", "/"));
  EXPECT_TRUE(M("foo/**/*.txt", "foo/a/b.txt", "/"));
  EXPECT_TRUE(M("foo/**/*.txt", "foo/b.txt", "/"));
  EXPECT_FALSE(M("foo/**/*.txt", "foo/b.py", "/"));
  EXPECT_TRUE(M("ab*", "abq", "/"));
  EXPECT_TRUE(M("a.b", "a.b", "/"));  // '.' is literal under '/'
  EXPECT_FALSE(M("a/b", "a.b", "/"));
}

TEST(GlobTest, MultiCharacterSeparator) {
  // Split like str.split("::"); inside [^...] every separator character is excluded.
  EXPECT_TRUE(M("a::b::*", "a::b::c", "::"));
  EXPECT_FALSE(M("a::b::*", "a::b::c:d", "::"));
  EXPECT_TRUE(M("**::x", "x", "::"));
  EXPECT_TRUE(M("**::x", "y::x", "::"));
  EXPECT_FALSE(M("**::x", "y:z::x", "::"));
  EXPECT_FALSE(M("*", "a:b", "::"));
  EXPECT_TRUE(M("a::*", "a::bc", "::"));
  EXPECT_FALSE(M("a::*", "a::b:c", "::"));
  EXPECT_TRUE(M("a::**", "a::b::c", "::"));
  EXPECT_FALSE(M("a::**", "a::b:c", "::"));
  EXPECT_FALSE(M("a::**", "a:::b", "::"));
  EXPECT_FALSE(M("a::**", "a::::b", "::"));
  // Separator "ab": the class [^ab] excludes 'a' and 'b' individually.
  EXPECT_TRUE(M("x*", "xccc", "ab"));
  EXPECT_FALSE(M("x*", "xcac", "ab"));
  EXPECT_FALSE(M("x*", "xcbc", "ab"));
  EXPECT_TRUE(M("xabq", "xabq", "ab"));  // "x" SEP "q"
}

TEST(GlobTest, ExcludeSemantics) {
  auto g = GlobGroup::Create({"torch.**"}, {"torch.nn"});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->Matches("torch.nn"));
  EXPECT_TRUE(g->Matches("torch.nn.x"));  // exclude patterns are full matches too
  EXPECT_TRUE(g->Matches("torch"));

  auto g2 = GlobGroup::Create({"torch.**"}, {"torch.*"});
  ASSERT_TRUE(g2.ok());
  EXPECT_TRUE(g2->Matches("torch"));
  EXPECT_FALSE(g2->Matches("torch.a"));
  EXPECT_TRUE(g2->Matches("torch.a.b"));

  // Exclude alone never includes anything.
  auto g3 = GlobGroup::Create({}, {"a"});
  ASSERT_TRUE(g3.ok());
  EXPECT_FALSE(g3->Matches("b"));
  EXPECT_FALSE(g3->Matches("a"));
}

TEST(GlobTest, ListsOfPatterns) {
  auto g = GlobGroup::Create({"torch.**", "numpy"}, {"torch.nn.**", "torch.jit"});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->Matches("numpy"));
  EXPECT_FALSE(g->Matches("numpy.linalg"));
  EXPECT_TRUE(g->Matches("torch.optim"));
  EXPECT_FALSE(g->Matches("torch.nn"));
  EXPECT_FALSE(g->Matches("torch.nn.f"));
  EXPECT_FALSE(g->Matches("torch.jit"));
  EXPECT_TRUE(g->Matches("torch.jit.x"));
  EXPECT_FALSE(g->Matches("scipy"));

  auto empty = GlobGroup::Create({});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->Matches(""));
  EXPECT_FALSE(empty->Matches("a"));
}

TEST(GlobTest, BadPattern) {
  for (const std::string p : {"a.**b", "a**.b", "***", "a.b**", "**x"}) {
    auto g = GlobGroup::Create({p});
    ASSERT_FALSE(g.ok()) << p;
    EXPECT_EQ(g.status().code(), ErrorCode::kMalformed) << p;
    EXPECT_EQ(g.status().reason(), "glob.bad-pattern") << p;
  }
  // A bad exclude pattern fails too.
  auto g = GlobGroup::Create({"a"}, {"x.**y"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().reason(), "glob.bad-pattern");
  // "**" split by another separator is a valid whole segment.
  EXPECT_TRUE(GlobGroup::Create({"a/**"}, {}, "/").ok());
  EXPECT_FALSE(GlobGroup::Create({"a/b**"}, {}, "/").ok());
  // "a.**b" is fine when '.' is not the separator: the segment "a.**b" still contains "**".
  EXPECT_EQ(GlobGroup::Create({"a.**b"}, {}, "/").status().reason(), "glob.bad-pattern");
}

TEST(GlobTest, BadSeparator) {
  auto g = GlobGroup::Create({"a"}, {}, "");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(g.status().reason(), "glob.bad-separator");
  auto p = GlobPattern::Compile("a", "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "glob.bad-separator");
}

TEST(GlobTest, PatternDirectly) {
  auto p = GlobPattern::Compile("torch.**", ".");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches("torch.x"));
  EXPECT_FALSE(p->Matches("torchx"));
}

TEST(GlobTest, LongCandidatesAreFast) {
  const std::string as(10000, 'a');
  std::string dotted;
  for (int i = 0; i < 5000; ++i) dotted += "a.";
  dotted += "b";
  std::string long_pattern;
  for (int i = 0; i < 200; ++i) long_pattern += "*a";
  long_pattern += "b";

  const auto start = std::chrono::steady_clock::now();
  // Patterns that make a backtracking regex engine explode.
  EXPECT_FALSE(M("**.*a*a*a*a*b", as));
  EXPECT_FALSE(M("*a*a*a*a*a*b", as));
  EXPECT_TRUE(M("*a*a*a*a*a*", as));
  EXPECT_FALSE(M(long_pattern, as));
  EXPECT_TRUE(M("**", dotted));
  EXPECT_TRUE(M("**.b", dotted));
  EXPECT_FALSE(M("**.c", dotted));
  EXPECT_TRUE(M("a.**.*", dotted));
  EXPECT_FALSE(M("a.**.a", dotted));
  EXPECT_FALSE(M("**.**.**.**.x", dotted));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 2000);
}

}  // namespace
}  // namespace sealpkg
