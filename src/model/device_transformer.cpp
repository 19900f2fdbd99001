#include "model/device_transformer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/cpu/rope.h"
#include "model/recipe.h"

namespace tt {

// The device context of a layer recipe: TrainingLayer (model/transformer.cpp) on device buffers,
// keeping in the layer's Activations what the backward pass needs.
class DeviceTrainingModel::Layer final : public LayerOps {
 public:
  Layer(DeviceTrainingModel& m, const Batch& batch, int64_t l)
      : m_(m), c_(m.config_), d_(*m.device_), A_(m.layers_[l]), P_(m.params_.layers[l]), N_(batch.size()),
        shape_{batch.rows, batch.seq, c_.num_attention_heads, c_.num_key_value_heads, c_.head_dim,
               m.precision_ == Precision::BF16},
        next_(l + 1 < c_.num_hidden_layers ? m.layers_[l + 1].x : m.x_final_) {}

  void norm(Norm weight) override {
    const bool attn = weight == Norm::Attention;
    d_.rmsnorm_forward(m_.h_, attn ? A_.rstd_attn : A_.rstd_ffn, residual(), attn ? P_.attn_norm : P_.ffn_norm, N_,
                       c_.hidden_size, eps());
  }
  void project(Proj weight, Act in, Act out) override {
    m_.linear(buffer(in), linear_weight(P_, weight), buffer(out), N_, width(out), width(in), false);
  }
  void add_to_residual(Proj weight, Act in) override {
    if (residual_adds_ > 1) fail("the device training context keeps two residual adds per layer");
    float* sum = residual_adds_ == 0 ? A_.x_mid : next_;
    d_.copy(sum, residual(), sizeof(float) * N_ * c_.hidden_size);
    ++residual_adds_;
    m_.linear(buffer(in), linear_weight(P_, weight), sum, N_, c_.hidden_size, width(in), true);
  }
  void rope(Act q_or_k) override { d_.rope_forward(buffer(q_or_k), m_.positions_, N_, heads(q_or_k), m_.rope_); }
  void head_norm(Act q_or_k) override {
    float* x = buffer(q_or_k);
    d_.rmsnorm_forward(x, q_or_k == Act::Q ? A_.q_rstd : A_.k_rstd, x, nullptr, N_ * heads(q_or_k), c_.head_dim, eps());
  }
  void attention() override {
    d_.attention_forward(A_.attn, A_.lse, A_.q, A_.k, A_.v, m_.has_doc_start_ ? m_.doc_start_ : nullptr, shape_);
  }
  void swiglu() override { d_.swiglu_forward(m_.act_, A_.gate, A_.up, N_ * c_.intermediate_size); }

 private:
  float eps() const { return static_cast<float>(c_.rms_norm_eps); }
  const float* residual() const { return residual_adds_ == 0 ? A_.x : residual_adds_ == 1 ? A_.x_mid : next_; }
  int64_t heads(Act q_or_k) const { return q_or_k == Act::Q ? c_.num_attention_heads : c_.num_key_value_heads; }
  int64_t width(Act a) const { return activation_width(c_, a); }
  float* buffer(Act a) {
    switch (a) {
      case Act::Normed: return m_.h_;
      case Act::Q: return A_.q;
      case Act::K: return A_.k;
      case Act::V: return A_.v;
      case Act::Attention: return A_.attn;
      case Act::Gate: return A_.gate;
      case Act::Up: return A_.up;
      case Act::SwiGlu: return m_.act_;
    }
    return nullptr;
  }

