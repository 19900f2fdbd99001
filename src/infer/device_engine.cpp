#include "infer/device_engine.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "kernels/device.h"

namespace tt::infer {

int choose_engine_device(const std::string& text, const std::string& where, Precision precision) {
  const DeviceSpec spec = parse_device(text, where);
  const ResolvedDevice device = resolve_device(spec);
  if (!(spec.kind == DeviceKind::Auto && device.no_cuda_here)) log_info("{}", describe_device(device, precision));
  return device.kind == DeviceKind::CUDA ? device.index : -1;
}

KvBlockLimits device_kv_limits(GenerationDevice& device) {
  return {.blocks = device.kv_blocks_total(),
          .max_sequences = device.kv_max_sequences(),
          .max_blocks_per_sequence = device.kv_max_blocks_per_sequence()};
}

DeviceEngine::DeviceEngine(Model& model, const DeviceEngineOptions& options)
    : options_(options), vocab_(model.config.vocab_size) {
  if (options_.max_sequences < 1) fail("device engine: max_sequences must be >= 1");
  if (!(options_.kv_memory_fraction > 0.0 && options_.kv_memory_fraction < 1.0))
    fail("device engine: kv_memory_fraction must be in (0, 1), got {}", options_.kv_memory_fraction);
  device_ = open_generation_device(options_.cuda_device);
  if (!device_->batch_invariant())
    log_info("cuda:{}: TINYTHINK_CUDA_FAST_GEMM=1: matmuls on cuBLASLt, NOT batch-invariant (a request's tokens may "
             "depend on its batch)",
             options_.cuda_device);
  model_ = std::make_unique<DeviceInferenceModel>(model, options_.precision, *device_);
  model_->create_cache(options_.max_sequences, options_.kv_memory_fraction, options_.block_size);
  if (options_.graph_rows > 0) {
    if (!device_->batch_invariant())
      log_info("cuda:{}: CUDA graphs are off with TINYTHINK_CUDA_FAST_GEMM=1 (cuBLASLt's kernels are not recorded)",
               options_.cuda_device);
    else {
      model_->use_graphs(true, options_.graph_rows);
      graphs_on_ = true;
      log_info("cuda:{}: decode steps of up to {} rows replay CUDA graphs", options_.cuda_device,
               DeviceInferenceModel::graph_rows(options_.graph_rows));
    }
  }
  blocks_ = std::make_unique<KvBlocks>(options_.block_size, device_kv_limits(*device_));
  const ModelConfig& c = model.config;
  block_bytes_ = c.num_hidden_layers * 2 * options_.block_size * c.num_key_value_heads * c.head_dim *
                 static_cast<int64_t>(sizeof(float));
}

DeviceEngine::~DeviceEngine() {
  for (void* p : {static_cast<void*>(tokens_), static_cast<void*>(params_), static_cast<void*>(offsets_),
                  static_cast<void*>(seen_), static_cast<void*>(history_)})
    if (p) device_->release(p);
}

int64_t DeviceEngine::cuda_graphs_recorded() const { return model_->graphs_recorded(); }

void DeviceEngine::forward(const StepInput& step, float* host_logits) {
  // Uploaded when they differ from the last upload (a request that waits for room maps and returns its
  // cached prefix on every step, changing the version but not the tables).
  if (uploaded_tables_.empty() || blocks_->tables_version() != uploaded_tables_version_) {
    std::vector<int32_t> tables = blocks_->table_array();
    if (tables != uploaded_tables_) {
      device_->kv_upload_tables(tables.data());
      uploaded_tables_ = std::move(tables);
    }
    uploaded_tables_version_ = blocks_->tables_version();
  }
  peak_blocks_used_ = std::max(peak_blocks_used_, blocks_->blocks_in_use());
  model_->forward(step, host_logits);
}

void DeviceEngine::grow_sampling(int64_t rows, int64_t history_tokens) {
  auto replace = [&](auto*& buffer, size_t bytes) {
    using T = std::remove_reference_t<decltype(*buffer)>;
    if (buffer) device_->release(buffer);
    buffer = static_cast<T*>(device_->allocate(bytes));
  };
  if (rows > sample_capacity_) {
    const int64_t R = std::max(rows, 2 * sample_capacity_);
    replace(tokens_, sizeof(int32_t) * R);
    replace(params_, sizeof(GenerationSampling) * R);
    replace(offsets_, sizeof(int64_t) * (R + 1));
    replace(seen_, sizeof(uint32_t) * static_cast<size_t>(R * vocab_));
    const std::vector<uint32_t> zeros(static_cast<size_t>(R * vocab_), 0);
    device_->upload(seen_, zeros.data(), sizeof(uint32_t) * zeros.size());
    sample_capacity_ = R;
  }
  if (history_tokens > history_capacity_) {
    const int64_t T = std::max(history_tokens, 2 * history_capacity_);
    replace(history_, sizeof(int32_t) * T);
    history_capacity_ = T;
  }
}

GenerationSampling generation_sampling(const SamplingParams& p, int64_t vocab) {
  GenerationSampling g;
  g.temperature = p.temperature;
  g.top_p = p.top_p;
  g.top_k = static_cast<int32_t>(std::min<int64_t>(p.top_k, vocab));
  g.min_p = p.min_p;
  g.repetition_penalty = p.repetition_penalty;
  g.frequency_penalty = p.frequency_penalty;
  g.presence_penalty = p.presence_penalty;
  return g;
}

std::vector<int32_t> DeviceEngine::sample(const std::vector<DeviceSampleRow>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  if (n == 0) return {};
  host_params_.resize(n);
  host_offsets_.assign(1, 0);
  host_history_.clear();
  for (int64_t i = 0; i < n; ++i) {
    const SamplingParams& p = *rows[i].params;
    GenerationSampling& g = host_params_[i];
    g = generation_sampling(p, vocab_);
    if (p.temperature > 0.0f && p.top_k != 1) g.uniform = rows[i].rng->uniform();
    // The row's span of the history array: its sequence, read only for the penalties (rows without
    // one send none), then the ids held back.
    const size_t start = host_history_.size();
    if (p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
      host_history_.insert(host_history_.end(), rows[i].history->begin(), rows[i].history->end());
      g.prompt_length = static_cast<int32_t>(rows[i].prompt_length);
    }
    g.history_length = static_cast<int32_t>(host_history_.size() - start);
    host_history_.insert(host_history_.end(), rows[i].held_back.begin(), rows[i].held_back.end());
    host_offsets_.push_back(static_cast<int64_t>(host_history_.size()));
  }
  grow_sampling(n, std::max<int64_t>(1, static_cast<int64_t>(host_history_.size())));
  device_->upload(params_, host_params_.data(), sizeof(GenerationSampling) * n);
  device_->upload(offsets_, host_offsets_.data(), sizeof(int64_t) * (n + 1));
  device_->upload(history_, host_history_.data(), sizeof(int32_t) * host_history_.size());
  device_->sample(tokens_, model_->logits(), n, vocab_, params_, history_, offsets_, seen_);
  host_tokens_.resize(n);
  device_->download(host_tokens_.data(), tokens_, sizeof(int32_t) * n);
  for (int64_t i = 0; i < n; ++i)
    if (host_tokens_[i] < 0 || host_tokens_[i] >= vocab_)
      fail("device sampling: row {} of {} drew token {} outside the vocabulary of {} (temperature {}, top_p {}, "
           "top_k {}, min_p {}; non-finite logits?)",
           i, n, host_tokens_[i], vocab_, host_params_[i].temperature, host_params_[i].top_p, host_params_[i].top_k,
           host_params_[i].min_p);
  return host_tokens_;
}

}  // namespace tt::infer
