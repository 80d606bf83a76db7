// `sealpkg policy infer PKG` and `sealpkg policy show NAME|FILE`.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/file_bytes.h"
#include "core/limits.h"
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
}

}  // namespace sealpkg::cli
