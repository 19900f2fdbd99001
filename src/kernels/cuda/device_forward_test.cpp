// The engine's forward on the GPU (infer/device_forward.h) against the CPU engine: greedy tokens of
// a tiny random model equal the CPU's (fp32, llama4_text and llama); greedy decoding equals the argmax
// of a full forward pass at every step; and with device sampling a request's tokens are the same
// alone and in a shuffled batch of 64 mixed greedy and seeded requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "infer/device_engine.h"
#include "infer/device_forward.h"
#include "infer/sampler.h"
#include "infer/test_models.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/generation_device.h"

extern "C" tt::GenerationDevice* tt_cuda_generation_device(int index, int abi, char* error, size_t error_size);

namespace tt::infer {
namespace {

using cuda::testing::relative_error;

std::unique_ptr<GenerationDevice> open_device() {
  char error[512] = {};
  GenerationDevice* d = tt_cuda_generation_device(0, kTtGenerationDeviceAbi, error, sizeof(error));
  if (!d) throw std::runtime_error(error);
  return std::unique_ptr<GenerationDevice>(d);
}

struct Request {
  std::vector<int32_t> prompt;
  SamplingParams params;
};

// `steps` tokens of every request, all in one batch: one prefill step of every prompt, then decode
// steps; sampling on the device with each request's own Rng stream (one uniform per sampled token).
std::vector<std::vector<int32_t>> device_generate(DeviceInferenceModel& model, const std::vector<Request>& requests,
                                                  int64_t steps, std::vector<float>* first_logits = nullptr,
                                                  std::vector<float>* last_logits = nullptr) {
  GenerationDevice& d = model.device();
  const int64_t n = static_cast<int64_t>(requests.size()), V = model.config().vocab_size;
  std::vector<int32_t> seqs;
  std::vector<std::vector<int32_t>> history, out(n);
  std::vector<Rng> rngs;
  KvBlocks blocks(16, device_kv_limits(d));  // create_cache's default block size
  for (const Request& r : requests) {
    seqs.push_back(blocks.new_sequence());
    blocks.reserve(seqs.back(), static_cast<int64_t>(r.prompt.size()) + steps);
    history.push_back(r.prompt);
    rngs.push_back(sample_rng(r.params.seed, 0));
  }
  d.kv_upload_tables(blocks.table_array().data());
  auto* tokens = static_cast<int32_t*>(d.allocate(sizeof(int32_t) * n));
  auto* params = static_cast<GenerationSampling*>(d.allocate(sizeof(GenerationSampling) * n));
  auto* offsets = static_cast<int64_t*>(d.allocate(sizeof(int64_t) * (n + 1)));
  auto* seen = static_cast<uint32_t*>(d.allocate(sizeof(uint32_t) * n * V));
  const std::vector<uint32_t> zeros(n * V, 0);
  d.upload(seen, zeros.data(), sizeof(uint32_t) * zeros.size());
  for (int64_t step = 0; step < steps; ++step) {
    StepInput in;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t len = static_cast<int64_t>(history[i].size());
      const int64_t from = step == 0 ? 0 : len - 1;
      for (int64_t p = from; p < len; ++p) {
        in.tokens.push_back(history[i][p]);
        in.positions.push_back(static_cast<int32_t>(p));
        in.sequences.push_back(seqs[i]);
      }
      in.logit_rows.push_back(static_cast<int32_t>(in.tokens.size()) - 1);
    }
    if (step == 0 && first_logits) {
      first_logits->resize(n * V);
      model.forward(in, first_logits->data());
    } else {
      model.forward(in);
    }
    std::vector<GenerationSampling> host_params(n);
    std::vector<int32_t> flat;
    std::vector<int64_t> offs = {0};
    for (int64_t i = 0; i < n; ++i) {
      const SamplingParams& p = requests[i].params;
      GenerationSampling& g = host_params[i];
      g = generation_sampling(p, V);
      g.prompt_length = static_cast<int32_t>(requests[i].prompt.size());
      g.history_length = static_cast<int32_t>(history[i].size());
      if (p.temperature > 0.0f && p.top_k != 1) g.uniform = rngs[i].uniform();
      flat.insert(flat.end(), history[i].begin(), history[i].end());
      offs.push_back(static_cast<int64_t>(flat.size()));
    }
    auto* hist = static_cast<int32_t*>(d.allocate(sizeof(int32_t) * flat.size()));
    d.upload(hist, flat.data(), sizeof(int32_t) * flat.size());
    d.upload(params, host_params.data(), sizeof(GenerationSampling) * n);
    d.upload(offsets, offs.data(), sizeof(int64_t) * offs.size());
    d.sample(tokens, model.logits(), n, V, params, hist, offsets, seen);
    std::vector<int32_t> next(n);
    d.download(next.data(), tokens, sizeof(int32_t) * n);
    d.release(hist);
    for (int64_t i = 0; i < n; ++i) {
      history[i].push_back(next[i]);
      out[i].push_back(next[i]);
    }
  }
  if (last_logits) {  // the last step's logits (a decode step when steps > 1)
    last_logits->resize(n * V);
    d.download(last_logits->data(), model.logits(), sizeof(float) * n * V);
  }
  for (void* p : {static_cast<void*>(tokens), static_cast<void*>(params), static_cast<void*>(offsets),
                  static_cast<void*>(seen)})
    d.release(p);
  return out;
}

// Greedy tokens of one prompt on the CPU engine's forward, and the first step's logits.
std::vector<int32_t> cpu_greedy(InferenceModel& model, const std::vector<int32_t>& prompt, int64_t steps,
                                std::vector<float>* first_logits) {
  KvCache cache(model.config());
  const int32_t seq = cache.new_sequence();
  std::vector<int32_t> history = prompt, out;
  const int64_t V = model.config().vocab_size;
  std::vector<float> logits(V);
  for (int64_t step = 0; step < steps; ++step) {
    StepInput in;
    const int64_t len = static_cast<int64_t>(history.size()), from = step == 0 ? 0 : len - 1;
    cache.reserve(seq, len);
    for (int64_t p = from; p < len; ++p) {
      in.tokens.push_back(history[p]);
      in.positions.push_back(static_cast<int32_t>(p));
      in.sequences.push_back(seq);
    }
    in.logit_rows = {static_cast<int32_t>(in.tokens.size()) - 1};
    model.forward(in, cache, logits.data());
    if (step == 0 && first_logits) *first_logits = logits;
    out.push_back(argmax(logits));
    history.push_back(out.back());
  }
  return out;
}

void check_greedy_matches_cpu(const std::string& preset) {
  Model model = testing::tiny_model(11, 0.05, preset);
  const auto prompts = testing::random_prompts(100, 1, 40, 3);
  InferenceModel cpu(model, Precision::FP32);
  auto device = open_device();
  DeviceInferenceModel gpu(model, Precision::FP32, *device);
  gpu.create_cache(128, 0.2);
  std::vector<Request> requests;
  for (const auto& p : prompts) requests.push_back({p, SamplingParams{.temperature = 0.0f}});
  std::vector<float> gpu_first;
  const auto gpu_tokens = device_generate(gpu, requests, 16, &gpu_first);
  const int64_t V = model.config.vocab_size;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<float> cpu_first;
    EXPECT_EQ(cpu_greedy(cpu, prompts[i], 16, &cpu_first), gpu_tokens[i]) << preset << " prompt " << i;
    const std::vector<float> row(gpu_first.begin() + i * V, gpu_first.begin() + (i + 1) * V);
    EXPECT_LT(relative_error(row, cpu_first), 1e-4) << preset << " prompt " << i;
  }
}

