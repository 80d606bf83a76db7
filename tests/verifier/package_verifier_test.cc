// Tests for verifier/package_verifier.cc on inputs built here: format detection by content
// (torch.package, torch.save, TorchScript, legacy torch files, plain and stacked pickles, .npy,
// tar, 7z, random bytes), pickles found under any record name, strict archive rejection, storage
// records against the persistent ids that name them, extern modules, packaged sources and their
// imports and dynamic code, TorchScript, resources, trailing bytes, and InferPolicy round trips.
#include "verifier/package_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/zip_writer.h"
#include "core/limits.h"
#include "verifier/finding.h"
#include "verifier/policy.h"

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
  P& proto(int v) { return op(0x80).le(static_cast<uint64_t>(v), 1); }
  P& stop() { return op('.'); }
  P& mark() { return op('('); }
  P& none() { return op('N'); }
  P& newtrue() { return op(0x88); }
  P& newfalse() { return op(0x89); }
  P& binint1(uint8_t v) { return op('K').le(v, 1); }
  P& binint2(uint16_t v) { return op('M').le(v, 2); }
  P& long1(std::string_view b) { return op(0x8A).le(b.size(), 1).raw(b); }
  P& binunicode(std::string_view s) { return op('X').le(s.size(), 4).raw(s); }
  P& sbu(std::string_view s) { return op(0x8C).le(s.size(), 1).raw(s); }
  P& empty_tuple() { return op(')'); }
  P& tuple() { return op('t'); }
  P& tuple1() { return op(0x85); }
  P& empty_list() { return op(']'); }
  P& empty_dict() { return op('}'); }
  P& setitem() { return op('s'); }
  P& global(std::string_view module, std::string_view name) {
    return op('c').line(module).line(name);
  }
  P& stack_global() { return op(0x93); }
  P& reduce() { return op('R'); }
  P& build() { return op('b'); }
  P& newobj() { return op(0x81); }
  P& binpersid() { return op('Q'); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

struct Rec {
  std::string name;
  std::string data;
};

std::string Zip(const std::vector<Rec>& records, std::string archive_name = "archive") {
  archive::WriterOptions options;
  options.archive_name = std::move(archive_name);
  auto w = archive::ZipWriter::CreateInMemory(options);
  EXPECT_TRUE(w.ok());
  for (const Rec& r : records) {
    const Status s = w->AddRecord(r.name, Bytes(r.data));
    EXPECT_TRUE(s.ok()) << r.name << ": " << s.ToString();
  }
  EXPECT_TRUE(w->Finish().ok());
  const std::vector<uint8_t> out = w->TakeBuffer();
  return {out.begin(), out.end()};
}

// ("storage", torch.<type>, key, "cpu", numel) then BINPERSID.
P& StoragePid(P& p, std::string_view key, uint8_t numel, std::string_view type = "FloatStorage") {
  return p.mark()
      .binunicode("storage")
      .global("torch", type)
      .binunicode(key)
      .binunicode("cpu")
      .binint1(numel)
      .tuple()
      .binpersid();
}

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

// torch.save of {"weight": tensor}: an OrderedDict, protocol 2.
std::string StateDictPickle(std::string_view key = "0", uint8_t numel = 4) {
  P p;
  p.proto(2).global("collections", "OrderedDict").empty_tuple().reduce().binunicode("weight");
  Tensor(p, key, numel);
  return p.setitem().stop().str();
}

std::string TorchSave(std::string pickle = StateDictPickle(),
                      std::string storage = std::string(16, 'x'), std::vector<Rec> extra = {}) {
  std::vector<Rec> records = {{"data.pkl", std::move(pickle)}, {"byteorder", "little"}};
  for (Rec& r : extra) records.push_back(std::move(r));
  records.push_back({"data/0", std::move(storage)});
  records.push_back({"version", "3\n"});
  return Zip(records);
}

std::string EvilPickle() {
  return P().proto(2).global("os", "system").binunicode("id").tuple1().reduce().stop().str();
}

// torch.package: mymodel.net.Net() with a tensor attribute, protocol 3.
std::string PackagePickle(std::string_view key = "0", uint8_t numel = 4) {
  P p;
  p.proto(3).global("mymodel.net", "Net").empty_tuple().newobj().empty_dict().binunicode("w");
  Tensor(p, key, numel);
  return p.setitem().build().stop().str();
}

std::vector<Rec> PackageRecords() {
  return {
      {".data/version", "6\n"},
      {".data/extern_modules", "numpy\n"},
      {"mymodel/__init__.py", ""},
      {"mymodel/net.py", "import torch\n\n\nclass Net:\n    pass\n"},
      {"mymodel/model.pkl", PackagePickle()},
      {"res/info.txt", "Weights for a small network.\nNothing else.\n"},
      {".data/0.storage", std::string(16, 'x')},
  };
}

std::string Package(std::vector<Rec> extra = {}, std::vector<Rec> records = PackageRecords()) {
  for (Rec& r : extra) {
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const Rec& x) { return x.name == r.name; });
    if (it != records.end()) {
      it->data = std::move(r.data);
    } else {
      records.push_back(std::move(r));
    }
  }
  return Zip(records, "mymodel");
}

