// Causal grouped-query attention with per-document boundaries on the tensor cores (bf16 operands,
// fp32 accumulation), flash-attention-2 style, for the training step in bf16 mode. Same layouts and
// meaning as attention.cu (its simple kernels stay the fp32 path and the fallback):
//   forward   one block per (64 query rows, batch row, head); each of its 4 warps owns 16 query rows and
//             streams over 64-key tiles: S = Q K^T (wmma), masked online softmax in fp32, O += P V (wmma,
//             P rounded to bf16). Saves each row's log-sum-exp, never a T x T buffer.
//   dK, dV    one block per (64 keys, batch row, KV head); each warp owns 16 keys and walks every query
//             tile of every query head of its group that can see them: P^T, dP^T = V dO^T,
//             dS^T = P^T (dP^T - delta), dV += P^T dO, dK += dS^T Q. The block owns its keys, so no
//             atomics: the result does not depend on scheduling.
//   dQ        one block per (64 query rows, batch row, head): dQ += dS K over the key tiles.
// Operands are rounded to bf16 as they are staged into shared memory; scores, softmax statistics and
// every accumulation stay fp32. Head dims 64 and 128 (the shapes of the presets); the caller falls back
// to the simple kernels for anything else.
#include <cuda_bf16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cuda/attention_mma.cuh"
#include "kernels/cuda/attention_tensor_cores.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/kernel_family.h"
#include "kernels/cuda/ops.h"

namespace tt::cuda {

namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

constexpr int kTile = 64;  // query rows per block and keys per tile
constexpr int kWarps = 4;  // 16 rows (or keys) each
constexpr int kThreads = 32 * kWarps;
constexpr int kPadHalf = 8;   // bf16 row padding: rows do not all start on the same bank
constexpr int kPadFloat = 4;  // fp32 row padding

// Row strides (elements) of the shared tiles; every wmma pointer stays 32-byte aligned with them.
template <int D>
struct Dims {
  static constexpr int op = D + kPadHalf;                             // bf16 operand tile [64][op]
  static constexpr int score = (D > kTile ? D : kTile) + kPadFloat;  // fp32 [16][score] per warp
  static constexpr int prob = kTile + kPadHalf;                       // bf16 [16][prob] per warp
};

template <int D>
struct ForwardShared {
  bf16 q[kTile * Dims<D>::op], k[kTile * Dims<D>::op], v[kTile * Dims<D>::op];
  float s[kWarps][16 * Dims<D>::score];
  bf16 p[kWarps][16 * Dims<D>::prob];
  float o[kWarps][16 * Dims<D>::score];
};

template <int D>
struct KeyGradShared {
  bf16 k[kTile * Dims<D>::op], v[kTile * Dims<D>::op], q[kTile * Dims<D>::op], dout[kTile * Dims<D>::op];
  float s[kWarps][16 * Dims<D>::score], dp[kWarps][16 * Dims<D>::score];
  bf16 p[kWarps][16 * Dims<D>::prob], ds[kWarps][16 * Dims<D>::prob];
  float lse[kTile], delta[kTile];
  int32_t first_key[kTile];
};

template <int D>
struct QueryGradShared {
  bf16 q[kTile * Dims<D>::op], dout[kTile * Dims<D>::op], k[kTile * Dims<D>::op], v[kTile * Dims<D>::op];
  float s[kWarps][16 * Dims<D>::score], dp[kWarps][16 * Dims<D>::score];
  bf16 ds[kWarps][16 * Dims<D>::prob];
};

using mma::min64;

// Staging into shared tiles is attention_mma.cuh's (same tile size, threads and row stride).
static_assert(kTile == mma::kAttentionTile && kThreads == mma::kAttentionThreads && Dims<64>::op == mma::kTileLd<64>);

template <int D>
__device__ void stage_tile(bf16* dst, const float* src, int64_t ld, int64_t valid) {
  mma::stage_tile<D>(reinterpret_cast<uint16_t*>(dst), src, ld, valid);
}

template <int D>
__device__ void stage_tile_pair(bf16* dst_a, const float* src_a, bf16* dst_b, const float* src_b, int64_t ld,
                                int64_t valid) {
  mma::stage_tile_pair<D>(reinterpret_cast<uint16_t*>(dst_a), src_a, reinterpret_cast<uint16_t*>(dst_b), src_b, ld,
                          valid);
}

// The 16 x D rows of a bf16 tile as matrix_a fragments, loaded once where they serve many key tiles.
template <int D>
__device__ void load_rows(FragA (&a)[D / 16], const bf16* rows) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) wmma::load_matrix_sync(a[kk], rows + kk * 16, Dims<D>::op);
}

