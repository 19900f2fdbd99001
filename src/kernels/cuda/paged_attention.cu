// The paged KV cache in device memory and paged attention for decode and for prefill over cached
// prefixes (kernels/cuda/generation.h). Two kernels, chosen by shape alone (never by the number of rows):
//   - tiled (head_dim 64 or 128, at most kMaxGroup query heads per KV head, its shared memory within the
//     device's limit): one block of kWarps warps per (query row, KV head) serves every query head of
//     that KV head's group, so K/V are read once per row and KV head. The row's positions are cut into
//     tiles of kTile = 32; warp w takes tiles w, w + kWarps, ... . A warp copies its tile's K and V rows
//     into shared memory (16-byte async copies, coalesced), lane j scores key j of the tile against each
//     query head (one FMA chain over head_dim in order), the tile's max and sum are warp butterflies
//     (once per tile), then P·V runs with lanes over head_dim, keys in order; online softmax across the
//     warp's tiles. The warps' partial results are merged in warp order.
//   - generic (any other shape): one block of kWarps warps per (query row, head); warp w takes positions
//     w, w + kWarps, ... with an online softmax (lanes over head_dim, the dot product reduced by a fixed
//     butterfly), and the warps' partial results are merged in warp order.
// In both, tile size, warp count and the split of positions are constants: every reduction order depends
// only on the row's own length and the model's shapes. Batch-invariant.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <cuda_pipeline.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/generation.h"
#include "kernels/cuda/reduce.cuh"

namespace tt::cuda {

namespace {

constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / 32;
constexpr int kWarps = 4;

[[noreturn]] void fail_kv(const std::string& message) { throw std::runtime_error("paged KV cache: " + message); }

__device__ __forceinline__ float* kv_slot(const PagedKvView& kv, int32_t seq, int64_t layer, int kind, int64_t pos) {
  const PagedKvShape& s = kv.shape;
  const int32_t block = kv.tables[seq * kv.max_blocks_per_sequence + pos / s.block_size];
  return kv.pool + block * s.block_floats() + ((layer * 2 + kind) * s.block_size + pos % s.block_size) * s.row();
}

__global__ void kv_write_kernel(PagedKvView kv, int64_t layer, const float* k, const float* v, const int32_t* sequences,
                                const int32_t* positions, int64_t rows) {
  const int64_t row = kv.shape.row();
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    float* kd = kv_slot(kv, sequences[i], layer, 0, positions[i]);
    float* vd = kv_slot(kv, sequences[i], layer, 1, positions[i]);
    for (int64_t j = threadIdx.x; j < row; j += blockDim.x) {
      kd[j] = k[i * row + j];
      vd[j] = v[i * row + j];
    }
  }
}

__global__ void generic_paged_attention_kernel(float* out, const float* q, PagedKvView kv, int64_t layer,
                                       const int32_t* sequences, const int32_t* positions, int64_t heads) {
  const int64_t i = blockIdx.x, h = blockIdx.y;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t D = kv.shape.head_dim, group = heads / kv.shape.kv_heads, g = h / group;
  const int32_t seq = sequences[i];
  const int64_t len = int64_t(positions[i]) + 1;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  float qr[kPerLane], acc[kPerLane];
  const float* qh = q + (i * heads + h) * D;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    qr[e] = lane + 32 * e < D ? qh[lane + 32 * e] : 0.0f;
    acc[e] = 0.0f;
  }
  float m = -INFINITY, s = 0.0f;
  for (int64_t j = warp; j < len; j += kWarps) {
    const float* kr = kv_slot(kv, seq, layer, 0, j) + g * D;
    float dot = 0.0f;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e)
      if (lane + 32 * e < D) dot = fmaf(qr[e], kr[lane + 32 * e], dot);
    const float score = warp_sum(dot) * scale;
    const float m_new = fmaxf(m, score);
    const float correction = expf(m - m_new), p = expf(score - m_new);
    s = s * correction + p;
    const float* vr = kv_slot(kv, seq, layer, 1, j) + g * D;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e)
      if (lane + 32 * e < D) acc[e] = fmaf(p, vr[lane + 32 * e], acc[e] * correction);
    m = m_new;
  }
  // Merge the warps in order 0..kWarps-1.
  __shared__ float part_m[kWarps], part_s[kWarps], part_acc[kWarps][kMaxHeadDim];
  if (lane == 0) {
    part_m[warp] = m;
    part_s[warp] = s;
  }