  DeviceTrainingModel& m_;
  const ModelConfig& c_;
  TrainDevice& d_;
  const Activations& A_;
  const LayerViews& P_;
  int64_t N_;
  TrainAttentionShape shape_;
  float* next_;
  int residual_adds_ = 0;
};

DeviceTrainingModel::DeviceTrainingModel(const ModelConfig& config, TrainDevice& device, Precision precision,
                                         const std::vector<float>& params, const std::vector<uint8_t>& decay_mask,
                                         OptimizerSlice optimizer_slice)
    : config_(config), device_(&device), precision_(precision), total_(make_parameter_layout(config).total) {
  if (static_cast<int64_t>(params.size()) != total_)
    fail("device training: {} parameters given for a layout of {}", params.size(), total_);
  if (optimizer_slice.padded_total == 0) optimizer_slice = {0, total_, total_};
  device_->create_parameters(total_, decay_mask, optimizer_slice);
  device_->upload_parameters(params.data());
  device_->zero_gradients();
  params_ = make_model_views(config_, device_->params());
  grads_ = make_model_views(config_, device_->grads());
}

DeviceTrainingModel::~DeviceTrainingModel() { release_activations(); }

void DeviceTrainingModel::release_activations() {
  for (void* p : owned_) device_->release(p);
  owned_.clear();
  capacity_ = 0;
}

float* DeviceTrainingModel::floats(int64_t count) {
  void* p = device_->allocate(sizeof(float) * std::max<int64_t>(count, 1));
  owned_.push_back(p);
  return static_cast<float*>(p);
}

void DeviceTrainingModel::reserve(int64_t N) {
  if (N <= capacity_) return;
  release_activations();
  const ModelConfig& c = config_;
  const int64_t C = c.hidden_size, F = c.intermediate_size, H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const int64_t QD = H * c.head_dim, KD = KVH * c.head_dim;
  layers_.assign(c.num_hidden_layers, {});
  for (Activations& A : layers_) {
    A.x = floats(N * C);
    A.rstd_attn = floats(N);
    A.q = floats(N * QD);
    A.k = floats(N * KD);
    A.v = floats(N * KD);
    A.q_rstd = c.use_qk_norm ? floats(N * H) : nullptr;
    A.k_rstd = c.use_qk_norm ? floats(N * KVH) : nullptr;
    A.attn = floats(N * QD);
    A.lse = floats(N * H);
    A.x_mid = floats(N * C);
    A.rstd_ffn = floats(N);
    A.gate = floats(N * F);
    A.up = floats(N * F);
  }
  x_final_ = floats(N * C), rstd_final_ = floats(N), hidden_ = floats(N * C), h_ = floats(N * C), act_ = floats(N * F);
  d_x_ = floats(N * C), d_h_ = floats(N * C), d_tmp_ = floats(N * C), d_q_ = floats(N * QD), d_k_ = floats(N * KD);
  d_v_ = floats(N * KD), d_attn_ = floats(N * QD), d_gate_ = floats(N * F), d_up_ = floats(N * F);
  d_hidden_ = floats(N * C);
  token_weights_ = floats(N), token_logprobs_ = floats(N);
  vocab_ones_ = floats(c.vocab_size), lm_head_row_sum_ = floats(C), logit_sums_ = floats(N);
  device_->upload(vocab_ones_, std::vector<float>(c.vocab_size, 1.0f).data(), sizeof(float) * c.vocab_size);
  for (int32_t** ids : {&tokens_, &targets_, &positions_, &doc_start_}) *ids = reinterpret_cast<int32_t*>(floats(N));
  capacity_ = N;
}

GemmOperand DeviceTrainingModel::weight(const float* w) const {
  if (precision_ != Precision::BF16) return {w, false};
  return {device_->params_bf16() + (w - device_->params()), true};
}

void DeviceTrainingModel::linear(const float* x, const float* w, float* y, int64_t n, int64_t out, int64_t in,
                                 bool accumulate) {
  device_->gemm({x, false}, weight(w), y, n, out, in, false, true, accumulate, precision_ == Precision::BF16);
}

void DeviceTrainingModel::linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                                          int64_t n, int64_t out, int64_t in, bool accumulate_dx) {
  const bool bf16 = precision_ == Precision::BF16;
  device_->gemm({dy, false}, weight(w), dx, n, in, out, false, false, accumulate_dx, bf16);
  device_->gemm({dy, false}, {x, false}, dw, out, in, n, true, false, true, bf16);
}

