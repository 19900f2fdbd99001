// The packed GEMM written once over a vector type S (vec_avx2.h, vec_avx512.h); included by one
// translation unit per ISA (packed_gemm_avx2.cpp, packed_gemm_avx512.cpp, packed_gemm_avx512bf16.cpp).
// Every output element is one chain of roundings in a fixed order (packed_gemm.h), in one vector
// lane, whatever the vector width, tile shape or thread split — so each path is row-invariant and
// all paths give bit-identical results.
#pragma once
#include <immintrin.h>
#include <omp.h>

#include <cstdint>

#include "core/parallel_for.h"
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/packed_gemm.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

constexpr int64_t kPanel = kPackedPanel;

inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

// Adds (or writes) a tile's MR x NP*R accumulators into y, columns n0.. of rows 0..MR-1.
template <class S, int MR, int NP>
inline void store_tile(const typename S::V* acc, int64_t N, int64_t n0, float* y, int64_t ldy, bool accumulate) {
  constexpr int R = kPanel / S::kLanes;
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

// Tiles of one or two rows (decode) do a few FMAs per 64-byte line of weights, and the hardware
// prefetcher alone leaves them waiting on memory (a tile reads NP panel streams at once). Each step of
// such a tile asks for the line kPrefetchLines ahead in each of its streams (2 KB): on the Zen 5,
// BM_PackedGemmDecodeStream rose from 37-51 to 46-70 GB/s (pairs of runs on a noisy VM), decode b1
// by ~10%. Every step of k reads one line per panel (16 fp32 values or 16 bf16 pairs).
constexpr int64_t kPrefetchLines = 32;
template <int MR, int NP, typename W>
inline void prefetch_panels(const W* panels, int64_t stride, int64_t at) {
  if constexpr (MR <= 2) {
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p)
      _mm_prefetch(reinterpret_cast<const char*>(panels + p * stride + at) + kPrefetchLines * 64, _MM_HINT_T0);
  }
}

// acc[i][j] += x[i * ldx] * b[j] for MR rows and the NPR vectors of b: one FMA each.
template <class S, int MR, int NPR>
inline void fma_rows(typename S::V* acc, const typename S::V* b, const float* x, int64_t ldx) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const typename S::V a = S::set1(x[i * ldx]);
#pragma GCC unroll 16
    for (int j = 0; j < NPR; ++j) acc[i * NPR + j] = S::fmadd(a, b[j], acc[i * NPR + j]);
  }
}

// b[p * R + r] = load(panel p's vector r at `at`), for NP panels `stride` values apart.
template <class S, int NP, typename W, class Load>
inline void load_panels(typename S::V* b, const W* panels, int64_t stride, int64_t at, int64_t vector_stride,
                        Load load) {
  constexpr int R = kPanel / S::kLanes;
#pragma GCC unroll 8
  for (int p = 0; p < NP; ++p)
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) b[p * R + r] = load(panels + p * stride + at + r * vector_stride);
}

// fp32 weights: MR rows of x times NP panels, one FMA per k.
template <class S, int MR, int NP>
inline void tile_f32(const float* x, int64_t K, const float* panels, int64_t N, int64_t n0, float* y, int64_t ldy,
                     bool accumulate) {
  constexpr int R = kPanel / S::kLanes;  // vectors per panel row
  typename S::V acc[MR * NP * R];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NP * R; ++i) acc[i] = S::zero();
  const auto load = [](const float* p) { return S::load(p); };
  for (int64_t k = 0; k < K; ++k) {
    prefetch_panels<MR, NP>(panels, K * kPanel, k * kPanel);
    typename S::V b[NP * R];
    load_panels<S, NP>(b, panels, K * kPanel, k * kPanel, S::kLanes, load);
    fma_rows<S, MR, NP * R>(acc, b, x + k, K);
  }
  store_tile<S, MR, NP>(acc, N, n0, y, ldy, accumulate);
}

// bf16 weights on the FMA paths: x rows already rounded and Kp (even) wide; per pair of k, the odd
// products into every accumulator, then the even ones (VDPBF16PS's order). A panel's pair is 32
// bf16 values, column c's (even, odd) in 32-bit word c: the odd one is the word's high half (an
// fp32 once the low half is cleared), the even one its low half shifted up.
template <class S, int MR, int NP>
inline void tile_bf16_fma(const float* x, int64_t Kp, const uint16_t* panels, int64_t N, int64_t n0, float* y,
                          int64_t ldy, bool accumulate) {
  constexpr int R = kPanel / S::kLanes;
  typename S::V acc[MR * NP * R];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NP * R; ++i) acc[i] = S::zero();
  const auto odd = [](const uint16_t* p) { return S::load_bf16_odd(p); };
  const auto even = [](const uint16_t* p) { return S::load_bf16_even(p); };
  for (int64_t k = 0; k < Kp; k += 2) {
    prefetch_panels<MR, NP>(panels, Kp * kPanel, k * kPanel);
    typename S::V b[NP * R];
    load_panels<S, NP>(b, panels, Kp * kPanel, k * kPanel, 2 * S::kLanes, odd);
    fma_rows<S, MR, NP * R>(acc, b, x + k + 1, Kp);
    load_panels<S, NP>(b, panels, Kp * kPanel, k * kPanel, 2 * S::kLanes, even);
    fma_rows<S, MR, NP * R>(acc, b, x + k, Kp);
  }
  store_tile<S, MR, NP>(acc, N, n0, y, ldy, accumulate);
}

