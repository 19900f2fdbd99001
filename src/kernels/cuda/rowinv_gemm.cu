// The row-invariant GEMM of generation (kernels/cuda/generation.h): a 64 x 64 output tile per block,
// 256 threads of 4 x 4 outputs, K staged through shared memory 16 at a time. Every output is one FMA
// chain over k = 0..K-1 from zero, whatever M, the tile or the grid: a row's bits never depend on the
// batch, and equal the CPU engine's gemm (kernels/cpu/packed_gemm.h), which runs the same chain.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/generation.h"

namespace tt::cuda {

namespace {

constexpr int kTile = 64, kStep = 16, kThreads = 256, kPer = 4;

__device__ __forceinline__ float load_weight(const float* w, int64_t i) { return w[i]; }
__device__ __forceinline__ float load_weight(const uint16_t* w, int64_t i) {
  return __uint_as_float(static_cast<uint32_t>(w[i]) << 16);
}

template <typename W>
__global__ void rowinv_gemm_kernel(const float* x, int64_t M, const W* w, int64_t N, int64_t K, float* y,
                                   bool accumulate) {
  __shared__ float xs[kStep][kTile + 1], ws[kStep][kTile + 1];
  const int64_t m0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
  const int tr = threadIdx.x / (kTile / kPer), tc = threadIdx.x % (kTile / kPer);
  float acc[kPer][kPer] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kStep) {
    for (int e = threadIdx.x; e < kStep * kTile; e += kThreads) {
      const int r = e / kStep, kk = e % kStep;
      const int64_t k = k0 + kk;
      xs[kk][r] = (m0 + r < M && k < K) ? x[(m0 + r) * K + k] : 0.0f;
      ws[kk][r] = (n0 + r < N && k < K) ? load_weight(w, (n0 + r) * K + k) : 0.0f;
    }
    __syncthreads();
    const int steps = K - k0 < kStep ? static_cast<int>(K - k0) : kStep;
    for (int kk = 0; kk < steps; ++kk) {
      float a[kPer], b[kPer];
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        a[i] = xs[kk][tr * kPer + i];
        b[i] = ws[kk][tc * kPer + i];
      }
#pragma unroll
      for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int j = 0; j < kPer; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int64_t m = m0 + tr * kPer + i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int64_t n = n0 + tc * kPer + j;
      if (n < N) y[m * N + n] = accumulate ? y[m * N + n] + acc[i][j] : acc[i][j];
    }
  }
}

template <typename W>
void launch(const float* x, int64_t m, const W* w, int64_t n, int64_t k, float* y, bool accumulate,
            cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
  rowinv_gemm_kernel<W><<<grid, kThreads, 0, stream>>>(x, m, w, n, k, y, accumulate);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace

void rowinv_gemm_f32(const float* x, int64_t m, const float* w, int64_t n, int64_t k, float* y, bool accumulate,
                     cudaStream_t stream) {
  launch(x, m, w, n, k, y, accumulate, stream);
}

void rowinv_gemm_bf16(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                      cudaStream_t stream) {
  launch(x, m, w, n, k, y, accumulate, stream);
}

}  // namespace tt::cuda
