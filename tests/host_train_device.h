// A TrainDevice (kernels/train_device.h) whose "device memory" is host memory and whose kernels are
// the CPU ones: tests run the device training context (model/device_transformer.h) and the device
// branches of train/train_step.h on a machine without a GPU, against the CPU path it must equal.
// It checks what the GPU tests cannot check here: the recipe's buffers, the backward's order, the
// weight offsets into the bf16 copy, accumulation, and the parameter/moment copies of checkpoints.
#pragma once
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "core/bf16.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/train_device.h"
#include "train/optimizer.h"

namespace tt::testing {

class HostTrainDevice final : public TrainDevice {
 public:
  ~HostTrainDevice() override {
    for (auto& [p, bytes] : sizes_) std::free(p);
  }

  void* allocate(size_t bytes) override {
    void* p = std::malloc(bytes ? bytes : 1);
    std::memset(p, 0xff, bytes);  // NaN-poisoned: a buffer read before it is written shows
    sizes_[p] = bytes;
    in_use_ += bytes;
    peak_ = std::max(peak_, in_use_);
    return p;
  }
  void release(void* p) override {
    if (!p) return;
    auto it = sizes_.find(p);
    if (it == sizes_.end()) throw std::runtime_error("host train device: release of an unknown pointer");
    in_use_ -= it->second;
    sizes_.erase(it);
    std::free(p);
  }
  void upload(void* d, const void* h, size_t bytes) override { std::memcpy(d, h, bytes); }
  void download(void* h, const void* d, size_t bytes) override { std::memcpy(h, d, bytes); }
  void copy(void* to, const void* from, size_t bytes) override { std::memcpy(to, from, bytes); }
  void zero(void* d, size_t bytes) override { std::memset(d, 0, bytes); }
  void synchronize() override {}
  size_t peak_bytes_in_use() override { return peak_; }
  void memory_info(size_t& free_bytes, size_t& total_bytes) override { free_bytes = total_bytes = 0; }

  void create_parameters(int64_t total, const std::vector<uint8_t>& decay_mask, const OptimizerSlice& slice) override {
    if (static_cast<int64_t>(decay_mask.size()) != total) throw std::runtime_error("decay mask size");
    if (slice.begin < 0 || slice.begin > slice.end || slice.end > total || slice.padded_total < total)
      throw std::runtime_error("host train device: bad optimizer slice");
    total_ = total;
    slice_ = slice;
    params_.assign(slice.padded_total, 0.0f);  // the padding is zero, the parameters NaN until uploaded
    std::fill_n(params_.begin(), total, NAN);
    bf16_.assign(total, 0xffff);
    grads_.assign(slice.padded_total, 0.0f);
    std::fill_n(grads_.begin(), total, NAN);
    m_.assign(slice.size(), 0.0f);
    v_.assign(slice.size(), 0.0f);
    mask_ = decay_mask;
    updates_ = 0;
  }
  float* params() override { return params_.data(); }
  const uint16_t* params_bf16() override { return bf16_.data(); }
  float* grads() override { return grads_.data(); }
  void upload_parameters(const float* host) override {
    std::memcpy(params_.data(), host, sizeof(float) * total_);
    refresh_params_bf16();
  }
  void download_parameters(float* host) override { std::memcpy(host, params_.data(), sizeof(float) * total_); }
  void upload_moments(const float* m, const float* v, int64_t step) override {
    std::memcpy(m_.data(), m, sizeof(float) * m_.size());
    std::memcpy(v_.data(), v, sizeof(float) * v_.size());
    updates_ = step;
  }
  void download_moments(float* m, float* v) override {
    std::memcpy(m, m_.data(), sizeof(float) * m_.size());
    std::memcpy(v, v_.data(), sizeof(float) * v_.size());
  }
  int64_t optimizer_updates() override { return updates_; }
  size_t moments_held() const { return m_.size(); }  // per moment: the optimizer slice's length
  void zero_gradients() override { std::fill_n(grads_.begin(), total_, 0.0f); }
  // train/optimizer.cpp's clip_grad_norm and adamw_step, with a per-parameter decay mask.
  double optimizer_step(const TrainOptimizerStep& s) override {
    if (slice_.begin != 0 || slice_.end != total_ || slice_.padded_total != total_)
      throw std::runtime_error("host train device: the whole-buffer optimizer step on a ZeRO-1 slice");
    const double norm = clip_grad_norm(grads_, s.max_grad_norm);
    if (!std::isfinite(norm)) return norm;  // as the GPU: checked before the update, nothing applied
    adamw_on_slice(s);
    refresh_params_bf16();
    return norm;
  }
  // As the GPU: the slice's sum of squares in one float (here summed in double, then rounded).
  float* slice_gradient_sum_of_squares() override {
    double sum = 0;
    for (int64_t i = slice_.begin; i < slice_.end; ++i) sum += double(grads_[i]) * grads_[i];
    sum_sq_ = static_cast<float>(sum);
    return &sum_sq_;
  }
  double sharded_optimizer_step(const TrainOptimizerStep& s) override {
    const double norm = std::sqrt(static_cast<double>(sum_sq_));
    if (!std::isfinite(norm)) return norm;
    clip_to_norm(grads_.data() + slice_.begin, slice_.size(), norm, s.max_grad_norm);
    adamw_on_slice(s);
    return norm;
  }
  void refresh_params_bf16() override {
    for (int64_t i = 0; i < total_; ++i) bf16_[i] = f32_to_bf16(params_[i]);
  }

