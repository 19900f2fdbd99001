// A paged KV cache in host memory: fixed-size blocks of `block_size` token slots, and a block table
// per sequence mapping position p to (block_table[p / block_size], p % block_size). The block
// bookkeeping (tables, free list, reference counts, automatic prefix caching) is kv_blocks.h's, shared
// with the device engine; this class adds the blocks' storage, grown as block ids are handed out, so
// memory follows the tokens actually held, not max_batch x context. Storage comes in chunks of whole
// 2 MB pages (the kernel asked for transparent huge pages) holding several blocks: a decode step that
// wrote into fresh 4 KB pages took a page fault every ~5 tokens per layer (97 us per step of the
// 140M model on a 2-vCPU VM, more than its attention).
//
// A block holds, for every layer, K and V of its slots: [layer][k|v][slot][kv_heads * head_dim].
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "infer/kv_blocks.h"
#include "model/config.h"

namespace tt::infer {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t block_size = 16);

  // A new empty sequence; returns its id (ids are reused after free_sequence).
  int32_t new_sequence() { return blocks_.new_sequence(); }
  void free_sequence(int32_t seq) { blocks_.free_sequence(seq); }
  // Makes room for positions [0, tokens) of `seq`.
  void reserve(int32_t seq, int64_t tokens);

  // Automatic prefix caching (kv_blocks.h).
  int64_t match_prefix(int32_t seq, const std::vector<int32_t>& tokens) { return blocks_.match_prefix(seq, tokens); }
  void register_prefix(int32_t seq, const std::vector<int32_t>& tokens, int64_t computed) {
    blocks_.register_prefix(seq, tokens, computed);
  }
  KvBlocks& blocks() { return blocks_; }

  float* key(int32_t seq, int64_t layer, int64_t position) { return slot(seq, layer, position, 0); }
  float* value(int32_t seq, int64_t layer, int64_t position) { return slot(seq, layer, position, 1); }
  const std::vector<int32_t>& block_table(int32_t seq) const { return blocks_.block_table(seq); }
  const float* block_keys(int32_t block, int64_t layer) const { return blocks_storage_[block] + (layer * 2) * block_stride_; }
  const float* block_values(int32_t block, int64_t layer) const {
    return blocks_storage_[block] + (layer * 2 + 1) * block_stride_;
  }
  // Per layer, every block's keys / values (indexed by block id): the paged attention kernel's view.
  const float* const* layer_keys(int64_t layer) const { return layer_keys_[layer].data(); }
  const float* const* layer_values(int64_t layer) const { return layer_values_[layer].data(); }

  int64_t block_size() const { return blocks_.block_size(); }
  int64_t row_width() const { return row_; }           // kv_heads * head_dim
  int64_t blocks_in_use() const { return blocks_.blocks_in_use(); }
  int64_t blocks_allocated() const { return blocks_.blocks_allocated(); }

 private:
  float* slot(int32_t seq, int64_t layer, int64_t position, int kv) {
    const int32_t block = blocks_.block_table(seq)[position / block_size_];
    return blocks_storage_[block] + (layer * 2 + kv) * block_stride_ + (position % block_size_) * row_;
  }
  struct FreeChunk {
    void operator()(float* p) const;
  };

  int64_t layers_, row_, block_size_, block_stride_;
  KvBlocks blocks_;
  std::vector<std::unique_ptr<float, FreeChunk>> chunks_;            // storage of several blocks each
  float* chunk_next_ = nullptr;                                        // the last chunk's next free block
  int64_t chunk_free_ = 0;                                             // and how many it has left
  std::vector<float*> blocks_storage_;                                 // [block]
  std::vector<std::vector<const float*>> layer_keys_, layer_values_;  // [layer][block]
};

}  // namespace tt::infer
