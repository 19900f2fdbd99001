// tinythink eval: the study's benchmarks and lm-eval's tasks on a model with the inference engine,
// or re-scoring saved responses (src/eval/runner.h).

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/device_option.h"
#include "core/error.h"
#include "eval/runner.h"
#include "eval/task.h"

namespace tt::cli {

namespace {

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      const size_t comma = std::min(item.find(',', start), item.size());
      if (comma > start) out.push_back(item.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace

void register_eval(CLI::App& app) {
  struct Args {
    eval::EvalOptions options;
    std::vector<std::string> tasks;
    std::string precision = "bf16", device, fewshot_as_multiturn, samples;
    bool list = false, no_progress = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "evaluate a model on benchmarks (lm-eval-shaped results.json), or re-score saved responses");
  cmd->add_option("--model", args->options.model_dir, "model directory or hub id");
  cmd->add_option("--tasks", args->tasks, "tasks or groups, comma-separated (--list-tasks shows them)");
  auto* limit = cmd->add_option("--limit", args->options.limit,
                                "first N documents of each task (N >= 1), or a fraction of them in (0, 1) (lm-eval's)");
  auto* samples = cmd->add_option("--samples", args->samples,
                                  "the documents to evaluate, per task: a JSON object such as '{\"gsm8k\": [0, 5, 9]}' "
                                  "or a file holding one (lm-eval's --samples); tasks it leaves out are evaluated whole");
  auto* fewshot = cmd->add_option("--num-fewshot", args->options.num_fewshot, "few-shot examples (default: each task's)");
  cmd->add_flag("--apply-chat-template", args->options.apply_chat_template, "render prompts with the model's chat template");
  auto* multiturn = cmd->add_option("--fewshot-as-multiturn", args->fewshot_as_multiturn,
                                    "with --apply-chat-template, few-shot examples as user/assistant turns (the "
                                    "default, as lm-eval 0.4.10+); 'false': one user message")
                        ->expected(0, 1);
  cmd->add_option("--system-instruction", args->options.system_instruction,
                  "a system instruction before the task's description (lm-eval's --system_instruction)");
  cmd->add_option("--gen-kwargs", args->options.gen_kwargs, "e.g. temperature=0.6,top_p=0.95,max_gen_toks=1024");
  cmd->add_option("--seed", args->options.seed, "random seed (sampling and few-shot)")->check(unsigned_64());
  cmd->add_option("--output", args->options.output_dir, "output directory: results.json, samples_<task>.jsonl");
  cmd->add_option("--use-cache", args->options.cache_dir,
                  "a directory keeping the model's answers as they finish (lm-eval's --use_cache): a rerun after a "
                  "kill, or with more documents or tasks, computes only what is missing; keyed by the model's files, "
                  "precision and device, so one directory serves many models");
  cmd->add_option("--responses", args->options.responses_path, "re-score saved responses (JSONL with response + doc_id or the doc's text)");
  cmd->add_option("--data", args->options.data_root, "data root in the layout of ../shared/data (default: $TINYTHINK_SHARED/data), its files JSONL or parquet; or, for math500 / gsm8k / ifeval tasks, one test file (.jsonl, .parquet) or a Hub dataset id (its test split, else train); for mmlu / arc / bbh tasks, the Hub dataset lm-eval uses (cais/mmlu, allenai/ai2_arc, SaylorTwift/bbh) by id, a folder in its Hub layout (CONFIG/SPLIT-*.parquet), or one test file with its columns");
  cmd->add_option("--precision", args->precision, "fp32 or bf16 weights");
  cmd->add_option("--batch", args->options.max_batch, "sequences decoding at once")->check(positive());
  cmd->add_flag("--strip-thinking", args->options.strip_thinking, "score only the text after the last </think>");
  cmd->add_flag("--add-bos", args->options.add_bos, "BOS before plain-text prompts (lm-eval's add_bos_token)");
  cmd->add_flag("--no-progress", args->no_progress, "no progress bars");
  cmd->add_flag("--list-tasks", args->list, "list the tasks and groups, then exit");
  add_device_option(cmd, args->device);
  cmd->callback([args, limit, samples, fewshot, multiturn] {
    if (samples->count()) args->options.samples = eval::parse_samples_option(args->samples);
    if (limit->count() && !eval::limit_in_range(args->options.limit))
      fail("eval --limit {}: {}; leave --limit out for every document", args->options.limit, eval::kLimitHint);
    if (fewshot->count() && args->options.num_fewshot < 0)
      fail("eval --num-fewshot {}: must be >= 0", args->options.num_fewshot);
    if (multiturn->count()) args->options.fewshot_as_multiturn = parse_flag_value("--fewshot-as-multiturn", args->fewshot_as_multiturn);
    if (args->list) {
      for (const auto& [group, subtasks] : eval::task_groups()) fmt::print("{} (group of {})\n", group, subtasks.size());
      for (const auto& name : eval::task_names()) fmt::print("{}\n", name);
      return;
    }
    args->options.tasks = split_list(args->tasks);
    if (args->options.tasks.empty()) fail("eval: --tasks is required (--list-tasks shows them)");
    args->options.precision = parse_precision(args->precision);
    args->options.cuda_device = choose_inference_device(args->device, "", args->options.precision);
    args->options.progress = !args->no_progress;
    eval::run_eval(args->options);
  });
}

}  // namespace tt::cli
