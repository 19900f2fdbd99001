// The content hashes keep the values users' caches were written with. The pinned strings below were
// printed by the code these functions replaced (data/hash.h, the two KeyHasher structs of
// data/prepare.cpp and train/dpo.cpp, study/input_hash.cpp's file loop, at commit cd417e5) on the
// same inputs; a change here is a change of every cache key and study fingerprint.
#include "core/content_hash.h"

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace tt {
namespace {

// Deterministic content: byte i = (i * 131 + i / 7) mod 256.
std::string write_pattern(const std::string& dir, size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  const std::string path = dir + "/f" + std::to_string(n);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(ContentHash, BytesAndStringsKeepTheirValues) {
  EXPECT_EQ(hex64(hash_string("abc")), "e81dd6493b6cdd8e");
  EXPECT_EQ(hex64(hash_bytes("", 0, 7)), "ae891704d46fe5f6");
}

// 1 MiB pieces chained: a piece boundary (1 MiB exactly, 1 MiB + 3) and the empty file are the
// cases a streamed rewrite gets wrong.
TEST(ContentHash, FileHashKeepsTheStudyFingerprintValues) {
  const std::string dir = testing::make_temp_dir("content-hash");
  const std::vector<std::pair<size_t, const char*>> expected = {
      {0, "1342215a0cfb1f54"}, {5, "63f6ed32d7d17adb"}, {1 << 20, "a8dc33aab2f59c54"}, {(1 << 20) + 3, "de72fb4ae6a5ade3"}};
  for (const auto& [size, hex] : expected) EXPECT_EQ(hex64(hash_file(write_pattern(dir, size))), hex) << size;
  const std::string small = write_pattern(dir, 5);
  std::ifstream in(small, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(hash_file(small), hash_string(content));
  EXPECT_THROW(hash_file(dir + "/missing"), Error);
}

TEST(ContentHash, KeysKeepThePrepareAndReferenceCacheValues) {
  ContentKey prepare(0x243f6a8885a308d3ull, 0x13198a2e03707344ull);
  for (const char* piece : {"tinythink-prepare/1", "3", "", "abc"}) prepare.add(piece);
  EXPECT_EQ(prepare.hex(), "577fd08108ec79774d832cc982803013");

  ContentKey reference(0x452821e638d01377ull, 0xbe5466cf34e90c6cull);
  reference.add(std::string_view("tinythink-dpo-reference-v1"));
  const uint64_t n = 2;
  reference.add(&n, sizeof n);
  reference.add(std::vector<int32_t>{1, 2, 3});
  reference.add(std::vector<int32_t>{});
  reference.add(std::string_view("fp32"));
  EXPECT_EQ(reference.hex(), "8281a7ec6db9780f06396aeb077d2b6d");

  // a weights file streamed in 16 MiB pieces: an empty file adds nothing, a larger one two pieces
  const std::string dir = testing::make_temp_dir("content-key");
  const std::vector<std::pair<size_t, const char*>> files = {{0, "452821e638d01377be5466cf34e90c6c"},
                                                             {5, "8ed1ec00452ed4bd22ddde91b9e7f926"},
                                                             {(16 << 20) + 11, "5f2db40b28ab680a894fb15dd3bd8394"}};
  for (const auto& [size, hex] : files) {
    ContentKey key(0x452821e638d01377ull, 0xbe5466cf34e90c6cull);
    key.add_file(write_pattern(dir, size));
    EXPECT_EQ(key.hex(), hex) << size;
  }
}

TEST(ContentHash, PiecesAreLengthPrefixed) {
  ContentKey a(1, 2), b(1, 2);
  a.add("ab");
  a.add("c");
  b.add("a");
  b.add("bc");
  EXPECT_NE(a.hex(), b.hex());
}

}  // namespace
}  // namespace tt
