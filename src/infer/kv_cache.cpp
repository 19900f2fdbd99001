#include "infer/kv_cache.h"

#include "core/error.h"

namespace tt::infer {

KvCache::KvCache(const ModelConfig& config, int64_t block_size)
    : layers_(config.num_hidden_layers),
      row_(config.num_key_value_heads * config.head_dim),
      block_size_(block_size),
      block_stride_(block_size * config.num_key_value_heads * config.head_dim) {
  if (block_size <= 0) fail("kv cache: block size must be positive, got {}", block_size);
}

int32_t KvCache::new_sequence() {
  if (!free_sequences_.empty()) {
    int32_t id = free_sequences_.back();
    free_sequences_.pop_back();
    return id;
  }
  tables_.emplace_back();
  return static_cast<int32_t>(tables_.size() - 1);
}

void KvCache::free_sequence(int32_t seq) {
  for (int32_t b : tables_[seq]) free_blocks_.push_back(b);
  tables_[seq].clear();
  free_sequences_.push_back(seq);
}

int32_t KvCache::take_block() {
  if (!free_blocks_.empty()) {
    int32_t b = free_blocks_.back();
    free_blocks_.pop_back();
    return b;
  }
  blocks_.emplace_back(new float[layers_ * 2 * block_stride_]);
  return static_cast<int32_t>(blocks_.size() - 1);
}

void KvCache::reserve(int32_t seq, int64_t tokens) {
  auto& table = tables_[seq];
  while (static_cast<int64_t>(table.size()) * block_size_ < tokens) table.push_back(take_block());
}

}  // namespace tt::infer
