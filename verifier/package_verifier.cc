#include "verifier/package_verifier.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "archive/torch_records.h"
#include "archive/zip_reader.h"
#include "core/file_bytes.h"
#include "core/printable.h"
#include "core/sha256.h"

namespace sealpkg::verifier {
namespace {

std::string_view AsText(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool StartsWith(std::span<const uint8_t> b, std::string_view prefix) {
  return b.size() >= prefix.size() && AsText(b.first(prefix.size())) == prefix;
}

bool IsZip(std::span<const uint8_t> b) {
  return StartsWith(b, std::string_view("PK\x03\x04", 4)) ||
         StartsWith(b, std::string_view("PK\x05\x06", 4));
}

Finding Problem(std::string_view code, ErrorCode kind, std::string entry, std::string message) {
  Finding f;
  f.code = std::string(code);
  f.kind = kind;
  f.entry = std::move(entry);
  f.rule = "structure";
  f.message = std::move(message);
  return f;
}

Finding FromStatus(std::string_view code, const Status& st, std::string entry) {
  Finding f =
      Problem(code, st.code(), st.entry().empty() ? std::move(entry) : std::string(st.entry()),
              std::string(st.message()));
  f.name = std::string(st.reason());
  f.offset = st.offset();
  return f;
}

// A run that shows the bytes are a pickle: it completed, or resolved a name or made a call
// before failing, or it starts with a PROTO opcode.
bool LooksLikePickle(const PickleRun& run, std::span<const uint8_t> bytes) {
  if (!bytes.empty() && bytes[0] == 0x80) return true;  // PROTO: even a broken one is a pickle
  return run.cpython_may_continue ||
         (run.opcodes >= 2 && (run.stopped || !run.globals.empty() || !run.calls.empty()));
}

std::string ModuleNameForSource(std::string_view record, bool* is_package) {
  std::string_view path = record.substr(0, record.size() - 3);  // strip ".py"
  *is_package = path == "__init__" || path.ends_with("/__init__");
  if (*is_package) path = path.substr(0, path.size() - (path == "__init__" ? 8 : 9));
  std::string module(path);
  std::replace(module.begin(), module.end(), '/', '.');
  return module;
}

// Scanning a source is a pure function of (bytes, module name, is_package, limits), and the
// same sources recur across packages (every torchvision package carries torchvision's code), so
// successful scans are memoised by SHA-256 for the life of the process (bounded; thread-safe).
Result<SourceScan> CachedScan(std::span<const uint8_t> data, const std::string& digest,
                              const std::string& module, bool is_package,
                              const SourceLimits& limits) {
  static std::mutex mu;
  static std::map<std::string, SourceScan> cache;
  constexpr size_t kMaxEntries = 4096;
  const std::string key = digest + "|" + module + (is_package ? "|p|" : "|m|") +
                          std::to_string(limits.max_source_bytes) + "," +
                          std::to_string(limits.max_tokens) + "," +
                          std::to_string(limits.max_nesting);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto scan = ScanPythonSource(data, module, is_package, limits);
  if (scan.ok()) {
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxEntries) cache.clear();
    cache.emplace(key, *scan);
  }
  return scan;
}

// The embedded signature (signing/package_signature.h) is the reserved last record of a signed
// package: a JSON bundle the signature check reads, never code or a pickle. Anywhere else, or
// with other content, the name is an ordinary record (and denied unless the policy allows it).
bool IsSignatureRecord(const archive::Archive& a, const archive::ZipEntry& e) {
  constexpr std::string_view kSignatureRecord = ".data/signatures/package.sigstore.json";
  const auto& entries = a.index().entries();
  if (e.record() != kSignatureRecord || !e.stored() || entries.empty() || &entries.back() != &e) {
    return false;
  }
  auto view = a.StoredView(e);
  return view.ok() && view->size() >= 2 && view->front() == '{' && view->back() == '}';
}

class Collector {
 public:
  Collector(std::span<const uint8_t> bytes, std::string_view name, const Limits& limits)
      : bytes_(bytes), name_(name), limits_(limits) {}

