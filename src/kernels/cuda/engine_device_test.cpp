// The generation engine on the GPU (infer/engine.h with cuda_device = 0, infer/device_engine.h): greedy
// generation equals the argmax of full device forwards at every step; with fp32 compute its greedy
// completions equal the CPU engine's on 100 prompts; a request's tokens are the same alone, all 256
// together, shuffled in smaller batches with chunked prefill, and mixed with other requests; its
// log-likelihoods equal `score`'s (score_sequences) within bf16 tolerance; `tinythink generate
// --device cuda` writes what `--device cpu` writes (fp32); and prefix caching (on by default, as on the
// CPU) changes no token or log-likelihood, only the prefill work.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "infer/device_forward.h"
#include "infer/engine.h"
#include "infer/test_models.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/generation_device.h"
#include "model/scoring.h"
#include "tests/test_util.h"

namespace tt::infer {
namespace {

// Small KV pools: the tests build several engines and reference models on one device.
constexpr double kTestKvShare = 0.05;

EngineOptions on_gpu(Precision precision, int64_t max_batch = 64, int64_t step_tokens = 512) {
  return {.precision = precision,
          .max_batch = max_batch,
          .step_tokens = step_tokens,
          .cuda_device = 0,
          .kv_memory_fraction = kTestKvShare};
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::ostringstream out;
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  return out.str();
}

std::string params_text(const SamplingParams& p) {
  std::ostringstream out;
  out << "temperature " << p.temperature << ", top_p " << p.top_p << ", top_k " << p.top_k << ", min_p " << p.min_p
      << ", repetition_penalty " << p.repetition_penalty << ", n " << p.n << ", seed " << p.seed;
  return out.str();
}

// "" when equal, else where the two token lists first differ.
std::string first_difference(const std::vector<int32_t>& expected, const std::vector<int32_t>& actual) {
  if (expected == actual) return "";
  size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  std::ostringstream out;
  out << "first difference at generated token " << i << " of " << expected.size() << " / " << actual.size()
      << "\n  expected: " << ids_text(expected) << "\n  actual:   " << ids_text(actual);
  return out.str();
}

// The greedy next token after `history`: one full forward of the whole history as a fresh sequence.
int32_t argmax_of_full_forward(DeviceInferenceModel& model, const std::vector<int32_t>& history) {
  GenerationDevice& d = model.device();
  KvBlocks blocks(16, device_kv_limits(d));  // create_cache's default block size
  const int32_t seq = blocks.new_sequence();
  blocks.reserve(seq, static_cast<int64_t>(history.size()));
  d.kv_upload_tables(blocks.table_array().data());
  StepInput in;
  for (size_t p = 0; p < history.size(); ++p) {
    in.tokens.push_back(history[p]);
    in.positions.push_back(static_cast<int32_t>(p));
    in.sequences.push_back(seq);
  }
  in.logit_rows = {static_cast<int32_t>(history.size()) - 1};
  std::vector<float> logits(model.config().vocab_size);
  model.forward(in, logits.data());
  return argmax(logits);
}

TEST(EngineOnDevice, GreedyGenerationEqualsArgmaxOfFullForwardsAtEveryStep) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(5);
  const auto prompts = testing::random_prompts(6, 1, 40, 21);
  Engine engine(model, on_gpu(Precision::BF16));
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts)
    requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = 16, .ignore_eos = true}});
  const auto results = engine.generate(requests);
  auto device = open_generation_device(0);
  DeviceInferenceModel reference(model, Precision::BF16, *device);
  reference.create_cache(2, kTestKvShare);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int32_t>& generated = results[i].samples.at(0).ids;
    ASSERT_EQ(generated.size(), 16u) << "prompt " << i << ": finish_reason " << results[i].samples[0].finish_reason;
    std::vector<int32_t> history = prompts[i];
    for (size_t t = 0; t < generated.size(); ++t) {
      const int32_t expected = argmax_of_full_forward(reference, history);
      ASSERT_EQ(generated[t], expected) << "prompt " << i << " (" << prompts[i].size() << " tokens), generated token "
                                        << t << ": the engine drew " << generated[t]
                                        << ", the argmax of a full forward over the " << history.size()
                                        << " tokens before it is " << expected;
      history.push_back(generated[t]);
    }
  }
}

