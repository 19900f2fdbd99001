#include "train/sft_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "tests/test_util.h"

namespace tt {
namespace {

std::vector<SftExample> examples() {
  std::vector<SftExample> out;
  const int lengths[] = {9, 5, 17, 12, 7, 14, 6, 3};
  int next = 3;
  for (int n : lengths) {
    SftExample e;
    for (int i = 0; i < n; ++i) {
      e.tokens.push_back(next++ % 250 + 3);
      e.loss_mask.push_back(i >= 2);
    }
    out.push_back(e);
  }
  return out;
}

TEST(SftData, PaddedBatchShiftsTargetsAndMasksPadding) {
  auto ex = examples();
  Batch b = make_padded_batch({&ex[1], &ex[7]}, 0);
  EXPECT_EQ(b.rows, 2);
  EXPECT_EQ(b.seq, 5);
  EXPECT_EQ(b.targets[0], -100);            // target of position 0 is token 1: a prompt token
  EXPECT_EQ(b.targets[1], ex[1].tokens[2]);  // first assistant token
  EXPECT_EQ(b.targets[4], -100);            // last position has no next token
  EXPECT_EQ(b.tokens[5 + 3], 0);            // padding
  EXPECT_EQ(b.targets[5 + 3], -100);
}

TEST(SftData, PackingFitsRowsAndKeepsEveryExampleOnce) {
  auto ex = examples();
  auto rows = pack_examples(ex, 20);
  std::vector<int> seen(ex.size(), 0);
  for (const auto& row : rows) {
    int64_t length = 0;
    for (int64_t i : row) {
      length += static_cast<int64_t>(ex[i].tokens.size());
      ++seen[i];
    }
    EXPECT_LE(length, 20);
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_EQ(rows.size(), 4u);  // 73 tokens in rows of 20: best-fit decreasing needs 4
}

// Examples from token lists, with loss on every token.
std::vector<SftExample> from_tokens(const std::vector<std::vector<int32_t>>& lists) {
  std::vector<SftExample> out;
  for (const auto& l : lists) out.push_back({l, std::vector<uint8_t>(l.size(), 1)});
  return out;
}

// Each packed row's tokens, documents end to end, and each document's length (TRL's seq_lengths).
std::vector<std::vector<int32_t>> row_tokens(const PackedRows& packed) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& row : packed.rows) {
    auto& tokens = out.emplace_back();
    for (const auto* e : row) tokens.insert(tokens.end(), e->tokens.begin(), e->tokens.end());
  }
  return out;
}
std::vector<std::vector<size_t>> row_lengths(const PackedRows& packed) {
  std::vector<std::vector<size_t>> out;
  for (const auto& row : packed.rows) {
    auto& lengths = out.emplace_back();
    for (const auto* e : row) lengths.push_back(e->tokens.size());
  }
  return out;
}

// The examples of TRL's pack_dataset docstring (v0.29.1): bfd truncates the 5-token example,
// bfd-requeue (v0.27's bfd) packs its overflow [5] as a document of its own.
TEST(SftData, PackingStrategiesGiveTrlsDocumentedRows) {
  const auto ex = from_tokens({{1, 2, 3, 4, 5}, {6, 7}, {8, 9, 10}, {11}});
  std::vector<SftExample> truncated = ex;
  truncated[0].tokens.resize(4);
  truncated[0].loss_mask.resize(4);
  const PackedRows bfd = pack_dataset(truncated, 4, PackingStrategy::Bfd, 0);
  EXPECT_TRUE(bfd.padding_free);
  EXPECT_EQ(row_tokens(bfd), (std::vector<std::vector<int32_t>>{{1, 2, 3, 4}, {8, 9, 10, 11}, {6, 7}}));
  EXPECT_EQ(row_lengths(bfd), (std::vector<std::vector<size_t>>{{4}, {3, 1}, {2}}));
  EXPECT_TRUE(bfd.pieces.empty());
  EXPECT_EQ(bfd.rows[0][0], &truncated[0]);  // bfd rows point at the caller's examples

  const PackedRows requeue = pack_dataset(ex, 4, PackingStrategy::BfdRequeue, 0);
  EXPECT_TRUE(requeue.padding_free);
  EXPECT_EQ(row_tokens(requeue), (std::vector<std::vector<int32_t>>{{1, 2, 3, 4}, {8, 9, 10, 5}, {6, 7, 11}}));
  EXPECT_EQ(row_lengths(requeue), (std::vector<std::vector<size_t>>{{4}, {3, 1}, {2, 1}}));

  // _pack_wrapped: end to end, cut every 4 tokens; each piece is one sequence (not padding-free)
  const PackedRows wrapped = pack_dataset(ex, 4, PackingStrategy::Wrapped, 0);
  EXPECT_FALSE(wrapped.padding_free);
  EXPECT_EQ(row_tokens(wrapped), (std::vector<std::vector<int32_t>>{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11}}));
  EXPECT_EQ(row_lengths(wrapped), (std::vector<std::vector<size_t>>{{4}, {4}, {3}}));
}

