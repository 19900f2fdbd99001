// Training a byte-level BPE tokenizer (GPT-2 / Llama-3 style) on a list of texts, and writing it as
// HF tokenizer.json + tokenizer_config.json that Tokenizer::load and ChatTemplate read.
//
//   BpeTrainOptions o;  o.vocab_size = 2048;
//   TrainedBpe bpe = train_bpe(texts, o);
//   write_tokenizer_files(bpe, TokenizerFilesOptions{}, "out/tokenizer");
//
// Pre-tokenizer: the Llama-3 split regex, then ByteLevel (no prefix space), so numbers split into
// groups of at most three digits and no merge crosses a word boundary. Ids: 0..255 are the single
// bytes (id = byte value), then one id per new token in the order learned, then the special tokens
// (as Llama-3 puts its specials after the BPE vocabulary). A merge whose bytes are already a token
// (reached by another merge path) reuses that id, as HF's trainer does.
//
// Training counts every distinct pre-token once with its frequency, keeps pair counts and the words
// each pair occurs in, and after each merge updates only the words that held the merged pair.
// Deterministic: the most frequent pair wins; ties go to the smallest (left id, right id).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tt {

struct BpeTrainOptions {
  // Total vocabulary including the 256 bytes and the special tokens (the model's vocab_size).
  int64_t vocab_size = 2048;
  // Pairs seen fewer times than this are never merged (training may stop below vocab_size; the
  // special tokens then follow the last merge).
  int64_t min_frequency = 2;
  std::vector<std::string> special_tokens = default_special_tokens();

  // <|begin_of_text|>, <|end_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>,
  // <|finetune_right_pad_id|>: the Llama-3 specials the study's chat template and TRL use.
  static std::vector<std::string> default_special_tokens();
};

struct TrainedBpe {
  std::vector<std::string> tokens;                 // id -> raw bytes (BPE tokens only)
  std::vector<std::pair<int32_t, int32_t>> merges; // (left id, right id) in rank order
  std::vector<std::string> special_tokens;         // ids tokens.size(), tokens.size() + 1, ...
  int64_t words = 0;                               // distinct pre-tokens seen
  int64_t vocab_size() const { return static_cast<int64_t>(tokens.size() + special_tokens.size()); }
  int32_t special_id(const std::string& content) const;  // -1 if not a special token
};

TrainedBpe train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options = {});

struct TokenizerFilesOptions {
  std::string bos_token = "<|begin_of_text|>";
  std::string eos_token = "<|end_of_text|>";
  std::string pad_token = "<|finetune_right_pad_id|>";
  std::string chat_template = study_chat_template();  // Jinja source; empty: none written
  int64_t model_max_length = 4096;

  // The tiny-think study's template (../shared/reference/tiny-think/chat_template.jinja, byte for
  // byte): Llama-3 headers, default system prompt asking for <think> and \boxed{}, assistant turns
  // inside {% generation %}.
  static std::string study_chat_template();
};

// The tokenizer.json text (HF layout: model BPE, Split + ByteLevel pre-tokenizer, TemplateProcessing
// that prepends bos_token, ByteLevel decoder, added_tokens for the specials).
std::string tokenizer_json(const TrainedBpe& bpe, const TokenizerFilesOptions& options = {});
std::string tokenizer_config_json(const TrainedBpe& bpe, const TokenizerFilesOptions& options = {});
// Writes dir/tokenizer.json and dir/tokenizer_config.json atomically (creates dir).
void write_tokenizer_files(const TrainedBpe& bpe, const TokenizerFilesOptions& options, const std::string& dir);

}  // namespace tt
