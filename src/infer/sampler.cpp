#include "infer/sampler.h"

#include <cmath>

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
  if (p.n < 1) fail("n must be >= 1, got {}", p.n);
  if (p.n > kMaxSamplesPerRequest)
    fail("n must be <= {} (every sample is a sequence held in memory), got {}", kMaxSamplesPerRequest, p.n);
  if (p.max_new_tokens < 1) fail("max_new_tokens must be >= 1, got {}", p.max_new_tokens);
  for (const auto& s : p.stop)
    if (s.empty()) fail("an empty stop string would stop before the first token; remove it");
}

Rng sample_rng(uint64_t seed, int64_t index) {
  // Decorrelate (seed, index) pairs: mix the index into the seed with a different odd constant.
  Rng mixer(seed ^ (0xd1b54a32d192ed03ull * static_cast<uint64_t>(index + 1)));
  return Rng(mixer.next_u64());
}

int32_t sample_token(std::span<float> logits, std::span<const int32_t> history, const SamplingParams& params,
                     Rng& rng) {
  apply_repetition_penalty(logits, history, params.repetition_penalty);
  return sample_filtered(logits, token_filter(params), rng);
}

}  // namespace tt::infer
