// The device paged KV cache and paged attention against a host reference (double softmax over each
// row's cached positions), decode and prefill over a cached prefix, GQA groups 1 to 9, head_dim 48 to
// 256 (the tiled kernel's shapes and the generic kernel's), lengths around the tile and block edges;
// batch invariance (a row alone and among 63 others, shuffled: the same bits); the pool's "full" error
// and queueing answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/generation.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;
using testing::relative_error;

constexpr int64_t kLayers = 2;

// The attention shapes of a test: KV heads, query heads (a multiple: the GQA group), head_dim, block size.
struct Shape {
  int64_t kv_heads, heads, head_dim, block;
  PagedKvShape paged() const { return {kLayers, kv_heads, head_dim, block}; }
  int64_t row() const { return kv_heads * head_dim; }
};

// Group 3, head_dim 64 (MobileLLM-R1's): the tiled kernel.
constexpr Shape kDefault = {2, 6, 64, 16};

std::string describe(const Shape& s) {
  return "kv_heads " + std::to_string(s.kv_heads) + ", heads " + std::to_string(s.heads) + ", head_dim " +
         std::to_string(s.head_dim) + ", block " + std::to_string(s.block);
}

PagedKvShape default_shape() { return kDefault.paged(); }

// Sequences of the given lengths with random K/V written through paged_kv_write (all layers); the
// host copy keeps them as [seq][layer][pos][row] for the reference.
struct Filled {
  std::vector<int32_t> ids;
  std::vector<std::vector<float>> keys, values;  // per sequence: [layer][pos][row]
};

Filled fill(DevicePagedKv& kv, const Shape& shape, const std::vector<int64_t>& lengths, uint32_t seed) {
  Filled f;
  const int64_t row = shape.row();
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int32_t id = kv.new_sequence();
    kv.reserve(id, lengths[s]);
    f.ids.push_back(id);
    f.keys.push_back(random_vector(kLayers * lengths[s] * row, seed + 2 * s));
    f.values.push_back(random_vector(kLayers * lengths[s] * row, seed + 2 * s + 1));
  }
  kv.upload_tables(nullptr);
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int64_t n = lengths[s];
    std::vector<int32_t> seqs(n, f.ids[s]), positions(n);
    std::iota(positions.begin(), positions.end(), 0);
    DeviceBuffer<int32_t> d_seqs(seqs), d_pos(positions);
    for (int64_t l = 0; l < kLayers; ++l) {
      std::vector<float> k(f.keys[s].begin() + l * n * row, f.keys[s].begin() + (l + 1) * n * row);
      std::vector<float> v(f.values[s].begin() + l * n * row, f.values[s].begin() + (l + 1) * n * row);
      DeviceBuffer<float> d_k(k), d_v(v);
      paged_kv_write(kv.view(), l, d_k.get(), d_v.get(), d_seqs.get(), d_pos.get(), n, nullptr);
      TT_CUDA_CHECK(cudaDeviceSynchronize());
    }
  }
  return f;
}

struct Query {
  int32_t seq_index, position;
};

std::vector<float> reference(const Filled& f, const Shape& shape, const std::vector<int64_t>& lengths,
                             const std::vector<Query>& rows, const std::vector<float>& q, int64_t layer) {
  const int64_t row = shape.row(), group = shape.heads / shape.kv_heads, H = shape.heads, D = shape.head_dim;
  std::vector<float> out(rows.size() * H * D);
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t s = rows[i].seq_index, n = lengths[s], len = rows[i].position + 1;
    for (int64_t h = 0; h < H; ++h) {
      const float* qh = q.data() + (i * H + h) * D;
      const int64_t g = h / group;
      std::vector<double> scores(len);
      double max_score = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        const float* k = f.keys[s].data() + (layer * n + j) * row + g * D;
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += double(qh[d]) * k[d];
        scores[j] = dot / std::sqrt(double(D));
        max_score = std::max(max_score, scores[j]);
      }
      double sum = 0;
      for (double& x : scores) sum += (x = std::exp(x - max_score));
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j) acc += scores[j] * f.values[s][(layer * n + j) * row + g * D + d];
        out[(i * H + h) * D + d] = static_cast<float>(acc / sum);
      }
    }
  }
  return out;
}

std::vector<float> run(DevicePagedKv& kv, const Filled& f, const Shape& shape, const std::vector<Query>& rows,
                       const std::vector<float>& q, int64_t layer) {
  std::vector<int32_t> seqs, positions;
  for (const Query& r : rows) {
    seqs.push_back(f.ids[r.seq_index]);
    positions.push_back(r.position);
  }
  DeviceBuffer<int32_t> d_seqs(seqs), d_pos(positions);
  DeviceBuffer<float> d_q(q), d_out(q.size());
  paged_attention(d_out.get(), d_q.get(), kv.view(), layer, d_seqs.get(), d_pos.get(), rows.size(), shape.heads,
                  nullptr);
  return d_out.download();
}

