#include "train/device_memory.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "model/params.h"

namespace tt {

namespace {

constexpr int64_t kClassifierChunkRows = 1024;                // kernels/cuda/train_device.cu
constexpr size_t kCublasWorkspace = size_t(32) << 20;         // kernels/cuda/gemm.h's default
constexpr size_t kAllocatorAllowance = size_t(256) << 20;     // rope tables, handles, fragmentation

double gib(size_t bytes) { return static_cast<double>(bytes) / double(1ull << 30); }

}  // namespace

DeviceMemoryEstimate estimate_training_memory(const ModelConfig& c, const MicroBatchShape& largest,
                                              int optimizer_ranks) {
  DeviceMemoryEstimate e;
  e.parameters = make_parameter_layout(c).total;
  const size_t P = static_cast<size_t>(e.parameters);
  // fp32 master, fp32 gradients and the bf16 copy of every parameter; two fp32 moments and one
  // decay-mask byte of this rank's slice (ZeRO-1: 1 / optimizer_ranks of them, rounded up)
  const size_t ranks = static_cast<size_t>(std::max(optimizer_ranks, 1)), slice = (P + ranks - 1) / ranks;
  e.parameter_state = P * (2 * sizeof(float) + sizeof(uint16_t)) + slice * (2 * sizeof(float) + 1);
  const int64_t N = largest.rows * largest.seq;
  const int64_t C = c.hidden_size, F = c.intermediate_size, H = c.num_attention_heads, KVH = c.num_key_value_heads;
  const int64_t QD = H * c.head_dim, KD = KVH * c.head_dim;
  // DeviceTrainingModel::reserve: per layer x, x_mid, q, attn, k, v, gate, up, lse, two rstd, QK rstd
  const int64_t per_layer = 2 * C + 2 * QD + 2 * KD + 2 * F + H + 2 + (c.use_qk_norm ? H + KVH : 0);
  // the rest: x_final, hidden, h, d_x, d_h, d_tmp, d_hidden, act, d_gate, d_up, d_q, d_attn, d_k, d_v,
  // and per-token ids, weights, log-probs and logit sums
  const int64_t shared = 7 * C + 3 * F + 2 * QD + 2 * KD + 9;
  e.activations = sizeof(float) * (static_cast<size_t>(N) * (per_layer * c.num_hidden_layers + shared) +
                                   static_cast<size_t>(c.vocab_size + C));
  const int64_t chunk = std::min<int64_t>(kClassifierChunkRows, std::max<int64_t>(N, 1));
  e.classifier = sizeof(float) * chunk * c.vocab_size + sizeof(uint16_t) * chunk * (C + c.vocab_size);
  // two bf16 GEMM operand buffers of the widest activation (N x F), the attention backward's
  // [rows, heads, seq] floats, the cuBLASLt workspace and the allowance
  e.scratch = 2 * sizeof(uint16_t) * static_cast<size_t>(N) * std::max(F, std::max(C, QD)) +
              sizeof(float) * static_cast<size_t>(N * H) + kCublasWorkspace + kAllocatorAllowance;
  return e;
}

std::string device_memory_shortfall(const DeviceMemoryEstimate& e, const MicroBatchShape& largest, size_t free_bytes,
                                    const std::string& what) {
  if (e.total() <= free_bytes) return "";
  return fmt::format(
      "{}: needs about {:.2f} GiB of device memory but {:.2f} GiB is free (parameters, bf16 copy, gradients and "
      "AdamW moments of {} parameters {:.2f} GiB; activations for {} x {} tokens {:.2f} GiB; classifier and "
      "scratch {:.2f} GiB): lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the "
      "effective batch) or max_length, or use a smaller model",
      what, gib(e.total()), gib(free_bytes), e.parameters, gib(e.parameter_state), largest.rows, largest.seq,
      gib(e.activations), gib(e.classifier + e.scratch));
}

void require_device_memory(TrainDevice& device, const ModelConfig& config, const MicroBatchShape& largest,
                           const std::string& what, int optimizer_ranks) {
  size_t free_bytes = 0, total_bytes = 0;
  device.memory_info(free_bytes, total_bytes);
  const DeviceMemoryEstimate e = estimate_training_memory(config, largest, optimizer_ranks);
  const std::string shortfall = device_memory_shortfall(e, largest, free_bytes, what);
  if (!shortfall.empty()) fail("{}", shortfall);
  log_info("{}: about {:.2f} GiB of device memory needed for micro-batches of {} x {} tokens, {:.2f} GiB free of "
           "{:.2f} GiB",
           what, gib(e.total()), largest.rows, largest.seq, gib(free_bytes), gib(total_bytes));
}

}  // namespace tt
