// fp32 <-> bf16 / f16 conversions: the project's one definition of bf16 rounding (round to nearest,
// ties to even), shared by the safetensors reader/writer, the matmul kernels and the engine's packed
// weights, so a bf16 value means the same bits everywhere.
#pragma once
#include <cstdint>
#include <cstring>

namespace tt {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Exact: bf16 is the top half of an fp32.
inline float bf16_to_f32(uint16_t bits) { return bits_float(static_cast<uint32_t>(bits) << 16); }

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
inline uint16_t f32_to_bf16(float value) {
  uint32_t u = float_bits(value);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040);
  // Adding 0x7fff plus the lowest kept bit rounds half-way cases to the even neighbour.
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t bits);   // exact, subnormals, inf and NaN included
uint16_t f32_to_f16(float value);  // round to nearest even; overflow gives inf

// fp32 -> bf16 -> fp32 (round to nearest even), in place or into dst; parallel for large counts.
void round_to_bf16(const float* src, float* dst, int64_t count);
// fp32 -> bf16 bits.
void to_bf16(const float* src, uint16_t* dst, int64_t count);

}  // namespace tt
