#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/op_profile.h"
#include "core/rng.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/swiglu.h"
#include "model/recipe.h"

namespace tt {

void validate_batch(const ModelConfig& config, const Batch& batch) {
  const int64_t n = batch.size();
  if (static_cast<int64_t>(batch.tokens.size()) != n || static_cast<int64_t>(batch.targets.size()) != n)
    fail("batch: tokens/targets size does not match {} rows x {} positions", batch.rows, batch.seq);
  if (!batch.positions.empty() && static_cast<int64_t>(batch.positions.size()) != n)
    fail("batch: positions size does not match the tokens");
  if (!batch.doc_start.empty() && static_cast<int64_t>(batch.doc_start.size()) != n)
    fail("batch: doc_start size does not match the tokens");
  // Chunked attention only changes anything once a position reaches the chunk size.
  int64_t max_position = batch.seq - 1;
  if (!batch.positions.empty()) max_position = *std::max_element(batch.positions.begin(), batch.positions.end());
  if (config.attention_chunk_size > 0 && max_position >= config.attention_chunk_size)
    fail("attention_chunk_size: position {} reaches the attention chunk of {} (chunked attention is not implemented)",
         max_position, config.attention_chunk_size);
  for (int64_t i = 0; i < n; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= config.vocab_size)
      fail("token id {} at row {} position {} is out of range (vocab size {})", batch.tokens[i], i / batch.seq,
           i % batch.seq, config.vocab_size);
    if (batch.targets[i] >= config.vocab_size)
      fail("target id {} at row {} position {} is out of range (vocab size {})", batch.targets[i], i / batch.seq,
           i % batch.seq, config.vocab_size);
    if (!batch.doc_start.empty() && (batch.doc_start[i] < 0 || batch.doc_start[i] > i % batch.seq))
      fail("batch: doc_start {} at position {} is not an earlier position", batch.doc_start[i], i % batch.seq);
  }
}

void Workspace::prepare(const ModelConfig& c, int64_t new_rows, int64_t new_seq, bool for_backward) {
  const int64_t N = new_rows * new_seq, C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const bool same_shape = rows == new_rows && seq == new_seq;
  rows = new_rows;
  seq = new_seq;
  // the backward buffers of this shape: a forward-only call of another shape leaves them the old size
  const bool have_backward_buffers = static_cast<int64_t>(d_x.size()) == N * C;
  if (same_shape && static_cast<int64_t>(layers.size()) == c.num_hidden_layers && (!for_backward || have_backward_buffers))
    return;
  layers.resize(c.num_hidden_layers);
  for (auto& L : layers) {
    L.x.resize(N * C);
    L.rstd_attn.resize(N);
    L.q.resize(N * H * D);
    L.k.resize(N * KVH * D);
    L.v.resize(N * KVH * D);
    L.q_rstd.resize(c.use_qk_norm ? N * H : 0);
    L.k_rstd.resize(c.use_qk_norm ? N * KVH : 0);
    L.attn.resize(N * H * D);
    L.lse.resize(N * H);
    L.x_mid.resize(N * C);
    L.rstd_ffn.resize(N);
    L.gate.resize(N * F);
    L.up.resize(N * F);
  }
  x_final.resize(N * C);
  rstd_final.resize(N);
  hidden.resize(N * C);
  h.resize(N * C);
  act.resize(N * F);
  positions.resize(N);
  doc_start.resize(N);
  if (for_backward) {
    d_x.resize(N * C);
    d_h.resize(N * C);
    d_q.resize(N * H * D);
    d_k.resize(N * KVH * D);
    d_v.resize(N * KVH * D);
    d_attn.resize(N * H * D);
    d_gate.resize(N * F);
    d_up.resize(N * F);
    d_hidden.resize(N * C);
  }
}

