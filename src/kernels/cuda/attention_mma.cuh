// Causal grouped-query attention with per-document boundaries on mma.sync tensor-core instructions
// (bf16 operands, fp32 accumulation), flash-attention-2 style: scores, probabilities and their
// gradients never leave the registers of the warp that computes them (the accumulator layout of
// m16n8k16 is reused as the A operand of the next product), where attention_tensor_cores.cu's wmma
// kernels round-trip every score tile through shared memory. Same layouts, meaning and work split:
//   forward   one block per (64 query rows, batch row, head); each of its 4 warps owns 16 rows and
//             streams over 64-key tiles: S = Q K^T, masked online softmax in base 2 (row statistics
//             over the 4 lanes that share a row), O += P V. Saves each row's log-sum-exp.
//   dK, dV    one block per (64 keys, batch row, KV head), each warp 16 keys, over every query tile of
//             every head of the group that can see them, 32 queries at a time: S^T = K Q^T,
//             dP^T = V dO^T, P^T and dS^T = P^T (dP^T - delta), dV += P^T dO, dK += dS^T Q. The block
//             owns its keys: no atomics, the result does not depend on scheduling.
//   dQ        one block per (64 query rows, batch row, head): dQ += dS K over the key tiles.
// Operands are rounded to bf16 as they are staged into shared memory (rows padded by 16 bytes, so the
// 8 rows of an ldmatrix fall in distinct banks); softmax statistics and every sum stay fp32.
// Written against warp_mma.cuh: nvcc compiles these kernels for the GPU (attention_tensor_cores.cu)
// and a host compiler runs them on warp_emulator.h (attention_mma_emulated_test.cpp).
#pragma once

#include <cstdint>

#include "kernels/cuda/warp_mma.cuh"

