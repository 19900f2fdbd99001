#include "kernels/cpu/paged_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel_for.h"
#include "core/op_profile.h"
#include "kernels/cpu/simd.h"

namespace tt {

namespace {

constexpr int64_t kLanes = 8;
// Keys and values are read kPrefetchPositions positions ahead: the cache's blocks are scattered and
// a head's slice is a strided quarter of each slot, which the hardware prefetcher does not follow, and
// after a step's weights streamed through the caches every K/V line comes from memory. Engine decode on
// the Zen 5: attention of b64 x 136 tokens 10-11 -> 7 ms per step, b1 x 1550 tokens 2.8-3.3 -> 1.9 ms.
constexpr int64_t kPrefetchPositions = 16;
inline void prefetch_row(const float* row, int64_t D) {
  for (int64_t d = 0; d < D; d += 64 / sizeof(float)) _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

// (query row, head) pairs of one KV head computed side by side: their accumulators stay in the 16
// AVX2 registers. 4 rows of a prefill chunk x the 3 query heads of a KV head fill them.
constexpr int kPairs = 12;
constexpr int64_t kRowsPerGroup = 4;

// One query head of one row: its query, output, length (positions 0..len-1 of its sequence) and scores.
struct Pair {
  const float* q;
  float* out;
  int64_t len;
  float* scores;
  float inv_sum;
};

// scores[j] = q · keys[j] * scale for j < len of each pair, pairs sorted by len (longest first): a
// key is loaded once for every pair that reaches it. Each score is the same sequence of operations
// whatever its neighbours: an 8-lane FMA chain over head_dim from zero, its horizontal sum, the scalar
// tail, the scale. KB keys at a time for up to P pairs: P x KB independent chains in flight (a decode
// row's 3 query heads alone are 3 chains of 4-cycle FMAs, a quarter of what the core can issue).
// Scores of keys past a pair's length land in its buffer (len_max wide) and are never read.
template <int P, int KB>
void score_keys(const Pair* pairs, int active, const float* const* keys, int64_t j, int64_t D, float scale) {
  __m256 acc[P][KB];
#pragma GCC unroll 16
  for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
    for (int b = 0; b < KB; ++b) acc[q][b] = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + kLanes <= D; d += kLanes) {
    __m256 k[KB];
#pragma GCC unroll 4
    for (int b = 0; b < KB; ++b) k[b] = _mm256_loadu_ps(keys[j + b] + d);
#pragma GCC unroll 16
    for (int q = 0; q < P; ++q) {
      if (q >= active) break;
      const __m256 qv = _mm256_loadu_ps(pairs[q].q + d);
#pragma GCC unroll 4
      for (int b = 0; b < KB; ++b) acc[q][b] = _mm256_fmadd_ps(qv, k[b], acc[q][b]);
    }
  }
  if constexpr (KB == 4) {
    if (d == D) {  // no scalar tail: four horizontal sums at once, the same bits
#pragma GCC unroll 16
      for (int q = 0; q < P; ++q) {
        if (q >= active) break;
        const __m128 r = simd::horizontal_sums4(acc[q][0], acc[q][1], acc[q][2], acc[q][3]);
        _mm_storeu_ps(pairs[q].scores + j, _mm_mul_ps(r, _mm_set1_ps(scale)));
      }
      return;
    }
  }
#pragma GCC unroll 16
  for (int q = 0; q < P; ++q) {
    if (q >= active) break;
#pragma GCC unroll 4
    for (int b = 0; b < KB; ++b) {
      float r = D >= kLanes ? simd::horizontal_sum(acc[q][b]) : 0.0f;
      for (int64_t t = d; t < D; ++t) r = std::fma(pairs[q].q[t], keys[j + b][t], r);
      pairs[q].scores[j + b] = r * scale;
    }
  }
}

template <int P, int KB>
void score_pairs_by(Pair* pairs, int n, const float* const* keys, int64_t D, float scale) {
  const int64_t len_max = pairs[0].len;
  int active = n;
  int64_t j = 0;
  for (; j + KB <= len_max; j += KB) {
    while (pairs[active - 1].len <= j) --active;
    if (j + kPrefetchPositions + KB <= len_max)
      for (int b = 0; b < KB; ++b) prefetch_row(keys[j + kPrefetchPositions + b], D);
    score_keys<P, KB>(pairs, active, keys, j, D, scale);
  }
  for (; j < len_max; ++j) {
    while (pairs[active - 1].len <= j) --active;
    score_keys<P, 1>(pairs, active, keys, j, D, scale);
  }
}

void score_pairs(Pair* pairs, int n, const float* const* keys, int64_t D, float scale) {
  if (n <= 3)
    score_pairs_by<3, 4>(pairs, n, keys, D, scale);
  else if (n <= 6)
    score_pairs_by<6, 2>(pairs, n, keys, D, scale);
  else
    score_pairs_by<kPairs, 1>(pairs, n, keys, D, scale);
}

// The largest score (max is exact: the lanes' order does not matter).
float largest(const float* scores, int64_t len) {
  int64_t j = 0;
  float best = -INFINITY;
  if (len >= kLanes) {
    __m256 vmax = _mm256_loadu_ps(scores);
    for (j = kLanes; j + kLanes <= len; j += kLanes) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(scores + j));
    best = simd::horizontal_max(vmax);
  }
  for (; j < len; ++j) best = std::max(best, scores[j]);
  return best;
}

// In place: scores[j] = exp(scores[j] - max).
void exponentiate(float* scores, int64_t len, float max_score) {
  int64_t j = 0;
  const __m256 vmax = _mm256_set1_ps(max_score);
  for (; j + 8 <= len; j += 8)
    _mm256_storeu_ps(scores + j, simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax)));
  for (; j < len; ++j) scores[j] = simd::exp_scalar(scores[j] - max_score);
}

