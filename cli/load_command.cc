// `sealpkg load | extract | run`: load an untrusted package in the sandboxed worker.
//
// Every command reads PKG once into sealed memory and verifies exactly those bytes here, in the
// parent, before any worker exists: the policy (built-in, or a signed policy file), then the
// package signature when --trust, --require-signature or the policy asks for one, then the
// static verifier. Only an accepted package reaches sandbox::RunSandboxedLoad, and the sealed
// memfd that was verified is the one the worker receives. What comes back is plain data and
// tensors in checked sealed memfds; nothing from the worker is unpickled or executed here.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "archive/zip_reader.h"
#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/printable.h"
#include "core/sha256.h"
#include "sandbox/ipc.h"
#include "sandbox/launcher.h"
#include "sandbox/safetensors.h"
#include "sandbox/session.h"
#include "sandbox/tensor_transport.h"
#include "signing/json.h"
#include "signing/trust_store.h"
#include "signing/verify_package.h"
#include "verifier/package_verifier.h"
#include "verifier/policy.h"

namespace sealpkg::cli {
namespace {

namespace fs = std::filesystem;
using signing::JsonValue;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string command;  // "load", "extract", "run"
  std::string package;
  std::string policy = "builtin:torchvision";
  std::string trust;
  bool require_signature = false;
  bool unsafe_unsigned_policy = false;
  std::string resource;
  bool json = false;
  double timeout_seconds = 120;
  uint64_t memory = 0;  // 0: SandboxLimits' default
  std::string worker;
  std::string python_path;
  std::vector<std::string> preload;
  bool require_full_isolation = false;
  bool state_dict = false;  // load
  std::string weights;      // extract
  bool strict = false;      // extract
  std::string call;         // run
  std::string input;        // run
  std::string output;       // run
};

// ---------------------------------------------------------------------------------------------
// Worker and Python path discovery

std::string ExeDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

bool Executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// --worker, $SEALPKG_WORKER, next to the CLI, the build tree, <prefix>/libexec/sealpkg.
Result<std::string> FindWorker(const Options& o) {
  if (!o.worker.empty() || !Env("SEALPKG_WORKER").empty()) {
    const std::string path = !o.worker.empty() ? o.worker : Env("SEALPKG_WORKER");
    const char* from = !o.worker.empty() ? "--worker" : "$SEALPKG_WORKER";
    if (!Executable(path)) {
      return IoError("sandbox.worker-missing",
                     std::string(from) + " '" + Printable(path) + "' is not an executable file");
    }
    return path;
  }
  const std::string dir = ExeDir();
  std::vector<std::string> tried;
  if (!dir.empty()) {
    tried = {dir + "/sealpkg-worker", dir + "/../python/sealpkg/sealpkg-worker",
             dir + "/../libexec/sealpkg/sealpkg-worker"};
    for (const auto& t : tried) {
      if (Executable(t)) return fs::weakly_canonical(t).string();
    }
  }
  std::string list;
  for (const auto& t : tried) list += "\n  " + Printable(t);
  return IoError("sandbox.worker-missing",
                 "sealpkg-worker not found (use --worker or $SEALPKG_WORKER); tried:" + list);
}

// --python-path, $SEALPKG_PYTHONPATH, the folder holding sealpkg/ next to the worker (the build
// tree and the Python package layout), the build tree seen from the CLI, the install's Python
// directory seen from the CLI; else none.
std::string FindPythonPath(const Options& o, const std::string& worker) {
  if (!o.python_path.empty()) return o.python_path;
  if (std::string env = Env("SEALPKG_PYTHONPATH"); !env.empty()) return env;
  const fs::path worker_dir = fs::path(worker).parent_path();
  if (worker_dir.filename() == "sealpkg" && IsFile((worker_dir / "__init__.py").string())) {
    return worker_dir.parent_path().string();
  }
  const std::string dir = ExeDir();
  if (!dir.empty() && IsFile(dir + "/../python/sealpkg/__init__.py")) {
    return fs::weakly_canonical(dir + "/../python").string();
  }
#ifdef SEALPKG_INSTALL_PYTHONDIR
  // Installed: <prefix>/bin/sealpkg and <prefix>/<python dir>/sealpkg/.
  const std::string installed = dir + "/../" SEALPKG_INSTALL_PYTHONDIR;
  if (!dir.empty() && IsFile(installed + "/sealpkg/__init__.py")) {
    return fs::weakly_canonical(installed).string();
  }
#endif
  return "";
}

// ---------------------------------------------------------------------------------------------
// Verification in the parent

// Everything the parent established before the worker starts.
struct Prepared {
  std::optional<FileBytes> bytes;
  std::string sha256;
  std::string package;                      // load_pickle's package ("model")
  std::string resource;                     // and resource ("model.pkl")
  std::string record;                       // "model/model.pkl"
  std::vector<std::string> externs;         // .data/extern_modules, each allowed by the policy
  JsonValue summary = JsonValue::Object();  // --json: what was checked
  std::vector<std::string> text;            // text mode: one line per check
};

// A failure before the sandbox: the message is printed, the exit code returned.
struct Failure {
  int exit_code;
  std::string check;  // "policy", "input", "signature", "statement", "static", "resource"...
  Status status;
};

std::string CheckOf(const Status& s) {
  const std::string_view r = s.reason();
  if (r.starts_with("zip.")) return "archive";
  if (r.starts_with("signature.statement") || r.starts_with("signature.entry") ||
      r == "signature.layout" || r == "signature.central-directory" ||
      r == "signature.file-digest" || r == "signature.resource" || r == "signature.subject" ||
      r == "signature.annotations" || r == "signature.serialization" ||
      r.starts_with("trust.package-")) {
    return "statement";
  }
  return "signature";
}

// The .pkl records a load could start from: every record ending in .pkl outside .data/.
std::vector<std::string> PickleCandidates(const archive::ZipIndex& index) {
  std::vector<std::string> out;
  for (const auto& e : index.entries()) {
    const std::string_view r = e.record();
    if (r.ends_with(".pkl") && !r.starts_with(".data/") && r.find('/') != std::string_view::npos) {
      out.emplace_back(r);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<Failure> ChooseResource(const Options& o, std::span<const uint8_t> bytes,
                                      const Limits& limits, Prepared& p) {
  auto index = archive::ParseZip(bytes, limits.archive);
  if (!index.ok()) return Failure{kExitRejected, "archive", index.status()};
  const auto candidates = PickleCandidates(*index);
  std::string list;
  for (const auto& c : candidates) list += "\n  " + Printable(c);
  if (list.empty()) list = " (none)";
  std::string record;
  if (o.resource.empty()) {
    if (candidates.size() != 1) {
      return Failure{
          kExitError, "resource",
          Malformed("cli.resource", "the package has " + std::to_string(candidates.size()) +
                                        " .pkl records; choose one with --resource "
                                        "PKG/RES:" +
                                        list)};
    }
    record = candidates.front();
  } else {
    // PKG/RES with PKG dotted or slashed: model/model.pkl, a.b/c.pkl, a/b/c.pkl.
    const size_t slash = o.resource.find_last_of('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == o.resource.size()) {
      return Failure{kExitError, "resource",
                     Malformed("cli.resource", "--resource wants PKG/RES, e.g. model/model.pkl")};
    }
    std::string pkg = o.resource.substr(0, slash);
    std::replace(pkg.begin(), pkg.end(), '.', '/');
    record = pkg + "/" + o.resource.substr(slash + 1);
    if (index->Find(record) == nullptr) {
      return Failure{kExitError, "resource",
                     Malformed("cli.resource", "no record '" + Printable(record) +
                                                   "' in the package; .pkl records:" + list)};
    }
  }
  const size_t slash = record.find_last_of('/');
  p.record = record;
  p.package = record.substr(0, slash);
  std::replace(p.package.begin(), p.package.end(), '/', '.');
  p.resource = record.substr(slash + 1);
  return std::nullopt;
}

JsonValue ReportJson(const verifier::VerifyReport& r) {
  JsonValue j = JsonValue::Object();
  j.Set("accepted", JsonValue::Bool(r.accepted));
  j.Set("format", JsonValue::String(r.format));
  j.Set("pickles", JsonValue::Integer(static_cast<int64_t>(r.pickles)));
  j.Set("sources", JsonValue::Integer(static_cast<int64_t>(r.sources)));
  JsonValue findings = JsonValue::Array();
  for (const auto& f : r.findings) {
    JsonValue fj = JsonValue::Object();
    fj.Set("code", JsonValue::String(f.code));
    fj.Set("kind", JsonValue::String(std::string(ErrorCodeName(f.kind))));
    fj.Set("entry", JsonValue::String(f.entry));
    fj.Set("name", JsonValue::String(f.name));
    fj.Set("rule", JsonValue::String(f.rule));
    fj.Set("message", JsonValue::String(f.message));
    findings.Append(std::move(fj));
  }
  j.Set("findings", std::move(findings));
  return j;
}

std::optional<Failure> Prepare(const Options& o, const Limits& limits, Prepared& p) {
  JsonValue& s = p.summary;
  s.Set("package", JsonValue::String(o.package));
  auto checked = LoadCheckedPolicy(o.policy, o.trust, o.unsafe_unsigned_policy);
  JsonValue pj = JsonValue::Object();
  pj.Set("spec", JsonValue::String(o.policy));
  if (!checked.ok()) {
    s.Set("policy", std::move(pj));
    return Failure{ExitCodeFor(checked.status()), "policy", checked.status()};
  }
  pj.Set("origin", JsonValue::String(checked->origin));
  pj.Set("name", JsonValue::String(checked->policy.name));
  pj.Set("version", JsonValue::Integer(checked->policy.version));
  pj.Set("signer_key_ids", StringArray(checked->key_ids));
  s.Set("policy", std::move(pj));
  std::string line = "policy: " + Printable(checked->policy.name) + " version " +
                     std::to_string(checked->policy.version) + " (" + checked->origin;
  for (const auto& id : checked->key_ids) line += ", signed by " + id;
  p.text.push_back(line + ")");
  if (checked->origin != "builtin" && checked->origin != "signed") {
    std::cerr << "sealpkg " << o.command << ": warning: policy " << Printable(o.policy) << " is "
              << checked->origin << "\n";
  }
  const verifier::Policy& policy = checked->policy;

  auto bytes = FileBytes::Snapshot(o.package, limits.archive);
  if (!bytes.ok()) return Failure{ExitCodeFor(bytes.status()), "input", bytes.status()};
  p.bytes.emplace(std::move(*bytes));
  const std::span<const uint8_t> span = p.bytes->span();
  p.sha256 = Sha256Hex(span);
  s.Set("sha256", JsonValue::String(p.sha256));
  p.text.push_back("package: " + Printable(o.package) + " (" + std::to_string(span.size()) +
                   " bytes, sha256 " + p.sha256 + ")");

  // Signature before the static verifier (signing.md §6.7), on the same bytes.
  const bool need_signature =
      !o.trust.empty() || o.require_signature || policy.package.require_signature;
  JsonValue sj = JsonValue::Object();
  sj.Set("checked", JsonValue::Bool(need_signature));
  if (need_signature) {
    auto store = signing::TrustStore::Open(o.trust.empty() ? signing::TrustStore::DefaultDirectory()
                                                           : o.trust);
    if (!store.ok()) {
      s.Set("signature", std::move(sj));
      return Failure{ExitCodeFor(store.status()), "trust", store.status()};
    }
    const std::string sig_path = signing::DetachedSignaturePath(o.package);
    std::optional<std::vector<uint8_t>> detached;
    if (auto sig = signing::ReadSmallFile(sig_path, limits.signing.max_json_bytes); sig.ok()) {
      detached = std::move(*sig);
    } else if (sig.status().reason() != "io.missing") {
      s.Set("signature", std::move(sj));
      return Failure{ExitCodeFor(sig.status()), "signature", sig.status()};
    }
    signing::PackageTrustOptions topts;
    topts.role = policy.package.signer_role;
    topts.min_threshold = policy.package.signer_threshold;
    const std::string base = fs::path(o.package).filename().string();
    auto trusted =
        signing::VerifyPackageWithTrust(span, detached ? &*detached : nullptr, base, *store, topts);
    sj.Set("mode", JsonValue::String(detached ? "detached" : "embedded"));
    sj.Set("role", JsonValue::String(topts.role));
    if (!trusted.ok()) {
      s.Set("signature", std::move(sj));
      return Failure{ExitCodeFor(trusted.status()), CheckOf(trusted.status()), trusted.status()};
    }
    const auto& v = trusted->verification;
    sj.Set("key_ids", StringArray(v.key_ids));
    sj.Set("threshold", JsonValue::Integer(trusted->threshold));
    sj.Set("statement_sha256", JsonValue::String(v.statement_sha256));
    p.text.push_back("signature: OK (" + trusted->mode + ", " + std::to_string(v.key_ids.size()) +
                     " of " + std::to_string(trusted->threshold) + " required " + trusted->role +
                     " key(s))");
  } else {
    p.text.push_back("signature: not checked (no --trust, --require-signature or policy rule)");
  }
  s.Set("signature", std::move(sj));

  const verifier::VerifyReport report = verifier::VerifyBytes(span, o.package, policy, limits);
  s.Set("verification", ReportJson(report));
  if (!report.accepted) {
    std::string first = "rejected by the policy";
    for (const auto& f : report.findings) {
      if (f.severity == verifier::Severity::kError) {
        first = f.code + " " + Printable(f.entry) + ": " + Printable(f.message);
        break;
      }
    }
    return Failure{kExitRejected, "static",
                   PolicyDenied("cli.rejected", std::to_string(report.findings.size()) +
                                                    " finding(s); first: " + first +
                                                    "; nothing reached the sandbox")};
  }
  p.externs = report.externs;
  p.text.push_back("verify: accepted (" + std::to_string(report.pickles) + " pickles, " +
                   std::to_string(report.sources) + " sources, " +
                   std::to_string(report.findings.size()) + " findings)");
  return ChooseResource(o, span, limits, p);
}

int ReportFailure(const Options& o, Prepared& p, const Failure& f) {
  if (o.json) {
    p.summary.Set("result", JsonValue::String(f.exit_code == kExitRejected ? "rejected" : "error"));
    p.summary.Set("failed_check", JsonValue::String(f.check));
    p.summary.Set("error", StatusJson(f.status));
    std::cout << signing::SerializeJson(p.summary) << "\n";
  } else {
    for (const auto& l : p.text) std::cout << l << "\n";
    std::cerr << "sealpkg " << o.command << ": "
              << (f.exit_code == kExitRejected ? "REJECTED" : "error") << " (" << f.check
              << " check): " << f.status.ToString() << "\n";
  }
  return f.exit_code;
}

// ---------------------------------------------------------------------------------------------
// The sandboxed load

Result<sandbox::LaunchOptions> MakeLaunchOptions(const Options& o, const Prepared& p) {
  sandbox::LaunchOptions opts;
  SEALPKG_ASSIGN_OR_RETURN(opts.worker_path, FindWorker(o));
  opts.python_path = FindPythonPath(o, opts.worker_path);
  opts.preload = o.preload;
  // The package's externs (each allowed by the policy) are host modules the worker can only
  // import before lockdown; "?": optional, a module this machine lacks stays missing, as it
  // would in-process (same rule as sealpkg.sandbox.open).
  for (const auto& m : p.externs) {
    if (std::find(o.preload.begin(), o.preload.end(), m) == o.preload.end()) {
      opts.preload.push_back("?" + m);
    }
  }
  opts.require_full_isolation = o.require_full_isolation;
  if (!(o.timeout_seconds > 0) || o.timeout_seconds > 86400) {
    return Malformed("cli.timeout", "--timeout must be in (0, 86400] seconds");
  }
  opts.limits.wall_time_ms = static_cast<uint64_t>(o.timeout_seconds * 1000);
  if (opts.limits.wall_time_ms == 0) opts.limits.wall_time_ms = 1;
  opts.limits.cpu_seconds =
      std::min<uint64_t>(opts.limits.cpu_seconds, opts.limits.wall_time_ms / 1000 + 1);
  if (o.memory != 0) opts.limits.address_space_bytes = o.memory;
  return opts;
}

std::string OutputTail(const std::string& output, size_t lines) {
  size_t pos = output.size();
  for (size_t n = 0; pos > 0 && n <= lines; ++n) {
    const size_t nl = output.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    if (n == lines) {
      pos = nl + 1;
      break;
    }
    pos = nl;
  }
  return output.substr(pos);
}

// The exit code for a worker that did not deliver: 4 when the load raised inside the sandbox
// (the worker itself ended normally), 3 for every way the worker was stopped.
int ExitCodeForOutcome(sandbox::OutcomeKind kind) {
  return kind == sandbox::OutcomeKind::kWorkerError ? kExitSandboxError : kExitContained;
}

JsonValue IsolationJson(const sandbox::Value& v);

int ReportOutcomeFailure(const Options& o, Prepared& p, const sandbox::LoadOutcome& out,
                         double seconds) {
  const int code = ExitCodeForOutcome(out.kind);
  if (o.json) {
    JsonValue oj = JsonValue::Object();
    oj.Set("kind", JsonValue::String(std::string(sandbox::OutcomeName(out.kind))));
    oj.Set("message", JsonValue::String(out.message));
    oj.Set("error_type", JsonValue::String(out.error_type));
    oj.Set("error_message", JsonValue::String(out.error_message));
    oj.Set("exit_code", JsonValue::Integer(out.exit_code));
    oj.Set("signal", JsonValue::Integer(out.signal));
    oj.Set("output_tail", JsonValue::String(OutputTail(out.output, 20)));
    oj.Set("elapsed_ms", JsonValue::Integer(static_cast<int64_t>(seconds * 1000)));
    p.summary.Set("result", JsonValue::String(code == kExitContained ? "contained" : "load-error"));
    p.summary.Set("outcome", std::move(oj));
    p.summary.Set("isolation", IsolationJson(out.isolation));
    std::cout << signing::SerializeJson(p.summary) << "\n";
    return code;
  }
  for (const auto& l : p.text) std::cout << l << "\n";
  if (code == kExitContained) {
    std::cerr << "sealpkg " << o.command << ": CONTAINED: the worker was stopped ("
              << sandbox::OutcomeName(out.kind) << "): " << Printable(out.message) << "\n";
  } else {
    std::cerr << "sealpkg " << o.command
              << ": the load failed inside the sandbox: " << Printable(out.error_type) << ": "
              << Printable(out.error_message) << "\n";
  }
  if (!out.output.empty()) {
    std::cerr << "worker output (last lines):\n" << Printable(OutputTail(out.output, 20)) << "\n";
  }
  return code;
}

// Runs `op` on the prepared package; kOk or a reported failure (exit code in *exit_code).
std::optional<sandbox::LoadOutcome> RunWorker(const Options& o, Prepared& p, const std::string& op,
                                              int* exit_code, double* seconds) {
  auto opts = MakeLaunchOptions(o, p);
  if (!opts.ok()) {
    *exit_code = ReportFailure(o, p, Failure{kExitError, "sandbox", opts.status()});
    return std::nullopt;
  }
  const sandbox::Value request =
      sandbox::Value::Dict({{"op", sandbox::Value::Str(op)},
                            {"package", sandbox::Value::Str(p.package)},
                            {"resource", sandbox::Value::Str(p.resource)}});
  JsonValue rj = JsonValue::Object();
  rj.Set("op", JsonValue::String(op));
  rj.Set("package", JsonValue::String(p.package));
  rj.Set("resource", JsonValue::String(p.resource));
  p.summary.Set("request", std::move(rj));
  const auto start = Clock::now();
  auto out = sandbox::RunSandboxedLoad(*opts, p.bytes->sealed_fd(), request);
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!out.ok()) {
    *exit_code = ReportFailure(o, p, Failure{kExitError, "sandbox", out.status()});
    return std::nullopt;
  }
  if (out->kind != sandbox::OutcomeKind::kOk) {
    *exit_code = ReportOutcomeFailure(o, p, *out, *seconds);
    return std::nullopt;
  }
  return std::move(*out);
}

// ---------------------------------------------------------------------------------------------
// Describing a result

uint64_t TensorBytes(const sandbox::TensorRef& t) {
  uint64_t n = sandbox::DTypeSize(static_cast<uint8_t>(t.dtype));
  for (const int64_t d : t.shape) n *= static_cast<uint64_t>(d);  // checked by the decoder
  return n;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string FloatText(double f) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}

bool Contiguous(const sandbox::TensorRef& t) {
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

std::string KindName(sandbox::Kind k) {
  switch (k) {
    case sandbox::Kind::kNone:
      return "None";
    case sandbox::Kind::kFalse:
    case sandbox::Kind::kTrue:
      return "bool";
    case sandbox::Kind::kInt:
      return "int";
    case sandbox::Kind::kFloat:
      return "float";
    case sandbox::Kind::kStr:
      return "str";
    case sandbox::Kind::kBytes:
      return "bytes";
    case sandbox::Kind::kList:
      return "list";
    case sandbox::Kind::kTuple:
      return "tuple";
    case sandbox::Kind::kDict:
      return "dict";
    case sandbox::Kind::kTensor:
      return "tensor";
  }
  return "?";
}

// One line for a value (containers: their size only).
std::string Describe(const sandbox::Value& v) {
  switch (v.kind) {
    case sandbox::Kind::kNone:
      return "None";
    case sandbox::Kind::kFalse:
      return "False";
    case sandbox::Kind::kTrue:
      return "True";
    case sandbox::Kind::kInt:
      return "int " + std::to_string(v.i);
    case sandbox::Kind::kFloat:
      return "float " + FloatText(v.f);
    case sandbox::Kind::kStr: {
      std::string s = v.s.size() > 60 ? v.s.substr(0, 60) + "..." : v.s;
      return "str '" + Printable(s) + "'";
    }
    case sandbox::Kind::kBytes:
      return "bytes (" + std::to_string(v.s.size()) + ")";
    case sandbox::Kind::kList:
    case sandbox::Kind::kTuple:
      return KindName(v.kind) + " (" + std::to_string(v.items.size()) + " items)";
    case sandbox::Kind::kDict:
      return "dict (" + std::to_string(v.entries.size()) + " entries)";
    case sandbox::Kind::kTensor: {
      const auto& t = v.tensor;
      return "tensor " + std::string(sandbox::DTypeName(static_cast<uint8_t>(t.dtype))) + " " +
             ShapeText(t.shape) + " (" + std::to_string(TensorBytes(t)) + " bytes" +
             (Contiguous(t) ? "" : ", strided") + ")";
    }
  }
  return "?";
}

struct Totals {
  uint64_t tensors = 0;
  uint64_t tensor_bytes = 0;
  uint64_t values = 0;
};

// Depth-first walk without recursion: visit(label, value, depth).
template <typename Visit>
void Walk(const sandbox::Value& root, Visit visit) {
  struct Item {
    std::string label;
    const sandbox::Value* value;
    size_t depth;
  };
  std::vector<Item> stack{{"", &root, 0}};
  while (!stack.empty()) {
    Item it = std::move(stack.back());
    stack.pop_back();
    visit(it.label, *it.value, it.depth);
    const auto& v = *it.value;
    if (v.kind == sandbox::Kind::kDict) {
      for (size_t i = v.entries.size(); i-- > 0;) {
        stack.push_back({v.entries[i].first, &v.entries[i].second, it.depth + 1});
      }
    } else if (v.kind == sandbox::Kind::kList || v.kind == sandbox::Kind::kTuple) {
      for (size_t i = v.items.size(); i-- > 0;) {
        stack.push_back({"[" + std::to_string(i) + "]", &v.items[i], it.depth + 1});
      }
    }
  }
}

Totals Count(const sandbox::Value& root) {
  Totals t;
  Walk(root, [&](const std::string&, const sandbox::Value& v, size_t) {
    ++t.values;
    if (v.kind == sandbox::Kind::kTensor) {
      ++t.tensors;
      t.tensor_bytes += TensorBytes(v.tensor);
    }
  });
  return t;
}

// --json form of a value: {"type": ..., ...}; containers nest. Built with an explicit stack
// of open containers (the decoder bounds the depth).
JsonValue ValueJson(const sandbox::Value& root) {
  auto leaf = [](const sandbox::Value& v) {
    JsonValue j = JsonValue::Object();
    j.Set("type", JsonValue::String(KindName(v.kind)));
    switch (v.kind) {
      case sandbox::Kind::kFalse:
      case sandbox::Kind::kTrue:
        j.Set("value", JsonValue::Bool(v.kind == sandbox::Kind::kTrue));
        break;
      case sandbox::Kind::kInt:
        // Beyond 2^53 an integer would not survive a JSON reader: a string then.
        j.Set("value", v.i >= -signing::kMaxJsonInteger && v.i <= signing::kMaxJsonInteger
                           ? JsonValue::Integer(v.i)
                           : JsonValue::String(std::to_string(v.i)));
        break;
      case sandbox::Kind::kFloat:
        j.Set("repr", JsonValue::String(FloatText(v.f)));
        break;
      case sandbox::Kind::kStr:
        j.Set("value", JsonValue::String(v.s));
        break;
      case sandbox::Kind::kBytes:
        j.Set("length", JsonValue::Integer(static_cast<int64_t>(v.s.size())));
        break;
      case sandbox::Kind::kTensor: {
        const auto& t = v.tensor;
        j.Set("dtype",
              JsonValue::String(std::string(sandbox::DTypeName(static_cast<uint8_t>(t.dtype)))));
        JsonValue shape = JsonValue::Array();
        for (const int64_t d : t.shape) shape.Append(JsonValue::Integer(d));
        j.Set("shape", std::move(shape));
        j.Set("nbytes", JsonValue::Integer(static_cast<int64_t>(TensorBytes(t))));
        j.Set("contiguous", JsonValue::Bool(Contiguous(t)));
        break;
      }
      default:
        break;
    }
    return j;
  };
  // Frames: a container being filled; children are appended as they complete.
  struct Frame {
    const sandbox::Value* value;
    size_t next = 0;
    JsonValue children;
  };
  auto open = [](const sandbox::Value* v) {
    return Frame{v, 0, v->kind == sandbox::Kind::kDict ? JsonValue::Object() : JsonValue::Array()};
  };
  auto is_container = [](const sandbox::Value& v) {
    return v.kind == sandbox::Kind::kDict || v.kind == sandbox::Kind::kList ||
           v.kind == sandbox::Kind::kTuple;
  };
  if (!is_container(root)) return leaf(root);
  std::vector<Frame> stack;
  stack.push_back(open(&root));
  JsonValue done;
  while (!stack.empty()) {
    Frame& f = stack.back();
    const auto& v = *f.value;
    const size_t n = v.kind == sandbox::Kind::kDict ? v.entries.size() : v.items.size();
    if (f.next == n) {
      JsonValue j = JsonValue::Object();
      j.Set("type", JsonValue::String(KindName(v.kind)));
      j.Set(v.kind == sandbox::Kind::kDict ? "entries" : "items", std::move(f.children));
      const bool dict_parent =
          stack.size() > 1 && stack[stack.size() - 2].value->kind == sandbox::Kind::kDict;
      stack.pop_back();
      if (stack.empty()) {
        done = std::move(j);
      } else {
        Frame& parent = stack.back();
        if (dict_parent) {
          parent.children.Set(parent.value->entries[parent.next - 1].first, std::move(j));
        } else {
          parent.children.Append(std::move(j));
        }
      }
      continue;
    }
    const size_t i = f.next++;
    const sandbox::Value& child = v.kind == sandbox::Kind::kDict ? v.entries[i].second : v.items[i];
    if (is_container(child)) {
      stack.push_back(open(&child));
      continue;
    }
    if (v.kind == sandbox::Kind::kDict) {
      f.children.Set(v.entries[i].first, leaf(child));
    } else {
      f.children.Append(leaf(child));
    }
  }
  return done;
}

JsonValue IsolationJson(const sandbox::Value& v) {
  if (v.kind != sandbox::Kind::kDict) return JsonValue();
  return ValueJson(v);
}

std::string IsolationText(const sandbox::Value& v) {
  if (v.kind != sandbox::Kind::kDict) return "(no report: the worker never became ready)";
  std::string s;
  for (const auto& [k, val] : v.entries) {
    std::string text;
    switch (val.kind) {
      case sandbox::Kind::kTrue:
        text = "yes";
        break;
      case sandbox::Kind::kFalse:
        text = "NO";
        break;
      case sandbox::Kind::kStr:
        text = Printable(val.s);
        break;
      case sandbox::Kind::kInt:
        text = std::to_string(val.i);
        break;
      case sandbox::Kind::kList:
        text = "[";
        for (const auto& item : val.items) {
          text += (text.size() > 1 ? "; " : "") +
                  (item.kind == sandbox::Kind::kStr ? Printable(item.s) : Describe(item));
        }
        text += "]";
        break;
      default:
        text = Describe(val);
    }
    s += (s.empty() ? "" : ", ") + Printable(k) + "=" + text;
  }
  return s;
}

std::string Bytes(uint64_t n) {
  std::ostringstream s;
  if (n >= (1u << 20)) {
    s.precision(1);
    s << std::fixed << static_cast<double>(n) / (1u << 20) << " MiB";
  } else {
    s << n << " bytes";
  }
  return s.str();
}

constexpr size_t kMaxTreeLines = 400;

int PrintLoaded(const Options& o, Prepared& p, const sandbox::LoadOutcome& out, double seconds) {
  const Totals totals = Count(out.value);
  uint64_t arena = 0;
  for (const uint64_t s : out.fd_sizes) arena += s;
  if (o.json) {
    p.summary.Set("result", JsonValue::String("ok"));
    p.summary.Set("elapsed_ms", JsonValue::Integer(static_cast<int64_t>(seconds * 1000)));
    p.summary.Set("isolation", IsolationJson(out.isolation));
    p.summary.Set("tensors", JsonValue::Integer(static_cast<int64_t>(totals.tensors)));
    p.summary.Set("tensor_bytes", JsonValue::Integer(static_cast<int64_t>(totals.tensor_bytes)));
    p.summary.Set("arena_bytes", JsonValue::Integer(static_cast<int64_t>(arena)));
    p.summary.Set("value", ValueJson(out.value));
    std::cout << signing::SerializeJson(p.summary) << "\n";
    return kExitOk;
  }
  for (const auto& l : p.text) std::cout << l << "\n";
  std::cout << "sandbox: " << (o.state_dict ? "state_dict" : "load_pickle") << " "
            << Printable(p.record) << " in "
            << FloatText(static_cast<double>(static_cast<int64_t>(seconds * 1000)) / 1000)
            << " s\n";
  std::cout << "isolation: " << IsolationText(out.isolation) << "\n";
  std::cout << "result: " << totals.tensors << " tensors, " << Bytes(totals.tensor_bytes)
            << " of tensor data (" << Bytes(arena) << " in sealed memfds)\n";
  size_t lines = 0;
  Walk(out.value, [&](const std::string& label, const sandbox::Value& v, size_t depth) {
    if (lines++ >= kMaxTreeLines) return;
    std::cout << std::string(2 * depth, ' ') << (depth == 0 ? "" : Printable(label) + ": ")
              << Describe(v) << "\n";
  });
  if (lines > kMaxTreeLines) {
    std::cout << "... " << lines - kMaxTreeLines << " more lines (--json prints everything)\n";
  }
  return kExitOk;
}

int RunLoad(const Options& o) {
  const Limits limits;
  Prepared p;
  if (auto f = Prepare(o, limits, p)) return ReportFailure(o, p, *f);
  int code = kExitError;
  double seconds = 0;
  auto out = RunWorker(o, p, o.state_dict ? "state_dict" : "load_pickle", &code, &seconds);
  if (!out) return code;
  return PrintLoaded(o, p, *out, seconds);
}

// ---------------------------------------------------------------------------------------------
// extract

// Writes through a temporary file in the destination folder, renamed into place on success;
// the temporary file is removed on every failure.
class AtomicFile {
 public:
  static Result<AtomicFile> Create(const std::string& path) {
    AtomicFile f;
    f.path_ = path;
    const fs::path dir = fs::path(path).parent_path();
    f.temp_ = (dir.empty() ? fs::path(".") : dir).string() + "/." +
              fs::path(path).filename().string() + ".tmp-XXXXXX";
    f.fd_ = ::mkostemp(f.temp_.data(), O_CLOEXEC);
    if (f.fd_ < 0) {
      return IoError("io.create", "cannot create a temporary file next to '" + Printable(path) +
                                      "': " + std::strerror(errno));
    }
    return f;
  }
  AtomicFile(AtomicFile&& o) noexcept
      : path_(std::move(o.path_)), temp_(std::move(o.temp_)), fd_(std::exchange(o.fd_, -1)) {}
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(temp_.c_str());
    }
  }

  Status Write(std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return IoError("io.write", "writing '" + Printable(temp_) + "': " + std::strerror(errno));
      }
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return OkStatus();
  }

  int fd() const { return fd_; }

  Status Commit() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) {
      return IoError("io.write", "finishing '" + Printable(temp_) + "': " + std::strerror(errno));
    }
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return IoError("io.rename",
                     "renaming to '" + Printable(path_) + "': " + std::strerror(errno));
    }
    ::close(fd_);
    fd_ = -1;
    return OkStatus();
  }

 private:
  AtomicFile() = default;
  std::string path_, temp_;
  int fd_ = -1;
};

