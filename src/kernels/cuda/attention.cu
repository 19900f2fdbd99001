// Causal grouped-query attention with per-document boundaries, flash-style: one warp per query row
// streams over its keys with an online softmax; the forward keeps only the log-sum-exp, and the
// backward recomputes each probability from it. No T x T buffer exists. Layouts as kernels/cpu/attention.h.
// These simple kernels (one warp per row, no shared-memory tiling) are the fp32 path and the fallback;
// shapes marked bf16 go to the tensor-core kernels of attention_tensor_cores.cu where they fit.
#include <cmath>

#include "kernels/cuda/attention_tensor_cores.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/reduce.cuh"

namespace tt::cuda {

namespace {

constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / 32;
constexpr int kWarpsPerBlock = 4;

struct RowIndex {
  int64_t b, h, t, kv_head;
  bool valid;
};

__device__ RowIndex row_of_warp(const AttentionShape& s) {
  const int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;  // over B * H * T
  RowIndex r;
  r.valid = row < s.batch * s.heads * s.seq;
  r.t = row % s.seq;
  r.h = (row / s.seq) % s.heads;
  r.b = row / (s.seq * s.heads);
  r.kv_head = r.h / (s.heads / s.kv_heads);
  return r;
}

// Loads lane's share of a head vector (element lane + 32 i) into registers.
__device__ __forceinline__ void load_head(float (&dst)[kPerLane], const float* src, int64_t dim, float scale) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dst[i] = lane + 32 * i < dim ? src[lane + 32 * i] * scale : 0.0f;
}

__device__ __forceinline__ float dot_head(const float (&a)[kPerLane], const float* b, int64_t dim) {
  const int lane = threadIdx.x % 32;
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i)
    if (lane + 32 * i < dim) sum += a[i] * b[lane + 32 * i];
  return warp_sum(sum);
}

__global__ void attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                         const int32_t* doc_start, AttentionShape s) {
  const RowIndex r = row_of_warp(s);
  if (!r.valid) return;
  const int lane = threadIdx.x % 32;
  const int64_t D = s.head_dim, ldq = s.heads * D, ldk = s.kv_heads * D;
  const int64_t token = r.b * s.seq + r.t;
  float qr[kPerLane], acc[kPerLane];
  load_head(qr, q + token * ldq + r.h * D, D, rsqrtf(float(D)));
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) acc[i] = 0.0f;
  float running_max = -INFINITY, running_sum = 0.0f;
  const int64_t first = doc_start ? doc_start[token] : 0;
  for (int64_t j = first; j <= r.t; ++j) {
    const int64_t key = r.b * s.seq + j;
    const float score = dot_head(qr, k + key * ldk + r.kv_head * D, D);
    const float new_max = fmaxf(running_max, score);
    const float rescale = expf(running_max - new_max), p = expf(score - new_max);
    running_sum = running_sum * rescale + p;
    const float* vj = v + key * ldk + r.kv_head * D;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      if (lane + 32 * i < D) acc[i] = acc[i] * rescale + p * vj[lane + 32 * i];
    running_max = new_max;
  }
  float* o = out + token * ldq + r.h * D;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i)
    if (lane + 32 * i < D) o[lane + 32 * i] = acc[i] / running_sum;
  if (lane == 0) lse[(r.b * s.heads + r.h) * s.seq + r.t] = running_max + logf(running_sum);
}

// delta[b,h,t] = dout · out (the row term of the softmax backward).
__global__ void attention_delta_kernel(float* delta, const float* dout, const float* out, AttentionShape s) {
  const RowIndex r = row_of_warp(s);
  if (!r.valid) return;
  const int64_t D = s.head_dim, offset = (r.b * s.seq + r.t) * s.heads * D + r.h * D;
  float dout_row[kPerLane];
  load_head(dout_row, dout + offset, D, 1.0f);
  const float d = dot_head(dout_row, out + offset, D);
  if (threadIdx.x % 32 == 0) delta[(r.b * s.heads + r.h) * s.seq + r.t] = d;
}

