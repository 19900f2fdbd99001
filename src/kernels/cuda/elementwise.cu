// Embedding, RMSNorm / QK L2 norm, RoPE, SwiGLU, gradient norm, AdamW and bf16 rounding on the GPU
// (the math of each is in the CPU header of the same op).
#include <cuda_bf16.h>

#include <cmath>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/reduce.cuh"

namespace tt::cuda {

namespace {

constexpr int kThreads = 256;

// ---- embedding ----
__global__ void embedding_forward_kernel(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * dim; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = table[int64_t(ids[i / dim]) * dim + i % dim];
}

__global__ void embedding_backward_kernel(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * dim; i += int64_t(gridDim.x) * blockDim.x)
    atomicAdd(&dtable[int64_t(ids[i / dim]) * dim + i % dim], dout[i]);
}

// ---- RMSNorm: one block per row ----
__global__ void rmsnorm_forward_kernel(float* y, float* rstd, const float* x, const float* weight, int64_t dim, float eps) {
  __shared__ float shared[32];
  const float* xr = x + blockIdx.x * dim;
  float* yr = y + blockIdx.x * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i] * xr[i];
  sum = block_sum(sum, shared);
  const float s = rsqrtf(sum / float(dim) + eps);
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = s;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = weight ? xr[i] * s * weight[i] : xr[i] * s;
}

// Rows are strided over the grid; each block sums its share of dweight in shared memory, then adds it.
__global__ void rmsnorm_backward_kernel(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                                        const float* rstd, int64_t rows, int64_t dim) {
  extern __shared__ float block_dweight[];  // [dim] when dweight is wanted
  __shared__ float shared[32];
  const bool want_dweight = weight && dweight;
  if (want_dweight)
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) block_dweight[i] = 0.0f;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    const float* dyr = dy + r * dim;
    const float s = rstd[r];
    float dot = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float dxhat = weight ? dyr[i] * weight[i] : dyr[i];
      dot += dxhat * xr[i] * s;
      if (want_dweight) block_dweight[i] += dyr[i] * xr[i] * s;  // each i belongs to one thread
    }
    const float mean = block_sum(dot, shared) / float(dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float dxhat = weight ? dyr[i] * weight[i] : dyr[i];
      dx[r * dim + i] = s * (dxhat - xr[i] * s * mean);
    }
  }
  if (want_dweight)
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) atomicAdd(&dweight[i], block_dweight[i]);
}

__global__ void l2norm_backward_kernel(float* dx, const float* dy, const float* y, const float* rstd, int64_t dim) {
  __shared__ float shared[32];
  const int64_t r = blockIdx.x;
  float dot = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot += dy[r * dim + i] * y[r * dim + i];
  const float mean = block_sum(dot, shared) / float(dim);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    dx[r * dim + i] = rstd[r] * (dy[r * dim + i] - y[r * dim + i] * mean);
}

// ---- RoPE: one thread per (token, head, pair) ----
__global__ void rope_kernel(float* x, const int32_t* positions, int64_t tokens, int64_t heads, RopeStyle style,
                            int64_t head_dim, const float* cos_table, const float* sin_table, float sign) {
  const int64_t half = head_dim / 2;
  const int64_t total = tokens * heads * half;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = idx % half, th = idx / half, t = th / heads;
    const int64_t p = positions[t];
    float* v = x + th * head_dim;
    float* a = style == RopeStyle::Interleaved ? v + 2 * i : v + i;
    float* b = style == RopeStyle::Interleaved ? v + 2 * i + 1 : v + i + half;
    const float c = cos_table[p * half + i], s = sign * sin_table[p * half + i];
    const float x0 = *a, x1 = *b;
    *a = x0 * c - x1 * s;
    *b = x0 * s + x1 * c;
  }
}

// ---- SwiGLU ----
__device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

__global__ void swiglu_forward_kernel(float* out, const float* gate, const float* up, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                       int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = gate[i], u = up[i], d = dout[i], sig = sigmoid(g);
    dgate[i] = d * u * (sig * (1.0f + g * (1.0f - sig)));
    dup[i] = d * (g * sig);
  }
}

// ---- gradient norm and AdamW ----
__global__ void sum_squares_kernel(float* sum_sq, const float* g, int64_t n) {
  __shared__ float shared[32];
  float sum = 0.0f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    sum += g[i] * g[i];
  sum = block_sum(sum, shared);
  if (threadIdx.x == 0) atomicAdd(sum_sq, sum);
}

// The constants of one update, in fp32 as the CPU loop uses them.
struct AdamWConstants {
  float beta1, beta2, epsilon, step_size, bias2_sqrt, decay, max_grad_norm;
  const float* grad_sum_sq;
};

__global__ void adamw_kernel(float* params, float* m, float* v, const float* grads, const uint8_t* decay_mask,
                             __nv_bfloat16* bf16_copy, int64_t n, AdamWConstants c) {
  float clip = 1.0f;
  if (c.max_grad_norm > 0.0f && c.grad_sum_sq) {
    const float norm = sqrtf(*c.grad_sum_sq);
    if (norm > c.max_grad_norm) clip = c.max_grad_norm / (norm + 1e-6f);
  }
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = grads[i] * clip;
    float p = params[i];
    if (!decay_mask || decay_mask[i]) p *= c.decay;
    const float mi = c.beta1 * m[i] + (1.0f - c.beta1) * g;
    const float vi = c.beta2 * v[i] + (1.0f - c.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= c.step_size * mi / (sqrtf(vi) / c.bias2_sqrt + c.epsilon);  // torch's order of operations
    params[i] = p;
    if (bf16_copy) bf16_copy[i] = __float2bfloat16_rn(p);
  }
}

