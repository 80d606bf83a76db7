// Tests for verifier/report.cc: text output pinned exactly (and safe for hostile names), JSON
// checked with a small strict RFC 8259 parser, SARIF 2.1.0's required shape (one rule per
// distinct code; results with ruleId, level, message and a location: startLine 1 for pickles,
// line/column for sources).
#include "verifier/report.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/printable.h"
#include "verifier/finding.h"

namespace sealpkg::verifier {
namespace {

// ---- a strict JSON parser (RFC 8259; test-sized inputs, recursion is fine here) ----

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // number as written, or the decoded string
  std::vector<Json> array;
  std::vector<std::string> keys;  // an object: keys[i] names array[i]

  const Json& operator[](std::string_view key) const {
    static const Json kMissing;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return array[i];
    }
    return kMissing;
  }
  const Json& operator[](size_t i) const {
    static const Json kMissing;
    return i < array.size() ? array[i] : kMissing;
  }
  bool Has(std::string_view key) const {
    for (const std::string& k : keys) {
      if (k == key) return true;
    }
    return false;
  }
  uint64_t Uint() const { return kind == Kind::kNumber ? std::stoull(text) : ~0ull; }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  std::optional<Json> Parse() {
    Json v;
    if (!Value(v, 0)) return std::nullopt;
    Ws();
    if (i_ != s_.size()) {
      Fail("trailing characters");
      return std::nullopt;
    }
    return v;
  }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string why) {
    if (error_.empty()) error_ = why + " at " + std::to_string(i_);
    return false;
  }
  void Ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool Value(Json& v, int depth) {
    if (depth > 64) return Fail("too deep");
    Ws();
    if (i_ >= s_.size()) return Fail("unexpected end");
    const char c = s_[i_];
    if (c == '{') return Object(v, depth);
    if (c == '[') return Array(v, depth);
    if (c == '"') {
      v.kind = Json::Kind::kString;
      return String(v.text);
    }
    if (Literal("null")) return true;
    if (Literal("true")) {
      v.kind = Json::Kind::kBool;
      v.boolean = true;
      return true;
    }
    if (Literal("false")) {
      v.kind = Json::Kind::kBool;
      return true;
    }
    return Number(v);
  }
  bool Number(Json& v) {
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !Digit(s_[i_])) return Fail("bad value");
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !Digit(s_[i_])) return Fail("bad fraction");
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !Digit(s_[i_])) return Fail("bad exponent");
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    v.kind = Json::Kind::kNumber;
    v.text = std::string(s_.substr(start, i_ - start));
    return true;
  }
  static bool Digit(char c) { return c >= '0' && c <= '9'; }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static void Utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool Hex4(uint32_t* cp) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = Hex(s_[i_ + static_cast<size_t>(k)]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    i_ += 4;
    *cp = v;
    return true;
  }
  bool String(std::string& out) {
    ++i_;  // opening quote
    const size_t raw_start = i_;
    while (true) {
      if (i_ >= s_.size()) return Fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        break;
      }
      if (c < 0x20) return Fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++i_;
        continue;
      }
      if (++i_ >= s_.size()) return Fail("bad escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return Fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (!Literal("\\u") || !Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) {
              return Fail("lone surrogate escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("lone surrogate escape");
          }
          Utf8(cp, out);
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
    // RFC 8259 §8.1: JSON text exchanged between systems must be UTF-8.
    if (!IsValidUtf8(s_.substr(raw_start, i_ - 1 - raw_start))) {
      return Fail("string is not UTF-8");
    }
    return true;
  }
  bool Array(Json& v, int depth) {
    v.kind = Json::Kind::kArray;
    ++i_;
    Ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      Json item;
      if (!Value(item, depth + 1)) return false;
      v.array.push_back(std::move(item));
      Ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      return Fail("expected , or ]");
    }
  }
  bool Object(Json& v, int depth) {
    v.kind = Json::Kind::kObject;
    ++i_;
    Ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    std::set<std::string> keys;
    while (true) {
      Ws();
      if (i_ >= s_.size() || s_[i_] != '"') return Fail("expected key");
      std::string key;
      if (!String(key)) return false;
      if (!keys.insert(key).second) return Fail("duplicate key " + key);
      Ws();
      if (i_ >= s_.size() || s_[i_] != ':') return Fail("expected :");
      ++i_;
      Json item;
      if (!Value(item, depth + 1)) return false;
      v.keys.push_back(std::move(key));
      v.array.push_back(std::move(item));
      Ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      return Fail("expected , or }");
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
};

Json MustParseJson(std::string_view text) {
  JsonParser p(text);
  auto v = p.Parse();
  EXPECT_TRUE(v.has_value()) << p.error() << "\n" << text;
  return v ? std::move(*v) : Json{};
}

TEST(JsonParserSelfTest, AcceptsAndRejects) {
  EXPECT_TRUE(JsonParser(R"({"a": [1, -2.5e3, true, false, null, "x\u00e9\n"]})").Parse());
  EXPECT_EQ(MustParseJson(R"("\ud83d\ude00")").text, "\xf0\x9f\x98\x80");
  for (std::string_view bad :
       {"{", "[1,]", "{\"a\":1,}", "01", "\"\x01\"", "\"\\x\"", "{\"a\":1 \"b\":2}", "\"\xff\"",
        "[1] x", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "nul"}) {
    EXPECT_FALSE(JsonParser(bad).Parse()) << bad;
  }
}

// ---- the fixed reports ----

Finding PickleFinding() {
  Finding f;
  f.code = std::string(code::kPickleGlobalDenied);
  f.kind = ErrorCode::kPolicyDenied;
  f.entry = "data.pkl";
  f.offset = 17;
  f.construct = "GLOBAL";
  f.name = "os.system";
  f.rule = "pickle.globals";
  f.message = "'os.system' is not an allowed global";
  return f;
}

Finding SourceFinding() {
  Finding f;
  f.code = std::string(code::kSourceImportDenied);
  f.kind = ErrorCode::kPolicyDenied;
  f.entry = "pkg/mod.py";
  f.line = 3;
  f.column = 5;
  f.construct = "import";
  f.name = "os";
  f.rule = "source.imports";
  f.message = "'pkg.mod' imports 'os', which the policy does not allow";
  return f;
}

Finding MalformedFinding() {
  Finding f;
  f.code = std::string(code::kPickleTruncated);
  f.kind = ErrorCode::kMalformed;
  f.entry = "data.pkl";
  f.offset = 40;
  f.construct = "BINUNICODE";
  f.rule = "pickle machine";
  f.message = "pickle data was truncated";
  return f;
}

Finding WarningFinding() {
  Finding f;
  f.code = std::string(code::kPackageModuleMissing);
  f.kind = ErrorCode::kPolicyDenied;
  f.severity = Severity::kWarning;
  f.entry = "";
  f.name = "pkg.unused";
  f.rule = "package.interned";
  f.message = "allowed module is not in the package";
  return f;
}

std::vector<VerifyReport> FixedReports() {
  VerifyReport a;
  a.path = "models/evil.pt";
  a.format = "torch.package";
  a.policy = "builtin:weights-only";
  a.accepted = false;
  a.pickles = 1;
  a.sources = 1;
  a.storages = 2;
  a.globals = 3;
  a.findings = {PickleFinding(), SourceFinding(), MalformedFinding(), WarningFinding()};
  VerifyReport b;
  b.path = "ok.pt";
  b.format = "torch.save";
  b.policy = "builtin:weights-only";
  b.accepted = true;
  b.pickles = 1;
  b.storages = 4;
  b.globals = 3;
  VerifyReport c;
  c.path = "second.pt";
  c.format = "pickle";
  c.policy = "builtin:data-only";
  c.accepted = false;
  c.pickles = 1;
  Finding again = PickleFinding();
  again.entry = "second.pt";
  c.findings = {again};
  return {a, b, c};
}

TEST(RenderTextTest, ExactOutput) {
  const std::string expected =
      "REJECTED models/evil.pt (torch.package, policy builtin:weights-only): 1 pickles, 3 "
      "globals, 1 sources, 2 storages, 4 findings\n"
      "  pickle.global-denied  data.pkl@17  GLOBAL  os.system\n"
      "    [pickle.globals] 'os.system' is not an allowed global\n"
      "  source.import-denied  pkg/mod.py:3:5  import  os\n"
      "    [source.imports] 'pkg.mod' imports 'os', which the policy does not allow\n"
      "  pickle.truncated  data.pkl@40  BINUNICODE\n"
      "    [pickle machine] pickle data was truncated\n"
      "  package.module-missing    pkg.unused\n"
      "    [package.interned] allowed module is not in the package\n"
      "ACCEPTED ok.pt (torch.save, policy builtin:weights-only): 1 pickles, 3 globals, 0 "
      "sources, 4 storages\n"
      "REJECTED second.pt (pickle, policy builtin:data-only): 1 pickles, 0 globals, 0 sources, "
      "0 storages, 1 findings\n"
      "  pickle.global-denied  second.pt@17  GLOBAL  os.system\n"
      "    [pickle.globals] 'os.system' is not an allowed global\n";
  EXPECT_EQ(RenderText(FixedReports(), /*color=*/false), expected);
  EXPECT_EQ(RenderText({}, false), "");
}

TEST(RenderTextTest, ColorOnlyWhenAsked) {
  const std::string plain = RenderText(FixedReports(), false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string color = RenderText(FixedReports(), true);
  EXPECT_NE(color.find("\x1b[31mREJECTED\x1b[0m"), std::string::npos);
  EXPECT_NE(color.find("\x1b[32mACCEPTED\x1b[0m"), std::string::npos);
}

// Input-derived text that tries to rewrite the terminal or forge lines.
VerifyReport HostileReport() {
  VerifyReport r;
  r.path = "evil\x1b[2J\nACCEPTED fake.pt\r";
  r.format = "torch.package";
  r.policy = "builtin:weights-only";
  r.accepted = false;
  Finding f = PickleFinding();
  f.entry = "a\x1b]0;title\x07/b\nACCEPTED x\r\xff\xfe\u202e";
  f.name = "os.\x1b[1msystem\n  ok";
  f.message = "'" + f.name +
              "' is \xc2\x9b"
              "31m not allowed\n";
  r.findings = {f};
  return r;
}

TEST(RenderTextTest, HostileNamesAreEscaped) {
  const std::string text = RenderText({HostileReport()}, /*color=*/false);
  for (char bad : {'\x1b', '\r', '\x07'}) {
    EXPECT_EQ(text.find(bad), std::string::npos) << "byte " << int(bad) << " in:\n" << text;
  }
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos);      // C1 CSI
  EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos);  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  // Exactly three lines: the header, the finding, its message.
  size_t lines = 0;
  for (char ch : text) lines += ch == '\n';
  EXPECT_EQ(lines, 3u) << text;
  EXPECT_EQ(text.find("\nACCEPTED"), std::string::npos);
  EXPECT_EQ(text.rfind("REJECTED ", 0), 0u);
  EXPECT_NE(text.find(Printable(HostileReport().findings[0].entry)), std::string::npos);
}

