// Byte-level BPE training (see bpe_train.h).
#include "text/bpe_train.h"

#include <algorithm>
#include <filesystem>
#include <queue>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "text/pretokenize.h"
#include "text/utf8.h"

namespace tt {

namespace {

using json = nlohmann::ordered_json;

uint64_t pack(int32_t left, int32_t right) {
  return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
}
int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xffffffffu); }

// Distinct pre-tokens with their frequencies, sorted by bytes (the order fixes nothing in the
// result, but keeps every run identical).
std::vector<std::pair<std::string, int64_t>> count_words(const std::vector<std::string>& texts) {
  std::vector<PreTokenizeStep> steps(1);
  steps[0].regex = Regex::compile(kLlama3SplitPattern, "bpe_train");
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : texts) {
    pre_tokenize(steps, text, [&](std::string_view piece, PiecePlace) { ++counts[std::string(piece)]; });
  }
  std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
  std::sort(words.begin(), words.end());
  return words;
}

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  // std::priority_queue pops the largest: higher count first, then the smaller pair.
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

// Adds `sign` * count for every adjacent pair of `symbols` to `delta`.
void add_pairs(const std::vector<int32_t>& symbols, int64_t count, std::unordered_map<uint64_t, int64_t>& delta) {
  for (size_t i = 0; i + 1 < symbols.size(); ++i) delta[pack(symbols[i], symbols[i + 1])] += count;
}

// Replaces each (left, right), left to right without overlap, by `merged`. Returns whether any was.
bool merge_word(std::vector<int32_t>& symbols, int32_t left, int32_t right, int32_t merged) {
  size_t out = 0;
  bool changed = false;
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
      symbols[out++] = merged;
      ++i;
      changed = true;
    } else {
      symbols[out++] = symbols[i];
    }
  }
  symbols.resize(out);
  return changed;
}

}  // namespace

std::vector<std::string> BpeTrainOptions::default_special_tokens() {
  return {"<|begin_of_text|>", "<|end_of_text|>",  "<|start_header_id|>",
          "<|end_header_id|>", "<|eot_id|>",       "<|finetune_right_pad_id|>"};
}

int32_t TrainedBpe::special_id(const std::string& content) const {
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    if (special_tokens[i] == content) return static_cast<int32_t>(tokens.size() + i);
  }
  return -1;
}

