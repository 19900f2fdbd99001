// The engine's GPU half (infer/engine.h with EngineOptions::cuda_device set): the model on a CUDA
// device (device_forward.h), its paged KV cache in device memory sized from the free memory, and
// sampling on the device. The engine keeps scheduling, stop checks and detokenizing on the host; per
// step only the step's token ids, positions and sampling parameters go up and one token per sampled
// row comes back (log-likelihood scoring downloads its logit rows).
//
// A sequence reserves its whole budget (prompt + max_new_tokens, capped by the context) when the
// engine admits it, so a running sample never finds the pool full: requests that do not fit yet wait
// in the queue until running ones finish. Which block holds what is decided on the host by the same
// KvBlocks as the CPU cache's (with the device pool's size as its limit), prefix caching included;
// the device only gets the block tables.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/device_forward.h"
#include "infer/kv_blocks.h"
#include "infer/sampler.h"
#include "kernels/generation_device.h"

namespace tt::infer {

struct DeviceEngineOptions {
  int cuda_device = 0;
  Precision precision = Precision::FP32;
  int64_t max_sequences = 64;       // sequences held in the cache at once
  double kv_memory_fraction = 0.8;  // of the free device memory after the weights, for the KV pool
  int64_t block_size = 16;
  // Decode steps of up to this many rows replay CUDA graphs (DeviceInferenceModel::use_graphs); 0: every
  // step runs call by call.
  int64_t graph_rows = 0;
};

// One sampled row of the last forward: the row's sequence so far (prompt + generated, the first
// prompt_length of it the prompt), its parameters, its RNG stream (one uniform draw per non-greedy
// token, as the CPU sampler's stream) and the ids it may not draw yet (min_tokens).
struct DeviceSampleRow {
  const std::vector<int32_t>* history = nullptr;
  int64_t prompt_length = 0;
  const SamplingParams* params = nullptr;
  Rng* rng = nullptr;
  std::vector<int32_t> held_back = {};
};

// A request's options as the device sampler reads them (the uniform draw and the row's history
// lengths are the caller's); top_k is capped at the vocabulary.
GenerationSampling generation_sampling(const SamplingParams& p, int64_t vocab);

// The engine's device for a device text ("auto", "cpu", "cuda", "cuda:N"; `where` names it in errors):
// the CUDA ordinal, or -1 for the CPU; auto takes the first GPU that answers. Logs the choice (name,
// memory, precision) unless it is auto on a machine or build without CUDA, the ordinary CPU case.
int choose_engine_device(const std::string& text, const std::string& where, Precision precision);

// The limits of a KvBlocks that hands out the blocks of `device`'s pool (after create_kv).
KvBlockLimits device_kv_limits(GenerationDevice& device);

class DeviceEngine {
 public:
  DeviceEngine(Model& model, const DeviceEngineOptions& options);
  ~DeviceEngine();
  DeviceEngine(const DeviceEngine&) = delete;
  DeviceEngine& operator=(const DeviceEngine&) = delete;

  // ---- the paged KV cache: the device's pool, the host's block bookkeeping (kv_blocks.h) ----
  KvBlocks& blocks() { return *blocks_; }  // sequences, reservations ("paged KV cache: full: ..."), prefixes
  int64_t blocks_total() const { return blocks_->blocks_total(); }
  int64_t blocks_free() const { return blocks_->blocks_free(); }  // freed blocks still in the prefix cache count
  int64_t block_size() const { return options_.block_size; }
  int64_t block_bytes() const { return block_bytes_; }
  int64_t peak_blocks_used() const { return peak_blocks_used_; }  // most blocks mapped at once (at a forward)
  // Decode steps replay CUDA graphs (DeviceEngineOptions::graph_rows); how many graphs were recorded.
  bool cuda_graphs() const { return graphs_on_; }
  int64_t cuda_graphs_recorded() const;

  // The forward of `step` (block tables uploaded first when they changed); logits stay on the device,
  // `host_logits` ([logit_rows, vocab]) receives a copy when given.
  void forward(const StepInput& step, float* host_logits = nullptr);
  // One token per logit row of the last forward, rows[i] describing logit row i.
  std::vector<int32_t> sample(const std::vector<DeviceSampleRow>& rows);

  size_t peak_bytes_in_use() { return device_->peak_bytes_in_use(); }
  bool batch_invariant() const { return device_->batch_invariant(); }

 private:
  void grow_sampling(int64_t rows, int64_t history_tokens);

  DeviceEngineOptions options_;
  int64_t vocab_ = 0;
  std::unique_ptr<GenerationDevice> device_;
  std::unique_ptr<DeviceInferenceModel> model_;
  std::unique_ptr<KvBlocks> blocks_;
  uint64_t uploaded_tables_version_ = 0;
  std::vector<int32_t> uploaded_tables_;  // what the device holds (empty before the first upload)
  int64_t block_bytes_ = 0, peak_blocks_used_ = 0;
  bool graphs_on_ = false;
  // sampling scratch (device)
  int64_t sample_capacity_ = 0, history_capacity_ = 0;
  int32_t* tokens_ = nullptr;
  GenerationSampling* params_ = nullptr;
  int64_t* offsets_ = nullptr;
  uint32_t* seen_ = nullptr;  // [sample_capacity_, vocab], zero between calls (the kernel leaves it zero)
  int32_t* history_ = nullptr;
  // host staging
  std::vector<GenerationSampling> host_params_;
  std::vector<int64_t> host_offsets_;
  std::vector<int32_t> host_history_, host_tokens_;
};

}  // namespace tt::infer