constexpr std::string_view kPackagePolicy = R"toml(
[policy]
name = "pkg"

[pickle]
globals = ["mymodel.**", "torch._utils._rebuild_tensor_v2", "torch.*Storage",
           "collections.OrderedDict"]
callables = ["mymodel.net.Net", "torch._utils._rebuild_tensor_v2", "collections.OrderedDict"]
build = ["mymodel.net.Net"]
storage_types = ["torch.*Storage"]
persistent_ids = ["storage"]

[source]
imports = ["torch.**"]

[package]
interned = ["mymodel.**"]
externs = ["numpy"]
resources = ["res/**"]
)toml";

Policy MustParse(std::string_view toml) {
  auto p = ParsePolicy(toml, PolicyLimits{});
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << toml;
  return p.ok() ? std::move(p).value() : Policy{};
}

const Policy& PackagePolicy() {
  static const Policy* p = new Policy(MustParse(kPackagePolicy));
  return *p;
}

const Policy& WeightsOnly() {
  static const Policy* p = new Policy(std::move(LoadBuiltinPolicy("builtin:weights-only")).value());
  return *p;
}

const Policy& DataOnly() {
  static const Policy* p = new Policy(std::move(LoadBuiltinPolicy("builtin:data-only")).value());
  return *p;
}

VerifyReport Verify(std::string_view input, const Policy& policy, std::string_view path = "in") {
  return VerifyBytes(Bytes(input), path, policy, Limits{});
}

// Facts refer to the bytes they were collected from: view the caller's string, never a copy.
PackageFacts Facts(const std::string& input, std::string_view name = "in") {
  return CollectFacts(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input.data()), input.size()), name,
      Limits{});
}

struct Strings : std::vector<std::string> {
  Strings() = default;
  Strings(std::initializer_list<std::string_view> items) {
    for (std::string_view s : items) emplace_back(s);
  }
};

Strings Codes(const std::vector<Finding>& findings) {
  Strings out;
  for (const Finding& f : findings) out.push_back(f.code);
  return out;
}

std::string Describe(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += f.code + " entry='" + f.entry + "' name='" + f.name + "' " + f.construct +
           (f.offset ? " @" + std::to_string(*f.offset) : "") +
           (f.line ? " line " + std::to_string(*f.line) : "") + ": " + f.message + "\n";
  }
  return out;
}

