// The block bookkeeping of a paged KV cache, apart from where K/V live: block tables per sequence,
// the free list, reference counts and automatic prefix caching. The CPU cache (kv_cache.h) keeps its
// blocks in host memory, the device engine (device_engine.h) in the device's pool; both take their
// block ids from this one class.
//
// A sequence's block table maps position p to (block_table[p / block_size], p % block_size).
// Automatic prefix caching: a full block of prompt tokens, once computed, is registered under the
// hash of all tokens up to its end. A later sequence whose prompt starts with the same tokens maps
// those blocks (reference counted) instead of recomputing them. Freed blocks keep their contents
// and stay findable until they are handed out again. K/V of a position depends only on the tokens
// before it, so reuse never changes a result.
#pragma once
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace tt::infer {

// -1: no limit (the host cache grows its storage as blocks are taken).
struct KvBlockLimits {
  int64_t blocks = -1;                   // a fixed pool (the device's)
  int64_t max_sequences = -1;            // sequences live at once
  int64_t max_blocks_per_sequence = -1;  // a sequence's longest table
};

class KvBlocks {
 public:
  explicit KvBlocks(int64_t block_size, KvBlockLimits limits = {});

  // A new empty sequence (ids are reused after free_sequence); -1 when max_sequences are live.
  int32_t new_sequence();
  void free_sequence(int32_t seq);
  // Whether positions [0, tokens) of `seq` fit (within max_blocks_per_sequence and the free blocks).
  bool can_reserve(int32_t seq, int64_t tokens) const;
  // Makes room for positions [0, tokens); one-line error "paged KV cache: full: ..." when the pool
  // has too few free blocks, or when `tokens` exceeds max_blocks_per_sequence.
  void reserve(int32_t seq, int64_t tokens);

  // Maps the longest run of cached full blocks that prefix `tokens` into the (empty) sequence,
  // leaving at least the last token to compute; returns the number of tokens mapped.
  int64_t match_prefix(int32_t seq, const std::vector<int32_t>& tokens);
  // Registers the sequence's full blocks within its first `computed` tokens (of `tokens`).
  void register_prefix(int32_t seq, const std::vector<int32_t>& tokens, int64_t computed);

  const std::vector<int32_t>& block_table(int32_t seq) const { return tables_[seq]; }
  // Every table as one array [max_sequences][max_blocks_per_sequence] of block ids, -1 = none
  // (the device's layout; needs both limits).
  std::vector<int32_t> table_array() const;
  // Changes whenever a block table does (the device uploads the tables again then).
  uint64_t tables_version() const { return tables_version_; }

  int64_t block_size() const { return block_size_; }
  const KvBlockLimits& limits() const { return limits_; }
  int64_t blocks_in_use() const { return in_use_; }  // mapped by at least one sequence
  int64_t blocks_allocated() const { return static_cast<int64_t>(refcount_.size()); }  // ids handed out so far
  int64_t blocks_total() const { return limits_.blocks; }  // -1 without a fixed pool
  int64_t blocks_free() const { return limits_.blocks - in_use_; }  // with a fixed pool; cached free blocks count

 private:
  bool live(int32_t seq) const { return seq >= 0 && seq < static_cast<int32_t>(live_.size()) && live_[seq]; }
  void check_live(int32_t seq, const char* what) const;
  int32_t take_block();
  void release_block(int32_t block);
  uint64_t chain_hash(uint64_t previous, const int32_t* tokens) const;

  int64_t block_size_;
  KvBlockLimits limits_;
  int64_t in_use_ = 0;
  uint64_t tables_version_ = 0;
  std::vector<int32_t> refcount_;
  std::vector<uint32_t> generation_;                    // bumped on every release
  std::deque<std::pair<int32_t, uint32_t>> free_list_;  // (block, generation when released), oldest first
  std::vector<uint64_t> block_hash_;                    // 0 = not registered
  std::vector<std::vector<int32_t>> block_tokens_;      // the prefix block's own tokens (checked on a hit)
  std::unordered_map<uint64_t, int32_t> cached_;        // chain hash -> block
  std::vector<int64_t> registered_;                     // per sequence: blocks already registered
  std::vector<std::vector<int32_t>> tables_;
  std::vector<uint8_t> live_;
  std::vector<int32_t> free_sequences_;
};

}  // namespace tt::infer
