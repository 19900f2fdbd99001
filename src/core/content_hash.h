// Content hashes: shard checksums, cache keys (prepared shards, DPO reference log-probs) and a
// study's input fingerprints. Fast, not cryptographic: they guard against accidents, not adversaries.
//
// Every value here is persisted somewhere (a shard header, a cache file name, .input_hashes.json, a
// stage fingerprint), so the functions below must keep their values: a change would silently turn
// users' caches into misses. A user that changes what it feeds in bumps the version string it puts
// into its key (kPrepareRecipe, "tinythink-dpo-reference-v1", kShardVersion), so old entries are
// ignored rather than misread. core/content_hash_test.cpp pins the values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tt {

// murmur3's fmix64 finaliser.
inline uint64_t hash_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// 64 bits of `size` bytes: murmur3-style mixing of 8-byte words, then fmix64; chain pieces through `seed`.
inline uint64_t hash_bytes(const void* data, size_t size, uint64_t seed = 0) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (size + 1));
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w *= 0x87c37b91114253d5ull;
    w = (w << 31) | (w >> 33);
    w *= 0x4cf5ad432745937full;
    h ^= w;
    h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
  }
  uint64_t tail = 0;
  if (size > i) std::memcpy(&tail, p + i, size - i);
  h ^= hash_mix64(tail ^ 0x2545f4914f6cdd1dull);
  return hash_mix64(h);
}

inline uint64_t hash_string(std::string_view s, uint64_t seed = 0) { return hash_bytes(s.data(), s.size(), seed); }

std::string hex64(uint64_t x);  // 16 lower-case hex digits

// A file's bytes, streamed in 1 MiB pieces chained through the seed (a study's input fingerprints).
// Equal to hash_string(content) for files under 1 MiB.
uint64_t hash_file(const std::string& path);

// A 128-bit cache key over a sequence of pieces: two independent 64-bit chains, each piece
// preceded by its length (so ("ab", "c") and ("a", "bc") differ). 128 bits make an accidental
// collision out of the question for caches that live for months. The two seeds tell one kind of
// key from another; each user keeps its own fixed.
class ContentKey {
 public:
  ContentKey(uint64_t seed_a, uint64_t seed_b) : a_(seed_a), b_(seed_b) {}
  void add(const void* data, size_t size);
  void add(std::string_view piece) { add(piece.data(), piece.size()); }
  void add(const std::vector<int32_t>& ids) { add(ids.data(), ids.size() * sizeof(int32_t)); }
  // The file's bytes as pieces of at most 16 MiB each, streamed (a weights file is never held whole).
  void add_file(const std::string& path);
  std::string hex() const;  // 32 hex digits

 private:
  uint64_t a_, b_;
};

}  // namespace tt