TEST(DeviceForward, GreedyTokensEqualTheCpuEngines) {
  TT_REQUIRE_GPU();
  check_greedy_matches_cpu("tiny-llama4");
  check_greedy_matches_cpu("tiny-llama");
}

TEST(DeviceForward, GreedyEqualsArgmaxOfAFullForwardAtEveryStep) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(5);
  auto device = open_device();
  DeviceInferenceModel gpu(model, Precision::BF16, *device);
  gpu.create_cache(4, 0.1);
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65, 35};
  const auto tokens = device_generate(gpu, {{prompt, SamplingParams{.temperature = 0.0f}}}, 12)[0];
  std::vector<int32_t> history = prompt;
  for (int32_t expected : tokens) {  // each step: a fresh sequence, the whole history in one forward
    const auto full = device_generate(gpu, {{history, SamplingParams{.temperature = 0.0f}}}, 1)[0];
    EXPECT_EQ(full[0], expected) << "after " << history.size() << " tokens";
    history.push_back(expected);
  }
}

TEST(DeviceForward, ARequestsTokensAreTheSameAloneAndInAShuffledBatchOf64) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.5);  // larger weights: peaked, varied distributions
  auto device = open_device();
  DeviceInferenceModel gpu(model, Precision::BF16, *device);
  gpu.create_cache(64, 0.2);
  const auto prompts = testing::random_prompts(64, 1, 60, 8);
  std::vector<Request> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplingParams p;
    if (i % 2 == 0) p.temperature = 0.0f;
    else p = {.temperature = 0.9f, .top_p = 0.95f, .top_k = i % 4 == 1 ? 50 : 0, .min_p = i % 8 == 3 ? 0.02f : 0.0f,
              .repetition_penalty = i % 3 == 0 ? 1.2f : 1.0f, .seed = 1000 + i};
    requests.push_back({prompts[i], p});
  }
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(4));
  std::vector<Request> shuffled;
  for (size_t i : order) shuffled.push_back(requests[i]);
  const auto together = device_generate(gpu, shuffled, 24);
  for (size_t j = 0; j < order.size(); j += 3)
    EXPECT_EQ(device_generate(gpu, {requests[order[j]]}, 24)[0], together[j]) << "request " << order[j];
}

