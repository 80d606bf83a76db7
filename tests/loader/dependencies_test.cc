#include "loader/dependencies.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sealpkg::loader {
namespace {

using namespace std::string_literals;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

using Globals = std::vector<PickleGlobal>;
using Candidates = std::vector<SourceCandidate>;

// ----- pickles

TEST(PickleDependencies, Protocol3GlobalsInFirstUseOrder) {
  // [a.A(), b.B, a.A, a.C]
  const std::string p =
      "\x80\x03"
      "]"
      "q\x00"
      "("
      "ca\nA\n"
      "q\x01"
      ")"
      "\x81"
      "q\x02"
      "cb\nB\n"
      "q\x03"
      "h\x01"
      "ca\nC\n"
      "q\x04"
      "e."s;
  auto r = FindPickleDependencies(Bytes(p), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->protocol, 3);
  EXPECT_EQ(r->globals, (Globals{{"a", "A"}, {"b", "B"}, {"a", "C"}}));
  EXPECT_EQ(r->modules, (std::vector<std::string>{"a", "b"}));
}

TEST(PickleDependencies, Protocol4MemoReadsGiveTheRightModule) {
  // STACK_GLOBAL("pkg.mod", "Cls") twice, the second time both strings come from the memo
  // (BINGET), then LONG_BINGET: torch 1.13's string heuristic misattributes these.
  const std::string p =
      "\x80\x04"
      "("
      "\x8c\x07"
      "pkg.mod"
      "\x94"
      "\x8c\x03"
      "Cls"
      "\x94"
      "\x93"
      "\x94"
      "\x8c\x05"
      "other"
      "\x94"
      "h\x00"
      "h\x01"
      "\x93"
      "j\x01\x00\x00\x00"
      "j\x00\x00\x00\x00"
      "\x93"
      "t."s;
  auto r = FindPickleDependencies(Bytes(p), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->protocol, 4);
  EXPECT_EQ(r->globals, (Globals{{"pkg.mod", "Cls"}, {"Cls", "pkg.mod"}}));
  EXPECT_EQ(r->modules, (std::vector<std::string>{"pkg.mod", "Cls"}));
}

TEST(PickleDependencies, LongBinUnicodeModuleName) {
  const std::string module = "m." + std::string(300, 'x');
  std::string p =
      "\x80\x04"
      "X"s;
  const uint32_t n = static_cast<uint32_t>(module.size());
  p += std::string{static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff), '\0', '\0'};
  p += module +
       "\x8c\x01"
       "N"
       "\x93"
       "."s;
  auto r = FindPickleDependencies(Bytes(p), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->globals, (Globals{{module, "N"}}));
}

