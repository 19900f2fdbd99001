#include "infer/engine.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/test_models.h"
#include "model/scoring.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt::infer {
namespace {

using testing::random_prompts;
using testing::reference_logits;
using testing::tiny_model;

// Greedy tokens must be the argmax of the no-cache forward at every step. The two passes sum in
// different orders, so a token may differ from the reference argmax only by a near-tie (< tol).
void expect_greedy_matches_reference(Precision precision, int prompts_count, int new_tokens, float tol,
                                     const std::string& preset = "tiny-llama4") {
  Model model = tiny_model(7, 0.05, preset);
  auto prompts = random_prompts(prompts_count, 1, 60, 11);
  Engine engine(model, {.precision = precision, .max_batch = 32, .step_tokens = 256});
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = new_tokens}});
  auto results = engine.generate(requests);
  const int64_t V = model.config.vocab_size;
  int near_ties = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& ids = results[i].samples.at(0).ids;
    ASSERT_EQ(static_cast<int>(ids.size()), new_tokens);
    EXPECT_EQ(results[i].samples[0].finish_reason, "length");
    std::vector<int32_t> full = prompts[i];
    full.insert(full.end(), ids.begin(), ids.end());
    auto logits = reference_logits(model, full, precision);
    for (int t = 0; t < new_tokens; ++t) {
      const float* row = logits.data() + (prompts[i].size() - 1 + t) * V;
      const int32_t best = static_cast<int32_t>(std::max_element(row, row + V) - row);
      if (ids[t] != best) {
        ++near_ties;
        ASSERT_GE(row[ids[t]], row[best] - tol) << "prompt " << i << " step " << t;
      }
    }
  }
  EXPECT_LE(near_ties, 2);
}

TEST(EngineGreedy, MatchesArgmaxOfFullForwardFp32For100Prompts) {
  expect_greedy_matches_reference(Precision::FP32, 100, 12, 1e-5f);
}

TEST(EngineGreedy, MatchesArgmaxOfFullForwardBf16) {
  expect_greedy_matches_reference(Precision::BF16, 24, 8, 2e-2f);
}

// Llama family: rotate-half RoPE with llama3 scaling, no QK norm.
TEST(EngineGreedy, MatchesArgmaxOfFullForwardLlama) {
  expect_greedy_matches_reference(Precision::FP32, 20, 8, 1e-5f, "tiny-llama");
}

TEST(EngineLoglikelihood, EqualsScoreSequences) {
  Model model = tiny_model();
  auto contexts = random_prompts(20, 1, 40, 5);
  auto continuations = random_prompts(20, 1, 10, 6);
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  std::vector<std::vector<int32_t>> sequences;
  for (size_t i = 0; i < contexts.size(); ++i) {
    pairs.push_back({contexts[i], continuations[i]});
    std::vector<int32_t> s = contexts[i];
    s.insert(s.end(), continuations[i].begin(), continuations[i].end());
    sequences.push_back(s);
  }
  Engine engine(model, {.step_tokens = 64});
  auto ll = engine.loglikelihood(pairs);
  auto scores = score_sequences(model, sequences);
  for (size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_EQ(ll[i].size(), continuations[i].size());
    for (size_t j = 0; j < ll[i].size(); ++j)
      EXPECT_NEAR(ll[i][j], scores[i][contexts[i].size() - 1 + j], 1e-4) << i << " " << j;
  }
}

std::vector<std::vector<int32_t>> flatten(const std::vector<GenerationResult>& results) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : results)
    for (const auto& s : r.samples) out.push_back(s.ids);
  return out;
}

TEST(EngineLoglikelihood, SharedContextsComputedOnceAndEqualScores) {
  Model model = tiny_model();
  auto contexts = random_prompts(5, 20, 70, 15);
  auto continuations = random_prompts(20, 1, 6, 16);
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  std::vector<std::vector<int32_t>> sequences;
  for (size_t i = 0; i < continuations.size(); ++i) {
    pairs.push_back({contexts[i % 5], continuations[i]});
    std::vector<int32_t> s = contexts[i % 5];
    s.insert(s.end(), continuations[i].begin(), continuations[i].end());
    sequences.push_back(s);
  }
  Engine engine(model, {.step_tokens = 512});
  auto ll = engine.loglikelihood(pairs);
  auto scores = score_sequences(model, sequences);
  for (size_t i = 0; i < pairs.size(); ++i)
    for (size_t j = 0; j < ll[i].size(); ++j)
      EXPECT_NEAR(ll[i][j], scores[i][pairs[i].first.size() - 1 + j], 1e-4) << i << " " << j;
  EXPECT_GT(engine.stats().cached_prompt_tokens, 15 * 16);
}

