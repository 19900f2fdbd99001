#include "infer/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace tt::infer {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunkBytes = size_t{8} << 20;

}  // namespace

void KvCache::FreeChunk::operator()(float* p) const { std::free(p); }

KvCache::KvCache(const ModelConfig& config, int64_t block_size)
    : layers_(config.num_hidden_layers),
      row_(config.num_key_value_heads * config.head_dim),
      block_size_(block_size),
      block_stride_(block_size * config.num_key_value_heads * config.head_dim),
      blocks_(block_size),
      layer_keys_(config.num_hidden_layers),
      layer_values_(config.num_hidden_layers) {}

void KvCache::reserve(int32_t seq, int64_t tokens) {
  blocks_.reserve(seq, tokens);
  // Storage for the block ids handed out for the first time.
  const size_t block_floats = static_cast<size_t>(layers_ * 2 * block_stride_);
  while (static_cast<int64_t>(blocks_storage_.size()) < blocks_.blocks_allocated()) {
    if (chunk_free_ == 0) {
      const size_t blocks = std::max<size_t>(1, kChunkBytes / (block_floats * sizeof(float)));
      const size_t bytes = (blocks * block_floats * sizeof(float) + kHugePage - 1) / kHugePage * kHugePage;
      auto* chunk = static_cast<float*>(std::aligned_alloc(kHugePage, bytes));
      if (chunk == nullptr) throw std::bad_alloc();
      madvise(chunk, bytes, MADV_HUGEPAGE);  // advice: where the kernel cannot, 4 KB pages as before
      chunks_.emplace_back(chunk);
      chunk_next_ = chunk;
      chunk_free_ = static_cast<int64_t>(bytes / (block_floats * sizeof(float)));
    }
    blocks_storage_.push_back(chunk_next_);
    chunk_next_ += block_floats;
    --chunk_free_;
    const auto block = static_cast<int32_t>(blocks_storage_.size() - 1);
    for (int64_t l = 0; l < layers_; ++l) {
      layer_keys_[l].push_back(block_keys(block, l));
      layer_values_[l].push_back(block_values(block, l));
    }
  }
}

}  // namespace tt::infer