namespace {

// y = x W^T for a Linear weight W [out, in]; accumulate adds to y.
void linear(const float* x, const float* w, float* y, int64_t n, int64_t out, int64_t in, const WeightSet& ws,
            Precision precision, bool accumulate = false) {
  matmul(x, w, y, n, out, in,
         {.trans_b = true, .accumulate = accumulate, .precision = precision, .b_is_bf16 = ws.matmul_weights_are_bf16});
}

// dx (+)= dy W for W [out, in] ; dW += dy^T x.
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t n, int64_t out,
                     int64_t in, const WeightSet& ws, Precision precision, bool accumulate_dx) {
  matmul(dy, w, dx, n, in, out,
         {.accumulate = accumulate_dx, .precision = precision, .b_is_bf16 = ws.matmul_weights_are_bf16});
  matmul(dy, x, dw, out, in, n, {.trans_a = true, .accumulate = true, .precision = precision});
}

// The training context of a layer recipe: full rows through oneDNN matmuls and flash attention,
// keeping in ws.layers[l] what model_backward needs. The residual stream is the layer input x, then
// x_mid after the first residual add, then the next layer's input (or x_final) after the second.
class TrainingLayer final : public LayerOps {
 public:
  TrainingLayer(const ModelConfig& c, const WeightSet& w, const Batch& batch, Workspace& ws, int64_t l,
                Precision precision)
      : c_(c), w_(w), ws_(ws), A_(ws.layers[l]), W_(w.weights.layers[l]), M_(w.matmul_weights.layers[l]),
        precision_(precision), N_(batch.size()),
        doc_start_(batch.doc_start.empty() ? nullptr : batch.doc_start.data()),
        shape_{batch.rows, batch.seq, c.num_attention_heads, c.num_key_value_heads, c.head_dim},
        next_(l + 1 < c.num_hidden_layers ? ws.layers[l + 1].x.data() : ws.x_final.data()) {}

  void norm(Norm weight) override {
    const bool attn = weight == Norm::Attention;
    rmsnorm_forward(ws_.h.data(), (attn ? A_.rstd_attn : A_.rstd_ffn).data(), residual(), attn ? W_.attn_norm : W_.ffn_norm,
                    N_, c_.hidden_size, eps());
  }
  void project(Proj weight, Act in, Act out) override {
    linear(buffer(in), matmul_weight(weight), buffer(out), N_, width(out), width(in), w_, precision_);
  }
  void add_to_residual(Proj weight, Act in) override {
    if (residual_adds_ > 1) fail("the training context keeps two residual adds per layer");
    float* sum = residual_adds_ == 0 ? A_.x_mid.data() : next_;
    std::memcpy(sum, residual(), sizeof(float) * N_ * c_.hidden_size);
    ++residual_adds_;
    linear(buffer(in), matmul_weight(weight), sum, N_, c_.hidden_size, width(in), w_, precision_, true);
  }
  void rope(Act q_or_k) override { rope_forward(buffer(q_or_k), ws_.positions.data(), N_, heads(q_or_k), ws_.rope); }
  void head_norm(Act q_or_k) override {
    float* x = buffer(q_or_k);
    rmsnorm_forward(x, (q_or_k == Act::Q ? A_.q_rstd : A_.k_rstd).data(), x, nullptr, N_ * heads(q_or_k), c_.head_dim,
                    eps());
  }
  void attention() override {
    attention_forward(A_.attn.data(), A_.lse.data(), A_.q.data(), A_.k.data(), A_.v.data(), doc_start_, shape_);
  }
  void swiglu() override {
    swiglu_forward(ws_.act.data(), A_.gate.data(), A_.up.data(), N_ * c_.intermediate_size);
  }

 private:
  float eps() const { return static_cast<float>(c_.rms_norm_eps); }
  const float* residual() const {
    return residual_adds_ == 0 ? A_.x.data() : residual_adds_ == 1 ? A_.x_mid.data() : next_;
  }
  int64_t heads(Act q_or_k) const { return q_or_k == Act::Q ? c_.num_attention_heads : c_.num_key_value_heads; }
  int64_t width(Act a) const { return activation_width(c_, a); }
  float* buffer(Act a) {
    switch (a) {
      case Act::Normed: return ws_.h.data();
      case Act::Q: return A_.q.data();
      case Act::K: return A_.k.data();
      case Act::V: return A_.v.data();
      case Act::Attention: return A_.attn.data();
      case Act::Gate: return A_.gate.data();
      case Act::Up: return A_.up.data();
      case Act::SwiGlu: return ws_.act.data();
    }
    return nullptr;
  }
  const float* matmul_weight(Proj p) const { return linear_weight(M_, p); }

