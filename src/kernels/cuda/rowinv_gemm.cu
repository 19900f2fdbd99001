// The row-invariant GEMM of generation (kernels/cuda/generation.h): a 64 x 64 output tile per block,
// 256 threads of 4 x 4 outputs, K staged through shared memory 16 at a time. Every output is one FMA
// chain over k = 0..K-1 from zero, whatever M, the tile or the grid: a row's bits never depend on the
// batch, and equal the CPU engine's gemm (kernels/cpu/packed_gemm.h), which runs the same chain.
//
// rowinv_gemm_bf16_tensor_cores: bf16 operands on the tensor cores, fp32 accumulation, a 64 x 128
// output tile per block of 8 warps (32 x 32 each), K in steps of 32 staged through shared memory. The
// tile shape and the K order are constants, and an output's sum runs over its own row of x and column
// of w in that order wherever the row sits in the tile: still row-invariant, but no longer the CPU's
// FMA chain bit for bit.
#include <cuda_bf16.h>
#include <mma.h>

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

namespace tc {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;
constexpr int kRows = 64, kCols = 128, kDepth = 32, kWarps = 8, kThreads = 32 * kWarps;
constexpr int kLd = kDepth + 8;  // bf16 row stride of the staged tiles (keeps fragments 32-byte aligned)
constexpr int kOutLd = 32 + 4;   // fp32 row stride of a warp's output staging

union Shared {  // the staged tiles during the K loop, the warps' outputs after it
  struct {
    bf16 x[kRows * kLd];  // x[m0 + r, k0 + kk] at r * kLd + kk
    bf16 w[kCols * kLd];  // w[n0 + c, k0 + kk] at c * kLd + kk: the col-major B operand
  } tiles;
  float out[kWarps][32 * kOutLd];
};

__global__ void __launch_bounds__(kThreads, 2) gemm_kernel(const float* x, int64_t M, const uint16_t* w, int64_t N,
                                                        int64_t K, float* y, bool accumulate) {
  __shared__ __align__(128) Shared sh;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_row = warp / 4, warp_col = warp % 4;  // a 2 x 4 grid of 32 x 32 warp tiles
  const int64_t m0 = int64_t(blockIdx.y) * kRows, n0 = int64_t(blockIdx.x) * kCols;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  const bf16* w_bits = reinterpret_cast<const bf16*>(w);
  // Each thread carries its share of the next K step's tiles in registers: loaded (zeros past the
  // edges: an exact zero term leaves every sum unchanged) while the tensor cores work on the current
  // step, stored to shared memory at the top of the next.
  constexpr int kXPer = kRows * kDepth / kThreads, kWPer = kCols * kDepth / kThreads;
  float x_next[kXPer];
  bf16 w_next[kWPer];
  // Thread t always takes column t % 32 of the step and rows t / 32 + 8 i (kThreads / kDepth = 8).
  constexpr int kRowStride = kThreads / kDepth;
  const int my_col = threadIdx.x % kDepth, my_row = threadIdx.x / kDepth;
  const float* x_base = x + (m0 + my_row) * K + my_col;
  const bf16* w_base = w_bits + (n0 + my_row) * K + my_col;
  auto load_step = [&](int64_t k0) {
    const bool k_inside = k0 + my_col < K;
#pragma unroll
    for (int i = 0; i < kXPer; ++i)
      x_next[i] = k_inside && m0 + my_row + kRowStride * i < M ? x_base[kRowStride * i * K + k0] : 0.0f;
#pragma unroll
    for (int i = 0; i < kWPer; ++i)
      w_next[i] = k_inside && n0 + my_row + kRowStride * i < N ? w_base[kRowStride * i * K + k0]
                                                               : __float2bfloat16_rn(0.0f);
  };
  load_step(0);
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
#pragma unroll
    for (int i = 0; i < kXPer; ++i) sh.tiles.x[(my_row + kRowStride * i) * kLd + my_col] = __float2bfloat16_rn(x_next[i]);
#pragma unroll
    for (int i = 0; i < kWPer; ++i) sh.tiles.w[(my_row + kRowStride * i) * kLd + my_col] = w_next[i];
    __syncthreads();
    if (k0 + kDepth < K) load_step(k0 + kDepth);
#pragma unroll
    for (int kk = 0; kk < kDepth; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], sh.tiles.x + (warp_row * 32 + i * 16) * kLd + kk, kLd);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], sh.tiles.w + (warp_col * 32 + j * 16) * kLd + kk, kLd);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  float* out = sh.out[warp];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(out + i * 16 * kOutLd + j * 16, acc[i][j], kOutLd, wmma::mem_row_major);
  __syncwarp();
  const int64_t row0 = m0 + warp_row * 32, col = n0 + warp_col * 32 + lane;
  if (col >= N) return;
  for (int r = 0; r < 32 && row0 + r < M; ++r) {
    float* dst = y + (row0 + r) * N + col;
    *dst = accumulate ? *dst + out[r * kOutLd + lane] : out[r * kOutLd + lane];
  }
}

}  // namespace tc

}  // namespace

void rowinv_gemm_bf16_tensor_cores(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y,
                                   bool accumulate, cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + tc::kCols - 1) / tc::kCols),
                  static_cast<unsigned>((m + tc::kRows - 1) / tc::kRows));
  tc::gemm_kernel<<<grid, tc::kThreads, 0, stream>>>(x, m, w, n, k, y, accumulate);
  TT_CUDA_CHECK_LAUNCH();
}

void rowinv_gemm_f32(const float* x, int64_t m, const float* w, int64_t n, int64_t k, float* y, bool accumulate,
                     cudaStream_t stream) {
  launch(x, m, w, n, k, y, accumulate, stream);
}

void rowinv_gemm_bf16(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                      cudaStream_t stream) {
  launch(x, m, w, n, k, y, accumulate, stream);
}

}  // namespace tt::cuda
