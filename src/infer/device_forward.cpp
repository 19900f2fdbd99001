#include "infer/device_forward.h"

#include <algorithm>
#include <bit>

#include "core/bf16.h"
#include "core/error.h"
#include "kernels/cpu/rope.h"
#include "model/recipe.h"

namespace tt::infer {

// The device context of a layer recipe: as InferenceModel's EngineLayer, on device buffers. In bf16
// mode a matmul input is rounded to bf16 once, before its first product.
class DeviceInferenceModel::DeviceLayer final : public LayerOps {
 public:
  DeviceLayer(DeviceInferenceModel& m, int64_t rows, int64_t l)
      : m_(m), c_(m.model_->config), d_(*m.device_), l_(l), L_(m.layers_[l]), N_(rows) {}

  void norm(Norm weight) override {
    d_.rmsnorm(m_.h_, m_.x_, weight == Norm::Attention ? L_.attn_norm : L_.ffn_norm, N_, c_.hidden_size, eps());
    wrote(Act::Normed);
  }
  void project(Proj weight, Act in, Act out) override {
    gemm(matrix(weight), matmul_input(in), buffer(out), false);
    wrote(out);
  }
  void add_to_residual(Proj weight, Act in) override { gemm(matrix(weight), matmul_input(in), m_.x_, true); }
  void rope(Act q_or_k) override {
    d_.rope(buffer(q_or_k), m_.positions_, N_, heads(q_or_k), m_.rope_);
    wrote(q_or_k);
  }
  void head_norm(Act q_or_k) override {
    float* x = buffer(q_or_k);
    d_.rmsnorm(x, x, nullptr, N_ * heads(q_or_k), c_.head_dim, eps());
    wrote(q_or_k);
  }
  void attention() override {
    d_.kv_write(l_, m_.k_, m_.v_, m_.sequences_, m_.positions_, N_);
    d_.attention(m_.attn_, m_.q_, l_, m_.sequences_, m_.positions_, N_, c_.num_attention_heads);
    wrote(Act::Attention);
  }
  void swiglu() override {
    d_.swiglu(m_.act_, m_.gate_, m_.up_, N_ * c_.intermediate_size);
    wrote(Act::SwiGlu);
  }

 private:
  float eps() const { return static_cast<float>(c_.rms_norm_eps); }
  int64_t heads(Act q_or_k) const { return q_or_k == Act::Q ? c_.num_attention_heads : c_.num_key_value_heads; }
  void gemm(const Matrix& w, const float* x, float* y, bool accumulate) {
    d_.gemm(x, N_, w.data, m_.precision_ == Precision::BF16, w.rows, w.cols, y, accumulate);
  }
  float* buffer(Act a) { return buffers_[static_cast<int>(a)]; }
  const Matrix& matrix(Proj p) const { return L_.proj[static_cast<int>(p)]; }
  void wrote(Act a) { rounded_[static_cast<int>(a)] = false; }
  const float* matmul_input(Act a) {
    float* x = buffer(a);
    bool& rounded = rounded_[static_cast<int>(a)];
    if (m_.precision_ == Precision::BF16 && !rounded) d_.round_to_bf16(x, N_ * activation_width(c_, a));
    rounded = true;
    return x;
  }