// Calls call.template operator()<MR, NP>(m, p) for the tile of MR rows from row m and NP panels from
// panel p, covering y: blocks of 48 rows x some panels split among the threads, each walked in tiles
// of up to 6 rows x Tiles::panels_per_tile(MR) panels. Which tile a row lands in never changes its bits.
template <int MR, int NP, class Call>
inline void tile_np(Call& call, int64_t m, int64_t p, int np) {
  if constexpr (NP > 1) {
    if (np < NP) return tile_np<MR, NP - 1>(call, m, p, np);
  }
  call.template operator()<MR, NP>(m, p);
}

template <class Tiles, int MR, class Call>
inline void row_block(Call& call, int64_t m, int64_t p0, int64_t p1) {
  constexpr int NP = Tiles::panels_per_tile(MR);
  for (int64_t p = p0; p < p1; p += NP) tile_np<MR, NP>(call, m, p, static_cast<int>(smaller(NP, p1 - p)));
}

template <class Tiles, class Call>
void for_each_tile(int64_t M, int64_t N, int64_t K, Call call) {
  constexpr int64_t kBlockM = 48;
  const int64_t panels = (N + kPanel - 1) / kPanel;
  const int64_t blocks_m = (M + kBlockM - 1) / kBlockM;
  const bool parallel = M * N * K > (int64_t{1} << 17);
  // Blocks of 4 panels; with one block of rows (decode) each thread gets an equal run of panels
  // instead: 12 panels in blocks of 4 left one of two threads idle a third of the time.
  int64_t block_panels = 4;
  if (parallel && blocks_m == 1) {
    const int64_t threads = omp_get_max_threads();
    block_panels = (panels + threads - 1) / threads;
  }
  const int64_t blocks_n = (panels + block_panels - 1) / block_panels;
  parallel_for(blocks_n * blocks_m, parallel, [&](int64_t block) {
    const int64_t bn = block / blocks_m, bm = block % blocks_m;
    const int64_t m0 = bm * kBlockM, m1 = smaller(M, m0 + kBlockM);
    const int64_t p0 = bn * block_panels, p1 = smaller(panels, p0 + block_panels);
    // 4 panels at a time through all the block's rows: they stay in the cache while rows pass.
    // (One tile of rows streams its whole run: chunks cost a single decode row 25%.)
    const int64_t chunk = m1 - m0 > 6 ? 4 : p1 - p0;
    for (int64_t q0 = p0; q0 < p1; q0 += chunk) {
      const int64_t q1 = smaller(p1, q0 + chunk);
      for (int64_t m = m0; m < m1; m += 6) {
        switch (smaller(6, m1 - m)) {
          case 6: row_block<Tiles, 6>(call, m, q0, q1); break;
          case 5: row_block<Tiles, 5>(call, m, q0, q1); break;
          case 4: row_block<Tiles, 4>(call, m, q0, q1); break;
          case 3: row_block<Tiles, 3>(call, m, q0, q1); break;
          case 2: row_block<Tiles, 2>(call, m, q0, q1); break;
          default: row_block<Tiles, 1>(call, m, q0, q1); break;
        }
      }
    }
  });
}

// The fp32-weight product on S (w.f32).
template <class S>
void packed_gemm_f32_on(const float* x, int64_t M, const PackedMatrixView& w, float* y, bool accumulate) {
  const int64_t N = w.rows, K = w.cols;
  for_each_tile<S>(M, N, K, [&]<int MR, int NP>(int64_t m, int64_t p) {
    tile_f32<S, MR, NP>(x + m * K, K, w.f32 + p * K * kPanel, N, p * kPanel, y + m * N, N, accumulate);
  });
}

// The bf16-weight product on S's FMAs (x rounded, Kp wide).
template <class S>
void packed_gemm_bf16_fma_on(const float* x, const isa_paths::PackedBf16Gemm& g) {
  const int64_t Kp = g.k + (g.k & 1);
  for_each_tile<S>(g.m, g.n, g.k, [&]<int MR, int NP>(int64_t m, int64_t p) {
    tile_bf16_fma<S, MR, NP>(x + m * Kp, Kp, g.w + p * Kp * kPanel, g.n, p * kPanel, g.y + m * g.n, g.n,
                             g.accumulate);
  });
}

}  // namespace
}  // namespace tt
