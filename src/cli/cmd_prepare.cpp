// tinythink prepare: chat JSONL -> filtered, budgeted, tokenized token shard (data/prepare.h).
#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "data/prepare.h"

namespace tt::cli {

namespace {

// "60000000", "60M", "1.5B", "200k": the study states its budget as "60M tokens".
int64_t parse_token_count(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail("--token-budget: expected a number such as 60000000 or 60M, got '{}'", text);
  }
  std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix == "k" || suffix == "K") scale = 1e3;
  else if (suffix == "m" || suffix == "M") scale = 1e6;
  else if (suffix == "b" || suffix == "B" || suffix == "g" || suffix == "G") scale = 1e9;
  else if (!suffix.empty()) fail("--token-budget: unknown suffix '{}' in '{}' (use k, M or B)", suffix, text);
  double tokens = std::round(value * scale);
  if (!(tokens >= 0) || tokens > 9e18) fail("--token-budget: out of range: '{}'", text);
  return static_cast<int64_t>(tokens);
}

}  // namespace

void register_prepare(CLI::App& app) {
  struct Args {
    PrepareOptions options;
    std::string sources_file, token_budget = "0", on_error = "fail";
  };
  auto args = std::make_shared<Args>();
  PrepareOptions& o = args->options;
  auto* cmd = app.add_subcommand("prepare", "filter, budget, render (chat template) and tokenize chat JSONL into a token shard");
  cmd->add_option("--input", o.input, "JSONL or parquet file (TRL's SFT formats: messages, conversations, prompt/completion, text), a directory of them, or a Hub dataset id")->required();
  cmd->add_option("--dataset-config", o.dataset_config, "a Hub dataset's config (default: its default one)");
  cmd->add_option("--split", o.dataset_split, "a Hub dataset's split")->capture_default_str();
  cmd->add_option("--tokenizer", o.tokenizer, "tokenizer.json, or a model directory")->required();
  cmd->add_option("--chat-template", o.chat_template, "Jinja chat template file (default: tokenizer_config.json beside the tokenizer)");
  cmd->add_option("--out", o.out, "output token shard (a summary goes to <out>.summary.json)");
  cmd->add_option("--max-length", o.max_length, "keep the first this many tokens of longer rows (TRL truncate_dataset); 0 = no limit")->capture_default_str();
  cmd->add_option("--sources", o.sources, "keep only these dataset_source values (comma-separated)")->delimiter(',');
  cmd->add_option("--sources-file", args->sources_file, "keep only the sources listed in this file (\"- name\" lines)");
  cmd->add_option("--default-source", o.default_source, "dataset_source of rows that have none")->capture_default_str();
  cmd->add_option("--token-budget", args->token_budget, "sample to this many tokens, keeping each source's share (e.g. 60M); 0 = all");
  cmd->add_option("--seed", o.seed, "seed of the budget sampling")->check(unsigned_64())->capture_default_str();
  cmd->add_flag("--assistant-only-loss,!--no-assistant-only-loss", o.assistant_only_loss,
                "loss only on assistant tokens (the template's {% generation %} blocks; conversational rows); default on");
  cmd->add_flag("--completion-only-loss,!--no-completion-only-loss", o.completion_only_loss,
                "prompt-completion rows: no loss on the prompt (TRL's completion_only_loss); default on");
  cmd->add_option("--text-field", o.text_field, "the field of language-modelling rows (TRL's dataset_text_field)")
      ->capture_default_str();
  cmd->add_option("--on-error", args->on_error, "bad input lines: fail (default; nothing is written) or skip")
      ->check(CLI::IsMember({"fail", "skip"}));
  cmd->add_option("--cache-dir", o.cache_dir, "reuse a shard prepared from the same inputs and options");
  cmd->callback([args] {
    PrepareOptions o = args->options;
    if (!args->sources_file.empty()) {
      auto listed = read_source_list(args->sources_file);
      o.sources.insert(o.sources.end(), listed.begin(), listed.end());
    }
    o.token_budget = parse_token_count(args->token_budget);
    o.skip_bad_lines = args->on_error == "skip";
    PrepareSummary summary = prepare_dataset(o);
    std::string text = summary.to_text();
    if (summary.cache_hit) text = "reused cached shard " + summary.cache_key + " from " + args->options.cache_dir + "\n" + text;
    text += fmt::format("wrote {} and {} in {:.2f}s\n", summary.shard_path, summary_path_for(summary.shard_path),
                        summary.seconds);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
}

}  // namespace tt::cli