TEST(RenderTextTest, HostilePolicyNameIsEscaped) {
  // A policy file's name is TOML text ("\u001b" is a valid escape there), and a policy may be
  // shipped next to the package it is meant for: ESC ] 0 ; ... BEL would retitle the terminal.
  VerifyReport r = HostileReport();
  r.policy = "evil\x1b]0;pwned\x07policy\nACCEPTED";
  const std::string text = RenderText({r}, /*color=*/false);
  for (char bad : {'\x1b', '\x07'}) {
    EXPECT_EQ(text.find(bad), std::string::npos) << "byte " << int(bad) << " in:\n" << text;
  }
  EXPECT_EQ(text.find("\nACCEPTED"), std::string::npos) << text;
}

// ---- JSON ----

TEST(RenderJsonTest, ParsesAndCarriesEveryField) {
  const std::string text = RenderJson(FixedReports());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const Json doc = MustParseJson(text);
  ASSERT_EQ(doc.kind, Json::Kind::kObject);
  const Json& reports = doc["reports"];
  ASSERT_EQ(reports.array.size(), 3u);
  const Json& a = reports[0];
  EXPECT_EQ(a["path"].text, "models/evil.pt");
  EXPECT_EQ(a["format"].text, "torch.package");
  EXPECT_EQ(a["policy"].text, "builtin:weights-only");
  EXPECT_EQ(a["accepted"].kind, Json::Kind::kBool);
  EXPECT_FALSE(a["accepted"].boolean);
  EXPECT_EQ(a["pickles"].Uint(), 1u);
  EXPECT_EQ(a["globals"].Uint(), 3u);
  EXPECT_EQ(a["sources"].Uint(), 1u);
  EXPECT_EQ(a["storages"].Uint(), 2u);
  const Json& findings = a["findings"];
  ASSERT_EQ(findings.array.size(), 4u);
  const Json& g = findings[0];
  EXPECT_EQ(g["code"].text, "pickle.global-denied");
  EXPECT_EQ(g["kind"].text, "policy-denied");
  EXPECT_EQ(g["severity"].text, "error");
  EXPECT_EQ(g["entry"].text, "data.pkl");
  EXPECT_EQ(g["offset"].Uint(), 17u);
  EXPECT_EQ(g["line"].kind, Json::Kind::kNull);
  EXPECT_EQ(g["column"].kind, Json::Kind::kNull);
  EXPECT_EQ(g["construct"].text, "GLOBAL");
  EXPECT_EQ(g["name"].text, "os.system");
  EXPECT_EQ(g["rule"].text, "pickle.globals");
  EXPECT_EQ(g["message"].text, "'os.system' is not an allowed global");
  const Json& s = findings[1];
  EXPECT_EQ(s["offset"].kind, Json::Kind::kNull);
  EXPECT_EQ(s["line"].Uint(), 3u);
  EXPECT_EQ(s["column"].Uint(), 5u);
  EXPECT_EQ(findings[2]["kind"].text, "malformed");
  EXPECT_EQ(findings[3]["severity"].text, "warning");
  EXPECT_TRUE(reports[1]["accepted"].boolean);
  EXPECT_EQ(reports[1]["findings"].kind, Json::Kind::kArray);
  EXPECT_TRUE(reports[1]["findings"].array.empty());
  EXPECT_EQ(MustParseJson(RenderJson({}))["reports"].array.size(), 0u);
}

