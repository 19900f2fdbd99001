// The bf16 packed GEMM on AVX512-BF16: one VDPBF16PS per pair of k, panel and row (half the
// instructions of the FMA paths, and no widening of the weights). Compiled with AVX512-BF16 enabled
// (CMakeLists.txt: *_avx512bf16.cpp); called only when the CPU has it. VDPBF16PS adds the odd product,
// then the even one, each rounded: the chain the FMA paths run (packed_gemm.h), so the bits agree.
#include <immintrin.h>

#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx512.h"
#include "kernels/cpu/packed_gemm_kernel.h"

namespace tt {
namespace {

// 32 zmm registers: up to 6 rows x 4 panels = 24 accumulators + 4 panel vectors + the broadcast.
struct Avx512Bf16Gemm : Avx512 {
  static constexpr int panels_per_tile(int) { return 4; }
};

// MR rows of x (bf16 pairs, Kh per row) times NP panels.
template <int MR, int NP>
inline void tile_bf16_dot(const uint32_t* x, int64_t Kh, const uint16_t* panels, int64_t N, int64_t n0, float* y,
                          int64_t ldy, bool accumulate) {
  __m512 acc[MR * NP];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NP; ++i) acc[i] = _mm512_setzero_ps();
  const int64_t stride = Kh * 2 * kPanel;
  for (int64_t h = 0; h < Kh; ++h) {
    prefetch_panels<MR, NP>(panels, stride, h * 2 * kPanel);
    __m512i b[NP];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) b[p] = _mm512_loadu_si512(panels + p * stride + h * 2 * kPanel);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512i a = _mm512_set1_epi32(static_cast<int>(x[i * Kh + h]));
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[i * NP + p] = _mm512_dpbf16_ps(acc[i * NP + p], (__m512bh)a, (__m512bh)b[p]);
    }
  }
  store_tile<Avx512Bf16Gemm, MR, NP>(acc, N, n0, y, ldy, accumulate);
}

}  // namespace

void isa_paths::packed_gemm_bf16_avx512bf16(const uint32_t* x_pairs, const PackedBf16Gemm& g) {
  const int64_t Kh = (g.k + 1) / 2;
  for_each_tile<Avx512Bf16Gemm>(g.m, g.n, g.k, [&]<int MR, int NP>(int64_t m, int64_t p) {
    tile_bf16_dot<MR, NP>(x_pairs + m * Kh, Kh, g.w + p * Kh * 2 * kPanel, g.n, p * kPanel, g.y + m * g.n, g.n,
                          g.accumulate);
  });
}

}  // namespace tt