TEST(EnginePrefixCache, SharedPrefixesReuseBlocksWithoutChangingResults) {
  Model model = tiny_model();
  auto prefix = random_prompts(1, 40, 40, 31)[0];
  auto suffixes = random_prompts(12, 1, 20, 32);
  std::vector<GenerationRequest> requests;
  for (size_t i = 0; i < suffixes.size(); ++i) {
    std::vector<int32_t> p = prefix;
    p.insert(p.end(), suffixes[i].begin(), suffixes[i].end());
    requests.push_back({p, {.temperature = i % 2 ? 0.9f : 0.0f, .seed = i, .max_new_tokens = 20}});
  }
  requests.push_back(requests[3]);  // a repeated prompt: every full block of it is cached
  Engine cached(model, {.max_batch = 4, .block_size = 8});
  Engine plain(model, {.max_batch = 4, .block_size = 8, .prefix_caching = false});
  EXPECT_EQ(flatten(cached.generate(requests)), flatten(plain.generate(requests)));
  EXPECT_GE(cached.stats().cached_prompt_tokens, 9 * 40);
  EXPECT_EQ(plain.stats().cached_prompt_tokens, 0);
  // Every prompt token is computed or taken from the cache; decoding is the same work.
  EXPECT_EQ(cached.stats().prefill_tokens + cached.stats().cached_prompt_tokens, plain.stats().prefill_tokens);
  EXPECT_EQ(cached.stats().decode_tokens, plain.stats().decode_tokens);
  // generated_tokens counts the completions' tokens (`generate`'s summary printed decode_tokens, one
  // short per sample: a sample's last token never goes forward)
  int64_t completion_tokens = 0;
  for (const auto& r : plain.generate(requests))
    for (const auto& sample : r.samples) completion_tokens += static_cast<int64_t>(sample.ids.size());
  EXPECT_EQ(plain.stats().generated_tokens, 2 * completion_tokens);  // the two generate calls alike
}

std::vector<GenerationRequest> mixed_requests(int count, uint64_t seed) {
  auto prompts = random_prompts(count, 1, 50, seed);
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < count; ++i) {
    SamplingParams p;
    p.max_new_tokens = 6 + i % 11;
    if (i % 2 == 0) {
      p.temperature = 0.0f;
    } else {
      p.temperature = 0.8f + 0.1f * (i % 3);
      p.top_p = i % 3 == 0 ? 0.9f : 1.0f;
      p.top_k = i % 5 == 0 ? 20 : 0;
      p.min_p = i % 7 == 0 ? 0.05f : 0.0f;
      p.repetition_penalty = i % 4 == 1 ? 1.3f : 1.0f;
      p.seed = 1000 + i;
      p.n = i % 9 == 1 ? 2 : 1;
    }
    requests.push_back({prompts[i], p});
  }
  return requests;
}

TEST(EngineBatchInvariance, SameTokensAloneTogetherAndShuffledWithOthers) {
  Model model = tiny_model();
  auto requests = mixed_requests(64, 21);
  // all together
  Engine together(model, {.max_batch = 64, .step_tokens = 512});
  auto all = flatten(together.generate(requests));
  // one at a time
  Engine alone(model, {.max_batch = 1, .step_tokens = 512});
  std::vector<std::vector<int32_t>> single;
  for (const auto& r : requests)
    for (auto& ids : flatten(alone.generate({r}))) single.push_back(ids);
  EXPECT_EQ(all, single);
  // shuffled among 40 other requests, small batches, odd chunks and a different block size
  auto others = mixed_requests(40, 99);
  std::vector<GenerationRequest> mixed;
  std::vector<int> where(requests.size());
  std::vector<int> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(3);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  size_t o = 0;
  for (int idx : order) {
    if (o < others.size()) mixed.push_back(others[o++]);
    where[idx] = static_cast<int>(mixed.size());
    mixed.push_back(requests[idx]);
  }
  Engine shuffled(model, {.max_batch = 13, .step_tokens = 37, .block_size = 4});
  auto results = shuffled.generate(mixed);
  std::vector<std::vector<int32_t>> back;
  for (size_t i = 0; i < requests.size(); ++i)
    for (const auto& s : results[where[i]].samples) back.push_back(s.ids);
  EXPECT_EQ(all, back);
  EXPECT_GT(together.stats().decode_tokens, 0);
}

