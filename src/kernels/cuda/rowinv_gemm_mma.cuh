// The row-invariant tensor-core GEMM of generation (rowinv_gemm_bf16_tensor_cores, generation.h) on
// mma.sync m16n8k16 with its operands streamed into shared memory by cp.async, three stages deep:
// the next two K steps of x and w load while the tensor cores work on the current one, where the wmma
// kernel of rowinv_gemm.cu holds one step in registers and waits for each load at a block barrier. On
// the decode products (a few hundred rows, K of 576 or 2048) that kernel is bound by those waits.
//
// Same product and the same row-invariance argument (rowinv_gemm_tiles.h): y[m, n] is the chain of
// m16n8k16 steps over k = 0, 16, 32, ... in order from a zero fp32 accumulator, then (accumulating)
// one fp32 add to y; the operands of each step are row m of x (rounded to bf16, nearest even, as the
// A fragment is built) and row n of w, zeros past m, n and K. The block tiles are the wmma kernel's
// four (rowinv_gemm_tiles.h), each warp holding 16 x 16 fragments as two 16 x 8 accumulators; which
// block or warp runs an output's chain never changes its operands or their order.
//
// Requires K % 8 == 0 and x, w 16-byte aligned (every 16-byte chunk of a row is then inside K or past
// it); rowinv_gemm.cu falls back to the wmma kernel otherwise (a choice made from K and the buffers,
// never from the number of rows).
//
// Written against warp_mma.cuh: nvcc compiles it for the GPU (rowinv_gemm.cu) and a host compiler
// runs it on warp_emulator.h (rowinv_gemm_mma_emulated_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/warp_mma.cuh"