namespace tt::cuda::mma {

struct AttentionMmaArgs {
  float *out = nullptr, *lse = nullptr;              // forward: [B, T, H, D], [B, H, T]
  float *dq = nullptr, *dk = nullptr, *dv = nullptr;  // backward, overwritten
  const float *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr;
  // bf16 copies of q, k, v and dout (same layouts), or null: tiles are then copied into shared memory
  // by cp.async, double-buffered (the next tile loads while the current one is computed); without
  // them the fp32 rows are rounded through registers as they are staged.
  const uint16_t *q16 = nullptr, *k16 = nullptr, *v16 = nullptr, *dout16 = nullptr;
  const float* saved_lse = nullptr;    // backward: the forward's lse
  const float* delta = nullptr;        // [B, H, T]: rowwise dout . out
  const int32_t* doc_start = nullptr;  // [B, T] or null: each token's document start
  int64_t batch = 1, seq = 1, heads = 1, kv_heads = 1;
};

constexpr int kAttentionTile = 64;  // query rows per block and keys per tile
constexpr int kAttentionWarps = 4;  // 16 rows (or keys) each
constexpr int kAttentionThreads = 32 * kAttentionWarps;
constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;

template <int D>
constexpr int kTileLd = D + 8;  // bf16 elements between rows of a shared tile
template <int D>
constexpr int kTileElements = kAttentionTile * kTileLd<D>;

// The streamed tiles have two buffers: one computed on while the other loads.
template <int D>
struct AttentionForwardShared {
  uint16_t q[kTileElements<D>], k[2][kTileElements<D>], v[2][kTileElements<D>];
};
template <int D>
struct AttentionKeyGradShared {
  uint16_t k[kTileElements<D>], v[kTileElements<D>], q[2][kTileElements<D>], dout[2][kTileElements<D>];
  float lse2[2][kAttentionTile], delta[2][kAttentionTile];  // lse2: log-sum-exp in base 2
  int32_t first_key[2][kAttentionTile];
};
template <int D>
struct AttentionQueryGradShared {
  uint16_t q[kTileElements<D>], dout[kTileElements<D>], k[2][kTileElements<D>], v[2][kTileElements<D>];
};

TT_MMA_DEVICE int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Rows [0, 64) of kCount fp32 slices (src: row 0, column 0; ld floats between rows) into bf16 tiles;
// rows at or past `valid` are zeros (finite, so that a masked probability of 0 times them stays 0).
// All loads are issued before any store so that their latencies overlap.
template <int D, int kCount>
TT_MMA_DEVICE void stage_tiles(uint16_t* const (&dst)[kCount], const float* const (&src)[kCount], int64_t ld,
                               int64_t valid) {
  constexpr int kVectors = D / 4, kPerThread = kAttentionTile * kVectors / kAttentionThreads;
  Float4 values[kCount][kPerThread];
  TT_UNROLL
  for (int t = 0; t < kCount; ++t)
    TT_UNROLL
  for (int i = 0; i < kPerThread; ++i) {
    const int e = thread_index() + i * kAttentionThreads, r = e / kVectors, c = (e % kVectors) * 4;
    values[t][i] = r < valid ? load_float4(src[t] + r * ld + c) : Float4{0.0f, 0.0f, 0.0f, 0.0f};
  }
  TT_UNROLL
  for (int t = 0; t < kCount; ++t)
    TT_UNROLL
  for (int i = 0; i < kPerThread; ++i) {
    const int e = thread_index() + i * kAttentionThreads, r = e / kVectors, c = (e % kVectors) * 4;
    uint32_t* d = reinterpret_cast<uint32_t*>(dst[t] + r * kTileLd<D> + c);
    d[0] = pack_bf16x2(values[t][i].x, values[t][i].y);
    d[1] = pack_bf16x2(values[t][i].z, values[t][i].w);
  }
}

template <int D>
TT_MMA_DEVICE void stage_tile(uint16_t* dst, const float* src, int64_t ld, int64_t valid) {
  uint16_t* const dsts[1] = {dst};
  const float* const srcs[1] = {src};
  stage_tiles<D, 1>(dsts, srcs, ld, valid);
}

template <int D>
TT_MMA_DEVICE void stage_tile_pair(uint16_t* dst_a, const float* src_a, uint16_t* dst_b, const float* src_b,
                                   int64_t ld, int64_t valid) {
  uint16_t* const dsts[2] = {dst_a, dst_b};
  const float* const srcs[2] = {src_a, src_b};
  stage_tiles<D, 2>(dsts, srcs, ld, valid);
}

// Rows [0, 64) of a tile from rows of an fp32 tensor (row 0 at element `offset`, `ld` elements apart)
// or, when `b16` is given, from its bf16 copy: by cp.async, in the caller's next commit group. Rows at
// or past `valid` are zeros.
template <int D>
TT_MMA_DEVICE void stage_rows(uint16_t* dst, const float* f32, const uint16_t* b16, int64_t offset, int64_t ld,
                              int64_t valid) {
  if (!b16) return stage_tile<D>(dst, f32 + offset, ld, valid);
  constexpr int kChunks = D / 8, kPerThread = kAttentionTile * kChunks / kAttentionThreads;  // 16 bytes each
  TT_UNROLL
  for (int i = 0; i < kPerThread; ++i) {
    const int e = thread_index() + i * kAttentionThreads, r = e / kChunks, c = (e % kChunks) * 8;
    uint16_t* d = dst + r * kTileLd<D> + c;
    if (r < valid) cp_async_16(d, b16 + offset + r * ld + c);
    else store_zero16(d);
  }
}

// Runs issue(0, 0), then for each item i < count: issue(i + 1, the other buffer) so that it loads in
// the background, waits for item i's tiles (every thread's), visit(i, its buffer), and a barrier
// before that buffer is loaded again. issue stages one item's tiles into a buffer (stage_rows, and
// any plain shared stores); the commits are made here.
template <typename Issue, typename Visit>
TT_MMA_DEVICE void double_buffered(int64_t count, Issue&& issue, Visit&& visit) {
  if (count <= 0) return;
  issue(int64_t(0), 0);
  cp_async_commit();
  int buf = 0;
  for (int64_t i = 0; i < count; ++i, buf ^= 1) {
    if (i + 1 < count) issue(i + 1, buf ^ 1);
    cp_async_commit();  // possibly empty: the group count stays one per item
    cp_async_wait<1>();
    block_sync();
    visit(i, buf);
    block_sync();
  }
}

// A operands of the 16 rows [row0, row0 + 16) of a tile, all D columns (D / 16 k-steps).
template <int D>
TT_MMA_DEVICE void load_row_operands(uint32_t (&a)[D / 16][4], const uint16_t* tile, int row0) {
  const int lane = thread_index() % 32;
  TT_UNROLL
  for (int kk = 0; kk < D / 16; ++kk)
    ldmatrix_x4(a[kk], tile + (row0 + lane % 16) * kTileLd<D> + kk * 16 + (lane / 16) * 8);
}

// acc[j] (16 x 8 each) += a (16 x D) . tile[n0 + 8 j ... + 7]^T: the tile's rows are the product's
// columns (S = Q K^T with K's rows in the tile). kN even.
template <int D, int kN>
TT_MMA_DEVICE void mma_rows_times_tile_rows(float (&acc)[kN][4], const uint32_t (&a)[D / 16][4], const uint16_t* tile,
                                            int n0) {
  const int lane = thread_index() % 32;
  TT_UNROLL
  for (int kk = 0; kk < D / 16; ++kk)
    TT_UNROLL
  for (int j = 0; j < kN; j += 2) {
    uint32_t b[4];
    ldmatrix_x4(b, tile + (n0 + 8 * (j + lane / 16) + lane % 8) * kTileLd<D> + 16 * kk + 8 * ((lane / 8) % 2));
    const uint32_t b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
    mma_bf16_16816(acc[j], a[kk], b0);
    mma_bf16_16816(acc[j + 1], a[kk], b1);
  }
}

// acc (16 x D as D / 8 accumulators) += p (16 x 16 kK, as A operands) . tile[k0 ... k0 + 16 kK) (the
// tile's rows are the reduction: O += P V with V's rows in the tile).
template <int D, int kK>
TT_MMA_DEVICE void mma_operands_times_tile(float (&acc)[D / 8][4], const uint32_t (&p)[kK][4], const uint16_t* tile,
                                           int k0) {
  const int lane = thread_index() % 32;
  TT_UNROLL
  for (int kk = 0; kk < kK; ++kk)
    TT_UNROLL
  for (int j = 0; j < D / 8; j += 2) {
    uint32_t b[4];
    ldmatrix_x4_trans(b, tile + (k0 + 16 * kk + 8 * ((lane / 8) % 2) + lane % 8) * kTileLd<D> + 8 * (j + lane / 16));
    const uint32_t b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
    mma_bf16_16816(acc[j], p[kk], b0);
    mma_bf16_16816(acc[j + 1], p[kk], b1);
  }
}

// Accumulators of 16 x 16 kK values, rounded to bf16 as the A operands of the next product.
template <int kK>
TT_MMA_DEVICE void accumulators_to_operands(uint32_t (&a)[kK][4], const float (&c)[2 * kK][4]) {
  TT_UNROLL
  for (int kk = 0; kk < kK; ++kk) {
    a[kk][0] = pack_bf16x2(c[2 * kk][0], c[2 * kk][1]);
    a[kk][1] = pack_bf16x2(c[2 * kk][2], c[2 * kk][3]);
    a[kk][2] = pack_bf16x2(c[2 * kk + 1][0], c[2 * kk + 1][1]);
    a[kk][3] = pack_bf16x2(c[2 * kk + 1][2], c[2 * kk + 1][3]);
  }
}

// The lane's two rows of a 16 x D accumulator (row g at `row`, row g + 8 at `row8`; null: not stored),
// each times its scale.
template <int D>
TT_MMA_DEVICE void store_accumulator_rows(float* row, float* row8, const float (&acc)[D / 8][4], float scale,
                                          float scale8) {
  const int t = thread_index() % 4;
  TT_UNROLL
  for (int j = 0; j < D / 8; ++j) {
    if (row) store_float2(row + 8 * j + 2 * t, acc[j][0] * scale, acc[j][1] * scale);
    if (row8) store_float2(row8 + 8 * j + 2 * t, acc[j][2] * scale8, acc[j][3] * scale8);
  }
}

// What a warp of 16 query rows [first, first + 16) sees: its rows' document starts bound the keys.
struct WarpRows {
  int64_t first, last;          // last: the last row before T
  int64_t min_start, max_start;  // document starts of the first and last rows
  bool any;                      // the warp has a row before T
  // Whether keys [k0, k0 + 64) hold a key some row sees, and whether some key of them is hidden from
  // some row (a mask is needed).
  TT_MMA_DEVICE bool sees(int64_t k0) const { return any && k0 <= last && k0 + kAttentionTile > min_start; }
  TT_MMA_DEVICE bool partly_hidden(int64_t k0) const { return k0 + kAttentionTile - 1 > first || k0 < max_start; }
};

TT_MMA_DEVICE WarpRows warp_rows(int64_t first, int64_t T, const int32_t* doc_start, int64_t token0) {
  WarpRows w;
  w.first = first;
  w.any = first < T;
  w.last = min64(first + 15, T - 1);
  w.min_start = doc_start ? doc_start[token0 + min64(first, T - 1)] : 0;
  w.max_start = doc_start ? doc_start[token0 + w.last] : 0;
  return w;
}

// Where a block of the forward or the dQ kernel works: 64 query rows [q0, q0 + rows) of one (batch row,
// head), and this lane's two rows (g and g + 8 of its warp's 16).
struct QueryBlock {
  int warp, g, t4;
  int64_t T, H, ldq, ldk, b, h, kvh, q0, rows, token0;
  int64_t row_t[2], first_key[2];  // this lane's rows and their documents' first keys
  WarpRows w;
};

TT_MMA_DEVICE QueryBlock query_block(const AttentionMmaArgs& a, int64_t D) {
  QueryBlock q;
  const int lane = thread_index() % 32;
  q.warp = thread_index() / 32;
  q.g = lane / 4;
  q.t4 = lane % 4;
  q.T = a.seq;
  q.H = a.heads;
  q.ldq = a.heads * D;
  q.ldk = a.kv_heads * D;
  q.b = block_y() / q.H;
  q.h = block_y() % q.H;
  q.kvh = q.h / (q.H / a.kv_heads);
  // The last query tiles see the most keys: they start first.
  q.q0 = (grid_x() - 1 - block_x()) * kAttentionTile;
  q.rows = min64(kAttentionTile, q.T - q.q0);
  q.token0 = q.b * q.T;
  for (int r = 0; r < 2; ++r) {
    q.row_t[r] = q.q0 + q.warp * 16 + q.g + 8 * r;
    q.first_key[r] = a.doc_start ? a.doc_start[q.token0 + min64(q.row_t[r], q.T - 1)] : 0;
  }
  q.w = warp_rows(q.q0 + q.warp * 16, q.T, a.doc_start, q.token0);
  return q;
}

// Stages the block's query rows of `f32` (or its bf16 copy) into `tile`, complete when it returns.
template <int D>
TT_MMA_DEVICE void stage_query_rows(uint16_t* tile, const float* f32, const uint16_t* b16, const QueryBlock& q) {
  stage_rows<D>(tile, f32, b16, (q.token0 + q.q0) * q.ldq + q.h * D, q.ldq, q.rows);
}

// Streams every key tile that some row of the block sees through the double-buffered k and v tiles,
// and calls visit(k0, masked, k_tile, v_tile) for those that some row of the calling warp sees
// (masked: some key of the tile is hidden from some row of the warp).
template <int D, typename Visit>
TT_MMA_DEVICE void for_each_key_tile(const AttentionMmaArgs& a, const QueryBlock& q, uint16_t (&k_tiles)[2][kTileElements<D>],
                                     uint16_t (&v_tiles)[2][kTileElements<D>], Visit&& visit) {
  const int64_t block_first_key = a.doc_start ? a.doc_start[q.token0 + q.q0] : 0, last_key = q.q0 + q.rows - 1;
  const int64_t first = block_first_key / kAttentionTile * kAttentionTile;
  const int64_t tiles = (last_key - first) / kAttentionTile + 1;
  double_buffered(
      tiles,
      [&](int64_t i, int buf) {
        const int64_t k0 = first + i * kAttentionTile, keys = min64(kAttentionTile, q.T - k0);
        const int64_t offset = (q.token0 + k0) * q.ldk + q.kvh * D;
        stage_rows<D>(k_tiles[buf], a.k, a.k16, offset, q.ldk, keys);
        stage_rows<D>(v_tiles[buf], a.v, a.v16, offset, q.ldk, keys);
      },
      [&](int64_t i, int buf) {
        const int64_t k0 = first + i * kAttentionTile;
        if (q.w.sees(k0)) visit(k0, q.w.partly_hidden(k0), k_tiles[buf], v_tiles[buf]);  // warp-uniform
      });
}

template <int D>
TT_MMA_KERNEL(kAttentionThreads) attention_mma_forward_kernel(AttentionMmaArgs a) {
  auto& sh = *reinterpret_cast<AttentionForwardShared<D>*>(shared_memory());
  const QueryBlock q = query_block(a, D);
  const int t4 = q.t4;
  const float scale_log2 = kLog2e / sqrtf(float(D));
  stage_query_rows<D>(sh.q, a.q, a.q16, q);
  cp_async_commit();
  cp_async_wait<0>();
  block_sync();
  uint32_t qa[D / 16][4];
  load_row_operands<D>(qa, sh.q, q.warp * 16);
  float o[D / 8][4] = {};
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};  // row_sum: this lane's part
  for_each_key_tile<D>(a, q, sh.k, sh.v, [&](int64_t k0, bool masked, const uint16_t* k_tile, const uint16_t* v_tile) {
    float s[8][4] = {};
    mma_rows_times_tile_rows<D, 8>(s, qa, k_tile, 0);
    float tile_max[2] = {-INFINITY, -INFINITY};
    TT_UNROLL
    for (int j = 0; j < 8; ++j)
      TT_UNROLL
    for (int i = 0; i < 4; ++i) {
      const int r = i / 2;
      const int64_t key = k0 + 8 * j + 2 * t4 + i % 2;
      const bool visible = !masked || (key <= q.row_t[r] && key >= q.first_key[r]);
      s[j][i] = visible ? s[j][i] * scale_log2 : -INFINITY;
      tile_max[r] = fmaxf(tile_max[r], s[j][i]);
    }
    float base[2];  // what each row's exponents are taken from this tile on
    TT_UNROLL
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], shuffle_xor(tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], shuffle_xor(tile_max[r], 2));
      const float new_max = fmaxf(row_max[r], tile_max[r]);
      const float rescale = new_max == -INFINITY ? 1.0f : exp2f(row_max[r] - new_max);
      base[r] = new_max == -INFINITY ? 0.0f : new_max;  // a row that sees nothing yet: every p is 0
      row_max[r] = new_max;
      row_sum[r] *= rescale;
      TT_UNROLL
      for (int j = 0; j < D / 8; ++j) {
        o[j][2 * r] *= rescale;
        o[j][2 * r + 1] *= rescale;
      }
    }
    TT_UNROLL
    for (int j = 0; j < 8; ++j)
      TT_UNROLL
    for (int i = 0; i < 4; ++i) {
      s[j][i] = exp2f(s[j][i] - base[i / 2]);
      row_sum[i / 2] += s[j][i];
    }
    uint32_t p[4][4];
    accumulators_to_operands<4>(p, s);
    mma_operands_times_tile<D, 4>(o, p, v_tile, 0);
  });
  TT_UNROLL
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += shuffle_xor(row_sum[r], 1);
    row_sum[r] += shuffle_xor(row_sum[r], 2);
  }
  float* out_rows[2];
  float inverse[2];
  TT_UNROLL
  for (int r = 0; r < 2; ++r) {
    const bool stored = q.row_t[r] < q.T;
    out_rows[r] = stored ? a.out + (q.token0 + q.row_t[r]) * q.ldq + q.h * D : nullptr;
    inverse[r] = stored ? 1.0f / row_sum[r] : 0.0f;
    if (stored && t4 == 0) a.lse[(q.b * q.H + q.h) * q.T + q.row_t[r]] = row_max[r] * kLn2 + logf(row_sum[r]);
  }
  store_accumulator_rows<D>(out_rows[0], out_rows[1], o, inverse[0], inverse[1]);
}