  const ModelConfig& c_;
  const WeightSet& w_;
  Workspace& ws_;
  LayerActivations& A_;
  const LayerViews& W_;
  const LayerViews& M_;
  Precision precision_;
  int64_t N_;
  const int32_t* doc_start_;
  AttentionShape shape_;
  float* next_;
  int residual_adds_ = 0;
};

}  // namespace

void model_forward(const ModelConfig& c, const WeightSet& w, const Batch& batch, Workspace& ws,
                   const ForwardOptions& options) {
  validate_batch(c, batch);
  ws.prepare(c, batch.rows, batch.seq, options.for_backward);
  const int64_t N = batch.size(), C = c.hidden_size, D = c.head_dim;
  for (int64_t i = 0; i < N; ++i) ws.positions[i] = batch.positions.empty() ? static_cast<int32_t>(i % batch.seq) : batch.positions[i];
  const int64_t max_position = *std::max_element(ws.positions.begin(), ws.positions.end());
  if (max_position < 0) fail("batch: negative position id");
  if (ws.rope.max_positions <= max_position || ws.rope.head_dim != D)  // grow the table on demand
    ws.rope = make_rope_table(rope_params(c), std::max<int64_t>(max_position + 1, 2 * ws.rope.max_positions));

  // embeddings (+ NEFTune noise, training only)
  float* x0 = ws.layers[0].x.data();
  for (int64_t i = 0; i < N; ++i) std::memcpy(x0 + i * C, w.weights.embed + batch.tokens[i] * C, sizeof(float) * C);
  if (options.neftune_alpha > 0.0f) {
    Rng rng(options.neftune_seed);
    const double bound = options.neftune_alpha / std::sqrt(static_cast<double>(neftune_length(batch)) * C);
    for (int64_t i = 0; i < N * C; ++i) x0[i] += static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }

  const LayerRecipe recipe = layer_recipe(c.family);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    TrainingLayer layer(c, w, batch, ws, l, options.precision);
    recipe(layer, c);
  }
  const float eps = static_cast<float>(c.rms_norm_eps);
  rmsnorm_forward(ws.hidden.data(), ws.rstd_final.data(), ws.x_final.data(), w.weights.final_norm, N, C, eps);
}

