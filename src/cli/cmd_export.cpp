// tinythink export: a checkpoint as GGUF v3 for llama.cpp.
#include <filesystem>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/output_path.h"
#include "model/gguf_export.h"
#include "text/ollama_modelfile.h"

namespace tt::cli {

void register_export(CLI::App& app) {
  struct Args {
    std::string model, format = "gguf", outtype = "f16", out, name = "Model";
    bool overwrite = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "write a checkpoint as GGUF (llama.cpp)");
  cmd->add_option("--model", args->model, "checkpoint directory (Llama architecture)")->required();
  cmd->add_option("--format", args->format, "gguf (one file) or ollama (a folder: model.gguf + Modelfile)")->capture_default_str();
  cmd->add_option("--outtype", args->outtype, "f32, f16, bf16 or q8_0")->capture_default_str();
  cmd->add_option("--out", args->out, "output .gguf file (gguf) or folder (ollama)")->required();
  cmd->add_option("--name", args->name, "general.name in the file");
  cmd->add_flag("--overwrite", args->overwrite, "replace an existing --out");
  cmd->callback([args] {
    if (args->format != "gguf" && args->format != "ollama")
      fail("--format '{}': expected gguf or ollama", args->format);
    GgufExportOptions options{.outtype = parse_gguf_outtype(args->outtype), .name = args->name};
    bool ollama = args->format == "ollama";
    // The Modelfile first: a template it cannot convert fails before the GGUF is written.
    std::string modelfile = ollama ? ollama_modelfile(args->model, "model.gguf") : "";
    std::string gguf_path = ollama ? args->out + "/model.gguf" : args->out;
    std::error_code ec;  // --overwrite replaces an earlier export, never the checkpoint's own files
    check_output_spares_model(gguf_path, "export --out", args->model);
    // A folder is never replaced by the GGUF file, --overwrite or not ("rename failed (Is a directory)").
    if (!ollama && std::filesystem::is_directory(args->out, ec))
      fail("export --out {}: is a directory; give the GGUF file's path (or --format ollama for a folder)", args->out);
    if (ollama) create_directories_or_fail(args->out, "export --out");
    GgufContents gguf = build_gguf(args->model, options);
    write_gguf(gguf_path, gguf, args->overwrite);
    if (ollama) write_file_atomic(args->out + "/Modelfile", modelfile);
    log_info("wrote {} ({} tensors, {} metadata keys, {}){}", gguf_path, gguf.tensors.size(), gguf.metadata.size(),
             args->outtype, ollama ? " and " + args->out + "/Modelfile" : "");
  });
}

}  // namespace tt::cli