TEST(PickleDependencies, Protocol2NamesAreRenamedAsFindClassWould) {
  auto r = FindPickleDependencies(Bytes("\x80\x02"
                                        "c__builtin__\nset\n."s),
                                  {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->globals, (Globals{{"builtins", "set"}}));
}

TEST(PickleDependencies, NoGlobals) {
  auto r = FindPickleDependencies(Bytes("\x80\x03"
                                        "K\x01"
                                        "."s),
                                  {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->globals.empty());
  EXPECT_TRUE(r->modules.empty());
}

TEST(PickleDependencies, ExtensionCodesAreRefused) {
  auto r = FindPickleDependencies(Bytes("\x80\x03"
                                        "\x82\x05"
                                        "."s),
                                  {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kPolicyDenied);
  EXPECT_EQ(r.status().reason(), "dependencies.pickle-extension");
}

TEST(PickleDependencies, TruncatedOrMalformed) {
  auto truncated = FindPickleDependencies(Bytes("\x80\x03"
                                                "ca\nA\n"s),
                                          {});
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(truncated.status().reason(), "dependencies.pickle");
  auto garbage = FindPickleDependencies(Bytes("\xff"s), {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), ErrorCode::kMalformed);
}

TEST(PickleDependencies, OpcodeLimitAtNAndNPlusOne) {
  const std::string p =
      "\x80\x03"
      "ca\nA\n."s;  // PROTO, GLOBAL, STOP: 3 opcodes
  ExportLimits limits;
  limits.max_pickle_opcodes = 3;
  EXPECT_TRUE(FindPickleDependencies(Bytes(p), limits).ok());
  limits.max_pickle_opcodes = 2;
  auto r = FindPickleDependencies(Bytes(p), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
}

TEST(PickleDependencies, ArgumentLimitAtNAndNPlusOne) {
  const std::string p =
      "\x80\x03"
      "X\x04\x00\x00\x00"
      "abcd."s;
  ExportLimits limits;
  limits.max_pickle_argument_bytes = 4;
  EXPECT_TRUE(FindPickleDependencies(Bytes(p), limits).ok());
  limits.max_pickle_argument_bytes = 3;
  auto r = FindPickleDependencies(Bytes(p), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
}

TEST(PickleDependencies, DefaultLimitsCoverLargeInlineArguments) {
  // 80 MiB of inline bytes (over the untrusted-input limit of 64 MiB): a numpy array.
  std::string p =
      "\x80\x04"
      "\x8e"s;
  const uint64_t n = 80ull << 20;
  for (int i = 0; i < 8; ++i) p += static_cast<char>((n >> (8 * i)) & 0xff);
  p += std::string(n, 'z') + ".";
  EXPECT_TRUE(FindPickleDependencies(Bytes(p), {}).ok());
}

// ----- sources

SourceDependencies Scan(std::string_view src, std::string_view module, bool is_package = false) {
  auto r = FindSourceDependencies(Bytes(src), module, is_package, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : SourceDependencies{};
}

TEST(SourceDependencies, ImportForms) {
  const auto d = Scan(
      "import a.b.c\n"
      "import os, json as j\n"
      "from x.y import z, w as v\n"
      "from q import *\n"
      "import a.b.c\n"
      "def f():\n"
      "    import inner\n",
      "pkg.mod");
  EXPECT_EQ(d.candidates, (Candidates{{"a.b.c", std::nullopt},
                                      {"os", std::nullopt},
                                      {"json", std::nullopt},
                                      {"x.y", "z"},
                                      {"x.y", "w"},
                                      {"q", std::nullopt},
                                      {"inner", std::nullopt}}));
  EXPECT_FALSE(d.resolution_error);
  EXPECT_TRUE(d.unresolved.empty());
}

TEST(SourceDependencies, RelativeImportsResolveAgainstThePackage) {
  EXPECT_EQ(Scan("from . import sib\nfrom .. import up\nfrom .m import n\n", "p.q.mod").candidates,
            (Candidates{{"p.q", "sib"}, {"p", "up"}, {"p.q.m", "n"}}));
  // In a package's __init__, "." is the package itself.
  EXPECT_EQ(Scan("from . import sub\n", "p.q", /*is_package=*/true).candidates,
            (Candidates{{"p.q", "sub"}}));
}

TEST(SourceDependencies, RelativeBeyondTopLevelFailsTheModule) {
  const auto d = Scan("import os\nfrom ........ import lol\n", "p.mod");
  ASSERT_TRUE(d.resolution_error);
  EXPECT_EQ(*d.resolution_error, "attempted relative import beyond top-level package");
  // A top-level module that is not a package has no package to be relative to (torch 1.13
  // resolved against the module itself).
  const auto top = Scan("from . import y\n", "x");
  ASSERT_TRUE(top.resolution_error);
}

TEST(SourceDependencies, SyntaxErrorsFailTheModule) {
  const auto d = Scan("def f(:\n  'unterminated\n", "m");
  EXPECT_TRUE(d.resolution_error);
}

TEST(SourceDependencies, DunderImportForms) {
  const auto d = Scan(
      "a = __import__('plain')\n"
      "b = __import__('d.e.f')\n"
      "c = __import__('g', globals(), locals(), ['h', 'i'])\n"
      "d = __import__('j', fromlist=['*'])\n"
      "e = __import__('k', globals(), locals(), [], 1)\n"
      "f = print(__import__('nested.inside'))\n",
      "pkg.sub.mod");
  EXPECT_EQ(d.candidates, (Candidates{{"plain", std::nullopt},
                                      {"d.e.f", std::nullopt},
                                      {"g", "h"},
                                      {"g", "i"},
                                      {"j", std::nullopt},
                                      {"pkg.sub.k", std::nullopt},
                                      {"nested.inside", std::nullopt}}));
  EXPECT_TRUE(d.unresolved.empty());
}

TEST(SourceDependencies, NonLiteralDunderImportIsUnresolved) {
  const auto d = Scan("import os\nname = 'x'\nm = __import__(name)\n", "m");
  EXPECT_EQ(d.candidates, (Candidates{{"os", std::nullopt}}));
  ASSERT_EQ(d.unresolved.size(), 1u);
  EXPECT_EQ(d.unresolved[0].callee, "__import__");
  EXPECT_EQ(d.unresolved[0].line, 3u);
}

TEST(SourceDependencies, ImportModuleIsNotAPackageDependency) {
  const auto d = Scan(
      "import importlib\nm = importlib.import_module('host_only')\n"
      "n = importlib.import_module(name)\n",
      "m");
  EXPECT_EQ(d.candidates, (Candidates{{"importlib", std::nullopt}}));
  EXPECT_TRUE(d.unresolved.empty());
}

TEST(SourceDependencies, SourceLimitAtNAndNPlusOne) {
  const std::string src = "import os\n";  // 10 bytes
  ExportLimits limits;
  limits.max_source_bytes = 10;
  EXPECT_TRUE(FindSourceDependencies(Bytes(src), "m", false, limits).ok());
  limits.max_source_bytes = 9;
  auto r = FindSourceDependencies(Bytes(src), "m", false, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
}

// ----- standard library

TEST(Stdlib, TableIsSortedAndKnowsTheStandardModules) {
  const auto names = StdlibModuleNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GT(names.size(), 250u);
  for (const char* m : {"os", "os.path", "sys", "io", "json.decoder", "__future__", "_thread",
                        "xml.sax.xmlreader", "winreg", "typing"}) {
    EXPECT_TRUE(IsStdlibModule(m)) << m;
  }
  for (const char* m : {"torch", "numpy", "osx", "", "ox.path", "sealpkg"}) {
    EXPECT_FALSE(IsStdlibModule(m)) << m;
  }
}

TEST(Stdlib, ImplicitExterns) {
  EXPECT_TRUE(IsImplicitExtern("torch"));
  EXPECT_TRUE(IsImplicitExtern("torch.nn.functional"));
  EXPECT_TRUE(IsImplicitExtern("os.path"));
  EXPECT_TRUE(IsImplicitExtern("collections"));
  EXPECT_FALSE(IsImplicitExtern("sys"));
  EXPECT_FALSE(IsImplicitExtern("io"));
  EXPECT_FALSE(IsImplicitExtern("torchvision"));
  EXPECT_FALSE(IsImplicitExtern("numpy"));
}

// ----- classification

using Kind = Classification::Kind;

TEST(Classifier, SpecialModules) {
  ModuleClassifier c;
  ASSERT_TRUE(c.AddPattern({"**"}, {}, Action::kIntern).ok());
  EXPECT_EQ(c.Classify("torch_package_importer").kind, Kind::kSkip);
  EXPECT_EQ(c.Classify("_mock").kind, Kind::kRepackagedMockModule);
}

TEST(Classifier, FirstMatchingPatternWins) {
  ModuleClassifier c;
  ASSERT_EQ(*c.AddPattern({"a.**"}, {"a.x"}, Action::kIntern), 0u);
  ASSERT_EQ(*c.AddPattern({"a.*"}, {}, Action::kMock), 1u);
  ASSERT_EQ(*c.AddPattern({"b", "c.**"}, {}, Action::kExtern), 2u);
  EXPECT_EQ(c.Classify("a.y").pattern, 0u);
  EXPECT_EQ(c.Classify("a.y").action, Action::kIntern);
  EXPECT_EQ(c.Classify("a.x").pattern, 1u);
  EXPECT_EQ(c.Classify("a.x").action, Action::kMock);
  EXPECT_EQ(c.Classify("c.d.e").action, Action::kExtern);
  EXPECT_EQ(c.Classify("b.d").kind, Kind::kNoMatch);
  EXPECT_EQ(c.size(), 3u);
}

TEST(Classifier, ImplicitExternsYieldOnlyToLiteralPatterns) {
  ModuleClassifier c;
  ASSERT_TRUE(c.AddPattern({"**"}, {}, Action::kIntern).ok());
  ASSERT_TRUE(c.AddPattern({"*"}, {}, Action::kMock).ok());
  EXPECT_EQ(c.Classify("os").kind, Kind::kImplicitExtern);
  EXPECT_EQ(c.Classify("torch.nn").kind, Kind::kImplicitExtern);
  EXPECT_EQ(c.Classify("mine").action, Action::kIntern);
  // sys and io are not implicit externs: any pattern applies.
  EXPECT_EQ(c.Classify("sys").kind, Kind::kPattern);

  ASSERT_EQ(*c.AddPattern({"os"}, {}, Action::kDeny), 2u);
  ASSERT_EQ(*c.AddPattern({"torch.**"}, {"torch.nn"}, Action::kMock), 3u);
  ASSERT_EQ(*c.AddPattern({"**", "json.**"}, {}, Action::kIntern), 4u);
  EXPECT_EQ(c.Classify("os").action, Action::kDeny);
  EXPECT_EQ(c.Classify("os.path").kind, Kind::kImplicitExtern);
  EXPECT_EQ(c.Classify("torch").action, Action::kMock);
  EXPECT_EQ(c.Classify("torch.nn").kind, Kind::kImplicitExtern);  // excluded
  EXPECT_EQ(c.Classify("json.decoder").pattern, 4u);              // the literal include
  EXPECT_EQ(c.Classify("collections").kind, Kind::kImplicitExtern);
}

TEST(Classifier, BadPatternIsRefused) {
  ModuleClassifier c;
  auto r = c.AddPattern({"a.**b"}, {}, Action::kIntern);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kMalformed);
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace sealpkg::loader
