// The tensor-core attention kernels (attention_tensor_cores.cu): bf16 operands, fp32 accumulation,
// head dims 64 and 128. attention.cu chooses them for shapes marked bf16 and falls back to its simple
// kernels otherwise. Two families: wmma (the default, measured on an H200) and the mma.sync kernels of
// attention_mma.cuh (scores kept in registers; chosen by TINYTHINK_CUDA_ATTENTION=mma, or
// set_tensor_core_attention_kernels, until a GPU run has measured them faster).
#pragma once
#include <cuda_runtime.h>

#include <initializer_list>

#include "kernels/cuda/ops.h"

namespace tt::cuda {

enum class TensorCoreAttentionKernels { wmma, mma };
// The family in use: set_... if called, else TINYTHINK_CUDA_ATTENTION (wmma or mma; anything else
// throws, naming the variable), else wmma.
TensorCoreAttentionKernels tensor_core_attention_kernels();
void set_tensor_core_attention_kernels(TensorCoreAttentionKernels kernels);
// bf16 elements of the `copies` workspace that the chosen family needs for this shape: the mma kernels
// stage bf16 copies of q, k, v (and dout in the backward) by cp.async; the wmma kernels need none.
int64_t tensor_core_attention_copy_elements(const AttentionShape& shape);

// Whether the tensor-core kernels take this shape on the current device (bf16 marked, head_dim 64 or
// 128, every pointer 16-byte aligned, enough shared memory per block).
bool tensor_core_attention_supports(const AttentionShape& shape, std::initializer_list<const void*> pointers);
// copies: tensor_core_attention_copy_elements(shape) bf16 elements, 16-byte aligned (or null when 0).
void tensor_core_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                   const int32_t* doc_start, const AttentionShape& shape, uint16_t* copies,
                                   cudaStream_t stream);
// delta: [B, heads, T] rowwise dout·out. dq, dk, dv overwritten.
void tensor_core_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* lse,
                                    const float* delta, const float* q, const float* k, const float* v,
                                    const int32_t* doc_start, const AttentionShape& shape, uint16_t* copies,
                                    cudaStream_t stream);

}  // namespace tt::cuda
