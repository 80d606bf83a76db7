// Tests for verifier/policy.cc and verifier/builtin_policies.cc: the TOML schema (every key of
// every table, unknown keys and tables, wrong types, opcode names, protocols), NameSet patterns
// and the dotted-name rule, the built-in policies, and EvaluatePickle on hand-assembled pickles
// with the exact finding codes: denied globals, calls, BUILD, container mutation (the
// CVE-2026-24747 shape), persistent ids, opcodes, protocols and per-callable argument rules.
#include "verifier/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/status.h"
#include "verifier/finding.h"
#include "verifier/pickle_machine.h"

namespace sealpkg::verifier {
namespace {

// A tiny pickle assembler (the opcodes these tests need), CPython's encodings.
class P {
 public:
  P& op(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  P& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  P& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  P& line(std::string_view s) { return raw(s).raw("\n"); }
  P& then(const P& other) { return raw(other.out_); }
  P& proto(int v) { return op(0x80).le(static_cast<uint64_t>(v), 1); }
  P& stop() { return op('.'); }
  P& mark() { return op('('); }
  P& pop() { return op('0'); }
  P& dup() { return op('2'); }
  P& none() { return op('N'); }
  P& newfalse() { return op(0x89); }
  P& binint1(uint8_t v) { return op('K').le(v, 1); }
  P& binint(int32_t v) { return op('J').le(static_cast<uint32_t>(v), 4); }
  P& binfloat() { return op('G').le(0x8DEDB5A0F7C6B03Eull, 8); }  // 1e-06, big-endian
  P& string(std::string_view quoted) { return op('S').line(quoted); }
  P& binunicode(std::string_view s) { return op('X').le(s.size(), 4).raw(s); }
  P& sbu(std::string_view s) { return op(0x8C).le(s.size(), 1).raw(s); }
  P& short_binbytes(std::string_view s) { return op('C').le(s.size(), 1).raw(s); }
  P& empty_tuple() { return op(')'); }
  P& tuple() { return op('t'); }
  P& tuple1() { return op(0x85); }
  P& tuple2() { return op(0x86); }
  P& empty_list() { return op(']'); }
  P& append() { return op('a'); }
  P& appends() { return op('e'); }
  P& empty_dict() { return op('}'); }
  P& setitem() { return op('s'); }
  P& setitems() { return op('u'); }
  P& empty_set() { return op(0x8F); }
  P& additems() { return op(0x90); }
  P& binput(uint8_t i) { return op('q').le(i, 1); }
  P& binget(uint8_t i) { return op('h').le(i, 1); }
  P& global(std::string_view module, std::string_view name) {
    return op('c').line(module).line(name);
  }
  P& inst(std::string_view module, std::string_view name) {
    return op('i').line(module).line(name);
  }
  P& stack_global() { return op(0x93); }
  P& reduce() { return op('R'); }
  P& build() { return op('b'); }
  P& newobj() { return op(0x81); }
  P& persid(std::string_view pid) { return op('P').line(pid); }
  P& binpersid() { return op('Q'); }
  uint64_t size() const { return out_.size(); }
  std::vector<uint8_t> bytes() const { return {out_.begin(), out_.end()}; }

 private:
  std::string out_;
};

Policy MustParse(std::string_view toml) {
  auto p = ParsePolicy(toml, PolicyLimits{});
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << toml;
  return p.ok() ? std::move(p).value() : Policy{};
}

// reason + message of a rejected policy ("" if accepted).
std::string SchemaError(std::string_view toml) {
  auto p = ParsePolicy(toml, PolicyLimits{});
  if (p.ok()) return "";
  return std::string(p.status().reason()) + ": " + std::string(p.status().message());
}

PickleVerdict Check(const P& p, const Policy& policy, std::string_view entry = "data.pkl") {
  const std::vector<uint8_t> bytes = p.bytes();
  const PickleRun run = RunPickle(bytes, PickleLimits{});
  return EvaluatePickle(run, policy, entry);
}

// A list of strings that can be written as {code::kPickleGlobalDenied, ...}.
struct Strings : std::vector<std::string> {
  Strings() = default;
  Strings(std::initializer_list<std::string_view> items) {
    for (std::string_view s : items) emplace_back(s);
  }
};

Strings Codes(const PickleVerdict& v) {
  Strings out;
  for (const Finding& f : v.findings) out.push_back(f.code);
  return out;
}

std::string AllFindings(const PickleVerdict& v) {
  std::string out;
  for (const Finding& f : v.findings) {
    out += f.code + " [" + f.name + "] " + f.construct + " @" +
           (f.offset ? std::to_string(*f.offset) : "-") + ": " + f.message + "\n";
  }
  return out;
}

// The policy most evaluation tests use.
constexpr std::string_view kTestPolicy = R"toml(
[policy]
name = "test"
description = "unit tests"

[pickle]
globals = [
  "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.*Storage",
  "torch.Tensor", "mod.Ref", "mod.Obj", "mod.rebuild", "functools.partial",
  "torch.nn.modules.normalization.LayerNorm", "os.system", "pathlib.os.getcwd",
]
callables = [
  "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "mod.Obj", "mod.rebuild",
  "functools.partial", "torch.nn.modules.normalization.LayerNorm",
]
build = ["collections.OrderedDict", "functools.partial"]
mutable = ["collections.OrderedDict"]
storage_types = ["torch.*Storage"]
persistent_ids = ["storage", "reduce_package"]

[[pickle.rules]]
callable = "functools.partial"
callable_args = [0]
build_state_callable_items = [0]
)toml";

const Policy& TestPolicy() {
  static const Policy* policy = new Policy(MustParse(kTestPolicy));
  return *policy;
}

// ("storage", <type>, <key>, "cpu", <numel>) then BINPERSID.
P& StoragePid(P& p, std::string_view key, uint8_t numel, std::string_view type_module = "torch",
              std::string_view type = "FloatStorage") {
  return p.mark()
      .binunicode("storage")
      .global(type_module, type)
      .binunicode(key)
      .binunicode("cpu")
      .binint1(numel)
      .tuple()
      .binpersid();
}

// _rebuild_tensor_v2(storage, 0, (numel,), (1,), False, OrderedDict()) as torch.save writes it.
P& Tensor(P& p, std::string_view key, uint8_t numel) {
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  StoragePid(p, key, numel);
  return p.binint1(0)
      .binint1(numel)
      .tuple1()
      .binint1(1)
      .tuple1()
      .newfalse()
      .global("collections", "OrderedDict")
      .empty_tuple()
      .reduce()
      .tuple()
      .reduce();
}

// {"weight": tensor} in an OrderedDict, protocol 2.
P StateDict(std::string_view key = "0", uint8_t numel = 4) {
  P p;
  p.proto(2).global("collections", "OrderedDict").empty_tuple().reduce().binunicode("weight");
  Tensor(p, key, numel);
  return p.setitem().stop();
}

// ---------------------------------------------------------------------------------------------
// Schema.

TEST(PolicySchema, MinimalPolicyHasDefaults) {
  const Policy p = MustParse("[policy]\nname = \"x\"\n");
  EXPECT_EQ(p.name, "x");
  EXPECT_EQ(p.version, 1);
  EXPECT_EQ(p.description, "");
  EXPECT_TRUE(p.pickle.protocols.empty());
  EXPECT_TRUE(p.pickle.globals.empty());
  EXPECT_TRUE(p.pickle.callables.empty());
  EXPECT_FALSE(p.pickle.storage_ids);
  EXPECT_FALSE(p.pickle.reduce_package_ids);
  EXPECT_FALSE(p.package.torchscript);
  // Default opcodes: every opcode except EXT1/2/4 and the out-of-band buffer opcodes.
  EXPECT_EQ(p.pickle.opcodes.size(), 63u);
  for (uint8_t b : {0x82, 0x83, 0x84, 0x97, 0x98}) {
    EXPECT_FALSE(std::binary_search(p.pickle.opcodes.begin(), p.pickle.opcodes.end(), b)) << b;
  }
  EXPECT_TRUE(std::is_sorted(p.pickle.opcodes.begin(), p.pickle.opcodes.end()));
  const Policy q = MustParse("[policy]\nname = \"x\"\n[pickle]\nglobals = []\n");
  EXPECT_EQ(q.pickle.opcodes, p.pickle.opcodes);
}

TEST(PolicySchema, EveryKeyOfEveryTable) {
  const Policy p = MustParse(R"toml(
[policy]
name = "full"
version = 7
description = "every key"

[pickle]
protocols = [2, 4]
opcodes = ["PROTO", "STOP", "NONE", "GLOBAL", "NONE"]
globals = ["a.b", "c.**"]
callables = ["a.b"]
build = ["a.B"]
mutable = ["a.M"]
storage_types = ["torch.*Storage"]
persistent_ids = ["storage", "reduce_package"]

[[pickle.rules]]
callable = "a.b"
callable_args = [0, 2]
global_args = [1]
build_state_callable_items = [3]

[[pickle.rules]]
callable = "c.d"

[source]
imports = ["numpy.**"]
attributes = ["os.path.join"]
exec = ["m1"]
eval = ["m2"]
compile = ["m3"]
builtins = ["m4"]
reflection = ["m5"]
dynamic_import = ["m6"]

[package]
externs = ["numpy"]
interned = ["mypkg.**"]
resources = ["res/*.txt"]
torchscript = true
)toml");
  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.version, 7);
  EXPECT_EQ(p.description, "every key");
  EXPECT_EQ(p.pickle.protocols, (std::vector<int>{2, 4}));
  EXPECT_EQ(p.pickle.opcodes, (std::vector<uint8_t>{'.', 'N', 'c', 0x80}));
  EXPECT_EQ(p.pickle.globals.patterns(), (Strings{"a.b", "c.**"}));
  EXPECT_TRUE(p.pickle.globals.Matches("c.x.y"));
  EXPECT_TRUE(p.pickle.callables.Matches("a.b"));
  EXPECT_TRUE(p.pickle.build.Matches("a.B"));
  EXPECT_TRUE(p.pickle.mutable_types.Matches("a.M"));
  EXPECT_TRUE(p.pickle.storage_types.Matches("torch.HalfStorage"));
  EXPECT_TRUE(p.pickle.storage_ids);
  EXPECT_TRUE(p.pickle.reduce_package_ids);
  ASSERT_EQ(p.pickle.rules.size(), 2u);
  EXPECT_EQ(p.pickle.rules[0].callable, "a.b");
  EXPECT_EQ(p.pickle.rules[0].callable_args, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(p.pickle.rules[0].global_args, (std::vector<uint32_t>{1}));
  EXPECT_EQ(p.pickle.rules[0].build_state_callable_items, (std::vector<uint32_t>{3}));
  EXPECT_EQ(p.pickle.rules[1].callable, "c.d");
  EXPECT_TRUE(p.pickle.rules[1].callable_args.empty());
  EXPECT_TRUE(p.source.imports.Matches("numpy.linalg"));
  EXPECT_TRUE(p.source.attributes.Matches("os.path.join"));
  EXPECT_TRUE(p.source.exec.Matches("m1"));
  EXPECT_TRUE(p.source.eval.Matches("m2"));
  EXPECT_TRUE(p.source.compile.Matches("m3"));
  EXPECT_TRUE(p.source.builtins.Matches("m4"));
  EXPECT_TRUE(p.source.reflection.Matches("m5"));
  EXPECT_TRUE(p.source.dynamic_import.Matches("m6"));
  EXPECT_FALSE(p.source.exec.Matches("m2"));
  EXPECT_TRUE(p.package.externs.Matches("numpy"));
  EXPECT_TRUE(p.package.interned.Matches("mypkg.sub.mod"));
  EXPECT_TRUE(p.package.resources.Matches("res/a.txt"));
  EXPECT_FALSE(p.package.resources.Matches("res/sub/a.txt"));  // '/'-separated
  EXPECT_TRUE(p.package.torchscript);
}

TEST(PolicySchema, UnknownKeysAndTablesNameTheirLine) {
  const std::string_view head = "[policy]\nname = \"x\"\n";
  struct Case {
    std::string toml;
    std::string line;
    std::string key;
  };
  const std::vector<Case> cases = {
      {std::string(head) + "colour = \"red\"\n", "line 3", "colour"},
      {std::string(head) + "\n[pickle]\nglobal = []\n", "line 5", "global"},
      {std::string(head) + "[source]\nimport = []\n", "line 4", "import"},
      {std::string(head) + "[package]\nextern = []\n", "line 4", "extern"},
      {std::string(head) + "[[pickle.rules]]\ncallable = \"a.b\"\nargs = [0]\n", "line 5", "args"},
      {std::string(head) + "[extras]\nk = 1\n", "line 3", "extras"},
      {std::string(head) + "\n\n[signing]\n", "line 5", "signing"},
      {std::string(head) + "pickles = 1\n", "line 3", "pickles"},
  };
  for (const Case& c : cases) {
    const std::string error = SchemaError(c.toml);
    EXPECT_EQ(error.rfind("policy.schema: ", 0), 0u) << c.toml << " -> " << error;
    EXPECT_NE(error.find(c.line), std::string::npos) << c.toml << " -> " << error;
    EXPECT_NE(error.find(c.key), std::string::npos) << c.toml << " -> " << error;
  }
}

TEST(PolicySchema, WrongTypes) {
  const std::string_view head = "[policy]\nname = \"x\"\n";
  const std::vector<std::string> bad = {
      "[policy]\nname = 1\n",
      "[policy]\nname = \"x\"\nversion = 0\n",
      "[policy]\nname = \"x\"\nversion = -3\n",
      "[policy]\nname = \"x\"\nversion = \"1\"\n",
      "[policy]\nname = \"x\"\ndescription = []\n",
      "policy = 1\n",
      std::string(head) + "pickle = 1\n",
      std::string(head) + "source = \"x\"\n",
      std::string(head) + "package = []\n",
      std::string(head) + "[pickle]\nglobals = \"os.system\"\n",
      std::string(head) + "[pickle]\nglobals = [1]\n",
      std::string(head) + "[pickle]\ncallables = [\"a\", true]\n",
      std::string(head) + "[pickle]\nbuild = {a = 1}\n",
      std::string(head) + "[pickle]\nmutable = 3\n",
      std::string(head) + "[pickle]\nstorage_types = [[\"a\"]]\n",
      std::string(head) + "[pickle]\nprotocols = \"2\"\n",
      std::string(head) + "[pickle]\nprotocols = [\"2\"]\n",
      std::string(head) + "[pickle]\nopcodes = \"PROTO\"\n",
      std::string(head) + "[pickle]\npersistent_ids = \"storage\"\n",
      std::string(head) + "[pickle]\npersistent_ids = [\"module\"]\n",
      std::string(head) + "[pickle]\nrules = 1\n",
      std::string(head) + "[pickle]\nrules = [1]\n",
      std::string(head) + "[[pickle.rules]]\ncallable_args = [0]\n",  // no callable
      std::string(head) + "[[pickle.rules]]\ncallable = 1\n",
      std::string(head) + "[[pickle.rules]]\ncallable = \"a\"\ncallable_args = [256]\n",
      std::string(head) + "[[pickle.rules]]\ncallable = \"a\"\nglobal_args = [-1]\n",
      std::string(head) + "[[pickle.rules]]\ncallable = \"a\"\nglobal_args = 1\n",
      std::string(head) +
          "[[pickle.rules]]\ncallable = \"a\"\nbuild_state_callable_items = [\"0\"]\n",
      std::string(head) + "[source]\nimports = [1]\n",
      std::string(head) + "[source]\nexec = true\n",
      std::string(head) + "[package]\ntorchscript = \"yes\"\n",
      std::string(head) + "[package]\ntorchscript = 1\n",
      std::string(head) + "[package]\ninterned = \"a\"\n",
      std::string(head) + "[package]\nresources = [\"a/b**\"]\n",  // bad glob
      std::string(head) + "[pickle]\nglobals = [\"torch.a**\"]\n",
      "[pickle]\nglobals = []\n",  // no [policy] name
      "[policy]\nversion = 1\n",
      "",
  };
  for (const std::string& toml : bad) {
    const std::string error = SchemaError(toml);
    EXPECT_EQ(error.rfind("policy.schema: ", 0), 0u) << toml << " -> " << error;
  }
}

TEST(PolicySchema, OpcodeNamesAndProtocols) {
  const std::string_view head = "[policy]\nname = \"x\"\n[pickle]\n";
  for (std::string_view bad : {"\"NOPE\"", "\"proto\"", "\"PROTO \"", "\"\"", "\"0x80\""}) {
    const std::string error =
        SchemaError(std::string(head) + "opcodes = [" + std::string(bad) + "]\n");
    EXPECT_EQ(error.rfind("policy.schema: ", 0), 0u) << bad << " -> " << error;
  }
  EXPECT_NE(SchemaError(std::string(head) + "opcodes = [\"NOPE\"]\n").find("NOPE"),
            std::string::npos);
  for (std::string_view bad : {"[6]", "[-1]", "[2, 256]", "[5, 6]"}) {
    const std::string error =
        SchemaError(std::string(head) + "protocols = " + std::string(bad) + "\n");
    EXPECT_EQ(error.rfind("policy.schema: ", 0), 0u) << bad << " -> " << error;
  }
  EXPECT_EQ(MustParse(std::string(head) + "protocols = [0, 1, 2, 3, 4, 5]\n").pickle.protocols,
            (std::vector<int>{0, 1, 2, 3, 4, 5}));
  // Every pickletools name is accepted, including the ones left out by default.
  const Policy all = MustParse(std::string(head) +
                               "opcodes = [\"EXT1\", \"EXT2\", \"EXT4\", \"NEXT_BUFFER\", "
                               "\"READONLY_BUFFER\", \"FRAME\", \"MEMOIZE\"]\n");
  EXPECT_EQ(all.pickle.opcodes, (std::vector<uint8_t>{0x82, 0x83, 0x84, 0x94, 0x95, 0x97, 0x98}));
}

TEST(PolicySchema, TomlErrorsKeepTheirReasons) {
  auto syntax = ParsePolicy("[policy\nname = \"x\"\n", PolicyLimits{});
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().reason(), "toml.syntax");
  auto dup = ParsePolicy("[policy]\nname = \"x\"\nname = \"y\"\n", PolicyLimits{});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().reason(), "toml.duplicate-key");
  PolicyLimits small;
  small.max_policy_bytes = 16;
  auto large = ParsePolicy("[policy]\nname = \"abcdefgh\"\n", small);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.status().code(), sealpkg::ErrorCode::kLimitExceeded);
}

