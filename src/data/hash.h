// A fast 64-bit hash of bytes, for shard checksums and cache keys (not cryptographic: it guards
// against accidents, not adversaries). Murmur3-style mixing of 8-byte words, then fmix64; chain
// pieces through `seed`. The result is part of the shard format and cache keys: never change it
// without bumping kShardVersion.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tt {

inline uint64_t hash_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

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

}  // namespace tt
