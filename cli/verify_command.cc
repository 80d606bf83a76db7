// `sealpkg verify PKG --policy P [--trust DIR]` and `sealpkg scan PATH...`: static verification
// against an allow-list policy, after the package signature when a trust store is involved
// (signing.md §6.7: signature -> statement -> policy (signed) -> static verifier). Nothing in
// the inputs is imported or executed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/printable.h"
#include "signing/json.h"
#include "signing/package_signature.h"
#include "signing/trust_store.h"
#include "signing/verify_package.h"
#include "verifier/pickle_machine.h"
#include "verifier/policy.h"
#include "verifier/report.h"

namespace sealpkg::cli {
namespace {

namespace fs = std::filesystem;
using verifier::VerifyReport;

struct Options {
  std::vector<std::string> paths;
  std::string policy;
  std::string format = "text";
  unsigned jobs = 0;
  std::string trust;  // trust store directory; empty: none given
  bool unsafe_unsigned_policy = false;
};

void AddPolicyTrust(CLI::App* cmd, Options& o, bool packages) {
  cmd->add_option("--trust", o.trust,
                  packages ? "trust store directory: check the package signature (and a signed "
                             "policy file) against it"
                           : "trust store directory for signed policy files (default "
                             "$SEALPKG_HOME or ~/.config/sealpkg)");
  cmd->add_flag("--unsafe-unsigned-policy", o.unsafe_unsigned_policy,
                "UNSAFE: load a policy file without its signature (local experiments only)");
}

Result<CheckedPolicy> LoadPolicy(const Options& o, const char* cmd) {
  auto p = LoadCheckedPolicy(o.policy, o.trust, o.unsafe_unsigned_policy);
  if (p.ok() && p->origin != "builtin" && p->origin != "signed") {
    std::cerr << "sealpkg " << cmd << ": warning: policy " << Printable(o.policy) << " is "
              << p->origin << "\n";
  }
  return p;
}

void AddFormat(CLI::App* cmd, Options& o) {
  cmd->add_option("--format", o.format, "output format")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->capture_default_str();
}

int Print(const std::vector<VerifyReport>& reports, const std::string& format) {
  if (format == "json") {
    std::cout << verifier::RenderJson(reports);
  } else if (format == "sarif") {
    std::cout << verifier::RenderSarif(reports, SEALPKG_VERSION);
  } else {
    std::cout << verifier::RenderText(reports, ::isatty(1) != 0);
  }
  bool io_error = false, rejected = false;
  for (const auto& r : reports) {
    rejected |= !r.accepted;
    for (const auto& f : r.findings) io_error |= f.code == verifier::code::kInputUnreadable;
  }
  return io_error ? kExitError : rejected ? kExitRejected : kExitOk;
}

// Directory members worth opening: a ZIP, .npy, tar or 7z signature, or a first byte that is a
// pickle opcode. Whether it really is a pickle is decided by running it, not by this guess.
bool Candidate(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[265] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto n = in.gcount();
  if (n <= 0) return false;
  if (n >= 262 && std::string_view(reinterpret_cast<const char*>(head) + 257, 5) == "ustar") {
    return true;
  }
  if (head[0] == 0x80 || head[0] == 0x93 || head[0] == 'P' || head[0] == '7') return true;
  return !verifier::OpName(head[0]).empty();
}

int RunScan(const Options& o) {
  auto checked = LoadPolicy(o, "scan");
  if (!checked.ok()) {
    std::cerr << "sealpkg scan: error: policy: " << checked.status().ToString() << "\n";
    return kExitError;
  }
  const verifier::Policy* policy = &checked->policy;
  struct Item {
    std::string path;
    bool explicit_file;
  };
  std::vector<Item> items;
  int walk_errors = 0;
  for (const auto& p : o.paths) {
    std::error_code ec;
    const auto st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st)) {
      std::cerr << "sealpkg scan: error: cannot access '" << Printable(p) << "'\n";
      ++walk_errors;
      continue;
    }
    if (!fs::is_directory(st)) {
      items.push_back({p, true});
      continue;
    }
    // Symlinks are not followed: a scan must not wander out of the tree it was given.
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto s = it->symlink_status(ec);
      if (!ec && fs::is_regular_file(s) && Candidate(it->path())) {
        items.push_back({it->path().string(), false});
      }
    }
    if (ec) {
      std::cerr << "sealpkg scan: error: walking '" << Printable(p) << "': " << ec.message()
                << "\n";
      ++walk_errors;
    }
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.path < b.path; });

  std::vector<std::unique_ptr<VerifyReport>> results(items.size());
  std::atomic<size_t> next{0}, done{0};
  const bool progress = ::isatty(2) != 0 && items.size() > 1;
  std::mutex progress_mu;
  const Limits limits;
  auto worker = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      auto r = std::make_unique<VerifyReport>(verifier::VerifyPath(items[i].path, *policy, limits));
      // A directory member that turned out not to be a model file is skipped, not reported.
      const bool unknown = r->format == "unknown" && r->findings.size() == 1 &&
                           r->findings[0].code == verifier::code::kInputUnknownFormat;
      if (!(unknown && !items[i].explicit_file)) results[i] = std::move(r);
      const size_t d = ++done;
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        std::cerr << "\rscanned " << d << "/" << items.size() << std::flush;
      }
    }
  };
  const unsigned jobs =
      o.jobs != 0 ? o.jobs : std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < jobs && t < items.size(); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (progress) std::cerr << "\r\033[K";

  std::vector<VerifyReport> reports;
  for (auto& r : results) {
    if (r) reports.push_back(std::move(*r));
  }
  const int code = Print(reports, o.format);
  if (o.format == "text") {
    size_t rejected = 0;
    for (const auto& r : reports) rejected += !r.accepted;
    std::cout << reports.size() << " files verified (" << items.size() - reports.size()
              << " skipped: not model files), " << rejected << " rejected\n";
  }
  return walk_errors > 0 ? kExitError : code;
}