TEST(PolicySchema, PolicyFromTomlOnABuiltTree) {
  TomlValue doc = TomlValue::Table();
  TomlValue policy = TomlValue::Table();
  policy.mutable_table().emplace_back("name", TomlValue::String("built"));
  doc.mutable_table().emplace_back("policy", std::move(policy));
  auto p = PolicyFromToml(doc);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "built");
  TomlValue bad = TomlValue::Table();
  bad.mutable_table().emplace_back("policy", TomlValue::Integer(1));
  EXPECT_EQ(PolicyFromToml(bad).status().reason(), "policy.schema");
}

// ---------------------------------------------------------------------------------------------
// NameSet.

TEST(NameSetTest, ExactEntriesAndPatterns) {
  auto s = NameSet::Create({"torch.**", "os.path.join", "collections.OrderedDict"}, ".");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->Matches("torch"));
  EXPECT_TRUE(s->Matches("torch.nn.Module"));
  EXPECT_FALSE(s->Matches("torchvision.models"));
  EXPECT_TRUE(s->Matches("os.path.join"));
  EXPECT_FALSE(s->Matches("os.path.joinx"));
  EXPECT_FALSE(s->Matches("os.path"));
  EXPECT_FALSE(s->Matches("os"));
  EXPECT_TRUE(s->Matches("collections.OrderedDict"));
  EXPECT_FALSE(s->Matches(""));
  // exact_only: only literal entries.
  EXPECT_TRUE(s->Matches("os.path.join", /*exact_only=*/true));
  EXPECT_FALSE(s->Matches("torch.nn", /*exact_only=*/true));
  EXPECT_EQ(s->patterns().size(), 3u);
  EXPECT_FALSE(s->empty());

  auto star = NameSet::Create({"torch.*Storage"}, ".");
  ASSERT_TRUE(star.ok());
  EXPECT_TRUE(star->Matches("torch.FloatStorage"));
  EXPECT_TRUE(star->Matches("torch.Storage"));
  EXPECT_FALSE(star->Matches("torch.cuda.FloatStorage"));  // '*' stays inside one segment
  EXPECT_FALSE(star->Matches("torch.FloatStorage", /*exact_only=*/true));

  auto paths = NameSet::Create({"res/**", "top.txt"}, "/");
  ASSERT_TRUE(paths.ok());
  EXPECT_TRUE(paths->Matches("res/a/b.txt"));
  EXPECT_TRUE(paths->Matches("top.txt"));
  EXPECT_FALSE(paths->Matches("other/top.txt"));

  auto empty = NameSet::Create({}, ".");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->Matches("anything"));

  EXPECT_FALSE(NameSet::Create({"torch.a**"}, ".").ok());
}

