#include "infer/kv_cache.h"

namespace tt::infer {

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
  while (static_cast<int64_t>(storage_.size()) < blocks_.blocks_allocated()) {
    storage_.emplace_back(new float[layers_ * 2 * block_stride_]);
    const auto block = static_cast<int32_t>(storage_.size() - 1);
    for (int64_t l = 0; l < layers_; ++l) {
      layer_keys_[l].push_back(block_keys(block, l));
      layer_values_[l].push_back(block_values(block, l));
    }
  }
}

}  // namespace tt::infer
