// The warp-level building blocks of the mma.sync kernels (attention_mma.cuh, rowinv_gemm_mma.cuh),
// written once for two compilers:
//   nvcc (__CUDACC__)  the PTX instructions themselves: mma.sync m16n8k16 bf16 -> fp32, ldmatrix
//                      (.x4, .x2, .trans), warp shuffles, barriers, dynamic shared memory;
//   a host compiler    the same operations on warp_emulator.h's emulated threads (one context per
//                      CUDA thread, lanes meeting at every warp collective), so that the kernels run,
//                      and are tested, on a machine with no GPU.
// Register layouts are PTX's ("Matrix Fragments for mma.m16n8k16 with floating point type"): with
// g = lane / 4 and t = lane % 4, a 16x16 A tile gives a lane the bf16 pairs
//   a[0] = A[g][2t, 2t+1]   a[1] = A[g+8][2t, 2t+1]   a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
// a 16x8 B tile (k x n) the pairs b[0] = B[2t, 2t+1][g], b[1] = B[2t+8, 2t+9][g], and the 16x8 fp32
// accumulator c[0, 1] = C[g][2t, 2t+1], c[2, 3] = C[g+8][2t, 2t+1]. A pair's lower column (or row,
// for B) sits in the low 16 bits. ldmatrix: lanes 8i..8i+7 name the rows of 8x8 matrix i; r[i] is
// M_i[g][2t, 2t+1], or with .trans M_i[2t, 2t+1][g].
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#define TT_MMA_DEVICE __device__ __forceinline__
#define TT_MMA_KERNEL(threads) __global__ void __launch_bounds__(threads)
#define TT_UNROLL _Pragma("unroll")
#else
#include <cmath>
#include <cstring>

#include "kernels/cuda/warp_emulator.h"
#define TT_MMA_DEVICE inline
#define TT_MMA_KERNEL(threads) void
#define TT_UNROLL
#endif

namespace tt::cuda::mma {

#if defined(__CUDACC__)

extern __shared__ __align__(128) unsigned char dynamic_shared_bytes[];
TT_MMA_DEVICE unsigned char* shared_memory() { return dynamic_shared_bytes; }
TT_MMA_DEVICE int thread_index() { return static_cast<int>(threadIdx.x); }
TT_MMA_DEVICE int64_t block_x() { return blockIdx.x; }
TT_MMA_DEVICE int64_t block_y() { return blockIdx.y; }
TT_MMA_DEVICE int64_t grid_x() { return gridDim.x; }
TT_MMA_DEVICE void block_sync() { __syncthreads(); }
TT_MMA_DEVICE void warp_sync() { __syncwarp(); }
TT_MMA_DEVICE float shuffle_xor(float value, int mask) { return __shfl_xor_sync(0xffffffffu, value, mask); }

TT_MMA_DEVICE uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&pair);
}

using Float4 = float4;
using Float2 = float2;

// d += a b (16x16 bf16 times 16x8 bf16, fp32 accumulation).
TT_MMA_DEVICE void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

TT_MMA_DEVICE uint32_t shared_address(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// row: this lane's row of its matrix (16 bytes of shared memory, 16-byte aligned).
TT_MMA_DEVICE void ldmatrix_x4(uint32_t (&r)[4], const uint16_t* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}
TT_MMA_DEVICE void ldmatrix_x4_trans(uint32_t (&r)[4], const uint16_t* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

// cp.async: a 16-byte copy from global to shared memory that completes in the background; the copies
// issued since the last commit form a group, and wait<N> returns once at most N of this thread's
// groups are still in flight (a block barrier then makes every thread's copies visible).
TT_MMA_DEVICE void cp_async_16(void* shared_dst, const void* global_src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(shared_dst)), "l"(global_src));
}
TT_MMA_DEVICE void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
TT_MMA_DEVICE void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
TT_MMA_DEVICE void store_zero16(void* shared_dst) { *reinterpret_cast<uint4*>(shared_dst) = make_uint4(0, 0, 0, 0); }

#else  // the emulated warp

TT_MMA_DEVICE unsigned char* shared_memory() { return emulation::current_block().shared_memory(); }
TT_MMA_DEVICE int thread_index() { return emulation::current_block().thread_index(); }
TT_MMA_DEVICE int64_t block_x() { return emulation::current_block().block_x; }
TT_MMA_DEVICE int64_t block_y() { return emulation::current_block().block_y; }
TT_MMA_DEVICE int64_t grid_x() { return emulation::current_block().grid_x; }
TT_MMA_DEVICE void block_sync() { emulation::current_block().block_barrier(); }
TT_MMA_DEVICE void warp_sync() { emulation::current_block().warp_barrier(); }
TT_MMA_DEVICE float shuffle_xor(float value, int mask) {
  auto& block = emulation::current_block();
  return block.exchange_float(value, (block.thread_index() % 32) ^ mask);
}
TT_MMA_DEVICE uint32_t pack_bf16x2(float lo, float hi) {
  return uint32_t(emulation::float_to_bf16_bits(lo)) | (uint32_t(emulation::float_to_bf16_bits(hi)) << 16);
}
struct alignas(16) Float4 {
  float x, y, z, w;
};
struct alignas(8) Float2 {
  float x, y;
};
TT_MMA_DEVICE void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  emulation::current_block().mma_bf16_16816(d, a, b);
}
TT_MMA_DEVICE void ldmatrix_x4(uint32_t (&r)[4], const uint16_t* row) {
  emulation::current_block().ldmatrix_x4(r, row, false);
}
TT_MMA_DEVICE void ldmatrix_x4_trans(uint32_t (&r)[4], const uint16_t* row) {
  emulation::current_block().ldmatrix_x4(r, row, true);
}
TT_MMA_DEVICE void cp_async_16(void* shared_dst, const void* global_src) {
  emulation::current_block().cp_async_16(shared_dst, global_src);
}
TT_MMA_DEVICE void cp_async_commit() { emulation::current_block().cp_async_commit(); }
template <int N>
TT_MMA_DEVICE void cp_async_wait() {
  emulation::current_block().cp_async_wait(N);
}
TT_MMA_DEVICE void store_zero16(void* shared_dst) { std::memset(shared_dst, 0, 16); }

#endif

TT_MMA_DEVICE Float4 load_float4(const float* p) { return *reinterpret_cast<const Float4*>(p); }
// p: 8-byte aligned.
TT_MMA_DEVICE Float2 load_float2(const float* p) { return *reinterpret_cast<const Float2*>(p); }
// p: 8-byte aligned.
TT_MMA_DEVICE void store_float2(float* p, float x, float y) {
#if defined(__CUDACC__)
  *reinterpret_cast<float2*>(p) = make_float2(x, y);
#else
  p[0] = x;
  p[1] = y;
#endif
}

}  // namespace tt::cuda::mma
