// `sealpkg policy infer PKG`, `sealpkg policy show NAME|FILE` and `sealpkg policy sign FILE`.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/limits.h"
#include "core/printable.h"
#include "signing/keys.h"
#include "signing/signed_policy.h"
#include "signing/trust_store.h"
#include "signing/verify_package.h"
#include "verifier/package_verifier.h"
#include "verifier/policy.h"
#include "verifier/report.h"

namespace sealpkg::cli {
namespace {

struct InferOptions {
  std::string path;
  std::string name;
  std::string output;
};

int RunInfer(const InferOptions& o) {
  const Limits limits;
  auto bytes = FileBytes::Snapshot(o.path, limits.archive);
  if (!bytes.ok()) {
    std::cerr << "sealpkg policy infer: error: " << bytes.status().ToString() << "\n";
    return kExitError;
  }
  const verifier::PackageFacts facts = verifier::CollectFacts(bytes->span(), o.path, limits);
  if (!facts.problems.empty()) {
    // A broken or hostile input has no least-privilege policy: show why, allow nothing.
    verifier::VerifyReport r;
    r.path = o.path;
    r.format = facts.format;
    r.policy = "(inference)";
    r.findings = facts.problems;
    std::cerr << verifier::RenderText({r}, false)
              << "sealpkg policy infer: refusing to infer a policy from a rejected input\n";
    return kExitRejected;
  }
  const std::string name = o.name.empty() ? "inferred:" + o.path : o.name;
  const std::string text = verifier::InferPolicy(facts, name);
  if (o.output.empty()) {
    std::cout << text;
    return kExitOk;
  }
  // Write beside the target and rename: never a half-written policy file.
  const std::string temp = o.output + ".sealpkg-tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::remove(temp.c_str());
      std::cerr << "sealpkg policy infer: error: cannot write '" << temp << "'\n";
      return kExitError;
    }
  }
  if (std::rename(temp.c_str(), o.output.c_str()) != 0) {
    std::remove(temp.c_str());
    std::cerr << "sealpkg policy infer: error: cannot write '" << o.output << "'\n";
    return kExitError;
  }
  std::cerr << "wrote " << o.output << " (review it, then sign it)\n";
  return kExitOk;
}

int RunShow(const std::string& spec) {
  if (const auto text = verifier::BuiltinPolicyText(spec)) {
    std::cout << *text;
    return kExitOk;
  }
  auto policy = verifier::LoadPolicySpec(spec, PolicyLimits{});
  if (!policy.ok()) {
    std::cerr << "sealpkg policy show: error: " << policy.status().ToString() << "\n";
    return policy.status().code() == ErrorCode::kIo ? kExitError : kExitRejected;
  }
  const auto& p = *policy;
  std::cout << "policy " << p.name << " (version " << p.version << "): " << p.description << "\n"
            << "  pickle globals: " << p.pickle.globals.patterns().size()
            << ", callables: " << p.pickle.callables.patterns().size()
            << ", build: " << p.pickle.build.patterns().size()
            << ", rules: " << p.pickle.rules.size() << "\n"
            << "  package externs: " << p.package.externs.patterns().size()
            << ", interned: " << p.package.interned.patterns().size()
            << ", torchscript: " << (p.package.torchscript ? "allowed" : "denied") << "\n"
            << "  source imports: " << p.source.imports.patterns().size()
            << ", attributes: " << p.source.attributes.patterns().size() << "\n";
  return kExitOk;
}

struct SignPolicyOptions {
  std::string path;
  std::vector<std::string> keys;
  std::string expires;
  std::string trust_dir;
};

