// The row-invariant GEMM of generation (kernels/cuda/generation.h): a 64 x 64 output tile per block,
// 256 threads of 4 x 4 outputs, K staged through shared memory 16 at a time. Every output is one FMA
// chain from zero, whatever M, the tile or the grid: a row's bits never depend on the batch, and equal
// the CPU engine's gemm (kernels/cpu/packed_gemm.h), which runs the same chain: over k = 0..K-1 for
// fp32 weights; for bf16 weights over x rounded to bf16 and the pairs (k, k+1), odd product first.
//
// rowinv_gemm_bf16_tensor_cores: bf16 operands on the tensor cores, fp32 accumulation, K in steps of
// 32 staged through shared memory, one of four block tiles (kernels/cuda/rowinv_gemm_tiles.h: 64 x 128
// with 8 warps of 32 x 32 down to 16 x 32 with 2 warps of 16 x 16) picked from m, n and the SM count so
// the small decode products still fill the GPU. An output's sum is the same chain of m16n16k16 steps
// over its own row of x and column of w in every tile, wherever the row sits: row-invariant, the same
// bits whatever tile, but no longer the CPU's FMA chain bit for bit. The same tiles also run on the
// mma.sync kernel of rowinv_gemm_mma.cuh (RowInvGemmKernels, rowinv_gemm_tiles.h).
#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/generation.h"
#include "kernels/cuda/kernel_family.h"
#include "kernels/cuda/rowinv_gemm_mma.cuh"
#include "kernels/cuda/rowinv_gemm_tiles.h"

