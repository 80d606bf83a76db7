// `sealpkg verify PKG --policy P [--trust DIR]` and `sealpkg scan PATH...`: static verification
// against an allow-list policy, after the package signature when a trust store is involved
// (signing.md §6.7: signature -> statement -> policy (signed) -> static verifier). Nothing in
// the inputs is imported or executed.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/json_writer.h"
#include "core/limits.h"
#include "core/printable.h"
#include "core/sha256.h"
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
  std::string shard;  // scan: "I/N"; empty: everything
  std::string jsonl;  // scan: JSON-lines output file; empty: reports on stdout
  bool resume = false;
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

// --shard I/N: this run verifies only the files whose shard key hashes to I (0-based).
struct Shard {
  uint64_t index = 0;
  uint64_t count = 1;
};

// Largest N in --shard I/N. A shard per worker process of a large cluster is a few thousand;
// 2^20 keeps the parse trivially overflow-free.
constexpr uint64_t kMaxShards = uint64_t{1} << 20;

Result<Shard> ParseShard(std::string_view text) {
  auto number = [](std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 7) return false;
    out = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  Shard s;
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) ||
      !number(text.substr(slash + 1), s.count) || s.count == 0 || s.count > kMaxShards ||
      s.index >= s.count) {
    return Malformed("scan.shard",
                     "--shard wants I/N with 0 <= I < N <= " + std::to_string(kMaxShards) +
                         ", got '" + Printable(text) + "'");
  }
  return s;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The shard of a file: the first 8 bytes of SHA-256(key), big-endian, modulo N. The key is the
// path relative to the directory given on the command line (the file name for a file given
// directly), so a file keeps its shard when others are added or the tree is mounted elsewhere.
// Python: int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % N.
uint64_t ShardOf(std::string_view key, uint64_t count) {
  const Sha256Digest d = Sha256(Bytes(key));
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | d[i];
  return h % count;
}

// One scan result as a single JSON line (--jsonl). The head (path, path_hex when the path is
// not UTF-8, shard_key, status, policy) comes first in a fixed order so --resume can read it
// back without a general parser; the rest are the fields of `--format json`'s reports.
const char* StatusOf(const VerifyReport& r) {
  for (const auto& f : r.findings) {
    if (f.code == verifier::code::kInputUnreadable) return "error";
  }
  return r.accepted ? "accepted" : "rejected";
}

std::string JsonLiteral(std::string_view text) {
  JsonWriter j;
  j.String(text);
  return j.Take();
}

// The exact identity of a path in OUT: its JSON literal when the path is UTF-8 (lossless), else
// its hex bytes (the JSON "path" replaced invalid bytes with U+FFFD: two different paths could
// share it, and resume must never mistake an unscanned file for a scanned one).
std::string ResumeKey(std::string_view path) {
  return IsValidUtf8(path) ? "p" + JsonLiteral(path) : "x" + HexEncode(Bytes(path));
}

std::string RecordLine(const VerifyReport& r, const std::string& shard_key) {
  JsonWriter j;
  j.BeginObject();
  j.Key("path").String(r.path);
  if (!IsValidUtf8(r.path)) j.Key("path_hex").String(HexEncode(Bytes(r.path)));
  j.Key("shard_key").String(shard_key);
  j.Key("status").String(StatusOf(r));
  j.Key("policy").String(r.policy);
  j.Key("format").String(r.format);
  j.Key("accepted").Bool(r.accepted);
  j.Key("pickles").Uint(r.pickles);
  j.Key("globals").Uint(r.globals);
  j.Key("sources").Uint(r.sources);
  j.Key("storages").Uint(r.storages);
  j.Key("findings").BeginArray();
  for (const auto& f : r.findings) verifier::WriteFindingJson(j, f);
  j.EndArray();
  j.EndObject();
  return j.Take() + "\n";
}

// The head of a line written by RecordLine: {"path":L[,"path_hex":L],"shard_key":L,
// "status":L,"policy":L,... Anything else is not a record of ours.
struct RecordHead {
  std::string resume_key;
  std::string status;          // accepted | rejected | error
  std::string policy_literal;  // JSON literal, compared with the current policy's
};

