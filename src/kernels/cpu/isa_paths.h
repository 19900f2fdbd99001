// The per-ISA entry points of our kernels (one translation unit per ISA, *_avx2.cpp / *_avx512.cpp),
// for the dispatchers in packed_gemm.cpp and swiglu.cpp. An _avx512 function may only be called
// when cpu_can_run(Isa::AVX512) (core/cpu_features.h).
#pragma once
#include <cstdint>

#include "kernels/cpu/packed_gemm.h"

namespace tt::isa_paths {

void packed_gemm_avx2(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate);
void packed_gemm_avx512(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate);

void swiglu_forward_avx2(float* out, const float* gate, const float* up, int64_t count);
void swiglu_forward_avx512(float* out, const float* gate, const float* up, int64_t count);
void swiglu_backward_avx2(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                          int64_t count);
void swiglu_backward_avx512(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t count);

}  // namespace tt::isa_paths
