#include "kernels/cpu/small_gemm.h"
#include "core/op_profile.h"

#include <immintrin.h>

#include <algorithm>

namespace tt {

namespace {

// 4 rows x 16 columns of C in eight accumulators; k walks A's rows and B's columns in order.
template <int Rows>
inline void tile_16(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                    int64_t ldc, bool accumulate) {
  __m256 acc[Rows][2];
  for (int r = 0; r < Rows; ++r) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    __m256 b0 = _mm256_loadu_ps(b + p * ldb), b1 = _mm256_loadu_ps(b + p * ldb + 8);
    for (int r = 0; r < Rows; ++r) {
      __m256 av = _mm256_broadcast_ss(a + r * lda + p);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

// Columns that do not fill a 16-wide tile: the same order of summation, one element at a time
// (fused multiply-add, so the value equals what the vector path would give).
inline void tail_columns(int64_t m, int64_t n0, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = n0; j < n; ++j) {
      float acc = accumulate ? c[i * ldc + j] : 0.0f;
      for (int64_t p = 0; p < k; ++p) acc = __builtin_fmaf(a[i * lda + p], b[p * ldb + j], acc);
      c[i * ldc + j] = acc;
    }
}

}  // namespace

void small_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                float* c, int64_t ldc, bool accumulate) {
  OpScope scope("small gemm");
  int64_t n16 = n / 16 * 16;
  for (int64_t j = 0; j < n16; j += 16) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) tile_16<4>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
    for (; i < m; ++i) tile_16<1>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
  }
  if (n16 < n) tail_columns(m, n16, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void transpose(const float* src, int64_t rows, int64_t cols, int64_t ld_src, float* dst) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock)
      for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c) dst[c * rows + r] = src[r * ld_src + c];
}

}  // namespace tt
