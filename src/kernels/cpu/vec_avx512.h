// 16-float AVX-512 vectors, the same interface as vec_avx2.h (and, lane by lane, the same
// arithmetic: a kernel gives bit-identical results on either). Only for translation units compiled
// with AVX-512 enabled (*_avx512.cpp); internal linkage for the reason vec_avx2.h gives.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tt {
namespace {  // NOLINT: per-ISA copies

struct Avx512 {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  // kLanes (even, odd) pairs of bf16 values, one per 32-bit word: the odd values (the high halves)
  // or the even ones (the low halves), as fp32.
  static V load_bf16_odd(const uint16_t* bf16_pairs) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(bf16_pairs), _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static V load_bf16_even(const uint16_t* bf16_pairs) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512(bf16_pairs), 16)); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_partial(float* p, V v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static V sqrt(V x) { return _mm512_sqrt_ps(x); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }  // b where a is NaN
  static float horizontal_max(V v) { return _mm512_reduce_max_ps(v); }
  // acc + low half, then + high half: Avx2's 8-lane running sums over the same two blocks of 8.
  static __m256 add_as_8_lane_blocks(__m256 acc, V v) {
    return _mm256_add_ps(_mm256_add_ps(acc, _mm512_castps512_ps256(v)), _mm512_extractf32x8_ps(v, 1));
  }
  // fp32 -> bf16 -> fp32 as Avx2::round_bf16.
  static V round_bf16(V x) {
    const __m512i u = _mm512_castps_si512(x);
    const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                     _mm512_set1_epi32(0x7f800000));
    const __m512i lowest_kept = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lowest_kept));
    const __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x00400000));
    const __m512i bits = _mm512_mask_blend_epi32(is_nan, rounded, quiet);
    return _mm512_castsi512_ps(_mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  // e^x with the operations of simd::exp256, lane by lane.
  static V exp(V x) {
    const __mmask16 underflow = _mm512_cmp_ps_mask(x, set1(-87.3365447505531f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, set1(-87.3365447505531f)), set1(88.3762626647949f));
    const V n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.9875691500e-4f);
    p = fmadd(p, r, set1(1.3981999507e-3f));
    p = fmadd(p, r, set1(8.3334519073e-3f));
    p = fmadd(p, r, set1(4.1665795894e-2f));
    p = fmadd(p, r, set1(1.6666665459e-1f));
    p = fmadd(p, r, set1(5.0000001201e-1f));
    p = fmadd(p, mul(r, r), add(r, set1(1.0f)));
    const __m512i exponent = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~underflow), mul(p, _mm512_castsi512_ps(exponent)));
  }
};

}  // namespace
}  // namespace tt