// Each pair's softmax: exp(score - max) in place and inv_sum = 1 / (their sum in position order). The
// pairs' sums run side by side (one add chain each, in order: n chains in flight instead of one).
void softmax_pairs(Pair* pairs, int n) {
  float sum[kPairs] = {};
  for (int q = 0; q < n; ++q) exponentiate(pairs[q].scores, pairs[q].len, largest(pairs[q].scores, pairs[q].len));
  int active = n;
  for (int64_t j = 0; j < pairs[0].len; ++j) {
    while (pairs[active - 1].len <= j) --active;
    for (int q = 0; q < active; ++q) sum[q] += pairs[q].scores[j];
  }
  for (int q = 0; q < n; ++q) pairs[q].inv_sum = 1.0f / sum[q];
}

// out = inv_sum * the sum over j < len of weights[j] * values[j] for each pair (weights in scores,
// pairs longest first): a value vector is loaded once for every pair that reaches it. Each output is
// one FMA chain over j in order from zero, then the multiply by inv_sum: lane by lane, so how many
// lanes of head_dim a pass covers (CH vectors of 8, P pairs: P x CH chains in flight) changes no bit.
template <int P, int CH>
int64_t weigh_values_by(const Pair* pairs, int n, const float* const* values, int64_t D, int64_t d) {
  for (; d + CH * kLanes <= D; d += CH * kLanes) {
    __m256 acc[P][CH];
#pragma GCC unroll 16
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int c = 0; c < CH; ++c) acc[q][c] = _mm256_setzero_ps();
    int active = n;
    for (int64_t j = 0; j < pairs[0].len; ++j) {
      while (pairs[active - 1].len <= j) --active;
      if (d == 0 && j + kPrefetchPositions < pairs[0].len) prefetch_row(values[j + kPrefetchPositions], D);
      __m256 v[CH];
#pragma GCC unroll 4
      for (int c = 0; c < CH; ++c) v[c] = _mm256_loadu_ps(values[j] + d + c * kLanes);
#pragma GCC unroll 16
      for (int q = 0; q < P; ++q) {
        if (q >= active) break;
        const __m256 w = _mm256_set1_ps(pairs[q].scores[j]);
#pragma GCC unroll 4
        for (int c = 0; c < CH; ++c) acc[q][c] = _mm256_fmadd_ps(w, v[c], acc[q][c]);
      }
    }
#pragma GCC unroll 16
    for (int q = 0; q < P; ++q) {
      if (q >= n) break;
      const __m256 inv_sum = _mm256_set1_ps(pairs[q].inv_sum);
#pragma GCC unroll 4
      for (int c = 0; c < CH; ++c) _mm256_storeu_ps(pairs[q].out + d + c * kLanes, _mm256_mul_ps(acc[q][c], inv_sum));
    }
  }
  return d;
}

