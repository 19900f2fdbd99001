// The training step's view of a GPU, with no CUDA header: the CUDA plugin implements this interface
// (kernels/cuda/train_device.cu) and hands it out through the C entry point tt_cuda_train_device, so
// model/device_transformer.h runs the layer recipe and its backward on the device while the binary
// links no CUDA library (as kernels/generation_device.h does for inference). Pointers are device
// memory; every call is queued on the object's stream; errors are std::runtime_error with one line
// naming the call. The kernels are those of kernels/cuda/ops.h, classifier.h and gemm.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/classifier.h"
#include "kernels/rope_params.h"

namespace tt {

struct TrainAttentionShape {  // as tt::cuda::AttentionShape
  int64_t batch = 1, seq = 1, heads = 1, kv_heads = 1, head_dim = 1;
  bool bf16 = false;  // bf16 operands (fp32 softmax and accumulation) where the device has such a path
};

// One AdamW update (train/optimizer.h semantics); the step count is the device's.
struct TrainOptimizerStep {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0;
  double max_grad_norm = 0;  // > 0: clip the global gradient norm to it
};

// ZeRO-1 (train/train_step.h): the parameters [begin, end) whose AdamW moments this device holds
// and updates, and the length of its fp32 parameter and gradient buffers, padded past the last
// parameter to the ranks' equal chunks (NCCL's reduce-scatter and all-gather work in place on
// equal chunks at rank x chunk). Every parameter, unpadded: {0, total, total}.
struct OptimizerSlice {
  int64_t begin = 0, end = 0, padded_total = 0;
  int64_t size() const { return end - begin; }
};

// Operands of a GEMM: fp32 values, or bf16 bits (the parameters' bf16 working copy).
struct GemmOperand {
  const void* data = nullptr;
  bool bf16 = false;
};

class TrainDevice {
 public:
  virtual ~TrainDevice() = default;

  // ---- memory (bytes) ----
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void upload(void* device, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* device, size_t bytes) = 0;  // waits for the stream
  virtual void copy(void* to, const void* from, size_t bytes) = 0;  // device to device
  virtual void zero(void* device, size_t bytes) = 0;
  virtual void synchronize() = 0;
  // The most bytes this object held at once (its allocations, the parameter buffers, scratch).
  virtual size_t peak_bytes_in_use() = 0;
  // cudaMemGetInfo: free and total bytes of the device (every process and library included).
  virtual void memory_info(size_t& free_bytes, size_t& total_bytes) = 0;

  // ---- the parameter buffers (kernels/cuda/train_buffers.h), in the host ParameterLayout ----
  // `slice`: the moments' part (ZeRO-1) and the padded length of params() and grads() (the padding
  // is zero and belongs to no parameter).
  virtual void create_parameters(int64_t total, const std::vector<uint8_t>& decay_mask,
                                 const OptimizerSlice& slice) = 0;
  virtual float* params() = 0;           // fp32 master weights
  virtual const uint16_t* params_bf16() = 0;  // bf16 working copy (refreshed by uploads and updates)
  virtual float* grads() = 0;
  virtual void upload_parameters(const float* host) = 0;
  virtual void download_parameters(float* host) = 0;
  // m and v: the moments of the slice (slice.size() floats each).
  virtual void upload_moments(const float* m, const float* v, int64_t step) = 0;
  virtual void download_moments(float* m, float* v) = 0;
  virtual int64_t optimizer_updates() = 0;
  virtual void zero_gradients() = 0;
  // Global gradient norm, clipping and the fused AdamW; returns the pre-clip norm. The norm is
  // checked before the update: when it is not finite nothing is applied (weights, bf16 copy,
  // moments and update count unchanged). Every parameter (the slice must be all of them).
  virtual double optimizer_step(const TrainOptimizerStep& step) = 0;
  // ZeRO-1's step in three parts, the ranks' collectives between them:
  //  1. the sum of the squared gradients of the slice, queued into one device float (returned):
  //     the ranks all-reduce it in place into the global sum;
  virtual float* slice_gradient_sum_of_squares() = 0;
  //  2. the norm sqrt(that sum), checked as optimizer_step does, then the clip and AdamW on the
  //     slice's fp32 parameters and moments only; returns the pre-clip norm;
  virtual double sharded_optimizer_step(const TrainOptimizerStep& step) = 0;
  //  3. after the ranks' updated slices are all-gathered into params(): the bf16 copy of all of them.
  virtual void refresh_params_bf16() = 0;

  // ---- the kernels, forward and backward (fp32 activations; as kernels/cpu/*.h) ----
  virtual void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) = 0;
  virtual void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim) = 0;
  // weight == nullptr: the weightless QK norm. rstd may be nullptr.
  virtual void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                               float eps) = 0;
  virtual void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                                const float* rstd, int64_t rows, int64_t dim) = 0;
  virtual void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd,
                                           int64_t rows, int64_t dim) = 0;
  // A RoPE table (host cos/sin [max_positions, head_dim/2]) copied to the device; returns its id.
  virtual int rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions, const std::vector<float>& cos,
                         const std::vector<float>& sin) = 0;
  virtual void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, int table) = 0;
  virtual void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, int table) = 0;
  virtual void swiglu_forward(float* out, const float* gate, const float* up, int64_t count) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                               int64_t count) = 0;
  virtual void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                 const int32_t* doc_start, const TrainAttentionShape& shape) = 0;
  // dq, dk, dv overwritten.
  virtual void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                                  const float* lse, const float* q, const float* k, const float* v,
                                  const int32_t* doc_start, const TrainAttentionShape& shape) = 0;
  // y[i] += x[i].
  virtual void add(float* y, const float* x, int64_t n) = 0;
  // c[m, n] (+)= op(a)[m, k] · op(b)[k, n] (kernels/cpu/matmul.h conventions, row-major). bf16: both
  // operands are rounded to bf16 (fp32 operands into scratch), fp32 accumulation; else fp32 (no TF32).
  virtual void gemm(GemmOperand a, GemmOperand b, float* c, int64_t m, int64_t n, int64_t k, bool trans_a,
                    bool trans_b, bool accumulate, bool bf16) = 0;
  // The chunked classifier + loss of kernels/cuda/classifier.h (one synchronisation). weight_bf16 is
  // required in bf16 mode; token_weights, d_hidden and d_weight are used when want_grad.
  virtual ClassifierStats classifier(const float* hidden, const float* weight, const uint16_t* weight_bf16,
                                     const int32_t* targets, int64_t n, int64_t vocab, int64_t dim, bool want_grad,
                                     const float* token_weights, TokenLoss loss, float* d_hidden, float* d_weight,
                                     float* token_logprobs, bool bf16) = 0;
};

// The training interface of CUDA device `index` through the loaded plugin; a tt::Error naming the
// device and the reason (no plugin, no device, another plugin version) when there is none.
std::unique_ptr<TrainDevice> open_train_device(int index);

}  // namespace tt

extern "C" {
// Bumped whenever TrainDevice changes.
inline constexpr int kTtTrainDeviceAbi = 3;
// A new TrainDevice on CUDA device `index` (the caller deletes it), or nullptr with a one-line reason.
using TtCudaTrainDeviceFn = tt::TrainDevice* (*)(int index, int abi, char* error, size_t error_size);
}