TEST(EngineBatchInvariance, Bf16SameTokensAloneAndTogether) {
  Model model = tiny_model();
  auto requests = mixed_requests(16, 8);
  Engine together(model, {.precision = Precision::BF16, .max_batch = 16});
  Engine alone(model, {.precision = Precision::BF16, .max_batch = 1, .step_tokens = 7});
  auto all = flatten(together.generate(requests));
  std::vector<std::vector<int32_t>> single;
  for (const auto& r : requests)
    for (auto& ids : flatten(alone.generate({r}))) single.push_back(ids);
  EXPECT_EQ(all, single);
}

TEST(EngineSampling, SeedsAndSamplesGiveDifferentStreams) {
  Model model = tiny_model(7, 0.01);
  Engine engine(model, {});
  auto prompt = random_prompts(1, 5, 5, 1)[0];
  auto a = engine.generate({{prompt, {.temperature = 1.0f, .n = 3, .seed = 1, .max_new_tokens = 16}}});
  auto b = engine.generate({{prompt, {.temperature = 1.0f, .n = 1, .seed = 2, .max_new_tokens = 16}}});
  auto c = engine.generate({{prompt, {.temperature = 1.0f, .n = 1, .seed = 1, .max_new_tokens = 16}}});
  ASSERT_EQ(a[0].samples.size(), 3u);
  // n samples of a 5-token prompt (under one block) compute it each; a longer prompt is shared.
  auto long_prompt = random_prompts(1, 40, 40, 2)[0];
  Engine shared(model, {});
  auto d = shared.generate({{long_prompt, {.temperature = 1.0f, .n = 4, .seed = 1, .max_new_tokens = 8}}});
  EXPECT_EQ(shared.stats().cached_prompt_tokens, 3 * 32);
  Engine unshared(model, {.prefix_caching = false});
  EXPECT_EQ(flatten(d), flatten(unshared.generate({{long_prompt, {.temperature = 1.0f, .n = 4, .seed = 1, .max_new_tokens = 8}}})));
  EXPECT_NE(a[0].samples[0].ids, a[0].samples[1].ids);
  EXPECT_NE(a[0].samples[0].ids, b[0].samples[0].ids);
  EXPECT_EQ(a[0].samples[0].ids, c[0].samples[0].ids);  // sample 0 of seed 1, whatever n is
  // vLLM runs sample i of a request with n > 1 as a request with seed + i.
  EXPECT_EQ(a[0].samples[1].ids, b[0].samples[0].ids);
  auto seed3 = engine.generate({{prompt, {.temperature = 1.0f, .seed = 3, .max_new_tokens = 16}}});
  EXPECT_EQ(a[0].samples[2].ids, seed3[0].samples[0].ids);
}