// out[16 x 64] (fp32, ld Dims::score) = a[16 x D] · b^T, b: the 64 rows of a bf16 tile.
template <int D>
__device__ void rows_times_tile_transposed(float* out, const FragA (&a)[D / 16], const bf16* b) {
#pragma unroll
  for (int n = 0; n < kTile / 16; ++n) {
    FragC acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      FragBCol fb;
      wmma::load_matrix_sync(fb, b + n * 16 * Dims<D>::op + kk * 16, Dims<D>::op);
      wmma::mma_sync(acc, a[kk], fb, acc);
    }
    wmma::store_matrix_sync(out + n * 16, acc, Dims<D>::score, wmma::mem_row_major);
  }
}

// acc[n] (16 x D as D/16 fragments) += a[16 x 64] (bf16, ld Dims::prob) · b[64 x D] (a bf16 tile).
template <int D>
__device__ void accumulate_probs_times_tile(FragC (&acc)[D / 16], const bf16* a, const bf16* b) {
#pragma unroll
  for (int kk = 0; kk < kTile / 16; ++kk) {
    FragA fa;
    wmma::load_matrix_sync(fa, a + kk * 16, Dims<D>::prob);
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      FragBRow fb;
      wmma::load_matrix_sync(fb, b + kk * 16 * Dims<D>::op + n * 16, Dims<D>::op);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

// Writes 16 rows of fragments (times `scale`) through the warp's fp32 staging area to global rows
// dst + r * ld for r < valid.
template <int D>
__device__ void store_rows(float* dst, int64_t ld, int64_t valid, FragC (&acc)[D / 16], float scale, float* stage) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < D / 16; ++n) {
#pragma unroll
    for (int i = 0; i < acc[n].num_elements; ++i) acc[n].x[i] *= scale;
    wmma::store_matrix_sync(stage + n * 16, acc[n], Dims<D>::score, wmma::mem_row_major);
  }
  __syncwarp();
  for (int r = 0; r < 16 && r < valid; ++r)
    for (int d = lane; d < D; d += 32) dst[r * ld + d] = stage[r * Dims<D>::score + d];
  __syncwarp();
}

