// Dataset preparation for SFT (the `prepare` verb): read chat JSONL, filter by dataset_source and
// length, sample to a token budget, render with the chat template, tokenize with the assistant
// mask, truncate to max_length (TRL's truncate_dataset), and store the result in a token shard
// (data/shard.h), cached by a content hash.
//
//   PrepareOptions o;
//   o.input = "train.jsonl"; o.tokenizer = "model_dir"; o.out = "train.ttshard";
//   PrepareSummary s = prepare_dataset(o);   // throws tt::Error "<file>:<line>: ..." on a bad row
//
// Input rows, TRL SFTTrainer's dataset formats (each may carry "dataset_source"):
//   {"messages": [{"role", "content"}, ...]}                    conversational
//   {"conversations": [{"from": "human"|"gpt"|..., "value"}]}   ShareGPT, converted as TRL does
//   {"prompt": [messages], "completion": [messages]}            prompt-completion, conversational
//   {"prompt": "text", "completion": "text"}                    prompt-completion, text
//   {"text": "..."}                                             language modelling (text_field)
// Conversational rows need the chat template; text rows are encoded with the tokenizer's special
// tokens and get its eos_token appended (RowEncoder in prepare.cpp has the rules).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {

struct PrepareOptions {
  std::string input;          // a .jsonl / .parquet file, a directory of them (read in name order), or a
                              // Hub dataset id (io/hub.h dataset_files) with the two fields below
  std::string dataset_config;  // Hub datasets: the config ("" = default) and split
  std::string dataset_split = "train";
  std::string tokenizer;      // tokenizer.json / tokenizer.model, or a model directory
  std::string chat_template;  // a .jinja file; empty: tokenizer_config.json beside the tokenizer
  std::string out;            // the shard to write; may be empty when cache_dir is set
  int64_t max_length = 1024;  // rows rendering to more tokens keep their first max_length (TRL); 0 = no limit
  std::vector<std::string> sources;  // dataset_source allow-list; empty = every source
  std::string default_source = "unknown";  // the source of rows without dataset_source
  int64_t token_budget = 0;   // 0 = keep everything
  uint64_t seed = 42;
  bool assistant_only_loss = true;  // false: every token gets loss (conversational rows only)
  bool completion_only_loss = true;  // prompt-completion rows: no loss on the prompt's tokens (TRL's default)
  std::string text_field = "text";   // the language-modelling rows' field (TRL's dataset_text_field)
  bool skip_bad_lines = false;      // false: the first bad line is an error and nothing is written
  std::string cache_dir;            // empty: no cache
};

struct SourceCounts {
  int64_t rows_read = 0;  // good rows with this source
  int64_t rows_kept = 0;
  int64_t tokens_kept = 0;
  int64_t loss_tokens_kept = 0;
};

struct PrepareSummary {
  int64_t rows_read = 0;        // non-empty lines, bad ones included
  int64_t rows_kept = 0;
  int64_t dropped_source = 0;   // dataset_source not in the allow-list
  int64_t dropped_no_loss = 0;  // no token would get loss (e.g. no assistant turn)
  int64_t dropped_budget = 0;   // not sampled into the token budget
  int64_t bad_lines = 0;        // skipped with skip_bad_lines
  int64_t truncated = 0;        // kept with their first max_length tokens (they rendered longer)
  std::vector<std::string> bad_line_messages;  // "file:line: reason", the first 20
  std::map<std::string, SourceCounts> per_source;
  int64_t total_tokens = 0;
  int64_t loss_tokens = 0;
  std::string cache_key;   // hex; identifies inputs + tokenizer + template + options
  std::string shard_path;  // where the shard was written (out, or the cache entry)
  bool cache_hit = false;
  double seconds = 0;

  nlohmann::json to_json() const;
  static PrepareSummary from_json(const nlohmann::json& json);
  std::string to_text() const;  // the human-readable summary the CLI prints
};

PrepareSummary prepare_dataset(const PrepareOptions& options);

// The study's source-list files: "- name" lines are sources; "HEADING:" lines, blank lines and
// "#" comments are ignored. Bare names (no "- ") are accepted too.
std::vector<std::string> read_source_list(const std::string& path);

// Budget sampling (see the comment at its definition for the algorithm). `lengths[i]` and
// `sources[i]` describe candidate i; returns keep flags. Deterministic for a seed.
std::vector<uint8_t> sample_to_budget(const std::vector<int64_t>& lengths, const std::vector<std::string>& sources,
                                      int64_t token_budget, uint64_t seed);

// TRL's truncate_dataset (v0.27): the token ids and the loss mask keep their first max_length entries
// (0 = no limit). Returns whether anything was cut.
bool truncate_to_max_length(std::vector<int32_t>& ids, std::vector<uint8_t>& mask, int64_t max_length);

// The summary written next to a shard: "<shard>.summary.json".
std::string summary_path_for(const std::string& shard_path);

}  // namespace tt
