// Choosing the next token from one row of logits: penalties, then greedy (temperature 0)
// or temperature -> top-k -> top-p -> min-p and one draw from the caller's RNG stream. A row is
// handled alone, so a sequence's token depends only on its logits, its filter and its stream —
// what keeps generation batch-invariant. The engine's request-level options (n, seed, stop strings,
// max_new_tokens) and their validation live in infer/sampler.h.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"

namespace tt {

// The filter of one row (fields in the order of infer::SamplingParams).
struct TokenFilter {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;        // (0, 1]
  int64_t top_k = 0;         // 0 = off
  float min_p = 0.0f;        // [0, 1]
};

// The penalties of one row, as vLLM's SamplingParams.
struct TokenPenalties {
  float repetition = 1.0f;  // HF/CTRL: logit / r if > 0 else logit * r, once per distinct prompt or output token
  float frequency = 0.0f;   // OpenAI: logit -= frequency * (times the token was generated)
  float presence = 0.0f;    // OpenAI: logit -= presence once the token has been generated
};

// Applies the penalties in place in vLLM's order (apply_penalties): the repetition penalty over the
// tokens of `history` (prompt and output), then the frequency penalty, then the presence penalty over
// the output tokens, history[prompt_length:]. Each is a separate rounding step, as torch computes them.
void apply_penalties(std::span<float> logits, std::span<const int32_t> history, int64_t prompt_length,
                     const TokenPenalties& penalties);

// The lowest id among the largest logits.
int32_t argmax(std::span<const float> logits);

// Candidates after temperature, top-k, top-p and min-p: token ids with their probabilities
// (renormalised, summing to 1), most probable first (ties: lower id first).
struct TokenCandidate {
  int32_t id;
  double prob;
};
std::vector<TokenCandidate> filter_candidates(std::span<const float> logits, const TokenFilter& filter);

// One token: greedy, or one uniform draw from `rng` over the filtered candidates. Temperature +
// top-p alone take an O(V) path that keeps the same nucleus without sorting the vocabulary.
int32_t sample_filtered(std::span<const float> logits, const TokenFilter& filter, Rng& rng);

}  // namespace tt