#pragma unroll
  for (int e = 0; e < kPerLane; ++e)
    if (lane + 32 * e < D) part_acc[warp][lane + 32 * e] = acc[e];
  __syncthreads();
  if (warp != 0) return;
  float total_m = -INFINITY;
  for (int w = 0; w < kWarps; ++w) total_m = fmaxf(total_m, part_m[w]);
  float total_s = 0.0f;
  float merged[kPerLane] = {};
  for (int w = 0; w < kWarps; ++w) {
    if (part_m[w] == -INFINITY) continue;  // a warp with no positions (len < kWarps)
    const float c = expf(part_m[w] - total_m);
    total_s = fmaf(part_s[w], c, total_s);
#pragma unroll
    for (int e = 0; e < kPerLane; ++e)
      if (lane + 32 * e < D) merged[e] = fmaf(part_acc[w][lane + 32 * e], c, merged[e]);
  }
  const float inv = 1.0f / total_s;
  float* oh = out + (i * heads + h) * D;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e)
    if (lane + 32 * e < D) oh[lane + 32 * e] = merged[e] * inv;
}

// ---- the tiled kernel ----

constexpr int kTile = 32;      // key positions per tile: lane j scores key j of the tile
constexpr int kMaxGroup = 8;   // the most query heads per KV head the tiled kernel serves

// Shared memory of the tiled kernel in floats: the group's query rows [group][D], then per warp one
// tile of K rows and one of V rows, each row padded to D + 4 floats (lane = key reads float4s along
// its own row: with the padding the 8 lanes of a quarter-warp hit 32 distinct banks). After the tiles,
// the same area holds the warps' partial results for the merge (kWarps * group * (D + 2) floats, less
// than the tiles' kWarps * 2 * kTile * (D + 4) for any group up to 64).
constexpr int64_t tiled_shared_floats(int64_t head_dim, int64_t group) {
  return group * head_dim + kWarps * 2 * kTile * (head_dim + 4);
}

template <int D>
__global__ void __launch_bounds__(32 * kWarps)
    tiled_paged_attention_kernel(float* out, const float* q, PagedKvView kv, int64_t layer, const int32_t* sequences,
                                 const int32_t* positions, int64_t heads) {
  static_assert(D % 32 == 0 && D <= kMaxHeadDim, "head_dim: a multiple of 32");
  constexpr int kStride = D + 4;   // floats between two rows of a tile in shared memory
  constexpr int kChunks = D / 4;   // float4s in a row
  constexpr int kVec = D / 32;     // dims per lane in P·V: lane l holds dims kVec * l .. kVec * l + kVec - 1
  static_assert(kVec == 2 || kVec == 4, "P·V reads float2 or float4");
  extern __shared__ float4 shared_float4[];
  float* shared = reinterpret_cast<float*>(shared_float4);

  const int64_t i = blockIdx.x, kv_head = blockIdx.y;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const PagedKvShape& s = kv.shape;
  const int group = static_cast<int>(heads / s.kv_heads);  // uniform in the block: no divergence around shuffles
  const int32_t seq = sequences[i];
  const int64_t len = int64_t(positions[i]) + 1, tiles = (len + kTile - 1) / kTile;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));

  // The group's query heads kv_head * group .. kv_head * group + group - 1 are contiguous in q and out.
  const int64_t group_offset = (i * heads + kv_head * group) * D;
  float* q_shared = shared;
  for (int e = threadIdx.x; e < group * D; e += blockDim.x) q_shared[e] = q[group_offset + e];
  __syncthreads();

  float* k_tile = shared + group * D + int64_t(warp) * 2 * kTile * kStride;
  float* v_tile = k_tile + kTile * kStride;
  const int32_t* table = kv.tables + int64_t(seq) * kv.max_blocks_per_sequence;
  const int64_t row = s.row(), block_floats = s.block_floats();
  const int32_t block_size = static_cast<int32_t>(s.block_size);
  const int64_t k_in_block = layer * 2 * s.block_size * row + kv_head * D;  // K of slot 0, this layer and head
  const int64_t v_from_k = s.block_size * row;                              // V's row after its K row

  float m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][kVec];
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
#pragma unroll
    for (int e = 0; e < kVec; ++e) acc[h][e] = 0.0f;
  }

  // Every lane of the warp runs the same tiles (t, count are uniform in the warp).
  for (int64_t t = warp; t < tiles; t += kWarps) {
    const int64_t first = t * kTile;
    const int count = len - first < kTile ? static_cast<int>(len - first) : kTile;  // keys in the tile, 1..kTile
    // Lane j finds key j's K row in the pool (lanes past the row's end have none: the table may hold -1).
    int64_t k_at = 0;
    if (lane < count) {
      const int32_t p = static_cast<int32_t>(first) + lane;
      k_at = int64_t(table[p / block_size]) * block_floats + k_in_block + int64_t(p % block_size) * row;
    }
    // Copy the tile's K and V rows: pass r moves float4 number r * 32 + lane of the tile (consecutive
    // lanes, consecutive 16 bytes of a row: coalesced). Rows past `count` are left as they were.
#pragma unroll
    for (int r = 0; r < kChunks; ++r) {
      const int f = r * 32 + lane, key = f / kChunks, chunk = f % kChunks;
      const int64_t at = __shfl_sync(0xffffffffu, k_at, key);
      if (key < count) {
        __pipeline_memcpy_async(k_tile + key * kStride + 4 * chunk, kv.pool + at + 4 * chunk, 16);
        __pipeline_memcpy_async(v_tile + key * kStride + 4 * chunk, kv.pool + at + v_from_k + 4 * chunk, 16);
      }
    }
    __pipeline_commit();
    __pipeline_wait_prior(0);
    __syncwarp();  // every lane's copies are visible to the warp

    // Lane j: the scores of key j against the group's query heads (dims in order 0..D-1).
    float dot[kMaxGroup];
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) dot[h] = 0.0f;
    const float* k_row = k_tile + lane * kStride;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const float4 k4 = *reinterpret_cast<const float4*>(k_row + 4 * c);