template <int D>
__global__ void __launch_bounds__(kThreads) forward_kernel(float* out, float* lse, const float* q, const float* k,
                                                           const float* v, const int32_t* doc_start, AttentionShape s) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  auto& sh = *reinterpret_cast<ForwardShared<D>*>(shared_bytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t T = s.seq, H = s.heads, ldq = H * D, ldk = s.kv_heads * D;
  const int64_t b = blockIdx.y / H, h = blockIdx.y % H, g = h / (H / s.kv_heads);
  // The last query tiles see the most keys: they start first.
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile, rows = min64(kTile, T - q0);
  const int64_t token0 = b * T;
  const float scale = rsqrtf(float(D));
  stage_tile<D>(sh.q, q + (token0 + q0) * ldq + h * D, ldq, rows);
  __syncthreads();
  FragA my_q[D / 16];
  load_rows<D>(my_q, sh.q + warp * 16 * Dims<D>::op);
  float* o = sh.o[warp];
  for (int i = lane; i < 16 * Dims<D>::score; i += 32) o[i] = 0.0f;

  // The softmax runs two lanes per row (lane 2r + half: row r, keys half * 32 ... + 31 of each tile),
  // so a row's statistics need one shuffle; each lane walks its 32 columns from a lane-dependent
  // offset, which spreads the warp's shared-memory accesses over all 32 banks.
  const int my_row = lane / 2, half = lane % 2;
  const int64_t my_t = q0 + warp * 16 + my_row;
  const int64_t my_first_key = doc_start ? doc_start[token0 + min64(my_t, T - 1)] : 0;
  float row_max = -INFINITY, row_sum = 0.0f;
  float* my_scores = sh.s[warp] + my_row * Dims<D>::score + half * 32;
  bf16* my_probs = sh.p[warp] + my_row * Dims<D>::prob + half * 32;
  float* my_out = o + my_row * Dims<D>::score + half * (D / 2);
  const int64_t block_first_key = doc_start ? doc_start[token0 + q0] : 0;
  const int64_t last_key = q0 + rows - 1;
  for (int64_t k0 = block_first_key / kTile * kTile; k0 <= last_key; k0 += kTile) {
    __syncthreads();  // the previous tile's K and V are no longer read
    const int64_t keys = min64(kTile, T - k0);
    stage_tile_pair<D>(sh.k, k + (token0 + k0) * ldk + g * D, sh.v, v + (token0 + k0) * ldk + g * D, ldk, keys);
    __syncthreads();
    rows_times_tile_transposed<D>(sh.s[warp], my_q, sh.k);
    __syncwarp();
    const int64_t j0 = k0 + half * 32;  // the key of my_scores[0]
    float tile_max = -INFINITY;
#pragma unroll 8
    for (int i = 0; i < 32; ++i) {
      const int c = (i + lane) % 32;
      if (j0 + c >= my_first_key && j0 + c <= my_t) tile_max = fmaxf(tile_max, my_scores[c] * scale);
    }
    const float new_max = fmaxf(row_max, fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1)));
    const float rescale = new_max == -INFINITY ? 1.0f : expf(row_max - new_max);
    float sum = 0.0f;
#pragma unroll 8
    for (int i = 0; i < 32; ++i) {
      const int c = (i + lane) % 32;
      const bool visible = j0 + c >= my_first_key && j0 + c <= my_t;
      const float p = visible ? expf(my_scores[c] * scale - new_max) : 0.0f;
      sum += p;
      my_probs[c] = __float2bfloat16_rn(p);
    }
    row_sum = row_sum * rescale + sum + __shfl_xor_sync(0xffffffffu, sum, 1);
    row_max = new_max;
#pragma unroll 8
    for (int i = 0; i < D / 2; ++i) my_out[(i + lane) % (D / 2)] *= rescale;
    __syncwarp();
    // O += P V: the four P fragments once, then each 16-column block of O through its accumulator.
    FragA probs[kTile / 16];
