// Loads and stores of the first `lanes` floats of a vector of type S (vec_avx2.h, vec_avx512.h): a
// whole vector, or a loop's tail narrower than one.
#pragma once

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

template <class S>
inline typename S::V load_lanes(const float* p, int lanes) {
  return lanes == S::kLanes ? S::load(p) : S::load_partial(p, lanes);
}

template <class S>
inline void store_lanes(float* p, typename S::V v, int lanes) {
  if (lanes == S::kLanes)
    S::store(p, v);
  else
    S::store_partial(p, v, lanes);
}

}  // namespace
}  // namespace tt