#pragma unroll
      for (int h = 0; h < kMaxGroup; ++h)
        if (h < group) {
          const float4 q4 = *reinterpret_cast<const float4*>(q_shared + h * D + 4 * c);  // a broadcast
          dot[h] = fmaf(q4.x, k4.x, dot[h]);
          dot[h] = fmaf(q4.y, k4.y, dot[h]);
          dot[h] = fmaf(q4.z, k4.z, dot[h]);
          dot[h] = fmaf(q4.w, k4.w, dot[h]);
        }
    }
    // Online softmax, once per tile: the tile's max and sum are warp butterflies; lanes past `count`
    // score -inf (their shared rows are stale) and weigh 0.
    float p[kMaxGroup];
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) {
      p[h] = 0.0f;
      if (h < group) {
        const float score = lane < count ? dot[h] * scale : -INFINITY;
        const float m_new = fmaxf(m[h], warp_max(score));  // finite: the tile holds key 0
        const float correction = expf(m[h] - m_new);       // 0 on the warp's first tile
        p[h] = expf(score - m_new);
        l[h] = fmaf(l[h], correction, warp_sum(p[h]));
        m[h] = m_new;
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[h][e] *= correction;
      }
    }
    // P·V: lanes over head_dim, keys of the tile in order; key j's weights come from lane j.
#pragma unroll 4
    for (int j = 0; j < count; ++j) {
      const float* v_row = v_tile + j * kStride + kVec * lane;
      float v[kVec];
      if constexpr (kVec == 4) {
        const float4 v4 = *reinterpret_cast<const float4*>(v_row);
        v[0] = v4.x, v[1] = v4.y, v[2] = v4.z, v[3] = v4.w;
      } else {
        const float2 v2 = *reinterpret_cast<const float2*>(v_row);
        v[0] = v2.x, v[1] = v2.y;
      }
#pragma unroll
      for (int h = 0; h < kMaxGroup; ++h)
        if (h < group) {
          const float pj = __shfl_sync(0xffffffffu, p[h], j);
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc[h][e] = fmaf(pj, v[e], acc[h][e]);
        }
    }
    __syncwarp();  // every lane is done reading the tile before the next copy overwrites it
  }

  // Merge the warps in order 0..kWarps-1 (a warp with no tiles, len <= w * kTile, is skipped). The tile
  // area now holds part_acc [kWarps][group][D], part_m and part_l [kWarps][group].
  __syncthreads();  // every warp is done with its tiles
  float* part_acc = shared + group * D;
  float* part_m = part_acc + kWarps * group * D;
  float* part_l = part_m + kWarps * group;
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h)
    if (h < group) {
#pragma unroll
      for (int e = 0; e < kVec; ++e) part_acc[(warp * group + h) * D + kVec * lane + e] = acc[h][e];
      if (lane == 0) {
        part_m[warp * group + h] = m[h];
        part_l[warp * group + h] = l[h];
      }
    }
  __syncthreads();
  for (int e = threadIdx.x; e < group * D; e += blockDim.x) {
    const int h = e / D;
    float total_m = -INFINITY;
    for (int w = 0; w < kWarps; ++w) total_m = fmaxf(total_m, part_m[w * group + h]);
    float total_l = 0.0f, merged = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      if (part_m[w * group + h] == -INFINITY) continue;
      const float c = expf(part_m[w * group + h] - total_m);
      total_l = fmaf(part_l[w * group + h], c, total_l);
      merged = fmaf(part_acc[w * group * D + e], c, merged);
    }
    out[group_offset + e] = merged / total_l;
  }
}

