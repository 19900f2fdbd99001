#include "infer/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "core/error.h"

namespace tt::infer {
namespace {

// Probabilities proportional to 8, 4, 2, 1, 1 (ids 0..4 in a shuffled order).
std::vector<float> five_logits() {
  return {std::log(2.0f), std::log(8.0f), std::log(1.0f), std::log(4.0f), std::log(1.0f)};
}

TEST(SamplerDraw, GreedyIsArgmaxAndSamplingFollowsTheProbabilities) {
  std::vector<float> logits = five_logits();
  Rng rng(1);
  EXPECT_EQ(sample_token(logits, {}, 0, {}, {.temperature = 0.0f}, rng), 1);
  std::map<int32_t, int> counts;
  Rng stream = sample_rng(5, 0);
  for (int i = 0; i < 16000; ++i) {
    std::vector<float> l = five_logits();
    counts[sample_token(l, {}, 0, {}, {.temperature = 1.0f}, stream)]++;
  }
  EXPECT_NEAR(counts[1] / 16000.0, 0.5, 0.02);
  EXPECT_NEAR(counts[3] / 16000.0, 0.25, 0.02);
  EXPECT_NEAR(counts[4] / 16000.0, 1.0 / 16, 0.01);
}

// The O(V) nucleus draw (temperature + top_p) samples the set and probabilities filter_candidates
// gives, without sorting the vocabulary.
TEST(SamplerDraw, TopPDrawMatchesTheSortedNucleus) {
  Rng init(3);
  std::vector<float> logits(1000);
  for (auto& l : logits) l = static_cast<float>(init.normal() * 2.0);
  const SamplingParams params{.temperature = 0.7f, .top_p = 0.9f};
  std::map<int32_t, double> expected;
  for (const auto& c : filter_candidates(logits, params)) expected[c.id] = c.prob;
  std::map<int32_t, int> counts;
  Rng stream = sample_rng(11, 0);
  const int draws = 40000;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> l = logits;
    counts[sample_token(l, {}, 0, {}, params, stream)]++;
  }
  double distance = 0;
  for (const auto& [id, n] : counts) {
    ASSERT_TRUE(expected.count(id)) << "token " << id << " is outside the nucleus";
    distance += std::abs(n / static_cast<double>(draws) - expected[id]);
  }
  for (const auto& [id, p] : expected)
    if (!counts.count(id)) distance += p;
  EXPECT_LT(distance / 2, 0.06);  // total variation; sampling noise alone is ~0.04 here
}

// As vLLM splits a request with n > 1 into requests with seeds seed + i: sample 1 of seed 7 draws as
// sample 0 of seed 8, and neighbouring seeds still give unrelated streams.
TEST(SamplerDraw, StreamsDependOnSeedPlusSampleIndexOnly) {
  Rng a = sample_rng(7, 0), b = sample_rng(7, 0), c = sample_rng(7, 1), d = sample_rng(8, 0), e = sample_rng(9, 0);
  const uint64_t x = a.next_u64();
  EXPECT_EQ(x, b.next_u64());
  const uint64_t y = c.next_u64();
  EXPECT_NE(x, y);
  EXPECT_EQ(y, d.next_u64());
  EXPECT_NE(y, e.next_u64());
}

// vLLM's min-tokens processor: before min_tokens tokens, the EOS ids (unless ignore_eos) and the stop
// token ids may not be drawn, even when greedy decoding would pick them; afterwards nothing is held.
TEST(SamplerDraw, MinTokensHoldsBackEosAndStopIdsUntilEnoughTokens) {
  const std::vector<int32_t> eos = {1};
  SamplingParams p{.temperature = 0.0f, .min_tokens = 2, .stop_token_ids = {3}};
  EXPECT_EQ(ids_held_back(p, 0, eos), (std::vector<int32_t>{3, 1}));
  EXPECT_EQ(ids_held_back(p, 1, eos), (std::vector<int32_t>{3, 1}));
  EXPECT_TRUE(ids_held_back(p, 2, eos).empty());
  p.ignore_eos = true;
  EXPECT_EQ(ids_held_back(p, 0, eos), (std::vector<int32_t>{3}));
  p.ignore_eos = false;
  Rng rng(1);
  std::vector<float> logits = five_logits();  // id 1 is the best, then 3
  EXPECT_EQ(sample_token(logits, {}, 0, ids_held_back(p, 0, eos), p, rng), 0);
  EXPECT_TRUE(std::isinf(logits[1]) && logits[1] < 0 && std::isinf(logits[3]));
  logits = five_logits();
  EXPECT_EQ(sample_token(logits, {}, 0, ids_held_back(p, 2, eos), p, rng), 1);
}

TEST(SamplerValidate, NamesTheBadField) {
  auto message = [](SamplingParams p) -> std::string {
    try {
      validate(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({.temperature = -1.0f}).find("temperature"), std::string::npos);
  EXPECT_NE(message({.top_p = 1.5f}).find("top_p"), std::string::npos);
  EXPECT_NE(message({.top_k = -2}).find("top_k"), std::string::npos);
  EXPECT_NE(message({.min_p = 2.0f}).find("min_p"), std::string::npos);
  EXPECT_NE(message({.repetition_penalty = 0.0f}).find("repetition_penalty"), std::string::npos);
  EXPECT_NE(message({.presence_penalty = 2.5f}).find("presence_penalty must be in [-2, 2]"), std::string::npos);
  EXPECT_NE(message({.frequency_penalty = -2.01f}).find("frequency_penalty must be in [-2, 2]"), std::string::npos);
  EXPECT_NE(message({.frequency_penalty = std::nanf("")}).find("frequency_penalty"), std::string::npos);
  EXPECT_NE(message({.min_tokens = -1}).find("min_tokens must be >= 0"), std::string::npos);
  EXPECT_NE(message({.max_new_tokens = 4, .min_tokens = 5}).find("min_tokens must be <= max_new_tokens (4)"),
            std::string::npos);
  EXPECT_EQ(message({.presence_penalty = -2.0f, .frequency_penalty = 2.0f, .max_new_tokens = 4, .min_tokens = 4}), "");
  EXPECT_NE(message({.n = 0}).find("n must"), std::string::npos);
  EXPECT_NE(message({.max_new_tokens = 0}).find("max_new_tokens"), std::string::npos);
  EXPECT_EQ(message({}), "");
}

}  // namespace
}  // namespace tt::infer