int RunSignPolicy(const SignPolicyOptions& o) {
  const auto fail = [](const Status& s) {
    std::cerr << "sealpkg policy sign: error: " << s.ToString() << "\n";
    return ExitCodeFor(s);
  };
  const PolicyLimits limits;
  auto bytes = signing::ReadSmallFile(o.path, limits.max_policy_bytes);
  if (!bytes.ok()) return fail(bytes.status());
  // Only a policy the verifier accepts is worth signing; its name and version are signed.
  auto policy = verifier::ParsePolicy(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), limits);
  if (!policy.ok()) return fail(policy.status());
  if (policy->name.empty()) return fail(Malformed("policy.schema", "[policy] name is required"));
  signing::PolicyClaims claims;
  claims.name = policy->name;
  claims.version = policy->version;
  claims.expires = signing::SystemTrustNow() + int64_t{180} * 86400;
  if (!o.expires.empty()) {
    auto t = signing::ParseTrustTime(o.expires);
    if (!t.ok()) return fail(t.status());
    claims.expires = *t;
  }
  if (!o.trust_dir.empty()) {
    auto store = signing::TrustStore::Open(o.trust_dir);
    if (!store.ok()) return fail(store.status());
    claims.trust_version = store->root().version;
  }
  std::vector<signing::PrivateKey> keys;
  for (const std::string& k : o.keys) {
    auto key = signing::ReadPrivateKeyFile(k);
    if (!key.ok()) return fail(key.status());
    keys.push_back(std::move(*key));
  }
  std::vector<const signing::PrivateKey*> ptrs;
  for (const auto& k : keys) ptrs.push_back(&k);
  auto bundle = signing::SignPolicy(*bytes, claims, ptrs);
  if (!bundle.ok()) return fail(bundle.status());
  const std::string sig_path = signing::DetachedSignaturePath(o.path);
  const Status st = signing::WriteSignatureFile(sig_path, *bundle);
  if (!st.ok()) return fail(st);
  std::cout << "wrote " << Printable(sig_path) << ": policy '" << Printable(claims.name)
            << "' version " << claims.version << ", expires "
            << signing::FormatTrustTime(claims.expires) << "\n";
  return kExitOk;
}

}  // namespace

void RegisterPolicy(CLI::App& app, std::function<int()>& run) {
  CLI::App* policy = app.add_subcommand("policy", "Write, inspect and check policies.");
  policy->require_subcommand(1);

  auto io = std::make_shared<InferOptions>();
  CLI::App* infer = policy->add_subcommand(
      "infer", "Print the least-privilege policy that accepts exactly this known-good input.");
  infer->add_option("PKG", io->path, "a package, checkpoint or pickle you trust")->required();
  infer->add_option("--name", io->name, "policy name (default: inferred:<PKG>)");
  infer->add_option("-o,--output", io->output, "write to FILE (atomically) instead of stdout");
  infer->footer(
      "The result lists exact names only. Review it, widen it with glob patterns if\n"
      "you must, and sign it before use. Exit 1 if the input itself is rejected.");
  infer->callback([&run, io] { run = [io] { return RunInfer(*io); }; });

  auto spec = std::make_shared<std::string>();
  CLI::App* show = policy->add_subcommand(
      "show", "Print a built-in policy's TOML, or summarise (and validate) a policy file.");
  show->add_option("POLICY", *spec, "builtin:<name> or FILE.toml")->required();
  show->callback([&run, spec] { run = [spec] { return RunShow(*spec); }; });

  auto so = std::make_shared<SignPolicyOptions>();
  CLI::App* sign = policy->add_subcommand(
      "sign", "Sign a policy file: writes POLICY.sig (needed to use it from disk).");
  sign->add_option("POLICY", so->path, "policy TOML file")->required();
  sign->add_option("--key", so->keys, "policy-signer private key (PEM); repeatable")->required();
  sign->add_option("--expires", so->expires,
                   "expiry, YYYY-MM-DDTHH:MM:SSZ (default: 180 days from now)");
  sign->add_option("--trust", so->trust_dir,
                   "trust store whose version the policy records (default: none recorded)");
  sign->footer(
      "The signature covers the file's exact bytes and its [policy] name and version. A\n"
      "verifier refuses it once expired, or when a higher version of the same policy was\n"
      "already accepted by its trust store (rollback).");
  sign->callback([&run, so] { run = [so] { return RunSignPolicy(*so); }; });
}

}  // namespace sealpkg::cli
