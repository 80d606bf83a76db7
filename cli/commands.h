// Subcommands of the `sealpkg` CLI. Each registers its options on a CLI11 app and returns the
// process exit code: 0 accepted/clean, 1 rejected (the input is malformed, over a limit or
// denied), 2 error (usage, I/O, internal).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace sealpkg::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitError = 2;

// Each adds its subcommand(s) to `app`; `run` is set to the chosen command's body, which runs
// after parsing.
void RegisterInspect(CLI::App& app, std::function<int()>& run);
void RegisterVerify(CLI::App& app, std::function<int()>& run);  // verify, scan
void RegisterPolicy(CLI::App& app, std::function<int()>& run);  // policy infer|show

}  // namespace sealpkg::cli
