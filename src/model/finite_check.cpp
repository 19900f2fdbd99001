#include "model/finite_check.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/error.h"

namespace tt {

std::optional<size_t> first_non_finite(const float* p, size_t n) {
  // A float is NaN or Inf exactly when its exponent bits are all ones, i.e. when its magnitude bits
  // are >= 0x7f800000. An unsigned max over a chunk vectorises (a float sum would not, without
  // fast-math), so the common all-finite case costs one pass at memory speed.
  constexpr size_t kChunk = 4096;
  constexpr uint32_t kExponentAllOnes = 0x7f800000u;
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = std::min(n, begin + kChunk);
    uint32_t largest = 0;
    for (size_t i = begin; i < end; ++i) largest = std::max(largest, std::bit_cast<uint32_t>(p[i]) & 0x7fffffffu);
    if (largest < kExponentAllOnes) continue;
    for (size_t i = begin; i < end; ++i)
      if (!std::isfinite(p[i])) return i;
  }
  return std::nullopt;
}

void check_finite_parameters(const Model& model, const std::string& where) {
  for (const auto& slot : model.layout.slots)
    if (auto i = first_non_finite(model.params.data() + slot.offset, static_cast<size_t>(slot.numel)))
      fail("{}: tensor {} has a non-finite value ({}) at element {}", where, slot.name,
           model.params[slot.offset + static_cast<int64_t>(*i)], *i);
}

}  // namespace tt
