#include "train/sft_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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
