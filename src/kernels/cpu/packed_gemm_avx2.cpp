// The packed GEMM on AVX2 + FMA (8 lanes; a panel row is two vectors).
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/cpu/packed_gemm_kernel.h"

namespace tt {
namespace {

// 16 ymm registers: MR rows x NP panels x 2 accumulators, enough independent FMA chains for few rows.
struct Avx2Gemm : Avx2 {
  static constexpr int panels_per_tile(int mr) { return mr == 1 ? 4 : mr == 2 ? 2 : 1; }
};

}  // namespace

void isa_paths::packed_gemm_avx2(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  packed_gemm_f32_on<Avx2Gemm>(x, m, w, y, accumulate);
}

void isa_paths::packed_gemm_bf16_avx2(const float* x_rounded, const PackedBf16Gemm& g) {
  packed_gemm_bf16_fma_on<Avx2Gemm>(x_rounded, g);
}

}  // namespace tt
