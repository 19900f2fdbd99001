// Forward and backward passes of the decoder (Llama / Llama4-text dense) over a batch of rows.
// The forward runs the family's layer recipe (model/recipe.h) in the training context (here); the
// engine runs the same recipe over its paged cache (infer/forward.cpp).
//
// Per layer (C = hidden, D = head_dim, F = FFN width):
//   h = rmsnorm(x) * w_in ; q,k,v = h Wq^T, h Wk^T, h Wv^T ; rope(q,k) ; [qk l2norm] ;
//   a = causal GQA attention ; x += a Wo^T ; h = rmsnorm(x) * w_post ; x += Wdown(silu(h Wg^T) * (h Wu^T))
// then rmsnorm and the (tied) classifier, which is fused with the loss (kernels/cpu/classifier.h).
// The workspace keeps what the backward pass needs: per-layer inputs, q/k/v, attention outputs and
// row log-sum-exps, FFN gate/up — never T x T probabilities, never tokens x vocab logits.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/classifier.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rope.h"
#include "model/checkpoint.h"

namespace tt {

// Token rows of equal length. positions and doc_start are optional (empty = 0..T-1 and plain causal):
// packed rows restart positions at each document and attend only within it.
struct Batch {
  int64_t rows = 0, seq = 0;
  std::vector<int32_t> tokens;     // [rows*seq]
  std::vector<int32_t> targets;    // [rows*seq], token to predict at each position, -100 = ignore
  std::vector<int32_t> positions;  // [rows*seq] or empty
  std::vector<int32_t> doc_start;  // [rows*seq] or empty
  // A packed batch: its documents' tokens without padding, the length of the one row TRL's padding-free
  // collator makes of the micro-batch; 0 for a padded batch (whose row length is seq).
  int64_t padding_free_length = 0;
  int64_t size() const { return rows * seq; }
};

// NEFTune's L in alpha / sqrt(L * d), as transformers' hook reads it off the embedding output: the
// padded row length, or for a packed batch the padding-free row's.
inline int64_t neftune_length(const Batch& batch) {
  return batch.padding_free_length > 0 ? batch.padding_free_length : batch.seq;
}

// Checks ids against the vocabulary and the length against the config; errors name the row and column.
void validate_batch(const ModelConfig& config, const Batch& batch);

struct LayerActivations {
  std::vector<float> x;            // [N, C] layer input (residual stream)
  std::vector<float> rstd_attn;    // [N]
  std::vector<float> q, k, v;      // [N, H*D], [N, KVH*D] after RoPE (and QK-norm)
  std::vector<float> q_rstd, k_rstd;  // [N*H], [N*KVH] (QK-norm only)
  std::vector<float> attn;         // [N, H*D] attention output
  std::vector<float> lse;          // [B, H, T]
  std::vector<float> x_mid;        // [N, C] after the attention residual
  std::vector<float> rstd_ffn;     // [N]
  std::vector<float> gate, up;     // [N, F]
};

// Everything a forward/backward pass of one batch shape needs; reused across steps.
struct Workspace {
  int64_t rows = 0, seq = 0;
  std::vector<LayerActivations> layers;
  std::vector<float> x_final, rstd_final, hidden;  // [N, C], [N], [N, C] (normed, classifier input)
  // scratch
  std::vector<float> h, act, d_x, d_h, d_q, d_k, d_v, d_attn, d_gate, d_up, d_hidden;
  std::vector<int32_t> positions, doc_start;
  RopeTable rope;
  void prepare(const ModelConfig& config, int64_t rows, int64_t seq, bool for_backward);
};

struct ForwardOptions {
  Precision precision = Precision::FP32;
  bool for_backward = true;
  // NEFTune: uniform noise in [-a, a] with a = alpha / sqrt(L * C) added to the input embeddings,
  // L = neftune_length(batch).
  float neftune_alpha = 0.0f;
  uint64_t neftune_seed = 0;
};

// Matmul weights: `weights` (fp32 master) for everything, `matmul_weights` for the products — the
// same buffer in fp32 mode, a bf16-rounded copy in bf16 mode (so weights are rounded once per step).
struct WeightSet {
  ModelViews weights;
  ModelViews matmul_weights;
  bool matmul_weights_are_bf16 = false;
};

// Runs the decoder; leaves the classifier input in ws.hidden.
void model_forward(const ModelConfig& config, const WeightSet& w, const Batch& batch, Workspace& ws,
                   const ForwardOptions& options);

// Backpropagates d_hidden (in ws.d_hidden) to every parameter; grads are accumulated into `grads`.
void model_backward(const ModelConfig& config, const WeightSet& w, ModelViews& grads, const Batch& batch,
                    Workspace& ws, Precision precision);

struct LossResult {
  double loss_sum = 0.0;   // sum of weighted per-token losses
  int64_t tokens = 0;      // tokens with a target
  int64_t correct = 0;     // argmax == target
};

// Forward + fused classifier/loss (+ backward when grads != nullptr). token_weights [N] weight each
// token's -logp (e.g. 1/num_tokens of the effective batch); nullptr = 1. token_logprobs (optional, [N]).
LossResult model_loss(const ModelConfig& config, const WeightSet& w, const Batch& batch, Workspace& ws,
                      const ForwardOptions& options, const float* token_weights, TokenLoss loss_kind,
                      ModelViews* grads, float* token_logprobs = nullptr);

// The bf16-rounded copy of a parameter buffer used in bf16 mode.
void refresh_bf16_copy(const std::vector<float>& params, std::vector<float>& copy);

// WeightSet for a model in the given precision; `bf16_copy` backs the matmul weights in bf16 mode.
WeightSet make_weight_set(Model& model, Precision precision, std::vector<float>& bf16_copy);

}  // namespace tt