// Which §6.7 step a signature failure belongs to.
std::string CheckOf(const Status& s) {
  const std::string_view r = s.reason();
  if (r.starts_with("zip.")) return "archive";
  static const char* const kStatement[] = {
      "signature.statement-malformed", "signature.subject",        "signature.annotations",
      "signature.serialization",       "signature.entry-unsigned", "signature.entry-missing",
      "signature.entry-size",          "signature.entry-count",    "signature.entry-method",
      "signature.entry-digest",        "signature.layout",         "signature.central-directory",
      "signature.file-digest",         "signature.resource",       "trust.package-version",
      "trust.package-rollback"};
  for (const char* k : kStatement) {
    if (r == k) return "statement";
  }
  return "signature";
}

using signing::JsonValue;

JsonValue StringArray(const std::vector<std::string>& items) {
  JsonValue a = JsonValue::Array();
  for (const auto& i : items) a.Append(JsonValue::String(i));
  return a;
}

JsonValue StatusJson(const Status& s) {
  JsonValue e = JsonValue::Object();
  e.Set("kind", JsonValue::String(std::string(ErrorCodeName(s.code()))));
  e.Set("reason", JsonValue::String(std::string(s.reason())));
  e.Set("entry", JsonValue::String(std::string(s.entry())));
  e.Set("message", JsonValue::String(std::string(s.message())));
  return e;
}

