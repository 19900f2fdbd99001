#include "cli/commands.h"

namespace tt::cli {

// One declaration and one list entry per verb (defined in cmd_<verb>.cpp).
void register_init_model(CLI::App& app);
void register_score(CLI::App& app);
void register_bench(CLI::App& app);
void register_run(CLI::App& app);
void register_tokenize(CLI::App& app);  // tokenize and detokenize
void register_chat_template(CLI::App& app);
void register_prepare(CLI::App& app);
void register_sft(CLI::App& app);
void register_dpo(CLI::App& app);
void register_generate(CLI::App& app);
void register_bench_generate(CLI::App& app);  // after register_bench: adds `bench generate`
void register_chat(CLI::App& app);
void register_eval(CLI::App& app);
void register_report(CLI::App& app);
void register_synth(CLI::App& app);  // study/synthetic.h: the demo's data
void register_pairs(CLI::App& app);
void register_download(CLI::App& app);
void register_export(CLI::App& app);  // GGUF for llama.cpp
void register_import(CLI::App& app);  // GGUF back to a checkpoint

std::vector<RegisterCommand> all_commands() {
  return {register_run,      register_init_model,    register_score,    register_bench,
          register_tokenize, register_chat_template, register_prepare,  register_sft,
          register_dpo,      register_generate,      register_bench_generate, register_chat,
          register_eval,     register_report,        register_synth,    register_pairs,
          register_download, register_export,        register_import};
}

}  // namespace tt::cli