// Fragments and pieces carry their tokens' loss mask, and a fragment's first token is nobody's
// target (TRL's collator masks labels where position_ids == 0).
TEST(SftData, RequeuedFragmentsKeepTheirLossMask) {
  std::vector<SftExample> ex = {{{5, 6, 7, 8, 9, 10, 11}, {0, 0, 1, 1, 1, 0, 1}}};
  const PackedRows requeue = pack_dataset(ex, 3, PackingStrategy::BfdRequeue, 0);
  ASSERT_EQ(requeue.pieces.size(), 3u);
  EXPECT_EQ(requeue.pieces[1].tokens, (std::vector<int32_t>{8, 9, 10}));
  EXPECT_EQ(requeue.pieces[1].loss_mask, (std::vector<uint8_t>{1, 1, 0}));
  const Batch b = make_packed_batch(requeue.rows, 0);
  int64_t targets = 0;
  for (int32_t t : b.targets) targets += t >= 0;
  EXPECT_EQ(targets, 2);  // 6 -> 7 and 8 -> 9; 7 -> 8 and 10 -> 11 cross fragments, 9 -> 10 is masked
  const PackedRows wrapped = pack_dataset(ex, 3, PackingStrategy::Wrapped, 0);
  EXPECT_EQ(wrapped.pieces[2].loss_mask, (std::vector<uint8_t>{1}));
}

// Best-fit decreasing as TRL's segment tree and deques choose: the row with the least room that fits,
// the oldest among rows with equal room.
TEST(SftData, PackingChoosesTheTightestThenOldestRow) {
  EXPECT_EQ(pack_lengths({6, 4, 3, 3, 7, 2}, 10), (std::vector<std::vector<int64_t>>{{4, 2}, {0, 1}, {3, 5}}));
  EXPECT_EQ(pack_lengths({5, 5, 5, 5, 2, 2}, 7), (std::vector<std::vector<int64_t>>{{0, 4}, {1, 5}, {2}, {3}}));
}

// TRL packs inside datasets' map batches of 1000 examples, within dataset_num_proc contiguous
// shards; no row mixes two batches.
TEST(SftData, PackingStaysInsideTrlsMapBatches) {
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(packing_batches(2500, 0), (Ranges{{0, 1000}, {1000, 2000}, {2000, 2500}}));
  EXPECT_EQ(packing_batches(10, 3), (Ranges{{0, 4}, {4, 7}, {7, 10}}));
  EXPECT_EQ(packing_batches(2, 8), (Ranges{{0, 1}, {1, 2}}));
  EXPECT_EQ(packing_batches(2400, 2), (Ranges{{0, 1000}, {1000, 1200}, {1200, 2200}, {2200, 2400}}));
  EXPECT_TRUE(packing_batches(0, 0).empty());

  std::vector<SftExample> ex(1500, SftExample{{1, 2, 3}, {1, 1, 1}});
  const PackedRows packed = pack_dataset(ex, 10, PackingStrategy::Bfd, 0);
  EXPECT_EQ(packed.rows.size(), 334u + 167u);  // 1000 examples in 334 rows, then 500 in 167 (not 500 in all)
  for (const auto& row : packed.rows) {
    const bool first_batch = row[0] < &ex[1000];
    for (const auto* e : row) EXPECT_EQ(e < &ex[1000], first_batch);
  }
}