TEST(NameSetTest, DottedAttributeNamesNeverMatchPatterns) {
  const Policy pattern = MustParse(
      "[policy]\nname = \"p\"\n[pickle]\nglobals = [\"pathlib.**\", \"torch.**\"]\n"
      "callables = [\"pathlib.**\", \"torch.**\"]\n");
  // Protocol 4 resolves "pathlib" + "os.getcwd" by a getattr walk: that is os.getcwd.
  const P dotted =
      P().proto(4).sbu("pathlib").sbu("os.getcwd").stack_global().empty_tuple().reduce().stop();
  const PickleVerdict v = Check(dotted, pattern);
  EXPECT_EQ(Codes(v), Strings{code::kPickleGlobalDenied}) << AllFindings(v);
  EXPECT_EQ(v.findings[0].name, "pathlib.os.getcwd");
  EXPECT_EQ(v.findings[0].construct, "STACK_GLOBAL");
  EXPECT_EQ(
      Codes(Check(P().proto(4).sbu("torch").sbu("serialization.os.system").stack_global().stop(),
                  pattern)),
      Strings{code::kPickleGlobalDenied});
  // The same module attributes without dots match the pattern.
  EXPECT_TRUE(Check(P().proto(4).sbu("pathlib").sbu("Path").stack_global().stop(), pattern)
                  .findings.empty());
  // An exact entry is what allows a dotted name.
  const PickleVerdict exact =
      Check(P().proto(4).sbu("pathlib").sbu("os.getcwd").stack_global().stop(), TestPolicy());
  EXPECT_TRUE(exact.findings.empty()) << AllFindings(exact);
}

