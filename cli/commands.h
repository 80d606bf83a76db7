// Subcommands of the `sealpkg` CLI. Each registers its options on a CLI11 app and returns the
// process exit code: 0 accepted/clean, 1 rejected (the input is malformed, over a limit or
// denied), 2 error (usage, I/O, internal); the sandbox commands add 3 and 4 (below).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "signing/json.h"
#include "verifier/policy.h"

namespace CLI {
class App;
}

namespace sealpkg::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitError = 2;
// load / extract / run only: the sandbox contained a failure.
inline constexpr int kExitContained = 3;     // the worker was stopped (seccomp, limit, crash...)
inline constexpr int kExitSandboxError = 4;  // the load raised inside the worker

// Each adds its subcommand(s) to `app`; `run` is set to the chosen command's body, which runs
// after parsing.
void RegisterInspect(CLI::App& app, std::function<int()>& run);
void RegisterVerify(CLI::App& app, std::function<int()>& run);  // verify, scan
void RegisterPolicy(CLI::App& app, std::function<int()>& run);  // policy infer|show|sign
void RegisterKeygen(CLI::App& app, std::function<int()>& run);
void RegisterSign(CLI::App& app, std::function<int()>& run);
void RegisterTrust(CLI::App& app, std::function<int()>& run);    // trust init|add|revoke|...
void RegisterSandbox(CLI::App& app, std::function<int()>& run);  // load, extract, run

// A policy ready to apply, and where it came from (cli/trust_command.cc).
struct CheckedPolicy {
  verifier::Policy policy;
  std::string origin;                // "builtin", "signed", "UNSIGNED (--unsafe-unsigned-policy)"
  std::vector<std::string> key_ids;  // policy-signer keys that verified (signed files)
};

// Loads `spec`: a built-in policy, or a policy file that must carry a valid `FILE.sig` from a
// threshold of policy-signer keys of the trust store in `trust_dir` (empty: the default store),
// not expired, not rolled back; its high-water mark is then raised. `unsafe_unsigned` loads an
// unsigned file as before (local experiments only). Reads the file once: the bytes checked are
// the bytes parsed.
Result<CheckedPolicy> LoadCheckedPolicy(const std::string& spec, const std::string& trust_dir,
                                        bool unsafe_unsigned);

// The exit code for a failed Status: 2 for I/O and internal errors, else 1.
int ExitCodeFor(const Status& status);

// JSON pieces shared by the commands' --json output (cli/verify_command.cc): a string array, and
// a Status as {kind, reason, entry, message}.
signing::JsonValue StringArray(const std::vector<std::string>& items);
signing::JsonValue StatusJson(const Status& status);

}  // namespace sealpkg::cli
