// tinythink init-model: write a random-initialised HF checkpoint for a preset or a config.json.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "model/checkpoint.h"

namespace tt::cli {

void register_init_model(CLI::App& app) {
  struct Args {
    std::string arch, config, out, tokenizer, dtype = "f32";
    uint64_t seed = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("init-model", "write a random-initialised checkpoint (HF layout)");
  auto* arch = cmd->add_option("--arch", args->arch, "preset name (mobilellm-r1-140m, smollm2-135m, ...)");
  auto* config = cmd->add_option("--config", args->config, "an HF config.json (or a directory holding one)");
  arch->excludes(config);
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--seed", args->seed, "random seed");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json, tokenizer.model or a directory to copy in");
  cmd->add_option("--dtype", args->dtype, "stored dtype: f32 or bf16")->check(CLI::IsMember({"f32", "bf16"}));
  cmd->callback([args] {
    if (args->arch.empty() && args->config.empty()) fail("init-model: give --arch NAME or --config FILE");
    ModelConfig config = args->arch.empty() ? load_model_config(args->config) : preset_config(args->arch);
    Model model = init_model(config, args->seed);
    SaveOptions save;
    save.dtype = args->dtype == "bf16" ? DType::BF16 : DType::F32;
    save.tokenizer_source = args->tokenizer;
    save_model(model, args->out, save);
    log_info("wrote {} ({} parameters, {}) to {}", config.architecture, parameter_count(config), args->dtype, args->out);
  });
}

}  // namespace tt::cli