// ---------------------------------------------------------------------------------------------
// Built-in policies.

TEST(BuiltinPolicies, EveryBuiltinLoads) {
  const auto names = BuiltinPolicyNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "builtin:weights-only"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "builtin:data-only"), names.end());
  for (std::string_view name : names) {
    auto p = LoadBuiltinPolicy(name);
    ASSERT_TRUE(p.ok()) << name << ": " << p.status().ToString();
    EXPECT_EQ(p->name, name);
    ASSERT_TRUE(BuiltinPolicyText(name).has_value());
    auto again = ParsePolicy(*BuiltinPolicyText(name), PolicyLimits{});
    EXPECT_TRUE(again.ok()) << name;
    auto spec = LoadPolicySpec(std::string(name), PolicyLimits{});
    EXPECT_TRUE(spec.ok()) << name;
  }
}

TEST(BuiltinPolicies, UnknownBuiltinFails) {
  for (std::string_view name :
       {"builtin:nope", "weights-only", "builtin:", "builtin:Weights-Only"}) {
    auto p = LoadBuiltinPolicy(name);
    ASSERT_FALSE(p.ok()) << name;
    EXPECT_EQ(p.status().reason(), "policy.unknown-builtin");
    EXPECT_EQ(p.status().code(), sealpkg::ErrorCode::kMalformed);
    EXPECT_FALSE(BuiltinPolicyText(name).has_value());
  }
  EXPECT_EQ(LoadPolicySpec("builtin:nope", PolicyLimits{}).status().reason(),
            "policy.unknown-builtin");
}

TEST(BuiltinPolicies, PolicySpecReadsAFile) {
  const std::string path = testing::TempDir() + "/policy_test_spec.toml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[policy]\nname = \"from-file\"\n[pickle]\nglobals = [\"a.b\"]\n";
  }
  auto p = LoadPolicySpec(path, PolicyLimits{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "from-file");
  {
    std::ofstream out(path, std::ios::binary);
    out << "[policy]\nname = \"x\"\nbogus = 1\n";
  }
  auto bad = LoadPolicySpec(path, PolicyLimits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "policy.schema");
  EXPECT_NE(bad.status().message().find(path), std::string_view::npos);
  std::remove(path.c_str());
  EXPECT_FALSE(LoadPolicySpec(path, PolicyLimits{}).ok());
}

TEST(BuiltinPolicies, WeightsOnlyAcceptsAStateDict) {
  auto w = LoadBuiltinPolicy("builtin:weights-only");
  ASSERT_TRUE(w.ok());
  const PickleVerdict v = Check(StateDict("0", 4), *w);
  EXPECT_TRUE(v.findings.empty()) << AllFindings(v);
  ASSERT_EQ(v.storages.size(), 1u);
  EXPECT_EQ(v.storages[0].key, "0");
  EXPECT_EQ(v.storages[0].type, "torch.FloatStorage");
  EXPECT_EQ(v.storages[0].numel, 4u);
  EXPECT_EQ(v.storages[0].element_size, 4u);
  EXPECT_EQ(v.modules, (Strings{"collections", "torch._utils", "torch", "collections"}));
  // ... and nothing that executes code.
  const PickleVerdict evil =
      Check(P().proto(2).global("os", "system").binunicode("id").tuple1().reduce().stop(), *w);
  EXPECT_EQ(Codes(evil), Strings{code::kPickleGlobalDenied});
  // A module object, even torch's own, is not a weights-only global.
  EXPECT_EQ(Codes(Check(P().proto(2).global("torch", "_utils").stop(), *w)),
            Strings{code::kPickleGlobalDenied});
}