namespace tt::cuda::mma {

struct RowInvGemmArgs {
  const float* x = nullptr;     // [m, k]
  const uint16_t* w = nullptr;  // [n, k] bf16 bits (HF Linear layout: the col-major B operand)
  float* y = nullptr;           // [m, n]
  int64_t m = 0, n = 0, k = 0;
  bool accumulate = false;
};

constexpr int kGemmDepth = 32;            // K per pipeline stage: two m16n8k16 steps
constexpr int kGemmStages = 3;            // stages in flight: the current one and two loading
constexpr int kGemmXLd = kGemmDepth + 8;  // floats between staged x rows: the 8 rows of an A read
                                          // fall in distinct banks
constexpr int kGemmWLd = kGemmDepth + 8;  // bf16 between staged w rows: an ldmatrix's 8 rows likewise

// A block tile: a kWarpRows x kWarpCols grid of warps, each holding kFragRows x kFragCols fragments
// of 16 x 16 (rowinv_gemm_tiles.h's shapes).
template <int kWarpRows, int kWarpCols, int kFragRows, int kFragCols>
struct RowInvGemmTile {
  static constexpr int warp_cols = kWarpCols, frag_rows = kFragRows, frag_cols = kFragCols;
  static constexpr int warps = kWarpRows * kWarpCols, threads = 32 * warps;
  static constexpr int warp_m = 16 * kFragRows, warp_n = 16 * kFragCols;
  static constexpr int rows = kWarpRows * warp_m, cols = kWarpCols * warp_n;
  static constexpr size_t x_stage_floats = size_t{rows} * kGemmXLd;
  static constexpr size_t w_stage_elements = size_t{cols} * kGemmWLd;
  static constexpr size_t x_bytes = kGemmStages * x_stage_floats * sizeof(float);
  static constexpr size_t shared_bytes = x_bytes + kGemmStages * w_stage_elements * sizeof(uint16_t);
};

using GemmTile64x128 = RowInvGemmTile<2, 4, 2, 2>;
using GemmTile32x64 = RowInvGemmTile<2, 2, 1, 2>;
using GemmTile16x64 = RowInvGemmTile<1, 4, 1, 1>;
using GemmTile16x32 = RowInvGemmTile<1, 2, 1, 1>;

// Copies K step `step` of the block's x rows and w rows into stage buffer `buffer` (cp.async, 16
// bytes a copy; chunks past m, n or K are zeros stored at once).
template <typename T>
TT_MMA_DEVICE void rowinv_gemm_load_stage(const RowInvGemmArgs& a, int64_t m0, int64_t n0, int64_t step, int buffer) {
  unsigned char* shared = shared_memory();
  float* xs = reinterpret_cast<float*>(shared) + buffer * T::x_stage_floats;
  uint16_t* ws = reinterpret_cast<uint16_t*>(shared + T::x_bytes) + buffer * T::w_stage_elements;
  const int64_t k0 = step * kGemmDepth;
  constexpr int kXChunks = kGemmDepth / 4, kWChunks = kGemmDepth / 8;  // 16-byte chunks per row
  for (int e = thread_index(); e < T::rows * kXChunks; e += T::threads) {
    const int r = e / kXChunks, c = (e % kXChunks) * 4;
    float* dst = xs + r * kGemmXLd + c;
    if (m0 + r < a.m && k0 + c < a.k) cp_async_16(dst, a.x + (m0 + r) * a.k + k0 + c);
    else store_zero16(dst);
  }
  for (int e = thread_index(); e < T::cols * kWChunks; e += T::threads) {
    const int r = e / kWChunks, c = (e % kWChunks) * 8;
    uint16_t* dst = ws + r * kGemmWLd + c;
    if (n0 + r < a.n && k0 + c < a.k) cp_async_16(dst, a.w + (n0 + r) * a.k + k0 + c);
    else store_zero16(dst);
  }
}

// One block per tile of y: grid (ceil(n / T::cols), ceil(m / T::rows)), T::threads threads,
// T::shared_bytes of dynamic shared memory.
template <typename T>
TT_MMA_KERNEL(T::threads) rowinv_gemm_mma_kernel(RowInvGemmArgs a) {
  const int warp = thread_index() / 32, lane = thread_index() % 32, g = lane / 4, t = lane % 4;
  const int warp_row = warp / T::warp_cols, warp_col = warp % T::warp_cols;
  const int64_t m0 = block_y() * T::rows, n0 = block_x() * T::cols;
  const int64_t steps = (a.k + kGemmDepth - 1) / kGemmDepth;
  unsigned char* shared = shared_memory();

  // acc[i][j]: the 16 x 8 accumulator of fragment row i, column j / 2, half j % 2.
  float acc[T::frag_rows][2 * T::frag_cols][4];
  TT_UNROLL
  for (int i = 0; i < T::frag_rows; ++i)
    TT_UNROLL
  for (int j = 0; j < 2 * T::frag_cols; ++j)
    TT_UNROLL
  for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

  // Prologue: the first kGemmStages - 1 steps in flight, one commit group each (empty past K, so
  // that every iteration below can wait for "all but the newest kGemmStages - 2 groups").
  TT_UNROLL
  for (int s = 0; s < kGemmStages - 1; ++s) {
    if (s < steps) rowinv_gemm_load_stage<T>(a, m0, n0, s, s);
    cp_async_commit();
  }
  for (int64_t step = 0; step < steps; ++step) {
    cp_async_wait<kGemmStages - 2>();  // this thread's copies of `step` have landed
    block_sync();                      // everyone's have, and everyone is done with step - 1's buffer
    const int64_t next = step + kGemmStages - 1;
    if (next < steps) rowinv_gemm_load_stage<T>(a, m0, n0, next, static_cast<int>(next % kGemmStages));
    cp_async_commit();
    const int buffer = static_cast<int>(step % kGemmStages);
    const float* xs = reinterpret_cast<const float*>(shared) + buffer * T::x_stage_floats;
    const uint16_t* ws = reinterpret_cast<const uint16_t*>(shared + T::x_bytes) + buffer * T::w_stage_elements;
    TT_UNROLL
    for (int kk = 0; kk < kGemmDepth; kk += 16) {
      // A fragments straight from the fp32 rows, rounded as they are packed (mma layout: a[0] row g,
      // k 2t; a[1] row g + 8; a[2] row g, k 2t + 8; a[3] row g + 8, k 2t + 8).
      uint32_t af[T::frag_rows][4];
      TT_UNROLL
      for (int i = 0; i < T::frag_rows; ++i) {
        const float* row = xs + (warp_row * T::warp_m + 16 * i + g) * kGemmXLd + kk + 2 * t;
        const Float2 a0 = load_float2(row), a1 = load_float2(row + 8 * kGemmXLd), a2 = load_float2(row + 8),
                     a3 = load_float2(row + 8 * kGemmXLd + 8);
        af[i][0] = pack_bf16x2(a0.x, a0.y);
        af[i][1] = pack_bf16x2(a1.x, a1.y);
        af[i][2] = pack_bf16x2(a2.x, a2.y);
        af[i][3] = pack_bf16x2(a3.x, a3.y);
      }
      TT_UNROLL
      for (int j = 0; j < T::frag_cols; ++j) {
        // Rows n .. n + 15 of w as two k16 x n8 B operands: matrices 0, 1 are columns n .. n + 7 at
        // k kk .. kk + 7 and kk + 8 .. kk + 15; matrices 2, 3 the same for n + 8 .. n + 15.
        uint32_t bf[4];
        ldmatrix_x4(bf, ws + (warp_col * T::warp_n + 16 * j + 8 * (lane / 16) + lane % 8) * kGemmWLd + kk +
                            8 * ((lane / 8) % 2));
        const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
        TT_UNROLL
        for (int i = 0; i < T::frag_rows; ++i) {
          mma_bf16_16816(acc[i][2 * j], af[i], b0);
          mma_bf16_16816(acc[i][2 * j + 1], af[i], b1);
        }
      }
    }
  }
  cp_async_wait<0>();  // nothing is left in flight past the kernel (the last groups are empty)

  // Each lane holds y[row g and g + 8][columns 2t, 2t + 1] of every 16 x 8 accumulator.
  TT_UNROLL
  for (int i = 0; i < T::frag_rows; ++i)
    TT_UNROLL
  for (int j = 0; j < 2 * T::frag_cols; ++j) {
    const int64_t col = n0 + warp_col * T::warp_n + 8 * j + 2 * t;
    TT_UNROLL
    for (int half = 0; half < 2; ++half) {
      const int64_t row = m0 + warp_row * T::warp_m + 16 * i + g + 8 * half;
      if (row >= a.m || col >= a.n) continue;
      float* dst = a.y + row * a.n + col;
      float v0 = acc[i][j][2 * half], v1 = acc[i][j][2 * half + 1];
      if (col + 1 < a.n && a.n % 2 == 0) {  // dst is 8-byte aligned: one paired store
        if (a.accumulate) {
          const Float2 old = load_float2(dst);
          v0 = old.x + v0;
          v1 = old.y + v1;
        }
        store_float2(dst, v0, v1);
      } else {
        dst[0] = a.accumulate ? dst[0] + v0 : v0;
        if (col + 1 < a.n) dst[1] = a.accumulate ? dst[1] + v1 : v1;
      }
    }
  }
}

}  // namespace tt::cuda::mma
