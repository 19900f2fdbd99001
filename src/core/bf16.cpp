#include "core/bf16.h"
#include "core/op_profile.h"

#include <immintrin.h>

namespace tt {

float f16_to_f32(uint16_t bits) { return _cvtsh_ss(bits); }

uint16_t f32_to_f16(float value) {
  return static_cast<uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

void round_to_bf16(const float* src, float* dst, int64_t count) {
  OpScope scope("bf16 conversion");
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) dst[i] = bf16_to_f32(f32_to_bf16(src[i]));
}

void to_bf16(const float* src, uint16_t* dst, int64_t count) {
  OpScope scope("bf16 conversion");
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) dst[i] = f32_to_bf16(src[i]);
}

}  // namespace tt
