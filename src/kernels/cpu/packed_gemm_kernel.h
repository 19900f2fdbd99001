// The packed GEMM written once over a vector type S (vec_avx2.h, vec_avx512.h); included by one
// translation unit per ISA (packed_gemm_avx2.cpp, packed_gemm_avx512.cpp). Every output element is
// one FMA chain over k = 0..K-1 in order, in one vector lane, whatever the vector width, tile shape
// or thread split — so each path is row-invariant and all paths give bit-identical results.
#pragma once
#include <cstdint>

#include "kernels/cpu/packed_gemm.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

constexpr int64_t kPanel = kPackedPanel;

inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

// MR rows of x times NP panels.
template <class S, int MR, int NP, typename W>
inline void tile(const float* x, int64_t K, const W* panels, int64_t N, int64_t n0, float* y, int64_t ldy,
                 bool accumulate) {
  constexpr int R = kPanel / S::kLanes;  // vectors per panel row
  typename S::V acc[MR * NP * R];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NP * R; ++i) acc[i] = S::zero();
  const int64_t stride = K * kPanel;
  for (int64_t k = 0; k < K; ++k) {
    typename S::V b[NP * R];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) b[p * R + r] = S::load(panels + p * stride + k * kPanel + r * S::kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const typename S::V a = S::set1(x[i * K + k]);
#pragma GCC unroll 16
      for (int j = 0; j < NP * R; ++j) acc[i * NP * R + j] = S::fmadd(a, b[j], acc[i * NP * R + j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) {
        const int64_t n = n0 + p * kPanel + r * S::kLanes;
        if (n >= N) continue;
        float* out = y + i * ldy + n;
        const typename S::V v = acc[(i * NP + p) * R + r];
        const int width = static_cast<int>(smaller(S::kLanes, N - n));
        if (width == S::kLanes)
          S::store(out, accumulate ? S::add(S::load(out), v) : v);
        else
          S::store_partial(out, accumulate ? S::add(S::load_partial(out, width), v) : v, width);
      }
}

template <class S, int MR, int NP, typename W>
inline void tile_dispatch(const float* x, int64_t K, const W* panels, int np, int64_t N, int64_t n0, float* y,
                          int64_t ldy, bool accumulate) {
  if constexpr (NP > 1) {
    if (np < NP) return tile_dispatch<S, MR, NP - 1>(x, K, panels, np, N, n0, y, ldy, accumulate);
  }
  tile<S, MR, NP>(x, K, panels, N, n0, y, ldy, accumulate);
}

template <class S, int MR, typename W>
inline void row_block(const float* x, int64_t K, const W* w, int64_t N, int64_t p0, int64_t p1, float* y,
                      int64_t ldy, bool accumulate) {
  constexpr int NP = S::panels_per_tile(MR);
  for (int64_t p = p0; p < p1; p += NP) {
    const int np = static_cast<int>(smaller(NP, p1 - p));
    tile_dispatch<S, MR, NP>(x, K, w + p * K * kPanel, np, N, p * kPanel, y, ldy, accumulate);
  }
}

template <class S, typename W>
void packed_gemm_typed(const float* x, int64_t M, const W* w, int64_t N, int64_t K, float* y, bool accumulate) {
  constexpr int64_t kBlockM = 48, kBlockPanels = 4;
  const int64_t panels = (N + kPanel - 1) / kPanel;
  const int64_t blocks_m = (M + kBlockM - 1) / kBlockM, blocks_n = (panels + kBlockPanels - 1) / kBlockPanels;
  const bool parallel = M * N * K > (int64_t{1} << 17);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t bn = 0; bn < blocks_n; ++bn)
    for (int64_t bm = 0; bm < blocks_m; ++bm) {
      const int64_t m0 = bm * kBlockM, m1 = smaller(M, m0 + kBlockM);
      const int64_t p0 = bn * kBlockPanels, p1 = smaller(panels, p0 + kBlockPanels);
      for (int64_t m = m0; m < m1; m += 6) {
        const float* xp = x + m * K;
        float* yp = y + m * N;
        switch (smaller(6, m1 - m)) {
          case 6: row_block<S, 6>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 5: row_block<S, 5>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 4: row_block<S, 4>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 3: row_block<S, 3>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          case 2: row_block<S, 2>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
          default: row_block<S, 1>(xp, K, w, N, p0, p1, yp, N, accumulate); break;
        }
      }
    }
}

template <class S>
void packed_gemm_on(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  if (w.bf16)
    packed_gemm_typed<S>(x, m, w.bf16, w.rows, w.cols, y, accumulate);
  else
    packed_gemm_typed<S>(x, m, w.f32, w.rows, w.cols, y, accumulate);
}

}  // namespace
}  // namespace tt
