// tinythink sft CONFIG.yaml: supervised fine-tuning (TRL SFTConfig names), resumable.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "core/error.h"
#include "train/sft.h"
#include "train/sft_inputs.h"

namespace tt::cli {

void register_sft(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    bool resume = false;
    std::string device;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sft", "supervised fine-tuning from a YAML config (TRL SFTConfig key names)");
  cmd->add_option("config", args->config, "YAML config: model_name, tokenizer_name, dataset, trainer")->required();
  cmd->add_option("--set", args->overrides, "override a key: trainer.learning_rate=1e-4 (repeatable)");
  add_device_option(cmd, args->device);
  cmd->add_flag("--resume", args->resume, "continue from the newest checkpoint in output_dir");
  cmd->callback([args] {
    SftRun run;
    run.config = load_train_config(args->config, args->overrides, TrainerKind::SFT);
    const auto& trainer = run.config.trainer;
    const ResolvedDevice device =
        choose_device(args->device, trainer.device, trainer.bf16 ? Precision::BF16 : Precision::FP32, true);
    if (device.kind == DeviceKind::CUDA) run.cuda_device = rank_cuda_device(device);
    run.resume = args->resume;
    load_sft_inputs(run);
    run_sft(run);
  });
}

}  // namespace tt::cli
