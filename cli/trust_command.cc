// `sealpkg trust init|add|revoke|rotate|update|show`: the local trust store (signing/trust_store.h)
// and the signed-policy loader shared by `verify`, `scan` and `policy`.
//
// Root private keys are never stored: every mutation builds the next trust root (version N+1),
// signs it with the PEM key files named by --root-key (or --sign-old/--sign-new for rotation),
// and goes through TrustStore::Update like any N+1 document, so the same threshold, version and
// expiry rules apply to the CLI as to a root received from elsewhere.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/limits.h"
#include "core/printable.h"
#include "signing/keys.h"
#include "signing/signed_policy.h"
#include "signing/trust_store.h"
#include "signing/verify_package.h"

namespace sealpkg::cli {

int ExitCodeFor(const Status& status) {
  return status.code() == ErrorCode::kIo || status.code() == ErrorCode::kInternal ? kExitError
                                                                                  : kExitRejected;
}

Result<CheckedPolicy> LoadCheckedPolicy(const std::string& spec, const std::string& trust_dir,
                                        bool unsafe_unsigned) {
  if (spec.starts_with("builtin:")) {
    SEALPKG_ASSIGN_OR_RETURN(verifier::Policy p, verifier::LoadBuiltinPolicy(spec));
    return CheckedPolicy{std::move(p), "builtin", {}};
  }
  const PolicyLimits limits;
  SEALPKG_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                           signing::ReadSmallFile(spec, limits.max_policy_bytes));
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (unsafe_unsigned) {
    SEALPKG_ASSIGN_OR_RETURN(verifier::Policy p, verifier::ParsePolicy(text, limits));
    return CheckedPolicy{std::move(p), "UNSIGNED (--unsafe-unsigned-policy)", {}};
  }
  const std::string sig_path = signing::DetachedSignaturePath(spec);
  auto sig = signing::ReadSmallFile(sig_path, SigningLimits{}.max_json_bytes);
  if (!sig.ok()) {
    if (sig.status().reason() != "io.missing") return sig.status();
    return SignatureInvalid(
        std::string(signing::kPolicyUnsigned),
        "policy file '" + Printable(spec) + "' has no signature '" + Printable(sig_path) +
            "' (sign it with `sealpkg policy sign`; "
            "--unsafe-unsigned-policy loads it unsigned for local experiments)");
  }
  SEALPKG_ASSIGN_OR_RETURN(
      signing::TrustStore store,
      signing::TrustStore::Open(trust_dir.empty() ? signing::TrustStore::DefaultDirectory()
                                                  : trust_dir));
  SEALPKG_ASSIGN_OR_RETURN(signing::VerifiedPolicy v,
                           signing::VerifySignedPolicy(bytes, *sig, store));
  SEALPKG_ASSIGN_OR_RETURN(verifier::Policy p, verifier::ParsePolicy(text, limits));
  // security: the signed claims are the truth; the TOML must not say something else.
  if (p.name != v.claims.name || p.version != v.claims.version) {
    return SignatureInvalid(std::string(signing::kPolicyMismatch),
                            "the policy file names '" + Printable(p.name) + "' version " +
                                std::to_string(p.version) + " but its signature covers '" +
                                Printable(v.claims.name) + "' version " +
                                std::to_string(v.claims.version));
  }
  SEALPKG_RETURN_IF_ERROR(store.RecordPolicyVersion(v.claims.name, v.claims.version));
  return CheckedPolicy{std::move(p), "signed", std::move(v.key_ids)};
}

