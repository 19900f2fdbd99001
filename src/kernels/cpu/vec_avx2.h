// 8-float AVX2 vectors for kernels written once over a vector type (packed_gemm_kernel.h,
// swiglu_kernel.h). Internal linkage on purpose: each ISA's translation unit gets its own copy, so
// the linker can never hand an AVX-512-compiled body to a caller on an AVX2-only machine.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/simd.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies, see above

struct Avx2 {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load(const uint16_t* bf16) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bf16)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // The first n < kLanes lanes of p (the others zero), and their store back.
  static V load_partial(const float* p, int n) {
    alignas(32) float lanes[kLanes] = {};
    for (int i = 0; i < n; ++i) lanes[i] = p[i];
    return _mm256_load_ps(lanes);
  }
  static void store_partial(float* p, V v, int n) {
    alignas(32) float lanes[kLanes];
    _mm256_store_ps(lanes, v);
    for (int i = 0; i < n; ++i) p[i] = lanes[i];
  }
  static V exp(V x) { return simd::exp256(x); }
};

}  // namespace
}  // namespace tt