Strings PickleEntries(const PackageFacts& facts) {
  Strings out;
  for (const auto& p : facts.pickles) out.push_back(p.entry);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formats.

TEST(FormatDetection, TorchPackage) {
  const std::string pkg = Package();
  const PackageFacts facts = Facts(pkg);
  EXPECT_EQ(facts.format, "torch.package");
  EXPECT_TRUE(facts.problems.empty()) << Describe(facts.problems);
  EXPECT_EQ(PickleEntries(facts), Strings{"mymodel/model.pkl"});
  ASSERT_EQ(facts.sources.size(), 2u);
  EXPECT_EQ(facts.sources[0].module, "mymodel");
  EXPECT_TRUE(facts.sources[0].is_package);
  EXPECT_EQ(facts.sources[1].module, "mymodel.net");
  EXPECT_FALSE(facts.sources[1].is_package);
  ASSERT_TRUE(facts.externs.has_value());
  EXPECT_EQ(*facts.externs, (std::vector<std::string>{"numpy"}));
  EXPECT_EQ(facts.storages.size(), 1u);
  EXPECT_EQ(facts.storages.at(".data/0.storage"), 16u);
  EXPECT_EQ(facts.resources, (std::vector<std::string>{"res/info.txt"}));
  EXPECT_EQ(facts.storage_prefix, ".data/");
  const VerifyReport r = Verify(pkg, PackagePolicy(), "model.pt");
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
  EXPECT_EQ(r.path, "model.pt");
  EXPECT_EQ(r.format, "torch.package");
  EXPECT_EQ(r.policy, "pkg");
  EXPECT_EQ(r.pickles, 1u);
  EXPECT_EQ(r.sources, 2u);
  EXPECT_EQ(r.storages, 1u);
  EXPECT_EQ(r.globals, 4u);
}

TEST(FormatDetection, TorchSave) {
  const std::string zip = TorchSave();
  const PackageFacts facts = Facts(zip);
  EXPECT_EQ(facts.format, "torch.save");
  EXPECT_EQ(PickleEntries(facts), Strings{"data.pkl"});
  EXPECT_EQ(facts.storage_prefix, "data/");
  EXPECT_TRUE(facts.resources.empty());
  const VerifyReport r = Verify(zip, WeightsOnly());
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
  EXPECT_EQ(r.format, "torch.save");
  EXPECT_EQ(r.storages, 1u);
  // The same zip with a code-executing pickle.
  const VerifyReport evil = Verify(TorchSave(EvilPickle()), WeightsOnly());
  EXPECT_FALSE(evil.accepted);
  EXPECT_EQ(Codes(evil.findings), Strings{code::kPickleGlobalDenied});
  EXPECT_EQ(evil.findings[0].entry, "data.pkl");
  EXPECT_EQ(evil.findings[0].name, "os.system");
}

TEST(FormatDetection, TorchScript) {
  const std::string zip = Zip({{"data.pkl", P().proto(2).empty_dict().stop().str()},
                               {"code/__torch__.py", "def forward(self):\n    return 1\n"},
                               {"constants.pkl", P().proto(2).empty_tuple().stop().str()},
                               {"version", "3\n"}});
  const PackageFacts facts = Facts(zip);
  EXPECT_EQ(facts.format, "torchscript");
  EXPECT_EQ(facts.torchscript, (std::vector<std::string>{"code/__torch__.py", "constants.pkl"}));
  EXPECT_TRUE(facts.sources.empty());  // TorchScript code is not a packaged Python module
  const VerifyReport r = Verify(zip, WeightsOnly());
  EXPECT_EQ(Codes(r.findings), Strings{code::kPackageTorchScript}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "code/__torch__.py");
  const Policy allow = MustParse("[policy]\nname = \"ts\"\n[package]\ntorchscript = true\n");
  const VerifyReport ok = Verify(zip, allow);
  EXPECT_TRUE(ok.accepted) << Describe(ok.findings);
}

// The legacy (non-zip) torch.save layout: magic number, protocol version, system info, the
// object, the storage keys, then raw storage bytes.
std::string Legacy(std::string object = P().proto(2).empty_dict().stop().str(),
                   std::string keys = P().proto(2).empty_list().stop().str()) {
  std::string out =
      P().proto(2).long1(std::string("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10)).stop().str();
  out += P().proto(2).binint2(1001).stop().str();
  out += P().proto(2)
             .empty_dict()
             .binunicode("protocol_version")
             .binint2(1001)
             .setitem()
             .binunicode("little_endian")
             .newtrue()
             .setitem()
             .stop()
             .str();
  out += object;
  out += keys;
  out += std::string("\x10\x00\x00\x00\x00\x00\x00\x00", 8) + std::string(16, '\x01');
  return out;
}

TEST(FormatDetection, LegacyTorchFiveStreams) {
  const std::string legacy = Legacy();
  const PackageFacts facts = Facts(legacy, "old.pt");
  EXPECT_EQ(facts.format, "legacy-torch");
  EXPECT_EQ(PickleEntries(facts),
            (Strings{"old.pt", "old.pt#1", "old.pt#2", "old.pt#3", "old.pt#4"}));
  EXPECT_TRUE(facts.problems.empty()) << Describe(facts.problems);
  const VerifyReport r = Verify(legacy, WeightsOnly(), "old.pt");
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
  EXPECT_EQ(r.format, "legacy-torch");
  // The object pickle is the fourth stream (C7: tools that scan only the first miss it).
  const VerifyReport evil = Verify(Legacy(EvilPickle()), WeightsOnly(), "old.pt");
  EXPECT_EQ(Codes(evil.findings), Strings{code::kPickleGlobalDenied});
  EXPECT_EQ(evil.findings[0].entry, "old.pt#3");
}

TEST(FormatDetection, PlainPickles) {
  const std::string data = P().proto(4).empty_dict().sbu("a").binint1(1).setitem().stop().str();
  const VerifyReport r = Verify(data, DataOnly(), "x.pkl");
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
  EXPECT_EQ(r.format, "pickle");
  EXPECT_EQ(r.pickles, 1u);
  // Stacked pickles: every one is run (B13).
  const std::string stacked = P().proto(4).empty_list().stop().str() + EvilPickle();
  const PackageFacts facts = Facts(stacked, "x.pkl");
  EXPECT_EQ(facts.format, "pickle");
  EXPECT_EQ(PickleEntries(facts), (Strings{"x.pkl", "x.pkl#1"}));
  const VerifyReport evil = Verify(stacked, DataOnly(), "x.pkl");
  EXPECT_EQ(Codes(evil.findings), Strings{code::kPickleGlobalDenied});
  EXPECT_EQ(evil.findings[0].entry, "x.pkl#1");
  // Protocol 0 without PROTO.
  const VerifyReport p0 = Verify("cos\ngetcwd\n(tR.", DataOnly(), "weights");
  EXPECT_EQ(p0.format, "pickle");
  EXPECT_EQ(Codes(p0.findings), Strings{code::kPickleGlobalDenied});
}

TEST(FormatDetection, TrailingBytesAfterAPlainPickle) {
  const std::string data = P().proto(2).none().stop().str() + "\n\n\t\t";
  const VerifyReport r = Verify(data, DataOnly(), "x.pkl");
  ASSERT_EQ(Codes(r.findings), Strings{code::kPickleTrailingBytes}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].offset, 4u);
  EXPECT_EQ(r.findings[0].entry, "x.pkl");
}

std::string Npy(std::string_view descr, std::string_view data) {
  std::string header =
      "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (2,), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(data);
}

TEST(FormatDetection, NumpyArrays) {
  const std::string numbers = Npy("<f4", std::string(8, '\0'));
  const PackageFacts facts = Facts(numbers, "a.npy");
  EXPECT_EQ(facts.format, "npy");
  EXPECT_TRUE(facts.pickles.empty());
  const VerifyReport r = Verify(numbers, DataOnly(), "a.npy");
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
  // dtype object: a pickle follows the header (C14).
  const std::string objects = Npy("|O", EvilPickle());
  const PackageFacts of = Facts(objects, "a.npy");
  EXPECT_EQ(of.format, "npy");
  EXPECT_EQ(PickleEntries(of), Strings{"a.npy#array"});
  const VerifyReport evil = Verify(objects, DataOnly(), "a.npy");
  EXPECT_EQ(Codes(evil.findings), Strings{code::kPickleGlobalDenied});
  EXPECT_EQ(evil.findings[0].entry, "a.npy#array");
  const VerifyReport plain = Verify(Npy("|O", P().proto(2).empty_list().stop().str()), DataOnly());
  EXPECT_TRUE(plain.accepted) << Describe(plain.findings);
}

TEST(FormatDetection, NumpyStructuredDtypeWithAnObjectField) {
  // numpy.save of np.array([(x,)], dtype=[('a', 'O')]) writes descr [('a', '|O')]; dtype.hasobject
  // is true, so numpy.load(allow_pickle=True) unpickles what follows the header. The first quoted
  // string after 'descr' is the field name, not the type.
  const std::string objects = Npy("X", EvilPickle());
  std::string structured = objects;
  const std::string plain_descr = "'descr': 'X'";
  const std::string field_descr = "'descr': [('a', '|O')]";
  const size_t at = structured.find(plain_descr);
  ASSERT_NE(at, std::string::npos);
  structured.replace(at, plain_descr.size(), field_descr);
  structured.erase(structured.find("  "), field_descr.size() - plain_descr.size());  // keep 64
  const PackageFacts facts = Facts(structured, "s.npy");
  EXPECT_EQ(facts.format, "npy");
  EXPECT_EQ(PickleEntries(facts), Strings{"s.npy#array"});
  const VerifyReport r = Verify(structured, DataOnly(), "s.npy");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(Codes(r.findings), Strings{code::kPickleGlobalDenied}) << Describe(r.findings);
}

TEST(FormatDetection, UnknownFormats) {
  std::string tar(1024, '\0');
  tar.replace(0, 7, "pickle\0", 7);
  tar.replace(257, 6, "ustar\0", 6);
  std::string seven = std::string("7z\xBC\xAF\x27\x1C", 6) + std::string(32, '\0');
  std::string random;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    random += static_cast<char>(x >> 24);
  }
  random[0] = '\x00';  // not an opcode: never a pickle
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {tar, "tar"}, {seven, "7z"}, {random, "unknown"}, {"", "unknown"}, {"hello\n", "unknown"}};
  for (const auto& [input, format] : inputs) {
    const VerifyReport r = Verify(input, DataOnly(), "blob");
    EXPECT_FALSE(r.accepted);
    ASSERT_EQ(Codes(r.findings), Strings{code::kInputUnknownFormat}) << Describe(r.findings);
    EXPECT_EQ(r.format, format);
    EXPECT_EQ(r.findings[0].entry, "blob");
  }
}

