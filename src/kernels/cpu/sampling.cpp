#include "kernels/cpu/sampling.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace tt {

void apply_penalties(std::span<float> logits, std::span<const int32_t> history, int64_t prompt_length,
                     const TokenPenalties& p) {
  if (p.repetition == 1.0f && p.frequency == 0.0f && p.presence == 0.0f) return;
  // Per distinct token: whether it is in the prompt (the top bit) and how often it was generated.
  constexpr uint32_t kInPrompt = 0x80000000u;
  std::unordered_map<int32_t, uint32_t> seen;
  const int64_t vocab = static_cast<int64_t>(logits.size());
  for (int64_t j = 0; j < static_cast<int64_t>(history.size()); ++j) {
    const int32_t id = history[j];
    if (id < 0 || id >= vocab) continue;
    uint32_t& word = seen[id];
    if (j < prompt_length) word |= kInPrompt;
    else ++word;
  }
  // This file is compiled with -ffp-contract=off: the product and the difference round separately,
  // as torch's `logits -= frequency_penalties * counts` does.
  for (const auto& [id, word] : seen) {
    float l = logits[id];
    if (p.repetition != 1.0f) l = l > 0.0f ? l / p.repetition : l * p.repetition;
    if (const uint32_t count = word & ~kInPrompt; count > 0) {
      const float frequency = p.frequency * static_cast<float>(count);
      l = l - frequency;
      l = l - p.presence;
    }
    logits[id] = l;
  }
}

// The rule of the plain loop "a later logit wins only when strictly larger" (the first of equal
// maxima; a NaN never wins; a NaN at 0 keeps 0), in two vector passes over the row (AVX2 is the
// build's baseline): its largest non-NaN value, then that value's first position. Greedy decoding
// runs it once per row and step over the whole vocabulary, so it must not be a dependent scalar chain.
int32_t argmax(std::span<const float> logits) {
  const int64_t n = static_cast<int64_t>(logits.size());
  const float* p = logits.data();
  if (n == 0 || std::isnan(p[0])) return 0;
  constexpr int64_t kLanes = 8, kVectors = 4;  // 4 independent maxima hide the max's latency
  __m256 best[kVectors];
  for (auto& b : best) b = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + kLanes * kVectors <= n; i += kLanes * kVectors)
    for (int64_t v = 0; v < kVectors; ++v)
      best[v] = _mm256_max_ps(_mm256_loadu_ps(p + i + v * kLanes), best[v]);  // best[v] where the load is NaN
  float m = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i)
    if (p[i] > m) m = p[i];
  alignas(32) float lanes[kLanes];
  _mm256_store_ps(lanes, _mm256_max_ps(_mm256_max_ps(best[0], best[1]), _mm256_max_ps(best[2], best[3])));
  for (float lane : lanes) m = lane > m ? lane : m;
  // p[0] is not NaN, so m is a value of the row: its first position is the answer.
  const __m256 target = _mm256_set1_ps(m);
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + i), target, _CMP_EQ_OQ));
    if (mask != 0) return static_cast<int32_t>(i + std::countr_zero(static_cast<unsigned>(mask)));
  }
  for (; i < n; ++i)
    if (p[i] == m) return static_cast<int32_t>(i);
  return 0;
}

