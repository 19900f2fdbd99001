#include "infer/gemm.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/simd.h"

namespace tt::infer {

WeightMatrix weight_f32(const float* w, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.f32 = w;
  return m;
}

WeightMatrix weight_bf16(const float* w, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.bf16.resize(rows * cols);
  std::vector<float> rounded(cols);
  for (int64_t r = 0; r < rows; ++r) {
    round_to_bf16(w + r * cols, rounded.data(), cols);
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t bits;
      std::memcpy(&bits, &rounded[c], 4);
      m.bf16[r * cols + c] = static_cast<uint16_t>(bits >> 16);
    }
  }
  return m;
}

namespace {

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) {
  uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// MR rows of x against NR rows of w. Every element: the same FMA sequence whatever MR and NR are.
template <int MR, int NR, typename W>
inline void tile(const float* x, int64_t K, const W* w, float* y, int64_t ldy, bool accumulate) {
  __m256 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = load8(w + j * K + k);
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * K + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      float r = simd::horizontal_sum(acc[i][j]);
      for (int64_t kk = k; kk < K; ++kk) r += x[i * K + kk] * load1(w + j * K + kk);
      float* out = y + i * ldy + j;
      *out = accumulate ? *out + r : r;
    }
}

// NR columns per tile by MR: each element is its own FMA chain, so small MR needs more columns to
// keep enough independent chains in flight (FMA latency x throughput = 8 on AVX2 cores).
template <int MR>
constexpr int kMaxNr = MR == 1 ? 8 : MR == 2 ? 4 : 3;

template <int MR, int NR, typename W>
inline void tile_dispatch(const float* x, int64_t K, const W* w, int nr, float* y, int64_t ldy, bool accumulate) {
  if constexpr (NR > 1) {
    if (nr < NR) return tile_dispatch<MR, NR - 1>(x, K, w, nr, y, ldy, accumulate);
  }
  tile<MR, NR>(x, K, w, y, ldy, accumulate);
}

template <int MR, typename W>
inline void row_block(const float* x, int64_t K, const W* w, int64_t n0, int64_t n1, float* y, int64_t ldy,
                      bool accumulate) {
  for (int64_t n = n0; n < n1; n += kMaxNr<MR>) {
    const int nr = static_cast<int>(std::min<int64_t>(kMaxNr<MR>, n1 - n));
    tile_dispatch<MR, kMaxNr<MR>>(x, K, w + n * K, nr, y + n, ldy, accumulate);
  }
}

template <typename W>
void gemm_typed(const float* x, int64_t M, const W* w, int64_t N, int64_t K, float* y, bool accumulate) {
  constexpr int64_t kBlockM = 64, kBlockN = 96;
  const int64_t blocks_m = (M + kBlockM - 1) / kBlockM, blocks_n = (N + kBlockN - 1) / kBlockN;
  const bool parallel = M * N * K > (int64_t{1} << 17);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t bm = 0; bm < blocks_m; ++bm)
    for (int64_t bn = 0; bn < blocks_n; ++bn) {
      const int64_t m0 = bm * kBlockM, m1 = std::min(M, m0 + kBlockM);
      const int64_t n0 = bn * kBlockN, n1 = std::min(N, n0 + kBlockN);
      for (int64_t m = m0; m < m1; m += 4) {
        const int mr = static_cast<int>(std::min<int64_t>(4, m1 - m));
        const float* xp = x + m * K;
        float* yp = y + m * N;
        switch (mr) {
          case 4: row_block<4>(xp, K, w, n0, n1, yp, N, accumulate); break;
          case 3: row_block<3>(xp, K, w, n0, n1, yp, N, accumulate); break;
          case 2: row_block<2>(xp, K, w, n0, n1, yp, N, accumulate); break;
          default: row_block<1>(xp, K, w, n0, n1, yp, N, accumulate); break;
        }
      }
    }
}

}  // namespace

void gemm(const float* x, int64_t m, const WeightMatrix& w, float* y, bool accumulate) {
  if (m == 0 || w.rows == 0) return;
  if (w.is_bf16())
    gemm_typed(x, m, w.bf16.data(), w.rows, w.cols, y, accumulate);
  else
    gemm_typed(x, m, w.f32, w.rows, w.cols, y, accumulate);
}

}  // namespace tt::infer
