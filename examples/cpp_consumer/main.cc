// sealpkg-consumer: decides whether a package file may be loaded, using only the installed
// sealpkg libraries (sealpkg::verifier, sealpkg::signing) and headers.
//
//   sealpkg-consumer PKG [--policy builtin:weights-only] [--key SIGNER.pub.pem [--sig PKG.sig]]
//
// The file is read once into sealed memory; the signature (detached with --sig, else the
// embedded one, checked against the one public key given) and the static verifier both see
// those same bytes. Exit: 0 accepted, 1 rejected (signature or policy), 2 usage or I/O error.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/status.h"
#include "signing/dsse.h"
#include "signing/keys.h"
#include "signing/package_signature.h"
#include "signing/verify_package.h"
#include "verifier/package_verifier.h"
#include "verifier/policy.h"
#include "verifier/report.h"

namespace {

struct Options {
  std::string package;
  std::string policy = "builtin:weights-only";
  std::optional<std::string> key;
  std::optional<std::string> sig;
};

constexpr int kAccepted = 0;
constexpr int kRejected = 1;
constexpr int kError = 2;

int Usage(const char* why) {
  std::cerr << "sealpkg-consumer: " << why << "\n"
            << "usage: sealpkg-consumer PKG [--policy builtin:NAME] [--key PUB.pem [--sig "
               "PKG.sig]]\n";
  return kError;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Checks the detached (`--sig`) or embedded signature with the single trusted key.
int CheckSignature(const Options& o, const sealpkg::FileBytes& bytes,
                   const sealpkg::Limits& limits) {
  using namespace sealpkg::signing;  // NOLINT
  sealpkg::Result<PublicKey> key = ReadPublicKeyFile(*o.key);
  if (!key.ok()) {
    std::cerr << "sealpkg-consumer: key " << *o.key << ": " << key.status().ToString() << "\n";
    return kError;
  }
  const StaticKeyResolver resolver({TrustedKey{*key, key->algorithm()}});
  VerifyOptions options;
  options.limits = limits;
  sealpkg::Result<PackageVerification> verified = [&]() -> sealpkg::Result<PackageVerification> {
    if (!o.sig) return VerifyEmbedded(bytes.span(), resolver, options);
    SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> bundle,
                             ReadSmallFile(*o.sig, limits.signing.max_json_bytes));
    return VerifyDetached(bytes.span(), bundle, BaseName(o.package), resolver, options);
  }();
  const char* mode = o.sig ? "detached" : "embedded";
  if (!verified.ok()) {
    std::cout << "signature: REJECTED (" << mode << ") " << verified.status().ToString() << "\n";
    return verified.status().code() == sealpkg::ErrorCode::kIo ? kError : kRejected;
  }
  std::cout << "signature: OK (" << mode << ") key " << key->key_id() << ", statement sha256 "
            << verified->statement_sha256 << "\n";
  return kAccepted;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--policy" || arg == "--key" || arg == "--sig") {
      std::optional<std::string> v = value();
      if (!v) return Usage(("missing value for " + arg).c_str());
      if (arg == "--policy") {
        o.policy = *v;
      } else if (arg == "--key") {
        o.key = *v;
      } else {
        o.sig = *v;
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(("unknown option " + arg).c_str());
    } else if (o.package.empty()) {
      o.package = arg;
    } else {
      return Usage("exactly one package");
    }
  }
  if (o.package.empty()) return Usage("missing package");
  if (o.sig && !o.key) return Usage("--sig needs --key (the signer's public key)");

  // Built-in policies only: a policy file from disk must be signed (see `sealpkg policy sign`).
  sealpkg::Result<sealpkg::verifier::Policy> policy =
      sealpkg::verifier::LoadBuiltinPolicy(o.policy);
  if (!policy.ok()) {
    std::cerr << "sealpkg-consumer: policy: " << policy.status().ToString() << "\n";
    return kError;
  }
  const sealpkg::Limits limits;
  sealpkg::Result<sealpkg::FileBytes> bytes =
      sealpkg::FileBytes::Snapshot(o.package, limits.archive);
  if (!bytes.ok()) {
    std::cerr << "sealpkg-consumer: " << o.package << ": " << bytes.status().ToString() << "\n";
    return kError;
  }

  if (o.key) {
    const int signature = CheckSignature(o, *bytes, limits);
    if (signature != kAccepted) return signature;
  }
  const sealpkg::verifier::VerifyReport report =
      sealpkg::verifier::VerifyBytes(bytes->span(), o.package, *policy, limits);
  std::cout << sealpkg::verifier::RenderText({report}, /*color=*/false);
  std::cout << "decision: " << (report.accepted ? "ACCEPT" : "REJECT") << " " << o.package
            << " under " << o.policy << " (" << report.format << ", " << report.pickles
            << " pickles, " << report.globals << " globals, " << report.findings.size()
            << " findings)\n";
  return report.accepted ? kAccepted : kRejected;
}