// ---------------------------------------------------------------------------------------------
// Records inside archives.

TEST(ZipRecords, PicklesAreFoundByContentUnderAnyName) {
  // C4/C5: a protocol-0 pickle without PROTO under an extension-less name, a protocol-4 pickle
  // named .txt.
  const std::string pkg =
      Package({{"res/weights", "cos\ngetcwd\n(tR."}, {"res/notes.txt", EvilPickle()}});
  const PackageFacts facts = Facts(pkg);
  EXPECT_EQ(PickleEntries(facts), (Strings{"mymodel/model.pkl", "res/weights", "res/notes.txt"}));
  const VerifyReport r = Verify(pkg, PackagePolicy());
  EXPECT_EQ(Codes(r.findings), (Strings{code::kPickleGlobalDenied, code::kPickleGlobalDenied}))
      << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "res/weights");
  EXPECT_EQ(r.findings[0].name, "os.getcwd");
  EXPECT_EQ(r.findings[1].entry, "res/notes.txt");
}

TEST(ZipRecords, TextResourcesAreNotPickles) {
  const std::vector<std::string> texts = {"Hello world.\nThis is text.\n",
                                          "(see notes)\n",
                                          "abc\ndef\n",
                                          "{\"a\": 1}\n",
                                          "class Foo:\n    pass\n",
                                          "README\n",
                                          "0123\n",
                                          "",
                                          "N",
                                          "hello, my dear\n",
                                          "label: cat\nlabel: dog\n",
                                          "I am not a number\n"};
  std::vector<Rec> extra;
  for (size_t i = 0; i < texts.size(); ++i) {
    extra.push_back({"res/t" + std::to_string(i) + ".txt", texts[i]});
  }
  const std::string pkg = Package(extra);
  const PackageFacts facts = Facts(pkg);
  EXPECT_EQ(PickleEntries(facts), Strings{"mymodel/model.pkl"});
  EXPECT_EQ(facts.resources.size(), texts.size() + 1);
  const VerifyReport r = Verify(pkg, PackagePolicy());
  EXPECT_TRUE(r.accepted) << Describe(r.findings);
}