namespace tt::cuda {

namespace {

constexpr int kTile = 64, kStep = 16, kThreads = 256, kPer = 4;

__device__ __forceinline__ float load_weight(const float* w, int64_t i) { return w[i]; }
__device__ __forceinline__ float load_weight(const uint16_t* w, int64_t i) {
  return __uint_as_float(static_cast<uint32_t>(w[i]) << 16);
}
// x as the product uses it: as given with fp32 weights, rounded to bf16 (nearest even) with bf16 ones.
__device__ __forceinline__ float load_input(const float* x, int64_t i, const float*) { return x[i]; }
__device__ __forceinline__ float load_input(const float* x, int64_t i, const uint16_t*) {
  return __bfloat162float(__float2bfloat16_rn(x[i]));
}

template <typename W>
__global__ void rowinv_gemm_kernel(const float* x, int64_t M, const W* w, int64_t N, int64_t K, float* y,
                                   bool accumulate) {
  constexpr bool kPairs = sizeof(W) == 2;  // bf16 weights: the pair chain
  static_assert(kStep % 2 == 0, "pairs of k must not straddle two stages");
  __shared__ float xs[kStep][kTile + 1], ws[kStep][kTile + 1];
  const int64_t m0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
  const int tr = threadIdx.x / (kTile / kPer), tc = threadIdx.x % (kTile / kPer);
  float acc[kPer][kPer] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kStep) {
    for (int e = threadIdx.x; e < kStep * kTile; e += kThreads) {
      const int r = e / kStep, kk = e % kStep;
      const int64_t k = k0 + kk;
      xs[kk][r] = (m0 + r < M && k < K) ? load_input(x, (m0 + r) * K + k, w) : 0.0f;
      ws[kk][r] = (n0 + r < N && k < K) ? load_weight(w, (n0 + r) * K + k) : 0.0f;
    }
    __syncthreads();
    const int steps = K - k0 < kStep ? static_cast<int>(K - k0) : kStep;
    const auto step = [&](int kk) {
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
    };
    if constexpr (kPairs) {
      // kStep is even, so a pair never straddles two stages; an odd K's last pair reads staged zeros.
      for (int kk = 0; kk < steps; kk += 2) {
        step(kk + 1);
        step(kk);
      }
    } else {
      for (int kk = 0; kk < steps; ++kk) step(kk);
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
constexpr int kDepth = 32;       // K per staged step (two m16n16k16 steps, in order)
constexpr int kLd = kDepth + 8;  // bf16 row stride of the staged tiles (keeps fragments 32-byte aligned)

// A block tile: the mma kernel's (a kWarpRows x kWarpCols grid of warps, each holding kFragRows x
// kFragCols accumulator fragments of 16 x 16), with this kernel's staging strides.
template <int kWarpRows, int kWarpCols, int kFragRows, int kFragCols>
struct Tile : mma::RowInvGemmTile<kWarpRows, kWarpCols, kFragRows, kFragCols> {
  using Shape = mma::RowInvGemmTile<kWarpRows, kWarpCols, kFragRows, kFragCols>;
  using Shape::cols, Shape::rows, Shape::threads, Shape::warp_n;
  static constexpr int out_ld = warp_n + 4;  // fp32 row stride of a warp's output staging
  // Thread t stages column t % kDepth of each K step, rows t / kDepth + (threads / kDepth) i.
  static constexpr int row_stride = threads / kDepth;
  static_assert(threads % kDepth == 0 && rows % row_stride == 0 && cols % row_stride == 0);
};

// The tiles of RowInvTile (kernels/cuda/rowinv_gemm_tiles.h).
using Tile64x128 = Tile<2, 4, 2, 2>;
using Tile32x64 = Tile<2, 2, 1, 2>;
using Tile16x64 = Tile<1, 4, 1, 1>;
using Tile16x32 = Tile<1, 2, 1, 1>;

template <typename T>
union Shared {  // the staged tiles during the K loop, the warps' outputs after it
  struct {
    bf16 x[T::rows * kLd];  // x[m0 + r, k0 + kk] at r * kLd + kk
    bf16 w[T::cols * kLd];  // w[n0 + c, k0 + kk] at c * kLd + kk: the col-major B operand
  } tiles;
  float out[T::warps][T::warp_m * T::out_ld];
};

// At least 512 threads of a tile per SM: at most 128 registers a thread.
template <typename T>
__global__ void __launch_bounds__(T::threads, 512 / T::threads)
    gemm_kernel(const float* x, int64_t M, const uint16_t* w, int64_t N, int64_t K, float* y, bool accumulate) {
  __shared__ __align__(128) Shared<T> sh;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_row = warp / T::warp_cols, warp_col = warp % T::warp_cols;
  const int64_t m0 = int64_t(blockIdx.y) * T::rows, n0 = int64_t(blockIdx.x) * T::cols;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[T::frag_rows][T::frag_cols];
#pragma unroll
  for (int i = 0; i < T::frag_rows; ++i)
#pragma unroll
    for (int j = 0; j < T::frag_cols; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  const bf16* w_bits = reinterpret_cast<const bf16*>(w);
  // Each thread carries its share of the next K step's tiles in registers: loaded (zeros past the
  // edges: an exact zero term leaves every sum unchanged) while the tensor cores work on the current
  // step, stored to shared memory at the top of the next.
  constexpr int kXPer = T::rows * kDepth / T::threads, kWPer = T::cols * kDepth / T::threads;
  constexpr int kRowStride = T::row_stride;
  float x_next[kXPer];
  bf16 w_next[kWPer];
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
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a[T::frag_rows];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b[T::frag_cols];
#pragma unroll
      for (int i = 0; i < T::frag_rows; ++i)
        wmma::load_matrix_sync(a[i], sh.tiles.x + (warp_row * T::warp_m + i * 16) * kLd + kk, kLd);
#pragma unroll
      for (int j = 0; j < T::frag_cols; ++j)
        wmma::load_matrix_sync(b[j], sh.tiles.w + (warp_col * T::warp_n + j * 16) * kLd + kk, kLd);
#pragma unroll
      for (int i = 0; i < T::frag_rows; ++i)
#pragma unroll
        for (int j = 0; j < T::frag_cols; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  float* out = sh.out[warp];
#pragma unroll
  for (int i = 0; i < T::frag_rows; ++i)
#pragma unroll
    for (int j = 0; j < T::frag_cols; ++j)
      wmma::store_matrix_sync(out + i * 16 * T::out_ld + j * 16, acc[i][j], T::out_ld, wmma::mem_row_major);
  __syncwarp();
  // The warp's outputs, a row of warp_n columns after another (one coalesced row when warp_n is 32).
  const int64_t row0 = m0 + warp_row * T::warp_m, col0 = n0 + warp_col * T::warp_n;
  for (int e = lane; e < T::warp_m * T::warp_n; e += 32) {
    const int r = e / T::warp_n, c = e % T::warp_n;
    if (row0 + r >= M || col0 + c >= N) continue;
    float* dst = y + (row0 + r) * N + col0 + c;
    *dst = accumulate ? *dst + out[r * T::out_ld + c] : out[r * T::out_ld + c];
  }
}

template <typename T>
void launch_tile(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                 cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((n + T::cols - 1) / T::cols), static_cast<unsigned>((m + T::rows - 1) / T::rows));
  gemm_kernel<T><<<grid, T::threads, 0, stream>>>(x, m, w, n, k, y, accumulate);
  TT_CUDA_CHECK_LAUNCH();
}

// The current device's SM count, read once.
int64_t sm_count() {
  static const int64_t count = [] {
    int device = 0, sms = 0;
    TT_CUDA_CHECK(cudaGetDevice(&device));
    TT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    return static_cast<int64_t>(sms);
  }();
  return count;
}

}  // namespace tc

// The mma.sync kernel of a tile; its dynamic shared memory (up to 60 KiB for 64x128) allowed once.
template <typename T>
void launch_mma_tile(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                     cudaStream_t stream) {
  static const bool allowed = [] {
    TT_CUDA_CHECK(cudaFuncSetAttribute(mma::rowinv_gemm_mma_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(T::shared_bytes)));
    return true;
  }();
  (void)allowed;
  const mma::RowInvGemmArgs args{.x = x, .w = w, .y = y, .m = m, .n = n, .k = k, .accumulate = accumulate};
  const dim3 grid(static_cast<unsigned>((n + T::cols - 1) / T::cols), static_cast<unsigned>((m + T::rows - 1) / T::rows));
  mma::rowinv_gemm_mma_kernel<T><<<grid, T::threads, T::shared_bytes, stream>>>(args);
  TT_CUDA_CHECK_LAUNCH();
}

// A tile on either family: the wmma kernel's tile T, or the mma kernel's of the same shape (T's base).
template <typename T>
void launch_family(bool use_mma, const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y,
                   bool accumulate, cudaStream_t stream) {
  if (use_mma) launch_mma_tile<typename T::Shape>(x, m, w, n, k, y, accumulate, stream);
  else tc::launch_tile<T>(x, m, w, n, k, y, accumulate, stream);
}

KernelFamilyChoice<RowInvGemmKernels> family_choice("TINYTHINK_CUDA_GENERATION_GEMM");

}  // namespace

RowInvGemmKernels rowinv_gemm_kernels() { return family_choice.get(); }

void set_rowinv_gemm_kernels(RowInvGemmKernels kernels) { family_choice.set(kernels); }

bool rowinv_gemm_mma_applies(const float* x, const uint16_t* w, int64_t k) {
  return k % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
}

void rowinv_gemm_bf16_tensor_cores_tile(RowInvTile tile, RowInvGemmKernels kernels, const float* x, int64_t m,
                                        const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                                        cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  static_assert(tc::Tile64x128::rows == rowinv_tile_rows(RowInvTile::k64x128) &&
                tc::Tile64x128::cols == rowinv_tile_cols(RowInvTile::k64x128) &&
                tc::Tile32x64::rows == rowinv_tile_rows(RowInvTile::k32x64) &&
                tc::Tile32x64::cols == rowinv_tile_cols(RowInvTile::k32x64) &&
                tc::Tile16x64::rows == rowinv_tile_rows(RowInvTile::k16x64) &&
                tc::Tile16x64::cols == rowinv_tile_cols(RowInvTile::k16x64) &&
                tc::Tile16x32::rows == rowinv_tile_rows(RowInvTile::k16x32) &&
                tc::Tile16x32::cols == rowinv_tile_cols(RowInvTile::k16x32));
  const bool use_mma = kernels == RowInvGemmKernels::mma && rowinv_gemm_mma_applies(x, w, k);
  switch (tile) {
    case RowInvTile::k64x128: return launch_family<tc::Tile64x128>(use_mma, x, m, w, n, k, y, accumulate, stream);
    case RowInvTile::k32x64: return launch_family<tc::Tile32x64>(use_mma, x, m, w, n, k, y, accumulate, stream);
    case RowInvTile::k16x64: return launch_family<tc::Tile16x64>(use_mma, x, m, w, n, k, y, accumulate, stream);
    case RowInvTile::k16x32: return launch_family<tc::Tile16x32>(use_mma, x, m, w, n, k, y, accumulate, stream);
  }
}

RowInvTile rowinv_auto_tile(int64_t m, int64_t n) { return rowinv_tile_for(m, n, tc::sm_count()); }

void rowinv_gemm_bf16_tensor_cores(const float* x, int64_t m, const uint16_t* w, int64_t n, int64_t k, float* y,
                                   bool accumulate, cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  rowinv_gemm_bf16_tensor_cores_tile(rowinv_auto_tile(m, n), rowinv_gemm_kernels(), x, m, w, n, k, y, accumulate,
                                     stream);
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
