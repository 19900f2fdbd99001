// The block bookkeeping shared by the CPU cache and the device engine (kv_blocks.h): tables, reference
// counts, the prefix cache (hits, misses, recycling of freed blocks), and the limits of a fixed pool
// (the device's): "full" errors, can_reserve, fresh blocks first, the table array the device uploads.
#include "infer/kv_blocks.h"

#include <gtest/gtest.h>

#include <numeric>

#include "tests/error_of.h"

namespace tt::infer {
namespace {

std::vector<int32_t> iota_tokens(int32_t n, int32_t from = 100) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), from);
  return t;
}

TEST(KvBlocks, PrefixBlocksAreSharedAndRefcounted) {
  KvBlocks kv(4);
  const auto prompt = iota_tokens(10);  // 2 full blocks + 2 tokens
  const int32_t a = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(a, prompt), 0);
  kv.reserve(a, 10);
  EXPECT_EQ(kv.blocks_in_use(), 3);
  kv.register_prefix(a, prompt, 10);
  const int32_t b = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(b, prompt), 8);  // both full blocks; the last token stays to compute
  EXPECT_EQ(kv.block_table(b)[0], kv.block_table(a)[0]);
  EXPECT_EQ(kv.block_table(b)[1], kv.block_table(a)[1]);
  EXPECT_EQ(kv.blocks_in_use(), 3);
  kv.reserve(b, 10);
  EXPECT_NE(kv.block_table(b)[2], kv.block_table(a)[2]);
  EXPECT_EQ(kv.blocks_in_use(), 4);
  kv.free_sequence(a);
  EXPECT_EQ(kv.blocks_in_use(), 3);  // the shared blocks are still b's
  kv.free_sequence(b);
  EXPECT_EQ(kv.blocks_in_use(), 0);
  // Freed blocks stay findable; a prompt that differs in the second block maps only the first.
  auto other = prompt;
  other[5] = 7;
  const int32_t c = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(c, other), 4);
  EXPECT_EQ(kv.blocks_in_use(), 1);
  // A prompt of exactly one block maps nothing (its last token must be computed).
  const int32_t d = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(d, iota_tokens(4)), 0);
}

TEST(KvBlocks, RecycledBlocksLeaveThePrefixCache) {
  KvBlocks kv(4);  // a growing pool recycles freed blocks first
  const auto prompt = iota_tokens(9);
  const int32_t a = kv.new_sequence();
  kv.reserve(a, 9);
  kv.register_prefix(a, prompt, 9);
  kv.free_sequence(a);
  const int32_t b = kv.new_sequence();
  kv.reserve(b, 12);  // takes all three freed blocks: their hashes are gone
  EXPECT_EQ(kv.blocks_allocated(), 3);
  const int32_t c = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(c, prompt), 0);
}

TEST(KvBlocks, AFixedPoolSaysFullHandsOutFreshBlocksFirstAndKeepsCachedOnesFree) {
  KvBlocks kv(4, {.blocks = 6, .max_sequences = 3, .max_blocks_per_sequence = 4});
  EXPECT_EQ(kv.blocks_total(), 6);
  const auto prompt = iota_tokens(9);
  const int32_t a = kv.new_sequence();
  ASSERT_TRUE(kv.can_reserve(a, 9));
  kv.reserve(a, 9);
  kv.register_prefix(a, prompt, 9);
  kv.free_sequence(a);
  EXPECT_EQ(kv.blocks_free(), 6);  // cached free blocks count as free
  const int32_t b = kv.new_sequence();
  kv.reserve(b, 12);  // three never-used blocks, not a's
  for (int32_t block : kv.block_table(b)) EXPECT_GE(block, 3);
  const int32_t c = kv.new_sequence();
  EXPECT_EQ(kv.match_prefix(c, prompt), 8);  // a's prefix is still there
  EXPECT_EQ(kv.blocks_free(), 1);
  EXPECT_TRUE(kv.can_reserve(c, 12));
  EXPECT_FALSE(kv.can_reserve(c, 13));  // 2 more blocks, 1 free
  EXPECT_FALSE(kv.can_reserve(c, 17));  // 4 blocks per sequence at most
  EXPECT_EQ(kv.new_sequence(), 2);
  EXPECT_EQ(kv.new_sequence(), -1);  // max_sequences live
  kv.free_sequence(2);
  kv.reserve(c, 12);
  EXPECT_EQ(kv.blocks_free(), 0);
  const int32_t e = kv.new_sequence();
  EXPECT_FALSE(kv.can_reserve(e, 1));
  const std::string full = testing::error_of([&] { kv.reserve(e, 1); });
  EXPECT_NE(full.find("paged KV cache: full: "), std::string::npos) << full;
  EXPECT_EQ(full.find('\n'), std::string::npos) << full;
  const std::string too_long = testing::error_of([&] { kv.reserve(c, 17); });
  EXPECT_NE(too_long.find("exceed the context of 16"), std::string::npos) << too_long;
  // The device's table array: [max_sequences][max_blocks_per_sequence], -1 where a table ends.
  const std::vector<int32_t> tables = kv.table_array();
  ASSERT_EQ(tables.size(), 12u);
  for (int64_t j = 0; j < 4; ++j) {
    EXPECT_EQ(tables[b * 4 + j], j < 3 ? kv.block_table(b)[j] : -1);
    EXPECT_EQ(tables[c * 4 + j], j < 3 ? kv.block_table(c)[j] : -1);
    EXPECT_EQ(tables[e * 4 + j], -1);
  }
}

TEST(KvBlocks, TheTablesVersionChangesWithEveryTable) {
  KvBlocks kv(4, {.blocks = 8, .max_sequences = 2, .max_blocks_per_sequence = 4});
  const auto prompt = iota_tokens(9);
  uint64_t v = kv.tables_version();
  const int32_t a = kv.new_sequence();
  kv.reserve(a, 9);
  EXPECT_NE(kv.tables_version(), v);
  v = kv.tables_version();
  kv.reserve(a, 9);  // nothing new
  kv.register_prefix(a, prompt, 9);
  EXPECT_EQ(kv.tables_version(), v);
  const int32_t b = kv.new_sequence();
  kv.match_prefix(b, prompt);
  EXPECT_NE(kv.tables_version(), v);
  v = kv.tables_version();
  kv.free_sequence(a);
  EXPECT_NE(kv.tables_version(), v);
}

TEST(KvBlocks, BadUseIsAnError) {
  EXPECT_NE(testing::error_of([] { KvBlocks kv(0); }).find("block size must be positive"), std::string::npos);
  KvBlocks kv(4);
  EXPECT_NE(testing::error_of([&] { kv.free_sequence(0); }).find("not live"), std::string::npos);
  const int32_t a = kv.new_sequence();
  kv.reserve(a, 4);
  EXPECT_NE(testing::error_of([&] { kv.match_prefix(a, iota_tokens(9)); }).find("needs an empty sequence"),
            std::string::npos);
  kv.free_sequence(a);
  EXPECT_NE(testing::error_of([&] { kv.free_sequence(a); }).find("not live"), std::string::npos);
}

}  // namespace
}  // namespace tt::infer
