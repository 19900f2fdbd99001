#include "infer/kv_blocks.h"

#include <algorithm>

#include "core/error.h"

namespace tt::infer {

KvBlocks::KvBlocks(int64_t block_size, KvBlockLimits limits) : block_size_(block_size), limits_(limits) {
  if (block_size <= 0) fail("kv cache: block size must be positive, got {}", block_size);
  if (limits.blocks == 0 || limits.max_sequences == 0 || limits.max_blocks_per_sequence == 0)
    fail("kv cache: a limit of 0 (blocks {}, sequences {}, blocks per sequence {}) holds nothing", limits.blocks,
         limits.max_sequences, limits.max_blocks_per_sequence);
}

void KvBlocks::check_live(int32_t seq, const char* what) const {
  if (!live(seq)) fail("kv cache: {} of sequence {}, which is not live", what, seq);
}

int32_t KvBlocks::new_sequence() {
  if (!free_sequences_.empty()) {
    const int32_t id = free_sequences_.back();
    free_sequences_.pop_back();
    registered_[id] = 0;
    live_[id] = 1;
    return id;
  }
  if (limits_.max_sequences >= 0 && static_cast<int64_t>(tables_.size()) >= limits_.max_sequences) return -1;
  tables_.emplace_back();
  registered_.push_back(0);
  live_.push_back(1);
  return static_cast<int32_t>(tables_.size() - 1);
}

void KvBlocks::release_block(int32_t b) {
  if (--refcount_[b] == 0) {
    --in_use_;
    ++generation_[b];
    free_list_.push_back({b, generation_[b]});
  }
}

void KvBlocks::free_sequence(int32_t seq) {
  check_live(seq, "free");
  for (int32_t b : tables_[seq]) release_block(b);
  if (!tables_[seq].empty()) ++tables_version_;
  tables_[seq].clear();
  live_[seq] = 0;
  free_sequences_.push_back(seq);
}

// A fixed pool hands out never-used blocks first (they are already there), so freed blocks stay
// findable in the prefix cache as long as possible; a growing pool recycles first, so its memory
// follows the tokens held. Recycling takes the oldest released block that is still free (entries of
// blocks revived since are stale) and forgets its prefix hash.
int32_t KvBlocks::take_block() {
  const bool fresh_first = limits_.blocks >= 0;
  if (!(fresh_first && blocks_allocated() < limits_.blocks)) {
    while (!free_list_.empty()) {
      auto [b, gen] = free_list_.front();
      free_list_.pop_front();
      if (refcount_[b] != 0 || generation_[b] != gen) continue;
      if (block_hash_[b] != 0) {
        cached_.erase(block_hash_[b]);
        block_hash_[b] = 0;
      }
      refcount_[b] = 1;
      ++in_use_;
      return b;
    }
  }
  if (limits_.blocks >= 0 && blocks_allocated() >= limits_.blocks)
    fail("kv cache: internal: no free block of {} (checked by reserve)", limits_.blocks);
  refcount_.push_back(1);
  generation_.push_back(0);
  block_hash_.push_back(0);
  block_tokens_.emplace_back();
  ++in_use_;
  return static_cast<int32_t>(refcount_.size() - 1);
}

bool KvBlocks::can_reserve(int32_t seq, int64_t tokens) const {
  const int64_t need = (tokens + block_size_ - 1) / block_size_;
  if (limits_.max_blocks_per_sequence >= 0 && need > limits_.max_blocks_per_sequence) return false;
  const int64_t more = need - static_cast<int64_t>(tables_[seq].size());
  return limits_.blocks < 0 || more <= blocks_free();
}

void KvBlocks::reserve(int32_t seq, int64_t tokens) {
  check_live(seq, "reserve");
  auto& table = tables_[seq];
  const int64_t need = (tokens + block_size_ - 1) / block_size_;
  if (limits_.max_blocks_per_sequence >= 0 && need > limits_.max_blocks_per_sequence)
    fail("paged KV cache: {} positions exceed the context of {}", tokens,
         limits_.max_blocks_per_sequence * block_size_);
  const int64_t more = need - static_cast<int64_t>(table.size());
  if (more <= 0) return;
  if (limits_.blocks >= 0 && more > blocks_free())
    fail("paged KV cache: full: {} of {} blocks in use, sequence {} needs {} more (queue the request until one "
         "finishes)",
         in_use_, limits_.blocks, seq, more);
  while (static_cast<int64_t>(table.size()) < need) table.push_back(take_block());
  ++tables_version_;
}

std::vector<int32_t> KvBlocks::table_array() const {
  if (limits_.max_sequences < 0 || limits_.max_blocks_per_sequence < 0)
    fail("kv cache: table_array needs max_sequences and max_blocks_per_sequence");
  std::vector<int32_t> out(limits_.max_sequences * limits_.max_blocks_per_sequence, -1);
  for (size_t s = 0; s < tables_.size(); ++s)
    std::copy(tables_[s].begin(), tables_[s].end(), out.begin() + s * limits_.max_blocks_per_sequence);
  return out;
}

uint64_t KvBlocks::chain_hash(uint64_t h, const int32_t* tokens) const {
  for (int64_t i = 0; i < block_size_; ++i) {
    h ^= static_cast<uint64_t>(static_cast<uint32_t>(tokens[i])) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  return h | 1;  // never 0 (0 marks an unregistered block)
}

int64_t KvBlocks::match_prefix(int32_t seq, const std::vector<int32_t>& tokens) {
  check_live(seq, "match_prefix");
  auto& table = tables_[seq];
  if (!table.empty()) fail("kv cache: match_prefix needs an empty sequence");
  int64_t usable = (static_cast<int64_t>(tokens.size()) - 1) / block_size_;
  if (limits_.max_blocks_per_sequence >= 0) usable = std::min(usable, limits_.max_blocks_per_sequence);
  uint64_t h = 0;
  for (int64_t i = 0; i < usable; ++i) {
    h = chain_hash(h, tokens.data() + i * block_size_);
    auto it = cached_.find(h);
    if (it == cached_.end()) break;
    const int32_t b = it->second;
    if (!std::equal(block_tokens_[b].begin(), block_tokens_[b].end(), tokens.begin() + i * block_size_)) break;
    if (refcount_[b]++ == 0) ++in_use_;  // revived from the free list (its stale entry is skipped)
    table.push_back(b);
  }
  if (!table.empty()) ++tables_version_;
  registered_[seq] = static_cast<int64_t>(table.size());
  return static_cast<int64_t>(table.size()) * block_size_;
}

void KvBlocks::register_prefix(int32_t seq, const std::vector<int32_t>& tokens, int64_t computed) {
  check_live(seq, "register_prefix");
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
