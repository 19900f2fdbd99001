// tinythink: one binary, verbs a TRL / lm-eval / vLLM user recognises.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"

// libgomp reads OMP_WAIT_POLICY once, when it loads. Its default lets idle threads spin, which on a
// 2-core machine shared with anything else (a build, a second run) makes every parallel region wait
// for a descheduled spinner: we measured training steps 1.6x slower and tiny steps 7x slower. Passive
// waits cost microseconds per region, so make them the default by re-executing once with it set.
void default_to_passive_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
}

int main(int argc, char** argv) {
  default_to_passive_waits(argv);
  CLI::App app{"tinythink: post-train and evaluate small reasoning language models on one machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every command");
  for (auto register_command : tt::cli::all_commands()) register_command(app);
  try {
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
