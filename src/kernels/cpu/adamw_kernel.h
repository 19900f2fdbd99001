// The fused AdamW pass (adamw.h) written once over a vector type S (vec_avx2.h, vec_avx512.h),
// included by adamw_avx2.cpp and adamw_avx512.cpp.
#pragma once
#include <cstdint>

#include "kernels/cpu/adamw.h"
#include "kernels/cpu/vec_lanes.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

// The elements [begin, begin + count) of the buffers, all with the factor decay.
template <class S>
void adamw_update_run(const AdamWBuffers& b, int64_t begin, int64_t count, float decay, const AdamWScalars& k) {
  using V = typename S::V;
  const V grad_scale = S::set1(k.grad_scale), decay_v = S::set1(decay);
  const V beta1 = S::set1(k.beta1), beta2 = S::set1(k.beta2);
  const V one_minus_beta1 = S::set1(1.0f - k.beta1), one_minus_beta2 = S::set1(1.0f - k.beta2);
  const V step_size = S::set1(k.step_size), bias2_sqrt = S::set1(k.bias2_sqrt), eps = S::set1(k.eps);
  const int64_t end = begin + count;
  for (int64_t i = begin; i < end; i += S::kLanes) {
    const int lanes = end - i < S::kLanes ? static_cast<int>(end - i) : S::kLanes;
    const V g = S::mul(load_lanes<S>(b.grads + i, lanes), grad_scale);
    // m = b1 m + (1 - b1) g ; v = b2 v + ((1 - b2) g) g  (adamw_step's multiply-adds)
    const V m = S::fmadd(load_lanes<S>(b.m + i, lanes), beta1, S::mul(g, one_minus_beta1));
    const V v = S::fmadd(load_lanes<S>(b.v + i, lanes), beta2, S::mul(S::mul(g, one_minus_beta2), g));
    const V denom = S::add(S::div(S::sqrt(v), bias2_sqrt), eps);
    const V p = S::sub(S::mul(load_lanes<S>(b.params + i, lanes), decay_v), S::div(S::mul(step_size, m), denom));
    store_lanes<S>(b.m + i, m, lanes);
    store_lanes<S>(b.v + i, v, lanes);
    store_lanes<S>(b.params + i, p, lanes);
    store_lanes<S>(b.grads + i, S::zero(), lanes);
    if (b.bf16_copy) store_lanes<S>(b.bf16_copy + i, S::round_bf16(p), lanes);
  }
}

}  // namespace
}  // namespace tt