void check_fp32_greedy_equals_cpu_engine(const std::string& preset) {
  Model model = testing::tiny_model(11, 0.05, preset);
  const auto prompts = testing::random_prompts(100, 1, 48, 3);
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = 24}});
  Engine cpu(model, {.precision = Precision::FP32, .max_batch = 64});
  Engine gpu(model, on_gpu(Precision::FP32, 64));
  const auto expected = cpu.generate(requests);
  const auto actual = gpu.generate(requests);
  int failures = 0;
  for (size_t i = 0; i < prompts.size() && failures < 5; ++i) {
    const Completion& e = expected[i].samples.at(0);
    const Completion& a = actual[i].samples.at(0);
    const std::string diff = first_difference(e.ids, a.ids);
    EXPECT_TRUE(diff.empty()) << preset << " prompt " << i << " (" << prompts[i].size() << " tokens), cpu engine vs "
                              << "cuda engine (fp32 greedy): " << diff;
    EXPECT_EQ(e.finish_reason, a.finish_reason) << preset << " prompt " << i;
    failures += !diff.empty();
  }
  EXPECT_GT(gpu.stats().decode_tokens, 0);
}

TEST(EngineOnDevice, Fp32GreedyCompletionsEqualTheCpuEnginesOn100Prompts) {
  TT_REQUIRE_GPU();
  check_fp32_greedy_equals_cpu_engine("tiny-llama4");
  check_fp32_greedy_equals_cpu_engine("tiny-llama");
}

// 256 requests: half greedy, half sampled with every option in turn and their own seeds, some n = 2.
std::vector<GenerationRequest> mixed_requests(int count, uint64_t seed) {
  const auto prompts = testing::random_prompts(count, 1, 70, seed);
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < count; ++i) {
    SamplingParams p{.temperature = 0.0f};
    if (i % 2 == 1)
      p = {.temperature = i % 6 == 1 ? 0.6f : 1.0f,
           .top_p = i % 4 == 1 ? 0.9f : 1.0f,
           .top_k = i % 10 == 3 ? 40 : 0,
           .min_p = i % 8 == 5 ? 0.05f : 0.0f,
           .repetition_penalty = i % 3 == 0 ? 1.3f : 1.0f,
           .n = i % 16 == 7 ? 2 : 1,
           .seed = 1000 + static_cast<uint64_t>(i)};
    p.max_new_tokens = 8 + (i * 7) % 25;
    requests.push_back({prompts[i], p});
  }
  return requests;
}

