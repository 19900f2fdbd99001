// tinythink import: a llama GGUF file back into an HF checkpoint directory (model/gguf_import.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "io/gguf_import.h"

namespace tt::cli {

void register_import(CLI::App& app) {
  struct Args {
    std::string gguf, out;
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("import", "read a llama GGUF file (f32, f16, bf16, q8_0) into a checkpoint directory");
  cmd->add_option("gguf", args->gguf, "the .gguf file")->required();
  cmd->add_option("out", args->out, "output checkpoint directory (config.json, model.safetensors, tokenizer)")->required();
  cmd->add_flag("--overwrite", args->overwrite, "replace a checkpoint already in the output directory");
  cmd->callback([args] {
    import_gguf(args->gguf, args->out, args->overwrite);
    log_info("wrote {} from {}", args->out, args->gguf);
  });
}

}  // namespace tt::cli