// Launches the tiled kernel for head_dim D; false (nothing launched) when its shared memory is over the
// device's per-block limit (e.g. head_dim 128 on a GPU with 99 KiB), then the caller runs the generic one.
template <int D>
bool launch_tiled(float* out, const float* q, const PagedKvView& kv, int64_t layer, const int32_t* sequences,
                  const int32_t* positions, int64_t rows, int64_t heads, cudaStream_t stream) {
  const size_t bytes = tiled_shared_floats(D, heads / kv.shape.kv_heads) * sizeof(float);
  int device = 0, limit = 0;
  TT_CUDA_CHECK(cudaGetDevice(&device));
  TT_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (bytes > static_cast<size_t>(limit)) return false;
  TT_CUDA_CHECK(cudaFuncSetAttribute(tiled_paged_attention_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(bytes)));
  TT_CUDA_CHECK(cudaFuncSetAttribute(tiled_paged_attention_kernel<D>,
                                     cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(kv.shape.kv_heads));
  tiled_paged_attention_kernel<D>
      <<<grid, 32 * kWarps, bytes, stream>>>(out, q, kv, layer, sequences, positions, heads);
  TT_CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace

DevicePagedKv::DevicePagedKv(const PagedKvShape& shape, int64_t max_sequences, int64_t max_positions,
                             int64_t blocks)
    : shape_(shape), max_sequences_(max_sequences),
      max_blocks_per_sequence_((max_positions + shape.block_size - 1) / shape.block_size), blocks_(blocks) {
  allocate();
}

DevicePagedKv::DevicePagedKv(const PagedKvShape& shape, int64_t max_sequences, int64_t max_positions,
                             double memory_fraction)
    : shape_(shape), max_sequences_(max_sequences),
      max_blocks_per_sequence_((max_positions + shape.block_size - 1) / shape.block_size), blocks_(0) {
  if (!(memory_fraction > 0.0 && memory_fraction < 1.0))
    fail_kv("memory fraction must be in (0, 1), got " + std::to_string(memory_fraction));
  size_t free_bytes = 0, total_bytes = 0;
  TT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const size_t block_bytes = shape.block_floats() * sizeof(float);
  blocks_ = static_cast<int64_t>(static_cast<double>(free_bytes) * memory_fraction / block_bytes);
  // Never more than every sequence at its longest could use.
  blocks_ = std::min(blocks_, max_sequences_ * max_blocks_per_sequence_);
  allocate();
}

void DevicePagedKv::allocate() {
  if (shape_.block_size < 1 || shape_.layers < 1 || shape_.row() < 1 || max_sequences_ < 1 ||
      max_blocks_per_sequence_ < 1)
    fail_kv("empty shape");
  if (shape_.head_dim > kMaxHeadDim) fail_kv("head_dim " + std::to_string(shape_.head_dim) + " is over 256");
  if (blocks_ < max_blocks_per_sequence_)
    fail_kv("device memory holds " + std::to_string(blocks_) + " blocks of " + std::to_string(shape_.block_size) +
            " tokens, less than one sequence of " + std::to_string(max_blocks_per_sequence_ * shape_.block_size) +
            " positions needs (" + std::to_string(shape_.block_floats() * 4) + " bytes a block)");
  TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&pool_), pool_bytes()));
  TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&device_tables_),
                           sizeof(int32_t) * max_sequences_ * max_blocks_per_sequence_));
  host_tables_.assign(max_sequences_ * max_blocks_per_sequence_, -1);
  tables_.assign(max_sequences_, {});
  live_.assign(max_sequences_, 0);
  free_blocks_.resize(blocks_);
  // Handed out lowest id first (back of the vector).
  for (int64_t b = 0; b < blocks_; ++b) free_blocks_[b] = static_cast<int32_t>(blocks_ - 1 - b);
}

DevicePagedKv::~DevicePagedKv() {
  cudaFree(pool_);
  cudaFree(device_tables_);
}

int32_t DevicePagedKv::new_sequence() {
  for (int64_t s = 0; s < max_sequences_; ++s)
    if (!live_[s]) {
      live_[s] = 1;
      return static_cast<int32_t>(s);
    }
  return -1;
}

