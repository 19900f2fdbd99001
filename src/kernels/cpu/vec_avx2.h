// 8-float AVX2 vectors for kernels written once over a vector type (packed_gemm_kernel.h,
// swiglu_kernel.h). Internal linkage on purpose: each ISA's translation unit gets its own copy, so
// the linker can never hand an AVX-512-compiled body to a caller on an AVX2-only machine.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "core/bf16_avx2.h"
#include "kernels/cpu/simd.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies, see above

struct Avx2 {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  // kLanes (even, odd) pairs of bf16 values, one per 32-bit word: the odd values (the high halves)
  // or the even ones (the low halves), as fp32.
  static V load_bf16_odd(const uint16_t* bf16_pairs) {
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bf16_pairs)), _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static V load_bf16_even(const uint16_t* bf16_pairs) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bf16_pairs)), 16)); }
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
  static V sqrt(V x) { return _mm256_sqrt_ps(x); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }  // b where a is NaN
  static float horizontal_max(V v) { return simd::horizontal_max(v); }
  // acc + v: the 8-lane running sums of a reduction that adds its blocks of 8 in order.
  static __m256 add_as_8_lane_blocks(__m256 acc, V v) { return _mm256_add_ps(acc, v); }
  // fp32 -> bf16 -> fp32, lane by lane as f32_to_bf16 (core/bf16.h): nearest even, NaN stays quiet.
  static V round_bf16(V x) { return round_bf16_lanes(x); }
};

}  // namespace
}  // namespace tt
