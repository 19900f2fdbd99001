#include "kernels/cpu/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/simd.h"

namespace tt {
namespace {

std::vector<float> random_vector(int64_t n, Rng& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// One sequence of T positions scattered over shuffled blocks of a pool, as the engine's cache holds it.
struct PagedSequence {
  int64_t block_size;
  std::vector<int32_t> table;
  std::vector<std::vector<float>> key_blocks, value_blocks;
  std::vector<const float*> keys, values;

  PagedSequence(const std::vector<float>& k, const std::vector<float>& v, int64_t T, int64_t row, int64_t bs, Rng& rng)
      : block_size(bs) {
    const int64_t blocks = (T + bs - 1) / bs, pool = blocks + 3;  // spare blocks hold garbage
    std::vector<int32_t> order(pool);
    for (int32_t b = 0; b < pool; ++b) order[b] = b;
    for (int64_t b = pool - 1; b > 0; --b) std::swap(order[b], order[rng.below(b + 1)]);
    table.assign(order.begin(), order.begin() + blocks);
    for (int64_t b = 0; b < pool; ++b) {
      key_blocks.push_back(random_vector(bs * row, rng));
      value_blocks.push_back(random_vector(bs * row, rng));
    }
    for (int64_t t = 0; t < T; ++t) {
      std::copy_n(k.data() + t * row, row, key_blocks[table[t / bs]].data() + (t % bs) * row);
      std::copy_n(v.data() + t * row, row, value_blocks[table[t / bs]].data() + (t % bs) * row);
    }
    for (int64_t b = 0; b < pool; ++b) {
      keys.push_back(key_blocks[b].data());
      values.push_back(value_blocks[b].data());
    }
  }
};

// Query rows at the given positions of the sequence (GQA: 6 heads over 2 KV heads).
std::vector<float> run_paged(const PagedSequence& s, const std::vector<float>& q, const std::vector<int32_t>& positions,
                             int64_t H, int64_t KVH, int64_t D) {
  const int64_t N = static_cast<int64_t>(positions.size());
  std::vector<float> queries, out(N * H * D);
  for (int32_t p : positions) queries.insert(queries.end(), q.begin() + p * H * D, q.begin() + (p + 1) * H * D);
  std::vector<const int32_t*> tables(N, s.table.data());
  paged_attention({.rows = N, .heads = H, .kv_heads = KVH, .head_dim = D, .block_size = s.block_size,
                   .q = queries.data(), .out = out.data(), .positions = positions.data(), .block_tables = tables.data(),
                   .block_keys = s.keys.data(), .block_values = s.values.data()});
  return out;
}

// The four-at-once horizontal sum that scores keys gives each vector's horizontal_sum bit for bit, on
// lanes of very different sizes (where another order of additions would round differently).
TEST(PagedAttention, FourHorizontalSumsAtOnceAddInTheSameOrder) {
  Rng rng(11);
  int differs_from_a_plain_left_fold = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    alignas(32) float lanes[4][8];
    for (auto& v : lanes)
      for (float& x : v) x = static_cast<float>(rng.normal() * std::pow(10.0, rng.below(9) - 4.0));
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_load_ps(lanes[i]);
    alignas(16) float sums[4];
    _mm_store_ps(sums, simd::horizontal_sums4(v[0], v[1], v[2], v[3]));
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(sums[i], simd::horizontal_sum(v[i])) << "trial " << trial << " vector " << i;
      float fold = 0.0f;
      for (float x : lanes[i]) fold += x;
      differs_from_a_plain_left_fold += fold != sums[i];
    }
  }
  EXPECT_GT(differs_from_a_plain_left_fold, 100);  // the data tells the orders apart
}

// Head sizes with and without vector tails (8 lanes, groups of 32 outputs) and the models' 64.
TEST(PagedAttention, MatchesCausalAttentionWhateverTheBlocks) {
  const int64_t T = 37, H = 6, KVH = 2;
  Rng rng(3);
  for (int64_t D : {5, 16, 40, 64, 100}) {
    auto q = random_vector(T * H * D, rng), k = random_vector(T * KVH * D, rng), v = random_vector(T * KVH * D, rng);
    std::vector<float> reference(T * H * D), lse(H * T);
    attention_forward(reference.data(), lse.data(), q.data(), k.data(), v.data(), nullptr, {1, T, H, KVH, D});
    std::vector<int32_t> all(T);
    for (int32_t t = 0; t < T; ++t) all[t] = t;
    for (int64_t bs : {1, 4, 16, 64}) {
      PagedSequence seq(k, v, T, KVH * D, bs, rng);
      auto out = run_paged(seq, q, all, H, KVH, D);
      for (int64_t i = 0; i < T * H * D; ++i)
        ASSERT_NEAR(out[i], reference[i], 1e-5) << "head_dim " << D << " block size " << bs << " at " << i;
    }
  }
}

// A row's output is bit-identical alone, with other rows, in any order and with any block size: rows
// of one sequence are computed in groups (of 4 rows x a KV head's query heads), which must not show.
// Grouped query heads (6 over 2 KV heads) and a head size with a scalar tail (44 = 5 x 8 + 4).
TEST(PagedAttention, RowsDoNotDependOnTheBatchOrTheBlocks) {
  const int64_t T = 50, H = 6, KVH = 2, D = 44;
  Rng rng(5);
  auto q = random_vector(T * H * D, rng), k = random_vector(T * KVH * D, rng), v = random_vector(T * KVH * D, rng);
  PagedSequence small(k, v, T, KVH * D, 4, rng), large(k, v, T, KVH * D, 32, rng);
  const std::vector<int32_t> rows = {49, 0, 17, 33, 8, 9, 10, 11, 48};
  auto together = run_paged(small, q, rows, H, KVH, D);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (const PagedSequence* s : {&small, &large}) {
      auto alone = run_paged(*s, q, {rows[r]}, H, KVH, D);
      for (int64_t x = 0; x < H * D; ++x) ASSERT_EQ(alone[x], together[r * H * D + x]) << "row " << rows[r];
    }
  }
  // A prefill chunk's consecutive rows, split differently: in two steps of 3 and 6 rows.
  const std::vector<int32_t> chunk = {40, 41, 42, 43, 44, 45, 46, 47, 48};
  auto whole = run_paged(large, q, chunk, H, KVH, D);
  auto head = run_paged(small, q, {40, 41, 42}, H, KVH, D), tail = run_paged(small, q, {43, 44, 45, 46, 47, 48}, H, KVH, D);
  head.insert(head.end(), tail.begin(), tail.end());
  for (size_t x = 0; x < whole.size(); ++x) ASSERT_EQ(head[x], whole[x]) << "chunk row " << chunk[x / (H * D)];
}

}  // namespace
}  // namespace tt
