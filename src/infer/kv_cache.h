// A paged KV cache: fixed-size blocks of `block_size` token slots drawn from a shared pool, and a
// block table per sequence mapping position p to (block_table[p / block_size], p % block_size).
// Sequences grow a block at a time and return their blocks when they finish, so memory follows the
// tokens actually held, not max_batch x context.
//
// A block holds, for every layer, K and V of its slots: [layer][k|v][slot][kv_heads * head_dim].
//
// Automatic prefix caching: a full block of prompt tokens, once computed, is registered under the
// hash of all tokens up to its end. A later sequence whose prompt starts with the same tokens maps
// those blocks (reference counted) instead of recomputing them. Freed blocks keep their contents
// and stay findable until the pool hands them out again. K/V of a position depends only on the
// tokens before it (rows are computed independently), so reuse never changes a result.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "model/config.h"

namespace tt::infer {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t block_size = 16);

  // A new empty sequence; returns its id (ids are reused after free_sequence).
  int32_t new_sequence();
  void free_sequence(int32_t seq);
  // Makes room for positions [0, tokens) of `seq`.
  void reserve(int32_t seq, int64_t tokens);

  // Maps the longest run of cached full blocks that prefix `tokens` into the (empty) sequence,
  // leaving at least the last token to compute; returns the number of tokens mapped.
  int64_t match_prefix(int32_t seq, const std::vector<int32_t>& tokens);
  // Registers the sequence's full blocks within its first `computed` tokens (of `tokens`).
  void register_prefix(int32_t seq, const std::vector<int32_t>& tokens, int64_t computed);

  float* key(int32_t seq, int64_t layer, int64_t position) { return slot(seq, layer, position, 0); }
  float* value(int32_t seq, int64_t layer, int64_t position) { return slot(seq, layer, position, 1); }
  const std::vector<int32_t>& block_table(int32_t seq) const { return tables_[seq]; }
  const float* block_keys(int32_t block, int64_t layer) const { return blocks_[block].get() + (layer * 2) * block_stride_; }
  const float* block_values(int32_t block, int64_t layer) const {
    return blocks_[block].get() + (layer * 2 + 1) * block_stride_;
  }
  // Per layer, every block's keys / values (indexed by block id): the paged attention kernel's view.
  const float* const* layer_keys(int64_t layer) const { return layer_keys_[layer].data(); }
  const float* const* layer_values(int64_t layer) const { return layer_values_[layer].data(); }

  int64_t block_size() const { return block_size_; }
  int64_t row_width() const { return row_; }           // kv_heads * head_dim
  int64_t blocks_in_use() const;
  int64_t blocks_allocated() const { return static_cast<int64_t>(blocks_.size()); }

 private:
  float* slot(int32_t seq, int64_t layer, int64_t position, int kv) {
    const int32_t block = tables_[seq][position / block_size_];
    return blocks_[block].get() + (layer * 2 + kv) * block_stride_ + (position % block_size_) * row_;
  }
  int32_t take_block();
  void release_block(int32_t block);
  uint64_t chain_hash(uint64_t previous, const int32_t* tokens) const;

  int64_t layers_, row_, block_size_, block_stride_;
  std::vector<std::unique_ptr<float[]>> blocks_;
  std::vector<std::vector<const float*>> layer_keys_, layer_values_;  // [layer][block]
  std::vector<int32_t> refcount_;
  std::vector<uint32_t> generation_;                    // bumped on every release
  std::deque<std::pair<int32_t, uint32_t>> free_list_;  // (block, generation when released), oldest first
  std::vector<uint64_t> block_hash_;                    // 0 = not registered
  std::vector<std::vector<int32_t>> block_tokens_;      // the prefix block's own tokens (checked on a hit)
  std::unordered_map<uint64_t, int32_t> cached_;        // chain hash -> block
  std::vector<int64_t> registered_;                     // per sequence: blocks already registered
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int32_t> free_sequences_;
};

}  // namespace tt::infer