// The reserved signature record of a signed package is the signature check's business, not a
// resource: accepted only as the last record with JSON-object content.
TEST(ZipRecords, SignatureRecordOnlyAsTheLastRecord) {
  const std::string sig_name = ".data/signatures/package.sigstore.json";
  const std::string bundle = "{\"mediaType\":\"x\"}";
  const std::string last = Package({{sig_name, bundle}});
  const VerifyReport ok = Verify(last, PackagePolicy());
  EXPECT_TRUE(ok.accepted) << Describe(ok.findings);
  EXPECT_EQ(Facts(last).resources.size(), 1u);  // res/info.txt only

  std::vector<Rec> records = PackageRecords();
  records.insert(records.begin() + 1, {sig_name, bundle});
  const VerifyReport early = Verify(Zip(records, "mymodel"), PackagePolicy());
  EXPECT_FALSE(early.accepted);
  EXPECT_NE(Describe(early.findings).find(code::kPackageEntryDenied), std::string::npos);

  const VerifyReport not_json = Verify(Package({{sig_name, "not a bundle\n"}}), PackagePolicy());
  EXPECT_FALSE(not_json.accepted);
  EXPECT_NE(Describe(not_json.findings).find(code::kPackageEntryDenied), std::string::npos);
}

TEST(ZipRecords, NestedArchive) {
  // C10. The inner archive sits more than 64 KiB before the outer end record: within that
  // window its own end record would be a decoy a reader could pick (zip.decoy-end-record).
  const std::string inner = TorchSave(EvilPickle());
  const VerifyReport r =
      Verify(Package({{"res/inner.zip", inner}, {"res/padding.bin", std::string(70000, '\x01')}}),
             PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageNestedArchive}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "res/inner.zip");
  // Near the end it is refused by the archive reader already.
  const VerifyReport near = Verify(Package({{"res/inner.zip", inner}}), PackagePolicy());
  ASSERT_EQ(Codes(near.findings), Strings{code::kPackageArchive}) << Describe(near.findings);
  EXPECT_EQ(near.findings[0].name, "zip.decoy-end-record");
}

TEST(ZipRecords, StrictArchiveRejection) {
  // Two records whose names are made identical after writing: a duplicate name.
  std::string zip = Zip({{"version", "3\n"}, {"data.pkl", "N."}, {"dupe_b", "b"}, {"dupe_a", "a"}});
  for (size_t at = zip.find("dupe_b"); at != std::string::npos; at = zip.find("dupe_b", at)) {
    zip[at + 5] = 'a';
  }
  const VerifyReport r = Verify(zip, WeightsOnly());
  EXPECT_FALSE(r.accepted);
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageArchive}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].name, "zip.duplicate-name");
  EXPECT_EQ(r.findings[0].kind, sealpkg::ErrorCode::kMalformed);
  EXPECT_EQ(r.format, "zip");
  // A truncated archive.
  const std::string whole = TorchSave();
  const VerifyReport cut = Verify(whole.substr(0, whole.size() - 10), WeightsOnly());
  ASSERT_EQ(Codes(cut.findings), Strings{code::kPackageArchive}) << Describe(cut.findings);
  EXPECT_EQ(cut.findings[0].name.rfind("zip.", 0), 0u);
}

