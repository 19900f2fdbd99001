#include "kernels/cpu/swiglu.h"

#include <algorithm>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace tt {

namespace {

// sigmoid(g) for 8 lanes, with the same exp as the scalar tail so results do not depend on alignment.
inline __m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, simd::exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

inline float sigmoid1(float g) { return 1.0f / (1.0f + simd::exp_scalar(-g)); }

constexpr int64_t kChunk = 4096;  // elements per parallel work item

}  // namespace

void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kMinParallelWork)
  for (int64_t c0 = 0; c0 < count; c0 += kChunk) {
    int64_t end = std::min(count, c0 + kChunk), i = c0;
    for (; i + 8 <= end; i += 8) {
      __m256 g = _mm256_loadu_ps(gate + i);
      __m256 silu = _mm256_mul_ps(g, sigmoid8(g));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < end; ++i) out[i] = gate[i] * sigmoid1(gate[i]) * up[i];
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kMinParallelWork)
  for (int64_t c0 = 0; c0 < count; c0 += kChunk) {
    int64_t end = std::min(count, c0 + kChunk), i = c0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= end; i += 8) {
      __m256 g = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i), d = _mm256_loadu_ps(dout + i);
      __m256 sig = sigmoid8(g);
      __m256 silu = _mm256_mul_ps(g, sig);
      // d silu / dg = sig * (1 + g * (1 - sig))
      __m256 dsilu = _mm256_mul_ps(sig, _mm256_fmadd_ps(g, _mm256_sub_ps(one, sig), one));
      _mm256_storeu_ps(dgate + i, _mm256_mul_ps(_mm256_mul_ps(d, u), dsilu));
      _mm256_storeu_ps(dup + i, _mm256_mul_ps(d, silu));
    }
    for (; i < end; ++i) {
      float g = gate[i], u = up[i], d = dout[i], sig = sigmoid1(g);
      dgate[i] = d * u * (sig * (1.0f + g * (1.0f - sig)));
      dup[i] = d * (g * sig);
    }
  }
}

}  // namespace tt