void DevicePagedKv::free_sequence(int32_t seq) {
  if (seq < 0 || seq >= max_sequences_ || !live_[seq]) fail_kv("sequence " + std::to_string(seq) + " is not live");
  for (auto it = tables_[seq].rbegin(); it != tables_[seq].rend(); ++it) free_blocks_.push_back(*it);
  tables_[seq].clear();
  std::fill_n(host_tables_.begin() + seq * max_blocks_per_sequence_, max_blocks_per_sequence_, -1);
  live_[seq] = 0;
}

bool DevicePagedKv::can_reserve(int32_t seq, int64_t tokens) const {
  const int64_t need = (tokens + shape_.block_size - 1) / shape_.block_size;
  if (need > max_blocks_per_sequence_) return false;
  return need - static_cast<int64_t>(tables_[seq].size()) <= blocks_free();
}

void DevicePagedKv::reserve(int32_t seq, int64_t tokens) {
  if (seq < 0 || seq >= max_sequences_ || !live_[seq]) fail_kv("sequence " + std::to_string(seq) + " is not live");
  const int64_t need = (tokens + shape_.block_size - 1) / shape_.block_size;
  if (need > max_blocks_per_sequence_)
    fail_kv(std::to_string(tokens) + " positions exceed the context of " +
            std::to_string(max_blocks_per_sequence_ * shape_.block_size));
  if (need - static_cast<int64_t>(tables_[seq].size()) > blocks_free())
    fail_kv("full: " + std::to_string(blocks_) + " blocks in use, sequence " + std::to_string(seq) + " needs " +
            std::to_string(need - static_cast<int64_t>(tables_[seq].size())) +
            " more (queue the request until one finishes)");
  while (static_cast<int64_t>(tables_[seq].size()) < need) {
    const int32_t block = free_blocks_.back();
    free_blocks_.pop_back();
    host_tables_[seq * max_blocks_per_sequence_ + tables_[seq].size()] = block;
    tables_[seq].push_back(block);
  }
}

void DevicePagedKv::upload_tables(cudaStream_t stream) {
  TT_CUDA_CHECK(cudaMemcpyAsync(device_tables_, host_tables_.data(), sizeof(int32_t) * host_tables_.size(),
                                cudaMemcpyHostToDevice, stream));
  // host_tables_ may change right after: the copy must have read it.
  TT_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void DevicePagedKv::upload_tables(const int32_t* tables, cudaStream_t stream) {
  TT_CUDA_CHECK(cudaMemcpyAsync(device_tables_, tables, sizeof(int32_t) * host_tables_.size(), cudaMemcpyHostToDevice,
                                stream));
  TT_CUDA_CHECK(cudaStreamSynchronize(stream));  // the caller's array may change right after
}

PagedKvView DevicePagedKv::view() const { return {pool_, device_tables_, max_blocks_per_sequence_, shape_}; }

void paged_kv_write(const PagedKvView& kv, int64_t layer, const float* k, const float* v, const int32_t* sequences,
                    const int32_t* positions, int64_t rows, cudaStream_t stream) {
  if (rows == 0) return;
  kv_write_kernel<<<blocks_for(rows, 1), 128, 0, stream>>>(kv, layer, k, v, sequences, positions, rows);
  TT_CUDA_CHECK_LAUNCH();
}

void paged_attention(float* out, const float* q, const PagedKvView& kv, int64_t layer, const int32_t* sequences,
                     const int32_t* positions, int64_t rows, int64_t heads, cudaStream_t stream) {
  if (rows == 0) return;
  if (kv.shape.head_dim > kMaxHeadDim || heads % kv.shape.kv_heads != 0 || rows > 2147483647 || heads > 65535)
    throw std::runtime_error("paged_attention: unsupported shape (head_dim " + std::to_string(kv.shape.head_dim) +
                             ", heads " + std::to_string(heads) + ", kv_heads " + std::to_string(kv.shape.kv_heads) +
                             ")");
  // The kernel is chosen by shape (and the device's shared memory) only, never by `rows`.
  const int64_t group = heads / kv.shape.kv_heads;
  if (group <= kMaxGroup) {
    if (kv.shape.head_dim == 64 &&
        launch_tiled<64>(out, q, kv, layer, sequences, positions, rows, heads, stream))
      return;
    if (kv.shape.head_dim == 128 &&
        launch_tiled<128>(out, q, kv, layer, sequences, positions, rows, heads, stream))
      return;
  }
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(heads));
  generic_paged_attention_kernel<<<grid, 32 * kWarps, 0, stream>>>(out, q, kv, layer, sequences, positions, heads);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace tt::cuda