TEST(ZipRecords, StorageRecords) {
  // Exact fit: 4 floats in 16 bytes.
  EXPECT_TRUE(Verify(TorchSave(StateDictPickle("0", 4)), WeightsOnly()).accepted);
  // Declared larger than the record (CVE-2026-24747's other half).
  const VerifyReport big = Verify(TorchSave(StateDictPickle("0", 5)), WeightsOnly());
  ASSERT_EQ(Codes(big.findings), Strings{code::kPickleStorageMismatch}) << Describe(big.findings);
  EXPECT_EQ(big.findings[0].entry, "data.pkl");
  EXPECT_EQ(big.findings[0].name, "data/0");
  EXPECT_EQ(big.findings[0].construct, "BINPERSID");
  ASSERT_TRUE(big.findings[0].offset.has_value());
  // The record is missing.
  const VerifyReport missing = Verify(TorchSave(StateDictPickle("1", 4)), WeightsOnly());
  ASSERT_EQ(Codes(missing.findings), Strings{code::kPickleStorageMismatch})
      << Describe(missing.findings);
  EXPECT_EQ(missing.findings[0].name, "data/1");
  // Packages: ".data/<key>.storage".
  EXPECT_TRUE(Verify(Package(), PackagePolicy()).accepted);
  const VerifyReport pkg =
      Verify(Package({{"mymodel/model.pkl", PackagePickle("0", 5)}}), PackagePolicy());
  ASSERT_EQ(Codes(pkg.findings), Strings{code::kPickleStorageMismatch}) << Describe(pkg.findings);
  EXPECT_EQ(pkg.findings[0].name, ".data/0.storage");
  const VerifyReport pkg_missing =
      Verify(Package({{"mymodel/model.pkl", PackagePickle("7", 4)}}), PackagePolicy());
  ASSERT_EQ(Codes(pkg_missing.findings), Strings{code::kPickleStorageMismatch});
  EXPECT_EQ(pkg_missing.findings[0].name, ".data/7.storage");
  // A plain pickle has no storage records at all.
  const VerifyReport plain = Verify(StateDictPickle(), WeightsOnly(), "sd.pkl");
  EXPECT_EQ(Codes(plain.findings), Strings{code::kPickleStorageMismatch})
      << Describe(plain.findings);
}

TEST(ZipRecords, ExternModulesDenied) {
  const VerifyReport r =
      Verify(Package({{".data/extern_modules", "numpy\nsubprocess\n"}}), PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageExternDenied}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, ".data/extern_modules");
  EXPECT_EQ(r.findings[0].name, "subprocess");
  EXPECT_EQ(r.findings[0].rule, "package.externs");
}

TEST(ZipRecords, SourceUnderDataIsRejected) {
  const VerifyReport r = Verify(Package({{".data/x.py", "import os\n"}}), PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageDataSource}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, ".data/x.py");
}

TEST(ZipRecords, ModuleNotInterned) {
  const VerifyReport r = Verify(Package({{"evil/__init__.py", "x = 1\n"}}), PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageModuleDenied}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "evil/__init__.py");
  EXPECT_EQ(r.findings[0].name, "evil");
}

TEST(ZipRecords, ImportDeniedWithLineAndColumn) {
  const VerifyReport r =
      Verify(Package({{"mymodel/net.py",
                       "import torch\nif True:\n    import os\nfrom subprocess import run\n"
                       "from . import helpers\nimport torch.nn\n"},
                      {"mymodel/helpers.py", "from .net import Net\n"}}),
             PackagePolicy());
  ASSERT_EQ(Codes(r.findings), (Strings{code::kSourceImportDenied, code::kSourceImportDenied}))
      << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "mymodel/net.py");
  EXPECT_EQ(r.findings[0].name, "os");
  EXPECT_EQ(r.findings[0].line, 3u);
  EXPECT_EQ(r.findings[0].column, 12u);  // the scanner locates the imported name
  EXPECT_EQ(r.findings[0].rule, "source.imports");
  EXPECT_EQ(r.findings[1].name, "subprocess");
  EXPECT_EQ(r.findings[1].line, 4u);
  EXPECT_EQ(r.findings[1].column, 24u);  // "run" in `from subprocess import run`
}

TEST(ZipRecords, DynamicCodeInSources) {
  const std::string src =
      "import torch\n"
      "exec('x = 1')\n"
      "y = eval('2')\n"
      "f = getattr(torch, name)\n"
      "m = __import__(name)\n"
      "b = __builtins__\n";
  const std::string pkg = Package({{"mymodel/net.py", src}});
  const VerifyReport r = Verify(pkg, PackagePolicy());
  ASSERT_EQ(Codes(r.findings),
            (Strings{code::kSourceDynamicCode, code::kSourceDynamicCode, code::kSourceReflection,
                     code::kSourceDynamicImport, code::kSourceBuiltinsAccess}))
      << Describe(r.findings);
  EXPECT_EQ(r.findings[0].line, 2u);
  EXPECT_EQ(r.findings[0].column, 1u);
  EXPECT_EQ(r.findings[0].rule, "source.exec");
  EXPECT_EQ(r.findings[1].line, 3u);
  EXPECT_EQ(r.findings[1].column, 5u);
  EXPECT_EQ(r.findings[1].rule, "source.eval");
  EXPECT_EQ(r.findings[2].line, 4u);
  EXPECT_EQ(r.findings[3].line, 5u);
  EXPECT_EQ(r.findings[4].line, 6u);
  // Each capability allowed for this module by pattern.
  const Policy allow =
      MustParse(std::string(kPackagePolicy)
                    .replace(std::string(kPackagePolicy).find("[source]\n"), 9,
                             "[source]\nexec = [\"mymodel.*\"]\neval = "
                             "[\"mymodel.net\"]\nreflection = [\"mymodel.**\"]\n"
                             "dynamic_import = [\"mymodel.net\"]\nbuiltins = [\"mymodel.net\"]\n"));
  const VerifyReport ok = Verify(pkg, allow);
  EXPECT_TRUE(ok.accepted) << Describe(ok.findings);
  // ... but not for another module.
  const Policy other = MustParse(std::string(kPackagePolicy)
                                     .replace(std::string(kPackagePolicy).find("[source]\n"), 9,
                                              "[source]\nexec = [\"mymodel.other\"]\n"));
  EXPECT_EQ(Codes(Verify(pkg, other).findings).size(), 5u);
}

