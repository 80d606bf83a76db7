// `sealpkg sign PKG --key K [--detached]`: sign an existing package.
//
// Embedded (default): the signature becomes the archive's last entry; the file is rewritten to
// a temporary file and renamed over PKG, so PKG is never half-signed. Detached: PKG is left
// untouched and PKG.sig (an OMS v1.0 whole-file bundle) is written atomically.
#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/printable.h"
#include "signing/keys.h"
#include "signing/package_signature.h"
#include "signing/verify_package.h"

namespace sealpkg::cli {
namespace {

struct SignCli {
  std::string path;
  std::vector<std::string> keys;
  bool detached = false;
  std::string package_name;
  std::string package_version;
  std::string signed_at;
  unsigned threads = 0;
};

int Fail(const Status& s) {
  std::cerr << "sealpkg sign: error: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

bool IsDecimal(const std::string& v) {
  int64_t out = 0;
  if (v.empty() || v.size() > 15 || (v.size() > 1 && v[0] == '0')) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

std::string BaseName(const std::string& path) {
  const size_t sep = path.find_last_of('/');
  return sep == std::string::npos ? path : path.substr(sep + 1);
}

int RunSign(const SignCli& o) {
  if (!o.package_version.empty() && !IsDecimal(o.package_version)) {
    return Fail(Malformed("usage",
                          "--package-version must be a decimal integer (it is compared "
                          "against rollback high-water marks)"));
  }
  if (o.package_version.empty() != o.package_name.empty()) {
    return Fail(Malformed("usage", "give --package-name and --package-version together"));
  }
  std::vector<signing::PrivateKey> keys;
  for (const std::string& k : o.keys) {
    auto key = signing::ReadPrivateKeyFile(k);
    if (!key.ok()) return Fail(key.status());
    keys.push_back(std::move(*key));
  }
  std::vector<const signing::PrivateKey*> ptrs;
  for (const auto& k : keys) ptrs.push_back(&k);
  signing::SignOptions options;
  options.package_name = o.package_name;
  options.package_version = o.package_version;
  options.signed_at = o.signed_at;
  options.hashing.threads = o.threads;
  if (o.detached) {
    auto bytes = FileBytes::Snapshot(o.path, options.limits.archive);
    if (!bytes.ok()) return Fail(bytes.status());
    auto bundle = signing::SignDetached(bytes->span(), BaseName(o.path), ptrs, options);
    if (!bundle.ok()) return Fail(bundle.status());
    const std::string sig_path = signing::DetachedSignaturePath(o.path);
    const Status st = signing::WriteSignatureFile(sig_path, *bundle);
    if (!st.ok()) return Fail(st);
    std::cout << "wrote " << Printable(sig_path) << " (detached signature of " << Printable(o.path)
              << ")\n";
  } else {
    const Status st = signing::SignEmbeddedFile(o.path, ptrs, options);
    if (!st.ok()) return Fail(st);
    std::cout << "signed " << Printable(o.path) << " (embedded signature)\n";
  }
  for (const auto& k : keys) std::cout << "  key " << k.public_key().key_id() << "\n";
  return kExitOk;
}

}  // namespace

void RegisterSign(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<SignCli>();
  CLI::App* cmd = app.add_subcommand("sign", "Sign a package (embedded, or PKG.sig detached).");
  cmd->add_option("PKG", o->path, "package file")->required();
  cmd->add_option("--key", o->keys, "private key file (PEM); repeat for several signers")
      ->required();
  cmd->add_flag("--detached", o->detached,
                "write PKG.sig (OMS v1.0 whole-file bundle) and leave PKG untouched");
  cmd->add_option("--package-name", o->package_name,
                  "package identity recorded in the signature (rollback marks)");
  cmd->add_option("--package-version", o->package_version,
                  "decimal version; older versions are refused once a newer one was verified");
  cmd->add_option("--signed-at", o->signed_at,
                  "audit timestamp to record (default now; pin it for reproducible output)");
  cmd->add_option("-j,--threads", o->threads, "hashing threads (default: all cores)");
  cmd->footer(
      "Embedded signing rewrites PKG atomically (temporary file + rename): PKG is never\n"
      "left half-signed. Stock torch.package still loads an embedded-signed package.");
  cmd->callback([&run, o] { run = [o] { return RunSign(*o); }; });
}

}  // namespace sealpkg::cli
