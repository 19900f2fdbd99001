#include "infer/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/bf16.h"
#include "core/error.h"
#include "core/op_profile.h"
#include "kernels/cpu/paged_attention.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/swiglu.h"
#include "model/recipe.h"

namespace tt::infer {

void StepInput::check(int64_t vocab_size, int64_t context_limit) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size) fail("token id {} is out of range (vocab size {})", tokens[i], vocab_size);
    if (positions[i] < 0 || positions[i] >= context_limit)
      fail("position {} is outside the context of {} tokens", positions[i], context_limit);
  }
}

namespace {

PackedMatrix make_weight(const float* w, int64_t rows, int64_t cols, Precision precision) {
  return precision == Precision::BF16 ? pack_bf16(w, rows, cols) : pack_f32(w, rows, cols);
}

// Up to this many rows a stack of projections runs as one GEMM whose output rows are then split (a
// decode step: one pass over the weights and one parallel region instead of three or two); above it
// the GEMMs are long enough and the split would be a copy of every activation.
constexpr int64_t kMaxStackedRows = 64;

}  // namespace

// The engine context of a layer recipe: the rows' tokens through the packed GEMM, K/V written
// to the paged cache and attention over each row's sequence. In bf16 mode a matmul input is rounded
// to bf16 once, before its first product (as training's bf16 matmuls round their inputs).
class InferenceModel::EngineLayer final : public LayerOps {
 public:
  EngineLayer(InferenceModel& m, const StepInput& step, KvCache& cache, int64_t l)
      : m_(m), c_(m.model_->config), step_(step), cache_(cache), l_(l), W_(m.views_.layers[l]), M_(m.layers_[l]),
        N_(static_cast<int64_t>(step.tokens.size())) {}

  void norm(Norm weight) override {
    rmsnorm_forward(m_.h_.data(), nullptr, m_.x_.data(), weight == Norm::Attention ? W_.attn_norm : W_.ffn_norm, N_,
                    c_.hidden_size, eps());
    wrote(Act::Normed);
  }
  void project(Proj weight, Act in, Act out) override {
    const float* x = matmul_input(in);
    OpScope scope("packed gemm (layers)");
    packed_gemm(x, N_, matrix(weight), buffer(out));
    wrote(out);
  }
  void project_each(Act in, std::initializer_list<std::pair<Proj, Act>> outs) override {
    const PackedStack* stack = stack_of(outs);
    if (stack == nullptr || N_ > kMaxStackedRows) return LayerOps::project_each(in, outs);
    const float* x = matmul_input(in);
    const int64_t width = stack->matrix.rows;
    m_.stacked_.resize(N_ * width);
    {
      OpScope scope("packed gemm (layers)");
      packed_gemm(x, N_, stack->view(), m_.stacked_.data());
    }
    size_t part = 0;
    for (const auto& [weight, out] : outs) {
      const int64_t offset = stack->offsets[part], cols = stack->rows[part];
      float* y = buffer(out);
      for (int64_t i = 0; i < N_; ++i)
        std::memcpy(y + i * cols, m_.stacked_.data() + i * width + offset, sizeof(float) * cols);
      wrote(out);
      ++part;
    }
  }
  void add_to_residual(Proj weight, Act in) override {
    const float* x = matmul_input(in);
    OpScope scope("packed gemm (layers)");
    packed_gemm(x, N_, matrix(weight), m_.x_.data(), true);
  }
  void rope(Act q_or_k) override {
    rope_forward(buffer(q_or_k), step_.positions.data(), N_, heads(q_or_k), m_.rope_);
    wrote(q_or_k);
  }
  void head_norm(Act q_or_k) override {
    float* x = buffer(q_or_k);
    rmsnorm_forward(x, nullptr, x, nullptr, N_ * heads(q_or_k), c_.head_dim, eps());
    wrote(q_or_k);
  }
  void attention() override {
    const int64_t row = c_.num_key_value_heads * c_.head_dim;
    {
      OpScope scope("kv cache write");
      for (int64_t i = 0; i < N_; ++i) {
        std::memcpy(cache_.key(step_.sequences[i], l_, step_.positions[i]), m_.k_.data() + i * row, sizeof(float) * row);
        std::memcpy(cache_.value(step_.sequences[i], l_, step_.positions[i]), m_.v_.data() + i * row, sizeof(float) * row);
      }
    }
    paged_attention({.rows = N_, .heads = c_.num_attention_heads, .kv_heads = c_.num_key_value_heads,
                     .head_dim = c_.head_dim, .block_size = cache_.block_size(), .q = m_.q_.data(),
                     .out = m_.attn_.data(), .positions = step_.positions.data(), .block_tables = m_.block_tables_.data(),
                     .block_keys = cache_.layer_keys(l_), .block_values = cache_.layer_values(l_)});
    wrote(Act::Attention);
  }
  void swiglu() override {
    swiglu_forward(m_.act_.data(), m_.gate_.data(), m_.up_.data(), N_ * c_.intermediate_size);
    wrote(Act::SwiGlu);
  }

