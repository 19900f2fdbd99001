#include "kernels/cpu/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "core/op_profile.h"

namespace tt {

namespace {

constexpr int64_t kChunkRows = 128;

struct RowResult {
  float logprob;
  bool correct;
};

// Turns one row of logits into its log-prob of the target and, if weight_scale != 0, into the
// gradient of weight_scale * (-logp) with respect to the logits: (softmax - onehot) * weight_scale.
RowResult process_row(float* row, int64_t vocab, int32_t target, bool want_grad, float token_weight, bool dft) {
  float mx = -std::numeric_limits<float>::infinity();
  int64_t arg = 0;
  for (int64_t j = 0; j < vocab; ++j)
    if (row[j] > mx) {
      mx = row[j];
      arg = j;
    }
  const float target_logit = row[target];
  // sum exp(row - mx), keeping the row intact when no gradient is needed
  __m256 vmx = _mm256_set1_ps(mx), acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= vocab; j += 8)
    acc = _mm256_add_ps(acc, simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(row + j), vmx)));
  float sum = simd::horizontal_sum(acc);
  for (; j < vocab; ++j) sum += simd::exp_scalar(row[j] - mx);
  const float lse = mx + std::log(sum);
  const float logprob = target_logit - lse;
  if (want_grad) {
    float w = dft ? token_weight * std::exp(logprob) : token_weight;
    __m256 vlse = _mm256_set1_ps(lse), vw = _mm256_set1_ps(w);
    j = 0;
    for (; j + 8 <= vocab; j += 8) {
      __m256 p = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(row + j), vlse));
      _mm256_storeu_ps(row + j, _mm256_mul_ps(p, vw));
    }
    for (; j < vocab; ++j) row[j] = simd::exp_scalar(row[j] - lse) * w;
    row[target] -= w;
  }
  return {logprob, arg == target};
}

}  // namespace

ClassifierStats classifier_forward_backward(const float* hidden, const float* weight, const int32_t* targets,
                                            int64_t n, int64_t vocab, int64_t dim, const ClassifierGrad* grad,
                                            float* token_logprobs, Precision precision, bool weight_is_bf16) {
  OpScope scope("classifier + loss");
  std::vector<int64_t> rows;  // rows with a target
  rows.reserve(n);
  for (int64_t t = 0; t < n; ++t) {
    if (targets[t] >= vocab) fail("target token id {} out of range (vocab size {})", targets[t], vocab);
    if (targets[t] >= 0) rows.push_back(t);
  }
  if (token_logprobs) std::fill(token_logprobs, token_logprobs + n, 0.0f);
  if (grad) std::fill(grad->d_hidden, grad->d_hidden + n * dim, 0.0f);

  const int64_t chunk = std::min<int64_t>(kChunkRows, std::max<int64_t>(1, rows.size()));
  std::vector<float> h(chunk * dim), logits(chunk * vocab), dh(grad ? chunk * dim : 0);
  ClassifierStats stats;
  stats.scored = static_cast<int64_t>(rows.size());
  std::vector<RowResult> results(chunk);
  for (size_t c0 = 0; c0 < rows.size(); c0 += chunk) {
    const int64_t m = std::min<int64_t>(chunk, rows.size() - c0);
    for (int64_t r = 0; r < m; ++r) std::memcpy(&h[r * dim], hidden + rows[c0 + r] * dim, sizeof(float) * dim);
    MatmulOptions forward{.trans_b = true, .precision = precision, .b_is_bf16 = weight_is_bf16};
    matmul(h.data(), weight, logits.data(), m, vocab, dim, forward);
#pragma omp parallel for schedule(static) if (m * vocab > kMinParallelWork)
    for (int64_t r = 0; r < m; ++r) {
      int64_t t = rows[c0 + r];
      float w = grad ? grad->token_weights[t] : 1.0f;
      results[r] = process_row(&logits[r * vocab], vocab, targets[t], grad != nullptr, w,
                               grad && grad->loss == TokenLoss::DFT);
    }
    for (int64_t r = 0; r < m; ++r) {
      int64_t t = rows[c0 + r];
      float w = grad ? grad->token_weights[t] : 1.0f;
      if (grad && grad->loss == TokenLoss::DFT) w *= std::exp(results[r].logprob);
      stats.weighted_loss += static_cast<double>(w) * -results[r].logprob;
      stats.correct += results[r].correct;
      if (token_logprobs) token_logprobs[t] = results[r].logprob;
    }
    if (!grad) continue;
    // d_hidden = dlogits · W ; dW += dlogits^T · h
    matmul(logits.data(), weight, dh.data(), m, dim, vocab, {.precision = precision, .b_is_bf16 = weight_is_bf16});
    for (int64_t r = 0; r < m; ++r) std::memcpy(grad->d_hidden + rows[c0 + r] * dim, &dh[r * dim], sizeof(float) * dim);
    matmul(logits.data(), h.data(), grad->d_weight, vocab, dim, m,
           {.trans_a = true, .accumulate = true, .precision = precision});
  }
  return stats;
}

}  // namespace tt
