// `sealpkg keygen [--algorithm p256|ed25519] -o PREFIX`: a signing key pair as PEM files,
// PREFIX.pem (private, mode 0600, never overwritten) and PREFIX.pub.pem (public).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "signing/keys.h"

namespace sealpkg::cli {
namespace {

struct KeygenOptions {
  std::string algorithm = "p256";
  std::string prefix;
};

int RunKeygen(const KeygenOptions& o) {
  const auto algorithm = o.algorithm == "ed25519" ? signing::KeyAlgorithm::kEd25519
                                                  : signing::KeyAlgorithm::kEcdsaP256Sha256;
  auto key = signing::PrivateKey::Generate(algorithm);
  if (!key.ok()) {
    std::cerr << "sealpkg keygen: error: " << key.status().ToString() << "\n";
    return kExitError;
  }
  const std::string priv = o.prefix + ".pem";
  const std::string pub = o.prefix + ".pub.pem";
  Status st = signing::WritePrivateKeyFile(priv, *key);
  if (st.ok()) {
    st = signing::WritePublicKeyFile(pub, key->public_key());
    if (!st.ok()) std::remove(priv.c_str());  // no half pair: the private key we just made
  }
  if (!st.ok()) {
    std::cerr << "sealpkg keygen: error: " << st.ToString() << "\n";
    return kExitError;
  }
  std::cout << "private key " << priv << " (mode 0600)\npublic key  " << pub << "\nkey id      "
            << key->public_key().key_id() << " (" << signing::KeyAlgorithmName(key->algorithm())
            << ")\n";
  return kExitOk;
}

}  // namespace

void RegisterKeygen(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<KeygenOptions>();
  CLI::App* cmd = app.add_subcommand("keygen", "Generate a signing key pair (PEM files).");
  cmd->add_option("--algorithm", o->algorithm,
                  "p256 (ECDSA P-256/SHA-256, OpenSSF model-signing compatible) or ed25519")
      ->check(CLI::IsMember({"p256", "ed25519"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->prefix, "writes PREFIX.pem (private) and PREFIX.pub.pem")
      ->required();
  cmd->footer(
      "Existing files are never overwritten. The private key is unencrypted PEM with\n"
      "mode 0600: keep it offline (root keys) or in a secret store (signer keys).");
  cmd->callback([&run, o] { run = [o] { return RunKeygen(*o); }; });
}

}  // namespace sealpkg::cli
