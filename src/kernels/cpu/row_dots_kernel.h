// Dot products of 16 rows at once, included by row_dots_avx2.cpp and row_dots_avx512.cpp (the same
// 8-float operations on both: the AVX-512 build only gets more registers). A row's sum is a chain of
// dependent adds, latency-bound when rows are summed one at a time; here lane l of a vector carries
// row l's chain: an 8 x 8 block of products (8 rows, 8 columns, loaded along the rows) is transposed
// so that each vector holds one column of 8 rows, then added in column order. Two sets of 8 rows
// advance side by side. Each chain keeps the order and rounding of the plain loop
// `for i: sum += a[i] * b[i]` as the x86-64-v3 build compiles it (row_dots.h): the rounded products
// of the first n - n % 4 elements added in order (its vector body), then the last n % 4 with fused
// multiply-adds (its scalar tail). These files are compiled with -ffp-contract=off, so the adds of
// rounded products stay adds. rmsnorm.cpp includes it too, for transpose8x8 (its backward's rows).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

constexpr int kDotRowsPerSet = 8;
constexpr int kDotSets = 2;

// r[j] lane k <- r[k] lane j.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Columns [c, c + count) of 8 rows, count <= 8, as 8 column vectors (columns past count are zero).
inline void load_columns(const float* p, int64_t stride, int64_t c, int count, __m256 out[8]) {
  for (int k = 0; k < kDotRowsPerSet; ++k) {
    alignas(32) float lanes[8] = {};
    for (int j = 0; j < count; ++j) lanes[j] = p[k * stride + c + j];
    out[k] = _mm256_load_ps(lanes);
  }
  transpose8x8(out);
}

// sums[0 .. kDotRowsPerSet * kDotSets) for the rows of a and b starting there, stride floats apart.
inline void row_dots_group(const float* a, const float* b, int64_t n, int64_t stride, float* sums) {
  const int64_t rounded_part = n - n % 4;
  __m256 sum[kDotSets];
  for (int s = 0; s < kDotSets; ++s) sum[s] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= rounded_part; c += 8)
    for (int s = 0; s < kDotSets; ++s) {
      const float* as = a + s * kDotRowsPerSet * stride;
      const float* bs = b + s * kDotRowsPerSet * stride;
      __m256 products[8];
      for (int k = 0; k < kDotRowsPerSet; ++k)
        products[k] = _mm256_mul_ps(_mm256_loadu_ps(as + k * stride + c), _mm256_loadu_ps(bs + k * stride + c));
      transpose8x8(products);
      for (int j = 0; j < 8; ++j) sum[s] = _mm256_add_ps(sum[s], products[j]);
    }
  const int rest = static_cast<int>(n - c);  // < 8 columns: rounded products up to rounded_part, then fused
  if (rest > 0)
    for (int s = 0; s < kDotSets; ++s) {
      __m256 ca[8], cb[8];
      load_columns(a + s * kDotRowsPerSet * stride, stride, c, rest, ca);
      load_columns(b + s * kDotRowsPerSet * stride, stride, c, rest, cb);
      for (int j = 0; j < rest; ++j)
        sum[s] = c + j < rounded_part ? _mm256_add_ps(sum[s], _mm256_mul_ps(ca[j], cb[j]))
                                      : _mm256_fmadd_ps(ca[j], cb[j], sum[s]);
    }
  for (int s = 0; s < kDotSets; ++s) _mm256_storeu_ps(sums + s * kDotRowsPerSet, sum[s]);
}

}  // namespace
}  // namespace tt
