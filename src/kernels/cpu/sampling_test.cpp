#include "kernels/cpu/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

// Tokens tied with the k-th largest logit all stay, as vLLM's top-k (it masks logits below the k-th
// value) and HF's TopKLogitsWarper keep them; more likely first, equal ones by id.
TEST(SamplerFilter, TopKKeepsEveryTokenTiedWithTheKth) {
  const std::vector<float> logits = {0.5f, 2.0f, 1.0f, 3.0f, 1.0f, -1.0f, 1.0f};
  auto c = filter_candidates(logits, {.top_k = 3});
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{3, 1, 2, 4, 6}));
  double total = 0;
  for (float l : {3.0f, 2.0f, 1.0f, 1.0f, 1.0f}) total += std::exp(l);
  EXPECT_NEAR(c[3].prob, std::exp(1.0) / total, 1e-6);
  EXPECT_EQ(ids_of(filter_candidates(logits, {.top_k = 2})), (std::vector<int32_t>{3, 1}));  // no tie at the 2nd
  EXPECT_EQ(ids_of(filter_candidates(logits, {.top_k = 4})), (std::vector<int32_t>{3, 1, 2, 4, 6}));
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

// vLLM's order: min-p before top-p, whose mass is then that of the min-p survivors. Probs .5, .25,
// .125, .0625, .0625 with min_p .2 keep the first three (.571, .286, .143 renormalised), of which
// top_p .8 keeps two; top-p first (HF's order) would have kept three.
TEST(SamplerFilter, MinPComesBeforeTopPAsInVllm) {
  const auto c = filter_candidates(five_logits(), {.top_p = 0.8f, .min_p = 0.2f});
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(c[0].prob, 2.0 / 3.0, 1e-9);
  EXPECT_EQ(ids_of(filter_candidates(five_logits(), {.top_k = 2, .min_p = 0.6f})), (std::vector<int32_t>{1}));
}

TEST(SamplerFilter, TemperatureSharpensAndFlattens) {
  auto cold = filter_candidates(five_logits(), {.temperature = 0.5f});
  EXPECT_NEAR(cold[0].prob, 64.0 / (64 + 16 + 4 + 1 + 1), 1e-6);
  auto hot = filter_candidates(five_logits(), {.temperature = 1e6f});
  EXPECT_NEAR(hot[0].prob, 0.2, 1e-4);
}

TEST(SamplerPenalty, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f};
  apply_penalties(logits, std::vector<int32_t>{0, 1, 0, 0}, 2, {.repetition = 2.0f});  // prompt and output alike
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f, 1.0f}));
}

// vLLM's apply_penalties: repetition over prompt and output tokens, then logits -= frequency * output
// counts, then logits -= presence * (output count > 0); prompt tokens take neither of the last two.
TEST(SamplerPenalty, FrequencyAndPresenceCountOnlyGeneratedTokensAfterTheRepetitionPenalty) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 3.0f, 0.5f};
  // prompt: 0, 1; output: 1, 2, 2, 2 (token 0 only in the prompt, 3 and 4 nowhere)
  apply_penalties(logits, std::vector<int32_t>{0, 1, 1, 2, 2, 2}, 2,
                  {.repetition = 2.0f, .frequency = 0.25f, .presence = 0.5f});
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f - 0.25f - 0.5f, 0.5f - 0.75f - 0.5f, 3.0f, 0.5f}));
}

TEST(SamplerPenalty, TheProductAndTheDifferenceRoundSeparatelyAsTorch) {
  // 1 - 0.1f * 7 rounds differently as one fused multiply-add: the torch result has two roundings.
  std::vector<float> logits = {1.0f};
  apply_penalties(logits, std::vector<int32_t>(7, 0), 0, {.frequency = 0.1f});
  volatile float product = 0.1f * 7.0f;
  const float expected = 1.0f - product;
  ASSERT_NE(expected, std::fma(-0.1f, 7.0f, 1.0f)) << "the case does not tell the two apart";
  EXPECT_EQ(logits[0], expected);
}

TEST(SamplerPenalty, NegativePenaltiesRaiseAndNoOpsLeaveTheRowAlone) {
  std::vector<float> logits = {1.0f, 2.0f};
  apply_penalties(logits, std::vector<int32_t>{1, 1}, 0, {.frequency = -1.0f, .presence = -2.0f});
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 2.0f + 2.0f + 2.0f}));
  std::vector<float> same = {1.0f, -0.0f};
  apply_penalties(same, std::vector<int32_t>{0, 1, 7, -3}, 1, {});
  EXPECT_EQ(same, (std::vector<float>{1.0f, -0.0f}));
}

TEST(SamplerDraw, GreedyTakesTheLowestIdAmongTheLargest) {
  Rng rng(1);
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, -1.0f};
  EXPECT_EQ(argmax(logits), 1);
  EXPECT_EQ(sample_filtered(logits, {.temperature = 0.0f}, rng), 1);
  EXPECT_EQ(sample_filtered(logits, {.top_k = 1}, rng), 1);
}

// The plain loop argmax must agree with: a later logit wins only when strictly larger.
int32_t plain_argmax(const std::vector<float>& logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

TEST(SamplerDraw, ArgmaxIsThePlainLoopsAnswerWithTiesNansInfinitiesAndTails) {
  Rng rng(7);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  int checked = 0;
  for (int64_t n : {1, 2, 7, 8, 31, 32, 33, 100, 1000, 128256}) {
    for (int kind = 0; kind < 8; ++kind) {
      std::vector<float> row(n);
      // Few distinct values, so maxima tie often; then NaNs, infinities and signed zeros sprinkled in.
      for (float& x : row) x = static_cast<float>(static_cast<int>(rng.below(5)) - 2);
      if (kind & 1)
        for (int64_t j = 0; j < n / 3 + 1; ++j) row[rng.below(n)] = nan;
      if (kind & 2) row[rng.below(n)] = kind & 4 ? inf : -inf;
      if (kind == 4) std::fill(row.begin(), row.end(), -inf);
      if (kind == 6) {
        std::fill(row.begin(), row.end(), 0.0f);
        row[rng.below(n)] = -0.0f;
      }
      if (kind == 7) row[n - 1] = 1e30f;  // the maximum in the scalar tail
      EXPECT_EQ(argmax(row), plain_argmax(row)) << "n " << n << " kind " << kind;
      row[0] = nan;  // a NaN first keeps 0, whatever follows
      EXPECT_EQ(argmax(row), 0) << "n " << n << " kind " << kind;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 80);
  EXPECT_EQ(argmax(std::vector<float>{}), 0);
}

}  // namespace
}  // namespace tt