  void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) override {
    for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * dim, table + ids[i] * dim, sizeof(float) * dim);
  }
  void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim) override {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < dim; ++j) dtable[ids[i] * dim + j] += dout[i * dim + j];
  }
  void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                       float eps) override {
    tt::rmsnorm_forward(y, rstd, x, weight, rows, dim, eps);
  }
  void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                        const float* rstd, int64_t rows, int64_t dim) override {
    tt::rmsnorm_backward(dx, dweight, dy, x, weight, rstd, rows, dim);
  }
  void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                   int64_t dim) override {
    tt::l2norm_backward_from_output(dx, dy, y, rstd, rows, dim);
  }
  int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                 const std::vector<float>& sin) override {
    ropes_.push_back(RopeTable{style, head_dim, max_positions, cos, sin});
    return static_cast<int>(ropes_.size()) - 1;
  }
  void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    tt::rope_forward(x, positions, tokens, heads, ropes_.at(table));
  }
  void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    tt::rope_backward(dx, positions, tokens, heads, ropes_.at(table));
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) override {
    tt::swiglu_forward(out, gate, up, count);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t count) override {
    tt::swiglu_backward(dgate, dup, dout, gate, up, count);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                         const int32_t* doc_start, const TrainAttentionShape& s) override {
    tt::attention_forward(out, lse, q, k, v, doc_start, {s.batch, s.seq, s.heads, s.kv_heads, s.head_dim});
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                          const float* q, const float* k, const float* v, const int32_t* doc_start,
                          const TrainAttentionShape& s) override {
    tt::attention_backward(dq, dk, dv, dout, out, lse, q, k, v, doc_start,
                           {s.batch, s.seq, s.heads, s.kv_heads, s.head_dim});
  }
  void add(float* y, const float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }
  void gemm(GemmOperand a, GemmOperand b, float* c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
            bool accumulate, bool bf16) override {
    std::vector<float> a_values, b_values;
    const float* pa = operand(a, m * k, a_values);
    const float* pb = operand(b, k * n, b_values);
    matmul(pa, pb, c, m, n, k,
           {.trans_a = trans_a, .trans_b = trans_b, .accumulate = accumulate,
            .precision = bf16 ? Precision::BF16 : Precision::FP32, .a_is_bf16 = a.bf16, .b_is_bf16 = b.bf16});
  }
  ClassifierStats classifier(const float* hidden, const float* weight, const uint16_t* weight_bf16,
                             const int32_t* targets, int64_t n, int64_t vocab, int64_t dim, bool want_grad,
                             const float* token_weights, TokenLoss loss, float* d_hidden, float* d_weight,
                             float* token_logprobs, bool bf16) override {
    std::vector<float> w_values;
    const float* w = bf16 ? operand({weight_bf16, true}, vocab * dim, w_values) : weight;
    ClassifierGrad grad{token_weights, loss, d_hidden, d_weight};
    return classifier_forward_backward(hidden, w, targets, n, vocab, dim, want_grad ? &grad : nullptr, token_logprobs,
                                       bf16 ? Precision::BF16 : Precision::FP32, bf16);
  }

 private:
  static const float* operand(GemmOperand x, int64_t count, std::vector<float>& values) {
    if (!x.bf16) return static_cast<const float*>(x.data);
    const auto* bits = static_cast<const uint16_t*>(x.data);
    values.resize(count);
    for (int64_t i = 0; i < count; ++i) values[i] = bf16_to_f32(bits[i]);
    return values.data();
  }
  // AdamW (the update count advanced) on the slice's parameters, with the (clipped) gradients.
  void adamw_on_slice(const TrainOptimizerStep& s) {
    const int64_t step = ++updates_;
    const double bias1 = 1.0 - std::pow(s.beta1, static_cast<double>(step));
    const double bias2 = 1.0 - std::pow(s.beta2, static_cast<double>(step));
    const float step_size = static_cast<float>(s.lr / bias1), bias2_sqrt = static_cast<float>(std::sqrt(bias2));
    const float eps = static_cast<float>(s.epsilon), fb1 = static_cast<float>(s.beta1), fb2 = static_cast<float>(s.beta2);
    const float decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
    for (int64_t i = slice_.begin; i < slice_.end; ++i) {
      float& m = m_[i - slice_.begin];
      float& v = v_[i - slice_.begin];
      if (mask_[i]) params_[i] *= decay;
      m = fb1 * m + (1.0f - fb1) * grads_[i];
      v = fb2 * v + (1.0f - fb2) * grads_[i] * grads_[i];
      params_[i] -= step_size * m / (std::sqrt(v) / bias2_sqrt + eps);
    }
  }

  int64_t total_ = 0;
  OptimizerSlice slice_;
  float sum_sq_ = 0.0f;  // the "device float" of slice_gradient_sum_of_squares
  std::vector<float> params_, grads_, m_, v_;
  std::vector<uint16_t> bf16_;
  std::vector<uint8_t> mask_;
  int64_t updates_ = 0;
  std::vector<RopeTable> ropes_;
  std::unordered_map<void*, size_t> sizes_;
  size_t in_use_ = 0, peak_ = 0;
};

}  // namespace tt::testing
