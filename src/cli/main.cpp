// tinythink: one binary, verbs a TRL / lm-eval / vLLM user recognises.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "core/communicator.h"
#include "core/cpu_features.h"
#include "core/error.h"

namespace {

// The error line; under mpirun it names the rank that failed (the launcher ends the others).
void print_error(const char* what) {
  const tt::Communicator& world = tt::Communicator::world();
  if (world.distributed())
    std::fprintf(stderr, "error (rank %d of %d): %s\n", world.rank(), world.size(), what);
  else
    std::fprintf(stderr, "error: %s\n", what);
}

int run(CLI::App& app, int argc, char** argv) {
  try {
    tt::active_isa();  // a TT_ISA this CPU cannot run is refused before any work
    // A mistyped command: CLI11 says only "A subcommand is required".
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
    if (argc > 1 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      print_error(fmt::format("unknown command '{}' (the commands: {}; see --help)", argv[1], fmt::join(names, ", ")).c_str());
      return 1;
    }
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tt::Error& e) {
    print_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Buffers up to 32 MB (a step's activations, attention's per-call scratch) come from the heap and
  // stay mapped between steps. With glibc's default, they were fresh mmaps whose pages faulted again
  // on every call: a 512-token SFT step on a 2-vCPU Zen 5 VM spent 130 ms of its 1.45 s in attention
  // backward's page faults (164-172 ms with them, 33-38 ms without; BENCHMARKS.md, issue #16).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"tinythink: post-train and evaluate small reasoning language models on one machine"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show help for every command");
  // A usage error is one "error: ..." line like every other error (CLI11's default adds a second
  // line "Run with --help ..."); the exit code stays CLI11's (non-zero).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() + " (see --help)\n";
  });
  for (auto register_command : tt::cli::all_commands()) register_command(app);
  try {
    tt::init_distributed();  // MPI under mpirun/srun (core/communicator.h); otherwise nothing
  } catch (const tt::Error& e) {
    print_error(e.what());
    return 1;
  }
  const int code = run(app, argc, argv);
  // A rank that failed cannot leave the others waiting in a collective: it ends the job.
  if (code != 0 && tt::Communicator::world().distributed()) tt::Communicator::world().abort(code);
  tt::finish_distributed();
  return code;
}
