// Device sampling against the CPU engine's sampler (infer/sampler.h): greedy equals argmax, the
// penalties (repetition, frequency, presence) and the ids held back for min_tokens give the same
// logits, top-k / min-p draws the same token for the same uniform from the request's Rng, top-p draws a
// token of the CPU's nucleus; and a row alone equals it in a batch of 64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "infer/device_engine.h"
#include "infer/sampler.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/generation.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;

struct Case {
  infer::SamplingParams params;
  std::vector<int32_t> history;
  int64_t prompt_length = 0;
  std::vector<int32_t> held_back;
  std::vector<float> logits;
};

DeviceSampling device_params(const infer::SamplingParams& p, uint64_t seed) {
  const GenerationSampling g = infer::generation_sampling(p, std::numeric_limits<int32_t>::max());
  static_assert(sizeof(g) == sizeof(DeviceSampling));
  DeviceSampling d;
  std::memcpy(&d, &g, sizeof(d));
  Rng rng = infer::sample_rng(seed, 0);
  d.uniform = rng.uniform();  // the one draw the CPU's sample_token takes
  return d;
}

// Tokens and the penalised logits of the rows, on the device.
std::pair<std::vector<int32_t>, std::vector<float>> device_sample(const std::vector<Case>& cases, int64_t vocab,
                                                                  const std::vector<uint64_t>& seeds) {
  std::vector<float> logits;
  std::vector<int32_t> history;
  std::vector<int64_t> offsets = {0};
  std::vector<DeviceSampling> params;
  for (size_t i = 0; i < cases.size(); ++i) {
    logits.insert(logits.end(), cases[i].logits.begin(), cases[i].logits.end());
    history.insert(history.end(), cases[i].history.begin(), cases[i].history.end());
    history.insert(history.end(), cases[i].held_back.begin(), cases[i].held_back.end());
    offsets.push_back(static_cast<int64_t>(history.size()));
    params.push_back(device_params(cases[i].params, seeds[i]));
    params.back().prompt_length = static_cast<int32_t>(cases[i].prompt_length);
    params.back().history_length = static_cast<int32_t>(cases[i].history.size());
  }
  if (history.empty()) history.push_back(0);
  DeviceBuffer<float> d_logits(logits);
  DeviceBuffer<int32_t> d_history(history), d_tokens(cases.size());
  DeviceBuffer<int64_t> d_offsets(offsets);
  DeviceBuffer<uint32_t> d_seen(cases.size() * vocab);
  d_seen.zero();
  std::vector<uint8_t> params_bytes(sizeof(DeviceSampling) * params.size());
  std::memcpy(params_bytes.data(), params.data(), params_bytes.size());
  DeviceBuffer<uint8_t> d_params(params_bytes);
  sample_tokens(d_tokens.get(), d_logits.get(), cases.size(), vocab,
                reinterpret_cast<const DeviceSampling*>(d_params.get()), d_history.get(), d_offsets.get(),
                d_seen.get(), nullptr);
  const std::vector<uint32_t> seen = d_seen.download();
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](uint32_t w) { return w == 0; })) << "scratch not left zero";
  return {d_tokens.download(), d_logits.download()};
}

std::vector<Case> mixed_cases(int64_t count, int64_t vocab) {
  std::vector<Case> cases;
  for (int64_t i = 0; i < count; ++i) {
    Case c;
    c.logits = random_vector(vocab, 1000 + i, 3.0f);
    if (i % 9 == 0) c.logits[5] = c.logits[7] = 40.0f;  // a tie: the lower id wins
    for (int64_t j = 0; j < 40; ++j) c.history.push_back(static_cast<int32_t>((i * 31 + j * j * 7) % vocab));
    c.prompt_length = 10 + i % 25;
    c.params.repetition_penalty = i % 3 == 0 ? 1.0f : 1.3f;
    // Frequency and presence penalties on some rows (with and without the repetition penalty), ids
    // held back (min_tokens) on others: the history's most repeated token and a greedy row's best.
    if (i % 4 == 1) c.params.frequency_penalty = 0.37f, c.params.presence_penalty = -0.6f;
    if (i % 5 == 2) c.params.presence_penalty = 1.5f;
    if (i % 7 == 3) c.held_back = {static_cast<int32_t>(i % vocab), 5, 7};
    switch (i % 6) {
      case 0: c.params.temperature = 0.0f; break;
      case 1: c.params.top_k = 40; break;
      case 2: c.params.top_k = 200, c.params.temperature = 0.7f, c.params.min_p = 0.05f; break;
      case 3: c.params.min_p = 0.1f, c.params.top_p = 0.9f; break;
      case 4: c.params.top_p = 0.8f; break;  // the CPU's nucleus path (id-order walk)
      case 5: c.params.top_k = 1; break;
    }
    if (i % 12 == 7) {  // four tokens tied above the rest with top_k 3: all four stay (vLLM)
      c.params = {.top_k = 3};
      c.held_back.clear();
      for (int32_t id : {5, 7, 9, 11}) c.logits[id] = 40.0f;
    }
    cases.push_back(c);
  }
  return cases;
}

TEST(DeviceSampling, MatchesTheCpuSampler) {
  TT_REQUIRE_GPU();
  const int64_t vocab = 5000;
  const std::vector<Case> cases = mixed_cases(60, vocab);
  std::vector<uint64_t> seeds(cases.size());
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = 77 + i;
  const auto [tokens, logits] = device_sample(cases, vocab, seeds);
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<float> cpu_logits = cases[i].logits;
    Rng rng = infer::sample_rng(seeds[i], 0);
    const int32_t cpu = infer::sample_token(cpu_logits, cases[i].history, cases[i].prompt_length, cases[i].held_back,
                                            cases[i].params, rng);
    EXPECT_TRUE(std::equal(cpu_logits.begin(), cpu_logits.end(), logits.begin() + i * vocab)) << "penalty, row " << i;
    const infer::SamplingParams& p = cases[i].params;
    if (p.top_k == 0 && p.min_p == 0.0f && p.temperature > 0.0f) {
      // The CPU walks the nucleus in id order: the same set, not the same token per uniform.
      const auto nucleus = infer::filter_candidates(cpu_logits, p);
      EXPECT_TRUE(std::any_of(nucleus.begin(), nucleus.end(), [&](const auto& c) { return c.id == tokens[i]; }))
          << "row " << i << " drew " << tokens[i] << " outside the nucleus";
    } else {
      EXPECT_EQ(tokens[i], cpu) << "row " << i;
    }
  }
}

TEST(DeviceSampling, ARowAloneEqualsItsRowInABatchOf64) {
  TT_REQUIRE_GPU();
  const int64_t vocab = 3000;
  const std::vector<Case> cases = mixed_cases(64, vocab);
  std::vector<uint64_t> seeds(cases.size(), 12345);
  const auto batch = device_sample(cases, vocab, seeds).first;
  for (size_t i = 0; i < cases.size(); i += 5)
    EXPECT_EQ(device_sample({cases[i]}, vocab, {seeds[i]}).first[0], batch[i]) << "row " << i;
}

}  // namespace
}  // namespace tt::cuda
