// tinythink init-model: write a random-initialised HF checkpoint for a preset or a config.json.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/log.h"
#include "io/output_path.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "text/special_ids.h"
#include "text/tokenizer.h"

namespace tt::cli {
namespace {

// What init-model writes: a directory holding only these is a previous output, replaced freely.
std::vector<std::string> own_file_names() {
  std::vector<std::string> names = {"config.json", "model.safetensors", "generation_config.json"};
  for (const auto& name : tokenizer_file_names()) names.push_back(name);
  return names;
}

// The tokenizer loads, and every id it can produce is an embedding row of the model.
void check_tokenizer_fits(const std::string& path, const ModelConfig& config) {
  Tokenizer tokenizer = Tokenizer::load(path);
  if (static_cast<int64_t>(tokenizer.vocab_size()) > config.vocab_size)
    fail("init-model --tokenizer {}: {} has ids up to {}, beyond the model's vocab_size {}", path, tokenizer.source(),
         tokenizer.vocab_size() - 1, config.vocab_size);
}

// model.safetensors' metadata entry that marks init-model's random weights.
constexpr const char* kMarkerKey = "tinythink";
constexpr const char* kMarkerValue = "init-model";

// A directory of init-model's file names can still be someone's trained checkpoint: random weights
// replace only a model.safetensors that init-model wrote (or any with --overwrite).
void check_weights_are_ours(const std::string& dir, bool overwrite) {
  const std::string weights = dir + "/model.safetensors";
  if (overwrite || !std::filesystem::exists(weights)) return;
  bool ours = false;
  try {
    const SafetensorsFile file(weights);
    const auto it = file.metadata().find(kMarkerKey);
    ours = it != file.metadata().end() && it->second == kMarkerValue;
  } catch (const Error&) {
    ours = false;
  }
  if (!ours)
    fail("init-model --out {}: {} holds weights that init-model did not write; random weights would replace them "
         "(choose another --out, or --overwrite)",
         dir, weights);
}

}  // namespace

void register_init_model(CLI::App& app) {
  struct Args {
    std::string arch, config, out, tokenizer, dtype = "f32";
    uint64_t seed = 0;
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("init-model", "write a random-initialised checkpoint (HF layout)");
  auto* arch = cmd->add_option("--arch", args->arch, "preset name (mobilellm-r1-140m, smollm2-135m, ...)");
  auto* config = cmd->add_option("--config", args->config, "an HF config.json (or a directory holding one)");
  arch->excludes(config);
  cmd->add_option("--out", args->out, "output directory")->required();
  cmd->add_option("--seed", args->seed, "random seed")->check(unsigned_64());
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json, tokenizer.model or a directory to copy in");
  cmd->add_option("--dtype", args->dtype, "stored dtype: f32 or bf16")->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing non-empty directory that is not a previous init-model output");
  cmd->callback([args] {
    if (args->arch.empty() && args->config.empty()) fail("init-model: give --arch NAME or --config FILE");
    ModelConfig config = args->arch.empty() ? load_model_config(args->config) : preset_config(args->arch);
    check_output_directory(args->out, own_file_names(), args->overwrite, "init-model");
    check_weights_are_ours(args->out, args->overwrite);
    if (!args->tokenizer.empty()) {
      check_tokenizer_fits(args->tokenizer, config);
      // The tokenizer's BOS and EOS ids, not the preset's (bos 1 / eos 2 are byte tokens of another
      // vocabulary: generation stopped on one and never on the tokenizer's end-of-text).
      const TokenizerSpecialIds special = tokenizer_special_ids(Tokenizer::load(args->tokenizer), args->tokenizer);
      if (special.bos >= 0) config.bos_token_id = special.bos;
      if (!special.eos.empty()) config.eos_token_ids = special.eos;
      if (special.pad) config.pad_token_id = *special.pad;
    }
    Model model = init_model(config, args->seed);
    SaveOptions save;
    save.dtype = args->dtype == "bf16" ? DType::BF16 : DType::F32;
    save.tokenizer_source = args->tokenizer;
    save.metadata[kMarkerKey] = kMarkerValue;
    save_model(model, args->out, save);
    log_info("wrote {} ({} parameters, {}) to {}", config.architecture, parameter_count(config), args->dtype, args->out);
  });
}

}  // namespace tt::cli
