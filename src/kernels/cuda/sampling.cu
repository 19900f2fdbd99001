// Sampling on the device (kernels/cuda/generation.h): one block per row of logits. Tokens are ranked
// by a 64-bit key — the logit's order-preserving bits, then the complement of the id — so "larger key"
// is exactly the CPU sampler's order (higher logit first, ties lower id first). Top-k, top-p and the
// draw are thresholds on that key, each found by bisection over the key with block-wide sums in a
// fixed order, so no sort of the vocabulary is needed and a row's token never depends on other rows.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/generation.h"

namespace tt::cuda {

namespace {

constexpr int kThreads = 512;
constexpr int kWarpsPerBlock = kThreads / 32;
using Key = unsigned long long;

__device__ __forceinline__ Key rank_key(float logit, int64_t id) {
  if (logit == 0.0f) logit = 0.0f;  // -0 ties with +0, as the CPU's comparisons do
  const uint32_t bits = __float_as_uint(logit);
  const uint32_t ordered = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (Key(ordered) << 32) | Key(0xffffffffu - static_cast<uint32_t>(id));
}
__device__ __forceinline__ int32_t id_of(Key key) { return static_cast<int32_t>(0xffffffffu - uint32_t(key)); }

__device__ Key block_max(Key v, Key* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    const Key other = __shfl_xor_sync(0xffffffffu, v, o);
    v = other > v ? other : v;
  }
  __syncthreads();
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
  __syncthreads();
  Key r = 0;
  for (int w = 0; w < kWarpsPerBlock; ++w) r = shared[w] > r ? shared[w] : r;
  return r;
}

// Sum over the block, every thread's value combined in the same order every time.
__device__ double block_sum_double(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
  __syncthreads();
  double r = 0.0;
  for (int w = 0; w < kWarpsPerBlock; ++w) r += shared[w];
  return r;
}

struct Row {
  const float* logits;
  int64_t vocab;
  float max_logit;
  double inv_t, cutoff;
  Key floor = 0;  // candidates have key >= floor (top-k)
  double min_weight = 0.0;
  Key best = 0;
};

__device__ __forceinline__ bool candidate(const Row& r, float l) { return isfinite(l) && double(l) >= r.cutoff; }
__device__ __forceinline__ double weight(const Row& r, float l) {
  return exp((static_cast<double>(l) - r.max_logit) * r.inv_t);
}

// Count (or weight) of the kept tokens whose key is >= t. `weighted` false: a count.
__device__ double mass_at_least(const Row& r, Key t, bool weighted, double* shared) {
  double local = 0.0;
  for (int64_t i = threadIdx.x; i < r.vocab; i += kThreads) {
    const float l = r.logits[i];
    if (!candidate(r, l)) continue;
    const Key key = rank_key(l, i);
    if (key < t || key < r.floor) continue;
    if (!weighted && r.min_weight == 0.0) {
      local += 1.0;
      continue;
    }
    const double w = weight(r, l);
    if (w >= r.min_weight || key == r.best) local += weighted ? w : 1.0;
  }
  return block_sum_double(local, shared);
}

// The largest key t in [lo, hi] with mass_at_least(t) > target (or >= when `inclusive`); lo when none.
__device__ Key largest_key_above(const Row& r, Key lo, Key hi, double target, bool weighted, bool inclusive,
                                 double* shared) {
  while (lo < hi) {
    const Key mid = lo + (hi - lo + 1) / 2;
    const double m = mass_at_least(r, mid, weighted, shared);
    if (inclusive ? m >= target : m > target)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

__global__ void sample_kernel(int32_t* tokens, float* logits_all, int64_t vocab, const DeviceSampling* params,
                              const int32_t* history, const int64_t* history_offsets, uint32_t* seen_all) {
  __shared__ Key key_shared[kWarpsPerBlock];
  __shared__ double sum_shared[kWarpsPerBlock];
  const int64_t row = blockIdx.x;
  const DeviceSampling p = params[row];
  float* logits = logits_all + row * vocab;
  const int64_t begin = history_offsets[row], end = history_offsets[row + 1];
  const int64_t prompt_end = begin + p.prompt_length, history_end = begin + p.history_length;
  // The ids held back (min_tokens) first, as vLLM's min-tokens processor runs before the penalties.
  for (int64_t j = history_end + threadIdx.x; j < end; j += kThreads) {
    const int32_t id = history[j];
    if (id >= 0 && id < vocab) logits[id] = -INFINITY;
  }
  __syncthreads();
  // The penalties once per distinct token of the history: mark the prompt's (top bit) and count the
  // generated ones, then apply over the vocabulary, each step rounded alone as the CPU's.
  if (p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    constexpr uint32_t kInPrompt = 0x80000000u;
    uint32_t* seen = seen_all + row * vocab;
    for (int64_t j = begin + threadIdx.x; j < history_end; j += kThreads) {
      const int32_t id = history[j];
      if (id < 0 || id >= vocab) continue;
      if (j < prompt_end) atomicOr(&seen[id], kInPrompt);
      else atomicAdd(&seen[id], 1u);
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < vocab; i += kThreads)
      if (const uint32_t word = seen[i]; word != 0) {
        float l = logits[i];
        if (p.repetition_penalty != 1.0f)
          l = l > 0.0f ? __fdiv_rn(l, p.repetition_penalty) : __fmul_rn(l, p.repetition_penalty);
        if (const uint32_t count = word & ~kInPrompt; count > 0) {
          l = __fsub_rn(l, __fmul_rn(p.frequency_penalty, static_cast<float>(count)));
          l = __fsub_rn(l, p.presence_penalty);
        }
        logits[i] = l;
        seen[i] = 0;
      }
    __syncthreads();
  }
  Key best = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads)
    if (!isnan(logits[i])) {
      const Key k = rank_key(logits[i], i);
      best = k > best ? k : best;
    }
  best = block_max(best, key_shared);
  const int32_t argmax = best == 0 ? 0 : id_of(best);
  if (p.temperature == 0.0f || p.top_k == 1) {
    if (threadIdx.x == 0) tokens[row] = argmax;
    return;
  }
  Row r;
  r.logits = logits;
  r.vocab = vocab;
  r.max_logit = logits[argmax];
  r.inv_t = 1.0 / p.temperature;
  r.cutoff = r.max_logit - 40.0 / r.inv_t;
  r.best = best;
  // Min-p first, as vLLM (and the CPU) apply it before top-k and top-p: a token stays when its
  // probability is at least min_p of the best one's (weight exp(0) = 1); every count and mass below
  // leaves the others out.
  r.min_weight = p.min_p > 0.0f ? static_cast<double>(p.min_p) : 0.0;
  // Top-k: the k-th largest key among the candidates, less its id part, becomes the floor: every
  // token whose logit equals the k-th largest stays, as on the CPU (vLLM keeps them).
  if (p.top_k > 0 && mass_at_least(r, 0, false, sum_shared) > p.top_k)
    r.floor = largest_key_above(r, 0, best, static_cast<double>(p.top_k), false, true, sum_shared) & ~Key(0xffffffffu);
  // Top-p: the smallest prefix (in key order) whose mass reaches top_p of the top-k set's.
  if (p.top_p < 1.0f) {
    const double total = mass_at_least(r, 0, true, sum_shared);
    r.floor = largest_key_above(r, r.floor, best, static_cast<double>(p.top_p) * total, true, true, sum_shared);
  }
  // The draw: the first token (in key order) whose cumulative mass exceeds uniform * kept mass.
  const double kept = mass_at_least(r, 0, true, sum_shared);
  const Key chosen = largest_key_above(r, r.floor, best, p.uniform * kept, true, false, sum_shared);
  // `chosen` is a threshold: the token is the smallest kept key >= it.
  Key smallest = ~Key(0);
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
    const float l = logits[i];
    if (!candidate(r, l)) continue;
    const Key k = rank_key(l, i);
    if (k < chosen || k < r.floor || (weight(r, l) < r.min_weight && k != best)) continue;
    smallest = k < smallest ? k : smallest;
  }
  const Key inverted = block_max(~smallest, key_shared);
  if (threadIdx.x == 0) tokens[row] = id_of(~inverted);
}

}  // namespace

void sample_tokens(int32_t* tokens, float* logits, int64_t rows, int64_t vocab, const DeviceSampling* params,
                   const int32_t* history, const int64_t* history_offsets, uint32_t* seen, cudaStream_t stream) {
  if (rows == 0) return;
  sample_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(tokens, logits, vocab, params, history,
                                                                      history_offsets, seen);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace tt::cuda