TEST(EngineOnDevice, ARequestsTokensAreTheSameAloneTogetherShuffledAndWithOthers) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.5);  // larger weights: peaked, varied distributions
  const auto requests = mixed_requests(256, 8);
  // Alone: one request per engine run.
  Engine alone_engine(model, on_gpu(Precision::BF16, 256));
  std::vector<GenerationResult> alone;
  for (const auto& r : requests) alone.push_back(alone_engine.generate({r})[0]);
  // Together: all 256 decoding at once.
  Engine together_engine(model, on_gpu(Precision::BF16, 256, 4096));
  const auto together = together_engine.generate(requests);
  // Shuffled, 48 at a time, prefill in chunks of at most 37 rows per step.
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(4));
  std::vector<GenerationRequest> shuffled;
  for (size_t i : order) shuffled.push_back(requests[i]);
  Engine shuffled_engine(model, on_gpu(Precision::BF16, 48, 37));
  const auto shuffled_results = shuffled_engine.generate(shuffled);
  // With others: every request after a different, longer one.
  const auto others = mixed_requests(256, 99);
  std::vector<GenerationRequest> mixed;
  for (size_t i = 0; i < requests.size(); ++i) {
    mixed.push_back(others[i]);
    mixed.push_back(requests[i]);
  }
  Engine mixed_engine(model, on_gpu(Precision::BF16, 128, 256));
  const auto mixed_results = mixed_engine.generate(mixed);

  int failures = 0;
  for (size_t j = 0; j < order.size() && failures < 8; ++j) {
    const size_t i = order[j];
    for (size_t s = 0; s < alone[i].samples.size(); ++s) {
      const auto& expected = alone[i].samples[s].ids;
      const std::string where = "request " + std::to_string(i) + " sample " + std::to_string(s) + " (" +
                                std::to_string(requests[i].prompt.size()) + "-token prompt; " +
                                params_text(requests[i].params) + "), alone vs ";
      const std::string d1 = first_difference(expected, together[i].samples.at(s).ids);
      const std::string d2 = first_difference(expected, shuffled_results[j].samples.at(s).ids);
      const std::string d3 = first_difference(expected, mixed_results[2 * i + 1].samples.at(s).ids);
      EXPECT_TRUE(d1.empty()) << where << "all 256 together: " << d1;
      EXPECT_TRUE(d2.empty()) << where << "shuffled (batch 48, prefill chunks of 37): " << d2;
      EXPECT_TRUE(d3.empty()) << where << "between 256 other requests (batch 128): " << d3;
      failures += !d1.empty() || !d2.empty() || !d3.empty();
    }
  }
  // The sampled requests did sample: not every seeded request equals its greedy decoding.
  int differ_from_greedy = 0;
  for (size_t i = 1; i < requests.size(); i += 2) {
    GenerationRequest greedy = requests[i];
    greedy.params = {.temperature = 0.0f, .max_new_tokens = greedy.params.max_new_tokens};
    differ_from_greedy += alone_engine.generate({greedy})[0].samples[0].ids != alone[i].samples[0].ids;
    if (i > 40) break;
  }
  EXPECT_GT(differ_from_greedy, 5) << "seeded requests decode like greedy ones: is the device sampler drawing?";
}

// The engine with its decode steps replayed from CUDA graphs writes the call-by-call engine's tokens
// for mixed greedy and seeded requests whose batch shrinks as they finish (many buckets of rows).
TEST(EngineOnDevice, CudaGraphDecodeStepsGiveTheCallByCallTokens) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.5);
  const auto requests = mixed_requests(96, 21);
  EngineOptions eager_options = on_gpu(Precision::BF16, 64), graph_options = on_gpu(Precision::BF16, 64);
  eager_options.cuda_graphs = false;
  graph_options.cuda_graphs = true;
  Engine eager(model, eager_options);
  const auto expected = eager.generate(requests);
  Engine graphs(model, graph_options);
  const auto actual = graphs.generate(requests);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < requests.size(); ++i)
    for (size_t s = 0; s < expected[i].samples.size(); ++s)
      EXPECT_TRUE(first_difference(expected[i].samples[s].ids, actual[i].samples.at(s).ids).empty())
          << "request " << i << " sample " << s << " (" << params_text(requests[i].params) << "): "
          << first_difference(expected[i].samples[s].ids, actual[i].samples.at(s).ids);
}