TEST(RenderJsonTest, HostileTextStaysValidJson) {
  const VerifyReport hostile = HostileReport();
  const Json doc = MustParseJson(RenderJson({hostile}));
  const Json& r = doc["reports"][0];
  EXPECT_EQ(r["path"].text, hostile.path);  // escaped, decodes back exactly
  // Invalid UTF-8 becomes U+FFFD; everything else decodes back.
  EXPECT_EQ(r["findings"][0]["entry"].text,
            "a\x1b]0;title\x07/b\nACCEPTED x\r\xef\xbf\xbd\xef\xbf\xbd\u202e");
  EXPECT_EQ(r["findings"][0]["name"].text, hostile.findings[0].name);
}

// ---- SARIF ----

TEST(RenderSarifTest, Shape) {
  const std::vector<VerifyReport> reports = FixedReports();
  const Json doc = MustParseJson(RenderSarif(reports, "1.2.3"));
  EXPECT_EQ(doc["version"].text, "2.1.0");
  EXPECT_NE(doc["$schema"].text.find("sarif"), std::string::npos);
  ASSERT_EQ(doc["runs"].array.size(), 1u);
  const Json& run = doc["runs"][0];
  const Json& driver = run["tool"]["driver"];
  EXPECT_EQ(driver["name"].text, "sealpkg");
  EXPECT_EQ(driver["version"].text, "1.2.3");
  // One rule per distinct code.
  std::set<std::string> codes;
  size_t total = 0;
  for (const VerifyReport& r : reports) {
    for (const Finding& f : r.findings) codes.insert(f.code), ++total;
  }
  std::set<std::string> rule_ids;
  for (const Json& rule : driver["rules"].array) {
    EXPECT_TRUE(rule_ids.insert(rule["id"].text).second) << "duplicate rule " << rule["id"].text;
    EXPECT_FALSE(rule["shortDescription"]["text"].text.empty());
  }
  EXPECT_EQ(rule_ids, codes);
  // Every finding is a result.
  const Json& results = run["results"];
  ASSERT_EQ(results.array.size(), total);
  std::map<std::string, const Json*> by_code_entry;
  for (const Json& res : results.array) {
    EXPECT_EQ(rule_ids.count(res["ruleId"].text), 1u);
    const std::string& level = res["level"].text;
    EXPECT_TRUE(level == "error" || level == "warning") << level;
    EXPECT_FALSE(res["message"]["text"].text.empty());
    ASSERT_EQ(res["locations"].array.size(), 1u);
    const Json& physical = res["locations"][0]["physicalLocation"];
    EXPECT_FALSE(physical["artifactLocation"]["uri"].text.empty());
    EXPECT_GE(physical["region"]["startLine"].Uint(), 1u);
    by_code_entry[res["ruleId"].text + " " + physical["artifactLocation"]["uri"].text] = &res;
  }
  // A pickle finding: line 1 of the scanned file, the byte offset as a property.
  const Json* pickle = by_code_entry["pickle.global-denied models/evil.pt"];
  ASSERT_NE(pickle, nullptr);
  EXPECT_EQ((*pickle)["level"].text, "error");
  EXPECT_EQ((*pickle)["locations"][0]["physicalLocation"]["region"]["startLine"].Uint(), 1u);
  EXPECT_FALSE((*pickle)["locations"][0]["physicalLocation"]["region"].Has("startColumn"));
  EXPECT_EQ((*pickle)["properties"]["byteOffset"].Uint(), 17u);
  EXPECT_EQ((*pickle)["properties"]["entry"].text, "data.pkl");
  EXPECT_NE((*pickle)["message"]["text"].text.find("is not an allowed global"), std::string::npos);
  // A source finding: its line and column.
  const Json* source = by_code_entry["source.import-denied models/evil.pt"];
  ASSERT_NE(source, nullptr);
  const Json& region = (*source)["locations"][0]["physicalLocation"]["region"];
  EXPECT_EQ(region["startLine"].Uint(), 3u);
  EXPECT_EQ(region["startColumn"].Uint(), 5u);
  const Json* warning = by_code_entry["package.module-missing models/evil.pt"];
  ASSERT_NE(warning, nullptr);
  EXPECT_EQ((*warning)["level"].text, "warning");
  EXPECT_NE(by_code_entry.find("pickle.global-denied second.pt"), by_code_entry.end());
  // No findings: still a valid log with an empty run.
  const Json empty = MustParseJson(RenderSarif({}, "1.2.3"));
  EXPECT_EQ(empty["runs"][0]["results"].array.size(), 0u);
  EXPECT_EQ(empty["runs"][0]["tool"]["driver"]["rules"].array.size(), 0u);
}

TEST(RenderSarifTest, HostileTextStaysValidJson) {
  const Json doc = MustParseJson(RenderSarif({HostileReport()}, "0"));
  ASSERT_EQ(doc["runs"][0]["results"].array.size(), 1u);
}

}  // namespace
}  // namespace sealpkg::verifier
