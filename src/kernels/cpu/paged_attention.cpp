#include "kernels/cpu/paged_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/simd.h"

namespace tt {

namespace {

constexpr int64_t kLanes = 8;

// Scores of one query head against keys[0..n) (n <= kKeys): each the dot product in the same order
// (an 8-lane FMA chain over head_dim, its horizontal sum, then the scalar tail) times scale. The keys
// run side by side so their chains overlap; a key's score does not depend on its neighbours.
constexpr int kKeys = 4;
inline void score_keys(const float* q, const float* const* keys, int n, int64_t D, float scale, float* scores) {
  __m256 acc[kKeys];
  for (int j = 0; j < kKeys; ++j) acc[j] = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + kLanes <= D; d += kLanes) {
    const __m256 qv = _mm256_loadu_ps(q + d);
    if (n == kKeys) {  // the common case, unrolled with no per-key test
#pragma GCC unroll 4
      for (int j = 0; j < kKeys; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(keys[j] + d), acc[j]);
    } else {
      for (int j = 0; j < n; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(keys[j] + d), acc[j]);
    }
  }
  for (int j = 0; j < n; ++j) {
    float r = D >= kLanes ? simd::horizontal_sum(acc[j]) : 0.0f;
    for (int64_t t = d; t < D; ++t) r += q[t] * keys[j][t];
    scores[j] = r * scale;
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

// out[0..D) = sum over j of weights[j] * values[j][0..D), keys in order (one FMA per term, from zero),
// times inv. Up to 4 vectors of outputs stay in registers while the values stream past.
void weighted_values(const float* weights, const float* const* values, int64_t len, int64_t D, float inv, float* out) {
  constexpr int64_t kGroup = 4 * kLanes;
  int64_t d0 = 0;
  for (; d0 + kLanes <= D; d0 += kGroup) {
    const int vectors = static_cast<int>(std::min<int64_t>(4, (D - d0) / kLanes));
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t j = 0; j < len; ++j) {
      const __m256 w = _mm256_set1_ps(weights[j]);
      const float* v = values[j] + d0;
      if (vectors == 4) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) acc[c] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + c * kLanes), acc[c]);
      } else {
        for (int c = 0; c < vectors; ++c) acc[c] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + c * kLanes), acc[c]);
      }
    }
    const __m256 scale = _mm256_set1_ps(inv);
    for (int c = 0; c < vectors; ++c) _mm256_storeu_ps(out + d0 + c * kLanes, _mm256_mul_ps(acc[c], scale));
    if (vectors < 4) {
      d0 += vectors * kLanes;
      break;
    }
  }
  for (int64_t d = d0; d < D; ++d) {
    float acc = 0.0f;
    for (int64_t j = 0; j < len; ++j) acc = std::fma(weights[j], values[j][d], acc);
    out[d] = acc * inv;
  }
}

// The query heads of KV head g for row i: out = softmax(q K^T * scale) V for each. The group's heads
// share the row's key and value addresses (looked up once); each head's scores, softmax and weighted
// sum run in its own fixed order, so nothing depends on the other heads, rows or the batch.
void attend_group(const PagedAttentionParams& p, int64_t i, int64_t g, std::vector<float>& scores,
                  std::vector<const float*>& keys, std::vector<const float*>& values) {
  const int64_t D = p.head_dim, bs = p.block_size, row = p.kv_heads * D, G = p.heads / p.kv_heads;
  const int64_t len = p.positions[i] + 1;
  const int32_t* table = p.block_tables[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  keys.resize(len);
  values.resize(len);
  for (int64_t j = 0; j < len; ++j) {
    const int64_t offset = (j % bs) * row + g * D;
    keys[j] = p.block_keys[table[j / bs]] + offset;
    values[j] = p.block_values[table[j / bs]] + offset;
  }
  scores.resize(len);
  for (int64_t hq = 0; hq < G; ++hq) {
    const int64_t head = g * G + hq;
    const float* q = p.q + (i * p.heads + head) * D;
    for (int64_t j = 0; j < len; j += kKeys)
      score_keys(q, keys.data() + j, static_cast<int>(std::min<int64_t>(kKeys, len - j)), D, scale, scores.data() + j);
    float max_score = -INFINITY;
    for (int64_t j = 0; j < len; ++j) max_score = std::max(max_score, scores[j]);
    const float sum = exponentiate(scores.data(), len, max_score);
    weighted_values(scores.data(), values.data(), len, D, 1.0f / sum, p.out + (i * p.heads + head) * D);
  }
}

}  // namespace

void paged_attention(const PagedAttentionParams& p) {
  const int64_t N = p.rows, H = p.heads, KVH = p.kv_heads, D = p.head_dim;
  int64_t work = 0;
  for (int64_t i = 0; i < N; ++i) work += (p.positions[i] + 1) * H * D;
#pragma omp parallel for collapse(2) schedule(dynamic, 4) if (work > (int64_t{1} << 16))
  for (int64_t i = 0; i < N; ++i)
    for (int64_t g = 0; g < KVH; ++g) {
      // Scratch only: nothing carries from one call to the next.
      thread_local std::vector<float> scores;
      thread_local std::vector<const float*> keys, values;
      attend_group(p, i, g, scores, keys, values);
    }
}

}  // namespace tt