// vLLM's logprobs (V1's raw_logprobs): each generated token's log-softmax of the raw logits, whatever
// the sampling does to them (temperature, penalties, top-k here), the sampled token first with its rank
// (tokens at least as likely), then the K most likely; the same alone and in a batch.
TEST(EngineLogprobs, RawLogprobsOfTheFullForwardSampledFirstThenTheTopK) {
  Model model = tiny_model(7, 0.05);
  const auto prompts = random_prompts(6, 2, 30, 21);
  const SamplingParams params{.temperature = 0.8f, .top_k = 5, .repetition_penalty = 1.3f, .n = 2, .seed = 4,
                              .max_new_tokens = 6, .logprobs = 3};
  Engine engine(model, {.max_batch = 16});
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, params});
  const auto results = engine.generate(requests);
  const int64_t V = model.config.vocab_size;
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (const Completion& c : results[i].samples) {
      ASSERT_EQ(c.logprobs.size(), c.ids.size());
      std::vector<int32_t> full = prompts[i];
      full.insert(full.end(), c.ids.begin(), c.ids.end());
      const std::vector<float> logits = reference_logits(model, full, Precision::FP32);
      double cumulative = 0;
      for (size_t t = 0; t < c.ids.size(); ++t) {
        const float* row = logits.data() + (prompts[i].size() - 1 + t) * V;
        double peak = *std::max_element(row, row + V), sum = 0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - peak);
        const double lse = peak + std::log(sum);
        const PositionLogprobs& at = c.logprobs[t];
        ASSERT_EQ(at.size(), 4u);
        EXPECT_EQ(at[0].id, c.ids[t]);
        EXPECT_NEAR(at[0].logprob, row[c.ids[t]] - lse, 1e-4) << "prompt " << i << " token " << t;
        int64_t rank = 0;
        for (int64_t v = 0; v < V; ++v) rank += row[v] >= row[c.ids[t]] - 1e-5f;
        EXPECT_GE(at[0].rank, 1);
        EXPECT_LE(at[0].rank, rank);
        std::vector<int32_t> order(V);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
        for (int k = 1; k <= 3; ++k) {
          EXPECT_EQ(at[k].rank, k);
          EXPECT_NEAR(at[k].logprob, row[order[k - 1]] - lse, 1e-4);  // the k-th largest, whichever id ties
          if (row[order[k - 1]] - row[order[k]] > 1e-4f && (k == 1 || row[order[k - 2]] - row[order[k - 1]] > 1e-4f))
            EXPECT_EQ(at[k].id, order[k - 1]);
        }
        cumulative += at[0].logprob;
      }
      EXPECT_NEAR(c.cumulative_logprob, cumulative, 1e-9);
    }
  }
  // alone: the same entries, bit for bit (batch invariance)
  Engine alone(model, {});
  const auto third = alone.generate({{prompts[2], params}});
  for (size_t k = 0; k < 2; ++k) {
    ASSERT_EQ(third[0].samples[k].ids, results[2].samples[k].ids);
    for (size_t t = 0; t < third[0].samples[k].logprobs.size(); ++t)
      for (size_t e = 0; e < 4; ++e) {
        EXPECT_EQ(third[0].samples[k].logprobs[t][e].id, results[2].samples[k].logprobs[t][e].id);
        EXPECT_EQ(third[0].samples[k].logprobs[t][e].logprob, results[2].samples[k].logprobs[t][e].logprob);
      }
  }
  // logprobs 0: the sampled token only; none asked: none, and the tokens are the same
  SamplingParams zero = params, none = params;
  zero.logprobs = 0;
  none.logprobs.reset();
  const auto z = alone.generate({{prompts[2], zero}, {prompts[2], none}});
  EXPECT_EQ(z[0].samples[0].logprobs.at(0).size(), 1u);
  EXPECT_TRUE(z[1].samples[0].logprobs.empty());
  EXPECT_EQ(z[1].samples[0].ids, results[2].samples[0].ids);
}