TEST(BuiltinPolicies, DataOnlyAcceptsPlainData) {
  auto d = LoadBuiltinPolicy("builtin:data-only");
  ASSERT_TRUE(d.ok());
  // pickle.dumps([b'ab', {1, 2}], protocol=2): bytes via _codecs.encode, sets via builtins.set.
  const P data = P().proto(2)
                     .empty_list()
                     .mark()
                     .global("_codecs", "encode")
                     .binunicode("ab")
                     .binunicode("latin1")
                     .tuple2()
                     .reduce()
                     .global("__builtin__", "set")
                     .empty_list()
                     .binint1(1)
                     .append()
                     .tuple1()
                     .reduce()
                     .appends()
                     .stop();
  const PickleVerdict v = Check(data, *d);
  EXPECT_TRUE(v.findings.empty()) << AllFindings(v);
  EXPECT_EQ(Codes(Check(StateDict(), *d)),
            (Strings{code::kPickleGlobalDenied, code::kPickleGlobalDenied,
                     code::kPickleGlobalDenied, code::kPickleGlobalDenied,
                     code::kPicklePersistentIdDenied, code::kPickleMutationDenied}));
}

// ---------------------------------------------------------------------------------------------
// EvaluatePickle.

TEST(EvaluatePickleTest, StructuralErrorIsIncludedWithTheEntry) {
  const PickleVerdict v = Check(P().none().binget(9).stop(), TestPolicy(), "arch/x.pkl");
  ASSERT_EQ(Codes(v), Strings{code::kPickleMemoMissing});
  EXPECT_EQ(v.findings[0].entry, "arch/x.pkl");
  EXPECT_EQ(v.findings[0].offset, 1u);
  EXPECT_EQ(v.findings[0].kind, sealpkg::ErrorCode::kMalformed);
}

TEST(EvaluatePickleTest, GlobalDenied) {
  const PickleVerdict v = Check(P().global("posix", "system").stop(), TestPolicy());
  ASSERT_EQ(Codes(v), Strings{code::kPickleGlobalDenied});
  const Finding& f = v.findings[0];
  EXPECT_EQ(f.name, "posix.system");
  EXPECT_EQ(f.construct, "GLOBAL");
  EXPECT_EQ(f.offset, 0u);
  EXPECT_EQ(f.rule, "pickle.globals");
  EXPECT_EQ(f.entry, "data.pkl");
  EXPECT_EQ(f.kind, sealpkg::ErrorCode::kPolicyDenied);
  EXPECT_EQ(f.severity, Severity::kError);
  // Renamed names are matched after the rename, and the message says what was written.
  const PickleVerdict renamed =
      Check(P().proto(2).global("__builtin__", "eval").stop(), TestPolicy());
  ASSERT_EQ(Codes(renamed), Strings{code::kPickleGlobalDenied});
  EXPECT_EQ(renamed.findings[0].name, "builtins.eval");
  EXPECT_NE(renamed.findings[0].message.find("__builtin__ eval"), std::string::npos);
  // An allowed global that is only referenced is fine; INST globals are checked too.
  EXPECT_TRUE(Check(P().global("mod", "Ref").stop(), TestPolicy()).findings.empty());
  EXPECT_EQ(Codes(Check(P().mark().inst("posix", "system").stop(), TestPolicy())),
            Strings{code::kPickleGlobalDenied});
}

TEST(EvaluatePickleTest, CallDenied) {
  // A global that is only in `globals`.
  const PickleVerdict ref =
      Check(P().global("mod", "Ref").empty_tuple().reduce().stop(), TestPolicy());
  ASSERT_EQ(Codes(ref), Strings{code::kPickleCallDenied});
  EXPECT_EQ(ref.findings[0].name, "mod.Ref");
  EXPECT_EQ(ref.findings[0].rule, "pickle.callables");
  EXPECT_EQ(ref.findings[0].construct, "REDUCE");
  // Calling a non-global: the object a call made, a string, a persistent object.
  const P call_result =
      P().global("mod", "Obj").empty_tuple().reduce().empty_tuple().reduce().stop();
  const PickleVerdict r = Check(call_result, TestPolicy());
  ASSERT_EQ(Codes(r), Strings{code::kPickleCallDenied});
  EXPECT_EQ(r.findings[0].name, "");
  EXPECT_EQ(r.findings[0].offset, call_result.size() - 2);
  EXPECT_EQ(Codes(Check(P().string("'x'").empty_tuple().reduce().stop(), TestPolicy())),
            Strings{code::kPickleCallDenied});
  EXPECT_EQ(
      Codes(Check(
          P().proto(2).global("mod", "Obj").empty_tuple().newobj().empty_tuple().newobj().stop(),
          TestPolicy())),
      Strings{code::kPickleCallDenied});
  // A denied global is reported once, as a global, not again as a call.
  EXPECT_EQ(Codes(Check(P().global("posix", "system").empty_tuple().reduce().stop(), TestPolicy())),
            Strings{code::kPickleGlobalDenied});
  // An allowed callable.
  EXPECT_TRUE(
      Check(P().global("mod", "Obj").empty_tuple().reduce().stop(), TestPolicy()).findings.empty());
}

TEST(EvaluatePickleTest, BuildDenied) {
  // BUILD on a global rewrites a module, class or function: never allowed.
  const PickleVerdict global =
      Check(P().global("mod", "Ref").empty_dict().build().stop(), TestPolicy());
  ASSERT_EQ(Codes(global), Strings{code::kPickleBuildDenied});
  EXPECT_EQ(global.findings[0].construct, "BUILD");
  EXPECT_EQ(global.findings[0].rule, "pickle.build");
  EXPECT_NE(global.findings[0].message.find("mod.Ref"), std::string::npos);
  // Even when the global is in `build` (the type, not an instance of it).
  EXPECT_EQ(Codes(Check(P().global("collections", "OrderedDict").empty_dict().build().stop(),
                        TestPolicy())),
            Strings{code::kPickleBuildDenied});
  // Objects made by a callable not in `build`.
  const PickleVerdict obj = Check(
      P().global("mod", "Obj").empty_tuple().reduce().empty_dict().build().stop(), TestPolicy());
  ASSERT_EQ(Codes(obj), Strings{code::kPickleBuildDenied});
  EXPECT_EQ(obj.findings[0].name, "mod.Obj");
  // Literals and persistent objects.
  EXPECT_EQ(Codes(Check(P().empty_list().empty_dict().build().stop(), TestPolicy())),
            Strings{code::kPickleBuildDenied});
  EXPECT_EQ(Codes(Check(P().persid("0").empty_dict().build().stop(),
                        MustParse("[policy]\nname = \"x\"\n"))),
            (Strings{code::kPicklePersistentIdDenied, code::kPickleBuildDenied}));
  // Allowed: an OrderedDict instance (torch.save sets its _metadata this way).
  EXPECT_TRUE(Check(P().global("collections", "OrderedDict")
                        .empty_tuple()
                        .reduce()
                        .empty_dict()
                        .build()
                        .stop(),
                    TestPolicy())
                  .findings.empty());
}

