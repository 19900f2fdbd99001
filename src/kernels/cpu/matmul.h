// Dense matrix products through oneDNN, with cached primitives.
//
//   C[M,N] (+)= op(A)[M,K] · op(B)[K,N]
//
// A is row-major [M,K], or [K,M] when trans_a; B is row-major [K,N], or [N,K] when trans_b (the
// layout of an HF Linear weight [out,in], so y = x W^T is matmul(x, W, y, M, out, in, false, true)).
// Precision::BF16 rounds both inputs to bf16 and accumulates in fp32: on CPUs where oneDNN has a
// native bf16 matmul (AMX, AVX512-BF16) it runs that; elsewhere it rounds the inputs and runs the
// fp32 kernel, which gives the same numbers (bf16 products are exact in fp32) without the speed.
#pragma once
#include <cstdint>
#include <string>

#include "core/bf16.h"
#include "core/precision.h"

namespace tt {

struct MatmulOptions {
  bool trans_a = false;
  bool trans_b = false;
  bool accumulate = false;  // C += A·B instead of C = A·B
  Precision precision = Precision::FP32;
  // In BF16 mode, operands already rounded to bf16 values (e.g. the model's bf16 weight copy) skip
  // the per-call rounding; the result is the same, only cheaper.
  bool a_is_bf16 = false;
  bool b_is_bf16 = false;
};

void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, const MatmulOptions& options);
// The same with both operands already bf16 bits (layouts as above; options.precision is ignored):
// for callers that convert an operand once and use it in several products. Only where
// native_bf16_available() (tt::Error elsewhere).
void matmul_bf16_bits(const uint16_t* a, const uint16_t* b, float* c, int64_t m, int64_t n, int64_t k,
                      const MatmulOptions& options);

// True when oneDNN runs bf16 matmuls natively on this CPU (else bf16 is emulated).
bool native_bf16_available();
// oneDNN's name for the kernel it picked for an fp32 / bf16 matmul of this shape (e.g. "gemm:jit").
std::string matmul_kernel_name(int64_t m, int64_t n, int64_t k, Precision precision);

}  // namespace tt