// vLLM's prompt_logprobs: per prompt token after the first, the log-softmax of the raw logits at the
// position before it (the prompt token first, then the K most likely), computed in full even when the
// prompt is in the prefix cache or arrives in chunks; the same bits alone, in a batch and chunked; one
// list per request whatever n.
TEST(EngineLogprobs, PromptLogprobsOfTheFullForwardOncePerRequest) {
  Model model = tiny_model(7, 0.05);
  const auto prompts = random_prompts(5, 1, 40, 31);
  const SamplingParams params{.temperature = 0.7f, .n = 2, .seed = 9, .max_new_tokens = 3, .prompt_logprobs = 2};
  Engine engine(model, {.max_batch = 16, .step_tokens = 64});
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, params});
  const auto results = engine.generate(requests);
  const int64_t V = model.config.vocab_size;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int32_t>& prompt = prompts[i];
    ASSERT_EQ(results[i].prompt_logprobs.size(), prompt.size() - 1) << "prompt " << i;
    const std::vector<float> logits = reference_logits(model, prompt, Precision::FP32);
    for (size_t t = 0; t + 1 < prompt.size(); ++t) {
      const float* row = logits.data() + t * V;
      double peak = *std::max_element(row, row + V), sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - peak);
      const double lse = peak + std::log(sum);
      const PositionLogprobs& at = results[i].prompt_logprobs[t];
      ASSERT_EQ(at.size(), 3u);
      EXPECT_EQ(at[0].id, prompt[t + 1]);
      EXPECT_NEAR(at[0].logprob, row[prompt[t + 1]] - lse, 1e-4) << "prompt " << i << " token " << t + 1;
      EXPECT_NEAR(at[1].logprob, *std::max_element(row, row + V) - lse, 1e-4);
      EXPECT_EQ(at[1].rank, 1);
      EXPECT_EQ(at[2].rank, 2);
    }
  }
  // the same bits alone, in chunks of 7 rows, and after the prompt is in the prefix cache
  const size_t longest = static_cast<size_t>(
      std::max_element(prompts.begin(), prompts.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); }) -
      prompts.begin());
  ASSERT_GT(prompts[longest].size(), 20u);
  Engine chunked(model, {.step_tokens = 7});
  const auto warm = chunked.generate({{prompts[longest], {.temperature = 0.0f, .max_new_tokens = 2}}});
  const auto again = chunked.generate({{prompts[longest], params}});
  EXPECT_GT(chunked.stats().cached_prompt_tokens, 0) << "the second request's later samples take the cached prompt";
  ASSERT_EQ(again[0].prompt_logprobs.size(), results[longest].prompt_logprobs.size());
  for (size_t t = 0; t < again[0].prompt_logprobs.size(); ++t)
    for (size_t e = 0; e < 3; ++e) {
      EXPECT_EQ(again[0].prompt_logprobs[t][e].id, results[longest].prompt_logprobs[t][e].id);
      EXPECT_EQ(again[0].prompt_logprobs[t][e].logprob, results[longest].prompt_logprobs[t][e].logprob) << t;
    }
  EXPECT_EQ(again[0].samples[1].ids, results[longest].samples[1].ids) << "sampling is unchanged by the extra rows";
  // A step holds the logits of at most prompt_logprob_rows prompt positions, shared by the requests
  // that ask: their prefills take more steps, with the same bits.
  Engine budgeted(model, {.max_batch = 16, .step_tokens = 64, .prompt_logprob_rows = 5});
  const auto small_steps = budgeted.generate({requests[longest], requests[0]});
  const int64_t scored_rows = static_cast<int64_t>(prompts[longest].size() + prompts[0].size() - 2);
  EXPECT_GE(budgeted.stats().steps, (scored_rows + 4) / 5);
  for (auto [got, want] : {std::pair{&small_steps[0], &results[longest]}, std::pair{&small_steps[1], &results[0]}}) {
    ASSERT_EQ(got->prompt_logprobs.size(), want->prompt_logprobs.size());
    for (size_t t = 0; t < got->prompt_logprobs.size(); ++t)
      for (size_t e = 0; e < 3; ++e) EXPECT_EQ(got->prompt_logprobs[t][e].logprob, want->prompt_logprobs[t][e].logprob) << t;
    EXPECT_EQ(got->samples[1].ids, want->samples[1].ids);
  }
  // none asked: none; a one-token prompt has none to give
  EXPECT_TRUE(warm[0].prompt_logprobs.empty());
  SamplingParams zero = params;
  zero.prompt_logprobs = 0;
  const auto single = chunked.generate({{{prompts[0][0]}, zero}, {prompts[1], zero}});
  EXPECT_TRUE(single[0].prompt_logprobs.empty());
  ASSERT_EQ(single[1].prompt_logprobs.size(), prompts[1].size() - 1);
  EXPECT_EQ(single[1].prompt_logprobs[0].size(), 1u) << "0: the prompt token's entry only";
}

