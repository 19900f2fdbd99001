// tinythink dpo CONFIG.yaml: preference optimisation (TRL DPOConfig names), resumable, with the
// reference log-probs computed once and cached for every run of a sweep.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "core/error.h"
#include "train/dpo.h"

namespace tt::cli {

void register_dpo(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    bool resume = false;
    std::string device;
    std::string ref_cache;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("dpo", "preference optimisation from a YAML config (TRL DPOConfig key names)");
  cmd->add_option("config", args->config, "YAML config: model_name, tokenizer_name, dataset, trainer")->required();
  cmd->add_option("--set", args->overrides, "override a key: trainer.beta=0.5 (repeatable)");
  add_device_option(cmd, args->device);
  cmd->add_flag("--resume", args->resume, "continue from the newest checkpoint in output_dir");
  cmd->add_option("--ref-cache", args->ref_cache,
                  "directory of cached reference log-probs (default: <parent of output_dir>/ref_cache)");
  cmd->callback([args] {
    DpoRun run;
    run.config = load_train_config(args->config, args->overrides, TrainerKind::DPO);
    const auto& trainer = run.config.trainer;
    const ResolvedDevice device =
        choose_device(args->device, trainer.device, trainer.bf16 ? Precision::BF16 : Precision::FP32, true);
    if (device.kind == DeviceKind::CUDA) run.cuda_device = rank_cuda_device(device);
    run.resume = args->resume;
    run.ref_cache_dir = args->ref_cache;
    load_dpo_inputs(run);
    run_dpo(run);
  });
}

}  // namespace tt::cli
