// The paged KV cache in device memory and paged attention for decode and for prefill over cached
// prefixes (kernels/cuda/generation.h). One block of kWarps warps per (query row, head): warp w takes
// positions w, w + kWarps, ... of the row's sequence with an online softmax (lanes over head_dim,
// the dot product reduced by a fixed butterfly), and the warps' partial results are merged in warp
// order. Every reduction order depends only on the row's own length: batch-invariant.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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

__global__ void paged_attention_kernel(float* out, const float* q, PagedKvView kv, int64_t layer,
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
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(heads));
  paged_attention_kernel<<<grid, 32 * kWarps, 0, stream>>>(out, q, kv, layer, sequences, positions, heads);
  TT_CUDA_CHECK_LAUNCH();
}

}  // namespace tt::cuda
