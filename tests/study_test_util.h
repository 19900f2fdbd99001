// Helpers for the study tests: a tiny byte-level tokenizer with a chat template, a tiny model
// directory, and small pre-tokenized training files.
#pragma once
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "infer/test_models.h"
#include "model/checkpoint.h"
#include "text/tokenizer_test_util.h"

namespace tt::testing {

// A chat template with a {% generation %} block, ending assistant turns with <eos> (id 259).
inline const char* tiny_chat_template() {
  return "{% for m in messages %}<|{{ m['role'] }}|>{% if m['role'] == 'assistant' %}{% generation %}"
         "{{ m['content'] }}<eos>{% endgeneration %}{% else %}{{ m['content'] }}{% endif %}\n{% endfor %}"
         "{% if add_generation_prompt %}<|assistant|>{% endif %}";
}

// tokenizer.json (256 bytes, three merges, <eos> = 259) and tokenizer_config.json with the template.
inline void write_tiny_chat_tokenizer(const std::string& dir) {
  std::ofstream(dir + "/tokenizer.json") << tiny_tokenizer_json().dump();
  nlohmann::json config = {{"chat_template", tiny_chat_template()}, {"eos_token", "<eos>"}};
  std::ofstream(dir + "/tokenizer_config.json") << config.dump();
}

// A random tiny Llama4 checkpoint (vocab 260, EOS 259) with the tokenizer files.
inline std::string write_tiny_model_dir(const std::string& dir, uint64_t seed = 7) {
  Model model = infer::testing::tiny_model(seed, 0.05);
  save_model(model, dir);
  write_tiny_chat_tokenizer(dir);
  return dir;
}

// Pre-tokenized SFT rows {"tokens", "loss_mask"} of random ids in [0, 259).
inline void write_token_rows(const std::string& path, int rows, int length, uint64_t seed) {
  Rng rng(seed);
  std::ofstream out(path);
  for (int r = 0; r < rows; ++r) {
    std::vector<int32_t> tokens;
    for (int i = 0; i < length; ++i) tokens.push_back(static_cast<int32_t>(rng.below(259)));
    out << nlohmann::json({{"tokens", tokens}}).dump() << "\n";
  }
}

// Pre-tokenized preference pairs {"prompt_ids", "chosen_ids", "rejected_ids"} (completions end with 259).
inline void write_token_pairs(const std::string& path, int rows, uint64_t seed) {
  Rng rng(seed);
  std::ofstream out(path);
  auto ids = [&](int n, bool eos) {
    std::vector<int32_t> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(rng.below(259)));
    if (eos) v.push_back(259);
    return v;
  };
  for (int r = 0; r < rows; ++r)
    out << nlohmann::json({{"prompt_ids", ids(8, false)}, {"chosen_ids", ids(6, true)}, {"rejected_ids", ids(6, true)}})
               .dump()
        << "\n";
}

}  // namespace tt::testing
