#include "kernels/cpu/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/parallel_for.h"
#include "core/bf16.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/op_profile.h"
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

namespace tt {

namespace {

constexpr int64_t kChunkRows = 128;

using RowResult = isa_paths::LogitRow;

// Turns one row of logits into its log-prob of the target and, if want_grad, into the gradient of
// token_weight * (-logp) with respect to the logits: (softmax - onehot) * token_weight
// (logit_row_kernel.h; the same bits on every path).
RowResult process_row(float* row, int64_t vocab, int32_t target, bool want_grad, float token_weight, bool dft) {
  if (active_isa() >= Isa::AVX512)
    return isa_paths::process_logit_row_avx512(row, vocab, target, want_grad, token_weight, dft);
  return isa_paths::process_logit_row_avx2(row, vocab, target, want_grad, token_weight, dft);
}

// log sum_v softmax(row)_v^2 = log sum exp(2 (z - max)) - 2 log sum exp(z - max), before the row
// is overwritten.
float log_sum_of_squared_probs(const float* row, int64_t vocab) {
  const float peak = *std::max_element(row, row + vocab);
  double once = 0, twice = 0;
  for (int64_t v = 0; v < vocab; ++v) {
    const double e = std::exp(static_cast<double>(row[v]) - peak);
    once += e;
    twice += e * e;
  }
  return static_cast<float>(std::log(twice) - 2 * std::log(once));
}

}  // namespace

ClassifierStats classifier_forward_backward(const float* hidden, const float* weight, const int32_t* targets,
                                            int64_t n, int64_t vocab, int64_t dim, const ClassifierGrad* grad,
                                            float* token_logprobs, Precision precision, bool weight_is_bf16,
                                            float* token_log_sum_sq) {
  OpScope scope("classifier + loss");
  std::vector<int64_t> rows;  // rows with a target
  rows.reserve(n);
  for (int64_t t = 0; t < n; ++t) {
    if (targets[t] >= vocab) fail("target token id {} out of range (vocab size {})", targets[t], vocab);
    if (targets[t] >= 0) rows.push_back(t);
  }
  if (token_logprobs) std::fill(token_logprobs, token_logprobs + n, 0.0f);
  if (token_log_sum_sq) std::fill(token_log_sum_sq, token_log_sum_sq + n, 0.0f);
  if (grad) std::fill(grad->d_hidden, grad->d_hidden + n * dim, 0.0f);

  const int64_t chunk = std::min<int64_t>(kChunkRows, std::max<int64_t>(1, rows.size()));
  // Reused across calls: a chunk's logits are 65 MB at a 128k vocabulary, and a fresh zeroed vector
  // each call cost its page faults and memset in every training step.
  thread_local std::vector<float> logits_buffer;
  float* logits = grown(logits_buffer, chunk * vocab);
  std::vector<float> h(chunk * dim), dh(grad ? chunk * dim : 0);
  // Native bf16: the weight is converted to bf16 once for every chunk's two products with it, and
  // a chunk's logit gradients once (while each row is in the cache) for its two products.
  const bool bf16_bits = precision == Precision::BF16 && native_bf16_available();
  thread_local std::vector<uint16_t> weight_bits, h_bits, dlogit_bits;
  if (bf16_bits) to_bf16(weight, grown(weight_bits, vocab * dim), vocab * dim);
  ClassifierStats stats;
  stats.scored = static_cast<int64_t>(rows.size());
  std::vector<RowResult> results(chunk);
  for (size_t c0 = 0; c0 < rows.size(); c0 += chunk) {
    const int64_t m = std::min<int64_t>(chunk, rows.size() - c0);
    for (int64_t r = 0; r < m; ++r) std::memcpy(&h[r * dim], hidden + rows[c0 + r] * dim, sizeof(float) * dim);
    if (bf16_bits) {
      to_bf16(h.data(), grown(h_bits, m * dim), m * dim);
      matmul_bf16_bits(h_bits.data(), weight_bits.data(), logits, m, vocab, dim, {.trans_b = true});
    } else {
      matmul(h.data(), weight, logits, m, vocab, dim,
             {.trans_b = true, .precision = precision, .b_is_bf16 = weight_is_bf16});
    }
    uint16_t* dlogits16 = bf16_bits && grad ? grown(dlogit_bits, m * vocab) : nullptr;
    parallel_for(m, m * vocab > kMinParallelWork, [&](int64_t r) {
      int64_t t = rows[c0 + r];
      float w = grad ? grad->token_weights[t] : 1.0f;
      if (token_log_sum_sq) token_log_sum_sq[t] = log_sum_of_squared_probs(&logits[r * vocab], vocab);
      results[r] = process_row(&logits[r * vocab], vocab, targets[t], grad != nullptr, w,
                               grad && grad->loss == TokenLoss::DFT);
      if (dlogits16)
        for (int64_t v = 0; v < vocab; ++v) dlogits16[r * vocab + v] = f32_to_bf16(logits[r * vocab + v]);
    });
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
    if (dlogits16)
      matmul_bf16_bits(dlogits16, weight_bits.data(), dh.data(), m, dim, vocab, {});
    else
      matmul(logits, weight, dh.data(), m, dim, vocab, {.precision = precision, .b_is_bf16 = weight_is_bf16});
    for (int64_t r = 0; r < m; ++r) std::memcpy(grad->d_hidden + rows[c0 + r] * dim, &dh[r * dim], sizeof(float) * dim);
    if (dlogits16)
      matmul_bf16_bits(dlogits16, h_bits.data(), grad->d_weight, vocab, dim, m, {.trans_a = true, .accumulate = true});
    else
      matmul(logits, h.data(), grad->d_weight, vocab, dim, m, {.trans_a = true, .accumulate = true, .precision = precision});
  }
  return stats;
}

}  // namespace tt
