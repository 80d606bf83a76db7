// policy_parser: arbitrary bytes -> sealpkg::verifier::ParsePolicy (TOML, verifier/toml.h, then
// the policy schema, verifier/policy.h) with default PolicyLimits; every accepted policy then
// evaluates a fixed set of assembled pickles (EvaluatePickle) and the facts of a small in-memory
// torch.package (EvaluateFacts).
//
// Invariants (each violation calls abort()):
//   - ParsePolicy never returns kInternal; a rejection is kMalformed with a "toml.*" or
//     "policy.*" reason, or kLimitExceeded "toml.*"; policy.schema messages start with
//     "line L, column C: ";
//   - an accepted policy has a non-empty name, version >= 1, protocols in 0..5, opcodes sorted,
//     unique and all named opcodes, and every rule names a callable;
//   - evaluating the fixed pickles and package facts under an accepted policy never produces a
//     kInternal finding or an empty finding code, and never crashes;
//   - parsing is deterministic (a second parse gives the same name and the same findings).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "archive/zip_writer.h"
#include "core/limits.h"
#include "core/printable.h"
#include "core/status.h"
#include "verifier/finding.h"
#include "verifier/package_verifier.h"
#include "verifier/pickle_machine.h"
#include "verifier/policy.h"

namespace {

using sealpkg::ErrorCode;
using sealpkg::verifier::Finding;
using sealpkg::verifier::PickleRun;
using sealpkg::verifier::Policy;

[[noreturn]] void Fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(
      stderr, "policy_parser_fuzzer: invariant violated: %s\n  input: '%s'\n  detail: '%s'\n", what,
      sealpkg::Printable(input.substr(0, 2000)).c_str(), sealpkg::Printable(detail).c_str());
  std::abort();
}

// A tiny pickle assembler (CPython's encodings) for the fixed inputs below.
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
  P& proto(int v) { return op(0x80).le(static_cast<uint64_t>(v), 1); }
  P& global(std::string_view module, std::string_view name) {
    return op('c').line(module).line(name);
  }
  P& inst(std::string_view module, std::string_view name) {
    return op('i').line(module).line(name);
  }
  P& u(std::string_view s) { return op('X').le(s.size(), 4).raw(s); }     // BINUNICODE
  P& sbu(std::string_view s) { return op(0x8C).le(s.size(), 1).raw(s); }  // SHORT_BINUNICODE
  P& k(uint8_t v) { return op('K').le(v, 1); }                            // BININT1
  // ("storage", torch.FloatStorage, key, "cpu", numel) BINPERSID
  P& storage(std::string_view key, uint8_t numel) {
    return op('(')
        .u("storage")
        .global("torch", "FloatStorage")
        .u(key)
        .u("cpu")
        .k(numel)
        .op('t')
        .op('Q');
  }
  // _rebuild_tensor_v2(storage, 0, (numel,), (1,), False, OrderedDict())
  P& tensor(std::string_view key, uint8_t numel) {
    global("torch._utils", "_rebuild_tensor_v2").op('(').storage(key, numel);
    return k(0)
        .k(numel)
        .op(0x85)
        .k(1)
        .op(0x85)
        .op(0x89)
        .global("collections", "OrderedDict")
        .op(')')
        .op('R')
        .op('t')
        .op('R');
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

// Pickles as torch and attackers write them (see tests/verifier/policy_test.cc).
std::vector<std::string> FixedPickles() {
  return {
      // torch.save of an OrderedDict {"weight": tensor}, with the _metadata BUILD.
      P().proto(2)
          .global("collections", "OrderedDict")
          .op(')')
          .op('R')
          .u("weight")
          .tensor("0", 4)
          .op('s')
          .op('}')
          .op('b')
          .op('.')
          .str(),
      // functools.partial of LayerNorm, as torchvision's ViT pickles it.
      P().proto(2)
          .global("functools", "partial")
          .global("torch.nn.modules.normalization", "LayerNorm")
          .op(0x85)
          .op('R')
          .op('(')
          .global("torch.nn.modules.normalization", "LayerNorm")
          .op(')')
          .op('}')
          .u("eps")
          .k(1)
          .op('s')
          .op('N')
          .op('t')
          .op('b')
          .op('.')
          .str(),
      // REDUCE of os.system, INST, OBJ, NEWOBJ_EX, dotted STACK_GLOBAL, PERSID, a renamed name.
      P().global("os", "system").op('(').raw("S'id'\n").op('t').op('R').op('.').str(),
      P().op('(').raw("S'cmd'\n").inst("__builtin__", "exec").op('.').str(),
      P().proto(4)
          .op('(')
          .sbu("smtplib")
          .sbu("SMTP")
          .op(0x93)
          .sbu("x")
          .op('o')
          .op('0')
          .op('N')
          .op('.')
          .str(),
      P().proto(4).sbu("m").sbu("C").op(0x93).op(')').op('}').op(0x92).op('.').str(),
      P().proto(4).sbu("pathlib").sbu("os.getcwd").op(0x93).op(')').op('R').op('.').str(),
      P().op('P').line("abc").op('.').str(),
      P().proto(2).global("cPickle", "loads").op('.').str(),
      // CVE-2026-24747: SETITEMS on a tensor; a reduce_package id; a bad storage key.
      P().proto(2).tensor("0", 4).op('(').k(0).k(1).op('u').op('.').str(),
      P().proto(3)
          .op('(')
          .u("reduce_package")
          .u("1")
          .global("m", "f")
          .op(')')
          .op('t')
          .op('Q')
          .op('.')
          .str(),
      P().proto(2).storage("../0", 4).op('.').str(),
      // Broken streams: a memo miss after a call, an unknown opcode, EXT1.
      P().global("os", "getcwd").op(')').op('R').sbu("os").op(0x94).op('h').k(3).op('.').str(),
      P().global("os", "getcwd").op(')').op('R').op(0xFF).str(),
      P().proto(2).op(0x82).le(1, 1).op(')').op('R').op('.').str(),
  };
}

std::string PackageZip() {
  sealpkg::archive::WriterOptions options;
  options.archive_name = "pkg";
  auto w = sealpkg::archive::ZipWriter::CreateInMemory(options);
  if (!w.ok()) Fail("ZipWriter", "", w.status().ToString());
  const auto add = [&](std::string_view name, std::string_view data) {
    const auto s = w->AddRecord(
        name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    if (!s.ok()) Fail("AddRecord", name, s.ToString());
  };
  add(".data/version", "6\n");
  add(".data/extern_modules", "numpy\n");
  add("mymodel/__init__.py", "");
  add("mymodel/net.py",
      "import torch\nimport os\nexec('x')\ny = eval('1')\nf = getattr(torch, n)\n"
      "m = __import__(n)\nb = __builtins__\nos.system('id')\nfrom . import util\n");
  add("mymodel/util.py", "from .net import *\n");
  add("mymodel/model.pkl", P().proto(3)
                               .global("mymodel.net", "Net")
                               .op(')')
                               .op(0x81)
                               .op('}')
                               .u("w")
                               .tensor("0", 4)
                               .op('s')
                               .op('b')
                               .op('.')
                               .str());
  add("res/info.txt", "text\n");
  add("res/w", "cos\ngetcwd\n(tR.");
  add(".data/ts_code/0/data.pkl", P().proto(2).op('}').op('.').str());
  add(".data/0.storage", std::string(16, 'x'));
  if (!w->Finish().ok()) Fail("Finish", "", "");
  const auto buffer = w->TakeBuffer();
  return {buffer.begin(), buffer.end()};
}

// Pickle runs and package facts refer to the bytes they were made from: the fixtures own them.
struct Fixtures {
  std::vector<std::string> pickles;
  std::vector<PickleRun> runs;
  std::string zip;
  sealpkg::verifier::PackageFacts facts;
};

const Fixtures& GetFixtures() {
  static const Fixtures* fixtures = [] {
    auto* f = new Fixtures;
    f->pickles = FixedPickles();
    for (const std::string& p : f->pickles) {
      f->runs.push_back(sealpkg::verifier::RunPickle(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()),
          sealpkg::PickleLimits{}));
    }
    f->zip = PackageZip();
    f->facts = sealpkg::verifier::CollectFacts(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(f->zip.data()), f->zip.size()),
        "fuzz.pt", sealpkg::Limits{});
    if (f->facts.format != "torch.package") Fail("fixture package", "", f->facts.format);
    return f;
  }();
  return *fixtures;
}

