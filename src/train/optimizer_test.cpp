#include "train/optimizer.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "train/train_step.h"

namespace tt {
namespace {

// Slots of awkward sizes (not multiples of kNormBlock, so slices cut through them), one of them a
// norm and one a bias (no weight decay).
ParameterLayout odd_layout() {
  ParameterLayout layout;
  for (auto [name, numel, norm] : {std::tuple{"a.weight", 5000, false}, std::tuple{"a.norm.weight", 3, true},
                                   std::tuple{"b.bias", 7001, false}, std::tuple{"c.weight", 10003, false}}) {
    layout.slots.push_back({name, {numel}, layout.total, numel, norm});
    layout.total += numel;
  }
  return layout;
}

std::vector<float> random_values(int64_t n, uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = scale * (2.0f * static_cast<float>(rng.uniform()) - 1.0f);
  return values;
}

TEST(OptimizerSlices, BlockAlignedContiguousAndCoverEverything) {
  for (int64_t elements : std::vector<int64_t>{1, kNormBlock - 1, kNormBlock, 22007, int64_t{140} * 1000 * 1000 + 17})
    for (int ranks : {1, 2, 3, 8}) {
      const std::vector<int64_t> counts = optimizer_slices(elements, ranks);
      ASSERT_EQ(counts.size(), static_cast<size_t>(ranks));
      int64_t begin = 0;
      for (int r = 0; r < ranks; ++r) {
        EXPECT_GE(counts[r], 0);
        if (counts[r] > 0) {
          EXPECT_EQ(begin % kNormBlock, 0) << elements << " over " << ranks;
        }
        // as even as whole blocks allow
        EXPECT_LE(counts[r], (norm_blocks(elements) / ranks + 1) * kNormBlock);
        begin += counts[r];
      }
      EXPECT_EQ(begin, elements);
    }
}

// What ZeRO-1 relies on: the norm from the slices' block sums, the clip and AdamW on each slice give
// the bits of the one-buffer update, over two steps (the moments carried per slice).
TEST(AdamW, SlicedUpdateGivesTheBitsOfTheWholeUpdate) {
  const ParameterLayout layout = odd_layout();
  const std::vector<uint8_t> decay = weight_decay_mask(layout);
  EXPECT_EQ(decay, (std::vector<uint8_t>{1, 0, 0, 1}));
  const AdamWConfig config{.learning_rate = 1e-3, .weight_decay = 0.1};
  std::vector<float> whole = random_values(layout.total, 1, 0.5f);
  AdamWState whole_state;
  const int ranks = 3;
  const std::vector<int64_t> counts = optimizer_slices(layout.total, ranks);
  std::vector<float> sliced = whole;
  std::vector<AdamWState> slice_states(ranks);
  for (int step = 0; step < 2; ++step) {
    std::vector<float> grads = random_values(layout.total, 10 + step, 3.0f);
    std::vector<float> whole_grads = grads;
    const double norm = clip_grad_norm(whole_grads, 1.0);
    ASSERT_GT(norm, 1.0);  // the clip scales
    adamw_step(whole, whole_grads, whole_state, config, 1e-3, decay, layout);

    std::vector<double> block_sums(static_cast<size_t>(norm_blocks(layout.total)), 0.0);
    int64_t begin = 0;
    for (int r = 0; r < ranks; ++r) {
      squared_norm_blocks(grads.data() + begin, counts[r], block_sums.data() + begin / kNormBlock);
      begin += counts[r];
    }
    const double sliced_norm = std::sqrt(sum_in_order(block_sums));
    EXPECT_EQ(sliced_norm, norm);
    begin = 0;
    for (int r = 0; r < ranks; ++r) {
      const ParamRange range{begin, begin + counts[r]};
      clip_to_norm(grads.data() + begin, counts[r], sliced_norm, 1.0);
      adamw_step(sliced.data() + begin, grads.data() + begin, slice_states[r], config, 1e-3, decay, layout, range);
      EXPECT_EQ(slice_states[r].m.size(), static_cast<size_t>(counts[r]));
      begin += counts[r];
    }
    ASSERT_EQ(sliced, whole) << "step " << step;
  }
}

TEST(ClipGradNorm, ThePyTorchNormAndScale) {
  std::vector<float> grads{3.0f, 4.0f, 0.0f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(grads, 1.0), 5.0);
  EXPECT_FLOAT_EQ(grads[0], static_cast<float>(3.0 / (5.0 + 1e-6)));
  std::vector<float> small{0.3f, 0.4f};
  EXPECT_NEAR(clip_grad_norm(small, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small, (std::vector<float>{0.3f, 0.4f}));  // under the limit: untouched
  std::vector<float> big = random_values(100000, 3, 1.0f);
  double exact = 0.0;
  for (float g : big) exact += static_cast<double>(g) * g;
  EXPECT_NEAR(clip_grad_norm(big, 0.0), std::sqrt(exact), 1e-12 * std::sqrt(exact));
}

}  // namespace
}  // namespace tt
