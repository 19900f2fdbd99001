// A register-tiled fp32 GEMM for the small blocks inside attention (L1/L2-resident operands).
//   C[M,N] (+)= A[M,K] · B[K,N], all row-major with leading dimensions lda, ldb, ldc.
// Runs on the calling thread: callers parallelise over blocks. Results do not depend on how
// callers block the work (each output element sums over k in order), which keeps batch invariance.
#pragma once
#include <cstdint>

namespace tt {

void small_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                float* c, int64_t ldc, bool accumulate);

// dst[cols, rows] = src[rows, cols]^T (src with leading dimension ld_src).
void transpose(const float* src, int64_t rows, int64_t cols, int64_t ld_src, float* dst);

}  // namespace tt
