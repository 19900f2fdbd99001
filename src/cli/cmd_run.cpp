// tinythink run: the main job. Without a study file it runs the embedded default (study/demo.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "study/demo.h"

namespace tt::cli {

void register_run(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  auto precision = std::make_shared<std::string>("fp32");
  auto* cmd = app.add_subcommand("run", "run the embedded default: train a micro model briefly and score it");
  cmd->add_option("--out", options->out_dir, "output directory");
  cmd->add_option("--steps", options->steps, "training steps")->check(CLI::PositiveNumber);
  cmd->add_option("--precision", *precision, "fp32 or bf16");
  cmd->add_option("--seed", options->seed, "random seed");
  cmd->callback([options, precision] {
    options->precision = parse_precision(*precision);
    run_demo(*options);
  });
}

}  // namespace tt::cli
