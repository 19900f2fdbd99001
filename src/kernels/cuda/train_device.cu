// The CUDA implementation of kernels/train_device.h: one stream, one cuBLASLt handle, the parameter
// buffers (train_buffers.h), the RoPE tables and the scratch the bf16 GEMMs and the attention
// backward need; each call forwarded to the kernels of ops.h, classifier.h and gemm.h.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/classifier.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/train_buffers.h"
#include "kernels/train_device.h"

namespace tt::cuda {

namespace {

__global__ void add_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

static_assert(sizeof(TrainAttentionShape) == sizeof(AttentionShape), "TrainAttentionShape mirrors AttentionShape");

AdamWStep adamw_step(const TrainOptimizerStep& s) {
  AdamWStep step;
  step.lr = s.lr;
  step.beta1 = s.beta1;
  step.beta2 = s.beta2;
  step.epsilon = s.epsilon;
  step.weight_decay = s.weight_decay;
  step.max_grad_norm = s.max_grad_norm;
  return step;
}

// Classifier chunk: rows of logits held at once (chunk_rows x vocab floats).
constexpr int64_t kClassifierChunkRows = 1024;

class CudaTrainDevice final : public TrainDevice {
 public:
  explicit CudaTrainDevice(int index) {
    TT_CUDA_CHECK(cudaSetDevice(index));
    TT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    blas_ = std::make_unique<Blas>();
  }
  ~CudaTrainDevice() override {
    classifier_.reset();
    buffers_.reset();
    blas_.reset();
    for (const auto& t : ropes_) free_rope_table(t);
    for (Scratch* s : {&attention_scratch_, &gemm_a_, &gemm_b_}) cudaFree(s->data);
    for (auto& [p, bytes] : sizes_) cudaFree(p);
    cudaStreamDestroy(stream_);
  }

