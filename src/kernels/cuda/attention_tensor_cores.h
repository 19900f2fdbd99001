// The tensor-core attention kernels (attention_tensor_cores.cu): bf16 operands, fp32 accumulation,
// head dims 64 and 128. attention.cu chooses them for shapes marked bf16 and falls back to its simple
// kernels otherwise.
#pragma once
#include <cuda_runtime.h>

#include <initializer_list>

#include "kernels/cuda/ops.h"

namespace tt::cuda {

// Whether the tensor-core kernels take this shape on the current device (bf16 marked, head_dim 64 or
// 128, every pointer 16-byte aligned, enough shared memory per block).
bool tensor_core_attention_supports(const AttentionShape& shape, std::initializer_list<const void*> pointers);
void tensor_core_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                   const int32_t* doc_start, const AttentionShape& shape, cudaStream_t stream);
// delta: [B, heads, T] rowwise dout·out. dq, dk, dv overwritten.
void tensor_core_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* lse,
                                    const float* delta, const float* q, const float* k, const float* v,
                                    const int32_t* doc_start, const AttentionShape& shape, cudaStream_t stream);

}  // namespace tt::cuda
