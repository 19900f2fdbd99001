// The per-ISA entry points of our kernels (one translation unit per ISA, *_avx2.cpp / *_avx512.cpp),
// for the dispatchers in packed_gemm.cpp and swiglu.cpp. An _avx512 function may only be called
// when cpu_can_run(Isa::AVX512) (core/cpu_features.h).
#pragma once
#include <cstdint>

#include "kernels/cpu/adamw.h"
#include "kernels/cpu/packed_gemm.h"

namespace tt::isa_paths {

// fp32 weights (w.f32).
void packed_gemm_avx2(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate);
void packed_gemm_avx512(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate);
// bf16 weights: y [m, n] (+)= x · w^T with x already rounded to bf16 and padded to an even width, as
// fp32 rows (the FMA paths) or as bf16 pairs, the odd k in the high half (the VDPBF16PS path).
struct PackedBf16Gemm {
  int64_t m, n, k;     // w is [n, k]
  const uint16_t* w;   // packed_bf16_index layout
  float* y;
  bool accumulate;
};
void packed_gemm_bf16_avx2(const float* x_rounded, const PackedBf16Gemm& g);
void packed_gemm_bf16_avx512(const float* x_rounded, const PackedBf16Gemm& g);
void packed_gemm_bf16_avx512bf16(const uint32_t* x_pairs, const PackedBf16Gemm& g);

void swiglu_forward_avx2(float* out, const float* gate, const float* up, int64_t count);
void swiglu_forward_avx512(float* out, const float* gate, const float* up, int64_t count);
void swiglu_backward_avx2(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                          int64_t count);
void swiglu_backward_avx512(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t count);

void adamw_update_run_avx2(const AdamWBuffers& buffers, int64_t begin, int64_t count, float decay,
                           const AdamWScalars& scalars);
void adamw_update_run_avx512(const AdamWBuffers& buffers, int64_t begin, int64_t count, float decay,
                             const AdamWScalars& scalars);

// One row of logits (kernels/cpu/classifier.cpp): its target's log-prob, whether the argmax is the
// target; with want_grad the row becomes (softmax - onehot) * weight.
struct LogitRow {
  float logprob;
  bool correct;
};
LogitRow process_logit_row_avx2(float* row, int64_t vocab, int32_t target, bool want_grad, float token_weight,
                                bool dft);
LogitRow process_logit_row_avx512(float* row, int64_t vocab, int32_t target, bool want_grad, float token_weight,
                                  bool dft);

// sums[r] = the dot product of rows r of a and b (n floats each, rows stride floats apart), for
// r < row_dots_group_rows_*() (kernels/cpu/row_dots.h).
int row_dots_group_rows_avx2();
int row_dots_group_rows_avx512();
void row_dots_group_avx2(const float* a, const float* b, int64_t n, int64_t stride, float* sums);
void row_dots_group_avx512(const float* a, const float* b, int64_t n, int64_t stride, float* sums);

}  // namespace tt::isa_paths
