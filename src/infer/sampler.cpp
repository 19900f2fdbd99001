#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace tt::infer {

void validate(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
    fail("temperature must be >= 0, got {}", p.temperature);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail("top_p must be in (0, 1], got {}", p.top_p);
  if (p.top_k < 0) fail("top_k must be >= 0 (0 = off), got {}", p.top_k);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("min_p must be in [0, 1], got {}", p.min_p);
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
    fail("repetition_penalty must be > 0, got {}", p.repetition_penalty);
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
    fail("presence_penalty must be in [-2, 2], got {}", p.presence_penalty);
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
    fail("frequency_penalty must be in [-2, 2], got {}", p.frequency_penalty);
  if (p.n < 1) fail("n must be >= 1, got {}", p.n);
  if (p.n > kMaxSamplesPerRequest)
    fail("n must be <= {} (every sample is a sequence held in memory), got {}", kMaxSamplesPerRequest, p.n);
  if (p.max_new_tokens < 1) fail("max_new_tokens must be >= 1, got {}", p.max_new_tokens);
  if (p.min_tokens < 0) fail("min_tokens must be >= 0, got {}", p.min_tokens);
  if (p.min_tokens > p.max_new_tokens)
    fail("min_tokens must be <= max_new_tokens ({}), got {}", p.max_new_tokens, p.min_tokens);
  for (const auto& s : p.stop)
    if (s.empty()) fail("an empty stop string would stop before the first token; remove it");
  if (p.logprobs && (*p.logprobs < 0 || *p.logprobs > kMaxLogprobs))
    fail("logprobs must be in [0, {}] (vLLM's default max_logprobs; 0 = the sampled token's only), got {}",
         kMaxLogprobs, *p.logprobs);
  if (p.prompt_logprobs && (*p.prompt_logprobs < 0 || *p.prompt_logprobs > kMaxLogprobs))
    fail("prompt_logprobs must be in [0, {}] (vLLM's default max_logprobs; 0 = the prompt token's only), got {}",
         kMaxLogprobs, *p.prompt_logprobs);
}

PositionLogprobs raw_logprobs(std::span<const float> logits, int32_t sampled, int64_t top) {
  const int64_t V = static_cast<int64_t>(logits.size());
  float peak = -std::numeric_limits<float>::infinity();
  for (float x : logits) peak = std::max(peak, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - peak);
  const double lse = static_cast<double>(peak) + std::log(sum);
  auto logprob = [&](int32_t id) { return static_cast<float>(static_cast<double>(logits[id]) - lse); };
  PositionLogprobs out;
  int64_t rank = 0;
  for (float x : logits) rank += x >= logits[sampled];
  out.push_back({sampled, logprob(sampled), rank});
  top = std::min(top, V);
  if (top <= 0) return out;
  std::vector<int32_t> ids(V);
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + top, ids.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (int64_t k = 0; k < top; ++k) out.push_back({ids[k], logprob(ids[k]), k + 1});
  return out;
}

Rng sample_rng(uint64_t seed, int64_t index) {
  // Decorrelate nearby seeds: the stream's state comes from a mix of seed + index.
  Rng mixer((seed + static_cast<uint64_t>(index)) ^ 0xd1b54a32d192ed03ull);
  return Rng(mixer.next_u64());
}

std::vector<int32_t> ids_held_back(const SamplingParams& p, int64_t generated, std::span<const int32_t> eos_ids) {
  if (generated >= p.min_tokens) return {};
  std::vector<int32_t> ids = p.stop_token_ids;
  if (!p.ignore_eos) ids.insert(ids.end(), eos_ids.begin(), eos_ids.end());
  return ids;
}

int32_t sample_token(std::span<float> logits, std::span<const int32_t> history, int64_t prompt_length,
                     std::span<const int32_t> held_back, const SamplingParams& params, Rng& rng) {
  for (int32_t id : held_back)
    if (id >= 0 && id < static_cast<int32_t>(logits.size())) logits[id] = -std::numeric_limits<float>::infinity();
  apply_penalties(logits, history, prompt_length, token_penalties(params));
  return sample_filtered(logits, token_filter(params), rng);
}

}  // namespace tt::infer