// The reverse of the layer recipe both families share (self_attention_block + swiglu_ffn_block, QK norm
// when use_qk_norm), written out by hand: a family whose recipe uses other ops needs its backward here.
void model_backward(const ModelConfig& c, const WeightSet& w, ModelViews& g, const Batch& batch, Workspace& ws,
                    Precision prec) {
  const int64_t N = batch.size(), C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const int32_t* doc_start = batch.doc_start.empty() ? nullptr : batch.doc_start.data();
  const AttentionShape shape{batch.rows, batch.seq, H, KVH, D};
  float* dx = ws.d_x.data();  // gradient of the residual stream
  rmsnorm_backward(dx, g.final_norm, ws.d_hidden.data(), ws.x_final.data(), w.weights.final_norm,
                   ws.rstd_final.data(), N, C);
  for (int64_t l = c.num_hidden_layers - 1; l >= 0; --l) {
    LayerActivations& A = ws.layers[l];
    const LayerViews& W = w.weights.layers[l];
    const LayerViews& M = w.matmul_weights.layers[l];
    LayerViews& G = g.layers[l];
    float* h = ws.h.data();
    // FFN: recompute its input and activation rather than storing them
    rmsnorm_forward_from_rstd(h, A.x_mid.data(), W.ffn_norm, A.rstd_ffn.data(), N, C);
    swiglu_forward(ws.act.data(), A.gate.data(), A.up.data(), N * F);
    float* d_act = ws.d_gate.data();  // reused: d_act is consumed by swiglu_backward below
    linear_backward(dx, ws.act.data(), M.w_down, d_act, G.w_down, N, C, F, w, prec, false);
    swiglu_backward(ws.d_gate.data(), ws.d_up.data(), d_act, A.gate.data(), A.up.data(), N * F);
    linear_backward(ws.d_gate.data(), h, M.w_gate, ws.d_h.data(), G.w_gate, N, F, C, w, prec, false);
    linear_backward(ws.d_up.data(), h, M.w_up, ws.d_h.data(), G.w_up, N, F, C, w, prec, true);
    rmsnorm_backward_add(dx, G.ffn_norm, ws.d_h.data(), A.x_mid.data(), W.ffn_norm, A.rstd_ffn.data(), N, C);
    // attention
    linear_backward(dx, A.attn.data(), M.wo, ws.d_attn.data(), G.wo, N, C, H * D, w, prec, false);
    attention_backward(ws.d_q.data(), ws.d_k.data(), ws.d_v.data(), ws.d_attn.data(), A.attn.data(), A.lse.data(),
                       A.q.data(), A.k.data(), A.v.data(), doc_start, shape);
    if (c.use_qk_norm) {
      l2norm_backward_from_output(ws.d_q.data(), ws.d_q.data(), A.q.data(), A.q_rstd.data(), N * H, D);
      l2norm_backward_from_output(ws.d_k.data(), ws.d_k.data(), A.k.data(), A.k_rstd.data(), N * KVH, D);
    }
    rope_backward(ws.d_q.data(), ws.positions.data(), N, H, ws.rope);
    rope_backward(ws.d_k.data(), ws.positions.data(), N, KVH, ws.rope);
    rmsnorm_forward_from_rstd(h, A.x.data(), W.attn_norm, A.rstd_attn.data(), N, C);
    linear_backward(ws.d_q.data(), h, M.wq, ws.d_h.data(), G.wq, N, H * D, C, w, prec, false);
    linear_backward(ws.d_k.data(), h, M.wk, ws.d_h.data(), G.wk, N, KVH * D, C, w, prec, true);
    linear_backward(ws.d_v.data(), h, M.wv, ws.d_h.data(), G.wv, N, KVH * D, C, w, prec, true);
    rmsnorm_backward_add(dx, G.attn_norm, ws.d_h.data(), A.x.data(), W.attn_norm, A.rstd_attn.data(), N, C);
  }
  // embedding rows: scatter-add (serial: rows of one token id may repeat)
  OpScope scope("embedding grad");
  for (int64_t i = 0; i < N; ++i) {
    float* row = g.embed + static_cast<int64_t>(batch.tokens[i]) * C;
    const float* src = dx + i * C;
    for (int64_t j = 0; j < C; ++j) row[j] += src[j];
  }
}

LossResult model_loss(const ModelConfig& c, const WeightSet& w, const Batch& batch, Workspace& ws,
                      const ForwardOptions& options, const float* token_weights, TokenLoss loss_kind,
                      ModelViews* grads, float* token_logprobs) {
  ForwardOptions forward = options;
  forward.for_backward = grads != nullptr;
  model_forward(c, w, batch, ws, forward);
  const int64_t N = batch.size();
  std::vector<float> ones;
  if (!token_weights) {
    ones.assign(N, 1.0f);
    token_weights = ones.data();
  }
  ClassifierGrad grad{token_weights, loss_kind, ws.d_hidden.data(), grads ? grads->lm_head : nullptr};
  ClassifierStats stats = classifier_forward_backward(ws.hidden.data(), w.matmul_weights.lm_head, batch.targets.data(),
                                                      N, c.vocab_size, c.hidden_size, grads ? &grad : nullptr,
                                                      token_logprobs, options.precision, w.matmul_weights_are_bf16);
  if (grads) model_backward(c, w, *grads, batch, ws, options.precision);
  return {stats.weighted_loss, stats.scored, stats.correct};
}

void refresh_bf16_copy(const std::vector<float>& params, std::vector<float>& copy) {
  copy.resize(params.size());
  round_to_bf16(params.data(), copy.data(), static_cast<int64_t>(params.size()));
}

WeightSet make_weight_set(Model& model, Precision precision, std::vector<float>& bf16_copy) {
  WeightSet set;
  set.weights = model.views();
  if (precision == Precision::BF16) {
    refresh_bf16_copy(model.params, bf16_copy);
    set.matmul_weights = make_model_views(model.config, bf16_copy.data());
    set.matmul_weights_are_bf16 = true;
  } else {
    set.matmul_weights = set.weights;
  }
  return set;
}

}  // namespace tt