  PackageFacts Run() {
    if (IsZip(bytes_)) {
      CollectZip();
    } else if (StartsWith(bytes_, "\x93NUMPY")) {
      CollectNpy();
    } else if (bytes_.size() > 262 && AsText(bytes_.subspan(257, 5)) == "ustar") {
      // torch.load still accepts the pre-0.1.10 tar layout: never skip it as "not a model".
      Unknown("a tar archive (legacy torch format); sealpkg refuses it", "tar");
    } else if (StartsWith(bytes_, std::string_view("7z\xBC\xAF\x27\x1C", 6))) {
      Unknown("a 7z archive; sealpkg does not open it", "7z");
    } else {
      CollectPickleStream();
    }
    return std::move(facts_);
  }

 private:
  // `format` stays "unknown" only for inputs that are no archive at all ("not a model file").
  void Unknown(std::string why, std::string format = "unknown") {
    facts_.format = std::move(format);
    facts_.problems.push_back(Problem(code::kInputUnknownFormat, ErrorCode::kMalformed,
                                      std::string(name_), "input is " + why));
  }

  // A sequence of pickles: a plain pickle file (every pickle in it), or a legacy torch file
  // (five pickles, then raw storage data).
  void CollectPickleStream() {
    PickleRun first = RunPickle(bytes_, limits_.pickle);
    if (!LooksLikePickle(first, bytes_)) {
      Unknown("neither a ZIP archive, a pickle, nor a .npy file");
      return;
    }
    const Value* magic =
        first.result && first.stopped && first.globals.empty() && first.calls.empty()
            ? &first.value(*first.result)
            : nullptr;
    const bool legacy = magic != nullptr && magic->kind == ValueKind::kInt && magic->big;
    facts_.format = legacy ? "legacy-torch" : "pickle";
    uint64_t offset = 0;
    PickleRun run = std::move(first);
    for (int index = 0;; ++index) {
      const bool stopped = run.stopped && !run.error;
      const uint64_t end = run.end_offset;
      facts_.pickles.push_back(
          {std::string(name_) + (index == 0 ? "" : "#" + std::to_string(index)), std::move(run)});
      if (!stopped || end >= bytes_.size()) return;
      if (legacy && index == 4) return;  // the rest is raw storage data
      offset = end;
      run = RunPickle(bytes_, limits_.pickle, offset);
      if (!legacy && !LooksLikePickle(run, bytes_.subspan(offset))) {
        Finding f = Problem(code::kPickleTrailingBytes, ErrorCode::kMalformed, std::string(name_),
                            std::to_string(bytes_.size() - offset) +
                                " bytes after the last pickle's STOP are not a pickle");
        f.offset = offset;
        facts_.problems.push_back(std::move(f));
        return;
      }
    }
  }

  // .npy: object arrays carry a pickle after the header; other dtypes are plain data.
  void CollectNpy() {
    facts_.format = "npy";
    if (bytes_.size() < 10) return Unknown("a truncated .npy file");
    const int major = bytes_[6];
    const uint64_t header_size_width = major == 1 ? 2 : 4;
    if (major < 1 || major > 3 || bytes_.size() < 8 + header_size_width) {
      return Unknown("a .npy file of an unknown version");
    }
    uint64_t header_len = 0;
    for (uint64_t i = header_size_width; i-- > 0;) header_len = (header_len << 8) | bytes_[8 + i];
    const uint64_t data = 8 + header_size_width + header_len;
    if (data > bytes_.size()) return Unknown("a .npy file whose header runs past its end");
    const std::string_view header = AsText(bytes_.subspan(8 + header_size_width, header_len));
    const size_t d = header.find("'descr'");
    if (d == std::string_view::npos) return Unknown("a .npy file without a dtype");
    // The dtype is a string ('<f4', '|O') or, for structured arrays, a list of
    // (name, dtype[, shape]) tuples that may nest. Any quoted token that is an object dtype
    // means the array data is a pickle; a field that happens to be named "O" only makes us look.
    const size_t value_end = header.find("'fortran_order'");
    const std::string_view descr = header.substr(
        d + 7, value_end == std::string_view::npos || value_end < d ? std::string_view::npos
                                                                    : value_end - d - 7);
    bool object = false;
    for (size_t q = descr.find('\''); q != std::string_view::npos && !object;) {
      const size_t e = descr.find('\'', q + 1);
      if (e == std::string_view::npos) return Unknown("a .npy file with an unreadable dtype");
      std::string_view token = descr.substr(q + 1, e - q - 1);
      if (!token.empty() &&
          (token[0] == '|' || token[0] == '<' || token[0] == '>' || token[0] == '=')) {
        token.remove_prefix(1);
      }
      object =
          !token.empty() && token[0] == 'O' &&
          std::all_of(token.begin() + 1, token.end(), [](char c) { return c >= '0' && c <= '9'; });
      q = descr.find('\'', e + 1);
    }
    if (!object) return;  // numbers only: nothing to run
    facts_.pickles.push_back(
        {std::string(name_) + "#array", RunPickle(bytes_, limits_.pickle, data)});
  }