int RunVerify(const Options& o) {
  const std::string& path = o.paths.front();
  const bool text = o.format == "text";
  JsonValue summary = JsonValue::Object();
  auto finish = [&](const std::string& failed, const Status& error,
                    const std::vector<VerifyReport>& reports) {
    summary.Set("failed_check", failed.empty() ? JsonValue() : JsonValue::String(failed));
    if (!error.ok()) summary.Set("error", StatusJson(error));
    if (!text) {
      if (o.format == "sarif") {
        std::cout << verifier::RenderSarif(reports, SEALPKG_VERSION);
      } else {
        const std::string rest = verifier::RenderJson(reports);  // "{ ... }"
        std::cout << "{\"verification\": " << signing::SerializeJson(summary) << ","
                  << rest.substr(1);
      }
    } else if (!failed.empty()) {
      std::cout << "REJECTED " << Printable(path) << ": " << failed << " check failed\n  "
                << error.ToString() << "\n";
    }
  };

  // The policy first: it says whether a signature is required and by which role. Policy files
  // must be signed (checked against the trust store) unless --unsafe-unsigned-policy.
  auto checked = o.policy.empty() ? Result<CheckedPolicy>(InternalError("none", "none"))
                                  : LoadPolicy(o, "verify");
  if (!o.policy.empty()) {
    JsonValue pj = JsonValue::Object();
    pj.Set("spec", JsonValue::String(o.policy));
    if (checked.ok()) {
      pj.Set("origin", JsonValue::String(checked->origin));
      pj.Set("name", JsonValue::String(checked->policy.name));
      pj.Set("version", JsonValue::Integer(checked->policy.version));
      pj.Set("signer_key_ids", StringArray(checked->key_ids));
    }
    summary.Set("policy", std::move(pj));
    if (!checked.ok()) {
      if (text) std::cout << "policy: " << Printable(o.policy) << " REJECTED\n";
      finish("policy", checked.status(), {});
      return ExitCodeFor(checked.status());
    }
    if (text) {
      std::cout << "policy: " << Printable(checked->policy.name) << " version "
                << checked->policy.version << " (" << checked->origin;
      for (const auto& id : checked->key_ids) std::cout << ", signed by " << id;
      std::cout << ")\n";
    }
  }
  const verifier::Policy* policy = o.policy.empty() ? nullptr : &checked->policy;
  const bool need_signature =
      !o.trust.empty() || (policy != nullptr && policy->package.require_signature);
  if (!need_signature) {
    return Print({verifier::VerifyPath(path, *policy, Limits{})}, o.format);
  }

  // §6.7 steps 1-4: read once; the signature, statement and static checks all see these bytes.
  const Limits limits;
  auto bytes = FileBytes::Snapshot(path, limits.archive);
  if (!bytes.ok()) {
    finish("input", bytes.status(), {});
    return kExitError;
  }
  auto store = signing::TrustStore::Open(o.trust.empty() ? signing::TrustStore::DefaultDirectory()
                                                         : o.trust);
  if (!store.ok()) {
    finish("trust", store.status(), {});
    return ExitCodeFor(store.status());
  }
  const std::string sig_path = signing::DetachedSignaturePath(path);
  std::optional<std::vector<uint8_t>> detached;
  if (auto sig = signing::ReadSmallFile(sig_path, limits.signing.max_json_bytes); sig.ok()) {
    detached = std::move(*sig);
  } else if (sig.status().reason() != "io.missing") {
    finish("signature", sig.status(), {});
    return ExitCodeFor(sig.status());
  }
  signing::PackageTrustOptions topts;
  if (policy != nullptr) {
    topts.role = policy->package.signer_role;
    topts.min_threshold = policy->package.signer_threshold;
  }
  const size_t sep = path.find_last_of('/');
  const std::string base = sep == std::string::npos ? path : path.substr(sep + 1);
  auto trusted = signing::VerifyPackageWithTrust(bytes->span(), detached ? &*detached : nullptr,
                                                 base, *store, topts);
  JsonValue sj = JsonValue::Object();
  sj.Set("mode", JsonValue::String(detached ? "detached" : "embedded"));
  sj.Set("role", JsonValue::String(topts.role));
  if (!trusted.ok()) {
    summary.Set("signature", std::move(sj));
    const std::string failed = CheckOf(trusted.status());
    finish(failed, trusted.status(), {});
    return ExitCodeFor(trusted.status());
  }
  const signing::PackageVerification& v = trusted->verification;
  sj.Set("key_ids", StringArray(v.key_ids));
  sj.Set("threshold", JsonValue::Integer(trusted->threshold));
  sj.Set("statement_sha256", JsonValue::String(v.statement_sha256));
  sj.Set("package_name", JsonValue::String(v.package_name));
  sj.Set("package_version", JsonValue::String(v.package_version));
  sj.Set("signed_at", JsonValue::String(v.signed_at));
  summary.Set("signature", std::move(sj));
  if (text) {
    std::cout << "signature: OK (" << trusted->mode << ", " << v.key_ids.size() << " of "
              << trusted->threshold << " required " << trusted->role << " key(s))\n";
    for (const auto& id : v.key_ids) std::cout << "  signer " << id << "\n";
    if (!v.package_name.empty()) {
      std::cout << "  package " << Printable(v.package_name) << " version "
                << Printable(v.package_version) << "\n";
    }
    std::cout << "statement: OK (" << v.entry_count << " entries, sha256 " << v.statement_sha256
              << ")\n";
  }
  if (policy == nullptr) {
    finish("", Status(), {});
    if (text) std::cout << "ACCEPTED " << Printable(path) << " (signature only: no --policy)\n";
    return kExitOk;
  }
  VerifyReport report = verifier::VerifyBytes(bytes->span(), path, *policy, limits);
  if (!text) {
    finish(report.accepted ? "" : "static", Status(), {report});
    return report.accepted ? kExitOk : kExitRejected;
  }
  return Print({report}, o.format);
}

}  // namespace