// Decode steps replayed from CUDA graphs (one per bucket of rows, the rows past the step's copies of
// its first row) give the call-by-call steps' tokens and logits bit for bit, for batches that fill a
// bucket and batches that do not, with prefill steps in between that grow the buffers (the graphs are
// then dropped and recorded again).
TEST(DeviceForward, CudaGraphDecodeStepsGiveTheEagerTokensAndLogitsBitForBit) {
  TT_REQUIRE_GPU();
  Model model = testing::tiny_model(9, 0.5);
  auto eager_device = open_device(), graph_device = open_device();  // one KV cache per device object
  DeviceInferenceModel eager(model, Precision::BF16, *eager_device), graphs(model, Precision::BF16, *graph_device);
  eager.create_cache(64, 0.1);
  graphs.create_cache(64, 0.1);
  graphs.use_graphs(true, 64);
  EXPECT_EQ(DeviceInferenceModel::graph_rows(1), 1);
  EXPECT_EQ(DeviceInferenceModel::graph_rows(3), 4);
  EXPECT_EQ(DeviceInferenceModel::graph_rows(9), 16);
  EXPECT_EQ(DeviceInferenceModel::graph_rows(40), 48);
  int checked = 0;
  for (int64_t n : {1, 3, 8, 17, 40, 64}) {
    const auto prompts = testing::random_prompts(static_cast<int>(n), 1, 50, 20 + n);
    std::vector<Request> requests;
    for (int64_t i = 0; i < n; ++i) {
      SamplingParams p{.temperature = 0.0f};
      if (i % 2 == 1) p = {.temperature = 0.9f, .top_p = 0.95f, .seed = static_cast<uint64_t>(500 + i)};
      requests.push_back({prompts[i], p});
    }
    std::vector<float> eager_logits, graph_logits;
    const auto expected = device_generate(eager, requests, 10, nullptr, &eager_logits);
    const auto actual = device_generate(graphs, requests, 10, nullptr, &graph_logits);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(actual[i], expected[i]) << "batch " << n << " request " << i;
    ASSERT_EQ(graph_logits.size(), eager_logits.size());
    EXPECT_EQ(std::memcmp(graph_logits.data(), eager_logits.data(), sizeof(float) * eager_logits.size()), 0)
        << "batch " << n << ": the last decode step's logits differ between the graph and the eager step";
    EXPECT_GT(graphs.graphs_recorded(), 0) << "batch " << n << ": no decode step went through a graph";
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

}  // namespace
}  // namespace tt::infer
