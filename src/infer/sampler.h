// Sampling the next token from one row of logits, per sequence: repetition penalty, then greedy
// (temperature 0) or temperature -> top-k -> top-p -> min-p and a draw from the sequence's own RNG
// stream. Nothing here looks at other sequences, so a request's samples depend only on its logits,
// parameters and seed.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"

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

// Applies the repetition penalty in place to every distinct token of `history`.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty);

// Candidates after temperature, top-k, top-p and min-p: token ids with their probabilities
// (renormalised, summing to 1), most probable first (ties: lower id first).
struct Candidate {
  int32_t id;
  double prob;
};
std::vector<Candidate> filter_candidates(std::span<const float> logits, const SamplingParams& params);

// The lowest id among the largest logits.
int32_t argmax(std::span<const float> logits);

// One draw: repetition penalty over `history` (logits are modified), then greedy or filtered sampling.
int32_t sample_token(std::span<float> logits, std::span<const int32_t> history, const SamplingParams& params,
                     Rng& rng);

}  // namespace tt::infer
