#include "kernels/cpu/paged_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/simd.h"

namespace tt {

namespace {

constexpr int64_t kLanes = 8;
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
// tail, the scale.
void score_pairs(Pair* pairs, int n, const float* const* keys, int64_t D, float scale) {
  int active = n;
  for (int64_t j = 0; j < pairs[0].len; ++j) {
    while (pairs[active - 1].len <= j) --active;
    const float* k = keys[j];
    __m256 acc[kPairs];
#pragma GCC unroll 12
    for (int q = 0; q < kPairs; ++q) acc[q] = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + kLanes <= D; d += kLanes) {
      const __m256 kv = _mm256_loadu_ps(k + d);
#pragma GCC unroll 12
      for (int q = 0; q < kPairs; ++q)
        if (q < active) acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(pairs[q].q + d), kv, acc[q]);
    }
#pragma GCC unroll 12
    for (int q = 0; q < kPairs; ++q) {
      if (q >= active) break;
      float r = D >= kLanes ? simd::horizontal_sum(acc[q]) : 0.0f;
      for (int64_t t = d; t < D; ++t) r = std::fma(pairs[q].q[t], k[t], r);
      pairs[q].scores[j] = r * scale;
    }
  }
}

// In place: scores[j] = exp(scores[j] - max); returns their sum (in order).
float exponentiate(float* scores, int64_t len, float max_score) {
  int64_t j = 0;
  const __m256 vmax = _mm256_set1_ps(max_score);
  for (; j + 8 <= len; j += 8)
    _mm256_storeu_ps(scores + j, simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax)));
  for (; j < len; ++j) scores[j] = simd::exp_scalar(scores[j] - max_score);
  float sum = 0.0f;
  for (j = 0; j < len; ++j) sum += scores[j];
  return sum;
}

// out = inv_sum * the sum over j < len of weights[j] * values[j] for each pair (weights in scores,
// pairs longest first): a value vector is loaded once for every pair that reaches it. Each output is
// one FMA chain over j in order from zero, then the multiply by inv_sum.
void weigh_values(const Pair* pairs, int n, const float* const* values, int64_t D) {
  int64_t d = 0;
  for (; d + kLanes <= D; d += kLanes) {
    __m256 acc[kPairs];
#pragma GCC unroll 12
    for (int q = 0; q < kPairs; ++q) acc[q] = _mm256_setzero_ps();
    int active = n;
    for (int64_t j = 0; j < pairs[0].len; ++j) {
      while (pairs[active - 1].len <= j) --active;
      const __m256 v = _mm256_loadu_ps(values[j] + d);
#pragma GCC unroll 12
      for (int q = 0; q < kPairs; ++q)
        if (q < active) acc[q] = _mm256_fmadd_ps(_mm256_set1_ps(pairs[q].scores[j]), v, acc[q]);
    }
#pragma GCC unroll 12
    for (int q = 0; q < kPairs; ++q)
      if (q < n) _mm256_storeu_ps(pairs[q].out + d, _mm256_mul_ps(acc[q], _mm256_set1_ps(pairs[q].inv_sum)));
  }
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
    for (int q = 0; q < n; ++q) {
      float max_score = -INFINITY;
      for (int64_t j = 0; j < pairs[q].len; ++j) max_score = std::max(max_score, pairs[q].scores[j]);
      pairs[q].inv_sum = 1.0f / exponentiate(pairs[q].scores, pairs[q].len, max_score);
    }
    weigh_values(pairs, n, s.values.data(), D);
  }
}

}  // namespace

void paged_attention(const PagedAttentionParams& p) {
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
#pragma omp parallel for collapse(2) schedule(dynamic, 2) if (work > (int64_t{1} << 16))
  for (int64_t grp = 0; grp < groups; ++grp)
    for (int64_t g = 0; g < KVH; ++g) {
      thread_local Scratch scratch;
      attend_rows(p, group_first[grp], group_first[grp + 1] - group_first[grp], g, scratch);
    }
}

}  // namespace tt
