#include "kernels/cuda/classifier.h"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/reduce.cuh"

namespace tt::cuda {

namespace {

constexpr int kThreads = 256;

// The block's largest logit and its first index, returned to every thread.
__device__ void block_argmax(float& value, int64_t& index, float* values, int64_t* indices) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, value, offset);
    const int64_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other > value || (other == value && other_index < index)) value = other, index = other_index;
  }
  __syncthreads();
  if (lane == 0) values[warp] = value, indices[warp] = index;
  __syncthreads();
  value = lane < warps ? values[lane] : -INFINITY;
  index = lane < warps ? indices[lane] : INT64_MAX;
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, value, offset);
    const int64_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other > value || (other == value && other_index < index)) value = other, index = other_index;
  }
}

// One block per row of the chunk: log-softmax at the target, statistics, and (with want_grad) the
// logit gradient w * (softmax - onehot) written over the logits.
__global__ void softmax_rows_kernel(float* logits, const int32_t* targets, const float* token_weights, bool dft,
                                    bool want_grad, float* token_logprobs, double* stats, int64_t vocab) {
  __shared__ float shared[32];
  __shared__ int64_t shared_index[32];
  const int64_t row = blockIdx.x;
  float* z = logits + row * vocab;
  const int32_t target = targets[row];
  if (target < 0) {
    if (want_grad)
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) z[i] = 0.0f;
    if (token_logprobs && threadIdx.x == 0) token_logprobs[row] = 0.0f;
    return;
  }
  float best = -INFINITY;
  int64_t best_index = INT64_MAX;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x)
    if (z[i] > best) best = z[i], best_index = i;
  block_argmax(best, best_index, shared, shared_index);
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) sum += expf(z[i] - best);
  sum = block_sum(sum, shared);
  const float target_logit = z[target];
  __syncthreads();  // everyone has read z[target] before the gradient overwrites it
  const float logp = target_logit - best - logf(sum);
  float w = want_grad ? token_weights[row] : 1.0f;
  if (want_grad && dft) w *= expf(logp);
  if (threadIdx.x == 0) {
    atomicAdd(&stats[0], double(w) * double(-logp));
    atomicAdd(&stats[1], 1.0);
    atomicAdd(&stats[2], best_index == target ? 1.0 : 0.0);
    if (token_logprobs) token_logprobs[row] = logp;
  }
  if (want_grad)
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x)
      z[i] = w * (expf(z[i] - best) / sum - (i == target ? 1.0f : 0.0f));
}

}  // namespace

ClassifierWorkspace::ClassifierWorkspace(int64_t chunk_rows_, int64_t vocab_, int64_t dim_)
    : chunk_rows(chunk_rows_), vocab(vocab_), dim(dim_) {
  TT_CUDA_CHECK(cudaMalloc(&logits, sizeof(float) * chunk_rows * vocab));
  TT_CUDA_CHECK(cudaMalloc(&hidden_bf16, sizeof(uint16_t) * chunk_rows * dim));
  TT_CUDA_CHECK(cudaMalloc(&dlogits_bf16, sizeof(uint16_t) * chunk_rows * vocab));
  TT_CUDA_CHECK(cudaMalloc(&stats, sizeof(double) * 3));
}

ClassifierWorkspace::~ClassifierWorkspace() {
  cudaFree(stats);
  cudaFree(dlogits_bf16);
  cudaFree(hidden_bf16);
  cudaFree(logits);
}

ClassifierStats classifier_forward_backward(Blas& blas, ClassifierWorkspace& ws, const float* hidden,
                                            const float* weight, const uint16_t* weight_bf16, const int32_t* targets,
                                            int64_t n, const DeviceClassifierGrad* grad, float* token_logprobs,
                                            GemmType type, cudaStream_t stream) {
  const bool bf16 = type == GemmType::BF16;
  if (bf16 && !weight_bf16) throw std::runtime_error("classifier_forward_backward: bf16 mode needs weight_bf16");
  const int64_t V = ws.vocab, C = ws.dim;
  TT_CUDA_CHECK(cudaMemsetAsync(ws.stats, 0, sizeof(double) * 3, stream));
  const void* w = bf16 ? static_cast<const void*>(weight_bf16) : weight;
  for (int64_t row0 = 0; row0 < n; row0 += ws.chunk_rows) {
    const int64_t rows = std::min(ws.chunk_rows, n - row0);
    const float* h = hidden + row0 * C;
    const void* h_operand = h;
    if (bf16) {
      round_to_bf16(ws.hidden_bf16, h, rows * C, stream);
      h_operand = ws.hidden_bf16;
    }
    blas.gemm(h_operand, w, ws.logits, rows, V, C, {.trans_b = true, .type = type}, stream);
    softmax_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
        ws.logits, targets + row0, grad ? grad->token_weights + row0 : nullptr, grad && grad->loss == TokenLoss::DFT,
        grad != nullptr, token_logprobs ? token_logprobs + row0 : nullptr, ws.stats, V);
    TT_CUDA_CHECK_LAUNCH();
    if (!grad) continue;
    const void* dlogits = ws.logits;
    if (bf16) {
      round_to_bf16(ws.dlogits_bf16, ws.logits, rows * V, stream);
      dlogits = ws.dlogits_bf16;
    }
    if (grad->d_hidden) blas.gemm(dlogits, w, grad->d_hidden + row0 * C, rows, C, V, {.type = type}, stream);
    if (grad->d_weight)
      blas.gemm(dlogits, h_operand, grad->d_weight, V, C, rows, {.trans_a = true, .accumulate = true, .type = type},
                stream);
  }
  double stats[3];
  TT_CUDA_CHECK(cudaMemcpyAsync(stats, ws.stats, sizeof(stats), cudaMemcpyDeviceToHost, stream));
  TT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return {stats[0], static_cast<int64_t>(stats[1]), static_cast<int64_t>(stats[2])};
}

}  // namespace tt::cuda
