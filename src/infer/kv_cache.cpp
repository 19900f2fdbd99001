#include "infer/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace tt::infer {

KvCache::KvCache(const ModelConfig& config, int64_t block_size)
    : layers_(config.num_hidden_layers),
      row_(config.num_key_value_heads * config.head_dim),
      block_size_(block_size),
      block_stride_(block_size * config.num_key_value_heads * config.head_dim),
      layer_keys_(config.num_hidden_layers),
      layer_values_(config.num_hidden_layers) {
  if (block_size <= 0) fail("kv cache: block size must be positive, got {}", block_size);
}

int64_t KvCache::blocks_in_use() const {
  return std::count_if(refcount_.begin(), refcount_.end(), [](int32_t r) { return r > 0; });
}

int32_t KvCache::new_sequence() {
  if (!free_sequences_.empty()) {
    int32_t id = free_sequences_.back();
    free_sequences_.pop_back();
    registered_[id] = 0;
    return id;
  }
  tables_.emplace_back();
  registered_.push_back(0);
  return static_cast<int32_t>(tables_.size() - 1);
}

void KvCache::release_block(int32_t b) {
  if (--refcount_[b] == 0) {
    ++generation_[b];
    free_list_.push_back({b, generation_[b]});
  }
}

void KvCache::free_sequence(int32_t seq) {
  for (int32_t b : tables_[seq]) release_block(b);
  tables_[seq].clear();
  free_sequences_.push_back(seq);
}

int32_t KvCache::take_block() {
  // The oldest released block that is still free (entries of blocks revived since are stale).
  while (!free_list_.empty()) {
    auto [b, gen] = free_list_.front();
    free_list_.pop_front();
    if (refcount_[b] != 0 || generation_[b] != gen) continue;
    if (block_hash_[b] != 0) {
      cached_.erase(block_hash_[b]);
      block_hash_[b] = 0;
    }
    refcount_[b] = 1;
    return b;
  }
  blocks_.emplace_back(new float[layers_ * 2 * block_stride_]);
  for (int64_t l = 0; l < layers_; ++l) {
    layer_keys_[l].push_back(block_keys(static_cast<int32_t>(blocks_.size() - 1), l));
    layer_values_[l].push_back(block_values(static_cast<int32_t>(blocks_.size() - 1), l));
  }
  refcount_.push_back(1);
  generation_.push_back(0);
  block_hash_.push_back(0);
  block_tokens_.emplace_back();
  return static_cast<int32_t>(blocks_.size() - 1);
}

void KvCache::reserve(int32_t seq, int64_t tokens) {
  auto& table = tables_[seq];
  while (static_cast<int64_t>(table.size()) * block_size_ < tokens) table.push_back(take_block());
}

uint64_t KvCache::chain_hash(uint64_t h, const int32_t* tokens) const {
  for (int64_t i = 0; i < block_size_; ++i) {
    h ^= static_cast<uint64_t>(static_cast<uint32_t>(tokens[i])) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  return h | 1;  // never 0 (0 marks an unregistered block)
}

int64_t KvCache::match_prefix(int32_t seq, const std::vector<int32_t>& tokens) {
  auto& table = tables_[seq];
  if (!table.empty()) fail("kv cache: match_prefix needs an empty sequence");
  const int64_t usable = (static_cast<int64_t>(tokens.size()) - 1) / block_size_;
  uint64_t h = 0;
  for (int64_t i = 0; i < usable; ++i) {
    h = chain_hash(h, tokens.data() + i * block_size_);
    auto it = cached_.find(h);
    if (it == cached_.end()) break;
    const int32_t b = it->second;
    if (!std::equal(block_tokens_[b].begin(), block_tokens_[b].end(), tokens.begin() + i * block_size_)) break;
    ++refcount_[b];
    table.push_back(b);
  }
  registered_[seq] = static_cast<int64_t>(table.size());
  return static_cast<int64_t>(table.size()) * block_size_;
}

void KvCache::register_prefix(int32_t seq, const std::vector<int32_t>& tokens, int64_t computed) {
  auto& table = tables_[seq];
  const int64_t full = std::min<int64_t>(computed / block_size_, static_cast<int64_t>(table.size()));
  if (registered_[seq] >= full) return;
  uint64_t h = 0;
  for (int64_t i = 0; i < full; ++i) {
    h = chain_hash(h, tokens.data() + i * block_size_);
    if (i < registered_[seq]) continue;
    const int32_t b = table[i];
    if (block_hash_[b] != 0 || cached_.count(h)) continue;
    cached_[h] = b;
    block_hash_[b] = h;
    block_tokens_[b].assign(tokens.begin() + i * block_size_, tokens.begin() + (i + 1) * block_size_);
  }
  registered_[seq] = full;
}

}  // namespace tt::infer