std::vector<TokenCandidate> filter_candidates(std::span<const float> logits, const TokenFilter& params) {
  const int64_t V = static_cast<int64_t>(logits.size());
  const double inv_t = params.temperature > 0.0f ? 1.0 / params.temperature : 1.0;
  float max_logit = logits[argmax(logits)];
  // Tokens whose probability is below e^-40 of the best contribute < V * 4e-18 of the mass: leave
  // them out before sorting (exact to double precision for any vocabulary we meet).
  const double cutoff = max_logit - 40.0 / inv_t;
  // Min-p first, as vLLM applies it before top-k and top-p: a token stays when its probability is at
  // least min_p of the best one's (its weight exp((l - max) / T) >= min_p; the best's is 1).
  const double min_weight = params.min_p;
  std::vector<int32_t> ids;
  ids.reserve(1024);
  for (int64_t i = 0; i < V; ++i)
    if (std::isfinite(logits[i]) && logits[i] >= cutoff &&
        (min_weight <= 0.0 || std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t) >= min_weight))
      ids.push_back(static_cast<int32_t>(i));
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  if (params.top_k > 0 && static_cast<int64_t>(ids.size()) > params.top_k) {
    std::partial_sort(ids.begin(), ids.begin() + params.top_k, ids.end(), better);
    // Every token whose logit equals the k-th largest stays, as vLLM's top-k (logits below the k-th
    // value are masked) and HF's TopKLogitsWarper keep them: after the k, in id order (the equal
    // ones among the k have the lower ids).
    const float kth = logits[ids[params.top_k - 1]];
    const auto tied_end =
        std::partition(ids.begin() + params.top_k, ids.end(), [&](int32_t id) { return logits[id] == kth; });
    std::sort(ids.begin() + params.top_k, tied_end);
    ids.erase(tied_end, ids.end());
  } else {
    std::sort(ids.begin(), ids.end(), better);
  }
  std::vector<TokenCandidate> out(ids.size());
  double total = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i] = {ids[i], std::exp((static_cast<double>(logits[ids[i]]) - max_logit) * inv_t)};
    total += out[i].prob;
  }
  for (auto& c : out) c.prob /= total;
  size_t keep = out.size();
  if (params.top_p < 1.0f) {
    double cumulative = 0.0;
    for (size_t i = 0; i < out.size(); ++i) {
      cumulative += out[i].prob;
      if (cumulative >= params.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  out.resize(keep);
  total = 0.0;
  for (const auto& c : out) total += c.prob;
  for (auto& c : out) c.prob /= total;
  return out;
}

namespace {

// Temperature + top-p without sorting the vocabulary: the nucleus is the same set filter_candidates
// keeps (the most probable tokens until their mass reaches top_p), found with a histogram of the
// logits in O(V); only the bin the boundary falls in is sorted. The draw walks the nucleus in id
// order, so it samples from the same distribution as the sorted walk (not the same token per u).
int32_t sample_nucleus(std::span<const float> logits, const TokenFilter& params, Rng& rng) {
  const int64_t V = static_cast<int64_t>(logits.size());
  const double inv_t = 1.0 / params.temperature;
  const float max_logit = logits[argmax(logits)];
  const double span = 40.0 / inv_t;  // as filter_candidates: below e^-40 of the best is left out
  const double cutoff = max_logit - span;
  constexpr int kBins = 4096;
  std::vector<double> bin_mass(kBins, 0.0);
  std::vector<int32_t> bin_of(static_cast<size_t>(V), -1);
  std::vector<double> weight(static_cast<size_t>(V), 0.0);
  double total = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    const float l = logits[i];
    if (!std::isfinite(l) || l < cutoff) continue;
    const double w = std::exp((static_cast<double>(l) - max_logit) * inv_t);
    // Bin 0 holds the highest logits.
    const int b = std::min(kBins - 1, static_cast<int>((max_logit - l) / span * kBins));
    bin_of[i] = b;
    weight[i] = w;
    bin_mass[b] += w;
    total += w;
  }
  const double target = static_cast<double>(params.top_p) * total;
  double above = 0.0;
  int boundary = 0;
  while (boundary < kBins - 1 && above + bin_mass[boundary] < target) above += bin_mass[boundary++];
  // In the boundary bin, the most probable first (ties: lower id first) until the mass is reached.
  std::vector<int32_t> edge;
  for (int64_t i = 0; i < V; ++i)
    if (bin_of[i] == boundary) edge.push_back(static_cast<int32_t>(i));
  std::sort(edge.begin(), edge.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  size_t keep = edge.size();
  double mass = above;
  for (size_t k = 0; k < edge.size(); ++k) {
    mass += weight[edge[k]];
    if (mass >= target) {
      keep = k + 1;
      break;
    }
  }
  // Inside the nucleus: every token of a higher bin, and the first `keep` of the boundary bin.
  std::vector<uint8_t> in_edge(static_cast<size_t>(V), 0);
  for (size_t k = 0; k < keep; ++k) in_edge[edge[k]] = 1;
  auto inside = [&](int64_t i) { return bin_of[i] >= 0 && (bin_of[i] < boundary || in_edge[i]); };
  const double u = rng.uniform() * mass;
  double cumulative = 0.0;
  int32_t last = -1;
  for (int64_t i = 0; i < V; ++i) {
    if (!inside(i)) continue;
    cumulative += weight[i];
    last = static_cast<int32_t>(i);
    if (u < cumulative) return last;
  }
  return last;
}

}  // namespace

int32_t sample_filtered(std::span<const float> logits, const TokenFilter& params, Rng& rng) {
  if (params.temperature == 0.0f || params.top_k == 1) return argmax(logits);
  if (params.top_k == 0 && params.min_p == 0.0f) return sample_nucleus(logits, params, rng);
  std::vector<TokenCandidate> candidates = filter_candidates(logits, params);
  const double u = rng.uniform();
  double cumulative = 0.0;
  for (const auto& c : candidates) {
    cumulative += c.prob;
    if (u < cumulative) return c.id;
  }
  return candidates.back().id;
}

}  // namespace tt