std::optional<RecordHead> ParseRecordHead(std::string_view line) {
  size_t pos = 0;
  auto expect = [&](std::string_view token) {
    if (line.substr(pos, token.size()) != token) return false;
    pos += token.size();
    return true;
  };
  // A JSON string literal, quotes included; escapes are skipped, not decoded.
  auto literal = [&]() -> std::optional<std::string_view> {
    const size_t begin = pos;
    if (pos >= line.size() || line[pos] != '"') return std::nullopt;
    for (++pos; pos < line.size(); ++pos) {
      if (line[pos] == '\\') {
        ++pos;
      } else if (line[pos] == '"') {
        ++pos;
        return line.substr(begin, pos - begin);
      }
    }
    return std::nullopt;
  };
  RecordHead head;
  if (line.empty() || line.back() != '}' || !expect("{\"path\":")) return std::nullopt;
  const auto path = literal();
  if (!path) return std::nullopt;
  head.resume_key = "p" + std::string(*path);
  if (expect(",\"path_hex\":")) {
    const auto hex = literal();
    if (!hex || hex->size() < 2) return std::nullopt;
    head.resume_key = "x" + std::string(hex->substr(1, hex->size() - 2));
  }
  if (!expect(",\"shard_key\":") || !literal() || !expect(",\"status\":")) return std::nullopt;
  const auto status = literal();
  if (!status ||
      (*status != "\"accepted\"" && *status != "\"rejected\"" && *status != "\"error\"")) {
    return std::nullopt;
  }
  head.status = std::string(status->substr(1, status->size() - 2));
  if (!expect(",\"policy\":")) return std::nullopt;
  const auto policy = literal();
  if (!policy) return std::nullopt;
  head.policy_literal = std::string(*policy);
  return head;
}

// Verdicts already in OUT (--resume), by ResumeKey. A last line without its newline is what a
// kill mid-write leaves: it is cut off so the file ends with whole records again.
struct ResumeState {
  std::unordered_map<std::string, std::string> status_by_key;
};

Result<ResumeState> ReadForResume(const std::string& out, const std::string& policy_name) {
  ResumeState state;
  std::ifstream in(out, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(out, ec)) return state;  // nothing done yet
    return IoError("io.open", "cannot read '" + Printable(out) + "'");
  }
  const std::string policy = JsonLiteral(policy_name);
  std::string line;
  uint64_t whole = 0, number = 0;
  bool cut = false;
  while (std::getline(in, line)) {
    if (in.eof()) {  // no newline after it: a write interrupted by a kill
      cut = true;
      break;
    }
    ++number;
    const auto head = ParseRecordHead(line);
    if (!head) {
      return Malformed("scan.jsonl-record", "line " + std::to_string(number) + " of '" +
                                                Printable(out) + "' is not a sealpkg scan record");
    }
    if (head->policy_literal != policy) {
      return Malformed("scan.jsonl-policy", "line " + std::to_string(number) + " of '" +
                                                Printable(out) + "' was verified with policy " +
                                                Printable(head->policy_literal) + ", not \"" +
                                                Printable(policy_name) + "\"");
    }
    if (!state.status_by_key.emplace(head->resume_key, head->status).second) {
      return Malformed("scan.jsonl-duplicate", "line " + std::to_string(number) + " of '" +
                                                   Printable(out) + "' repeats a path");
    }
    whole += line.size() + 1;
  }
  if (in.bad()) return IoError("io.read", "reading '" + Printable(out) + "' failed");
  in.close();
  if (cut) {
    std::error_code ec;
    fs::resize_file(out, whole, ec);
    if (ec) return IoError("io.write", "truncating '" + Printable(out) + "': " + ec.message());
    std::cerr << "sealpkg scan: resume: dropped an incomplete last line of '" << Printable(out)
              << "'\n";
  }
  return state;
}

