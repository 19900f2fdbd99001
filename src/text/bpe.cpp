#include "text/bpe.h"

#include <queue>

#include "core/error.h"

namespace tt {

namespace {

uint32_t hash_bytes(std::string_view s) {
  // FNV-1a folded over 8-byte words: pieces are short, and this is cheap and well spread.
  uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<uint8_t>(s[i])) * 0x100000001b3ULL;
  h ^= h >> 32;
  h *= 0x9E3779B97F4A7C15ULL;
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace

namespace {

uint64_t prefix8(std::string_view s) {
  uint64_t w = 0;
  __builtin_memcpy(&w, s.data(), s.size() < 8 ? s.size() : 8);
  return w;
}

uint32_t tag_of(uint32_t hash, size_t length) { return (hash & 0xFFFFFF00u) | static_cast<uint32_t>(length < 255 ? length : 255); }

}  // namespace

size_t BytesIndex::build(const std::vector<std::string>& tokens, const std::vector<uint8_t>& indexed) {
  size_t count = 0;
  for (size_t id = 0; id < tokens.size(); ++id) count += indexed[id];
  size_t capacity = 16;
  while (capacity < count * 2) capacity <<= 1;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  size_t duplicates = 0;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!indexed[id]) continue;
    if (find(tokens[id], tokens) >= 0) {  // two ids with the same bytes: the lower id wins
      ++duplicates;
      continue;
    }
    uint32_t h = hash_bytes(tokens[id]);
    size_t i = h & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = Slot{prefix8(tokens[id]), tag_of(h, tokens[id].size()), static_cast<int32_t>(id)};
  }
  return duplicates;
}

int32_t BytesIndex::find(std::string_view bytes, const std::vector<std::string>& tokens) const {
  if (slots_.empty()) return -1;
  uint32_t h = hash_bytes(bytes);
  uint32_t tag = tag_of(h, bytes.size());
  uint64_t prefix = prefix8(bytes);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.id < 0) return -1;
    if (slot.tag == tag && slot.prefix == prefix) {
      if (bytes.size() <= 8 || tokens[slot.id] == bytes) return slot.id;
    }
  }
}

void BytesIndex::prefetch(std::string_view bytes) const {
  if (!slots_.empty()) __builtin_prefetch(&slots_[hash_bytes(bytes) & mask_]);
}

void PairIndex::reserve(size_t count) {
  size_t capacity = 16;
  while (capacity < count * 2) capacity <<= 1;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  count_ = 0;
  for (const Slot& s : old) {
    if (s.key != kEmpty) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xffffffffu), s.merge);
  }
}

void PairIndex::grow() { reserve(slots_.empty() ? 1024 : slots_.size()); }

void PairIndex::insert(int32_t left, int32_t right, Merge merge) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  uint64_t key = pack(left, right);
  size_t i = mix(key) & mask_;
  for (; slots_[i].key != kEmpty; i = (i + 1) & mask_) {
    if (slots_[i].key == key) return;
  }
  slots_[i].key = key;
  slots_[i].merge = merge;
  ++count_;
}

bool PieceCache::lookup(std::string_view piece, std::vector<int32_t>& out) const {
  const Shard& shard = shards_[Hash{}(piece) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.map.find(piece);
  if (it == shard.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void PieceCache::store(std::string_view piece, const int32_t* ids, size_t count) {
  Shard& shard = shards_[Hash{}(piece) % kShards];
  std::lock_guard lock(shard.mutex);
  if (shard.map.size() >= kShardCapacity) return;
  shard.map.emplace(std::string(piece), std::vector<int32_t>(ids, ids + count));
}

void BpeModel::finalize(std::string_view where) {
  in_index.resize(tokens.size(), 0);
  distinct = index.build(tokens, in_index) == 0;
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    byte_ids[b] = find(std::string_view(&c, 1));
    if (byte_ids[b] < 0) fail("{}: the vocabulary has no token for byte 0x{:02X} (not a byte-level BPE)", where, b);
  }
}

// Pieces longer than this use the heap-based merge (O(n log n)); shorter ones the simple scan,
// which is faster for the few-byte pieces that make up almost all text.
static constexpr size_t kSmallPiece = 64;
// Pieces at most this long are memoised.
static constexpr size_t kMaxCachedPiece = 256;

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges) {
    int32_t id = find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  bool cacheable = piece.size() <= kMaxCachedPiece;
  if (cacheable && cache->lookup(piece, out)) return;
  size_t before = out.size();
  if (piece.size() <= kSmallPiece) {
    merge_small(piece, out);
  } else {
    merge_large(piece, out);
  }
  if (cacheable) cache->store(piece, out.data() + before, out.size() - before);
}

void BpeModel::merge_small(std::string_view piece, std::vector<int32_t>& out) const {
  // Repeatedly merge the adjacent pair with the lowest rank (the leftmost among equals), keeping
  // each pair's rank in `ranks` so only the two neighbours of a merge are looked up again.
  constexpr int32_t kNone = INT32_MAX;
  int32_t ids[kSmallPiece];
  int32_t ranks[kSmallPiece];
  int32_t merged[kSmallPiece];
  size_t n = piece.size();
  for (size_t i = 0; i < n; ++i) ids[i] = byte_ids[static_cast<uint8_t>(piece[i])];
  auto rank_at = [&](size_t i) {
    const PairIndex::Merge* m = merges.find(ids[i], ids[i + 1]);
    ranks[i] = m ? m->rank : kNone;
    merged[i] = m ? m->merged : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) rank_at(i);
  while (n > 1) {
    size_t best = 0;
    int32_t best_rank = kNone;
    for (size_t i = 0; i + 1 < n; ++i) {
      if (ranks[i] < best_rank) {
        best_rank = ranks[i];
        best = i;
      }
    }
    if (best_rank == kNone) break;
    ids[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best + 1 < n) rank_at(best);
    if (best > 0) rank_at(best - 1);
  }
  out.insert(out.end(), ids, ids + n);
}

void BpeModel::merge_large(std::string_view piece, std::vector<int32_t>& out) const {
  // Same result as merge_small, for long pieces: symbols in a linked list and candidate merges in
  // a min-heap ordered by (rank, position); stale candidates are skipped when popped.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t left;
    int32_t right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) symbols[i] = {byte_ids[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    int32_t next = symbols[pos].next;
    if (next < 0) return;
    if (const PairIndex::Merge* m = merges.find(symbols[pos].id, symbols[next].id)) {
      heap.push({m->rank, pos, symbols[pos].id, symbols[next].id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    Symbol& left = symbols[c.pos];
    if (left.id != c.left || left.next < 0 || symbols[left.next].id != c.right) continue;  // stale
    const PairIndex::Merge* m = merges.find(c.left, c.right);
    int32_t right_pos = left.next;
    left.id = m->merged;
    left.next = symbols[right_pos].next;
    if (left.next >= 0) symbols[left.next].prev = c.pos;
    symbols[right_pos].id = -1;  // dead
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace tt