TEST(EvaluatePickleTest, MutationDeniedOnObjectsOfNonMutableTypes) {
  // CVE-2026-24747: SETITEMS applied to a tensor (indexed writes into its storage).
  P cve;
  cve.proto(2);
  Tensor(cve, "0", 4);
  const uint64_t setitems = cve.size() + 5;
  cve.mark().binint1(0).binint1(1).setitems().stop();
  const PickleVerdict v = Check(cve, TestPolicy());
  ASSERT_EQ(Codes(v), Strings{code::kPickleMutationDenied}) << AllFindings(v);
  EXPECT_EQ(v.findings[0].name, "torch._utils._rebuild_tensor_v2");
  EXPECT_EQ(v.findings[0].construct, "SETITEMS");
  EXPECT_EQ(v.findings[0].offset, setitems);
  EXPECT_EQ(v.findings[0].rule, "pickle.mutable");
  auto w = LoadBuiltinPolicy("builtin:weights-only");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Codes(Check(cve, *w)), Strings{code::kPickleMutationDenied});
  // SETITEM, APPEND, APPENDS, ADDITEMS on objects and persistent objects.
  P single;
  single.proto(2);
  Tensor(single, "0", 4);
  EXPECT_EQ(Codes(Check(single.binint1(0).binint1(1).setitem().stop(), TestPolicy())),
            Strings{code::kPickleMutationDenied});
  EXPECT_EQ(Codes(Check(P().global("mod", "Obj").empty_tuple().reduce().none().append().stop(),
                        TestPolicy())),
            Strings{code::kPickleMutationDenied});
  EXPECT_EQ(
      Codes(Check(P().global("mod", "Obj").empty_tuple().reduce().mark().none().appends().stop(),
                  TestPolicy())),
      Strings{code::kPickleMutationDenied});
  EXPECT_EQ(
      Codes(Check(
          P().proto(4).global("mod", "Obj").empty_tuple().reduce().mark().none().additems().stop(),
          TestPolicy())),
      Strings{code::kPickleMutationDenied});
  // A global is never mutable (module attribute writes).
  EXPECT_EQ(
      Codes(Check(P().global("collections", "OrderedDict").binint1(0).binint1(1).setitem().stop(),
                  TestPolicy())),
      Strings{code::kPickleMutationDenied});
  // Allowed: OrderedDict instances; plain containers are not mutation call sites at all.
  EXPECT_TRUE(Check(P().global("collections", "OrderedDict")
                        .empty_tuple()
                        .reduce()
                        .binint1(0)
                        .binint1(1)
                        .setitem()
                        .stop(),
                    TestPolicy())
                  .findings.empty());
  EXPECT_TRUE(Check(P().empty_dict().binint1(0).binint1(1).setitem().stop(), TestPolicy())
                  .findings.empty());
}

TEST(EvaluatePickleTest, StoragePersistentIds) {
  // torch.save's form, with the key a str; TorchScript writes "<n>.storage"; legacy files add a
  // sixth (view metadata) field; keys may also be ints.
  const PickleVerdict v = Check(StateDict("0", 4), TestPolicy());
  EXPECT_TRUE(v.findings.empty()) << AllFindings(v);
  ASSERT_EQ(v.storages.size(), 1u);
  EXPECT_EQ(v.storages[0].key, "0");
  P ts;
  ts.proto(2);
  StoragePid(ts, "3.storage", 4).stop();
  const PickleVerdict t = Check(ts, TestPolicy());
  EXPECT_TRUE(t.findings.empty()) << AllFindings(t);
  ASSERT_EQ(t.storages.size(), 1u);
  EXPECT_EQ(t.storages[0].key, "3.storage");
  EXPECT_EQ(t.storages[0].offset, ts.size() - 2);
  const P legacy = P().proto(2)
                       .mark()
                       .binunicode("storage")
                       .global("torch", "LongStorage")
                       .binunicode("94032")
                       .binunicode("cpu")
                       .binint1(2)
                       .none()
                       .tuple()
                       .binpersid()
                       .stop();
  const PickleVerdict l = Check(legacy, TestPolicy());
  EXPECT_TRUE(l.findings.empty()) << AllFindings(l);
  ASSERT_EQ(l.storages.size(), 1u);
  EXPECT_EQ(l.storages[0].element_size, 8u);
  const P int_key = P().proto(2)
                        .mark()
                        .binunicode("storage")
                        .global("torch", "HalfStorage")
                        .binint1(7)
                        .binunicode("cuda:0")
                        .binint1(2)
                        .tuple()
                        .binpersid()
                        .stop();
  const PickleVerdict i = Check(int_key, TestPolicy());
  EXPECT_TRUE(i.findings.empty()) << AllFindings(i);
  ASSERT_EQ(i.storages.size(), 1u);
  EXPECT_EQ(i.storages[0].key, "7");
  EXPECT_EQ(i.storages[0].element_size, 2u);
}

TEST(EvaluatePickleTest, StorageKeysThatAreNotPlainRecordNames) {
  for (std::string_view key :
       std::vector<std::string_view>{"../0", "a/b", "..", "/etc/passwd", "", "0.storage/../x", ".",
                                     "a\\b", "0 ", std::string_view("a\0b", 3)}) {
    P p;
    p.proto(2);
    StoragePid(p, key, 4).stop();
    const PickleVerdict v = Check(p, TestPolicy());
    EXPECT_EQ(Codes(v), Strings{code::kPickleStorageMismatch}) << key << "\n" << AllFindings(v);
    EXPECT_TRUE(v.storages.empty());
  }
  P long_key;
  long_key.proto(2);
  StoragePid(long_key, std::string(65, '1'), 4).stop();
  EXPECT_EQ(Codes(Check(long_key, TestPolicy())), Strings{code::kPickleStorageMismatch});
}

