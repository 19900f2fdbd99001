// A request's sampling options (as vLLM's SamplingParams), their validation, each sample's own RNG
// stream, and the next token of one sequence through the sampling kernel (kernels/cpu/sampling.h).
// Nothing here looks at other sequences, so a request's samples depend only on its logits,
// parameters and seed.
#pragma once
#include <cstdint>
#include <optional>
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
  float presence_penalty = 0.0f;   // [-2, 2], OpenAI/vLLM: logit -= p once a token has been generated
  float frequency_penalty = 0.0f;  // [-2, 2], OpenAI/vLLM: logit -= f * times the token has been generated
  int64_t n = 1;                   // samples per prompt
  uint64_t seed = 0;               // sample i of the request draws from the stream of seed + i (vLLM)
  int64_t max_new_tokens = 256;
  int64_t min_tokens = 0;          // no EOS, stop token id or stop string ends a sample before this many tokens
  std::vector<std::string> stop = {};     // stop strings (need a tokenizer)
  std::vector<int32_t> stop_token_ids = {};  // besides the model's EOS ids
  bool ignore_eos = false;
  // vLLM's skip_special_tokens (its default): the completion's text leaves out special tokens (those
  // tokenizer.json marks special), and stop strings are looked for in that text.
  bool skip_special_tokens = true;
  // vLLM's logprobs: per generated token, the log-probabilities of the sampled token and of the
  // `logprobs` most likely ones, from the raw logits (vLLM V1's raw_logprobs mode: before penalties,
  // temperature and filters); unset: none. 0..kMaxLogprobs.
  std::optional<int64_t> logprobs = std::nullopt;
  // vLLM's prompt_logprobs: per prompt token after the first, its log-probability given the tokens
  // before it and those of the `prompt_logprobs` most likely tokens there, from the raw logits; unset:
  // none. 0..kMaxLogprobs. The request's first sample then computes its whole prompt (no prefix-cache
  // hit, as in vLLM, whose cached tokens have no logits).
  std::optional<int64_t> prompt_logprobs = std::nullopt;
};

// vLLM's default max_logprobs: the most log-probabilities a request may ask for per token.
inline constexpr int64_t kMaxLogprobs = 20;

// One token's entry: vLLM's Logprob (rank 1 = the most likely; the sampled token's rank counts the
// tokens whose log-prob is >= its own, as vLLM counts it).
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
  int64_t rank = 0;
};

// One generated position: the sampled token first, then the top ones, most likely first (equal
// log-probs by lower id), as vLLM builds its dict (an id given twice keeps the later entry).
using PositionLogprobs = std::vector<TokenLogprob>;

// The entries of one position from its raw logits row.
PositionLogprobs raw_logprobs(std::span<const float> logits, int32_t sampled, int64_t top);

// Samples per request: beyond this a typo (--n 1000000000) would exhaust memory before failing.
inline constexpr int64_t kMaxSamplesPerRequest = 65536;

// Checks ranges; errors name the field ("top_p must be in (0, 1], got 1.5").
void validate(const SamplingParams& params);

// The RNG stream of sample `index` of a request with `seed`: as in vLLM, where sample i of a request
// with n > 1 is a request of its own with seed + i, it is the stream of sample 0 with seed + index.
Rng sample_rng(uint64_t seed, int64_t index);

// The per-row filter of a request's options.
inline TokenFilter token_filter(const SamplingParams& p) { return {p.temperature, p.top_p, p.top_k, p.min_p}; }

using Candidate = TokenCandidate;
inline std::vector<Candidate> filter_candidates(std::span<const float> logits, const SamplingParams& params) {
  return tt::filter_candidates(logits, token_filter(params));
}

// The penalties of a request's options.
inline TokenPenalties token_penalties(const SamplingParams& p) {
  return {p.repetition_penalty, p.frequency_penalty, p.presence_penalty};
}

// The token ids a sample may not draw yet, having generated `generated` tokens: before min_tokens, the
// ids that would end it (the EOS ids unless ignore_eos, and stop_token_ids), as vLLM's min-tokens
// logits processor; otherwise none.
std::vector<int32_t> ids_held_back(const SamplingParams& params, int64_t generated, std::span<const int32_t> eos_ids);

// One draw (logits are modified): the `held_back` ids set to -inf, the penalties over `history` (its
// first prompt_length tokens the prompt), then greedy or filtered sampling.
int32_t sample_token(std::span<float> logits, std::span<const int32_t> history, int64_t prompt_length,
                     std::span<const int32_t> held_back, const SamplingParams& params, Rng& rng);

}  // namespace tt::infer
