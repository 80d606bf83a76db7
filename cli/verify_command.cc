// `sealpkg verify PKG --policy P` and `sealpkg scan PATH...`: static verification against an
// allow-list policy. Nothing in the inputs is imported or executed.
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
#include "core/limits.h"
#include "core/printable.h"
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
};

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
  auto policy = verifier::LoadPolicySpec(o.policy, PolicyLimits{});
  if (!policy.ok()) {
    std::cerr << "sealpkg scan: error: " << policy.status().ToString() << "\n";
    return kExitError;
  }
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

int RunVerify(const Options& o) {
  auto policy = verifier::LoadPolicySpec(o.policy, PolicyLimits{});
  if (!policy.ok()) {
    std::cerr << "sealpkg verify: error: " << policy.status().ToString() << "\n";
    return kExitError;
  }
  return Print({verifier::VerifyPath(o.paths.front(), *policy, Limits{})}, o.format);
}

}  // namespace

void RegisterVerify(CLI::App& app, std::function<int()>& run) {
  auto vo = std::make_shared<Options>();
  CLI::App* verify = app.add_subcommand(
      "verify", "Check one package against an allow-list policy, statically (nothing runs).");
  verify->add_option("PKG", vo->paths, "package, checkpoint or pickle file")
      ->required()
      ->expected(1);
  verify
      ->add_option("--policy", vo->policy,
                   "builtin:weights-only | builtin:data-only | builtin:torchvision | FILE.toml")
      ->required();
  AddFormat(verify, *vo);
  verify->footer(
      "Finds every pickle by content and simulates it exactly as CPython would, scans every\n"
      "packaged Python source, and checks names, calls, storages, extern modules and resources\n"
      "against the policy. Exit codes: 0 accepted, 1 rejected (findings printed), 2 error.");
  verify->callback([&run, vo] { run = [vo] { return RunVerify(*vo); }; });

  auto so = std::make_shared<Options>();
  so->policy = "builtin:weights-only";
  CLI::App* scan = app.add_subcommand(
      "scan", "Verify many files and directories (recursive; files chosen by content).");
  scan->add_option("PATH", so->paths, "files and directories")->required();
  scan->add_option("--policy", so->policy, "policy to apply to every file")->capture_default_str();
  scan->add_option("-j,--jobs", so->jobs, "parallel workers (default: cores, at most 8)");
  AddFormat(scan, *so);
  scan->footer(
      "Directory members are opened when their first bytes could start a pickle, a ZIP, a\n"
      ".npy, tar or 7z file; those that turn out to be none are skipped. Files named on the\n"
      "command line are always verified. Symbolic links are not followed.\n"
      "Exit codes: 0 all accepted, 1 some rejected, 2 error (unreadable input, bad policy).");
  scan->callback([&run, so] { run = [so] { return RunScan(*so); }; });
}

}  // namespace sealpkg::cli
