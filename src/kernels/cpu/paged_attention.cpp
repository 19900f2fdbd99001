#include "kernels/cpu/paged_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/simd.h"

namespace tt {

namespace {

inline float dot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float r = 0.0f;
  if (n >= 8) {
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    r = simd::horizontal_sum(acc);
  }
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
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

// One query head of row i over KV head g: out = softmax(q K^T * scale) V.
void attend_head(const PagedAttentionParams& p, int64_t i, int64_t g, const float* q, float* out,
                 std::vector<float>& scores) {
  const int64_t D = p.head_dim, bs = p.block_size, row = p.kv_heads * D;
  const int64_t len = p.positions[i] + 1;
  const int32_t* table = p.block_tables[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  scores.resize(len);
  float max_score = -INFINITY;
  for (int64_t j = 0; j < len; ++j) {
    const float* k = p.block_keys[table[j / bs]] + (j % bs) * row + g * D;
    scores[j] = dot(q, k, D) * scale;
    max_score = std::max(max_score, scores[j]);
  }
  const float sum = exponentiate(scores.data(), len, max_score);
  std::fill(out, out + D, 0.0f);
  for (int64_t j = 0; j < len; ++j) {
    const float* v = p.block_values[table[j / bs]] + (j % bs) * row + g * D;
    const float weight = scores[j];
    for (int64_t d = 0; d < D; ++d) out[d] += weight * v[d];
  }
  const float inv = 1.0f / sum;
  for (int64_t d = 0; d < D; ++d) out[d] *= inv;
}

}  // namespace

void paged_attention(const PagedAttentionParams& p) {
  const int64_t N = p.rows, H = p.heads, KVH = p.kv_heads, D = p.head_dim, G = H / KVH;
  int64_t work = 0;
  for (int64_t i = 0; i < N; ++i) work += (p.positions[i] + 1) * H * D;
#pragma omp parallel for collapse(2) schedule(dynamic, 4) if (work > (int64_t{1} << 16))
  for (int64_t i = 0; i < N; ++i)
    for (int64_t g = 0; g < KVH; ++g) {
      thread_local std::vector<float> scores;  // scratch only: nothing carries from one call to the next
      for (int64_t hq = 0; hq < G; ++hq) {
        const int64_t head = g * G + hq;
        attend_head(p, i, g, p.q + (i * H + head) * D, p.out + (i * H + head) * D, scores);
      }
    }
}

}  // namespace tt