// vLLM's skip_special_tokens: by default the completion's text leaves out special tokens (the tiny
// tokenizer's <eos>, drawn here past ignore_eos at a high temperature); false keeps them.
TEST(EngineText, SpecialTokensAreLeftOutOfTheTextUnlessKept) {
  Model model = tiny_model(7, 0.05);
  const std::string dir = ::tt::testing::make_temp_dir("engine-special");
  testing::write_tiny_tokenizer(dir);
  const Tokenizer tokenizer = Tokenizer::load(dir + "/tokenizer.json");
  Engine engine(model, {}, &tokenizer, {259});
  SamplingParams params{.temperature = 50.0f, .seed = 3, .max_new_tokens = 200, .ignore_eos = true};
  SamplingParams keep = params;
  keep.skip_special_tokens = false;
  const auto results = engine.generate({{{1, 2, 3}, params}, {{1, 2, 3}, keep}});
  const Completion& skipped = results[0].samples[0];
  const Completion& kept = results[1].samples[0];
  ASSERT_EQ(skipped.ids, kept.ids);  // the same draws: only the text differs
  ASSERT_NE(std::find(kept.ids.begin(), kept.ids.end(), 259), kept.ids.end()) << "no <eos> drawn; pick another seed";
  EXPECT_EQ(skipped.text, tokenizer.decode(skipped.ids, /*skip_special=*/true));
  EXPECT_EQ(kept.text, tokenizer.decode(kept.ids, /*skip_special=*/false));
  EXPECT_EQ(skipped.text.find("<eos>"), std::string::npos);
  EXPECT_NE(kept.text.find("<eos>"), std::string::npos);
}

// Presence and frequency penalties over the generated tokens: a greedy run that repeats a token stops
// repeating it under a large enough penalty, and penalties of 0 change nothing.
TEST(EngineSampling, PresenceAndFrequencyPenaltiesActOnGeneratedTokens) {
  Model model = tiny_model();
  auto prompt = random_prompts(1, 8, 8, 4)[0];
  Engine engine(model, {});
  auto run = [&](float presence, float frequency) {
    return engine.generate({{prompt, {.temperature = 0.0f, .presence_penalty = presence, .frequency_penalty = frequency,
                                      .max_new_tokens = 24}}})[0].samples[0].ids;
  };
  const auto plain = run(0.0f, 0.0f);
  std::set<int32_t> distinct(plain.begin(), plain.end());
  ASSERT_LT(distinct.size(), plain.size()) << "the greedy run repeats no token: the case shows nothing";
  EXPECT_EQ(run(-0.0f, 0.0f), plain);
  const auto presence = run(2.0f, 0.0f), frequency = run(0.0f, 2.0f);
  EXPECT_NE(presence, plain);
  EXPECT_NE(frequency, plain);
  // Each step's logits, checked by hand: the penalised row of step k is the plain forward's logits with
  // the penalty subtracted once per distinct earlier output token (presence).
  std::vector<int32_t> sequence = prompt;
  for (size_t k = 0; k < presence.size(); ++k) {
    std::vector<float> logits = reference_logits(model, sequence, Precision::FP32);
    std::vector<float> row(logits.end() - model.config.vocab_size, logits.end());
    std::set<int32_t> out(sequence.begin() + static_cast<std::ptrdiff_t>(prompt.size()), sequence.end());
    for (int32_t id : out) row[id] -= 2.0f;
    ASSERT_EQ(presence[k], argmax(row)) << "step " << k;
    sequence.push_back(presence[k]);
  }
}

// min_tokens: EOS and stop token ids are held back and stop strings are not looked for until that
// many tokens are out (vLLM); after that the first stop of the list that occurs ends the text.
TEST(EngineStops, MinTokensHoldsBackEosStopIdsAndStopStrings) {
  Model model = tiny_model();
  auto prompt = random_prompts(1, 8, 8, 4)[0];
  Engine plain(model, {});
  auto free_run = plain.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20}}})[0].samples[0].ids;
  const int32_t first_token = free_run[0];
  Engine with_eos(model, {}, nullptr, {first_token});
  auto stops_at_once = with_eos.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20}}})[0].samples[0];
  EXPECT_EQ(stops_at_once.ids, std::vector<int32_t>{first_token});
  for (int64_t min_tokens : {1, 5}) {
    auto held = with_eos.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20, .min_tokens = min_tokens}}});
    const auto& ids = held[0].samples[0].ids;
    ASSERT_GE(static_cast<int64_t>(ids.size()), min_tokens) << min_tokens;
    for (int64_t k = 0; k < min_tokens; ++k) EXPECT_NE(ids[k], first_token) << "token " << k << " of " << min_tokens;
    auto by_id = plain.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20, .min_tokens = min_tokens,
                                           .stop_token_ids = {first_token}}}});
    EXPECT_EQ(by_id[0].samples[0].ids, ids) << "a stop token id is held back as EOS is";
  }
}

