#include "core/content_hash.h"

#include <fstream>

#include <fmt/format.h>

#include "core/error.h"

namespace tt {

namespace {

// Calls fn(data, size) for each piece of at most `piece` bytes read from the file, in order. After
// the last full piece a short (possibly empty) one always follows, as a read loop that stops at the
// first short read sees it.
template <typename Fn>
void for_each_piece(const std::string& path, size_t piece, Fn&& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::vector<char> buffer(piece);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    fn(buffer.data(), static_cast<size_t>(in.gcount()));
  }
}

}  // namespace

std::string hex64(uint64_t x) { return fmt::format("{:016x}", x); }

uint64_t hash_file(const std::string& path) {
  uint64_t h = 0;
  for_each_piece(path, size_t{1} << 20, [&](const char* data, size_t size) { h = hash_bytes(data, size, h); });
  return h;
}

void ContentKey::add(const void* data, size_t size) {
  const uint64_t n = size;
  a_ = hash_bytes(&n, sizeof n, a_);
  b_ = hash_bytes(&n, sizeof n, b_ ^ 0x5bd1e995ull);
  a_ = hash_bytes(data, size, a_);
  b_ = hash_bytes(data, size, b_);
}

void ContentKey::add_file(const std::string& path) {
  for_each_piece(path, size_t{16} << 20, [&](const char* data, size_t size) {
    if (size > 0) add(data, size);
  });
}

std::string ContentKey::hex() const { return hex64(a_) + hex64(b_); }

}  // namespace tt
