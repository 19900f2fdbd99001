// The CUDA backend's kernels, one host function per op, mirroring kernels/cpu/*.h: same names,
// argument order and layouts (see the CPU headers for the math), plus the stream. Every pointer is
// device memory owned by the caller; no function keeps host state. fp32 activations and gradients;
// the GEMMs (gemm.h) take bf16 or fp32 operands with fp32 accumulation.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "kernels/rope_params.h"

namespace tt::cuda {

// ---- embedding: out[i] = table[ids[i]] ; dtable[ids[i]] += dout[i] (atomic scatter-add) ----
// out, dout: [n, dim]; table, dtable: [vocab, dim]; ids: [n] in [0, vocab).
void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim, cudaStream_t stream);
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim,
                        cudaStream_t stream);

// ---- RMSNorm (weight == nullptr: the weightless QK L2 norm), as kernels/cpu/rmsnorm.h ----
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                     cudaStream_t stream);
// dweight (when weight and dweight are set) is accumulated.
void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                      const float* rstd, int64_t rows, int64_t dim, cudaStream_t stream);
void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                 int64_t dim, cudaStream_t stream);

// ---- RoPE: the table is the CPU RopeTable's cos/sin arrays copied to the device ----
struct DeviceRopeTable {
  RopeStyle style = RopeStyle::Interleaved;
  int64_t head_dim = 0, max_positions = 0;
  const float* cos = nullptr;  // [max_positions, head_dim/2]
  const float* sin = nullptr;
};
// Copies a CPU RopeTable's cos/sin arrays to the device (the training and generation devices' rope_table);
// free_rope_table releases them.
DeviceRopeTable upload_rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions,
                                  const std::vector<float>& cos, const std::vector<float>& sin);
void free_rope_table(const DeviceRopeTable& table);
// x: [tokens, heads, head_dim] rotated in place; positions: [tokens] (must lie in the table).
void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, const DeviceRopeTable& table,
                  cudaStream_t stream);
void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, const DeviceRopeTable& table,
                   cudaStream_t stream);

// ---- SwiGLU ----
void swiglu_forward(float* out, const float* gate, const float* up, int64_t count, cudaStream_t stream);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t count,
                     cudaStream_t stream);

// ---- global gradient norm and fused AdamW (kernels/../train/optimizer.h semantics) ----
// sum_sq (one float) is overwritten with sum(g^2), reduced on the device.
void grad_norm_squared(float* sum_sq, const float* grads, int64_t n, cudaStream_t stream);
struct AdamWStep {
  double lr = 0;  // doubles, as the CPU optimizer's config
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0;
  int64_t step = 1;             // 1-based update count (bias correction)
  double max_grad_norm = 0;     // > 0: scale gradients by max/(norm + 1e-6) when norm > max
  const float* grad_sum_sq = nullptr;  // device: from grad_norm_squared (needed when max_grad_norm > 0)
};
// params, m, v, grads: [n]; decay_mask: [n] bytes or nullptr (decay everywhere); bf16_copy: optional
// [n] bf16 working copy refreshed from the updated fp32 master weights.
void adamw_update(float* params, float* m, float* v, const float* grads, const uint8_t* decay_mask,
                  uint16_t* bf16_copy, int64_t n, const AdamWStep& step, cudaStream_t stream);

// ---- precision helpers ----
void round_to_bf16(uint16_t* out, const float* in, int64_t n, cudaStream_t stream);

// ---- causal GQA attention with per-document boundaries, as kernels/cpu/attention.h ----
struct AttentionShape {
  int64_t batch = 1, seq = 1, heads = 1, kv_heads = 1, head_dim = 1;
  // bf16 operands on the tensor cores (fp32 softmax and accumulation) where the shape allows
  // (attention_tensor_cores.h); false: fp32 throughout.
  bool bf16 = false;
};
// Floats of the scratch that attention_forward and attention_backward take for this shape: the
// backward's rowwise dout·out ([B, heads, T]) and the bf16 operand copies of the tensor-core kernels
// that stage them (attention_tensor_cores.h). One buffer serves both calls.
int64_t attention_scratch_floats(const AttentionShape& shape);
// Flash-style: the forward saves the log-sum-exp per (b, h, t); no T x T buffer anywhere.
// head_dim at most 256. scratch: attention_scratch_floats(shape) floats.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* doc_start, const AttentionShape& shape, float* scratch, cudaStream_t stream);
// dq, dk, dv overwritten. scratch: attention_scratch_floats(shape) floats.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, const int32_t* doc_start,
                        const AttentionShape& shape, float* scratch, cudaStream_t stream);

}  // namespace tt::cuda
