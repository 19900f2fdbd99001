// Byte-level BPE model: a vocabulary of byte strings and a merge table keyed by the pair of ids.
// Both tokenizer.json (merges listed in rank order) and tiktoken files (a pair merges when the
// concatenation is a token; priority = that token's rank) are expressed as the same table.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tt {

// Open-addressing hash from a byte string to the id whose bytes equal it (ids index `tokens`).
// Each slot carries the key's length and first 8 bytes, so the common short pieces are matched
// in one cache line without reading the token table.
class BytesIndex {
 public:
  // Returns how many indexed ids were left out because a lower id has the same bytes.
  size_t build(const std::vector<std::string>& tokens, const std::vector<uint8_t>& indexed);
  int32_t find(std::string_view bytes, const std::vector<std::string>& tokens) const;
  // Starts loading the slot find(bytes) probes first (for loops that look up many keys).
  void prefetch(std::string_view bytes) const;

 private:
  struct Slot {
    uint64_t prefix = 0;   // first 8 bytes, zero padded
    uint32_t tag = 0;      // high 24 bits of the hash | min(length, 255)
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Open-addressing hash from (left id, right id) to (rank, merged id).
class PairIndex {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  void reserve(size_t count);
  // Keeps the existing entry if the pair is already present (the first = lowest rank wins).
  void insert(int32_t left, int32_t right, Merge merge);
  const Merge* find(int32_t left, int32_t right) const {
    uint64_t key = pack(left, right);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return count_; }
  // Starts loading the slot insert / find probe first for this pair.
  void prefetch(int32_t left, int32_t right) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[mix(pack(left, right)) & mask_], 1);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  void grow();
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

// Memo of piece -> ids for pieces that needed merging. Sharded and bounded; safe for concurrent
// encode calls. Once a shard is full it stops taking new entries (as HF's cache does): the
// frequent pieces have arrived by then.
class PieceCache {
 public:
  bool lookup(std::string_view piece, std::vector<int32_t>& out) const;
  void store(std::string_view piece, const int32_t* ids, size_t count);

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kShardCapacity = 8192;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  Shard shards_[kShards];
};

struct BpeModel {
  std::vector<std::string> tokens;   // id -> raw bytes (empty for ids that are not tokens)
  std::vector<uint8_t> in_index;     // id -> 1 if BPE may produce it (its bytes are indexed)
  BytesIndex index;                  // bytes -> id
  PairIndex merges;
  int32_t byte_ids[256];             // single-byte token ids
  bool ignore_merges = false;        // a piece that is itself a token is emitted whole
  bool distinct = true;              // no two indexed ids have the same bytes (set by finalize)
  std::unique_ptr<PieceCache> cache = std::make_unique<PieceCache>();

  // Builds `index` and `byte_ids`; fails (prefixed by `where`) if a single byte has no token.
  void finalize(std::string_view where);

  int32_t find(std::string_view bytes) const { return index.find(bytes, tokens); }

  // Appends the ids of one pre-tokenized piece (raw bytes) to `out`.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  void merge_small(std::string_view piece, std::vector<int32_t>& out) const;
  void merge_large(std::string_view piece, std::vector<int32_t>& out) const;
};

}  // namespace tt