void DeviceTrainingModel::prepare_inputs(const Batch& batch, const float* token_weights) {
  const ModelConfig& c = config_;
  validate_batch(c, batch);
  const int64_t N = batch.size();
  reserve(N);
  std::vector<int32_t> positions(N);
  for (int64_t i = 0; i < N; ++i)
    positions[i] = batch.positions.empty() ? static_cast<int32_t>(i % batch.seq) : batch.positions[i];
  const int64_t max_position = *std::max_element(positions.begin(), positions.end());
  if (std::any_of(positions.begin(), positions.end(), [](int32_t p) { return p < 0; }))
    fail("batch: negative position id");
  if (rope_ < 0 || rope_positions_ <= max_position) {  // grow the table on demand, as the CPU does
    rope_positions_ = std::max<int64_t>(max_position + 1, 2 * rope_positions_);
    const RopeTable table = make_rope_table(rope_params(c), rope_positions_);
    rope_ = device_->rope_table(table.style, table.head_dim, table.max_positions, table.cos, table.sin);
  }
  device_->upload(tokens_, batch.tokens.data(), sizeof(int32_t) * N);
  device_->upload(targets_, batch.targets.data(), sizeof(int32_t) * N);
  device_->upload(positions_, positions.data(), sizeof(int32_t) * N);
  has_doc_start_ = !batch.doc_start.empty();
  if (has_doc_start_) device_->upload(doc_start_, batch.doc_start.data(), sizeof(int32_t) * N);
  const std::vector<float> ones(token_weights ? 0 : N, 1.0f);
  device_->upload(token_weights_, token_weights ? token_weights : ones.data(), sizeof(float) * N);
}

void DeviceTrainingModel::forward(const Batch& batch, const ForwardOptions& options) {
  const ModelConfig& c = config_;
  const int64_t N = batch.size(), C = c.hidden_size;
  float* x0 = layers_[0].x;
  device_->embedding_forward(x0, params_.embed, tokens_, N, C);
  if (options.neftune_alpha > 0.0f) {  // the CPU's noise (same Rng stream), added on the device
    Rng rng(options.neftune_seed);
    const double bound = options.neftune_alpha / std::sqrt(static_cast<double>(neftune_length(batch)) * C);
    std::vector<float> noise(N * C);
    for (float& e : noise) e = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    device_->upload(d_tmp_, noise.data(), sizeof(float) * N * C);
    device_->add(x0, d_tmp_, N * C);
  }
  const LayerRecipe recipe = layer_recipe(c.family);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    Layer layer(*this, batch, l);
    recipe(layer, c);
  }
  device_->rmsnorm_forward(hidden_, rstd_final_, x_final_, params_.final_norm, N, C, static_cast<float>(c.rms_norm_eps));
}

// model_backward (model/transformer.cpp) step by step, on the device.
void DeviceTrainingModel::backward(const Batch& batch) {
  const ModelConfig& c = config_;
  const int64_t N = batch.size(), C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const TrainAttentionShape shape{batch.rows, batch.seq, H, KVH, D, precision_ == Precision::BF16};
  const int32_t* doc_start = has_doc_start_ ? doc_start_ : nullptr;
  const float eps = static_cast<float>(c.rms_norm_eps);
  TrainDevice& d = *device_;
  float* dx = d_x_;
  d.rmsnorm_backward(dx, grads_.final_norm, d_hidden_, x_final_, params_.final_norm, rstd_final_, N, C);
  for (int64_t l = c.num_hidden_layers - 1; l >= 0; --l) {
    const Activations& A = layers_[l];
    const LayerViews& W = params_.layers[l];
    LayerViews& G = grads_.layers[l];
    // FFN: recompute its input and activation
    d.rmsnorm_forward(h_, nullptr, A.x_mid, W.ffn_norm, N, C, eps);
    d.swiglu_forward(act_, A.gate, A.up, N * F);
    float* d_act = d_gate_;  // consumed by swiglu_backward below
    linear_backward(dx, act_, W.w_down, d_act, G.w_down, N, C, F, false);
    d.swiglu_backward(d_gate_, d_up_, d_act, A.gate, A.up, N * F);
    linear_backward(d_gate_, h_, W.w_gate, d_h_, G.w_gate, N, F, C, false);
    linear_backward(d_up_, h_, W.w_up, d_h_, G.w_up, N, F, C, true);
    d.rmsnorm_backward(d_tmp_, G.ffn_norm, d_h_, A.x_mid, W.ffn_norm, A.rstd_ffn, N, C);
    d.add(dx, d_tmp_, N * C);
    // attention
    linear_backward(dx, A.attn, W.wo, d_attn_, G.wo, N, C, H * D, false);
    d.attention_backward(d_q_, d_k_, d_v_, d_attn_, A.attn, A.lse, A.q, A.k, A.v, doc_start, shape);
    if (c.use_qk_norm) {
      d.l2norm_backward_from_output(d_q_, d_q_, A.q, A.q_rstd, N * H, D);
      d.l2norm_backward_from_output(d_k_, d_k_, A.k, A.k_rstd, N * KVH, D);
    }
    d.rope_backward(d_q_, positions_, N, H, rope_);
    d.rope_backward(d_k_, positions_, N, KVH, rope_);
    d.rmsnorm_forward(h_, nullptr, A.x, W.attn_norm, N, C, eps);
    linear_backward(d_q_, h_, W.wq, d_h_, G.wq, N, H * D, C, false);
    linear_backward(d_k_, h_, W.wk, d_h_, G.wk, N, KVH * D, C, true);
    linear_backward(d_v_, h_, W.wv, d_h_, G.wv, N, KVH * D, C, true);
    d.rmsnorm_backward(d_tmp_, G.attn_norm, d_h_, A.x, W.attn_norm, A.rstd_attn, N, C);
    d.add(dx, d_tmp_, N * C);
  }
  d.embedding_backward(grads_.embed, dx, tokens_, N, C);
}

