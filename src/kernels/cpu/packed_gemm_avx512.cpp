// The packed GEMM on AVX-512 (16 lanes; a panel row is one vector). Compiled with AVX-512 enabled
// (CMakeLists.txt: *_avx512.cpp); called only when the CPU has it.
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx512.h"
#include "kernels/cpu/packed_gemm_kernel.h"

namespace tt {
namespace {

// 32 zmm registers: up to 6 rows x 4 panels = 24 accumulators + 4 panel vectors + the broadcast.
struct Avx512Gemm : Avx512 {
  static constexpr int panels_per_tile(int) { return 4; }
};

}  // namespace

void isa_paths::packed_gemm_avx512(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  packed_gemm_f32_on<Avx512Gemm>(x, m, w, y, accumulate);
}

void isa_paths::packed_gemm_bf16_avx512(const float* x_rounded, const PackedBf16Gemm& g) {
  packed_gemm_bf16_fma_on<Avx512Gemm>(x_rounded, g);
}

}  // namespace tt