TEST(EvaluatePickleTest, PersistentIdsDenied) {
  // Wrong arity: not the ("storage", type, key, location, numel[, view]) form.
  const P four = P().proto(2)
                     .mark()
                     .binunicode("storage")
                     .global("torch", "FloatStorage")
                     .binunicode("0")
                     .binunicode("cpu")
                     .tuple()
                     .binpersid()
                     .stop();
  EXPECT_EQ(Codes(Check(four, TestPolicy())), Strings{code::kPicklePersistentIdDenied});
  const P seven = P().proto(2)
                      .mark()
                      .binunicode("storage")
                      .global("torch", "FloatStorage")
                      .binunicode("0")
                      .binunicode("cpu")
                      .binint1(4)
                      .none()
                      .none()
                      .tuple()
                      .binpersid()
                      .stop();
  EXPECT_EQ(Codes(Check(seven, TestPolicy())), Strings{code::kPicklePersistentIdDenied});
  // Storage type not allowed: an allowed global that is not a storage type, a literal.
  P not_storage;
  not_storage.proto(2);
  StoragePid(not_storage, "0", 4, "collections", "OrderedDict").stop();
  const PickleVerdict ns = Check(not_storage, TestPolicy());
  ASSERT_EQ(Codes(ns), Strings{code::kPicklePersistentIdDenied}) << AllFindings(ns);
  EXPECT_EQ(ns.findings[0].name, "collections.OrderedDict");
  EXPECT_EQ(ns.findings[0].rule, "pickle.storage_types");
  const P literal_type = P().proto(2)
                             .mark()
                             .binunicode("storage")
                             .binunicode("torch.FloatStorage")
                             .binunicode("0")
                             .binunicode("cpu")
                             .binint1(4)
                             .tuple()
                             .binpersid()
                             .stop();
  EXPECT_EQ(Codes(Check(literal_type, TestPolicy())), Strings{code::kPicklePersistentIdDenied});
  // Unknown kinds and shapes.
  const PickleVerdict module = Check(
      P().proto(2).binunicode("module").binunicode("os").tuple2().binpersid().stop(), TestPolicy());
  ASSERT_EQ(Codes(module), Strings{code::kPicklePersistentIdDenied});
  EXPECT_EQ(module.findings[0].name, "module");
  EXPECT_EQ(module.findings[0].construct, "BINPERSID");
  EXPECT_EQ(Codes(Check(P().persid("0").stop(), TestPolicy())),
            Strings{code::kPicklePersistentIdDenied});
  EXPECT_EQ(Codes(Check(P().binint1(0).binpersid().stop(), TestPolicy())),
            Strings{code::kPicklePersistentIdDenied});
  EXPECT_EQ(Codes(Check(P().empty_tuple().binpersid().stop(), TestPolicy())),
            Strings{code::kPicklePersistentIdDenied});
  // The storage kind itself when the policy does not allow storage ids.
  const Policy no_ids = MustParse(
      "[policy]\nname = \"x\"\n[pickle]\nglobals = [\"torch.*Storage\"]\n"
      "storage_types = [\"torch.*Storage\"]\n");
  const PickleVerdict denied = Check(StateDict(), no_ids);
  EXPECT_EQ(
      std::count_if(denied.findings.begin(), denied.findings.end(),
                    [](const Finding& f) { return f.code == code::kPicklePersistentIdDenied; }),
      1);
}

TEST(EvaluatePickleTest, ReducePackagePersistentIds) {
  // ("reduce_package", id, func, args) and the legacy ("reduce_package", func, args).
  const auto pid = [](std::string_view module, std::string_view name, bool with_id) {
    P p;
    p.proto(3).mark().binunicode("reduce_package");
    if (with_id) p.binunicode("1");
    return p.global(module, name).binint1(1).tuple1().tuple().binpersid().stop();
  };
  EXPECT_TRUE(Check(pid("mod", "rebuild", true), TestPolicy()).findings.empty());
  EXPECT_TRUE(Check(pid("mod", "rebuild", false), TestPolicy()).findings.empty());
  const PickleVerdict ref = Check(pid("mod", "Ref", true), TestPolicy());
  ASSERT_EQ(Codes(ref), Strings{code::kPicklePersistentIdDenied});
  EXPECT_EQ(ref.findings[0].name, "mod.Ref");
  EXPECT_EQ(Codes(Check(pid("posix", "system", true), TestPolicy())),
            (Strings{code::kPickleGlobalDenied, code::kPicklePersistentIdDenied}));
  EXPECT_EQ(
      Codes(Check(
          P().proto(3).binunicode("reduce_package").binunicode("1").tuple2().binpersid().stop(),
          TestPolicy())),
      Strings{code::kPicklePersistentIdDenied});
  EXPECT_EQ(Codes(Check(P().proto(3)
                            .mark()
                            .binunicode("reduce_package")
                            .binunicode("mod.rebuild")
                            .empty_tuple()
                            .tuple()
                            .binpersid()
                            .stop(),
                        TestPolicy())),
            Strings{code::kPicklePersistentIdDenied});
  // Not enabled in the policy.
  const Policy storage_only = MustParse(
      "[policy]\nname = \"x\"\n[pickle]\nglobals = [\"mod.rebuild\"]\n"
      "callables = [\"mod.rebuild\"]\npersistent_ids = [\"storage\"]\n");
  EXPECT_EQ(Codes(Check(pid("mod", "rebuild", true), storage_only)),
            Strings{code::kPicklePersistentIdDenied});
}

TEST(EvaluatePickleTest, OpcodeDeniedAtFirstUse) {
  const Policy few =
      MustParse("[policy]\nname = \"x\"\n[pickle]\nopcodes = [\"PROTO\", \"STOP\", \"NONE\"]\n");
  const PickleVerdict v =
      Check(P().proto(2).none().none().pop().dup().pop().dup().pop().stop(), few);
  ASSERT_EQ(Codes(v), (Strings{code::kPickleOpcodeDenied, code::kPickleOpcodeDenied}));
  EXPECT_EQ(v.findings[0].name, "POP");
  EXPECT_EQ(v.findings[0].construct, "POP");
  EXPECT_EQ(v.findings[0].offset, 4u);
  EXPECT_EQ(v.findings[0].rule, "pickle.opcodes");
  EXPECT_EQ(v.findings[1].name, "DUP");
  EXPECT_EQ(v.findings[1].offset, 5u);
  // The built-in weights-only policy refuses INST, OBJ, PERSID, FRAME, STRING...
  auto w = LoadBuiltinPolicy("builtin:weights-only");
  ASSERT_TRUE(w.ok());
  const PickleVerdict s = Check(P().string("'x'").stop(), *w);
  ASSERT_EQ(Codes(s), Strings{code::kPickleOpcodeDenied});
  EXPECT_EQ(s.findings[0].name, "STRING");
}

