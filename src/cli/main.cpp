// tinythink: one binary, verbs a TRL / lm-eval / vLLM user recognises.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/cpu_features.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"tinythink: post-train and evaluate small reasoning language models on one machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every command");
  for (auto register_command : tt::cli::all_commands()) register_command(app);
  try {
    tt::active_isa();  // a TT_ISA this CPU cannot run is refused before any work
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
