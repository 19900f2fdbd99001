// Batched generation with continuous batching over the paged KV cache.
//
//   Engine engine(model, {.precision = Precision::BF16}, &tokenizer, eos_ids);
//   auto results = engine.generate({{prompt_ids, {.temperature = 0.7f, .seed = 1}}, ...});
//
// Prompts that share full KV blocks with earlier sequences (a few-shot or system prefix, an earlier
// chat turn) reuse them (automatic prefix caching, kv_cache.h). Requests (each expanded into `n`
// samples) wait in arrival order; up to max_batch samples run at
// once. Each step feeds one row per decoding sample plus prefill chunks of newly admitted ones (up to
// step_tokens rows), so samples join and leave the batch between steps. A sample's tokens depend only
// on its prompt, its parameters and its seed: the forward computes each row independently of the
// others (infer/forward.h) and each sample draws from its own RNG stream.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "infer/device_engine.h"
#include "infer/forward.h"
#include "infer/kv_cache.h"
#include "infer/sampler.h"
#include "text/tokenizer.h"

namespace tt::infer {

struct EngineOptions {
  Precision precision = Precision::FP32;
  int64_t max_batch = 64;     // samples decoding at once
  int64_t step_tokens = 512;  // token rows per step (decode rows first, then prefill chunks)
  // prompt_logprobs: the prompt positions one step scores (each holds a vocabulary of logits; a
  // request's prefill takes more steps when it has more). 0: as many as fit in 32 MiB (64 rows of a
  // 128k vocabulary).
  int64_t prompt_logprob_rows = 0;
  int64_t block_size = 16;    // KV cache block, in tokens
  bool prefix_caching = true; // reuse cached K/V of full blocks a new prompt shares with earlier ones
  // >= 0: the forward, the paged KV cache and sampling run on that CUDA device (infer/device_engine.h),
  // prefix caching included. -1: the CPU.
  int cuda_device = -1;
  double kv_memory_fraction = 0.8;  // on the device: the share of free memory the KV pool takes
  // On the device: decode steps replay CUDA graphs (one per bucket of rows, infer/device_forward.h).
  // Unset: on when the environment has TINYTHINK_CUDA_GRAPHS=1 (off by default until the graphs have
  // been checked on a GPU: their tests are EngineOnDevice.CudaGraph*).
  std::optional<bool> cuda_graphs = std::nullopt;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingParams params;
};

struct Completion {
  std::vector<int32_t> ids;   // generated ids, including a final EOS / stop token id
  std::string text;           // decoded (when the engine has a tokenizer), without the stop string or EOS
  std::string finish_reason;  // "stop" (EOS, stop token or stop string) or "length"
  // With the request's logprobs: one entry per generated id, and the sum of the sampled ids' log-probs.
  std::vector<PositionLogprobs> logprobs = {};
  double cumulative_logprob = 0;
};

struct GenerationResult {
  std::vector<Completion> samples;  // [n]
  // With prompt_logprobs: one entry per prompt token from the second on (vLLM's list without its
  // leading None), the prompt token first, then the most likely ones; empty otherwise.
  std::vector<PositionLogprobs> prompt_logprobs;
};

struct EngineStats {
  int64_t steps = 0, prefill_tokens = 0, decode_tokens = 0;  // tokens through the forward pass
  int64_t generated_tokens = 0;      // tokens sampled into completions (the last one never goes forward)
  int64_t cached_prompt_tokens = 0;  // prompt tokens taken from the prefix cache, not computed
  double forward_seconds = 0.0, sample_seconds = 0.0;
};

// Streaming: called for each sample's new text (complete UTF-8, never part of a stop string) and,
// with finished = true, once when the sample ends.
using StreamCallback =
    std::function<void(int64_t request, int64_t sample, const std::string& text_delta, bool finished)>;

// EOS ids for generation: generation_config.json's eos_token_id (an id or a list) in `model_dir`
// when present, else the config's.
std::vector<int32_t> load_eos_ids(const std::string& model_dir, const ModelConfig& config);

class Engine {
 public:
  // `model` and `tokenizer` (optional; needed for text and stop strings) must outlive the engine.
  Engine(Model& model, const EngineOptions& options, const Tokenizer* tokenizer = nullptr,
         std::vector<int32_t> eos_ids = {});
  ~Engine();

  // Validates and queues a request; returns its id (0, 1, ... in order). Errors say what is wrong
  // (empty prompt, prompt that leaves no room in the context, bad parameters).
  int64_t add(GenerationRequest request);
  // One scheduler iteration. False when nothing is left to do.
  bool step();
  bool finished(int64_t request) const;
  // Ends every queued and running sample now (finish_reason "cancelled"), e.g. on Ctrl-C.
  void cancel_all();
  // The result of a finished request (moved out).
  GenerationResult take(int64_t request);
  // Queues all, runs to completion, returns results in request order.
  std::vector<GenerationResult> generate(std::vector<GenerationRequest> requests);

  // log p(continuation | context) per token, for many (context, continuation) pairs.
  std::vector<std::vector<float>> loglikelihood(const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>& pairs);

  void set_stream(StreamCallback callback) { stream_ = std::move(callback); }
  const EngineStats& stats() const { return stats_; }
  int64_t running() const;
  int64_t waiting() const;
  InferenceModel& model() { return forward_; }
  // The device half when the engine runs on a GPU, else nullptr.
  DeviceEngine* device() { return gpu_.get(); }

 private:
  struct Sample;
  struct Request;
  void admit();
  void finish(Sample& s, const char* reason);
  void after_token(Sample& s, int32_t token);
  bool take_sequence(Sample& s);
  KvBlocks& blocks();  // the block bookkeeping of the cache in use (host or device)
  int64_t prompt_logprob_rows_per_step() const;
  int32_t new_sequence();
  void free_sequence(int32_t seq);
  void reserve(int32_t seq, int64_t tokens);
  void run_forward(bool host_logits);
  std::vector<int32_t> draw_tokens(const std::vector<Sample*>& sampling);
  std::vector<int32_t> held_back(const Sample& s) const;  // ids_held_back for the sample's next token

  InferenceModel forward_;
  EngineOptions options_;
  const Tokenizer* tokenizer_;
  std::vector<int32_t> eos_ids_;
  bool prefix_caching_;
  std::unique_ptr<DeviceEngine> gpu_;  // the device half, when options_.cuda_device >= 0
  KvCache cache_;
  std::vector<std::unique_ptr<Request>> requests_;
  std::deque<Sample*> waiting_;
  std::vector<Sample*> running_;
  StreamCallback stream_;
  EngineStats stats_;
  StepInput step_;
  std::vector<float> logits_;
};

}  // namespace tt::infer