TEST(EvaluatePickleTest, ProtocolDenied) {
  const Policy two = MustParse("[policy]\nname = \"x\"\n[pickle]\nprotocols = [2]\n");
  EXPECT_TRUE(Check(P().proto(2).none().stop(), two).findings.empty());
  const PickleVerdict four = Check(P().proto(4).none().stop(), two);
  ASSERT_EQ(Codes(four), Strings{code::kPickleProtocolDenied});
  EXPECT_EQ(four.findings[0].name, "4");
  EXPECT_EQ(four.findings[0].rule, "pickle.protocols");
  const PickleVerdict zero = Check(P().none().stop(), two);
  ASSERT_EQ(Codes(zero), Strings{code::kPickleProtocolDenied});
  EXPECT_EQ(zero.findings[0].name, "0");
  // The highest PROTO counts, wherever it is.
  EXPECT_EQ(Codes(Check(P().proto(2).proto(5).proto(2).none().stop(), two)),
            Strings{code::kPickleProtocolDenied});
}

// torchvision's ViT pickles norm_layer=partial(nn.LayerNorm, eps=1e-6) as
// REDUCE(functools.partial, (LayerNorm,)) then BUILD with (LayerNorm, (), {'eps': 1e-06}, None):
// partial.__setstate__ replaces the function, so both places must name an allowed callable.
P Partial(std::string_view reduce_module, std::string_view reduce_name,
          std::string_view state_module, std::string_view state_name) {
  return P()
      .proto(2)
      .global("functools", "partial")
      .global(reduce_module, reduce_name)
      .tuple1()
      .reduce()
      .mark()
      .global(state_module, state_name)
      .empty_tuple()
      .empty_dict()
      .binunicode("eps")
      .binfloat()
      .setitem()
      .none()
      .tuple()
      .build()
      .stop();
}

TEST(EvaluatePickleTest, CallRulesForFunctoolsPartial) {
  constexpr std::string_view kNorm = "torch.nn.modules.normalization";
  const PickleVerdict ok = Check(Partial(kNorm, "LayerNorm", kNorm, "LayerNorm"), TestPolicy());
  EXPECT_TRUE(ok.findings.empty()) << AllFindings(ok);
  // A partial of a global that may not be called.
  const PickleVerdict reduce = Check(Partial("os", "system", "os", "system"), TestPolicy());
  ASSERT_EQ(Codes(reduce), (Strings{code::kPickleCallDenied, code::kPickleBuildDenied}))
      << AllFindings(reduce);
  EXPECT_EQ(reduce.findings[0].name, "functools.partial");
  EXPECT_EQ(reduce.findings[0].rule, "pickle.rules");
  EXPECT_EQ(reduce.findings[0].construct, "REDUCE");
  EXPECT_EQ(reduce.findings[1].name, "functools.partial");
  EXPECT_EQ(reduce.findings[1].rule, "pickle.rules");
  EXPECT_EQ(reduce.findings[1].construct, "BUILD");
  // The swap through __setstate__ alone.
  const PickleVerdict state = Check(Partial(kNorm, "LayerNorm", "os", "system"), TestPolicy());
  ASSERT_EQ(Codes(state), Strings{code::kPickleBuildDenied}) << AllFindings(state);
  EXPECT_EQ(state.findings[0].rule, "pickle.rules");
  // A partial of something that is not a global at all.
  const P literal =
      P().proto(2).global("functools", "partial").binunicode("os.system").tuple1().reduce().stop();
  EXPECT_EQ(Codes(Check(literal, TestPolicy())), Strings{code::kPickleCallDenied});
  // A partial with no argument at all.
  EXPECT_EQ(Codes(Check(P().proto(2).global("functools", "partial").empty_tuple().reduce().stop(),
                        TestPolicy())),
            Strings{code::kPickleCallDenied});
  // A denied global inside: reported as a global, and the rule still refuses it.
  EXPECT_EQ(Codes(Check(Partial("posix", "system", kNorm, "LayerNorm"), TestPolicy())),
            (Strings{code::kPickleGlobalDenied, code::kPickleCallDenied}));
}

TEST(EvaluatePickleTest, CallRuleGlobalArgsOfRebuildFromTypeV2) {
  auto w = LoadBuiltinPolicy("builtin:weights-only");
  ASSERT_TRUE(w.ok());
  const auto call = [](P func, P type) {
    P p;
    p.proto(2).global("torch._tensor", "_rebuild_from_type_v2").mark();
    p.then(func).then(type);
    return p.empty_tuple().empty_dict().tuple().reduce().stop();
  };
  const P rebuild = P().global("torch._utils", "_rebuild_tensor_v2");
  const P tensor = P().global("torch", "Tensor");
  const PickleVerdict ok = Check(call(rebuild, tensor), *w);
  EXPECT_TRUE(ok.findings.empty()) << AllFindings(ok);
  // func must be an allowed callable: torch.Tensor is only an allowed global.
  const PickleVerdict func = Check(call(tensor, tensor), *w);
  ASSERT_EQ(Codes(func), Strings{code::kPickleCallDenied}) << AllFindings(func);
  EXPECT_EQ(func.findings[0].name, "torch._tensor._rebuild_from_type_v2");
  EXPECT_EQ(func.findings[0].rule, "pickle.rules");
  // type must be an allowed global.
  EXPECT_EQ(Codes(Check(call(rebuild, P().binunicode("torch.Tensor")), *w)),
            Strings{code::kPickleCallDenied});
}

TEST(EvaluatePickleTest, ModulesListsEveryGlobalsModule) {
  const PickleVerdict v =
      Check(P().global("a.b", "C").global("d", "E").tuple2().stop(), TestPolicy());
  EXPECT_EQ(v.modules, (Strings{"a.b", "d"}));
}

TEST(StorageElementSizeTest, KnownTypes) {
  EXPECT_EQ(StorageElementSize("torch.FloatStorage"), 4u);
  EXPECT_EQ(StorageElementSize("torch.DoubleStorage"), 8u);
  EXPECT_EQ(StorageElementSize("torch.HalfStorage"), 2u);
  EXPECT_EQ(StorageElementSize("torch.BFloat16Storage"), 2u);
  EXPECT_EQ(StorageElementSize("torch.LongStorage"), 8u);
  EXPECT_EQ(StorageElementSize("torch.IntStorage"), 4u);
  EXPECT_EQ(StorageElementSize("torch.ShortStorage"), 2u);
  EXPECT_EQ(StorageElementSize("torch.CharStorage"), 1u);
  EXPECT_EQ(StorageElementSize("torch.ByteStorage"), 1u);
  EXPECT_EQ(StorageElementSize("torch.BoolStorage"), 1u);
  EXPECT_EQ(StorageElementSize("torch.ComplexFloatStorage"), 8u);
  EXPECT_EQ(StorageElementSize("torch.ComplexDoubleStorage"), 16u);
  EXPECT_EQ(StorageElementSize("torch.storage.UntypedStorage"), 1u);
  EXPECT_EQ(StorageElementSize("torch.Tensor"), 0u);
  EXPECT_EQ(StorageElementSize(""), 0u);
}

}  // namespace
}  // namespace sealpkg::verifier
