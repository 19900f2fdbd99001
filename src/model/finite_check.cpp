#include "model/finite_check.h"

#include <cmath>

#include "core/error.h"

namespace tt {

std::optional<size_t> first_non_finite(const float* p, size_t n) {
  constexpr size_t kChunk = 4096;
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = std::min(n, begin + kChunk);
    float probe = 0.0f;  // x * 0 is 0 for finite x, NaN for NaN and Inf: one branch per chunk
    for (size_t i = begin; i < end; ++i) probe += p[i] * 0.0f;
    if (probe == 0.0f) continue;
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
