// Preference data for DPO and friends, tokenized as TRL's DPOTrainer does (../shared/DESIGN.md §4).
//
// Input rows (JSONL), one pair per line:
//   {"chosen": [messages], "rejected": [messages]}          implicit prompt: the longest common
//                                                            prefix of the two message lists
//   {"prompt": [messages], "chosen": [messages], "rejected": [messages]}   explicit, conversational
//   {"prompt": "text", "chosen": "text", "rejected": "text"}              explicit, plain text
//   {"prompt_ids": [...], "chosen_ids": [...], "rejected_ids": [...]}     pre-tokenized (taken as is:
//                                                            completions already end with their EOS)
//
// Conversational rows (TRL maybe_extract_prompt + maybe_apply_chat_template + tokenize_row):
//   prompt_text  = render(prompt, add_generation_prompt=true)
//   full         = render(prompt + chosen)
//   prompt_text  = the longest common prefix of prompt_text and full (the study's template writes a
//                  "\n" before the generation prompt that the training text lacks, so the prompt ends
//                  at the last <|eot_id|> and the completion starts with <|start_header_id|>assistant)
//   chosen_text  = full[len(prompt_text):], rejected_text likewise from render(prompt + rejected)
// Each text is encoded without adding BOS (the template writes it). A plain-text completion gets EOS
// appended; a conversational one does not, its turn being closed by the template (TRL 0.27.2 and later;
// 0.27.1 and earlier also appended EOS there, which TRL fixed as a bug in #4908).
// Truncation (TRL 0.27's tokenize_row, then concatenated_forward): the prompt keeps its last
// max_prompt_length tokens, each completion its first max_completion_length; then each sequence,
// prompt + chosen and prompt + rejected on its own, keeps max_length tokens by truncation_mode:
//   keep_end (TRL's default): its last max_length tokens - the prompt loses its start first; a
//     completion longer than max_length loses its own start too and the sequence holds no prompt;
//   keep_start: its first max_length tokens - completions lose their ends; a prompt of max_length
//     tokens or more leaves the completions empty (TRL keeps such pairs: no scored tokens).
// Under keep_end the two sequences of a pair may keep different prompt tails (chosen_prompt_skip,
// rejected_prompt_skip). Nothing is dropped by max_length.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt {

struct PreferencePair {
  std::vector<int32_t> prompt, chosen, rejected;  // completions end as trained on (EOS or the turn's end)
  // keep_end: how many of prompt's first tokens the chosen / rejected sequence drops
  int64_t chosen_prompt_skip = 0, rejected_prompt_skip = 0;

  // The prompt tokens that precede the chosen (or rejected) completion.
  std::span<const int32_t> prompt_of(bool chosen_side) const {
    const int64_t skip = chosen_side ? chosen_prompt_skip : rejected_prompt_skip;
    return std::span<const int32_t>(prompt).subspan(static_cast<size_t>(skip));
  }
};

enum class TruncationMode { KeepEnd, KeepStart };

// "keep_end" | "keep_start"; throws tt::Error naming `where` (e.g. "config.yaml: trainer.truncation_mode").
TruncationMode parse_truncation_mode(const std::string& text, const std::string& where);

struct PreferenceOptions {
  std::string tokenizer;      // tokenizer.json / tokenizer.model, or a model directory (unused for pre-tokenized data)
  std::string chat_template;  // a .jinja file; empty: tokenizer_config.json beside the tokenizer
  std::string dataset_config, dataset_split = "train";  // a Hub dataset id's config and split
  int64_t max_prompt_length = 512;       // <= 0: no limit
  int64_t max_completion_length = -1;    // <= 0: no limit
  int64_t max_length = 1024;             // prompt + completion; <= 0: no limit
  TruncationMode truncation_mode = TruncationMode::KeepEnd;  // which max_length tokens stay (TRL's default)
  // A prompt over max_prompt_length: false (TRL, the study) truncates it from the left and counts it;
  // true drops the pair (reason prompt_too_long).
  bool drop_long_prompts = false;
  int64_t token_budget = 0;  // sample pairs to this many tokens (prompt + chosen + prompt + rejected), 0: all
  uint64_t seed = 42;
  // A malformed line: false (dataset.on_error: fail, the default) stops with its file:line; true
  // (on_error: skip) drops it and counts it.
  bool skip_bad_lines = false;
};

// Why pairs were not trained on, and what was changed, by reason.
struct PreferenceSummary {
  int64_t rows_read = 0;               // non-empty lines, bad ones included
  int64_t pairs_kept = 0;
  int64_t identical_pairs = 0;         // kept: chosen == rejected (TRL keeps them)
  int64_t empty_completions = 0;       // kept: a completion holding only EOS (TRL keeps them)
  int64_t dropped_prompt_too_long = 0; // over max_prompt_length, with drop_long_prompts
  int64_t dropped_budget = 0;
  int64_t bad_lines = 0;               // malformed lines, skipped (skip_bad_lines)
  std::vector<std::string> bad_line_messages;  // "file:line: reason", the first 20
  int64_t prompts_truncated = 0;       // kept, prompt cut (max_prompt_length, or max_length in either mode)
  int64_t completions_truncated = 0;   // kept, a completion cut by max_completion_length or max_length
  int64_t tokens = 0;                  // prompt + chosen + prompt + rejected of the kept pairs
  std::string to_text() const;
};

struct PreferenceData {
  std::vector<PreferencePair> pairs;
  PreferenceSummary summary;
};

enum class PairIssue { None, PromptTooLong };

struct PairTexts {
  std::string prompt, chosen, rejected;
  bool conversational = true;  // rendered from messages by the chat template (false: text prompt/chosen/rejected)
};

struct TokenizedPair {
  PreferencePair pair;
  PairIssue issue = PairIssue::None;
  bool prompt_truncated = false, completion_truncated = false;
  bool identical = false, empty_completion = false;  // noted, kept (as TRL)
};

// Tokenizes rows of one dataset with one tokenizer and chat template.
class PreferenceTokenizer {
 public:
  explicit PreferenceTokenizer(const PreferenceOptions& options);
  PreferenceTokenizer(Tokenizer tokenizer, ChatTemplate chat_template, const PreferenceOptions& options);

  // The prompt and completion texts of a row; throws tt::Error on a malformed row.
  PairTexts texts(const nlohmann::ordered_json& row) const;
  // texts() tokenized, EOS appended to plain-text completions, then finish_pair().
  TokenizedPair tokenize(const nlohmann::ordered_json& row) const;

  int32_t eos_id() const { return eos_id_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  void init_eos();
  Tokenizer tokenizer_;
  ChatTemplate template_;
  PreferenceOptions options_;
  int32_t eos_id_ = -1;
};

// The prompt-length check and the truncation, on token ids whose completions are complete.
// Pairs whose chosen equals rejected or whose completion is empty (only EOS, or nothing) are kept as
// TRL's DPOTrainer keeps them, and only noted.
TokenizedPair finish_pair(PreferencePair pair, const PreferenceOptions& options, int32_t eos_id);

// Reads a JSONL file (any format above). Malformed lines are counted and skipped, never fatal,
// unless every line is bad.
PreferenceData load_preference_data(const std::string& path, const PreferenceOptions& options);

}  // namespace tt