void check_loglikelihoods_equal_score(Precision precision, double abs_tol, double rel_tol) {
  Model model = testing::tiny_model(13, 0.3);
  const auto contexts = testing::random_prompts(40, 1, 60, 17);
  const auto continuations = testing::random_prompts(40, 1, 12, 18);
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  std::vector<std::vector<int32_t>> sequences;
  for (size_t i = 0; i < contexts.size(); ++i) {
    // Every context twice (as multiple-choice options share it), with different continuations.
    for (int option = 0; option < 2; ++option) {
      std::vector<int32_t> continuation = continuations[(i + option * 7) % continuations.size()];
      pairs.push_back({contexts[i], continuation});
      std::vector<int32_t> seq = contexts[i];
      seq.insert(seq.end(), continuation.begin(), continuation.end());
      sequences.push_back(seq);
    }
  }
  Engine gpu(model, on_gpu(precision, 64, 128));  // step_tokens 128: several pairs per step, long ones split
  const auto device_ll = gpu.loglikelihood(pairs);
  const auto scores = score_sequences(model, sequences, {.precision = precision});
  double worst = 0.0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const size_t context = pairs[i].first.size(), n = pairs[i].second.size();
    ASSERT_EQ(device_ll[i].size(), n) << "pair " << i << ": one log-probability per continuation token";
    for (size_t t = 0; t < n; ++t) {
      const double expected = scores[i][context - 1 + t], actual = device_ll[i][t];
      worst = std::max(worst, std::abs(expected - actual));
      ASSERT_NEAR(actual, expected, abs_tol + rel_tol * std::abs(expected))
          << precision_name(precision) << " pair " << i << " (context " << context << " tokens), continuation token "
          << t << " (id " << pairs[i].second[t] << "): cuda engine log p " << actual << ", score_sequences " << expected;
    }
  }
  std::printf("[ info ] %s log-likelihoods: largest |cuda engine - score| = %.3g over %zu pairs\n",
              precision_name(precision), worst, pairs.size());
}

TEST(EngineOnDevice, LogLikelihoodsEqualScoreWithinBf16Tolerance) {
  TT_REQUIRE_GPU();
  check_loglikelihoods_equal_score(Precision::FP32, 1e-4, 1e-5);
  check_loglikelihoods_equal_score(Precision::BF16, 2e-2, 1e-2);
}

TEST(EngineOnDevice, ManyMoreRequestsThanMaxBatchAllFinishAndEveryKvBlockComesBack) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(5);
  // max_batch 4 and 40 requests: admission waits for running samples, every request still finishes.
  Engine engine(model, on_gpu(Precision::BF16, 4));
  const auto prompts = testing::random_prompts(40, 1, 30, 2);
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = 10, .ignore_eos = true}});
  const auto results = engine.generate(requests);
  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].samples.at(0).ids.size(), 10u) << "request " << i;
  EXPECT_EQ(engine.device()->blocks_free(), engine.device()->blocks_total()) << "blocks leaked after generate";
}

// TINYTHINK_CUDA_FAST_GEMM=1 (opt-in, not batch-invariant): cuBLASLt's bf16 GEMMs give the row-invariant
// path's logits within bf16 rounding, and the device says it is not batch-invariant.
TEST(EngineOnDevice, TheOptInFastGemmModeSaysSoAndAgreesWithinBf16) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.2);
  const auto prompts = testing::random_prompts(8, 1, 40, 31);
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = 1}});
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  for (const auto& p : prompts) pairs.push_back({{p.front()}, {p.begin() + 1, p.end()}});
  Engine invariant(model, on_gpu(Precision::BF16));
  ASSERT_TRUE(invariant.device()->batch_invariant());
  const auto expected = invariant.loglikelihood(pairs);
  ::setenv("TINYTHINK_CUDA_FAST_GEMM", "1", 1);
  Engine fast(model, on_gpu(Precision::BF16));
  ::unsetenv("TINYTHINK_CUDA_FAST_GEMM");
  EXPECT_FALSE(fast.device()->batch_invariant());
  const auto actual = fast.loglikelihood(pairs);
  for (size_t i = 0; i < pairs.size(); ++i)
    for (size_t t = 0; t < expected[i].size(); ++t)
      ASSERT_NEAR(actual[i][t], expected[i][t], 2e-2 + 1e-2 * std::abs(expected[i][t]))
          << "pair " << i << " token " << t << ": cuBLASLt mode vs row-invariant mode";
}

