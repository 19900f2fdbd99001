#include "kernels/cpu/packed_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/bf16.h"

namespace tt {

// Weights are packed in panels of kPanel output columns: element (n, k) of W [N, K] sits at
// (n / kPanel) * K * kPanel + k * kPanel + n % kPanel, the last panel padded with zeros. A panel is
// contiguous, so the kernel streams it once per block of rows.
namespace {

constexpr int64_t kPanel = 16;

}  // namespace

int64_t packed_index(int64_t n, int64_t k, int64_t K) { return (n / kPanel) * K * kPanel + k * kPanel + n % kPanel; }
int64_t packed_size(int64_t N, int64_t K) { return (N + kPanel - 1) / kPanel * kPanel * K; }

PackedMatrix pack_f32(const float* w, int64_t rows, int64_t cols) {
  PackedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.f32.assign(packed_size(rows, cols), 0.0f);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) m.f32[packed_index(n, k, cols)] = w[n * cols + k];
  return m;
}

PackedMatrix pack_bf16(const float* w, int64_t rows, int64_t cols) {
  PackedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.bf16.assign(packed_size(rows, cols), 0);
  std::vector<float> rounded(cols);
  for (int64_t n = 0; n < rows; ++n) {
    round_to_bf16(w + n * cols, rounded.data(), cols);
    for (int64_t k = 0; k < cols; ++k) {
      uint32_t bits;
      std::memcpy(&bits, &rounded[k], 4);
      m.bf16[packed_index(n, k, cols)] = static_cast<uint16_t>(bits >> 16);
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

// MR rows of x times NP panels: every output element is one FMA chain over k = 0..K-1 in order,
// whatever MR, NP or the element's place in the tile — the source of row invariance.
template <int MR, int NP, typename W>
inline void tile(const float* x, int64_t K, const W* panels, int64_t N, int64_t n0, float* y, int64_t ldy,
                 bool accumulate) {
  __m256 acc[MR * NP * 2];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NP * 2; ++i) acc[i] = _mm256_setzero_ps();
  const int64_t stride = K * kPanel;
  for (int64_t k = 0; k < K; ++k) {
    __m256 b[NP * 2];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      b[2 * p] = load8(panels + p * stride + k * kPanel);
      b[2 * p + 1] = load8(panels + p * stride + k * kPanel + 8);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(x + i * K + k);
#pragma GCC unroll 16
      for (int j = 0; j < 2 * NP; ++j) acc[i * 2 * NP + j] = _mm256_fmadd_ps(a, b[j], acc[i * 2 * NP + j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      const int64_t n = n0 + p * kPanel;
      float* out = y + i * ldy + n;
      const __m256 lo = acc[i * 2 * NP + 2 * p], hi = acc[i * 2 * NP + 2 * p + 1];
      if (N - n >= kPanel) {
        if (accumulate) {
          _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), lo));
          _mm256_storeu_ps(out + 8, _mm256_add_ps(_mm256_loadu_ps(out + 8), hi));
        } else {
          _mm256_storeu_ps(out, lo);
          _mm256_storeu_ps(out + 8, hi);
        }
        continue;
      }
      float lanes[kPanel];
      _mm256_storeu_ps(lanes, lo);
      _mm256_storeu_ps(lanes + 8, hi);
      for (int64_t j = 0; j < N - n; ++j) out[j] = accumulate ? out[j] + lanes[j] : lanes[j];
    }
}

// Panels per tile by MR: enough independent FMA chains (latency x throughput = 8) for few rows.
template <int MR>
constexpr int kPanelsPerTile = MR == 1 ? 4 : MR == 2 ? 2 : 1;

template <int MR, int NP, typename W>
inline void tile_dispatch(const float* x, int64_t K, const W* panels, int np, int64_t N, int64_t n0, float* y,
                          int64_t ldy, bool accumulate) {
  if constexpr (NP > 1) {
    if (np < NP) return tile_dispatch<MR, NP - 1>(x, K, panels, np, N, n0, y, ldy, accumulate);
  }
  tile<MR, NP>(x, K, panels, N, n0, y, ldy, accumulate);
}

template <int MR, typename W>
inline void row_block(const float* x, int64_t K, const W* w, int64_t N, int64_t p0, int64_t p1, float* y,
                      int64_t ldy, bool accumulate) {
  constexpr int NP = kPanelsPerTile<MR>;
  for (int64_t p = p0; p < p1; p += NP) {
    const int np = static_cast<int>(std::min<int64_t>(NP, p1 - p));
    tile_dispatch<MR, NP>(x, K, w + p * K * kPanel, np, N, p * kPanel, y, ldy, accumulate);
  }
}

template <typename W>
void gemm_typed(const float* x, int64_t M, const W* w, int64_t N, int64_t K, float* y, bool accumulate) {
  constexpr int64_t kBlockM = 48, kBlockPanels = 4;
  const int64_t panels = (N + kPanel - 1) / kPanel;
  const int64_t blocks_m = (M + kBlockM - 1) / kBlockM, blocks_n = (panels + kBlockPanels - 1) / kBlockPanels;
  const bool parallel = M * N * K > (int64_t{1} << 17);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t bn = 0; bn < blocks_n; ++bn)
    for (int64_t bm = 0; bm < blocks_m; ++bm) {
      const int64_t m0 = bm * kBlockM, m1 = std::min(M, m0 + kBlockM);
      const int64_t p0 = bn * kBlockPanels, p1 = std::min(panels, p0 + kBlockPanels);
      for (int64_t m = m0; m < m1; m += 6) {
        const int mr = static_cast<int>(std::min<int64_t>(6, m1 - m));
        const float* xp = x + m * K;
        float* yp = y + m * N;
        switch (mr) {
          case 6: row_block<6>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 5: row_block<5>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 4: row_block<4>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 3: row_block<3>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 2: row_block<2>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          default: row_block<1>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
        }
      }
    }
}

}  // namespace

void packed_gemm(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  if (m == 0 || w.rows == 0) return;
  if (w.bf16)
    gemm_typed(x, m, w.bf16, w.rows, w.cols, y, accumulate);
  else
    gemm_typed(x, m, w.f32, w.rows, w.cols, y, accumulate);
}

}  // namespace tt