__global__ void round_to_bf16_kernel(__nv_bfloat16* out, const float* in, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

}  // namespace

void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t dim, cudaStream_t stream) {
  embedding_forward_kernel<<<blocks_for(n * dim, kThreads), kThreads, 0, stream>>>(out, table, ids, n, dim);
  TT_CUDA_CHECK_LAUNCH();
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t dim,
                        cudaStream_t stream) {
  embedding_backward_kernel<<<blocks_for(n * dim, kThreads), kThreads, 0, stream>>>(dtable, dout, ids, n, dim);
  TT_CUDA_CHECK_LAUNCH();
}

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                     cudaStream_t stream) {
  if (rows == 0) return;
  rmsnorm_forward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(y, rstd, x, weight, dim, eps);
  TT_CUDA_CHECK_LAUNCH();
}

void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                      const float* rstd, int64_t rows, int64_t dim, cudaStream_t stream) {
  if (rows == 0) return;
  const size_t shared = weight && dweight ? dim * sizeof(float) : 0;
  if (shared > 48 * 1024) throw std::runtime_error("rmsnorm_backward: dim " + std::to_string(dim) + " above 12288");
  const unsigned blocks = static_cast<unsigned>(rows < 1024 ? rows : 1024);
  rmsnorm_backward_kernel<<<blocks, kThreads, shared, stream>>>(dx, dweight, dy, x, weight, rstd, rows, dim);
  TT_CUDA_CHECK_LAUNCH();
}

void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                 int64_t dim, cudaStream_t stream) {
  if (rows == 0) return;
  l2norm_backward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(dx, dy, y, rstd, dim);
  TT_CUDA_CHECK_LAUNCH();
}

void rope_forward(float* x, const int32_t* positions, int64_t tokens, int64_t heads, const DeviceRopeTable& table,
                  cudaStream_t stream) {
  rope_kernel<<<blocks_for(tokens * heads * table.head_dim / 2, kThreads), kThreads, 0, stream>>>(
      x, positions, tokens, heads, table.style, table.head_dim, table.cos, table.sin, 1.0f);
  TT_CUDA_CHECK_LAUNCH();
}

void rope_backward(float* dx, const int32_t* positions, int64_t tokens, int64_t heads, const DeviceRopeTable& table,
                   cudaStream_t stream) {
  rope_kernel<<<blocks_for(tokens * heads * table.head_dim / 2, kThreads), kThreads, 0, stream>>>(
      dx, positions, tokens, heads, table.style, table.head_dim, table.cos, table.sin, -1.0f);
  TT_CUDA_CHECK_LAUNCH();
}

DeviceRopeTable upload_rope_table(RopeStyle style, int64_t head_dim, int64_t max_positions,
                                  const std::vector<float>& cos, const std::vector<float>& sin) {
  float *c = nullptr, *s = nullptr;
  TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&c), sizeof(float) * cos.size()));
  TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&s), sizeof(float) * sin.size()));
  TT_CUDA_CHECK(cudaMemcpy(c, cos.data(), sizeof(float) * cos.size(), cudaMemcpyHostToDevice));
  TT_CUDA_CHECK(cudaMemcpy(s, sin.data(), sizeof(float) * sin.size(), cudaMemcpyHostToDevice));
  return {style, head_dim, max_positions, c, s};
}

void free_rope_table(const DeviceRopeTable& table) {
  cudaFree(const_cast<float*>(table.cos));
  cudaFree(const_cast<float*>(table.sin));
}

void swiglu_forward(float* out, const float* gate, const float* up, int64_t count, cudaStream_t stream) {
  swiglu_forward_kernel<<<blocks_for(count, kThreads), kThreads, 0, stream>>>(out, gate, up, count);
  TT_CUDA_CHECK_LAUNCH();
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t count,
                     cudaStream_t stream) {
  swiglu_backward_kernel<<<blocks_for(count, kThreads), kThreads, 0, stream>>>(dgate, dup, dout, gate, up, count);
  TT_CUDA_CHECK_LAUNCH();
}

void grad_norm_squared(float* sum_sq, const float* grads, int64_t n, cudaStream_t stream) {
  TT_CUDA_CHECK(cudaMemsetAsync(sum_sq, 0, sizeof(float), stream));
  sum_squares_kernel<<<blocks_for(n, kThreads, 1024), kThreads, 0, stream>>>(sum_sq, grads, n);
  TT_CUDA_CHECK_LAUNCH();
}

void adamw_update(float* params, float* m, float* v, const float* grads, const uint8_t* decay_mask,
                  uint16_t* bf16_copy, int64_t n, const AdamWStep& step, cudaStream_t stream) {
  // Bias corrections and the decay factor in double on the host, as the CPU optimizer computes them.
  const double bias1 = 1.0 - std::pow(step.beta1, double(step.step));
  const double bias2 = 1.0 - std::pow(step.beta2, double(step.step));
  const AdamWConstants c{float(step.beta1), float(step.beta2), float(step.epsilon), float(step.lr / bias1),
                         float(std::sqrt(bias2)), float(1.0 - step.lr * step.weight_decay), float(step.max_grad_norm),
                         step.grad_sum_sq};
  adamw_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(params, m, v, grads, decay_mask,
                                                                reinterpret_cast<__nv_bfloat16*>(bf16_copy), n, c);
  TT_CUDA_CHECK_LAUNCH();
}

void round_to_bf16(uint16_t* out, const float* in, int64_t n, cudaStream_t stream) {
  round_to_bf16_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(reinterpret_cast<__nv_bfloat16*>(out), in, n);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace tt::cuda