std::string Summary(const std::vector<Finding>& findings, std::string_view input) {
  std::string out;
  for (const Finding& f : findings) {
    if (f.kind == ErrorCode::kInternal) Fail("kInternal finding", input, f.code + " " + f.message);
    if (f.code.empty()) Fail("finding without a code", input, f.message);
    out += f.code + "|" + f.entry + "|" + f.name + "\n";
  }
  return out;
}

std::string Evaluate(const Policy& policy, std::string_view input) {
  const Fixtures& fx = GetFixtures();
  std::string out;
  for (const PickleRun& run : fx.runs) {
    const auto verdict = sealpkg::verifier::EvaluatePickle(run, policy, "fixed.pkl");
    out += Summary(verdict.findings, input);
  }
  out += Summary(sealpkg::verifier::EvaluateFacts(fx.facts, policy), input);
  return out;
}

void CheckPolicy(const Policy& p, std::string_view input) {
  if (p.name.empty()) Fail("accepted policy without a name", input, "");
  if (p.version < 1) Fail("accepted policy with version < 1", input, std::to_string(p.version));
  for (int v : p.pickle.protocols) {
    if (v < 0 || v > 5) Fail("protocol out of range", input, std::to_string(v));
  }
  for (size_t i = 0; i < p.pickle.opcodes.size(); ++i) {
    if (sealpkg::verifier::OpName(p.pickle.opcodes[i]).empty()) {
      Fail("unnamed opcode in policy", input, std::to_string(p.pickle.opcodes[i]));
    }
    if (i > 0 && p.pickle.opcodes[i] <= p.pickle.opcodes[i - 1]) {
      Fail("opcodes not sorted and unique", input, "");
    }
  }
  for (const auto& r : p.pickle.rules) {
    if (r.callable.empty()) Fail("rule without a callable", input, "");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const sealpkg::PolicyLimits limits;
  auto policy = sealpkg::verifier::ParsePolicy(input, limits);
  if (!policy.ok()) {
    const sealpkg::Status& st = policy.status();
    if (st.code() == ErrorCode::kInternal) Fail("kInternal", input, st.ToString());
    const std::string_view reason = st.reason();
    const bool toml = reason.rfind("toml.", 0) == 0;
    const bool schema = reason.rfind("policy.", 0) == 0;
    if (!(st.code() == ErrorCode::kMalformed && (toml || schema)) &&
        !(st.code() == ErrorCode::kLimitExceeded && toml)) {
      Fail("rejection with an unexpected code or reason", input, st.ToString());
    }
    if (reason == "policy.schema" && st.message().rfind("line ", 0) != 0) {
      Fail("schema error without a line", input, st.ToString());
    }
    return 0;
  }
  CheckPolicy(*policy, input);
  const std::string first = Evaluate(*policy, input);
  auto again = sealpkg::verifier::ParsePolicy(input, limits);
  if (!again.ok() || again->name != policy->name || Evaluate(*again, input) != first) {
    Fail("parsing is not deterministic", input, "");
  }
  return 0;
}