namespace {

using signing::PrivateKey;
using signing::PublicKey;
using signing::TrustRoot;
using signing::TrustStore;

constexpr int64_t kDefaultLifetime = int64_t{365} * 86400;

struct TrustCli {
  std::string dir;
  std::vector<std::string> root_keys;  // private key files that sign the next root
  std::vector<std::string> new_roots;  // rotate: public key files of the new root
  std::vector<std::string> sign_new;   // rotate: private keys of the new root
  std::string import_file;
  std::string key;  // add: public key file
  std::string role;
  std::string key_id;  // revoke
  std::string not_before, not_after, expires;
  uint32_t threshold = 0;
  bool json = false;
};

std::string Dir(const TrustCli& o) {
  return o.dir.empty() ? TrustStore::DefaultDirectory() : o.dir;
}

int Fail(std::string_view cmd, const Status& s) {
  std::cerr << "sealpkg trust " << cmd << ": error: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

Result<std::vector<PrivateKey>> ReadPrivateKeys(const std::vector<std::string>& paths) {
  std::vector<PrivateKey> keys;
  for (const std::string& p : paths) {
    SEALPKG_ASSIGN_OR_RETURN(PrivateKey k, signing::ReadPrivateKeyFile(p));
    keys.push_back(std::move(k));
  }
  return keys;
}

Result<std::optional<int64_t>> OptionalTime(const std::string& text) {
  if (text.empty()) return std::optional<int64_t>();
  SEALPKG_ASSIGN_OR_RETURN(int64_t t, signing::ParseTrustTime(text));
  return std::optional<int64_t>(t);
}

signing::TrustKeyRecord RecordOf(const PublicKey& key, std::optional<int64_t> not_before,
                                 std::optional<int64_t> not_after) {
  return signing::TrustKeyRecord{key.key_id(), key, key.algorithm(), not_before, not_after};
}

// Drops key records no role lists any more (revoked ids stay in `revoked`).
void DropUnusedKeys(TrustRoot& root) {
  std::erase_if(root.keys, [&](const signing::TrustKeyRecord& k) {
    for (const auto& [name, role] : root.roles) {
      if (std::find(role.key_ids.begin(), role.key_ids.end(), k.key_id) != role.key_ids.end()) {
        return false;
      }
    }
    return true;
  });
}

// Signs `next` (version and expiry set here) with `keys` and applies it as an N+1 update.
Status Commit(TrustStore& store, TrustRoot next, const std::vector<PrivateKey>& keys,
              const std::string& expires) {
  next.version = store.root().version + 1;
  if (!expires.empty()) {
    SEALPKG_ASSIGN_OR_RETURN(next.expires, signing::ParseTrustTime(expires));
  }
  std::vector<const PrivateKey*> ptrs;
  for (const PrivateKey& k : keys) ptrs.push_back(&k);
  SEALPKG_ASSIGN_OR_RETURN(std::string json, signing::SignTrustRoot(next, ptrs));
  return store.Update({reinterpret_cast<const uint8_t*>(json.data()), json.size()});
}

int RunInit(const TrustCli& o) {
  const std::string dir = Dir(o);
  if (!o.import_file.empty()) {
    auto bytes = signing::ReadSmallFile(o.import_file, TrustLimits{}.max_trust_bytes);
    if (!bytes.ok()) return Fail("init", bytes.status());
    auto store = TrustStore::Initialize(dir, *bytes);
    if (!store.ok()) return Fail("init", store.status());
    std::cout << "pinned trust root version " << store->root().version << " in " << dir << "\n";
    return kExitOk;
  }
  if (o.root_keys.empty()) {
    return Fail("init", Malformed("usage", "give --root-key FILE (or --import TRUST.json)"));
  }
  auto keys = ReadPrivateKeys(o.root_keys);
  if (!keys.ok()) return Fail("init", keys.status());
  TrustRoot root;
  root.version = 1;
  root.expires = signing::SystemTrustNow() + kDefaultLifetime;
  if (!o.expires.empty()) {
    auto t = signing::ParseTrustTime(o.expires);
    if (!t.ok()) return Fail("init", t.status());
    root.expires = *t;
  }
  signing::TrustRole root_role;
  std::vector<const PrivateKey*> ptrs;
  for (const PrivateKey& k : *keys) {
    if (root.FindKey(k.public_key().key_id()) != nullptr) continue;
    root.PutKey(RecordOf(k.public_key(), std::nullopt, std::nullopt));
    root_role.key_ids.push_back(k.public_key().key_id());
    ptrs.push_back(&k);
  }
  root_role.threshold = o.threshold != 0 ? o.threshold : 1;
  root.roles[std::string(signing::kRoleRoot)] = root_role;
  root.roles[std::string(signing::kRolePackageSigner)] = {};
  root.roles[std::string(signing::kRolePolicySigner)] = {};
  auto json = signing::SignTrustRoot(root, ptrs);
  if (!json.ok()) return Fail("init", json.status());
  auto store =
      TrustStore::Initialize(dir, {reinterpret_cast<const uint8_t*>(json->data()), json->size()});
  if (!store.ok()) return Fail("init", store.status());
  std::cout << "initialised trust store " << dir << " (version 1, " << root_role.key_ids.size()
            << " root key(s), threshold " << root_role.threshold << ", expires "
            << signing::FormatTrustTime(root.expires) << ")\n";
  return kExitOk;
}

int RunAdd(const TrustCli& o) {
  auto store = TrustStore::Open(Dir(o));
  if (!store.ok()) return Fail("add", store.status());
  auto key = signing::ReadPublicKeyFile(o.key);
  if (!key.ok()) return Fail("add", key.status());
  auto not_before = OptionalTime(o.not_before);
  if (!not_before.ok()) return Fail("add", not_before.status());
  auto not_after = OptionalTime(o.not_after);
  if (!not_after.ok()) return Fail("add", not_after.status());
  auto signers = ReadPrivateKeys(o.root_keys);
  if (!signers.ok()) return Fail("add", signers.status());
  TrustRoot next = store->root();
  next.PutKey(RecordOf(*key, *not_before, *not_after));
  signing::TrustRole& role = next.roles[o.role];
  if (std::find(role.key_ids.begin(), role.key_ids.end(), key->key_id()) == role.key_ids.end()) {
    role.key_ids.push_back(key->key_id());
  }
  if (o.threshold != 0) role.threshold = o.threshold;
  const Status st = Commit(*store, std::move(next), *signers, o.expires);
  if (!st.ok()) return Fail("add", st);
  std::cout << "added key " << key->key_id() << " (" << signing::KeyAlgorithmName(key->algorithm())
            << ") to role " << o.role << "; trust root is now version " << store->root().version
            << "\n";
  return kExitOk;
}

int RunRevoke(const TrustCli& o) {
  auto store = TrustStore::Open(Dir(o));
  if (!store.ok()) return Fail("revoke", store.status());
  auto signers = ReadPrivateKeys(o.root_keys);
  if (!signers.ok()) return Fail("revoke", signers.status());
  TrustRoot next = store->root();
  if (!next.IsRevoked(o.key_id)) {
    next.revoked.insert(std::lower_bound(next.revoked.begin(), next.revoked.end(), o.key_id),
                        o.key_id);
  }
  const Status st = Commit(*store, std::move(next), *signers, o.expires);
  if (!st.ok()) return Fail("revoke", st);
  std::cout << "revoked key " << o.key_id << "; trust root is now version " << store->root().version
            << "\n";
  return kExitOk;
}

int RunRotate(const TrustCli& o) {
  auto store = TrustStore::Open(Dir(o));
  if (!store.ok()) return Fail("rotate", store.status());
  auto old_keys = ReadPrivateKeys(o.root_keys);
  if (!old_keys.ok()) return Fail("rotate", old_keys.status());
  auto new_keys = ReadPrivateKeys(o.sign_new);
  if (!new_keys.ok()) return Fail("rotate", new_keys.status());
  TrustRoot next = store->root();
  signing::TrustRole role;
  for (const std::string& path : o.new_roots) {
    auto key = signing::ReadPublicKeyFile(path);
    if (!key.ok()) return Fail("rotate", key.status());
    next.PutKey(RecordOf(*key, std::nullopt, std::nullopt));
    if (std::find(role.key_ids.begin(), role.key_ids.end(), key->key_id()) == role.key_ids.end()) {
      role.key_ids.push_back(key->key_id());
    }
  }
  role.threshold = o.threshold != 0 ? o.threshold : 1;
  next.roles[std::string(signing::kRoleRoot)] = role;
  DropUnusedKeys(next);
  std::vector<PrivateKey> all = std::move(*old_keys);
  for (PrivateKey& k : *new_keys) all.push_back(std::move(k));
  const Status st = Commit(*store, std::move(next), all, o.expires);
  if (!st.ok()) return Fail("rotate", st);
  std::cout << "rotated the root to " << role.key_ids.size() << " key(s), threshold "
            << role.threshold << "; trust root is now version " << store->root().version << "\n";
  return kExitOk;
}

int RunUpdate(const TrustCli& o) {
  auto store = TrustStore::Open(Dir(o));
  if (!store.ok()) return Fail("update", store.status());
  auto bytes = signing::ReadSmallFile(o.import_file, TrustLimits{}.max_trust_bytes);
  if (!bytes.ok()) return Fail("update", bytes.status());
  const Status st = store->Update(*bytes);
  if (!st.ok()) return Fail("update", st);
  std::cout << "trust root updated to version " << store->root().version << "\n";
  return kExitOk;
}

int RunShow(const TrustCli& o) {
  auto store = TrustStore::Open(Dir(o));
  if (!store.ok()) return Fail("show", store.status());
  const TrustRoot& r = store->root();
  if (o.json) {
    std::cout << signing::SerializeJson(signing::TrustRootToJson(r)) << "\n";
    return kExitOk;
  }
  const int64_t now = store->Now();
  std::cout << "trust store " << store->directory() << "\n"
            << "  version " << r.version << ", expires " << signing::FormatTrustTime(r.expires)
            << (now >= r.expires ? " (EXPIRED)" : "") << "\n";
  for (const auto& [name, role] : r.roles) {
    std::cout << "  role " << name << ": threshold " << role.threshold << " of "
              << role.key_ids.size() << "\n";
    for (const std::string& id : role.key_ids) {
      const signing::TrustKeyRecord* k = r.FindKey(id);
      const Status usable = signing::CheckKeyUsable(r, id, name, now);
      std::cout << "    " << id << " " << signing::KeyAlgorithmName(k->algorithm);
      if (k->not_before) std::cout << " from " << signing::FormatTrustTime(*k->not_before);
      if (k->not_after) std::cout << " until " << signing::FormatTrustTime(*k->not_after);
      if (!usable.ok()) std::cout << " [" << usable.reason() << "]";
      std::cout << "\n";
    }
  }
  std::cout << "  revoked: " << r.revoked.size() << "\n";
  for (const std::string& id : r.revoked) std::cout << "    " << id << "\n";
  const auto& st = store->state();
  std::cout << "  high-water marks: " << st.policies.size() << " policies, " << st.packages.size()
            << " packages\n";
  for (const auto& [name, v] : st.policies) {
    std::cout << "    policy " << Printable(name) << " >= " << v << "\n";
  }
  for (const auto& [name, v] : st.packages) {
    std::cout << "    package " << Printable(name) << " >= " << v << "\n";
  }
  return kExitOk;
}

void AddDir(CLI::App* cmd, TrustCli& o) {
  cmd->add_option("--dir", o.dir,
                  "trust store directory (default $SEALPKG_HOME or "
                  "~/.config/sealpkg)");
}

void AddRootKeys(CLI::App* cmd, TrustCli& o, const char* name = "--root-key") {
  cmd->add_option(name, o.root_keys,
                  "private key file (PEM) of a current root key; repeat until the root "
                  "threshold is met")
      ->required();
  cmd->add_option("--expires", o.expires, "new expiry of the trust root (YYYY-MM-DDTHH:MM:SSZ)");
}

}  // namespace

void RegisterTrust(CLI::App& app, std::function<int()>& run) {
  CLI::App* trust = app.add_subcommand(
      "trust", "Manage the local trust store (root keys, signer roles, revocations).");
  trust->require_subcommand(1);
  trust->footer(
      "Root private keys are never stored: each change is signed with the key files given by\n"
      "--root-key (PEM, unencrypted; keep them offline) and becomes trust root version N+1,\n"
      "which must be signed by a threshold of the old AND the new root keys.");

  auto io = std::make_shared<TrustCli>();
  CLI::App* init = trust->add_subcommand("init", "Create a trust store (pin the first root).");
  AddDir(init, *io);
  auto* rk =
      init->add_option("--root-key", io->root_keys, "private key file of a root key (repeatable)");
  auto* imp = init->add_option("--import", io->import_file,
                               "pin an existing trust.json received out of band instead");
  rk->excludes(imp);
  init->add_option("--threshold", io->threshold, "root signatures required (default 1)");
  init->add_option("--expires", io->expires, "expiry (default: one year from now)");
  init->callback([&run, io] { run = [io] { return RunInit(*io); }; });

  auto ao = std::make_shared<TrustCli>();
  CLI::App* add = trust->add_subcommand("add", "Add a public key to a role.");
  AddDir(add, *ao);
  add->add_option("--key", ao->key, "public key file (PEM)")->required();
  add->add_option("--role", ao->role, "role")
      ->required()
      ->check(CLI::IsMember({"root", "package-signer", "policy-signer"}));
  add->add_option("--not-before", ao->not_before, "key valid from (YYYY-MM-DDTHH:MM:SSZ)");
  add->add_option("--not-after", ao->not_after, "key valid until (YYYY-MM-DDTHH:MM:SSZ)");
  add->add_option("--threshold", ao->threshold, "set the role's threshold");
  AddRootKeys(add, *ao);
  add->callback([&run, ao] { run = [ao] { return RunAdd(*ao); }; });

  auto ro = std::make_shared<TrustCli>();
  CLI::App* revoke = trust->add_subcommand("revoke", "Revoke a key id (all roles).");
  AddDir(revoke, *ro);
  revoke->add_option("KEYID", ro->key_id, "key id (64 hex digits)")->required();
  AddRootKeys(revoke, *ro);
  revoke->callback([&run, ro] { run = [ro] { return RunRevoke(*ro); }; });

  auto to = std::make_shared<TrustCli>();
  CLI::App* rotate = trust->add_subcommand("rotate", "Replace the root keys.");
  AddDir(rotate, *to);
  rotate->add_option("--new-root", to->new_roots, "public key file of a new root key (repeatable)")
      ->required();
  rotate->add_option("--threshold", to->threshold, "new root threshold (default 1)");
  rotate->add_option("--sign-new", to->sign_new, "private key file of a new root key (repeatable)")
      ->required();
  AddRootKeys(rotate, *to, "--sign-old");
  rotate->callback([&run, to] { run = [to] { return RunRotate(*to); }; });

  auto uo = std::make_shared<TrustCli>();
  CLI::App* update = trust->add_subcommand("update", "Accept trust root N+1 made elsewhere.");
  AddDir(update, *uo);
  update->add_option("TRUST_JSON", uo->import_file, "the new trust.json")->required();
  update->callback([&run, uo] { run = [uo] { return RunUpdate(*uo); }; });

  auto so = std::make_shared<TrustCli>();
  CLI::App* show = trust->add_subcommand("show", "Print roles, keys, revocations and marks.");
  AddDir(show, *so);
  show->add_flag("--json", so->json, "print the trust root predicate as JSON");
  show->callback([&run, so] { run = [so] { return RunShow(*so); }; });
}

}  // namespace sealpkg::cli