void weigh_values(const Pair* pairs, int n, const float* const* values, int64_t D) {
  int64_t d = 0;
  if (n <= 3)
    d = weigh_values_by<3, 4>(pairs, n, values, D, d);
  else if (n <= 6)
    d = weigh_values_by<6, 2>(pairs, n, values, D, d);
  d = weigh_values_by<kPairs, 1>(pairs, n, values, D, d);
  for (; d < D; ++d)
    for (int q = 0; q < n; ++q) {
      float acc = 0.0f;
      for (int64_t j = 0; j < pairs[q].len; ++j) acc = std::fma(pairs[q].scores[j], values[j][d], acc);
      pairs[q].out[d] = acc * pairs[q].inv_sum;
    }
}

struct Scratch {  // per thread; nothing carries from one call to the next
  std::vector<float> scores;
  std::vector<const float*> keys, values;
  std::vector<Pair> pairs;
};

// Rows [first, first + count) of the step, which share one sequence (block table), over KV head g:
// out = softmax(q K^T * scale) V for each of their query heads of that KV head. Every (row, head)
// pair's scores, softmax and weighted sum run in an order fixed by that pair alone (its length and the
// model's shapes), so grouping rows and heads changes no bit: a row's output does not depend on the
// batch, its neighbours or how a prompt was chunked.
void attend_rows(const PagedAttentionParams& p, int64_t first, int64_t count, int64_t g, Scratch& s) {
  const int64_t D = p.head_dim, bs = p.block_size, row = p.kv_heads * D, G = p.heads / p.kv_heads;
  const int32_t* table = p.block_tables[first];
  int64_t len_max = 0;
  for (int64_t i = first; i < first + count; ++i) len_max = std::max<int64_t>(len_max, p.positions[i] + 1);
  s.keys.resize(len_max);
  s.values.resize(len_max);
  for (int64_t j = 0; j < len_max; ++j) {
    const int64_t offset = (j % bs) * row + g * D;
    s.keys[j] = p.block_keys[table[j / bs]] + offset;
    s.values[j] = p.block_values[table[j / bs]] + offset;
  }
  s.scores.resize(count * G * len_max);
  s.pairs.clear();
  for (int64_t i = first; i < first + count; ++i)
    for (int64_t hq = 0; hq < G; ++hq) {
      const int64_t head = g * G + hq, at = static_cast<int64_t>(s.pairs.size());
      s.pairs.push_back({p.q + (i * p.heads + head) * D, p.out + (i * p.heads + head) * D, p.positions[i] + 1,
                         s.scores.data() + at * len_max, 0.0f});
    }
  std::stable_sort(s.pairs.begin(), s.pairs.end(), [](const Pair& a, const Pair& b) { return a.len > b.len; });
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (size_t at = 0; at < s.pairs.size(); at += kPairs) {
    Pair* pairs = s.pairs.data() + at;
    const int n = static_cast<int>(std::min<size_t>(kPairs, s.pairs.size() - at));
    score_pairs(pairs, n, s.keys.data(), D, scale);
    softmax_pairs(pairs, n);
    weigh_values(pairs, n, s.values.data(), D);
  }
}

}  // namespace

void paged_attention(const PagedAttentionParams& p) {
  OpScope scope("paged attention");
  const int64_t N = p.rows, H = p.heads, KVH = p.kv_heads, D = p.head_dim;
  int64_t work = 0;
  for (int64_t i = 0; i < N; ++i) work += (p.positions[i] + 1) * H * D;
  // Groups of up to kRowsPerGroup consecutive rows of one sequence (a prefill chunk's rows share their
  // keys and values; a decode row is a group of its own).
  std::vector<int64_t> group_first;
  for (int64_t i = 0; i < N; ++i)
    if (group_first.empty() || p.block_tables[i] != p.block_tables[group_first.back()] ||
        i - group_first.back() == kRowsPerGroup)
      group_first.push_back(i);
  const int64_t groups = static_cast<int64_t>(group_first.size());
  group_first.push_back(N);
  parallel_for_dynamic(groups * KVH, 2, work > (int64_t{1} << 16), [&](int64_t i) {
    const int64_t grp = i / KVH, g = i % KVH;
    thread_local Scratch scratch;
    attend_rows(p, group_first[grp], group_first[grp + 1] - group_first[grp], g, scratch);
  });
}

}  // namespace tt