// Pre-tokenized rows in tinythink's form or TRL's processed form (input_ids with completion_mask and
// assistant_masks, both applying); a mask of the wrong length names its key and line.
TEST(SftData, PretokenizedRowsInTinythinksOrTrlsForm) {
  const std::string dir = testing::make_temp_dir("sft-pretokenized");
  std::ofstream(dir + "/rows.jsonl") << R"({"tokens": [5, 6, 7], "loss_mask": [0, 1, 1]})" "\n"
                                     << R"({"input_ids": [5, 6, 7, 8], "completion_mask": [0, 1, 1, 1], )"
                                        R"("assistant_masks": [1, 1, 0, 1]})" "\n"
                                     << R"({"input_ids": [9, 10]})" "\n"
                                     << R"({"input_ids": [5, 6, 7], "labels": [-100, 6, 7]})" "\n";
  const auto rows = read_tokenized_jsonl(dir + "/rows.jsonl");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].loss_mask, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(rows[0].loss_mask, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(rows[1].tokens, (std::vector<int32_t>{5, 6, 7, 8}));
  EXPECT_EQ(rows[1].loss_mask, (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_EQ(rows[2].loss_mask, (std::vector<uint8_t>{1, 1}));
  std::ofstream(dir + "/bad.jsonl") << R"({"input_ids": [5, 6, 7], "completion_mask": [0, 1]})" "\n";
  try {
    read_tokenized_jsonl(dir + "/bad.jsonl");
    ADD_FAILURE() << "a short completion_mask";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'completion_mask' must be a list as long as 'input_ids'"), std::string::npos)
        << e.what();
  }
}

// Packing changes the batch layout, never the loss: same sum of per-token losses as padding.
TEST(SftData, PackedAndPaddedBatchesGiveTheSameLoss) {
  Model model = load_model(testing::fixture_dir() + "/parity/tiny_llama4");
  auto ex = examples();
  std::vector<const SftExample*> all;
  for (const auto& e : ex) all.push_back(&e);
  std::vector<std::vector<const SftExample*>> packed_rows;
  for (const auto& row : pack_examples(ex, 24)) {
    packed_rows.emplace_back();
    for (int64_t i : row) packed_rows.back().push_back(&ex[i]);
  }
  std::vector<float> copy;
  WeightSet w = make_weight_set(model, Precision::FP32, copy);
  Workspace ws;
  LossResult padded = model_loss(model.config, w, make_padded_batch(all, 0), ws, {}, nullptr, TokenLoss::NLL, nullptr);
  Batch packed = make_packed_batch(packed_rows, 0);
  LossResult pk = model_loss(model.config, w, packed, ws, {}, nullptr, TokenLoss::NLL, nullptr);
  EXPECT_EQ(padded.tokens, pk.tokens);
  EXPECT_NEAR(padded.loss_sum, pk.loss_sum, 1e-5 * padded.loss_sum);
  // and packing spends fewer positions: 8 rows x 17 padded vs the packed rows
  EXPECT_LT(packed.size(), 8 * 17);
}

// NEFTune on a packed batch takes L from the one padding-free row TRL's collator makes of the
// micro-batch (every document's tokens, no padding), as transformers' hook reads it off
// output.size(1); a padded batch takes its row length. The noise's largest magnitude over thousands of
// uniform draws sits just under the bound alpha / sqrt(L * d).
TEST(SftData, NeftuneNoiseOfAPackedBatchIsBoundedByItsPaddingFreeLength) {
  Model model = load_model(testing::fixture_dir() + "/parity/tiny_llama4");
  const int64_t C = model.config.hidden_size;
  auto ex = examples();
  const Batch packed = make_packed_batch({{&ex[0], &ex[1]}, {&ex[4], &ex[7]}}, 0);  // 9 + 5 and 7 + 3
  EXPECT_EQ(packed.seq, 14);
  EXPECT_EQ(packed.padding_free_length, 24);
  EXPECT_EQ(make_padded_batch({&ex[0], &ex[1]}, 0).padding_free_length, 0);
  std::vector<float> copy;
  WeightSet w = make_weight_set(model, Precision::FP32, copy);
  const float alpha = 5.0f;
  const auto largest_noise = [&](const Batch& batch) {
    Workspace clean, noisy;
    model_forward(model.config, w, batch, clean, {.for_backward = true});
    model_forward(model.config, w, batch, noisy, {.for_backward = true, .neftune_alpha = alpha, .neftune_seed = 3});
    double largest = 0;
    for (size_t i = 0; i < clean.layers[0].x.size(); ++i)
      largest = std::max(largest, std::fabs(double(noisy.layers[0].x[i]) - clean.layers[0].x[i]));
    return largest;
  };
  const double packed_bound = alpha / std::sqrt(24.0 * C);
  const double packed_noise = largest_noise(packed);
  EXPECT_LE(packed_noise, packed_bound * 1.0001);
  EXPECT_GT(packed_noise, packed_bound * 0.98);
  const Batch padded = make_padded_batch({&ex[0], &ex[1]}, 0);
  const double padded_bound = alpha / std::sqrt(9.0 * C);
  const double padded_noise = largest_noise(padded);
  EXPECT_LE(padded_noise, padded_bound * 1.0001);
  EXPECT_GT(padded_noise, padded_bound * 0.98);
}

}  // namespace
}  // namespace tt
