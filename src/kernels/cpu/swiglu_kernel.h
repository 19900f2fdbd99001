// SwiGLU forward/backward written once over a vector type S (vec_avx2.h, vec_avx512.h), included by
// swiglu_avx2.cpp and swiglu_avx512.cpp. Lane-wise arithmetic only (the tail is one masked vector),
// so every path gives bit-identical results.
#pragma once
#include <cstdint>

#include "core/parallel_for.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_lanes.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

constexpr int64_t kSwigluChunk = 4096;  // elements per parallel work item

template <class S>
inline typename S::V sigmoid(typename S::V g) {
  const typename S::V one = S::set1(1.0f);
  return S::div(one, S::add(one, S::exp(S::sub(S::zero(), g))));
}

// Calls body(i, lanes) over [0, count) in chunks of kSwigluChunk, in parallel when it pays.
template <class S, class Body>
inline void for_each_vector(int64_t count, Body body) {
  parallel_for((count + kSwigluChunk - 1) / kSwigluChunk, count > kMinParallelWork, [&](int64_t chunk) {
    const int64_t c0 = chunk * kSwigluChunk, end = c0 + kSwigluChunk < count ? c0 + kSwigluChunk : count;
    int64_t i = c0;
    for (; i + S::kLanes <= end; i += S::kLanes) body(i, S::kLanes);
    if (i < end) body(i, static_cast<int>(end - i));
  });
}

template <class S>
void swiglu_forward_on(float* out, const float* gate, const float* up, int64_t count) {
  for_each_vector<S>(count, [&](int64_t i, int lanes) {
    const typename S::V g = load_lanes<S>(gate + i, lanes);
    store_lanes<S>(out + i, S::mul(S::mul(g, sigmoid<S>(g)), load_lanes<S>(up + i, lanes)), lanes);
  });
}

template <class S>
void swiglu_backward_on(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                        int64_t count) {
  const typename S::V one = S::set1(1.0f);
  for_each_vector<S>(count, [&](int64_t i, int lanes) {
    const typename S::V g = load_lanes<S>(gate + i, lanes), u = load_lanes<S>(up + i, lanes);
    const typename S::V d = load_lanes<S>(dout + i, lanes);
    const typename S::V sig = sigmoid<S>(g);
    // d silu / dg = sig * (1 + g * (1 - sig))
    const typename S::V dsilu = S::mul(sig, S::fmadd(g, S::sub(one, sig), one));
    store_lanes<S>(dgate + i, S::mul(S::mul(d, u), dsilu), lanes);
    store_lanes<S>(dup + i, S::mul(d, S::mul(g, sig)), lanes);
  });
}

}  // namespace
}  // namespace tt