 private:
  float eps() const { return static_cast<float>(c_.rms_norm_eps); }
  int64_t heads(Act q_or_k) const { return q_or_k == Act::Q ? c_.num_attention_heads : c_.num_key_value_heads; }
  float* buffer(Act a) {
    switch (a) {
      case Act::Normed: return m_.h_.data();
      case Act::Q: return m_.q_.data();
      case Act::K: return m_.k_.data();
      case Act::V: return m_.v_.data();
      case Act::Attention: return m_.attn_.data();
      case Act::Gate: return m_.gate_.data();
      case Act::Up: return m_.up_.data();
      case Act::SwiGlu: return m_.act_.data();
    }
    return nullptr;
  }
  PackedMatrixView matrix(Proj p) const {
    switch (p) {
      case Proj::Q: return M_.qkv.part(0);
      case Proj::K: return M_.qkv.part(1);
      case Proj::V: return M_.qkv.part(2);
      case Proj::O: return M_.wo.view();
      case Proj::Gate: return M_.gate_up.part(0);
      case Proj::Up: return M_.gate_up.part(1);
      case Proj::Down: return M_.down.view();
    }
    fail("unknown projection {}", static_cast<int>(p));
  }
  // The stack whose parts are exactly these projections, in this order (else null).
  const PackedStack* stack_of(std::initializer_list<std::pair<Proj, Act>> outs) const {
    const auto made_of = [&](std::initializer_list<Proj> parts) {
      return std::equal(outs.begin(), outs.end(), parts.begin(), parts.end(),
                        [](const std::pair<Proj, Act>& out, Proj part) { return out.first == part; });
    };
    if (made_of({Proj::Q, Proj::K, Proj::V})) return &M_.qkv;
    if (made_of({Proj::Gate, Proj::Up})) return &M_.gate_up;
    return nullptr;
  }
  void wrote(Act a) { rounded_[static_cast<int>(a)] = false; }
  const float* matmul_input(Act a) {
    float* x = buffer(a);
    bool& rounded = rounded_[static_cast<int>(a)];
    if (m_.precision_ == Precision::BF16 && !rounded) {
      OpScope scope("bf16 rounding (matmul inputs)");
      round_to_bf16(x, x, N_ * activation_width(c_, a));
    }
    rounded = true;
    return x;
  }

  InferenceModel& m_;
  const ModelConfig& c_;
  const StepInput& step_;
  KvCache& cache_;
  int64_t l_;
  const LayerViews& W_;
  const Layer& M_;
  int64_t N_;
  bool rounded_[8] = {};
};

InferenceModel::InferenceModel(Model& model, Precision precision)
    : model_(&model), precision_(precision), views_(model.views()) {
  const ModelConfig& c = model.config;
  const int64_t C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const bool bf16 = precision == Precision::BF16;
  for (const LayerViews& L : views_.layers) {
    layers_.push_back({pack_stack({L.wq, L.wk, L.wv}, {H * D, KVH * D, KVH * D}, C, bf16),
                       pack_stack({L.w_gate, L.w_up}, {F, F}, C, bf16), make_weight(L.wo, C, H * D, precision),
                       make_weight(L.w_down, C, F, precision)});
  }
  lm_head_ = make_weight(views_.lm_head, c.vocab_size, C, precision);
  rope_ = make_rope_table(rope_params(c), context_limit());
}

int64_t InferenceModel::context_limit() const {
  return tt::context_limit(model_->config);
}

std::array<const PackedMatrix*, 4> InferenceModel::Layer::matrices() const {
  return {&qkv.matrix, &gate_up.matrix, &wo, &down};
}

std::array<PackedMatrixView, 7> InferenceModel::Layer::weights() const {
  return {qkv.part(0), qkv.part(1), qkv.part(2), wo.view(), gate_up.part(0), gate_up.part(1), down.view()};
}

int64_t InferenceModel::matmul_weight_bytes() const {
  int64_t bytes = lm_head_.bytes();
  for (const Layer& l : layers_)
    for (const PackedMatrix* m : l.matrices()) bytes += m->bytes();
  return bytes;
}

double InferenceModel::layer_matmul_flops_per_token() const {
  double flops = 0;
  for (const Layer& l : layers_)
    for (const PackedMatrixView& w : l.weights()) flops += 2.0 * static_cast<double>(w.rows) * static_cast<double>(w.cols);
  return flops;
}

void InferenceModel::forward(const StepInput& step, KvCache& cache, float* logits) {
  const ModelConfig& c = model_->config;
  const int64_t N = static_cast<int64_t>(step.tokens.size());
  const int64_t C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const bool bf16 = precision_ == Precision::BF16;
  if (N == 0) return;
  step.check(c.vocab_size, context_limit());
  x_.resize(N * C);
  h_.resize(N * C);
  q_.resize(N * H * D);
  k_.resize(N * KVH * D);
  v_.resize(N * KVH * D);
  attn_.resize(N * H * D);
  gate_.resize(N * F);
  up_.resize(N * F);
  act_.resize(N * F);
  {
    OpScope scope("embedding lookup");
    for (int64_t i = 0; i < N; ++i)
      std::memcpy(x_.data() + i * C, views_.embed + static_cast<int64_t>(step.tokens[i]) * C, sizeof(float) * C);
  }

  block_tables_.resize(N);
  for (int64_t i = 0; i < N; ++i) block_tables_[i] = cache.block_table(step.sequences[i]).data();
  const LayerRecipe recipe = layer_recipe(c.family);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    EngineLayer layer(*this, step, cache, l);
    recipe(layer, c);
  }
  const int64_t R = static_cast<int64_t>(step.logit_rows.size());
  if (R == 0) return;
  hidden_.resize(R * C);
  for (int64_t r = 0; r < R; ++r)
    rmsnorm_forward(hidden_.data() + r * C, nullptr, x_.data() + step.logit_rows[r] * C, views_.final_norm, 1, C, eps);
  if (bf16) round_to_bf16(hidden_.data(), hidden_.data(), R * C);
  OpScope scope("packed gemm (lm head)");
  packed_gemm(hidden_.data(), R, lm_head_.view(), logits);
}

}  // namespace tt::infer