// The file about to be published must pass sealpkg's own strict reader: maps the written
// temporary file (nothing paged in beyond the header) and parses it.
Status CheckWritten(int fd, uint64_t size, size_t tensors, const Limits& limits) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    return IoError("io.write", "the written file does not have the expected size");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return IoError("io.mmap", std::string("mmap: ") + std::strerror(errno));
  auto parsed = sandbox::ParseSafetensors(
      std::span<const uint8_t>(static_cast<const uint8_t*>(map), size), limits.safetensors);
  ::munmap(map, size);
  if (!parsed.ok()) {
    return InternalError("internal.safetensors-readback",
                         "the reader refuses what the writer wrote: " + parsed.status().ToString());
  }
  if (parsed->tensors.size() != tensors) {
    return InternalError("internal.safetensors-readback", "tensor count changed on read-back");
  }
  return OkStatus();
}

int RunExtract(const Options& o) {
  const Limits limits;
  Prepared p;
  if (auto f = Prepare(o, limits, p)) return ReportFailure(o, p, *f);
  int code = kExitError;
  double seconds = 0;
  auto out = RunWorker(o, p, "state_dict", &code, &seconds);
  if (!out) return code;
  if (out->value.kind != sandbox::Kind::kDict) {
    return ReportFailure(
        o, p,
        Failure{kExitRejected, "result",
                Malformed("cli.state-dict",
                          "state_dict() returned " + KindName(out->value.kind) + ", not a dict")});
  }
  std::vector<sandbox::MappedArena> arenas;
  for (size_t i = 0; i < out->fds.size(); ++i) {
    auto m =
        sandbox::MappedArena::Map(out->fds[i].get(), out->fd_sizes[i], /*copy_on_write=*/false);
    if (!m.ok()) return ReportFailure(o, p, Failure{kExitError, "result", m.status()});
    arenas.push_back(std::move(*m));
  }
  std::vector<sandbox::SafetensorsSource> sources;
  std::vector<std::string> skipped;
  for (const auto& [name, v] : out->value.entries) {
    if (v.kind != sandbox::Kind::kTensor) {
      skipped.push_back(name + " (" + KindName(v.kind) + ")");
      continue;
    }
    const auto& t = v.tensor;
    // CheckTensorsFit (in the launcher) proved storage_byte_offset + storage_nbytes <= fd size.
    const auto& arena = arenas[t.fd_index];
    sources.push_back(
        {name, t,
         std::span<const uint8_t>(arena.data() + t.storage_byte_offset, t.storage_nbytes)});
  }
  if (o.strict && !skipped.empty()) {
    std::string list;
    for (const auto& s : skipped) list += "\n  " + Printable(s);
    return ReportFailure(
        o, p,
        Failure{kExitRejected, "result",
                PolicyDenied("cli.non-tensor-state", std::to_string(skipped.size()) +
                                                         " state_dict entries are not tensors "
                                                         "(--strict); nothing written:" +
                                                         list)});
  }
  const std::vector<std::pair<std::string, std::string>> metadata = {
      {"format", "pt"}, {"source_sha256", p.sha256}, {"source_resource", p.record}};
  auto file = AtomicFile::Create(o.weights);
  if (!file.ok()) return ReportFailure(o, p, Failure{kExitError, "output", file.status()});
  auto written =
      sandbox::WriteSafetensors(sources, metadata, limits.safetensors,
                                [&](std::span<const uint8_t> piece) { return file->Write(piece); });
  if (written.ok()) {
    if (Status s = CheckWritten(file->fd(), *written, sources.size(), limits); !s.ok()) {
      written = s;
    } else if (Status c = file->Commit(); !c.ok()) {
      written = c;
    }
  }
  if (!written.ok()) {
    const int c = written.status().code() == ErrorCode::kIo ? kExitError : kExitRejected;
    return ReportFailure(o, p, Failure{c, "output", written.status()});
  }
  const Totals totals = Count(out->value);
  if (o.json) {
    p.summary.Set("result", JsonValue::String("ok"));
    p.summary.Set("elapsed_ms", JsonValue::Integer(static_cast<int64_t>(seconds * 1000)));
    p.summary.Set("isolation", IsolationJson(out->isolation));
    p.summary.Set("weights", JsonValue::String(o.weights));
    p.summary.Set("tensors", JsonValue::Integer(static_cast<int64_t>(sources.size())));
    p.summary.Set("tensor_bytes", JsonValue::Integer(static_cast<int64_t>(totals.tensor_bytes)));
    p.summary.Set("file_bytes", JsonValue::Integer(static_cast<int64_t>(*written)));
    p.summary.Set("skipped", StringArray(skipped));
    p.summary.Set("reader_check", JsonValue::String("ok"));
    std::cout << signing::SerializeJson(p.summary) << "\n";
    return kExitOk;
  }
  for (const auto& l : p.text) std::cout << l << "\n";
  std::cout << "sandbox: state_dict " << Printable(p.record) << " in "
            << FloatText(static_cast<double>(static_cast<int64_t>(seconds * 1000)) / 1000)
            << " s\n";
  std::cout << "isolation: " << IsolationText(out->isolation) << "\n";
  for (const auto& s : skipped) std::cout << "skipped (not a tensor): " << Printable(s) << "\n";
  std::cout << "wrote " << Printable(o.weights) << ": " << sources.size() << " tensors, "
            << Bytes(totals.tensor_bytes) << " of tensor data, " << *written
            << " bytes (read back by the strict reader)\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// run

// Result tensors by name for --output: a tensor is "output", list/tuple items "output.<i>",
// dict entries "output.<key>", nested likewise; anything else is reported and skipped.
void FlattenTensors(const sandbox::Value& root,
                    std::vector<std::pair<std::string, const sandbox::Value*>>* tensors,
                    std::vector<std::string>* skipped) {
  std::vector<std::pair<std::string, const sandbox::Value*>> stack{{"output", &root}};
  while (!stack.empty()) {
    auto [name, v] = stack.back();
    stack.pop_back();
    if (v->kind == sandbox::Kind::kTensor) {
      tensors->emplace_back(name, v);
    } else if (v->kind == sandbox::Kind::kList || v->kind == sandbox::Kind::kTuple) {
      for (size_t i = v->items.size(); i-- > 0;) {
        stack.emplace_back(name + "." + std::to_string(i), &v->items[i]);
      }
    } else if (v->kind == sandbox::Kind::kDict) {
      for (size_t i = v->entries.size(); i-- > 0;) {
        stack.emplace_back(name + "." + v->entries[i].first, &v->entries[i].second);
      }
    } else {
      skipped->push_back(name + " (" + KindName(v->kind) + ")");
    }
  }
}

// Writes `sources` to `path` atomically and reads the file back with the strict reader.
Result<uint64_t> WriteWeights(const std::string& path,
                              std::span<const sandbox::SafetensorsSource> sources,
                              std::span<const std::pair<std::string, std::string>> metadata,
                              const Limits& limits) {
  SEALPKG_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  SEALPKG_ASSIGN_OR_RETURN(
      uint64_t written,
      sandbox::WriteSafetensors(sources, metadata, limits.safetensors,
                                [&](std::span<const uint8_t> piece) { return file.Write(piece); }));
  SEALPKG_RETURN_IF_ERROR(CheckWritten(file.fd(), written, sources.size(), limits));
  SEALPKG_RETURN_IF_ERROR(file.Commit());
  return written;
}

int RunCall(const Options& o) {
  const Limits limits;
  Prepared p;
  if (auto f = Prepare(o, limits, p)) return ReportFailure(o, p, *f);

  // The input is read once and parsed here by the strict reader; the worker gets its tensors
  // in a sealed memfd, one C-contiguous storage each, positional in name order.
  auto input = FileBytes::Snapshot(o.input, limits.archive);
  if (!input.ok()) {
    return ReportFailure(o, p, Failure{ExitCodeFor(input.status()), "input", input.status()});
  }
  auto parsed = sandbox::ParseSafetensors(input->span(), limits.safetensors);
  if (!parsed.ok()) {
    return ReportFailure(o, p, Failure{kExitRejected, "input", parsed.status()});
  }
  if (parsed->tensors.size() > limits.sandbox.max_tensors) {
    return ReportFailure(o, p,
                         Failure{kExitRejected, "input",
                                 LimitExceeded("cli.input-tensors",
                                               "more input tensors than one request may carry")});
  }
  std::vector<std::span<const uint8_t>> chunks;
  for (const auto& t : parsed->tensors) chunks.push_back(parsed->Data(input->span(), t));
  std::vector<uint64_t> offsets;
  auto arena = sandbox::BuildSealedArena(chunks, &offsets);
  if (!arena.ok()) return ReportFailure(o, p, Failure{kExitError, "input", arena.status()});
  std::vector<sandbox::Value> args;
  JsonValue in_names = JsonValue::Array();
  for (size_t i = 0; i < parsed->tensors.size(); ++i) {
    const auto& t = parsed->tensors[i];
    sandbox::TensorRef ref;
    ref.dtype = t.dtype;
    ref.shape = t.shape;
    ref.strides.assign(t.shape.size(), 1);
    for (size_t d = t.shape.size(); d-- > 1;) {
      ref.strides[d - 1] = ref.strides[d] * std::max<int64_t>(t.shape[d], 1);
    }
    ref.fd_index = 0;
    ref.storage_byte_offset = offsets[i];
    ref.storage_nbytes = t.end - t.begin;
    args.push_back(sandbox::Value::Tensor(std::move(ref)));
    in_names.Append(JsonValue::String(t.name));
  }
  JsonValue rj = JsonValue::Object();
  rj.Set("package", JsonValue::String(p.package));
  rj.Set("resource", JsonValue::String(p.resource));
  rj.Set("method", JsonValue::String(o.call));
  rj.Set("inputs", std::move(in_names));
  rj.Set("input_sha256", JsonValue::String(Sha256Hex(input->span())));
  p.summary.Set("request", std::move(rj));

  auto opts = MakeLaunchOptions(o, p);
  if (!opts.ok()) return ReportFailure(o, p, Failure{kExitError, "sandbox", opts.status()});
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  // One deadline (--timeout) for start, load and call together.
  const sandbox::Deadline deadline = sandbox::DeadlineIn(opts->limits.wall_time_ms);
  sandbox::Session session(*opts);
  auto ready = session.Start(p.bytes->sealed_fd(), deadline);
  if (!ready.ok()) return ReportFailure(o, p, Failure{kExitError, "sandbox", ready.status()});
  if (ready->kind != sandbox::OutcomeKind::kOk)
    return ReportOutcomeFailure(o, p, *ready, elapsed());
  auto loaded =
      session.Request(sandbox::Value::Dict({{"op", sandbox::Value::Str("load")},
                                            {"package", sandbox::Value::Str(p.package)},
                                            {"resource", sandbox::Value::Str(p.resource)}}),
                      {}, deadline);
  if (!loaded.ok()) return ReportFailure(o, p, Failure{kExitError, "sandbox", loaded.status()});
  if (loaded->kind != sandbox::OutcomeKind::kOk) {
    loaded->isolation = session.isolation();
    return ReportOutcomeFailure(o, p, *loaded, elapsed());
  }
  const sandbox::Value* handle = loaded->value.Find("handle");
  const sandbox::Value* type = loaded->value.Find("type");
  if (handle == nullptr || handle->kind != sandbox::Kind::kInt) {
    return ReportFailure(
        o, p,
        Failure{kExitError, "sandbox", Malformed("cli.protocol", "load reply without a handle")});
  }
  const std::string type_name =
      type != nullptr && type->kind == sandbox::Kind::kStr ? type->s : "?";
  const int fd = arena->get();
  auto called =
      session.Request(sandbox::Value::Dict({{"op", sandbox::Value::Str("call")},
                                            {"handle", sandbox::Value::Int(handle->i)},
                                            {"method", sandbox::Value::Str(o.call)},
                                            {"args", sandbox::Value::List(std::move(args))},
                                            {"kwargs", sandbox::Value::Dict({})}}),
                      std::span<const int>(&fd, 1), deadline);
  if (!called.ok()) return ReportFailure(o, p, Failure{kExitError, "sandbox", called.status()});
  if (called->kind != sandbox::OutcomeKind::kOk) {
    called->isolation = session.isolation();
    return ReportOutcomeFailure(o, p, *called, elapsed());
  }
  sandbox::LoadOutcome closed = session.Close(deadline);
  if (closed.kind != sandbox::OutcomeKind::kOk)
    return ReportOutcomeFailure(o, p, closed, elapsed());
  const double seconds = elapsed();
  sandbox::LoadOutcome& out = *called;
  out.isolation = session.isolation();

  uint64_t written = 0;
  std::vector<std::string> skipped;
  size_t written_tensors = 0;
  if (!o.output.empty()) {
    std::vector<sandbox::MappedArena> arenas;
    for (size_t i = 0; i < out.fds.size(); ++i) {
      auto m = sandbox::MappedArena::Map(out.fds[i].get(), out.fd_sizes[i], false);
      if (!m.ok()) return ReportFailure(o, p, Failure{kExitError, "result", m.status()});
      arenas.push_back(std::move(*m));
    }
    std::vector<std::pair<std::string, const sandbox::Value*>> tensors;
    FlattenTensors(out.value, &tensors, &skipped);
    std::vector<sandbox::SafetensorsSource> sources;
    for (const auto& [name, v] : tensors) {
      const auto& t = v->tensor;
      sources.push_back({name, t,
                         std::span<const uint8_t>(arenas[t.fd_index].data() + t.storage_byte_offset,
                                                  t.storage_nbytes)});
    }
    const std::vector<std::pair<std::string, std::string>> metadata = {
        {"format", "pt"},
        {"source_sha256", p.sha256},
        {"source_resource", p.record},
        {"method", o.call},
        {"input_sha256", Sha256Hex(input->span())}};
    auto w = WriteWeights(o.output, sources, metadata, limits);
    if (!w.ok()) {
      const int c = w.status().code() == ErrorCode::kIo || w.status().code() == ErrorCode::kInternal
                        ? kExitError
                        : kExitRejected;
      return ReportFailure(o, p, Failure{c, "output", w.status()});
    }
    written = *w;
    written_tensors = sources.size();
  }
  const Totals totals = Count(out.value);
  if (o.json) {
    p.summary.Set("result", JsonValue::String("ok"));
    p.summary.Set("type", JsonValue::String(type_name));
    p.summary.Set("elapsed_ms", JsonValue::Integer(static_cast<int64_t>(seconds * 1000)));
    p.summary.Set("isolation", IsolationJson(out.isolation));
    p.summary.Set("tensors", JsonValue::Integer(static_cast<int64_t>(totals.tensors)));
    p.summary.Set("tensor_bytes", JsonValue::Integer(static_cast<int64_t>(totals.tensor_bytes)));
    p.summary.Set("value", ValueJson(out.value));
    if (!o.output.empty()) {
      p.summary.Set("output", JsonValue::String(o.output));
      p.summary.Set("file_bytes", JsonValue::Integer(static_cast<int64_t>(written)));
      p.summary.Set("skipped", StringArray(skipped));
    }
    std::cout << signing::SerializeJson(p.summary) << "\n";
    return kExitOk;
  }
  for (const auto& l : p.text) std::cout << l << "\n";
  std::cout << "sandbox: load " << Printable(p.record) << " -> " << Printable(type_name) << ", "
            << Printable(o.call) << "(" << parsed->tensors.size() << " tensors) in "
            << FloatText(static_cast<double>(static_cast<int64_t>(seconds * 1000)) / 1000)
            << " s\n";
  std::cout << "isolation: " << IsolationText(out.isolation) << "\n";
  std::cout << "result: " << totals.tensors << " tensors, " << Bytes(totals.tensor_bytes)
            << " of tensor data\n";
  size_t lines = 0;
  Walk(out.value, [&](const std::string& label, const sandbox::Value& v, size_t depth) {
    if (lines++ >= kMaxTreeLines) return;
    std::cout << std::string(2 * depth, ' ') << (depth == 0 ? "" : Printable(label) + ": ")
              << Describe(v) << "\n";
  });
  if (!o.output.empty()) {
    for (const auto& sk : skipped) std::cout << "skipped (not a tensor): " << Printable(sk) << "\n";
    std::cout << "wrote " << Printable(o.output) << ": " << written_tensors << " tensors, "
              << written << " bytes (read back by the strict reader)\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// Registration

constexpr const char* kDiscoveryHelp =
    "Worker: --worker, else $SEALPKG_WORKER, else the first executable of\n"
    "  <dir of sealpkg>/sealpkg-worker, <dir of sealpkg>/../python/sealpkg/sealpkg-worker\n"
    "  (the build tree), <dir of sealpkg>/../libexec/sealpkg/sealpkg-worker (installed).\n"
    "Python path (where the worker imports sealpkg from): --python-path, else\n"
    "  $SEALPKG_PYTHONPATH, else the folder holding the worker's sealpkg/ package (when the\n"
    "  worker sits in one), else <dir of sealpkg>/../python (the build tree), else\n"
    "  <dir of sealpkg>/../<python dir of the install> (installed), else none.\n";

constexpr const char* kExitHelp =
    "Exit codes: 0 ok; 1 rejected before the sandbox (policy, signature, statement, static\n"
    "verifier) or refused result; 2 usage or I/O error (bad --resource, worker not found);\n"
    "3 contained: the worker was stopped (seccomp kill, CPU/memory limit, timeout, crash,\n"
    "protocol error, degraded sandbox with --require-full-isolation), the message names the\n"
    "layer; 4 the load raised inside the sandbox (e.g. a type that cannot cross the boundary).\n";

void AddCommon(CLI::App* cmd, Options& o) {
  cmd->add_option("PKG", o.package, "torch.package archive")->required();
  cmd->add_option("--policy", o.policy,
                  "builtin:weights-only | builtin:data-only | builtin:torchvision | FILE.toml "
                  "(signed: FILE.toml.sig)")
      ->capture_default_str();
  cmd->add_option("--trust", o.trust,
                  "trust store directory: the package signature must verify first");
  cmd->add_flag("--require-signature", o.require_signature,
                "refuse an unsigned package (trust store: --trust, else $SEALPKG_HOME or "
                "~/.config/sealpkg)");
  cmd->add_flag("--unsafe-unsigned-policy", o.unsafe_unsigned_policy,
                "UNSAFE: load a policy file without its signature (local experiments only)");
  cmd->add_option("--resource", o.resource,
                  "PKG/RES of the pickle to load, e.g. model/model.pkl (default: the only .pkl "
                  "record)");
  cmd->add_flag("--json", o.json, "print one JSON document instead of text");
  cmd->add_option("--timeout", o.timeout_seconds, "wall-clock limit of the worker, seconds")
      ->capture_default_str();
  cmd->add_option("--memory", o.memory,
                  "address-space limit of the worker, bytes (suffixes k, M, G = 1024^n; "
                  "default 16G)")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--preload", o.preload,
                  "extra module imported before lockdown (repeatable); the package's own "
                  "policy-allowed externs are imported too when this machine has them");
  cmd->add_flag("--require-full-isolation", o.require_full_isolation,
                "refuse to load if any isolation layer is missing (exit 3)");
  cmd->add_option("--worker", o.worker, "sealpkg-worker executable (see discovery below)");
  cmd->add_option("--python-path", o.python_path,
                  "folder the worker imports sealpkg from (see discovery below)");
}

}  // namespace

void RegisterSandbox(CLI::App& app, std::function<int()>& run) {
  auto lo = std::make_shared<Options>();
  lo->command = "load";
  CLI::App* load = app.add_subcommand(
      "load", "Verify a package, then unpickle it in the sandboxed worker and show the result.");
  AddCommon(load, *lo);
  load->add_flag("--state-dict", lo->state_dict,
                 "return the loaded module's state_dict() instead of the object itself");
  load->footer(
      std::string("PKG is read once; the policy, the signature (with --trust or\n"
                  "--require-signature, or when the policy requires one) and the static verifier\n"
                  "check those bytes here before any worker starts, and the worker receives that\n"
                  "same sealed copy. Only plain data and tensors come back (a module does not:\n"
                  "use --state-dict). Prints the checks, the isolation layers that were active,\n"
                  "the time, and a tree of keys, types, tensor dtypes and shapes.\n") +
      kDiscoveryHelp + kExitHelp);
  load->callback([&run, lo] { run = [lo] { return RunLoad(*lo); }; });

  auto eo = std::make_shared<Options>();
  eo->command = "extract";
  CLI::App* extract =
      app.add_subcommand("extract",
                         "Verify a package, run state_dict() in the sandbox, write the tensors as "
                         "safetensors.");
  AddCommon(extract, *eo);
  extract->add_option("--weights", eo->weights, "output .safetensors file")->required();
  extract->add_flag("--strict", eo->strict,
                    "refuse (exit 1, nothing written) when a state_dict entry is not a tensor; "
                    "default: report and skip it");
  extract->footer(
      std::string("The output is written by sealpkg from the checked tensor memfds: tensor\n"
                  "names sorted, header padded to 8 bytes, strided tensors copied into C order,\n"
                  "tensors sharing storage written separately, __metadata__ {format: pt,\n"
                  "source_sha256, source_resource}. Written to a temporary file and renamed\n"
                  "(mode 0644): nothing is left at --weights on failure.\n") +
      kDiscoveryHelp + kExitHelp);
  extract->callback([&run, eo] { run = [eo] { return RunExtract(*eo); }; });

  auto ro = std::make_shared<Options>();
  ro->command = "run";
  CLI::App* call = app.add_subcommand(
      "run",
      "Verify a package, load it in a sandbox session and call one of its methods on "
      "tensors from a safetensors file.");
  AddCommon(call, *ro);
  call->add_option("--call", ro->call, "public method to call, e.g. forward")->required();
  call->add_option("--input", ro->input,
                   "safetensors file: each tensor is one positional argument, in byte-wise name "
                   "order (0, 1, ... sorts as 0, 1, 10, 2: name them a, b, ...)")
      ->required();
  call->add_option("--output", ro->output,
                   "write the result's tensors as safetensors (a tensor: 'output'; list/tuple "
                   "items 'output.<i>'; dict entries 'output.<key>'; others skipped)");
  call->footer(
      std::string("The input file is read once and parsed by sealpkg's strict reader in the\n"
                  "parent; its tensors reach the worker in one sealed memfd. The object stays in\n"
                  "the worker (load, then call under torch.no_grad(), in one session within\n"
                  "--timeout); only the result's plain data and tensors come back. Without\n"
                  "--output a tree of the result is printed.\n") +
      kDiscoveryHelp + kExitHelp);
  call->callback([&run, ro] { run = [ro] { return RunCall(*ro); }; });
}

}  // namespace sealpkg::cli