TEST(EngineStops, StopStringsWaitForMinTokensAndTheFirstListedWins) {
  std::string dir = tt::testing::make_temp_dir("engine-min-tokens");
  Tokenizer tok = testing::write_tiny_tokenizer(dir);
  Model model = tiny_model();
  std::vector<int32_t> prompt = tok.encode("Hello, world");
  Engine engine(model, {}, &tok);
  auto free_run = engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24}}})[0].samples[0];
  const std::string text = tok.decode(free_run.ids);
  ASSERT_GE(free_run.ids.size(), 12u);
  // A stop string made of the first token's text: found at once, and only past min_tokens otherwise
  // (in text generated after the min_tokens-th token).
  const std::string first = tok.decode(std::vector<int32_t>{free_run.ids[0]});
  ASSERT_FALSE(first.empty());
  auto at_once = engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24, .stop = {first}}}})[0].samples[0];
  EXPECT_EQ(at_once.text, "");
  auto later = engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24, .min_tokens = 3, .stop = {first}}}});
  const std::string after = text.substr(0, tok.decode(std::vector<int32_t>(free_run.ids.begin(), free_run.ids.begin() + 3)).size());
  const size_t again = text.find(first, after.size() >= first.size() ? after.size() - first.size() + 1 : 0);
  EXPECT_EQ(later[0].samples[0].text, again == std::string::npos ? text : text.substr(0, again));
  // Two stops that end at the same character, so the same token completes both: vLLM takes the first
  // of the list, not the one that begins earlier.
  size_t pos = 2;
  while (pos + 2 <= text.size() && !(text.find(text.substr(pos - 1, 3)) == pos - 1 && text.find(text.substr(pos, 2)) == pos))
    ++pos;
  ASSERT_LE(pos + 2, text.size()) << "no two stops of the text end at one character alone";
  const std::string longer = text.substr(pos - 1, 3), shorter = text.substr(pos, 2);
  auto run = [&](std::vector<std::string> stops) {
    return engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24, .stop = stops}}})[0].samples[0].text;
  };
  EXPECT_EQ(run({shorter, longer}), text.substr(0, pos));
  EXPECT_EQ(run({longer, shorter}), text.substr(0, pos - 1));
  std::filesystem::remove_all(dir);
}

TEST(EngineStops, EosStopTokenAndMaxNewTokens) {
  Model model = tiny_model();
  auto prompt = random_prompts(1, 8, 8, 4)[0];
  Engine plain(model, {});
  auto free_run = plain.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20}}})[0].samples[0].ids;
  ASSERT_EQ(free_run.size(), 20u);
  const int32_t stop_id = free_run[5];
  const size_t first = std::find(free_run.begin(), free_run.end(), stop_id) - free_run.begin();
  auto stopped = plain.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20, .stop_token_ids = {stop_id}}}});
  EXPECT_EQ(stopped[0].samples[0].ids, std::vector<int32_t>(free_run.begin(), free_run.begin() + first + 1));
  EXPECT_EQ(stopped[0].samples[0].finish_reason, "stop");
  Engine with_eos(model, {}, nullptr, {stop_id});
  EXPECT_EQ(with_eos.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20}}})[0].samples[0].ids.size(),
            first + 1);
  auto ignored = with_eos.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 20, .ignore_eos = true}}});
  EXPECT_EQ(ignored[0].samples[0].ids, free_run);
}