template <int D>
TT_MMA_KERNEL(kAttentionThreads) attention_mma_key_grad_kernel(AttentionMmaArgs a) {
  auto& sh = *reinterpret_cast<AttentionKeyGradShared<D>*>(shared_memory());
  const int warp = thread_index() / 32, lane = thread_index() % 32, g = lane / 4, t4 = lane % 4;
  const int64_t T = a.seq, H = a.heads, KVH = a.kv_heads, group = H / KVH, ldq = H * D, ldk = KVH * D;
  const int64_t b = block_y() / KVH, kvh = block_y() % KVH;
  const int64_t k0 = block_x() * kAttentionTile, keys = min64(kAttentionTile, T - k0);  // the first keys work most
  const int64_t token0 = b * T;
  const float scale = 1.0f / sqrtf(float(D)), scale_log2 = scale * kLog2e;
  const int64_t kv_offset = (token0 + k0) * ldk + kvh * D;
  stage_rows<D>(sh.k, a.k, a.k16, kv_offset, ldk, keys);
  stage_rows<D>(sh.v, a.v, a.v16, kv_offset, ldk, keys);
  cp_async_commit();
  cp_async_wait<0>();
  block_sync();
  uint32_t ka[D / 16][4], va[D / 16][4];
  load_row_operands<D>(ka, sh.k, warp * 16);
  load_row_operands<D>(va, sh.v, warp * 16);
  const int64_t warp_first_key = k0 + warp * 16;
  const int64_t key_j[2] = {warp_first_key + g, warp_first_key + g + 8};
  float dk[D / 8][4] = {}, dv[D / 8][4] = {};
  const int64_t last_key = k0 + keys - 1;
  // The query tiles that can see these keys, the same for every head of the group: from k0 on, until
  // a tile's first row starts a document after them (documents only start later).
  int64_t q_tiles = 0;
  for (int64_t q0 = k0; q0 < T && !(a.doc_start && a.doc_start[token0 + q0] > last_key); q0 += kAttentionTile) ++q_tiles;
  double_buffered(
      group * q_tiles,
      [&](int64_t item, int buf) {  // query tile item % q_tiles of the group's head item / q_tiles
        const int64_t h = kvh * group + item / q_tiles, q0 = k0 + (item % q_tiles) * kAttentionTile;
        const int64_t rows = min64(kAttentionTile, T - q0), offset = (token0 + q0) * ldq + h * D;
        stage_rows<D>(sh.q[buf], a.q, a.q16, offset, ldq, rows);
        stage_rows<D>(sh.dout[buf], a.dout, a.dout16, offset, ldq, rows);
        for (int i = thread_index(); i < kAttentionTile; i += kAttentionThreads) {
          const bool valid = i < rows;
          const int64_t stat = (b * H + h) * T + q0 + i;
          sh.lse2[buf][i] = valid ? a.saved_lse[stat] * kLog2e : 0.0f;
          sh.delta[buf][i] = valid ? a.delta[stat] : 0.0f;
          sh.first_key[buf][i] = !valid ? INT32_MAX : a.doc_start ? a.doc_start[token0 + q0 + i] : 0;
        }
      },
      [&](int64_t item, int buf) {
        if (warp_first_key >= T) return;  // a warp past the sequence's end (warp-uniform)
        const int64_t q0 = k0 + (item % q_tiles) * kAttentionTile;
        const float* lse2 = sh.lse2[buf];
        const float* delta = sh.delta[buf];
        const int32_t* first_key = sh.first_key[buf];
        TT_UNROLL
        for (int half = 0; half < 2; ++half) {  // 32 queries at a time
          const int c0 = 32 * half;
          float st[4][4] = {}, dpt[4][4] = {};
          mma_rows_times_tile_rows<D, 4>(st, ka, sh.q[buf], c0);      // S^T: 16 keys x 32 queries
          mma_rows_times_tile_rows<D, 4>(dpt, va, sh.dout[buf], c0);  // dP^T = V dO^T
          TT_UNROLL
          for (int j = 0; j < 4; ++j)
            TT_UNROLL
          for (int i = 0; i < 4; ++i) {
            const int col = c0 + 8 * j + 2 * t4 + i % 2;
            const int64_t key = key_j[i / 2];
            const bool visible = key <= q0 + col && key >= first_key[col];
            const float p = visible ? exp2f(st[j][i] * scale_log2 - lse2[col]) : 0.0f;
            dpt[j][i] = p * (dpt[j][i] - delta[col]);  // dS^T
            st[j][i] = p;                              // P^T
          }
          uint32_t pa[2][4], dsa[2][4];
          accumulators_to_operands<2>(pa, st);
          accumulators_to_operands<2>(dsa, dpt);
          mma_operands_times_tile<D, 2>(dv, pa, sh.dout[buf], c0);  // dV += P^T dO
          mma_operands_times_tile<D, 2>(dk, dsa, sh.q[buf], c0);    // dK += dS^T Q (scaled at the end)
        }
      });
  float* dk_rows[2];
  float* dv_rows[2];
  TT_UNROLL
  for (int r = 0; r < 2; ++r) {
    const bool stored = key_j[r] < T;
    dk_rows[r] = stored ? a.dk + (token0 + key_j[r]) * ldk + kvh * D : nullptr;
    dv_rows[r] = stored ? a.dv + (token0 + key_j[r]) * ldk + kvh * D : nullptr;
  }
  store_accumulator_rows<D>(dk_rows[0], dk_rows[1], dk, scale, scale);
  store_accumulator_rows<D>(dv_rows[0], dv_rows[1], dv, 1.0f, 1.0f);
}

