// tinythink run [STUDY.yaml]: a whole study (study/study.h); without a file, the embedded demo study
// (configs/demo/study.yaml), which needs nothing but the repository.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "study/demo.h"
#include "study/study.h"

namespace tt::cli {

void register_run(CLI::App& app) {
  struct Args {
    std::string study, out, only;
    std::vector<std::string> overrides;
    bool dry_run = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("run", "run a study (stages, sweeps, evaluation, report); resumable stage by stage. "
                                        "Without a file: the embedded demo study");
  cmd->add_option("study", args->study, "study YAML (default: the embedded demo, configs/demo/study.yaml)");
  cmd->add_option("--out", args->out, "output directory (default: the study's output_dir)");
  cmd->add_flag("--dry-run", args->dry_run, "print the runs, their dependencies and what would run; run nothing");
  cmd->add_option("--only", args->only, "run only this stage (its dependencies must have completed)");
  cmd->add_option("--set", args->overrides, "override a stage's config: STAGE.KEY=VALUE, e.g. sft.learning_rate=1e-4 "
                                            "or eval.limit=20 (repeatable)");
  cmd->callback([args] {
    study::Study s = args->study.empty() ? study::parse_study(study::demo_study_yaml(), "<demo study>", ".")
                                         : study::load_study(args->study);
    for (const auto& item : args->overrides) study::apply_stage_override(s, item);
    study::Plan plan = study::plan_study(s, args->out);
    study::run_study(plan, {.dry_run = args->dry_run, .only = args->only});
  });
}

}  // namespace tt::cli