TEST(EngineStops, StopStringAcrossTokensTruncatesTextAndStreams) {
  std::string dir = tt::testing::make_temp_dir("engine-stop");
  Tokenizer tok = testing::write_tiny_tokenizer(dir);
  Model model = tiny_model();
  std::vector<int32_t> prompt = tok.encode("Hello, world");
  Engine plain(model, {}, &tok);
  auto free_run = plain.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24}}})[0].samples[0];
  const std::string text = tok.decode(free_run.ids);
  ASSERT_EQ(free_run.text, text);
  ASSERT_GE(text.size(), 12u);
  const std::string stop = text.substr(6, 3);  // several byte tokens long
  Engine engine(model, {}, &tok);
  std::string streamed;
  bool ended = false;
  engine.set_stream([&](int64_t, int64_t, const std::string& delta, bool finished) {
    streamed += delta;
    ended |= finished;
  });
  auto result = engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 24, .stop = {"\x01\x02never", stop}}}});
  const auto& c = result[0].samples[0];
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.text, text.substr(0, text.find(stop)));
  EXPECT_EQ(streamed, c.text);
  EXPECT_TRUE(ended);
  ASSERT_LE(c.ids.size(), free_run.ids.size());
  EXPECT_TRUE(std::equal(c.ids.begin(), c.ids.end(), free_run.ids.begin()));
  std::filesystem::remove_all(dir);
}

// generation_config.json's eos_token_id as transformers reads it: an id or a list of ids, null for
// the model config's. A string, a float or an id outside the vocabulary was dropped (generation
// never stopped) or wrapped into another id, exit 0: a one-line error naming the file now.
TEST(EngineStops, GenerationConfigEosIdsAreCheckedIds) {
  const std::string dir = tt::testing::make_temp_dir("eos-ids");
  ModelConfig config = tiny_model().config;  // vocab 260, EOS 259
  auto ids = [&](const std::string& value) {
    std::ofstream(dir + "/generation_config.json") << "{\"eos_token_id\": " << value << "}";
    return load_eos_ids(dir, config);
  };
  EXPECT_EQ(ids("12"), std::vector<int32_t>{12});
  EXPECT_EQ(ids("[3, 7]"), (std::vector<int32_t>{3, 7}));
  EXPECT_EQ(ids("null"), std::vector<int32_t>{259});
  for (const char* bad : {"\"12\"", "12.0", "4294967308", "-1", "260", "[3, \"7\"]"}) {
    const std::string e = tt::testing::error_of([&] { ids(bad); });
    EXPECT_NE(e.find("generation_config.json: eos_token_id holds"), std::string::npos) << bad << ": " << e;
  }
  std::filesystem::remove_all(dir);
}

TEST(EngineErrors, BadRequestsGetClearMessages) {
  Model model = tiny_model();
  Engine engine(model, {});
  auto message = [&](GenerationRequest r) -> std::string {
    try {
      engine.add(std::move(r));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({{}, {}}).find("prompt is empty"), std::string::npos);
  std::vector<int32_t> too_long(model.config.max_position_embeddings, 3);
  EXPECT_NE(message({too_long, {}}).find("context"), std::string::npos);
  EXPECT_NE(message({{1, 2}, {.top_p = 0.0f}}).find("top_p"), std::string::npos);
  EXPECT_NE(message({{1, 2}, {.stop = {"x"}}}).find("need a tokenizer"), std::string::npos);
  EXPECT_NE(message({{1, 2}, {.stop = {""}}}).find("empty stop string"), std::string::npos);
  EXPECT_NE(message({{1, 999}, {}}).find("out of range"), std::string::npos);
  std::string dir = tt::testing::make_temp_dir("engine-errors");
  Tokenizer tok = testing::write_tiny_tokenizer(dir);
  Engine with_tokenizer(model, {}, &tok);
  try {
    with_tokenizer.add({{1, 2}, {.stop = {"ok", "\xff\xfe"}}});
    ADD_FAILURE() << "no error for a stop string that can never match";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("can never contain it"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(EngineContext, StopsAtTheContextLimit) {
  Model model = tiny_model();
  const int64_t limit = model.config.max_position_embeddings;
  std::vector<int32_t> prompt(limit - 3, 5);
  Engine engine(model, {});
  auto r = engine.generate({{prompt, {.temperature = 0.0f, .max_new_tokens = 50}}});
  EXPECT_EQ(r[0].samples[0].ids.size(), 3u);
  EXPECT_EQ(r[0].samples[0].finish_reason, "length");
}

}  // namespace
}  // namespace tt::infer
