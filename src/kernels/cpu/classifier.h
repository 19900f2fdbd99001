// The tied (or untied) classifier fused with cross-entropy, chunked over tokens, so tokens x vocab
// logits never exist beyond one chunk (as Liger's fused-linear-cross-entropy and llm.c do).
//
// For each row t with targets[t] >= 0:  logits = hidden[t] · weight^T,  logp_t = log softmax(logits)[target].
// Rows with targets[t] < 0 (the ignore index) cost nothing and get zero gradient.
// With a gradient request, the loss is  sum_t w_t * (-logp_t)  where w_t = token_weights[t], and for
// the DFT loss  w_t = token_weights[t] * sg(p_t)  (p_t = exp(logp_t), not differentiated).
#pragma once
#include <cstdint>

#include "kernels/cpu/matmul.h"

namespace tt {

enum class TokenLoss { NLL, DFT };

struct ClassifierGrad {
  const float* token_weights = nullptr;  // [N]
  TokenLoss loss = TokenLoss::NLL;
  float* d_hidden = nullptr;  // [N, C], overwritten (zero on ignored rows)
  float* d_weight = nullptr;  // [V, C], accumulated
};

struct ClassifierStats {
  double weighted_loss = 0.0;  // sum_t w_t * (-logp_t) (w_t = 1 when no gradient is requested)
  int64_t scored = 0;          // rows with a target
  int64_t correct = 0;         // rows whose argmax equals the target
};

// hidden: [N, C]; weight: [V, C]; targets: [N]. token_logprobs (optional, [N]) receives logp_t
// (0 on ignored rows). grad == nullptr: forward only. weight_is_bf16: in BF16 mode, the weight
// buffer already holds bf16-rounded values. token_log_sum_sq (optional, [N]) receives
// log sum_v p_v^2 of each scored row (0 on ignored rows; WPO's weights, train/dpo.cpp).
ClassifierStats classifier_forward_backward(const float* hidden, const float* weight, const int32_t* targets,
                                            int64_t n, int64_t vocab, int64_t dim, const ClassifierGrad* grad,
                                            float* token_logprobs, Precision precision, bool weight_is_bf16 = false,
                                            float* token_log_sum_sq = nullptr);

}  // namespace tt