TEST(ZipRecords, TorchScriptInAPackage) {
  const std::string pkg =
      Package({{".data/ts_code/0/data.pkl", P().proto(2).empty_dict().stop().str()},
               {".data/ts_code/code/__torch__.py", "def f():\n    pass\n"}});
  const VerifyReport r = Verify(pkg, PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageTorchScript}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, ".data/ts_code/0/data.pkl");
  const Policy allow = MustParse(std::string(kPackagePolicy) + "torchscript = true\n");
  EXPECT_TRUE(Verify(pkg, allow).accepted) << Describe(Verify(pkg, allow).findings);
}

TEST(ZipRecords, PackagedModuleNamedCodeIsScanned) {
  // In a torch.package, TorchScript lives under .data/ts_code/; "code/x.py" is an ordinary
  // packaged module (`code.x`) that PackageImporter imports and executes when a pickle names
  // it. It must be scanned like any other source even when the policy allows TorchScript.
  const Policy allow = MustParse(std::string(kPackagePolicy) + "torchscript = true\n");
  const std::string pkg =
      Package({{"code/__init__.py", ""}, {"code/evil.py", "import os\nos.system('id')\n"}});
  const PackageFacts facts = Facts(pkg);
  Strings modules;
  for (const auto& s : facts.sources) modules.push_back(s.module);
  EXPECT_EQ(modules, (Strings{"mymodel", "mymodel.net", "code", "code.evil"}));
  const VerifyReport r = Verify(pkg, allow);
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(Codes(r.findings), (Strings{code::kPackageModuleDenied, code::kPackageModuleDenied}))
      << Describe(r.findings);
}

TEST(ZipRecords, ResourcesNotAllowed) {
  const VerifyReport r = Verify(Package({{"other/blob.bin", "\x01\x02\x03"}}), PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPackageEntryDenied}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "other/blob.bin");
  EXPECT_EQ(r.findings[0].rule, "package.resources");
}

TEST(ZipRecords, TrailingBytesAfterAPickleRecord) {
  const std::string pickle = PackagePickle();
  const VerifyReport r =
      Verify(Package({{"mymodel/model.pkl", pickle + "\n\n\t\t"}}), PackagePolicy());
  ASSERT_EQ(Codes(r.findings), Strings{code::kPickleTrailingBytes}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "mymodel/model.pkl");
  EXPECT_EQ(r.findings[0].offset, pickle.size());
  // A second pickle stacked in one record is trailing bytes too.
  const VerifyReport stacked =
      Verify(Package({{"mymodel/model.pkl", pickle + EvilPickle()}}), PackagePolicy());
  EXPECT_FALSE(stacked.accepted);
  EXPECT_EQ(Codes(stacked.findings)[0], code::kPickleTrailingBytes);
}

TEST(ZipRecords, PicklesTheMachineRefusesEarlyAreStillPickles) {
  // Streams CPython's C unpickler runs to completion (verified: pickle.loads on 3.11.7 executes
  // the trailing builtins.len call of each) but that the machine refuses at their first opcodes,
  // before any global: a record must not become an accepted "resource" because the machine
  // stopped early. Expected: reported as a pickle, with the machine's structural finding (and,
  // under weights-only, the opcode it stopped at is not an allowed one either).
  const std::string payload = "cos\nsystem\n(S'id'\ntR.";
  struct Case {
    std::string prefix;
    std::string_view code;
    std::string_view opcode;
  };
  const std::vector<Case> cases = {
      {"I010\n0", code::kPickleBadArgument, "INT"},   // strtol base 0: octal 8
      {"I 1\n0", code::kPickleBadArgument, "INT"},    // strtol skips leading blanks
      {"I1_0\n0", code::kPickleBadArgument, "INT"},   // PyLong_FromString accepts '_'
      {"Np01\n0", code::kPickleBadMemoIndex, "PUT"},  // PUT "01" is index 1
      {std::string("C\x02"
                   "ab\x98"
                   "0",
                   6),
       code::kPickleOutOfBand, "READONLY_BUFFER"},  // READONLY_BUFFER on bytes
  };
  for (const Case& c : cases) {
    const std::string zip = TorchSave(c.prefix + payload);
    const PackageFacts facts = Facts(zip);
    EXPECT_EQ(PickleEntries(facts), Strings{"data.pkl"}) << c.prefix;
    const VerifyReport r = Verify(zip, WeightsOnly());
    EXPECT_FALSE(r.accepted) << c.prefix;
    ASSERT_EQ(Codes(r.findings), (Strings{c.code, code::kPickleOpcodeDenied}))
        << c.prefix << "\n"
        << Describe(r.findings);
    EXPECT_EQ(r.findings[1].name, c.opcode);
    // Under a policy that allows every opcode, the structural finding alone rejects it.
    const VerifyReport any = Verify(zip, MustParse("[policy]\nname = \"any\"\n"
                                                   "[package]\nresources = [\"**\"]\n"));
    EXPECT_FALSE(any.accepted) << c.prefix;
    // (READONLY_BUFFER is outside the default opcode set as well.)
    const Strings expected = c.opcode == "READONLY_BUFFER"
                                 ? Strings{c.code, code::kPickleOpcodeDenied}
                                 : Strings{c.code};
    EXPECT_EQ(Codes(any.findings), expected) << c.prefix << "\n" << Describe(any.findings);
  }
}

