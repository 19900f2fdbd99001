// f32_to_bf16 (core/bf16.h) on 8 lanes at once, bit for bit: nearest even, NaN stays a quiet NaN.
// AVX2 (the build's baseline ISA); core/bf16.cpp's conversions and the kernels' AVX2 vector type use it.
// Internal linkage, as vec_avx2.h: a translation unit compiled for AVX-512 gets its own copy, so the
// linker never hands an EVEX-encoded body to a caller on an AVX2-only machine.
#pragma once
#include <immintrin.h>

namespace tt {
namespace {  // NOLINT: per-translation-unit copies on purpose

// fp32 -> bf16 -> fp32 lane by lane (the bf16 value in the high 16 bits, the low ones zero).
inline __m256 round_bf16_lanes(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                            _mm256_set1_epi32(0x7f800000));
  const __m256i lowest_kept = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lowest_kept));
  const __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
  const __m256i bits = _mm256_blendv_epi8(rounded, quiet, is_nan);
  return _mm256_castsi256_ps(_mm256_and_si256(bits, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

}  // namespace
}  // namespace tt