  DeviceInferenceModel& m_;
  const ModelConfig& c_;
  GenerationDevice& d_;
  int64_t l_;
  const Layer& L_;
  int64_t N_;
  float* const buffers_[8] = {m_.h_, m_.q_, m_.k_, m_.v_, m_.attn_, m_.gate_, m_.up_, m_.act_};  // in Act's order
  bool rounded_[8] = {};
};

DeviceInferenceModel::DeviceInferenceModel(Model& model, Precision precision, GenerationDevice& device)
    : model_(&model), precision_(precision), device_(&device) {
  const ModelConfig& c = model.config;
  const int64_t C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const ModelViews views = model.views();
  for (const LayerViews& L : views.layers) {
    layers_.push_back({{upload_matrix(L.wq, H * D, C), upload_matrix(L.wk, KVH * D, C),
                        upload_matrix(L.wv, KVH * D, C), upload_matrix(L.wo, C, H * D), upload_matrix(L.w_gate, F, C),
                        upload_matrix(L.w_up, F, C), upload_matrix(L.w_down, C, F)},
                       upload_floats(L.attn_norm, C),
                       upload_floats(L.ffn_norm, C)});
  }
  lm_head_ = upload_matrix(views.lm_head, c.vocab_size, C);
  embed_ = upload_floats(views.embed, c.vocab_size * C);
  final_norm_ = upload_floats(views.final_norm, C);
  const RopeTable table = make_rope_table(rope_params(c), context_limit());
  rope_ = device_->rope_table(table.style, table.head_dim, table.max_positions, table.cos, table.sin);
}

DeviceInferenceModel::~DeviceInferenceModel() {
  drop_graphs();
  for (void* p : owned_) device_->release(p);
}

int64_t DeviceInferenceModel::context_limit() const {
  return tt::context_limit(model_->config);
}

void DeviceInferenceModel::create_cache(int64_t max_sequences, double memory_fraction, int64_t block_size) {
  const ModelConfig& c = model_->config;
  device_->create_kv({c.num_hidden_layers, c.num_key_value_heads, c.head_dim, block_size}, max_sequences,
                     context_limit(), memory_fraction);
}

DeviceInferenceModel::Matrix DeviceInferenceModel::upload_matrix(const float* w, int64_t rows, int64_t cols) {
  Matrix m{nullptr, rows, cols};
  const int64_t n = rows * cols;
  if (precision_ == Precision::BF16) {
    std::vector<uint16_t> bits(n);
    for (int64_t i = 0; i < n; ++i) bits[i] = f32_to_bf16(w[i]);
    m.data = device_->allocate(sizeof(uint16_t) * n);
    device_->upload(m.data, bits.data(), sizeof(uint16_t) * n);
  } else {
    m.data = device_->allocate(sizeof(float) * n);
    device_->upload(m.data, w, sizeof(float) * n);
  }
  owned_.push_back(m.data);
  return m;
}

float* DeviceInferenceModel::upload_floats(const float* values, int64_t count) {
  auto* p = static_cast<float*>(device_->allocate(sizeof(float) * count));
  device_->upload(p, values, sizeof(float) * count);
  owned_.push_back(p);
  return p;
}

bool DeviceInferenceModel::reserve_rows(int64_t rows, int64_t logit_rows) {
  const ModelConfig& c = model_->config;
  bool grew = false;
  auto take = [&](auto*& buffer, int64_t count) {
    using T = std::remove_reference_t<decltype(*buffer)>;
    if (!grew) drop_graphs();  // they hold the old pointers
    grew = true;
    if (buffer) {
      device_->release(buffer);
      owned_.erase(std::find(owned_.begin(), owned_.end(), static_cast<void*>(buffer)));
    }
    buffer = static_cast<T*>(device_->allocate(sizeof(T) * count));
    owned_.push_back(buffer);
  };
  if (rows > rows_capacity_) {
    const int64_t R = std::max(rows, 2 * rows_capacity_);
    const int64_t C = c.hidden_size, QD = c.num_attention_heads * c.head_dim,
                  KD = c.num_key_value_heads * c.head_dim, F = c.intermediate_size;
    take(x_, R * C), take(h_, R * C), take(q_, R * QD), take(k_, R * KD), take(v_, R * KD), take(attn_, R * QD);
    take(gate_, R * F), take(up_, R * F), take(act_, R * F);
    take(tokens_, R), take(positions_, R), take(sequences_, R);
    rows_capacity_ = R;
  }
  if (logit_rows > logit_capacity_) {
    const int64_t R = std::max(logit_rows, 2 * logit_capacity_);
    take(hidden_, R * c.hidden_size), take(logits_, R * c.vocab_size), take(logit_rows_, R);
    logit_capacity_ = R;
  }
  return grew;
}

void DeviceInferenceModel::drop_graphs() {
  if (graphs_.empty()) return;
  device_->drop_graphs();
  graphs_.clear();
}

int64_t DeviceInferenceModel::graph_rows(int64_t rows) {
  if (rows <= 8) return std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(rows, 1)));
  return (rows + 15) / 16 * 16;
}