#pragma unroll
    for (int kk = 0; kk < kTile / 16; ++kk) wmma::load_matrix_sync(probs[kk], sh.p[warp] + kk * 16, Dims<D>::prob);
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      FragC acc;
      wmma::load_matrix_sync(acc, o + n * 16, Dims<D>::score, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        FragBRow fb;
        wmma::load_matrix_sync(fb, sh.v + kk * 16 * Dims<D>::op + n * 16, Dims<D>::op);
        wmma::mma_sync(acc, probs[kk], fb, acc);
      }
      wmma::store_matrix_sync(o + n * 16, acc, Dims<D>::score, wmma::mem_row_major);
    }
    __syncwarp();
  }
  // Rows out coalesced: row r's statistics come from its lane 2r.
  for (int r = 0; r < 16; ++r) {
    const float sum_r = __shfl_sync(0xffffffffu, row_sum, 2 * r), max_r = __shfl_sync(0xffffffffu, row_max, 2 * r);
    const int64_t t = q0 + warp * 16 + r;
    if (t >= T) break;
    const float inverse = 1.0f / sum_r;
    float* dst = out + (token0 + t) * ldq + h * D;
    for (int d = lane; d < D; d += 32) dst[d] = o[r * Dims<D>::score + d] * inverse;
    if (lane == 0) lse[(b * H + h) * T + t] = max_r + logf(sum_r);
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    key_grad_kernel(float* dk, float* dv, const float* dout, const float* lse, const float* delta, const float* q,
                    const float* k, const float* v, const int32_t* doc_start, AttentionShape s) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  auto& sh = *reinterpret_cast<KeyGradShared<D>*>(shared_bytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t T = s.seq, H = s.heads, KVH = s.kv_heads, group = H / KVH, ldq = H * D, ldk = KVH * D;
  const int64_t b = blockIdx.y / KVH, g = blockIdx.y % KVH;
  const int64_t k0 = int64_t(blockIdx.x) * kTile, keys = min64(kTile, T - k0);  // the first keys work most
  const int64_t token0 = b * T;
  const float scale = rsqrtf(float(D));
  stage_tile_pair<D>(sh.k, k + (token0 + k0) * ldk + g * D, sh.v, v + (token0 + k0) * ldk + g * D, ldk, keys);
  __syncthreads();
  FragA my_k[D / 16], my_v[D / 16];
  load_rows<D>(my_k, sh.k + warp * 16 * Dims<D>::op);
  load_rows<D>(my_v, sh.v + warp * 16 * Dims<D>::op);
  FragC dk_acc[D / 16], dv_acc[D / 16];
#pragma unroll
  for (int n = 0; n < D / 16; ++n) {
    wmma::fill_fragment(dk_acc[n], 0.0f);
    wmma::fill_fragment(dv_acc[n], 0.0f);
  }
  const int64_t last_key = k0 + keys - 1;
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    for (int64_t q0 = k0; q0 < T; q0 += kTile) {
      // Documents only start later: once a tile's first row starts after these keys, all later ones do.
      if (doc_start && doc_start[token0 + q0] > last_key) break;
      const int64_t rows = min64(kTile, T - q0);
      __syncthreads();  // the previous query tile is no longer read
      stage_tile_pair<D>(sh.q, q + (token0 + q0) * ldq + h * D, sh.dout, dout + (token0 + q0) * ldq + h * D, ldq,
                         rows);
      for (int i = threadIdx.x; i < kTile; i += kThreads) {
        const bool valid = i < rows;
        const int64_t stat = (b * H + h) * T + q0 + i;
        sh.lse[i] = valid ? lse[stat] : 0.0f;
        sh.delta[i] = valid ? delta[stat] : 0.0f;
        sh.first_key[i] = !valid ? INT32_MAX : doc_start ? doc_start[token0 + q0 + i] : 0;
      }
      __syncthreads();
      rows_times_tile_transposed<D>(sh.s[warp], my_k, sh.q);      // S^T: 16 keys x 64 queries
      rows_times_tile_transposed<D>(sh.dp[warp], my_v, sh.dout);  // dP^T = V dO^T
      __syncwarp();
#pragma unroll 4
      for (int r = 0; r < 16; ++r) {
        const int64_t j = k0 + warp * 16 + r;
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int col = lane + 32 * c;
          const int64_t t = q0 + col;
          const bool visible = j <= t && j >= sh.first_key[col];
          const float p = visible ? expf(sh.s[warp][r * Dims<D>::score + col] * scale - sh.lse[col]) : 0.0f;
          const float ds = p * (sh.dp[warp][r * Dims<D>::score + col] - sh.delta[col]);
          sh.p[warp][r * Dims<D>::prob + col] = __float2bfloat16_rn(p);
          sh.ds[warp][r * Dims<D>::prob + col] = __float2bfloat16_rn(ds);
        }
      }
      __syncwarp();
      accumulate_probs_times_tile<D>(dv_acc, sh.p[warp], sh.dout);  // dV += P^T dO
      accumulate_probs_times_tile<D>(dk_acc, sh.ds[warp], sh.q);    // dK += dS^T Q (scaled at the end)
    }
  }
  const int64_t my_keys = keys - warp * 16;
  float* key_row = nullptr;
  if (my_keys > 0) key_row = dk + (token0 + k0 + warp * 16) * ldk + g * D;
  if (my_keys > 0) store_rows<D>(key_row, ldk, my_keys, dk_acc, scale, sh.s[warp]);
  if (my_keys > 0) store_rows<D>(dv + (token0 + k0 + warp * 16) * ldk + g * D, ldk, my_keys, dv_acc, 1.0f, sh.s[warp]);
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    query_grad_kernel(float* dq, const float* dout, const float* lse, const float* delta, const float* q,
                      const float* k, const float* v, const int32_t* doc_start, AttentionShape s) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  auto& sh = *reinterpret_cast<QueryGradShared<D>*>(shared_bytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t T = s.seq, H = s.heads, ldq = H * D, ldk = s.kv_heads * D;
  const int64_t b = blockIdx.y / H, h = blockIdx.y % H, g = h / (H / s.kv_heads);
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile, rows = min64(kTile, T - q0);
  const int64_t token0 = b * T;
  const float scale = rsqrtf(float(D));
  stage_tile_pair<D>(sh.q, q + (token0 + q0) * ldq + h * D, sh.dout, dout + (token0 + q0) * ldq + h * D, ldq, rows);
  __syncthreads();
  FragA my_q[D / 16], my_dout[D / 16];
  load_rows<D>(my_q, sh.q + warp * 16 * Dims<D>::op);
  load_rows<D>(my_dout, sh.dout + warp * 16 * Dims<D>::op);
  // Two lanes per row, as in the forward: lane 2r + half takes row r's keys half * 32 ... + 31.
  const int my_row = lane / 2, half = lane % 2;
  const int64_t my_t = q0 + warp * 16 + my_row, my_stat = (b * H + h) * T + min64(my_t, T - 1);
  const int64_t my_first_key = doc_start ? doc_start[token0 + min64(my_t, T - 1)] : 0;
  const float my_lse = lse[my_stat], my_delta = delta[my_stat];
  const float* my_scores = sh.s[warp] + my_row * Dims<D>::score + half * 32;
  const float* my_dp = sh.dp[warp] + my_row * Dims<D>::score + half * 32;
  bf16* my_ds = sh.ds[warp] + my_row * Dims<D>::prob + half * 32;
  FragC dq_acc[D / 16];
#pragma unroll
  for (int n = 0; n < D / 16; ++n) wmma::fill_fragment(dq_acc[n], 0.0f);
  const int64_t block_first_key = doc_start ? doc_start[token0 + q0] : 0;
  for (int64_t k0 = block_first_key / kTile * kTile; k0 <= q0 + rows - 1; k0 += kTile) {
    __syncthreads();
    const int64_t keys = min64(kTile, T - k0);
    stage_tile_pair<D>(sh.k, k + (token0 + k0) * ldk + g * D, sh.v, v + (token0 + k0) * ldk + g * D, ldk, keys);
    __syncthreads();
    rows_times_tile_transposed<D>(sh.s[warp], my_q, sh.k);      // S = Q K^T
    rows_times_tile_transposed<D>(sh.dp[warp], my_dout, sh.v);  // dP = dO V^T
    __syncwarp();
    const int64_t j0 = k0 + half * 32;  // the key of my_scores[0]
#pragma unroll 8
    for (int i = 0; i < 32; ++i) {
      const int c = (i + lane) % 32;
      const bool visible = my_t < T && j0 + c <= my_t && j0 + c >= my_first_key;
      const float p = visible ? expf(my_scores[c] * scale - my_lse) : 0.0f;
      my_ds[c] = __float2bfloat16_rn(p * (my_dp[c] - my_delta));
    }
    __syncwarp();
    accumulate_probs_times_tile<D>(dq_acc, sh.ds[warp], sh.k);  // dQ += dS K (scaled at the end)
  }
  const int64_t my_rows = rows - warp * 16;
  if (my_rows > 0) store_rows<D>(dq + (token0 + q0 + warp * 16) * ldq + h * D, ldq, my_rows, dq_acc, scale, sh.s[warp]);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Whether this device gives a block `bytes` of shared memory (opt-in beyond 48 KiB).
bool shared_memory_fits(size_t bytes) {
  int device = 0, limit = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  if (cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) return false;
  return bytes <= static_cast<size_t>(limit);
}

template <typename Kernel>
void allow_shared_memory(Kernel kernel, size_t bytes) {
  TT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

template <int D>
bool fits(TensorCoreAttentionKernels kernels) {
  if (kernels == TensorCoreAttentionKernels::mma)
    return shared_memory_fits(std::max({sizeof(mma::AttentionForwardShared<D>), sizeof(mma::AttentionKeyGradShared<D>),
                                        sizeof(mma::AttentionQueryGradShared<D>)}));
  return shared_memory_fits(std::max({sizeof(ForwardShared<D>), sizeof(KeyGradShared<D>), sizeof(QueryGradShared<D>)}));
}

// Elements of q's and of k's (or v's) slice; each bf16 copy is padded to a multiple of 8 elements,
// so that every copy starts 16-byte aligned for cp.async.
int64_t q_elements(const AttentionShape& s) { return s.batch * s.seq * s.heads * s.head_dim; }
int64_t kv_elements(const AttentionShape& s) { return s.batch * s.seq * s.kv_heads * s.head_dim; }
int64_t padded(int64_t elements) { return (elements + 7) / 8 * 8; }

// The mma kernels' arguments for q, k, v and their bf16 copies, rounded into `copies` (laid out
// q, k, v, then dout when given: tensor_core_attention_copy_elements).
mma::AttentionMmaArgs mma_args(const AttentionShape& s, const float* q, const float* k, const float* v,
                               const float* dout, const int32_t* doc_start, uint16_t* copies, cudaStream_t stream) {
  mma::AttentionMmaArgs a;
  a.q = q;
  a.k = k;
  a.v = v;
  a.dout = dout;
  a.doc_start = doc_start;
  a.batch = s.batch;
  a.seq = s.seq;
  a.heads = s.heads;
  a.kv_heads = s.kv_heads;
  const auto round = [&](const float* x, int64_t n) {
    round_to_bf16(copies, x, n, stream);
    const uint16_t* copy = copies;
    copies += padded(n);
    return copy;
  };
  a.q16 = round(q, q_elements(s));
  a.k16 = round(k, kv_elements(s));
  a.v16 = round(v, kv_elements(s));
  if (dout) a.dout16 = round(dout, q_elements(s));
  return a;
}

template <int D>
void mma_forward_for(float* out, float* lse, const float* q, const float* k, const float* v, const int32_t* doc_start,
                     const AttentionShape& s, uint16_t* copies, cudaStream_t stream) {
  mma::AttentionMmaArgs a = mma_args(s, q, k, v, nullptr, doc_start, copies, stream);
  a.out = out;
  a.lse = lse;
  const size_t bytes = sizeof(mma::AttentionForwardShared<D>);
  allow_shared_memory(mma::attention_mma_forward_kernel<D>, bytes);
  const dim3 grid(static_cast<unsigned>((s.seq + kTile - 1) / kTile), static_cast<unsigned>(s.batch * s.heads));
  mma::attention_mma_forward_kernel<D><<<grid, mma::kAttentionThreads, bytes, stream>>>(a);
  TT_CUDA_CHECK_LAUNCH();
}

template <int D>
void mma_backward_for(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* delta,
                      const float* q, const float* k, const float* v, const int32_t* doc_start, const AttentionShape& s,
                      uint16_t* copies, cudaStream_t stream) {
  mma::AttentionMmaArgs a = mma_args(s, q, k, v, dout, doc_start, copies, stream);
  a.dq = dq;
  a.dk = dk;
  a.dv = dv;
  a.saved_lse = lse;
  a.delta = delta;
  const unsigned tiles = static_cast<unsigned>((s.seq + kTile - 1) / kTile);
  const size_t key_bytes = sizeof(mma::AttentionKeyGradShared<D>), query_bytes = sizeof(mma::AttentionQueryGradShared<D>);
  allow_shared_memory(mma::attention_mma_key_grad_kernel<D>, key_bytes);
  allow_shared_memory(mma::attention_mma_query_grad_kernel<D>, query_bytes);
  mma::attention_mma_key_grad_kernel<D>
      <<<dim3(tiles, static_cast<unsigned>(s.batch * s.kv_heads)), mma::kAttentionThreads, key_bytes, stream>>>(a);
  TT_CUDA_CHECK_LAUNCH();
  mma::attention_mma_query_grad_kernel<D>
      <<<dim3(tiles, static_cast<unsigned>(s.batch * s.heads)), mma::kAttentionThreads, query_bytes, stream>>>(a);
  TT_CUDA_CHECK_LAUNCH();
}

KernelFamilyChoice<TensorCoreAttentionKernels> family_choice("TINYTHINK_CUDA_ATTENTION");

template <int D>
void forward_for(float* out, float* lse, const float* q, const float* k, const float* v, const int32_t* doc_start,
                 const AttentionShape& s, cudaStream_t stream) {
  const size_t bytes = sizeof(ForwardShared<D>);
  allow_shared_memory(forward_kernel<D>, bytes);
  const dim3 grid(static_cast<unsigned>((s.seq + kTile - 1) / kTile), static_cast<unsigned>(s.batch * s.heads));
  forward_kernel<D><<<grid, kThreads, bytes, stream>>>(out, lse, q, k, v, doc_start, s);
  TT_CUDA_CHECK_LAUNCH();
}

template <int D>
void backward_for(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* delta,
                  const float* q, const float* k, const float* v, const int32_t* doc_start, const AttentionShape& s,
                  cudaStream_t stream) {
  const unsigned tiles = static_cast<unsigned>((s.seq + kTile - 1) / kTile);
  const size_t key_bytes = sizeof(KeyGradShared<D>), query_bytes = sizeof(QueryGradShared<D>);
  allow_shared_memory(key_grad_kernel<D>, key_bytes);
  allow_shared_memory(query_grad_kernel<D>, query_bytes);
  key_grad_kernel<D><<<dim3(tiles, static_cast<unsigned>(s.batch * s.kv_heads)), kThreads, key_bytes, stream>>>(
      dk, dv, dout, lse, delta, q, k, v, doc_start, s);
  TT_CUDA_CHECK_LAUNCH();
  query_grad_kernel<D><<<dim3(tiles, static_cast<unsigned>(s.batch * s.heads)), kThreads, query_bytes, stream>>>(
      dq, dout, lse, delta, q, k, v, doc_start, s);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace

TensorCoreAttentionKernels tensor_core_attention_kernels() { return family_choice.get(); }

void set_tensor_core_attention_kernels(TensorCoreAttentionKernels kernels) { family_choice.set(kernels); }

int64_t tensor_core_attention_copy_elements(const AttentionShape& s) {
  if (tensor_core_attention_kernels() != TensorCoreAttentionKernels::mma) return 0;
  return 2 * padded(q_elements(s)) + 2 * padded(kv_elements(s));
}

bool tensor_core_attention_supports(const AttentionShape& s, std::initializer_list<const void*> pointers) {
  if (!s.bf16 || s.kv_heads < 1 || s.heads % s.kv_heads != 0 || s.batch * s.heads > 65535) return false;
  for (const void* p : pointers)
    if (!aligned16(p)) return false;
  if (s.head_dim == 64) return fits<64>(tensor_core_attention_kernels());
  if (s.head_dim == 128) return fits<128>(tensor_core_attention_kernels());
  return false;
}

void tensor_core_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                   const int32_t* doc_start, const AttentionShape& s, uint16_t* copies,
                                   cudaStream_t stream) {
  if (tensor_core_attention_kernels() == TensorCoreAttentionKernels::mma) {
    if (s.head_dim == 64) return mma_forward_for<64>(out, lse, q, k, v, doc_start, s, copies, stream);
    return mma_forward_for<128>(out, lse, q, k, v, doc_start, s, copies, stream);
  }
  if (s.head_dim == 64) return forward_for<64>(out, lse, q, k, v, doc_start, s, stream);
  forward_for<128>(out, lse, q, k, v, doc_start, s, stream);
}

void tensor_core_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* lse,
                                    const float* delta, const float* q, const float* k, const float* v,
                                    const int32_t* doc_start, const AttentionShape& s, uint16_t* copies,
                                    cudaStream_t stream) {
  if (tensor_core_attention_kernels() == TensorCoreAttentionKernels::mma) {
    if (s.head_dim == 64) return mma_backward_for<64>(dq, dk, dv, dout, lse, delta, q, k, v, doc_start, s, copies, stream);
    return mma_backward_for<128>(dq, dk, dv, dout, lse, delta, q, k, v, doc_start, s, copies, stream);
  }
  if (s.head_dim == 64) return backward_for<64>(dq, dk, dv, dout, lse, delta, q, k, v, doc_start, s, stream);
  backward_for<128>(dq, dk, dv, dout, lse, delta, q, k, v, doc_start, s, stream);
}

}  // namespace tt::cuda
