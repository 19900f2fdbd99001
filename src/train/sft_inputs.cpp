#include "train/sft_inputs.h"

#include <algorithm>
#include <fstream>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "io/hub.h"
#include "io/parquet.h"
#include "model/checkpoint.h"
#include "train/run_support.h"

namespace tt {

namespace {

// The first non-empty line's keys tell the format apart.
bool is_pretokenized(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      if (!json_nesting_error(line).empty()) return true;  // read_tokenized_jsonl names the line
      auto json = nlohmann::json::parse(line, nullptr, false);
      return json.is_object() && (json.contains("tokens") || json.contains("input_ids"));
    }
  // it used to go on to the tokenizer and fail there ("no tokenizer.json ...")
  fail("{}: no examples (the file holds no line)", path);
}

std::vector<SftExample> from_shard(const TokenShard& shard) {
  std::vector<SftExample> examples(shard.size());
  for (size_t i = 0; i < shard.size(); ++i) {
    ShardExample e = shard.example(i);
    examples[i].tokens.assign(e.tokens.begin(), e.tokens.end());
    examples[i].loss_mask.assign(e.loss_mask.begin(), e.loss_mask.end());
  }
  return examples;
}

// Chat and text data (TRL's SFT dataset formats: messages, conversations, prompt-completion, text)
// goes through `prepare` — filtered, budgeted, rendered with the chat template or tokenized, with
// assistant and completion masks — into a shard cached under output_dir/prepared/ (reused
// while inputs and options are unchanged, so a resumed run sees the same examples).
std::vector<SftExample> load_examples(const std::string& path, const TrainConfig& c) {
  if (!file_exists(path) && !is_directory(path) && !is_repo_id(path)) fail("{}: dataset not found", path);
  // a shard `prepare --out` wrote, under any name (it was read as JSON Lines unless named *.ttshard)
  const bool shard = (path.size() > 8 && path.substr(path.size() - 8) == ".ttshard") ||
                     (file_exists(path) && !is_directory(path) && starts_like_token_shard(path));
  const bool local_jsonl = !shard && file_exists(path) && !is_directory(path) && !is_parquet_path(path);  // not a Hub id
  if (shard || (local_jsonl && is_pretokenized(path))) {
    // the preparation options do nothing to token ids: given, they were ignored without a word
    const DatasetArgs& d = c.dataset;
    for (const auto& [key, set] : {std::pair<const char*, bool>{"token_budget", d.token_budget != 0},
                                   {"sources", !d.sources.empty()},
                                   {"sources_file", !d.sources_file.empty()},
                                   {"chat_template", !d.chat_template.empty()},
                                   {"config", !d.config.empty()}})
      if (set)
        fail("{}: dataset.{} does not apply to {}, which is {} (it applies to chat or text data)", c.source, key,
             path, shard ? "a prepared shard" : "pre-tokenized");
    return shard ? from_shard(TokenShard::open(path)) : read_tokenized_jsonl(path);
  }
  PrepareOptions options;
  options.input = path;
  options.dataset_config = c.dataset.config;
  options.dataset_split = c.dataset.split;
  options.tokenizer = resolve_model_dir(c.tokenizer_name);
  options.chat_template = c.dataset.chat_template;
  options.max_length = c.trainer.max_length;
  options.sources = c.dataset.sources;
  if (!c.dataset.sources_file.empty())
    for (const auto& s : read_source_list(c.dataset.sources_file)) options.sources.push_back(s);
  options.token_budget = c.dataset.token_budget;
  options.seed = static_cast<uint64_t>(c.trainer.seed);
  options.assistant_only_loss = c.trainer.assistant_only_loss;
  options.completion_only_loss = c.trainer.completion_only_loss;
  options.text_field = c.trainer.dataset_text_field;
  options.skip_bad_lines = c.dataset.on_error == "skip";
  options.cache_dir = c.trainer.output_dir + "/prepared";
  PrepareSummary summary = prepare_dataset(options);
  log_info("{}", summary.to_text());
  return from_shard(TokenShard::open(summary.shard_path));
}

}  // namespace

void load_sft_inputs(SftRun& run) {
  const TrainConfig& c = run.config;
  std::string path = c.dataset.path.empty() ? c.dataset.name : c.dataset.path;
  if (path.empty()) fail("{}: dataset.path (or dataset.name) is missing", c.source);
  if (!c.dataset.eval_path.empty() && c.dataset.test_size > 0)
    fail("{}: give dataset.eval_path or dataset.test_size, not both (test_size was dropped)", c.source);
  check_output_dir(c);
  Communicator& world = Communicator::world();
  world.barrier();  // every rank looked at output_dir before the root writes there (a rank saw its 'prepared')
  // the model and tokenizer are checked before the data is tokenized (minutes on a large dataset)
  const RunFiles files = resolve_run_files(c);
  run.output_claim = std::make_shared<OutputDirClaim>(c, "sft", world.is_root());
  run.train = load_examples(path, c);
  if (!c.dataset.eval_path.empty()) {
    run.eval = load_examples(c.dataset.eval_path, c);
  } else if (c.dataset.test_size > 0) {
    run.eval = hold_out(run.train, c.dataset.test_size, c.trainer.seed);  // seeded, reproducible
  }
  run.tokenizer_source = files.tokenizer_source;
  run.pad_id = files.pad_id;
}

}  // namespace tt
