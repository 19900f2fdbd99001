#include "core/parallel_for.h"
#include "core/bf16.h"
#include "core/bf16_avx2.h"
#include "core/op_profile.h"

#include <immintrin.h>

#include <algorithm>

namespace tt {

float f16_to_f32(uint16_t bits) { return _cvtsh_ss(bits); }

uint16_t f32_to_f16(float value) {
  return static_cast<uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

namespace {

// Blocks of 4096 values, over the threads when there are many.
constexpr int64_t kBlock = 4096;

template <class Block>
void for_each_block(int64_t count, Block block) {
  const int64_t blocks = (count + kBlock - 1) / kBlock;
  parallel_for(blocks, count > 65536, [&](int64_t b) { block(b * kBlock, std::min(count, (b + 1) * kBlock)); });
}

}  // namespace

void round_to_bf16(const float* src, float* dst, int64_t count) {
  OpScope scope("bf16 conversion");
  for_each_block(count, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(dst + i, round_bf16_lanes(_mm256_loadu_ps(src + i)));
    for (; i < end; ++i) dst[i] = bf16_to_f32(f32_to_bf16(src[i]));
  });
}

void to_bf16(const float* src, uint16_t* dst, int64_t count) {
  OpScope scope("bf16 conversion");
  for_each_block(count, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
      const __m256i halves = _mm256_srli_epi32(_mm256_castps_si256(round_bf16_lanes(_mm256_loadu_ps(src + i))), 16);
      const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(halves, halves), 0b1000);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(packed));
    }
    for (; i < end; ++i) dst[i] = f32_to_bf16(src[i]);
  });
}

}  // namespace tt