// Decode rows (each sequence's last position) and prefill rows (a chunk over a cached prefix, a whole
// prompt) of `lengths` against the double reference, on both layers.
void expect_matches_reference(const Shape& shape, const std::vector<int64_t>& lengths,
                              const std::vector<Query>& prefill_rows) {
  SCOPED_TRACE(describe(shape));
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  const int64_t blocks_per_sequence = (longest + shape.block - 1) / shape.block;
  DevicePagedKv kv(shape.paged(), static_cast<int64_t>(lengths.size()), longest,
                   static_cast<int64_t>(lengths.size()) * blocks_per_sequence);
  const Filled f = fill(kv, shape, lengths, 100);
  std::vector<Query> rows;
  for (int32_t s = 0; s < static_cast<int32_t>(lengths.size()); ++s) rows.push_back({s, int32_t(lengths[s] - 1)});
  rows.insert(rows.end(), prefill_rows.begin(), prefill_rows.end());
  const std::vector<float> q = random_vector(rows.size() * shape.heads * shape.head_dim, 7);
  for (int64_t layer = 0; layer < kLayers; ++layer)
    EXPECT_LT(relative_error(run(kv, f, shape, rows, q, layer), reference(f, shape, lengths, rows, q, layer)), 1e-5)
        << "layer " << layer;
}

TEST(PagedAttention, DecodeAndPrefillMatchTheReference) {
  TT_REQUIRE_GPU();
  std::vector<Query> prefill;
  for (int32_t p = 280; p < 301; ++p) prefill.push_back({5, p});  // a prefill chunk over a cached prefix
  for (int32_t p = 0; p < 17; ++p) prefill.push_back({3, p});     // a whole prompt
  expect_matches_reference(kDefault, {1, 3, 16, 17, 100, 301}, prefill);
}

// Lengths around the tile (32 keys) and warp split (4 warps of tiles: 128 keys) edges, block sizes that
// do and do not divide the tile, GQA groups 1 to 8 and head_dim 64 and 128 (the tiled kernel), and
// shapes the tiled kernel leaves to the generic one (group 9, head_dim 48 and 256).
TEST(PagedAttention, TiledAndGenericShapesMatchTheReference) {
  TT_REQUIRE_GPU();
  const std::vector<int64_t> lengths = {1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 160, 257};
  std::vector<Query> prefill;
  for (int32_t p = 220; p < 257; ++p) prefill.push_back({12, p});  // a prefill chunk over a cached prefix
  for (int32_t p = 0; p < 33; ++p) prefill.push_back({4, p});      // a whole prompt
  for (const Shape& shape : {Shape{3, 3, 64, 16}, Shape{1, 8, 64, 16}, Shape{2, 4, 64, 5}, Shape{2, 2, 128, 16},
                             Shape{2, 6, 128, 7}, Shape{1, 9, 64, 16}, Shape{2, 4, 48, 16}, Shape{1, 2, 256, 16}})
    expect_matches_reference(shape, lengths, prefill);
}

// A row of `shape` alone and among 63 others, shuffled: the same bits.
void expect_batch_invariant(const Shape& shape) {
  SCOPED_TRACE(describe(shape));
  DevicePagedKv kv(shape.paged(), 64, 1024, int64_t{64 * 64});
  std::vector<int64_t> lengths;
  for (int i = 0; i < 64; ++i) lengths.push_back(1 + (i * 37) % 900);
  const Filled f = fill(kv, shape, lengths, 300);
  std::vector<Query> batch;
  for (int32_t s = 0; s < 64; ++s) batch.push_back({s, int32_t(lengths[s] - 1)});
  std::mt19937 shuffle(5);
  std::shuffle(batch.begin(), batch.end(), shuffle);
  const int64_t per_row = shape.heads * shape.head_dim;
  const std::vector<float> q_batch = random_vector(batch.size() * per_row, 9);
  const std::vector<float> out_batch = run(kv, f, shape, batch, q_batch, 1);
  for (size_t i = 0; i < batch.size(); i += 7) {
    const std::vector<float> q_alone(q_batch.begin() + i * per_row, q_batch.begin() + (i + 1) * per_row);
    const std::vector<float> alone = run(kv, f, shape, {batch[i]}, q_alone, 1);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), out_batch.begin() + i * per_row)) << "row " << i;
  }
}

TEST(PagedAttention, ARowIsTheSameAloneAndInABatchOf64) {
  TT_REQUIRE_GPU();
  expect_batch_invariant(kDefault);
  expect_batch_invariant({2, 4, 128, 16});  // the tiled kernel, head_dim 128
  expect_batch_invariant({2, 4, 48, 16});   // the generic kernel
}

TEST(DevicePagedKv, AFullPoolSaysSoAndFreedBlocksComeBack) {
  TT_REQUIRE_GPU();
  DevicePagedKv kv(default_shape(), 4, 64, int64_t{6});  // 6 blocks of 16 tokens; a sequence may use 4
  const int32_t a = kv.new_sequence(), b = kv.new_sequence();
  kv.reserve(a, 64);
  EXPECT_FALSE(kv.can_reserve(b, 33));
  try {
    kv.reserve(b, 33);
    FAIL() << "reserve past the pool did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
  }
  EXPECT_THROW(kv.reserve(b, 65), std::runtime_error);  // past the context
  kv.free_sequence(a);
  EXPECT_TRUE(kv.can_reserve(b, 33));
  kv.reserve(b, 33);
  EXPECT_EQ(kv.blocks_free(), 3);
}

TEST(DevicePagedKv, SizedFromFreeMemory) {
  TT_REQUIRE_GPU();
  DevicePagedKv kv(default_shape(), 2, 256, 0.01);
  EXPECT_GE(kv.blocks_total(), 16);
  EXPECT_LE(kv.blocks_total(), 2 * 16);  // never more than every sequence at its longest
}

}  // namespace
}  // namespace tt::cuda