template <int D>
TT_MMA_KERNEL(kAttentionThreads) attention_mma_query_grad_kernel(AttentionMmaArgs a) {
  auto& sh = *reinterpret_cast<AttentionQueryGradShared<D>*>(shared_memory());
  const QueryBlock q = query_block(a, D);
  const int t4 = q.t4;
  const float scale = 1.0f / sqrtf(float(D)), scale_log2 = scale * kLog2e;
  stage_query_rows<D>(sh.q, a.q, a.q16, q);
  stage_query_rows<D>(sh.dout, a.dout, a.dout16, q);
  cp_async_commit();
  cp_async_wait<0>();
  block_sync();
  uint32_t qa[D / 16][4], doa[D / 16][4];
  load_row_operands<D>(qa, sh.q, q.warp * 16);
  load_row_operands<D>(doa, sh.dout, q.warp * 16);
  float lse2[2], delta[2];
  TT_UNROLL
  for (int r = 0; r < 2; ++r) {
    const int64_t stat = (q.b * q.H + q.h) * q.T + min64(q.row_t[r], q.T - 1);
    lse2[r] = a.saved_lse[stat] * kLog2e;
    delta[r] = a.delta[stat];
  }
  float dq[D / 8][4] = {};
  for_each_key_tile<D>(a, q, sh.k, sh.v, [&](int64_t k0, bool masked, const uint16_t* k_tile, const uint16_t* v_tile) {
    TT_UNROLL
    for (int half = 0; half < 2; ++half) {  // 32 keys at a time
      const int c0 = 32 * half;
      float s[4][4] = {}, dp[4][4] = {};
      mma_rows_times_tile_rows<D, 4>(s, qa, k_tile, c0);    // S = Q K^T
      mma_rows_times_tile_rows<D, 4>(dp, doa, v_tile, c0);  // dP = dO V^T
      TT_UNROLL
      for (int j = 0; j < 4; ++j)
        TT_UNROLL
      for (int i = 0; i < 4; ++i) {
        const int r = i / 2;
        const int64_t key = k0 + c0 + 8 * j + 2 * t4 + i % 2;
        const bool visible = q.row_t[r] < q.T && (!masked || (key <= q.row_t[r] && key >= q.first_key[r]));
        const float p = visible ? exp2f(s[j][i] * scale_log2 - lse2[r]) : 0.0f;
        s[j][i] = p * (dp[j][i] - delta[r]);  // dS
      }
      uint32_t dsa[2][4];
      accumulators_to_operands<2>(dsa, s);
      mma_operands_times_tile<D, 2>(dq, dsa, k_tile, c0);  // dQ += dS K (scaled at the end)
    }
  });
  float* dq_rows[2];
  TT_UNROLL
  for (int r = 0; r < 2; ++r)
    dq_rows[r] = q.row_t[r] < q.T ? a.dq + (q.token0 + q.row_t[r]) * q.ldq + q.h * D : nullptr;
  store_accumulator_rows<D>(dq_rows[0], dq_rows[1], dq, scale, scale);
}

}  // namespace tt::cuda::mma