TrainedBpe train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options) {
  const int64_t target = options.vocab_size - static_cast<int64_t>(options.special_tokens.size());
  if (target < 256) {
    fail("train_bpe: vocab_size {} leaves {} ids for BPE tokens after {} special tokens; need at least 256 for the bytes",
         options.vocab_size, target, options.special_tokens.size());
  }
  for (size_t i = 0; i < options.special_tokens.size(); ++i) {
    if (options.special_tokens[i].empty()) fail("train_bpe: special token {} is empty", i);
    for (size_t j = 0; j < i; ++j) {
      if (options.special_tokens[i] == options.special_tokens[j]) fail("train_bpe: special token {} is listed twice", options.special_tokens[i]);
    }
  }

  TrainedBpe bpe;
  bpe.special_tokens = options.special_tokens;
  std::unordered_map<std::string, int32_t> id_of;
  for (int b = 0; b < 256; ++b) {
    bpe.tokens.emplace_back(1, static_cast<char>(b));
    id_of[bpe.tokens.back()] = b;
  }

  auto unique_words = count_words(texts);
  bpe.words = static_cast<int64_t>(unique_words.size());
  std::vector<std::vector<int32_t>> words(unique_words.size());
  std::vector<int64_t> freq(unique_words.size());
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;  // may hold stale word indices
  for (size_t w = 0; w < unique_words.size(); ++w) {
    const std::string& bytes = unique_words[w].first;
    freq[w] = unique_words[w].second;
    words[w].reserve(bytes.size());
    for (unsigned char c : bytes) words[w].push_back(c);
    for (size_t i = 0; i + 1 < words[w].size(); ++i) {
      uint64_t key = pack(words[w][i], words[w][i + 1]);
      pair_count[key] += freq[w];
      auto& list = pair_words[key];
      if (list.empty() || list.back() != static_cast<int32_t>(w)) list.push_back(static_cast<int32_t>(w));
    }
  }
  unique_words.clear();

  std::priority_queue<HeapEntry> heap;
  for (const auto& [key, count] : pair_count) heap.push({count, key});

  std::unordered_map<uint64_t, int64_t> delta;
  while (static_cast<int64_t>(bpe.tokens.size()) < target && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    int64_t current = it == pair_count.end() ? 0 : it->second;
    if (current != top.count) {  // stale: requeue with the true count
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (current < options.min_frequency) break;

    const int32_t left = left_of(top.pair), right = right_of(top.pair);
    std::string bytes = bpe.tokens[left] + bpe.tokens[right];
    int32_t merged;
    if (auto found = id_of.find(bytes); found != id_of.end()) {
      merged = found->second;  // another merge path made these bytes already (HF reuses the id too)
    } else {
      merged = static_cast<int32_t>(bpe.tokens.size());
      bpe.tokens.push_back(bytes);
      id_of.emplace(std::move(bytes), merged);
    }
    bpe.merges.emplace_back(left, right);

    std::vector<int32_t> affected = std::move(pair_words[top.pair]);
    pair_words.erase(top.pair);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    delta.clear();
    for (int32_t w : affected) {
      std::vector<int32_t>& symbols = words[w];
      bool present = false;
      for (size_t i = 0; i + 1 < symbols.size() && !present; ++i) present = symbols[i] == left && symbols[i + 1] == right;
      if (!present) continue;
      add_pairs(symbols, -freq[w], delta);
      merge_word(symbols, left, right, merged);
      add_pairs(symbols, freq[w], delta);
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (symbols[i] != merged && symbols[i + 1] != merged) continue;
        auto& list = pair_words[pack(symbols[i], symbols[i + 1])];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
    }
    // Apply the net changes in pair order so the heap sees the same sequence every run.
    std::vector<std::pair<uint64_t, int64_t>> changes;
    for (const auto& [key, d] : delta) {
      if (d != 0) changes.emplace_back(key, d);
    }
    std::sort(changes.begin(), changes.end());
    for (const auto& [key, d] : changes) {
      int64_t& count = pair_count[key];
      count += d;
      if (count <= 0) {
        pair_count.erase(key);
      } else if (d > 0) {
        heap.push({count, key});  // decreases are found stale when popped
      }
    }
  }
  return bpe;
}

std::string TokenizerFilesOptions::study_chat_template() {
  return
#include "text/bpe_train_template.inc"
      ;
}

std::string tokenizer_json(const TrainedBpe& bpe, const TokenizerFilesOptions& options) {
  const auto first_special = static_cast<int32_t>(bpe.tokens.size());
  const int32_t bos = bpe.special_id(options.bos_token);

  json added = json::array();
  for (size_t i = 0; i < bpe.special_tokens.size(); ++i) {
    added.push_back({{"id", first_special + static_cast<int32_t>(i)},
                     {"content", bpe.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  json pre_tokenizer = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "Split"}, {"pattern", {{"Regex", kLlama3SplitPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}};
  json post_processor = nullptr;
  if (bos >= 0) {
    post_processor = {
        {"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", options.bos_token}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", json::array({{{"SpecialToken", {{"id", options.bos_token}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", options.bos_token}, {"type_id", 1}}}},
                              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
        {"special_tokens", {{options.bos_token, {{"id", options.bos_token}, {"ids", {bos}}, {"tokens", {options.bos_token}}}}}}};
  }
  json vocab = json::object();
  for (size_t id = 0; id < bpe.tokens.size(); ++id) vocab[utf8::byte_level_encode(bpe.tokens[id])] = id;
  json merges = json::array();
  for (const auto& [left, right] : bpe.merges) {
    merges.push_back(utf8::byte_level_encode(bpe.tokens[left]) + " " + utf8::byte_level_encode(bpe.tokens[right]));
  }
  json root = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", std::move(added)},
               {"normalizer", nullptr},
               {"pre_tokenizer", std::move(pre_tokenizer)},
               {"post_processor", std::move(post_processor)},
               {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", false},
                 {"vocab", std::move(vocab)},
                 {"merges", std::move(merges)}}}};
  return root.dump(2) + "\n";
}

std::string tokenizer_config_json(const TrainedBpe& bpe, const TokenizerFilesOptions& options) {
  for (const std::string* name : {&options.bos_token, &options.eos_token, &options.pad_token}) {
    if (!name->empty() && bpe.special_id(*name) < 0) fail("tokenizer_config: '{}' is not one of the special tokens", *name);
  }
  json decoder = json::object();
  for (size_t i = 0; i < bpe.special_tokens.size(); ++i) {
    decoder[std::to_string(bpe.tokens.size() + i)] = {{"content", bpe.special_tokens[i]},
                                                       {"lstrip", false},
                                                       {"normalized", false},
                                                       {"rstrip", false},
                                                       {"single_word", false},
                                                       {"special", true}};
  }
  auto token_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json config = {{"add_bos_token", true},
                 {"add_eos_token", false},
                 {"added_tokens_decoder", std::move(decoder)},
                 {"bos_token", token_or_null(options.bos_token)},
                 {"clean_up_tokenization_spaces", true},
                 {"eos_token", token_or_null(options.eos_token)},
                 {"model_input_names", {"input_ids", "attention_mask"}},
                 {"model_max_length", options.model_max_length},
                 {"pad_token", token_or_null(options.pad_token)},
                 {"tokenizer_class", "PreTrainedTokenizerFast"}};
  if (!options.chat_template.empty()) config["chat_template"] = options.chat_template;
  return config.dump(2) + "\n";
}

void write_tokenizer_files(const TrainedBpe& bpe, const TokenizerFilesOptions& options, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail("{}: cannot create directory ({})", dir, error.message());
  write_file_atomic(dir + "/tokenizer.json", tokenizer_json(bpe, options));
  write_file_atomic(dir + "/tokenizer_config.json", tokenizer_config_json(bpe, options));
}

}  // namespace tt
