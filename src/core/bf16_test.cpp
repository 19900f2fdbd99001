// The vectorised bf16 conversions give f32_to_bf16's bits for every value: ties to even, NaN kept
// quiet, infinities, subnormals, and lengths with a scalar tail.
#include "core/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace tt {
namespace {

std::vector<float> awkward_values() {
  std::vector<float> v;
  for (uint32_t bits : {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffbfffffu,
                        0x00000001u, 0x807fffffu, 0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x7f7fffffu, 0x7f7f8000u,
                        0xff7fffffu, 0x3f807fffu})
    v.push_back(bits_float(bits));
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) v.push_back(bits_float(static_cast<uint32_t>(rng.below(uint64_t{1} << 32))));
  for (int i = 0; i < 5000; ++i) v.push_back(static_cast<float>(rng.normal()));
  v.push_back(1.0f);  // an odd length: the scalar tail runs too
  return v;
}

TEST(Bf16, VectorConversionsGiveTheScalarBitsForEveryValue) {
  for (size_t n : {size_t{3}, size_t{8}, size_t{4097}, awkward_values().size()}) {
    std::vector<float> src = awkward_values();
    src.resize(n);
    std::vector<float> rounded(n);
    std::vector<uint16_t> bits(n);
    round_to_bf16(src.data(), rounded.data(), static_cast<int64_t>(n));
    to_bf16(src.data(), bits.data(), static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i) {
      const uint16_t expected = f32_to_bf16(src[i]);
      ASSERT_EQ(bits[i], expected) << "value bits " << std::hex << float_bits(src[i]);
      ASSERT_EQ(float_bits(rounded[i]), uint32_t{expected} << 16) << "value bits " << std::hex << float_bits(src[i]);
    }
  }
}

}  // namespace
}  // namespace tt