Status WriteAll(int fd, std::string_view data, const std::string& out) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return IoError("io.write", "writing '" + Printable(out) + "': " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

int RunScan(const Options& o) {
  Shard shard;
  if (!o.shard.empty()) {
    auto s = ParseShard(o.shard);
    if (!s.ok()) {
      std::cerr << "sealpkg scan: error: " << s.status().message() << "\n";
      return kExitError;
    }
    shard = *s;
  }
  const bool jsonl = !o.jsonl.empty();
  if (o.resume && !jsonl) {
    std::cerr << "sealpkg scan: error: --resume needs --jsonl OUT\n";
    return kExitError;
  }
  if (jsonl && o.format != "text") {
    std::cerr << "sealpkg scan: error: with --jsonl the reports go to OUT; --format must be "
                 "text (the summary)\n";
    return kExitError;
  }
  auto checked = LoadPolicy(o, "scan");
  if (!checked.ok()) {
    std::cerr << "sealpkg scan: error: policy: " << checked.status().ToString() << "\n";
    return kExitError;
  }
  const verifier::Policy* policy = &checked->policy;
  struct Item {
    std::string path;
    std::string shard_key;
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
      const std::string key = fs::path(p).filename().generic_string();
      if (ShardOf(key, shard.count) == shard.index) items.push_back({p, key, true});
      continue;
    }
    // Symlinks are not followed: a scan must not wander out of the tree it was given. Members
    // of other shards are not even opened.
    const fs::path root(p);
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
      const auto s = it->symlink_status(ec);
      if (ec || !fs::is_regular_file(s)) continue;
      std::string key = it->path().lexically_relative(root).generic_string();
      if (ShardOf(key, shard.count) == shard.index && Candidate(it->path())) {
        items.push_back({it->path().string(), std::move(key), false});
      }
    }
    if (ec) {
      std::cerr << "sealpkg scan: error: walking '" << Printable(p) << "': " << ec.message()
                << "\n";
      ++walk_errors;
    }
  }
  // Stable order: by path bytes, whatever order the file system lists them in. A file named
  // twice (directly and inside a directory) is verified once, as named directly.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.path != b.path ? a.path < b.path : a.explicit_file > b.explicit_file;
  });
  items.erase(std::unique(items.begin(), items.end(),
                          [](const Item& a, const Item& b) { return a.path == b.path; }),
              items.end());

  // --jsonl: what OUT already holds (--resume), then OUT opened for appending whole lines.
  ResumeState resumed;
  if (o.resume) {
    auto r = ReadForResume(o.jsonl, policy->name);
    if (!r.ok()) {
      std::cerr << "sealpkg scan: error: --resume: " << r.status().ToString() << "\n";
      return kExitError;
    }
    resumed = std::move(*r);
  }
  int out_fd = -1;
  if (jsonl) {
    const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (o.resume ? 0 : O_TRUNC);
    out_fd = ::open(o.jsonl.c_str(), flags, 0644);
    if (out_fd < 0) {
      std::cerr << "sealpkg scan: error: cannot open '" << Printable(o.jsonl)
                << "': " << std::strerror(errno) << "\n";
      return kExitError;
    }
  }
  struct Tally {
    size_t verified = 0, skipped = 0, rejected = 0, errors = 0, resumed = 0;
  } tally;
  std::vector<char> done_before(items.size(), 0);
  if (o.resume) {
    size_t matched = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto hit = resumed.status_by_key.find(ResumeKey(items[i].path));
      if (hit == resumed.status_by_key.end()) continue;
      done_before[i] = 1;
      ++matched;
      ++tally.verified;
      ++tally.resumed;
      tally.rejected += hit->second != "accepted";
      tally.errors += hit->second == "error";
    }
    if (matched != resumed.status_by_key.size()) {
      std::cerr << "sealpkg scan: warning: " << resumed.status_by_key.size() - matched
                << " record(s) in '" << Printable(o.jsonl)
                << "' are not part of this scan (kept, not counted)\n";
    }
  }

  // Workers verify out of order; results are committed in item order (the JSONL file is then
  // sorted, and what a kill leaves is a prefix that --resume continues exactly).
  std::vector<std::unique_ptr<VerifyReport>> results(items.size());
  std::vector<char> ready(done_before);
  std::vector<VerifyReport> reports;  // without --jsonl: printed at the end, as before
  size_t committed = 0;
  Status write_error;
  std::atomic<bool> stop{false};
  std::atomic<size_t> next{0}, done{tally.resumed};
  const bool progress = ::isatty(2) != 0 && items.size() > 1;
  std::mutex commit_mu;
  const Limits limits;
  auto commit_ready = [&] {  // holds commit_mu
    for (; committed < items.size() && ready[committed]; ++committed) {
      std::unique_ptr<VerifyReport> r = std::move(results[committed]);
      if (!r) continue;  // resumed, or skipped as not a model file
      if (!jsonl) {
        reports.push_back(std::move(*r));
        continue;
      }
      const std::string status = StatusOf(*r);
      ++tally.verified;
      tally.rejected += status != "accepted";
      tally.errors += status == "error";
      if (status != "accepted") std::cout << verifier::RenderText({*r}, ::isatty(1) != 0);
      if (write_error.ok()) {
        write_error = WriteAll(out_fd, RecordLine(*r, items[committed].shard_key), o.jsonl);
        if (!write_error.ok()) stop = true;
      }
    }
  };
  auto worker = [&] {
    for (size_t i = next++; i < items.size() && !stop; i = next++) {
      if (done_before[i]) continue;
      auto r = std::make_unique<VerifyReport>(verifier::VerifyPath(items[i].path, *policy, limits));
      // A directory member that turned out not to be a model file is skipped, not reported.
      const bool unknown = r->format == "unknown" && r->findings.size() == 1 &&
                           r->findings[0].code == verifier::code::kInputUnknownFormat;
      std::lock_guard<std::mutex> lock(commit_mu);
      if (unknown && !items[i].explicit_file) {
        ++tally.skipped;
      } else {
        results[i] = std::move(r);
      }
      ready[i] = 1;
      commit_ready();
      const size_t d = ++done;
      if (progress) {
        std::cerr << "\rscanned " << d << "/" << items.size();
        if (tally.resumed != 0) std::cerr << " (" << tally.resumed << " resumed)";
        std::cerr << std::flush;
      }
    }
  };
  {
    std::lock_guard<std::mutex> lock(commit_mu);
    commit_ready();  // a resumed prefix
  }
  const unsigned jobs =
      o.jobs != 0 ? o.jobs : std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < jobs && t < items.size(); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (progress) std::cerr << "\r\033[K";

  if (!jsonl) {
    const int code = Print(reports, o.format);
    if (o.format == "text") {
      size_t rejected = 0;
      for (const auto& r : reports) rejected += !r.accepted;
      std::cout << reports.size() << " files verified (" << items.size() - reports.size()
                << " skipped: not model files), " << rejected << " rejected\n";
    }
    return walk_errors > 0 ? kExitError : code;
  }
  const bool closed = ::close(out_fd) == 0;
  if (!write_error.ok() || !closed) {
    std::cerr << "sealpkg scan: error: "
              << (write_error.ok() ? "closing '" + Printable(o.jsonl) + "' failed"
                                   : write_error.ToString())
              << "\n";
    return kExitError;
  }
  std::cout << tally.verified << " files verified (" << tally.skipped
            << " skipped: not model files, " << tally.resumed << " resumed from "
            << Printable(o.jsonl) << "), " << tally.rejected << " rejected";
  if (shard.count > 1) std::cout << ", shard " << shard.index << "/" << shard.count;
  std::cout << "\n";
  return walk_errors > 0 || tally.errors > 0 ? kExitError
         : tally.rejected > 0                ? kExitRejected
                                             : kExitOk;
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
  scan->add_option("--shard", so->shard,
                   "I/N: verify only shard I (0-based) of N, chosen by a hash of each file's "
                   "path relative to the PATH it was found under");
  scan->add_option("--jsonl", so->jsonl,
                   "OUT: write one JSON object per verified file to OUT (in path order, "
                   "flushed per line); stdout then lists only rejected files and the totals");
  scan->add_flag("--resume", so->resume,
                 "with --jsonl: keep the records already in OUT and verify only the files not "
                 "in it (an incomplete last line is dropped and redone)");
  AddPolicyTrust(scan, *so, false);
  AddFormat(scan, *so);
  scan->footer(
      "Directory members are opened when their first bytes could start a pickle, a ZIP, a\n"
      ".npy, tar or 7z file; those that turn out to be none are skipped. Files named on the\n"
      "command line are always verified. Symbolic links are not followed. Files are verified\n"
      "in parallel and reported in byte order of their paths.\n"
      "Large collections: --shard I/N splits the files into N stable parts (a file's shard\n"
      "depends only on its relative path: first 8 bytes of SHA-256, big-endian, mod N);\n"
      "--jsonl OUT --resume continues an interrupted run. Progress goes to stderr on a TTY.\n"
      "Exit codes: 0 all accepted, 1 some rejected, 2 error (unreadable input, bad policy,\n"
      "bad --shard, OUT not writable or not a scan record file). With --resume the records\n"
      "already in OUT count too.");
  scan->callback([&run, so] { run = [so] { return RunScan(*so); }; });
}

signing::JsonValue StringArray(const std::vector<std::string>& items) {
  signing::JsonValue a = signing::JsonValue::Array();
  for (const auto& i : items) a.Append(signing::JsonValue::String(i));
  return a;
}

signing::JsonValue StatusJson(const Status& s) {
  signing::JsonValue e = signing::JsonValue::Object();
  e.Set("kind", signing::JsonValue::String(std::string(ErrorCodeName(s.code()))));
  e.Set("reason", signing::JsonValue::String(std::string(s.reason())));
  e.Set("entry", signing::JsonValue::String(std::string(s.entry())));
  e.Set("message", signing::JsonValue::String(std::string(s.message())));
  return e;
}

}  // namespace sealpkg::cli
