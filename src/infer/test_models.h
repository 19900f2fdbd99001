// Test helpers for the inference engine: a tiny random Llama4 model whose vocabulary a tiny
// byte-level tokenizer covers (256 byte tokens, three merges, <eos> = 259), and reference logits
// from the training forward pass (no cache).
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "text/tokenizer.h"
#include "text/tokenizer_test_util.h"

namespace tt::infer::testing {

inline Model tiny_model(uint64_t seed = 7, double init_range = 0.05, const std::string& preset = "tiny-llama4") {
  ModelConfig config = preset_config(preset);
  config.vocab_size = 260;
  config.eos_token_ids = {259};
  config.bos_token_id = -1;
  config.initializer_range = init_range;
  return init_model(config, seed);
}


// Writes tokenizer.json into `dir` and loads it.
inline Tokenizer write_tiny_tokenizer(const std::string& dir) {
  std::ofstream(dir + "/tokenizer.json") << tt::testing::tiny_tokenizer_json().dump();
  return Tokenizer::load(dir + "/tokenizer.json");
}

// Random prompts of lengths in [min_len, max_len], ids in [0, 259).
inline std::vector<std::vector<int32_t>> random_prompts(int count, int min_len, int max_len, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> prompts(count);
  for (auto& p : prompts) {
    const int len = min_len + static_cast<int>(rng.below(max_len - min_len + 1));
    for (int i = 0; i < len; ++i) p.push_back(static_cast<int32_t>(rng.below(259)));
  }
  return prompts;
}

// Logits [tokens.size(), vocab] of the training forward pass over one sequence.
inline std::vector<float> reference_logits(Model& model, const std::vector<int32_t>& tokens, Precision precision) {
  std::vector<float> bf16_copy;
  WeightSet weights = make_weight_set(model, precision, bf16_copy);
  Workspace ws;
  Batch batch;
  batch.rows = 1;
  batch.seq = static_cast<int64_t>(tokens.size());
  batch.tokens = tokens;
  batch.targets.assign(tokens.size(), -100);
  model_forward(model.config, weights, batch, ws, {.precision = precision, .for_backward = false});
  const int64_t V = model.config.vocab_size;
  std::vector<float> logits(batch.seq * V);
  matmul(ws.hidden.data(), weights.matmul_weights.lm_head, logits.data(), batch.seq, V, model.config.hidden_size,
         {.trans_b = true, .precision = precision, .b_is_bf16 = weights.matmul_weights_are_bf16});
  return logits;
}

}  // namespace tt::infer::testing