  void CollectZip() {
    auto archive = archive::Archive::FromBytes(FileBytes::Borrow(bytes_), limits_);
    if (!archive.ok()) {
      facts_.format = "zip";
      facts_.problems.push_back(FromStatus(code::kPackageArchive, archive.status(), ""));
      return;
    }
    auto records = archive::ReadTorchRecords(*archive);
    if (!records.ok()) {
      facts_.format = "zip";
      facts_.problems.push_back(FromStatus(code::kPackageFrameworkRecord, records.status(), ""));
      return;
    }
    const bool package = records->format == archive::TorchFormat::kPackage;
    const archive::ZipIndex& index = archive->index();
    facts_.format = package ? "torch.package"
                    : records->format == archive::TorchFormat::kTorchSave
                        ? (index.Find("constants.pkl") ? "torchscript" : "torch.save")
                        : "zip";
    facts_.externs = records->extern_modules;
    facts_.storage_prefix = package ? ".data/" : "data/";
    for (const auto& s : records->storages) {
      facts_.storages[s.record] = s.size;
      if (!s.stored) {
        facts_.problems.push_back(Problem(code::kPackageArchive, ErrorCode::kMalformed,
                                          std::string(s.record), "tensor storage is compressed"));
      }
    }
    for (const archive::ZipEntry& e : index.entries()) ClassifyEntry(*archive, e, package);
  }