ClassifierStats DeviceTrainingModel::classify(int64_t n, bool want_grad, TokenLoss loss_kind, bool want_logprobs) {
  const bool bf16 = precision_ == Precision::BF16;
  const uint16_t* lm_head_bf16 = bf16 ? static_cast<const uint16_t*>(weight(params_.lm_head).data) : nullptr;
  return device_->classifier(hidden_, params_.lm_head, lm_head_bf16, targets_, n, config_.vocab_size,
                             config_.hidden_size, want_grad, token_weights_, loss_kind, d_hidden_, grads_.lm_head,
                             want_logprobs ? token_logprobs_ : nullptr, bf16);
}

LossResult DeviceTrainingModel::loss(const Batch& batch, const ForwardOptions& options, const float* token_weights,
                                     TokenLoss loss_kind, bool backward_pass, float* token_logprobs) {
  prepare_inputs(batch, token_weights);
  forward(batch, options);
  const int64_t N = batch.size();
  const ClassifierStats stats = classify(N, backward_pass, loss_kind, token_logprobs != nullptr);
  if (backward_pass) backward(batch);
  if (token_logprobs) device_->download(token_logprobs, token_logprobs_, sizeof(float) * N);
  return {stats.weighted_loss, stats.scored, stats.correct};
}

void DeviceTrainingModel::forward_logprobs(const Batch& batch, const ForwardOptions& options, float* token_logprobs) {
  prepare_inputs(batch, nullptr);
  forward(batch, options);
  classify(batch.size(), false, TokenLoss::NLL, true);
  device_->download(token_logprobs, token_logprobs_, sizeof(float) * batch.size());
}

void DeviceTrainingModel::backward_with_token_weights(const Batch& batch, const float* token_weights,
                                                      TokenLoss loss_kind) {
  if (batch.size() > capacity_) fail("device training: backward of a batch larger than its forward's");
  device_->upload(token_weights_, token_weights, sizeof(float) * batch.size());
  classify(batch.size(), true, loss_kind, false);
  backward(batch);
}

void DeviceTrainingModel::logit_sums(const Batch& batch, float* sums) {
  const ModelConfig& c = config_;
  const int64_t N = batch.size();
  if (N > capacity_) fail("device training: logit sums of a batch larger than its forward's");
  device_->gemm({vocab_ones_, false}, {params_.lm_head, false}, lm_head_row_sum_, 1, c.hidden_size, c.vocab_size,
                false, false, false, false);
  device_->gemm({hidden_, false}, {lm_head_row_sum_, false}, logit_sums_, N, 1, c.hidden_size, false, false, false,
                false);
  device_->download(sums, logit_sums_, sizeof(float) * N);
}

void DeviceTrainingModel::download_gradients(std::vector<float>& grads) {
  grads.resize(total_);
  device_->download(grads.data(), device_->grads(), sizeof(float) * total_);
}

void DeviceTrainingModel::download_parameters(std::vector<float>& params) {
  params.resize(total_);
  device_->download_parameters(params.data());
}

void DeviceTrainingModel::upload_parameters(const std::vector<float>& params) {
  if (static_cast<int64_t>(params.size()) != total_)
    fail("device training: {} parameters given for a layout of {}", params.size(), total_);
  device_->upload_parameters(params.data());
}

}  // namespace tt
