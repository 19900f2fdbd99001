// One row of logits -> the log-prob of its target and, when asked, the gradient of the weighted NLL
// in place of the logits; written once over a vector type S (vec_avx2.h, vec_avx512.h), included by
// logit_row_avx2.cpp and logit_row_avx512.cpp. Every path gives the bits of the AVX2 code this
// replaces: e^x is lane-wise the same on every path, the sum of exponentials keeps 8 running lane
// sums added block by block in row order (a 16-float vector is added as its two 8-float halves, low
// first), then the same horizontal sum and scalar tail.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/simd.h"

namespace tt {
namespace {  // NOLINT: per-ISA copies (see vec_avx2.h)

struct RowMax {
  float value;
  int64_t index;
};

// The row's largest value and its first index, as the scalar scan `if (row[j] > mx) mx = row[j],
// arg = j` from mx = -inf, arg = 0 finds them (NaNs skipped).
template <class S>
RowMax row_max(const float* row, int64_t vocab) {
  typename S::V vmax = S::set1(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + S::kLanes <= vocab; j += S::kLanes) vmax = S::max(S::load(row + j), vmax);  // a NaN loses
  float mx = S::horizontal_max(vmax);
  for (; j < vocab; ++j)
    if (row[j] > mx) mx = row[j];
  if (!(mx > -std::numeric_limits<float>::infinity())) return {mx, 0};
  for (j = 0; j < vocab; ++j)
    if (row[j] == mx) break;
  return {row[j], j};  // the first of equal values (+0 or -0) as the scan keeps it
}

template <class S>
isa_paths::LogitRow process_logit_row(float* row, int64_t vocab, int32_t target, bool want_grad, float token_weight,
                                      bool dft) {
  const auto [mx, arg] = row_max<S>(row, vocab);
  const float target_logit = row[target];
  // sum exp(row - mx), keeping the row intact when no gradient is needed
  const typename S::V vmx = S::set1(mx);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + S::kLanes <= vocab; j += S::kLanes)
    acc = S::add_as_8_lane_blocks(acc, S::exp(S::sub(S::load(row + j), vmx)));
  for (; j + 8 <= vocab; j += 8)
    acc = _mm256_add_ps(acc, simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(row + j), _mm256_set1_ps(mx))));
  float sum = simd::horizontal_sum(acc);
  for (; j < vocab; ++j) sum += simd::exp_scalar(row[j] - mx);
  const float lse = mx + std::log(sum);
  const float logprob = target_logit - lse;
  if (want_grad) {
    const float w = dft ? token_weight * std::exp(logprob) : token_weight;
    const typename S::V vlse = S::set1(lse), vw = S::set1(w);
    j = 0;
    for (; j + S::kLanes <= vocab; j += S::kLanes)
      S::store(row + j, S::mul(S::exp(S::sub(S::load(row + j), vlse)), vw));
    for (; j + 8 <= vocab; j += 8) {
      const __m256 p = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(row + j), _mm256_set1_ps(lse)));
      _mm256_storeu_ps(row + j, _mm256_mul_ps(p, _mm256_set1_ps(w)));
    }
    for (; j < vocab; ++j) row[j] = simd::exp_scalar(row[j] - lse) * w;
    row[target] -= w;
  }
  return {logprob, arg == target};
}

}  // namespace
}  // namespace tt