  void ClassifyEntry(const archive::Archive& a, const archive::ZipEntry& e, bool package) {
    const std::string record(e.record());
    if (facts_.storages.count(record) != 0) return;
    static const std::set<std::string_view> kFramework = {".data/version",
                                                          ".data/extern_modules",
                                                          ".data/python_version",
                                                          ".data/serialization_id",
                                                          "version",
                                                          "byteorder",
                                                          ".data/byteorder"};
    if (kFramework.count(record) != 0) return;
    if (package && IsSignatureRecord(a, e)) return;
    // TorchScript: `.data/ts_code/` in packages; `code/` and `constants.pkl` in torch.jit.save
    // archives. (A packaged Python module named `code...` is ordinary source in a package.)
    const bool ts = package ? record.starts_with(".data/ts_code/")
                            : record.starts_with("code/") || record == "constants.pkl";
    if (ts) facts_.torchscript.push_back(record);
    if (ts && (package ? record.starts_with(".data/ts_code/code/") : record.starts_with("code/"))) {
      return;  // TorchScript source: compiled by torch.jit, judged by package.torchscript
    }

    // Stored records are viewed in place (CRC-checked); inflated ones are kept in the facts,
    // because pickle runs refer to the bytes they ran on.
    std::span<const uint8_t> data;
    if (e.stored()) {
      auto view = a.StoredView(e);
      if (!view.ok()) {
        facts_.problems.push_back(FromStatus(code::kPackageArchive, view.status(), e.name));
        return;
      }
      data = *view;
    } else {
      auto bytes = a.Read(e);
      if (!bytes.ok()) {
        facts_.problems.push_back(FromStatus(code::kPackageArchive, bytes.status(), e.name));
        return;
      }
      facts_.inflated.push_back(std::move(*bytes));
      data = facts_.inflated.back();
    }
    if (record.ends_with(".py") && !ts) {
      if (package && record.starts_with(".data/")) {
        facts_.problems.push_back(Problem(code::kPackageDataSource, ErrorCode::kPolicyDenied,
                                          record,
                                          "Python source under .data/, where torch keeps its "
                                          "own records"));
        return;
      }
      bool is_package = false;
      const std::string module = ModuleNameForSource(record, &is_package);
      const std::string digest = Sha256Hex(data);
      auto scan = CachedScan(data, digest, module, is_package, limits_.source);
      if (!scan.ok()) {
        facts_.problems.push_back(FromStatus(scan.status().code() == ErrorCode::kLimitExceeded
                                                 ? code::kSourceTooLarge
                                                 : code::kSourceSyntax,
                                             scan.status(), record));
        return;
      }
      facts_.sources.push_back({record, module, is_package, digest, std::move(*scan)});
      return;
    }
    if (IsZip(data)) {
      facts_.problems.push_back(Problem(code::kPackageNestedArchive, ErrorCode::kPolicyDenied,
                                        record, "record is itself a ZIP archive"));
      return;
    }
    PickleRun run = RunPickle(data, limits_.pickle);
    if (LooksLikePickle(run, data)) {
      if (run.stopped && !run.error && run.end_offset != data.size()) {
        Finding f = Problem(
            code::kPickleTrailingBytes, ErrorCode::kMalformed, record,
            std::to_string(data.size() - run.end_offset) + " bytes follow the pickle's STOP");
        f.offset = run.end_offset;
        facts_.problems.push_back(std::move(f));
      }
      facts_.pickles.push_back({record, std::move(run)});
      return;
    }
    facts_.resources.push_back(record);
  }