// Per query row: p_j = exp(q·k_j scale - lse); dv_j += p_j dout; ds_j = p_j (dout·v_j - delta);
// dq = scale sum_j ds_j k_j; dk_j += scale ds_j q. dk and dv are shared by rows: atomic adds.
__global__ void attention_backward_kernel(float* dq, float* dk, float* dv, const float* dout, const float* lse,
                                          const float* delta, const float* q, const float* k, const float* v,
                                          const int32_t* doc_start, AttentionShape s) {
  const RowIndex r = row_of_warp(s);
  if (!r.valid) return;
  const int lane = threadIdx.x % 32;
  const int64_t D = s.head_dim, ldq = s.heads * D, ldk = s.kv_heads * D;
  const int64_t token = r.b * s.seq + r.t;
  const float scale = rsqrtf(float(D));
  float qr[kPerLane], dout_row[kPerLane], dq_row[kPerLane];
  load_head(qr, q + token * ldq + r.h * D, D, 1.0f);
  load_head(dout_row, dout + token * ldq + r.h * D, D, 1.0f);
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dq_row[i] = 0.0f;
  const int64_t stat = (r.b * s.heads + r.h) * s.seq + r.t;
  const float row_lse = lse[stat], row_delta = delta[stat];
  const int64_t first = doc_start ? doc_start[token] : 0;
  for (int64_t j = first; j <= r.t; ++j) {
    const int64_t key = (r.b * s.seq + j) * ldk + r.kv_head * D;
    const float p = expf(dot_head(qr, k + key, D) * scale - row_lse);
    const float ds = p * (dot_head(dout_row, v + key, D) - row_delta);
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int64_t d = lane + 32 * i;
      if (d >= D) continue;
      atomicAdd(&dv[key + d], p * dout_row[i]);
      atomicAdd(&dk[key + d], scale * ds * qr[i]);
      dq_row[i] += scale * ds * k[key + d];
    }
  }
  float* dqr = dq + token * ldq + r.h * D;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i)
    if (lane + 32 * i < D) dqr[lane + 32 * i] = dq_row[i];
}

void check_shape(const AttentionShape& s) {
  if (s.head_dim > kMaxHeadDim || s.head_dim < 1 || s.kv_heads < 1 || s.heads % s.kv_heads != 0)
    throw std::runtime_error("attention: unsupported shape (head_dim " + std::to_string(s.head_dim) + ", heads " +
                             std::to_string(s.heads) + ", kv_heads " + std::to_string(s.kv_heads) + ")");
}

unsigned row_blocks(const AttentionShape& s) {
  return static_cast<unsigned>((s.batch * s.heads * s.seq + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

// The scratch's layout: the backward's rowwise dout·out, then (16-byte aligned) the tensor-core
// kernels' bf16 operand copies.
int64_t delta_floats(const AttentionShape& s) { return (s.batch * s.heads * s.seq + 3) / 4 * 4; }
uint16_t* operand_copies(float* scratch, const AttentionShape& s) {
  return reinterpret_cast<uint16_t*>(scratch + delta_floats(s));
}

}  // namespace

int64_t attention_scratch_floats(const AttentionShape& shape) {
  return delta_floats(shape) + (tensor_core_attention_copy_elements(shape) + 1) / 2;
}

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* doc_start, const AttentionShape& shape, float* scratch, cudaStream_t stream) {
  check_shape(shape);
  if (tensor_core_attention_supports(shape, {out, q, k, v}))
    return tensor_core_attention_forward(out, lse, q, k, v, doc_start, shape, operand_copies(scratch, shape), stream);
  attention_forward_kernel<<<row_blocks(shape), 32 * kWarpsPerBlock, 0, stream>>>(out, lse, q, k, v, doc_start, shape);
  TT_CUDA_CHECK_LAUNCH();
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, const int32_t* doc_start,
                        const AttentionShape& shape, float* scratch, cudaStream_t stream) {
  check_shape(shape);
  if (tensor_core_attention_supports(shape, {dq, dk, dv, dout, out, q, k, v})) {
    attention_delta_kernel<<<row_blocks(shape), 32 * kWarpsPerBlock, 0, stream>>>(scratch, dout, out, shape);
    TT_CUDA_CHECK_LAUNCH();
    return tensor_core_attention_backward(dq, dk, dv, dout, lse, scratch, q, k, v, doc_start, shape,
                                          operand_copies(scratch, shape), stream);
  }
  const size_t kv_bytes = sizeof(float) * shape.batch * shape.seq * shape.kv_heads * shape.head_dim;
  TT_CUDA_CHECK(cudaMemsetAsync(dk, 0, kv_bytes, stream));
  TT_CUDA_CHECK(cudaMemsetAsync(dv, 0, kv_bytes, stream));
  attention_delta_kernel<<<row_blocks(shape), 32 * kWarpsPerBlock, 0, stream>>>(scratch, dout, out, shape);
  TT_CUDA_CHECK_LAUNCH();
  attention_backward_kernel<<<row_blocks(shape), 32 * kWarpsPerBlock, 0, stream>>>(dq, dk, dv, dout, lse, scratch, q, k,
                                                                                  v, doc_start, shape);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace tt::cuda
