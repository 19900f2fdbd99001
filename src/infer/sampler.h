// A request's sampling options (as vLLM's SamplingParams), their validation, each sample's own RNG
// stream, and the next token of one sequence through the sampling kernel (kernels/cpu/sampling.h).
// Nothing here looks at other sequences, so a request's samples depend only on its logits,
// parameters and seed.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "kernels/cpu/sampling.h"

namespace tt::infer {

struct SamplingParams {
  float temperature = 1.0f;        // 0 = greedy
  float top_p = 1.0f;              // (0, 1]
  int64_t top_k = 0;               // 0 = off
  float min_p = 0.0f;              // [0, 1]
  float repetition_penalty = 1.0f; // HF/CTRL: logit / r if > 0 else logit * r, over prompt + generated tokens
  int64_t n = 1;                   // samples per prompt
  uint64_t seed = 0;
  int64_t max_new_tokens = 256;
  std::vector<std::string> stop = {};     // stop strings (need a tokenizer)
  std::vector<int32_t> stop_token_ids = {};  // besides the model's EOS ids
  bool ignore_eos = false;
};

// Samples per request: beyond this a typo (--n 1000000000) would exhaust memory before failing.
inline constexpr int64_t kMaxSamplesPerRequest = 65536;

// Checks ranges; errors name the field ("top_p must be in (0, 1], got 1.5").
void validate(const SamplingParams& params);

// The RNG stream of sample `index` of a request with `seed` (independent streams per sample).
Rng sample_rng(uint64_t seed, int64_t index);

// The per-row filter of a request's options.
inline TokenFilter token_filter(const SamplingParams& p) { return {p.temperature, p.top_p, p.top_k, p.min_p}; }

using Candidate = TokenCandidate;
inline std::vector<Candidate> filter_candidates(std::span<const float> logits, const SamplingParams& params) {
  return tt::filter_candidates(logits, token_filter(params));
}

// One draw: repetition penalty over `history` (logits are modified), then greedy or filtered sampling.
int32_t sample_token(std::span<float> logits, std::span<const int32_t> history, const SamplingParams& params,
                     Rng& rng);

}  // namespace tt::infer
