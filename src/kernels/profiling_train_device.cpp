#include "kernels/profiling_train_device.h"

#include "core/op_profile.h"

namespace tt {

namespace {

class ProfilingTrainDevice final : public TrainDevice {
 public:
  explicit ProfilingTrainDevice(std::unique_ptr<TrainDevice> inner) : d_(std::move(inner)) {}

  // Runs `call` on the device inside a scope named `name`, waiting for it before the scope closes.
  template <typename Call>
  auto timed(const char* name, Call&& call) {
    OpScope scope(name);
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      d_->synchronize();
    } else {
      auto result = call();
      d_->synchronize();
      return result;
    }
  }

  void* allocate(size_t bytes) override { return d_->allocate(bytes); }
  void release(void* pointer) override { d_->release(pointer); }
  void upload(void* device, const void* host, size_t bytes) override {
    timed("device upload", [&] { d_->upload(device, host, bytes); });
  }
  void download(void* host, const void* device, size_t bytes) override {
    timed("device download", [&] { d_->download(host, device, bytes); });
  }
  void copy(void* to, const void* from, size_t bytes) override {
    timed("device copy", [&] { d_->copy(to, from, bytes); });
  }
  void zero(void* device, size_t bytes) override { timed("device zero", [&] { d_->zero(device, bytes); }); }
  void synchronize() override { d_->synchronize(); }
  size_t peak_bytes_in_use() override { return d_->peak_bytes_in_use(); }
  void memory_info(size_t& free_bytes, size_t& total_bytes) override { d_->memory_info(free_bytes, total_bytes); }

  void create_parameters(int64_t total, const std::vector<uint8_t>& decay_mask, const OptimizerSlice& slice) override {
    d_->create_parameters(total, decay_mask, slice);
  }
  float* params() override { return d_->params(); }
  const uint16_t* params_bf16() override { return d_->params_bf16(); }
  float* grads() override { return d_->grads(); }
  void upload_parameters(const float* host) override { d_->upload_parameters(host); }
  void download_parameters(float* host) override { d_->download_parameters(host); }
  void upload_moments(const float* m, const float* v, int64_t step) override { d_->upload_moments(m, v, step); }
  void download_moments(float* m, float* v) override { d_->download_moments(m, v); }
  int64_t optimizer_updates() override { return d_->optimizer_updates(); }
  void zero_gradients() override { timed("zero gradients", [&] { d_->zero_gradients(); }); }
  double optimizer_step(const TrainOptimizerStep& step) override {
    return timed("optimizer (norm, clip, adamw)", [&] { return d_->optimizer_step(step); });
  }
  float* slice_gradient_sum_of_squares() override {
    return timed("optimizer (slice norm)", [&] { return d_->slice_gradient_sum_of_squares(); });
  }
  double sharded_optimizer_step(const TrainOptimizerStep& step) override {
    return timed("optimizer (clip, adamw on the slice)", [&] { return d_->sharded_optimizer_step(step); });
  }
  void refresh_params_bf16() override { timed("bf16 copy refresh", [&] { d_->refresh_params_bf16(); }); }

  void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) override {
    timed("embedding fwd", [&] { d_->embedding_forward(out, table, ids, n, dim); });
  }
  void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim) override {
    timed("embedding bwd", [&] { d_->embedding_backward(dtable, dout, ids, n, dim); });
  }
  void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                       float eps) override {
    timed(weight ? "rmsnorm fwd" : "qk l2norm fwd", [&] { d_->rmsnorm_forward(y, rstd, x, weight, rows, dim, eps); });
  }
  void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                        const float* rstd, int64_t rows, int64_t dim) override {
    timed("rmsnorm bwd", [&] { d_->rmsnorm_backward(dx, dweight, dy, x, weight, rstd, rows, dim); });
  }
  void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                   int64_t dim) override {
    timed("qk l2norm bwd", [&] { d_->l2norm_backward_from_output(dx, dy, y, rstd, rows, dim); });
  }
  int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                 const std::vector<float>& sin) override {
    return d_->rope_table(style, head_dim, max_positions, cos, sin);
  }
  void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    timed("rope fwd", [&] { d_->rope_forward(x, positions, tokens, heads, table); });
  }
  void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    timed("rope bwd", [&] { d_->rope_backward(dx, positions, tokens, heads, table); });
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) override {
    timed("swiglu fwd", [&] { d_->swiglu_forward(out, gate, up, count); });
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t count) override {
    timed("swiglu bwd", [&] { d_->swiglu_backward(dgate, dup, dout, gate, up, count); });
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                         const int32_t* doc_start, const TrainAttentionShape& shape) override {
    timed("attention fwd", [&] { d_->attention_forward(out, lse, q, k, v, doc_start, shape); });
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                          const float* q, const float* k, const float* v, const int32_t* doc_start,
                          const TrainAttentionShape& shape) override {
    timed("attention bwd", [&] { d_->attention_backward(dq, dk, dv, dout, out, lse, q, k, v, doc_start, shape); });
  }
  void add(float* y, const float* x, int64_t n) override { timed("residual add", [&] { d_->add(y, x, n); }); }
  void gemm(GemmOperand a, GemmOperand b, float* c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
            bool accumulate, bool bf16) override {
    timed("matmul", [&] { d_->gemm(a, b, c, m, n, k, trans_a, trans_b, accumulate, bf16); });
  }
  ClassifierStats classifier(const float* hidden, const float* weight, const uint16_t* weight_bf16,
                             const int32_t* targets, int64_t n, int64_t vocab, int64_t dim, bool want_grad,
                             const float* token_weights, TokenLoss loss, float* d_hidden, float* d_weight,
                             float* token_logprobs, bool bf16) override {
    return timed("classifier + loss", [&] {
      return d_->classifier(hidden, weight, weight_bf16, targets, n, vocab, dim, want_grad, token_weights, loss,
                            d_hidden, d_weight, token_logprobs, bf16);
    });
  }

 private:
  std::unique_ptr<TrainDevice> d_;
};

}  // namespace

std::unique_ptr<TrainDevice> profiled_train_device(std::unique_ptr<TrainDevice> inner) {
  return std::make_unique<ProfilingTrainDevice>(std::move(inner));
}

}  // namespace tt