void DeviceInferenceModel::use_graphs(bool on, int64_t max_rows) {
  drop_graphs();
  graphs_on_ = on && max_rows > 0;
  graph_max_rows_ = graphs_on_ ? graph_rows(max_rows) : 0;
  if (graphs_on_) reserve_rows(graph_max_rows_, graph_max_rows_);
}

void DeviceInferenceModel::run(int64_t rows, int64_t logit_rows) {
  const ModelConfig& c = model_->config;
  const int64_t C = c.hidden_size;
  device_->embedding(x_, embed_, tokens_, rows, C);
  const LayerRecipe recipe = layer_recipe(c.family);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    DeviceLayer layer(*this, rows, l);
    recipe(layer, c);
  }
  if (logit_rows == 0) return;
  device_->embedding(hidden_, x_, logit_rows_, logit_rows, C);  // gathers the logit rows of the residual
  device_->rmsnorm(hidden_, hidden_, final_norm_, logit_rows, C, static_cast<float>(c.rms_norm_eps));
  if (precision_ == Precision::BF16) device_->round_to_bf16(hidden_, logit_rows * C);
  device_->gemm(hidden_, logit_rows, lm_head_.data, precision_ == Precision::BF16, c.vocab_size, C, logits_, false);
}

void DeviceInferenceModel::forward(const StepInput& step, float* host_logits) {
  const ModelConfig& c = model_->config;
  const int64_t N = static_cast<int64_t>(step.tokens.size()), R = static_cast<int64_t>(step.logit_rows.size());
  if (N == 0) return;
  step.check(c.vocab_size, context_limit());
  bool decode = graphs_on_ && R == N && N <= graph_max_rows_;
  for (int64_t r = 0; decode && r < R; ++r) decode = step.logit_rows[r] == r;
  if (decode) return forward_through_graph(step, host_logits);
  reserve_rows(N, std::max<int64_t>(R, 1));
  device_->upload(tokens_, step.tokens.data(), sizeof(int32_t) * N);
  device_->upload(positions_, step.positions.data(), sizeof(int32_t) * N);
  device_->upload(sequences_, step.sequences.data(), sizeof(int32_t) * N);
  if (R > 0) device_->upload(logit_rows_, step.logit_rows.data(), sizeof(int32_t) * R);
  run(N, R);
  if (host_logits && R > 0) device_->download(host_logits, logits_, sizeof(float) * R * c.vocab_size);
}

void DeviceInferenceModel::forward_through_graph(const StepInput& step, float* host_logits) {
  const int64_t N = static_cast<int64_t>(step.tokens.size()), B = graph_rows(N);
  reserve_rows(B, B);  // within graph_max_rows_: reserved by use_graphs, nothing grows
  auto pad = [&](std::vector<int32_t>& out, const std::vector<int32_t>& in) {
    out.assign(in.begin(), in.end());
    out.resize(B, in[0]);
  };
  pad(padded_tokens_, step.tokens);
  pad(padded_positions_, step.positions);
  pad(padded_sequences_, step.sequences);
  padded_logit_rows_.resize(B);
  for (int64_t r = 0; r < B; ++r) padded_logit_rows_[r] = static_cast<int32_t>(r);
  device_->upload(tokens_, padded_tokens_.data(), sizeof(int32_t) * B);
  device_->upload(positions_, padded_positions_.data(), sizeof(int32_t) * B);
  device_->upload(sequences_, padded_sequences_.data(), sizeof(int32_t) * B);
  device_->upload(logit_rows_, padded_logit_rows_.data(), sizeof(int32_t) * B);
  auto graph = graphs_.find(B);
  if (graph == graphs_.end()) {
    device_->begin_capture();
    try {
      run(B, B);
    } catch (...) {
      device_->end_capture(false);
      throw;
    }
    graph = graphs_.emplace(B, device_->end_capture(true)).first;
  }
  device_->replay(graph->second);
  if (host_logits) device_->download(host_logits, logits_, sizeof(float) * N * model_->config.vocab_size);
}

}  // namespace tt::infer
