// Entry point of the `sealpkg` command: parses the command line and dispatches.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "core/memory_advice.h"

int main(int argc, char** argv) {
  sealpkg::KeepFreedMemoryForReuse();
  CLI::App app{
      "sealpkg: hermetic, signed, verifiable PyTorch packages.\n"
      "Exit codes: 0 accepted, 1 rejected (malformed, over a limit, or denied), 2 error;\n"
      "load/extract/run also 3 (the sandbox stopped the worker) and 4 (the load raised inside it).",
      "sealpkg"};
  app.set_version_flag("--version", std::string("sealpkg ") + SEALPKG_VERSION + "\n");
  app.require_subcommand(1);
  std::function<int()> run;
  sealpkg::cli::RegisterInspect(app, run);
  sealpkg::cli::RegisterVerify(app, run);
  sealpkg::cli::RegisterPolicy(app, run);
  sealpkg::cli::RegisterKeygen(app, run);
  sealpkg::cli::RegisterSign(app, run);
  sealpkg::cli::RegisterTrust(app, run);
  sealpkg::cli::RegisterSandbox(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return sealpkg::cli::kExitError;
  }
  return run ? run() : sealpkg::cli::kExitError;
}