  std::span<const uint8_t> bytes_;
  std::string_view name_;
  const Limits& limits_;
  PackageFacts facts_;
};

Finding Denied(std::string_view code, std::string entry, std::string name, std::string rule,
               std::string message) {
  Finding f;
  f.code = std::string(code);
  f.kind = ErrorCode::kPolicyDenied;
  f.entry = std::move(entry);
  f.name = std::move(name);
  f.rule = std::move(rule);
  f.message = std::move(message);
  return f;
}

// Module `name` or one of its parents is in `modules`.
bool WithinAny(const std::set<std::string>& modules, std::string_view name) {
  while (true) {
    if (modules.count(std::string(name)) != 0) return true;
    const size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return false;
    name = name.substr(0, dot);
  }
}

void EvaluateSources(const PackageFacts& facts, const Policy& policy, std::vector<Finding>& out) {
  std::set<std::string> interned;
  for (const auto& s : facts.sources) interned.insert(s.module);
  const SourcePolicy& sp = policy.source;
  for (const auto& s : facts.sources) {
    if (!policy.package.interned.Matches(s.module)) {
      out.push_back(Denied(code::kPackageModuleDenied, s.entry, s.module, "package.interned",
                           "packaged module '" + Printable(s.module) + "' is not allowed"));
      continue;
    }
    if (policy.package.pin_sources) {
      const auto pin = policy.package.sources.find(s.entry);
      if (pin == policy.package.sources.end() || pin->second != s.sha256) {
        out.push_back(Denied(
            code::kPackageSourceMismatch, s.entry, s.module, "package.sources",
            pin == policy.package.sources.end()
                ? "source of '" + Printable(s.module) + "' is not among the policy's pinned sources"
                : "source of '" + Printable(s.module) +
                      "' differs from the pinned version (sha256 " + s.sha256 + ", expected " +
                      pin->second + ")"));
      }
    }
    for (const ImportRef& i : s.scan.imports) {
      const std::string target =
          i.name && *i.name != "*" && interned.count(i.module + "." + *i.name) != 0
              ? i.module + "." + *i.name
              : i.module;
      if (WithinAny(interned, target) || sp.imports.Matches(i.module)) continue;
      Finding f = Denied(code::kSourceImportDenied, s.entry, i.module, "source.imports",
                         "'" + Printable(s.module) + "' imports '" + Printable(i.module) +
                             "', which the policy does not allow");
      f.line = i.pos.line;
      f.column = i.pos.column;
      f.construct = std::string(ImportKindName(i.kind));
      out.push_back(std::move(f));
    }
    for (const DynamicUse& u : s.scan.uses) {
      std::string_view code;
      const NameSet* allowed = nullptr;
      std::string rule;
      std::string name = u.name;
      switch (u.kind) {
        case DynamicUse::Kind::kExec:
          code = code::kSourceDynamicCode, allowed = &sp.exec, rule = "source.exec";
          break;
        case DynamicUse::Kind::kEval:
          code = code::kSourceDynamicCode, allowed = &sp.eval, rule = "source.eval";
          break;
        case DynamicUse::Kind::kCompile:
          code = code::kSourceDynamicCode, allowed = &sp.compile, rule = "source.compile";
          break;
        case DynamicUse::Kind::kBuiltins:
          code = code::kSourceBuiltinsAccess, allowed = &sp.builtins, rule = "source.builtins";
          break;
        case DynamicUse::Kind::kReflection:
          code = code::kSourceReflection, allowed = &sp.reflection, rule = "source.reflection";
          break;
        case DynamicUse::Kind::kDynamicImport:
          code = code::kSourceDynamicImport, allowed = &sp.dynamic_import,
          rule = "source.dynamic_import";
          break;
        case DynamicUse::Kind::kModuleAttribute:
          name = u.module + "." + u.name;
          if (WithinAny(interned, u.module) || sp.attributes.Matches(name)) continue;
          code = code::kSourceAttributeDenied, rule = "source.attributes";
          break;
        case DynamicUse::Kind::kRelativeBeyondTop:
          code = code::kSourceRelativeImport, rule = "structure";
          break;
      }
      if (allowed != nullptr && allowed->Matches(s.module)) continue;
      Finding f =
          Denied(code, s.entry, name, rule,
                 "'" + Printable(s.module) + "' uses " + std::string(DynamicUseKindName(u.kind)) +
                     " '" + Printable(name) + "', which the policy does not allow here");
      if (u.kind == DynamicUse::Kind::kRelativeBeyondTop) f.kind = ErrorCode::kMalformed;
      f.line = u.pos.line;
      f.column = u.pos.column;
      f.construct = std::string(DynamicUseKindName(u.kind));
      out.push_back(std::move(f));
    }
  }
}

// The storage record a persistent id key names.
std::string StorageRecord(const PackageFacts& facts, const std::string& key) {
  if (facts.storage_prefix == ".data/") {
    return ".data/" + (key.ends_with(".storage") ? key : key + ".storage");
  }
  return "data/" + key;
}

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string TomlList(const std::set<std::string>& items) {
  if (items.empty()) return "[]";
  std::string out = "[\n";
  for (const auto& i : items) out += "  " + TomlString(i) + ",\n";
  return out + "]";
}

}  // namespace

PackageFacts CollectFacts(std::span<const uint8_t> bytes, std::string_view name,
                          const Limits& limits) {
  return Collector(bytes, name, limits).Run();
}

std::vector<Finding> EvaluateFacts(const PackageFacts& facts, const Policy& policy) {
  std::vector<Finding> out = facts.problems;
  for (const auto& p : facts.pickles) {
    PickleVerdict v = EvaluatePickle(p.run, policy, p.entry);
    for (auto& f : v.findings) out.push_back(std::move(f));
    for (const StorageRef& s : v.storages) {
      const std::string record = StorageRecord(facts, s.key);
      const auto it = facts.storages.find(record);
      const auto bad = [&](std::string why) {
        Finding f = Denied(code::kPickleStorageMismatch, p.entry, record, "storage records", why);
        f.offset = s.offset;
        f.construct = "BINPERSID";
        out.push_back(std::move(f));
      };
      if (facts.storage_prefix.empty() || it == facts.storages.end()) {
        bad("storage '" + Printable(s.key) + "' has no record " + Printable(record));
        continue;
      }
      // security: a storage declared larger than its bytes makes loaders read or write out of
      // bounds (CVE-2026-24747).
      if (s.element_size == 0 || s.numel > it->second / s.element_size) {
        bad("storage declares " + std::to_string(s.numel) + " elements of " + Printable(s.type) +
            " but its record holds " + std::to_string(it->second) + " bytes");
      }
    }
  }
  if (facts.externs) {
    for (const auto& m : *facts.externs) {
      if (!policy.package.externs.Matches(m)) {
        out.push_back(Denied(code::kPackageExternDenied, ".data/extern_modules", m,
                             "package.externs",
                             "package needs the external module '" + Printable(m) +
                                 "', which the policy does not allow"));
      }
    }
  }
  EvaluateSources(facts, policy, out);
  for (const auto& r : facts.resources) {
    if (!policy.package.resources.Matches(r)) {
      out.push_back(Denied(code::kPackageEntryDenied, r, r, "package.resources",
                           "record is not an allowed resource"));
    }
  }
  if (!facts.torchscript.empty() && !policy.package.torchscript) {
    out.push_back(Denied(code::kPackageTorchScript, facts.torchscript.front(), "",
                         "package.torchscript",
                         "input contains TorchScript (" + std::to_string(facts.torchscript.size()) +
                             " records), which runs through torch.jit; the policy does not allow "
                             "it"));
  }
  return out;
}

VerifyReport VerifyBytes(std::span<const uint8_t> bytes, std::string_view path,
                         const Policy& policy, const Limits& limits) {
  const PackageFacts facts = CollectFacts(bytes, path, limits);
  VerifyReport r;
  r.path = std::string(path);
  r.format = facts.format;
  r.policy = policy.name;
  r.findings = EvaluateFacts(facts, policy);
  r.pickles = facts.pickles.size();
  r.sources = facts.sources.size();
  r.storages = facts.storages.size();
  for (const auto& p : facts.pickles) r.globals += p.run.globals.size();
  if (facts.externs) r.externs = *facts.externs;
  r.accepted = std::none_of(r.findings.begin(), r.findings.end(),
                            [](const Finding& f) { return f.severity == Severity::kError; });
  return r;
}

VerifyReport VerifyPath(const std::string& path, const Policy& policy, const Limits& limits) {
  auto bytes = FileBytes::Snapshot(path, limits.archive);
  if (!bytes.ok()) {
    VerifyReport r;
    r.path = path;
    r.format = "unknown";
    r.policy = policy.name;
    Finding f = FromStatus(code::kInputUnreadable, bytes.status(), path);
    if (bytes.status().code() == ErrorCode::kLimitExceeded) f.code = code::kPackageArchive;
    r.findings.push_back(std::move(f));
    return r;
  }
  return VerifyBytes(bytes->span(), path, policy, limits);
}

std::string InferPolicy(const PackageFacts& facts, std::string_view name) {
  std::set<std::string> protocols, opcodes, globals, callables, build, mutable_types, storage_types,
      pids;
  for (const auto& p : facts.pickles) {
    const PickleRun& run = p.run;
    protocols.insert(std::to_string(run.highest_protocol));
    for (uint8_t op : run.opcodes_used) opcodes.insert(std::string(OpName(op)));
    for (const auto& g : run.globals) globals.insert(g.full_name());
    const auto global_of = [&](uint32_t id) -> const GlobalRef* {
      const Value& v = run.value(id);
      return v.kind == ValueKind::kGlobal ? &run.globals[v.ref] : nullptr;
    };
    const auto maker_of = [&](uint32_t id) -> const GlobalRef* {
      const Value& v = run.value(id);
      return v.kind == ValueKind::kCallResult ? global_of(run.calls[v.ref].callee) : nullptr;
    };
    for (const auto& c : run.calls) {
      if (c.kind == CallSite::Kind::kCall) {
        if (const GlobalRef* g = global_of(c.callee)) callables.insert(g->full_name());
      } else if (c.kind == CallSite::Kind::kBuild) {
        if (const GlobalRef* g = maker_of(c.callee)) build.insert(g->full_name());
      } else if (c.kind == CallSite::Kind::kMutate) {
        if (const GlobalRef* g = maker_of(c.callee)) mutable_types.insert(g->full_name());
      } else {
        const auto& items = run.items(c.args);
        if (!items.empty() && run.value(items[0]).kind == ValueKind::kStr) {
          const std::string kind(run.text(items[0]));
          if (kind == "storage" || kind == "reduce_package") pids.insert(kind);
          if (kind == "storage" && items.size() > 1) {
            if (const GlobalRef* g = global_of(items[1])) storage_types.insert(g->full_name());
          }
        }
      }
    }
  }
  std::set<std::string> interned, imports, attributes,
      resources(facts.resources.begin(), facts.resources.end());
  std::map<std::string, std::set<std::string>> capabilities;
  for (const auto& s : facts.sources) interned.insert(s.module);
  for (const auto& s : facts.sources) {
    for (const auto& i : s.scan.imports) {
      if (!WithinAny(interned, i.module)) imports.insert(i.module);
    }
    for (const auto& u : s.scan.uses) {
      switch (u.kind) {
        case DynamicUse::Kind::kModuleAttribute:
          if (!WithinAny(interned, u.module)) attributes.insert(u.module + "." + u.name);
          break;
        case DynamicUse::Kind::kExec:
          capabilities["exec"].insert(s.module);
          break;
        case DynamicUse::Kind::kEval:
          capabilities["eval"].insert(s.module);
          break;
        case DynamicUse::Kind::kCompile:
          capabilities["compile"].insert(s.module);
          break;
        case DynamicUse::Kind::kBuiltins:
          capabilities["builtins"].insert(s.module);
          break;
        case DynamicUse::Kind::kReflection:
          capabilities["reflection"].insert(s.module);
          break;
        case DynamicUse::Kind::kDynamicImport:
          capabilities["dynamic_import"].insert(s.module);
          break;
        case DynamicUse::Kind::kRelativeBeyondTop:
          break;
      }
    }
  }
  std::set<std::string> externs;
  if (facts.externs) externs.insert(facts.externs->begin(), facts.externs->end());

  std::string out;
  out += "# Least-privilege policy inferred by `sealpkg policy infer` from one known-good input.\n";
  out += "# It allows exactly what that input uses. Review every entry before signing it.\n";
  out += "[policy]\nname = " + TomlString(name) + "\nversion = 1\n";
  out += "description = " + TomlString("inferred from a " + facts.format + " input") + "\n\n";
  out += "[pickle]\nprotocols = [";
  bool first = true;
  for (const auto& p : protocols) out += (first ? "" : ", ") + p, first = false;
  out += "]\nopcodes = " + TomlList(opcodes) + "\n";
  out += "globals = " + TomlList(globals) + "\n";
  out += "callables = " + TomlList(callables) + "\n";
  out += "build = " + TomlList(build) + "\n";
  out += "mutable = " + TomlList(mutable_types) + "\n";
  out += "storage_types = " + TomlList(storage_types) + "\n";
  out += "persistent_ids = " + TomlList(pids) + "\n\n";
  out += "[source]\nimports = " + TomlList(imports) + "\n";
  out += "attributes = " + TomlList(attributes) + "\n";
  for (const char* cap : {"exec", "eval", "compile", "builtins", "reflection", "dynamic_import"}) {
    out += std::string(cap) + " = " + TomlList(capabilities[cap]) + "\n";
  }
  out += "\n[package]\nexterns = " + TomlList(externs) + "\n";
  out += "interned = " + TomlList(interned) + "\n";
  out += "resources = " + TomlList(resources) + "\n";
  out += std::string("torchscript = ") + (facts.torchscript.empty() ? "false" : "true") + "\n";
  out += "\n# Every packaged source, pinned by SHA-256: the package may carry exactly this code.\n";
  out += "[package.sources]\n";
  std::map<std::string, std::string> pins;
  for (const auto& s : facts.sources) pins[s.entry] = s.sha256;
  for (const auto& [entry, hash] : pins) out += TomlString(entry) + " = \"sha256:" + hash + "\"\n";
  return out;
}

}  // namespace sealpkg::verifier