TEST(ZipRecords, BrokenPickleRecordIsReported) {
  // B14 inside a package: the payload ran before the stream broke.
  const std::string broken = P().global("os", "getcwd").empty_tuple().reduce().str() + "\xff";
  const VerifyReport r = Verify(Package({{"mymodel/model.pkl", broken}}), PackagePolicy());
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(Codes(r.findings), (Strings{code::kPickleUnknownOpcode, code::kPickleGlobalDenied}))
      << Describe(r.findings);
}

TEST(VerifyPathTest, UnreadableInput) {
  const VerifyReport r = VerifyPath("/nonexistent/sealpkg/model.pt", WeightsOnly(), Limits{});
  EXPECT_FALSE(r.accepted);
  ASSERT_EQ(Codes(r.findings), Strings{code::kInputUnreadable}) << Describe(r.findings);
  EXPECT_EQ(r.findings[0].entry, "/nonexistent/sealpkg/model.pt");
  EXPECT_EQ(r.findings[0].kind, sealpkg::ErrorCode::kIo);
}

// ---------------------------------------------------------------------------------------------
// InferPolicy round trips.

void ExpectRoundTrip(const std::string& input, std::string_view name) {
  const PackageFacts facts = Facts(input);
  const std::string toml = InferPolicy(facts, name);
  auto policy = ParsePolicy(toml, PolicyLimits{});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString() << "\n" << toml;
  EXPECT_EQ(policy->name, name);
  const VerifyReport r = Verify(input, *policy);
  EXPECT_TRUE(r.accepted) << Describe(r.findings) << toml;
}

TEST(InferPolicyTest, TorchSaveRoundTrip) {
  const std::string zip = TorchSave();
  ExpectRoundTrip(zip, "inferred-save");
  const std::string toml = InferPolicy(Facts(zip), "inferred-save");
  auto policy = ParsePolicy(toml, PolicyLimits{});
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->pickle.protocols, std::vector<int>{2});
  EXPECT_TRUE(policy->pickle.storage_ids);
  EXPECT_FALSE(policy->pickle.reduce_package_ids);
  EXPECT_TRUE(policy->pickle.storage_types.Matches("torch.FloatStorage"));
  EXPECT_FALSE(policy->pickle.storage_types.Matches("torch.HalfStorage"));
  EXPECT_TRUE(policy->pickle.mutable_types.Matches("collections.OrderedDict"));
  EXPECT_FALSE(policy->pickle.globals.Matches("os.system"));
  // Least privilege: the inferred policy refuses a pickle that needs more.
  EXPECT_FALSE(Verify(TorchSave(EvilPickle()), *policy).accepted);
}

TEST(InferPolicyTest, PackageRoundTrip) {
  const std::string pkg = Package({{"mymodel/util.py", "import os.path\nx = os.path.join('a')\n"}});
  ExpectRoundTrip(pkg, "inferred-package");
  const std::string toml = InferPolicy(Facts(pkg), "inferred-package");
  auto policy = ParsePolicy(toml, PolicyLimits{});
  ASSERT_TRUE(policy.ok()) << toml;
  EXPECT_TRUE(policy->package.externs.Matches("numpy"));
  EXPECT_TRUE(policy->package.interned.Matches("mymodel.net"));
  EXPECT_TRUE(policy->package.resources.Matches("res/info.txt"));
  EXPECT_FALSE(policy->package.torchscript);
  EXPECT_TRUE(policy->source.imports.Matches("torch"));
  EXPECT_TRUE(policy->source.attributes.Matches("os.path.join"));
  EXPECT_TRUE(policy->pickle.build.Matches("mymodel.net.Net"));
  // A hostile name survives the TOML round trip as data.
  ExpectRoundTrip(pkg, "name \"with\" quotes\\ and \x01 control");
}

}  // namespace
}  // namespace sealpkg::verifier