TEST(EngineOnDevice, GenerateDeviceCudaWritesWhatDeviceCpuWritesInFp32) {
  TT_REQUIRE_GPU();
  const std::string dir = tt::testing::make_temp_dir("engine-device-cli");
  Model model = testing::tiny_model(11);
  write_model_files(model, dir);
  testing::write_tiny_tokenizer(dir);
  {
    std::ofstream input(dir + "/in.jsonl");
    const auto prompts = testing::random_prompts(20, 1, 30, 5);
    for (size_t i = 0; i < prompts.size(); ++i) {
      nlohmann::json row = {{"ids", prompts[i]}, {"max_new_tokens", 12}};
      if (i % 2) row.update({{"temperature", 0.8}, {"seed", i}, {"top_k", 30}});
      input << row.dump() << "\n";
    }
  }
  const auto run = [&](const std::string& device) {
    const std::string out = dir + "/out-" + device + ".jsonl";
    const auto r = tt::testing::run_cli("generate --model " + dir + " --input " + dir + "/in.jsonl --output " + out +
                                        " --precision fp32 --device " + device);
    EXPECT_EQ(r.exit_code, 0) << "generate --device " << device << ":\n" << r.output;
    std::ifstream in(out);
    std::vector<nlohmann::json> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    return std::make_pair(rows, r.output);
  };
  const auto [cpu_rows, cpu_log] = run("cpu");
  const auto [gpu_rows, gpu_log] = run("cuda");
  EXPECT_NE(gpu_log.find("cuda:0"), std::string::npos) << "the run logs its device:\n" << gpu_log;
  ASSERT_EQ(cpu_rows.size(), 20u) << cpu_log;
  ASSERT_EQ(gpu_rows.size(), 20u) << gpu_log;
  // Greedy rows are the same tokens; sampled rows come from the device sampler (same stream, another
  // kernel), so only their length limit is compared.
  for (size_t i = 0; i < cpu_rows.size(); i += 2)
    EXPECT_EQ(cpu_rows[i]["completion_ids"], gpu_rows[i]["completion_ids"]) << "greedy row " << i;
  for (size_t i = 1; i < gpu_rows.size(); i += 2)
    EXPECT_LE(gpu_rows[i]["completion_ids"].size(), 12u) << "sampled row " << i;
  std::filesystem::remove_all(dir);
}

// Automatic prefix caching on the device (the host's KvBlocks handing out the device pool's blocks):
// requests sharing a long prompt prefix, n = 2 samples each and a repeated prompt, give exactly the
// same tokens with prefix caching on and off (greedy and seeded), the cached engine computes fewer
// prefill tokens (its cached_prompt_tokens account for the difference), and every block comes back.
TEST(EngineOnDevice, PrefixCachingGivesTheSameTokensAndComputesFewerPrefillTokens) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.5);
  const auto prefix = testing::random_prompts(1, 80, 80, 41)[0];
  const auto suffixes = testing::random_prompts(12, 1, 20, 42);
  std::vector<GenerationRequest> requests;
  for (size_t i = 0; i < suffixes.size(); ++i) {
    std::vector<int32_t> p = prefix;
    p.insert(p.end(), suffixes[i].begin(), suffixes[i].end());
    requests.push_back({p, {.temperature = i % 2 ? 0.9f : 0.0f, .n = i % 3 == 0 ? 2 : 1, .seed = 70 + i,
                            .max_new_tokens = 24, .ignore_eos = true}});
  }
  requests.push_back(requests[3]);  // a repeated prompt: every full block of it is cached
  for (const Precision precision : {Precision::BF16, Precision::FP32}) {
    EngineOptions cached_options = on_gpu(precision, 4);
    EngineOptions plain_options = cached_options;
    plain_options.prefix_caching = false;
    Engine cached(model, cached_options);
    Engine plain(model, plain_options);
    const auto with_cache = cached.generate(requests);
    const auto without = plain.generate(requests);
    for (size_t i = 0; i < requests.size(); ++i)
      for (size_t s = 0; s < without[i].samples.size(); ++s)
        EXPECT_TRUE(first_difference(without[i].samples[s].ids, with_cache[i].samples.at(s).ids).empty())
            << precision_name(precision) << " request " << i << " sample " << s << " ("
            << params_text(requests[i].params) << "), prefix caching off vs on: "
            << first_difference(without[i].samples[s].ids, with_cache[i].samples.at(s).ids);
    EXPECT_EQ(plain.stats().cached_prompt_tokens, 0);
    // 12 requests after the first (and the second samples) map at least the 80-token prefix's 5 blocks.
    EXPECT_GE(cached.stats().cached_prompt_tokens, 12 * 80) << precision_name(precision);
    EXPECT_EQ(cached.stats().prefill_tokens + cached.stats().cached_prompt_tokens, plain.stats().prefill_tokens)
        << precision_name(precision) << ": every prompt token is either computed or taken from the cache";
    EXPECT_EQ(cached.stats().decode_tokens, plain.stats().decode_tokens);
    EXPECT_EQ(cached.device()->blocks_free(), cached.device()->blocks_total()) << "blocks leaked after generate";
  }
}

