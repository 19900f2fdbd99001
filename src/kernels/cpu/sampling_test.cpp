#include "kernels/cpu/sampling.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace tt {
namespace {

std::vector<int32_t> ids_of(const std::vector<TokenCandidate>& c) {
  std::vector<int32_t> out;
  for (const auto& x : c) out.push_back(x.id);
  return out;
}

// Probabilities proportional to 8, 4, 2, 1, 1 (ids 0..4 in a shuffled order).
std::vector<float> five_logits() {
  return {std::log(2.0f), std::log(8.0f), std::log(1.0f), std::log(4.0f), std::log(1.0f)};
}

TEST(SamplerFilter, TopKKeepsTheKMostLikely) {
  auto c = filter_candidates(five_logits(), {.top_k = 2});
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(c[0].prob, 8.0 / 12.0, 1e-6);
}

TEST(SamplerFilter, TopPKeepsTheSmallestPrefixReachingP) {
  // probs 8/16, 4/16, 2/16, 1/16, 1/16: cumulative .5, .75, .875
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.top_p = 0.5f})), (std::vector<int32_t>{1}));
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.top_p = 0.7f})), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.top_p = 0.8f})), (std::vector<int32_t>{1, 3, 0}));
  // ties keep the lower id first
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.top_p = 1.0f})), (std::vector<int32_t>{1, 3, 0, 2, 4}));
}

TEST(SamplerFilter, MinPDropsTokensBelowAFractionOfTheBest) {
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.min_p = 0.2f})), (std::vector<int32_t>{1, 3, 0}));
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.min_p = 0.6f})), (std::vector<int32_t>{1}));
}

TEST(SamplerFilter, TemperatureSharpensAndFlattens) {
  auto cold = filter_candidates(five_logits(), {.temperature = 0.5f});
  EXPECT_NEAR(cold[0].prob, 64.0 / (64 + 16 + 4 + 1 + 1), 1e-6);
  auto hot = filter_candidates(five_logits(), {.temperature = 1e6f});
  EXPECT_NEAR(hot[0].prob, 0.2, 1e-4);
}

TEST(SamplerPenalty, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f};
  apply_repetition_penalty(logits, std::vector<int32_t>{0, 1, 0, 0}, 2.0f);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f, 1.0f}));
}

TEST(SamplerDraw, GreedyTakesTheLowestIdAmongTheLargest) {
  Rng rng(1);
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, -1.0f};
  EXPECT_EQ(argmax(logits), 1);
  EXPECT_EQ(sample_filtered(logits, {.temperature = 0.0f}, rng), 1);
  EXPECT_EQ(sample_filtered(logits, {.top_k = 1}, rng), 1);
}

}  // namespace
}  // namespace tt
