// The CPU cache's storage (kv_cache.h): blocks come out of shared chunks, and every (block, layer,
// K/V, slot) has its own floats, also across chunk boundaries and after sequences are freed.
#include "infer/kv_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "model/config.h"

namespace tt::infer {
namespace {

TEST(KvCache, EverySlotOfEveryBlockHasItsOwnStorageAcrossChunks) {
  const ModelConfig config = preset_config("mobilellm-r1-140m");  // the shape only: no weights
  KvCache cache(config, 4);
  const int64_t row = cache.row_width(), layers = config.num_hidden_layers;
  // Enough tokens for several 8 MB chunks (a block of 4 slots: 15 layers x K/V x 4 x 192 floats).
  const int64_t tokens_per_seq = 200, sequences = 8;
  std::vector<int32_t> seqs;
  for (int64_t s = 0; s < sequences; ++s) {
    seqs.push_back(cache.new_sequence());
    cache.reserve(seqs.back(), tokens_per_seq);
  }
  const int64_t block_bytes = layers * 2 * 4 * row * static_cast<int64_t>(sizeof(float));
  ASSERT_GT(cache.blocks_allocated() * block_bytes, int64_t{3} * (8 << 20)) << "the test must cross chunks";
  auto mark = [&](int64_t s, int64_t l, int64_t p, int kv) { return static_cast<float>(((s * 7 + l) * 1000 + p) * 2 + kv); };
  std::set<const float*> starts;
  for (int64_t s = 0; s < sequences; ++s)
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t p = 0; p < tokens_per_seq; ++p) {
        float* k = cache.key(seqs[s], l, p);
        float* v = cache.value(seqs[s], l, p);
        ASSERT_TRUE(starts.insert(k).second && starts.insert(v).second) << "slot shared, seq " << s << " pos " << p;
        std::fill(k, k + row, mark(s, l, p, 0));
        std::fill(v, v + row, mark(s, l, p, 1));
      }
  for (int64_t s = 0; s < sequences; ++s)
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t p = 0; p < tokens_per_seq; ++p) {
        const int32_t block = cache.block_table(seqs[s])[p / 4];
        const float* k = cache.layer_keys(l)[block] + (p % 4) * row;
        const float* v = cache.layer_values(l)[block] + (p % 4) * row;
        for (int64_t i = 0; i < row; ++i) {
          ASSERT_EQ(k[i], mark(s, l, p, 0)) << "seq " << s << " layer " << l << " pos " << p;
          ASSERT_EQ(v[i], mark(s, l, p, 1)) << "seq " << s << " layer " << l << " pos " << p;
        }
      }
  // Freed blocks are handed out again: no new storage for a sequence that fits in them.
  const int64_t allocated = cache.blocks_allocated();
  cache.free_sequence(seqs[0]);
  const int32_t again = cache.new_sequence();
  cache.reserve(again, tokens_per_seq);
  EXPECT_EQ(cache.blocks_allocated(), allocated);
}

}  // namespace
}  // namespace tt::infer