// Log-likelihoods with shared contexts on the device: the same values with prefix caching on and off,
// and the repeated contexts come from the cache.
TEST(EngineOnDevice, PrefixCachingKeepsLogLikelihoods) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(13, 0.3);
  const auto contexts = testing::random_prompts(6, 40, 70, 43);
  const auto continuations = testing::random_prompts(24, 1, 8, 44);
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  for (size_t i = 0; i < continuations.size(); ++i) pairs.push_back({contexts[i % 6], continuations[i]});
  EngineOptions cached_options = on_gpu(Precision::BF16, 64, 128);
  EngineOptions plain_options = cached_options;
  plain_options.prefix_caching = false;
  Engine cached(model, cached_options);
  Engine plain(model, plain_options);
  const auto with_cache = cached.loglikelihood(pairs);
  const auto without = plain.loglikelihood(pairs);
  for (size_t i = 0; i < pairs.size(); ++i) EXPECT_EQ(with_cache[i], without[i]) << "pair " << i;
  EXPECT_GE(cached.stats().cached_prompt_tokens, 18 * 32);  // 18 repeats of contexts of at least 40 tokens
  EXPECT_EQ(plain.stats().cached_prompt_tokens, 0);
}

// prompt_logprobs on the device (the prompt rows' logits copied back after the sampling rows) equal
// the CPU engine's within fp32 rounding, the prompt computed in chunks, and the tokens are unchanged.
TEST(EngineOnDevice, PromptLogprobsEqualTheCpuEngines) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(11, 0.05);
  const auto prompts = testing::random_prompts(8, 2, 60, 17);
  std::vector<GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {.temperature = 0.0f, .max_new_tokens = 4, .prompt_logprobs = 3}});
  Engine cpu(model, {.precision = Precision::FP32, .max_batch = 8, .step_tokens = 32});
  Engine gpu(model, on_gpu(Precision::FP32, 8, 32));
  const auto expected = cpu.generate(requests);
  const auto actual = gpu.generate(requests);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(expected[i].samples[0].ids, actual[i].samples[0].ids) << "prompt " << i;
    ASSERT_EQ(actual[i].prompt_logprobs.size(), prompts[i].size() - 1) << "prompt " << i;
    for (size_t t = 0; t < actual[i].prompt_logprobs.size(); ++t) {
      EXPECT_EQ(actual[i].prompt_logprobs[t][0].id, prompts[i][t + 1]);
      EXPECT_NEAR(actual[i].prompt_logprobs[t][0].logprob, expected[i].prompt_logprobs[t][0].logprob, 1e-4)
          << "prompt " << i << " token " << t + 1;
    }
  }
}

}  // namespace
}  // namespace tt::infer
