// tinythink export: a checkpoint as GGUF v3 for llama.cpp.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "model/gguf_export.h"

namespace tt::cli {

void register_export(CLI::App& app) {
  struct Args {
    std::string model, format = "gguf", outtype = "f16", out, name = "Model";
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "write a checkpoint as GGUF (llama.cpp)");
  cmd->add_option("--model", args->model, "checkpoint directory (Llama architecture)")->required();
  cmd->add_option("--format", args->format, "gguf");
  cmd->add_option("--outtype", args->outtype, "f32, f16, bf16 or q8_0");
  cmd->add_option("--out", args->out, "output .gguf file")->required();
  cmd->add_option("--name", args->name, "general.name in the file");
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing --out");
  cmd->callback([args] {
    if (args->format != "gguf") fail("--format '{}': only gguf is supported", args->format);
    GgufExportOptions options{.outtype = parse_gguf_outtype(args->outtype), .name = args->name};
    GgufContents gguf = build_gguf(args->model, options);
    write_gguf(args->out, gguf, args->overwrite);
    log_info("wrote {} ({} tensors, {} metadata keys, {})", args->out, gguf.tensors.size(), gguf.metadata.size(),
             args->outtype);
  });
}

}  // namespace tt::cli