void RegisterVerify(CLI::App& app, std::function<int()>& run) {
  auto vo = std::make_shared<Options>();
  CLI::App* verify = app.add_subcommand(
      "verify", "Check one package against an allow-list policy, statically (nothing runs).");
  verify->add_option("PKG", vo->paths, "package, checkpoint or pickle file")
      ->required()
      ->expected(1);
  verify->add_option("--policy", vo->policy,
                     "builtin:weights-only | builtin:data-only | builtin:torchvision | "
                     "FILE.toml (signed: FILE.toml.sig)");
  AddPolicyTrust(verify, *vo, true);
  AddFormat(verify, *vo);
  verify->footer(
      "Finds every pickle by content and simulates it exactly as CPython would, scans every\n"
      "packaged Python source, and checks names, calls, storages, extern modules and resources\n"
      "against the policy. With --trust DIR (or a policy with require_signature) the package\n"
      "signature is checked first: PKG.sig if present, else the embedded one, by keys of the\n"
      "trust store's package-signer role; then the signed statement, then the policy.\n"
      "--policy is required unless --trust is given (signature only).\n"
      "Exit codes: 0 accepted, 1 rejected (the failed check is named), 2 error.");
  verify->callback([&run, vo] {
    run = [vo] {
      if (vo->policy.empty() && vo->trust.empty()) {
        std::cerr << "sealpkg verify: error: --policy is required (or --trust for a "
                     "signature-only check)\n";
        return kExitError;
      }
      return RunVerify(*vo);
    };
  });

  auto so = std::make_shared<Options>();
  so->policy = "builtin:weights-only";
  CLI::App* scan = app.add_subcommand(
      "scan", "Verify many files and directories (recursive; files chosen by content).");
  scan->add_option("PATH", so->paths, "files and directories")->required();
  scan->add_option("--policy", so->policy, "policy to apply to every file")->capture_default_str();
  scan->add_option("-j,--jobs", so->jobs, "parallel workers (default: cores, at most 8)");
  AddPolicyTrust(scan, *so, false);
  AddFormat(scan, *so);
  scan->footer(
      "Directory members are opened when their first bytes could start a pickle, a ZIP, a\n"
      ".npy, tar or 7z file; those that turn out to be none are skipped. Files named on the\n"
      "command line are always verified. Symbolic links are not followed.\n"
      "Exit codes: 0 all accepted, 1 some rejected, 2 error (unreadable input, bad policy).");
  scan->callback([&run, so] { run = [so] { return RunScan(*so); }; });
}

}  // namespace sealpkg::cli
