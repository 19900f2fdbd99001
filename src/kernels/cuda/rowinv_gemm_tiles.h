// The block tiles of rowinv_gemm_bf16_tensor_cores (kernels/cuda/generation.h) and the rule that picks
// one, for tests and benchmarks that need to force a tile; the engine calls the plain entry point.
//
// Every tile computes the same bits. An output y[m, n] is the chain of 16-deep bf16 tensor-core steps
// (wmma m16n16k16 mma_syncs, or mma.sync m16n8k16 in the mma family below)
// over k = 0, 16, 32, ... in order from a zero fp32 accumulator, then (when accumulating) one fp32 add
// to y. A tile only decides which block and warp run that chain: the fragment shape, the K order and
// the K step of 32 with zeros past K are the same in all of them, and since every tile's rows and
// columns start at multiples of 16, the 16 x 16 fragment holding y[m, n] covers the same rows
// (m - m % 16 ...) and columns of x and w (zeros past m and n) in every tile: each mma_sync gets the
// same operands in the same places. So choosing the tile from m (the batch) keeps a row's bits
// independent of the batch: rowinv_gemm_test.cpp checks every tile against every other bit for bit.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace tt::cuda {

// rows x columns of y per block, largest first.
enum class RowInvTile {
  k64x128,  // 8 warps in 2 x 4, 32 x 32 each (2 x 2 fragments): the lm_head's and prefill's tile
  k32x64,   // 4 warps in 2 x 2, 16 x 32 each
  k16x64,   // 4 warps in 1 x 4, 16 x 16 each
  k16x32,   // 2 warps in 1 x 2, 16 x 16 each: the most blocks for small m and n
};
inline constexpr RowInvTile kRowInvTiles[] = {RowInvTile::k64x128, RowInvTile::k32x64, RowInvTile::k16x64,
                                              RowInvTile::k16x32};

constexpr int64_t rowinv_tile_rows(RowInvTile tile) {
  return tile == RowInvTile::k64x128 ? 64 : tile == RowInvTile::k32x64 ? 32 : 16;
}
constexpr int64_t rowinv_tile_cols(RowInvTile tile) {
  return tile == RowInvTile::k64x128 ? 128 : tile == RowInvTile::k16x32 ? 32 : 64;
}
constexpr const char* rowinv_tile_name(RowInvTile tile) {
  return tile == RowInvTile::k64x128 ? "64x128"
         : tile == RowInvTile::k32x64 ? "32x64"
         : tile == RowInvTile::k16x64 ? "16x64"
                                      : "16x32";
}

// Blocks in the grid of an m x n product.
constexpr int64_t rowinv_tile_blocks(RowInvTile tile, int64_t m, int64_t n) {
  return ((m + rowinv_tile_rows(tile) - 1) / rowinv_tile_rows(tile)) *
         ((n + rowinv_tile_cols(tile) - 1) / rowinv_tile_cols(tile));
}

// The rule: the largest tile whose grid gives every SM at least one block (one wave), among the tiles
// not taller than m rounded up to 16 (a 64-row tile for a handful of rows stages and multiplies mostly
// zeros); when none reaches a wave, the tile with the most blocks (the smallest). Decode shapes on an
// H200 (132 SMs): m = 256 takes 16x64 for n = 576 (144 blocks), 16x32 for n = 192 (96), 32x64 for
// n = 2048 (256) and 64x128 for the 128k vocabulary; m = 1 takes 16x64 only for the vocabulary and
// 16x32 elsewhere. Any answer gives the same bits: the rule only moves speed.
constexpr RowInvTile rowinv_tile_for(int64_t m, int64_t n, int64_t sm_count) {
  const int64_t rows_needed = (m + 15) / 16 * 16;
  for (RowInvTile tile : kRowInvTiles)
    if (rowinv_tile_rows(tile) <= rows_needed && rowinv_tile_blocks(tile, m, n) >= sm_count) return tile;
  return RowInvTile::k16x32;
}

// The kernel family that runs the tiles:
//   wmma  rowinv_gemm.cu's wmma kernel, one K step held in registers while the previous one
//         multiplies (measured on an H200: BENCHMARKS.md);
//   mma   rowinv_gemm_mma.cuh: mma.sync m16n8k16 with x and w streamed by cp.async, three stages deep
//         (emulator-tested; the default once a GPU has measured it faster). It needs K % 8 == 0 and
//         16-byte aligned x and w (rowinv_gemm_mma_applies); other products run on wmma.
// Both compute each output as the same chain of 16-deep bf16 products (the argument above), so a
// process that keeps one family keeps every row's bits independent of its batch.
enum class RowInvGemmKernels { wmma, mma };
// The family in use: set_rowinv_gemm_kernels if called, else TINYTHINK_CUDA_GENERATION_GEMM (wmma or
// mma; anything else is a one-line error), else wmma. Read once per process.
RowInvGemmKernels rowinv_gemm_kernels();
void set_rowinv_gemm_kernels(RowInvGemmKernels kernels);
bool rowinv_gemm_mma_applies(const float* x, const uint16_t* w, int64_t k);
constexpr const char* rowinv_gemm_kernels_name(RowInvGemmKernels kernels) {
  return kernels == RowInvGemmKernels::mma ? "mma" : "wmma";
}

// The product of rowinv_gemm_bf16_tensor_cores with the given tile and family (which the plain entry
// point picks with rowinv_tile_for and the current device's SM count, and rowinv_gemm_kernels).
void rowinv_gemm_bf16_tensor_cores_tile(RowInvTile tile, RowInvGemmKernels kernels, const float* x, int64_t m,
                                        const uint16_t* w, int64_t n, int64_t k, float* y, bool accumulate,
                                        cudaStream_t stream);

// The tile the plain entry point picks for an m x n product on the current device (its SM count is
// read once per process: on a machine of mixed GPUs only the speed would suffer, never the bits).
RowInvTile rowinv_auto_tile(int64_t m, int64_t n);

}  // namespace tt::cuda