  void* allocate(size_t bytes) override {
    void* p = nullptr;
    TT_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    sizes_[p] = bytes;
    note_use(static_cast<int64_t>(bytes));
    return p;
  }
  void release(void* pointer) override {
    if (!pointer) return;
    auto it = sizes_.find(pointer);
    if (it == sizes_.end()) throw std::runtime_error("train device: release of a pointer it did not allocate");
    in_use_ -= it->second;
    sizes_.erase(it);
    TT_CUDA_CHECK(cudaFree(pointer));
  }
  void upload(void* device, const void* host, size_t bytes) override {
    if (bytes == 0) return;
    TT_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
    TT_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the host buffer may change right after
  }
  void download(void* host, const void* device, size_t bytes) override {
    if (bytes == 0) return;
    TT_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_));
    TT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy(void* to, const void* from, size_t bytes) override {
    if (bytes) TT_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void zero(void* device, size_t bytes) override {
    if (bytes) TT_CUDA_CHECK(cudaMemsetAsync(device, 0, bytes, stream_));
  }
  void synchronize() override { TT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  size_t peak_bytes_in_use() override { return static_cast<size_t>(peak_); }
  void memory_info(size_t& free_bytes, size_t& total_bytes) override {
    TT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  }

  void create_parameters(int64_t total, const std::vector<uint8_t>& decay_mask, const OptimizerSlice& slice) override {
    if (buffers_) in_use_ -= buffers_->device_bytes();
    buffers_.reset();
    buffers_ = std::make_unique<DeviceTrainBuffers>(total, decay_mask, slice);
    TT_CUDA_CHECK(cudaDeviceSynchronize());  // its copies and memsets ran on the legacy stream
    note_use(static_cast<int64_t>(buffers_->device_bytes()));
  }
  float* params() override { return buffers().params; }
  const uint16_t* params_bf16() override { return buffers().params_bf16; }
  float* grads() override { return buffers().grads; }
  void upload_parameters(const float* host) override {
    synchronize();
    buffers().upload_parameters(host);
  }
  void download_parameters(float* host) override {
    synchronize();
    buffers().download_parameters(host);
  }
  void upload_moments(const float* m, const float* v, int64_t step) override {
    synchronize();
    buffers().upload_moments(m, v, step);
    TT_CUDA_CHECK(cudaDeviceSynchronize());  // pageable copies on the legacy stream, which ours does not wait for
  }
  void download_moments(float* m, float* v) override {
    synchronize();
    buffers().download_moments(m, v);
  }
  int64_t optimizer_updates() override { return buffers().updates(); }
  void zero_gradients() override { buffers().zero_gradients(stream_); }
  double optimizer_step(const TrainOptimizerStep& s) override { return buffers().optimizer_step(adamw_step(s), stream_); }
  float* slice_gradient_sum_of_squares() override { return buffers().slice_sum_of_squares(stream_); }
  double sharded_optimizer_step(const TrainOptimizerStep& s) override {
    return buffers().slice_optimizer_step(adamw_step(s), stream_);
  }
  void refresh_params_bf16() override { buffers().refresh_bf16(stream_); }

  void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) override {
    if (n > 0) cuda::embedding_forward(out, table, ids, n, dim, stream_);
  }
  void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim) override {
    if (n > 0) cuda::embedding_backward(dtable, dout, ids, n, dim, stream_);
  }
  void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                       float eps) override {
    if (rows > 0) cuda::rmsnorm_forward(y, rstd, x, weight, rows, dim, eps, stream_);
  }
  void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                        const float* rstd, int64_t rows, int64_t dim) override {
    if (rows > 0) cuda::rmsnorm_backward(dx, dweight, dy, x, weight, rstd, rows, dim, stream_);
  }
  void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                   int64_t dim) override {
    if (rows > 0) cuda::l2norm_backward_from_output(dx, dy, y, rstd, rows, dim, stream_);
  }
  int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                 const std::vector<float>& sin) override {
    ropes_.push_back(upload_rope_table(style, head_dim, max_positions, cos, sin));
    note_use(static_cast<int64_t>(sizeof(float) * (cos.size() + sin.size())));
    return static_cast<int>(ropes_.size()) - 1;
  }
  void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    if (tokens > 0) cuda::rope_forward(x, positions, tokens, heads, rope(table), stream_);
  }
  void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, int table) override {
    if (tokens > 0) cuda::rope_backward(dx, positions, tokens, heads, rope(table), stream_);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) override {
    if (count > 0) cuda::swiglu_forward(out, gate, up, count, stream_);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t count) override {
    if (count > 0) cuda::swiglu_backward(dgate, dup, dout, gate, up, count, stream_);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                         const int32_t* doc_start, const TrainAttentionShape& shape) override {
    const cuda::AttentionShape s = attention_shape(shape);
    cuda::attention_forward(out, lse, q, k, v, doc_start, s, grow(attention_scratch_, cuda::attention_scratch_floats(s)),
                            stream_);
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                          const float* q, const float* k, const float* v, const int32_t* doc_start,
                          const TrainAttentionShape& shape) override {
    const cuda::AttentionShape s = attention_shape(shape);
    cuda::attention_backward(dq, dk, dv, dout, out, lse, q, k, v, doc_start, s,
                             grow(attention_scratch_, cuda::attention_scratch_floats(s)), stream_);
  }
  void add(float* y, const float* x, int64_t n) override {
    if (n == 0) return;
    add_kernel<<<blocks_for(n, 256), 256, 0, stream_>>>(y, x, n);
    TT_CUDA_CHECK_LAUNCH();
  }
  void gemm(GemmOperand a, GemmOperand b, float* c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
            bool accumulate, bool bf16) override {
    if (m == 0 || n == 0) return;
    const void* a_data = a.data;
    const void* b_data = b.data;
    if (bf16) {
      if (!a.bf16) a_data = rounded(gemm_a_, static_cast<const float*>(a.data), m * k);
      if (!b.bf16) b_data = rounded(gemm_b_, static_cast<const float*>(b.data), k * n);
    } else if (a.bf16 || b.bf16) {
      throw std::runtime_error("train device gemm: a bf16 operand in an fp32 product");
    }
    blas_->gemm(a_data, b_data, c, m, n, k,
                {.trans_a = trans_a, .trans_b = trans_b, .accumulate = accumulate,
                 .type = bf16 ? GemmType::BF16 : GemmType::F32},
                stream_);
  }
  ClassifierStats classifier(const float* hidden, const float* weight, const uint16_t* weight_bf16,
                             const int32_t* targets, int64_t n, int64_t vocab, int64_t dim, bool want_grad,
                             const float* token_weights, TokenLoss loss, float* d_hidden, float* d_weight,
                             float* token_logprobs, bool bf16) override {
    if (!classifier_ || classifier_->vocab != vocab || classifier_->dim != dim) {
      if (classifier_) in_use_ -= classifier_bytes(*classifier_);
      classifier_.reset();
      classifier_ = std::make_unique<ClassifierWorkspace>(kClassifierChunkRows, vocab, dim);
      note_use(static_cast<int64_t>(classifier_bytes(*classifier_)));
    }
    DeviceClassifierGrad grad{token_weights, loss, d_hidden, d_weight};
    return classifier_forward_backward(*blas_, *classifier_, hidden, weight, weight_bf16, targets, n,
                                       want_grad ? &grad : nullptr, token_logprobs,
                                       bf16 ? GemmType::BF16 : GemmType::F32, stream_);
  }

 private:
  struct Scratch {
    void* data = nullptr;
    size_t bytes = 0;
  };
  static size_t classifier_bytes(const ClassifierWorkspace& w) {
    return sizeof(float) * w.chunk_rows * w.vocab + sizeof(uint16_t) * w.chunk_rows * (w.dim + w.vocab) +
           3 * sizeof(double);
  }
  static AttentionShape attention_shape(const TrainAttentionShape& s) {
    return {s.batch, s.seq, s.heads, s.kv_heads, s.head_dim, s.bf16};
  }
  DeviceTrainBuffers& buffers() {
    if (!buffers_) throw std::runtime_error("train device: parameters used before create_parameters");
    return *buffers_;
  }
  const DeviceRopeTable& rope(int table) const {
    if (table < 0 || table >= static_cast<int>(ropes_.size()))
      throw std::runtime_error("train device: RoPE table " + std::to_string(table) + " does not exist");
    return ropes_[table];
  }
  void note_use(int64_t bytes) {
    in_use_ += bytes;
    peak_ = std::max(peak_, in_use_);
  }
  template <typename T>
  T* grow(Scratch& s, int64_t count) {
    const size_t bytes = sizeof(T) * static_cast<size_t>(std::max<int64_t>(count, 1));
    if (s.bytes < bytes) {
      TT_CUDA_CHECK(cudaStreamSynchronize(stream_));
      if (s.data) TT_CUDA_CHECK(cudaFree(s.data));
      in_use_ -= s.bytes;
      s.data = nullptr;
      TT_CUDA_CHECK(cudaMalloc(&s.data, bytes));
      s.bytes = bytes;
      note_use(static_cast<int64_t>(bytes));
    }
    return static_cast<T*>(s.data);
  }
  float* grow(Scratch& s, int64_t count) { return grow<float>(s, count); }
  const uint16_t* rounded(Scratch& s, const float* x, int64_t count) {
    uint16_t* out = grow<uint16_t>(s, count);
    round_to_bf16(out, x, count, stream_);
    return out;
  }

  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Blas> blas_;
  std::unique_ptr<DeviceTrainBuffers> buffers_;
  std::unique_ptr<ClassifierWorkspace> classifier_;
  std::vector<DeviceRopeTable> ropes_;
  Scratch attention_scratch_, gemm_a_, gemm_b_;
  std::unordered_map<void*, size_t> sizes_;
  int64_t in_use_ = 0, peak_ = 0;
};

}  // namespace

}  // namespace tt::cuda

extern "C" __attribute__((visibility("default"))) tt::TrainDevice* tt_cuda_train_device(int index, int abi, char* error,
                                                                                         size_t error_size) {
  if (abi != kTtTrainDeviceAbi) {
    std::snprintf(error, error_size, "the CUDA plugin's training interface is version %d, the binary's %d",
                  kTtTrainDeviceAbi, abi);
    return nullptr;
  }
  try {
    return new tt::cuda::CudaTrainDevice(index);
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}
