// tinythink pairs: on-policy preference pairs (study/pairs.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/option_checks.h"
#include "io/output_path.h"
#include "study/pairs.h"

namespace tt::cli {

void register_pairs(CLI::App& app) {
  auto o = std::make_shared<study::PairsOptions>();
  auto precision = std::make_shared<std::string>("bf16");
  auto device = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("pairs", "sample k completions per prompt, verify the answers, write chosen (correct) "
                                          "/ rejected (incorrect) pairs for dpo");
  cmd->add_option("--model", o->model_dir, "checkpoint directory (with tokenizer files and a chat template)")->required();
  cmd->add_option("--prompts", o->prompts_path,
                  "JSONL: {\"messages\": [...] | \"prompt\": text, \"answer\": ..., \"task\": gsm8k|math}")
      ->required();
  cmd->add_option("--out", o->output_dir, "output directory: pairs.jsonl and pairs_summary.json")->required();
  cmd->add_option("--k", o->k, "samples per prompt (default 8)");
  cmd->add_option("--pairs-per-prompt", o->pairs_per_prompt, "at most this many pairs per prompt (default 1)");
  cmd->add_option("--temperature", o->temperature, "default 0.6");
  cmd->add_option("--top-p", o->top_p, "default 0.95");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "default 1024");
  cmd->add_option("--seed", o->seed, "default 42")->check(unsigned_64());
  auto* limit = cmd->add_option("--limit", o->limit, "use the first N prompts (N >= 1)");
  cmd->add_option("--task", o->default_task, "verifier for prompts without a task: gsm8k (default) or math");
  cmd->add_option("--chat-template", o->chat_template, "a .jinja file instead of the model's template");
  cmd->add_option("--precision", *precision, "bf16 (default) or fp32");
  cmd->add_option("--max-batch", o->max_batch, "samples decoding at once (default 64)")->check(positive());
  cmd->add_option("--use-cache", o->cache_dir,
                  "a directory keeping each prompt's samples as they finish: a rerun after a kill, or with more "
                  "prompts, samples only what is missing (keyed by the model's files, precision and device)");
  add_device_option(cmd, *device);
  cmd->callback([o, precision, device, limit] {
    if (limit->count() && o->limit < 1) fail("pairs --limit {}: must be >= 1 (leave --limit out for every prompt)", o->limit);
    check_sampling_flags("pairs",
                         {.temperature = static_cast<float>(o->temperature),
                          .top_p = static_cast<float>(o->top_p),
                          .n = o->k,
                          .max_new_tokens = o->max_new_tokens},
                         {{"temperature", "--temperature"}, {"top_p", "--top-p"}, {"n", "--k"},
                          {"max_new_tokens", "--max-new-tokens"}});
    o->precision = parse_precision(*precision);
    o->cuda_device = choose_inference_device(*device, "", o->precision);
    check_writable_directory(o->output_dir, "pairs --out");
    for (const char* name : {"pairs.jsonl", "pairs_summary.json"})
      check_output_is_not_input(o->output_dir + "/" + name, "pairs --out", o->prompts_path, "--prompts");
    study::build_pairs(*o);
  });
}

}  // namespace tt::cli
