// The inference forward pass on a GPU: the same rows-of-many-sequences step as infer/forward.h, through
// the same layer recipe (model/recipe.h), with weights, activations and the paged KV cache in device
// memory (kernels/generation_device.h). Every kernel it uses is batch-invariant — the row-invariant
// GEMM (fp32: the CPU engine's FMA chain, same bits; bf16: tensor cores with a fixed tile and K order,
// within fp32 rounding of the CPU's), per-row norms and RoPE, paged attention with a fixed order per
// row — so a row's logits depend only on its own sequence, as on the CPU.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "infer/forward.h"
#include "kernels/generation_device.h"
#include "model/checkpoint.h"

namespace tt::infer {

class DeviceInferenceModel {
 public:
  // Copies the weights to `device` (matmul weights as bf16 bits in BF16 mode, as InferenceModel's
  // 16-bit copies; fp32 otherwise). `device` must outlive this object; its KV cache is created by
  // create_cache.
  DeviceInferenceModel(Model& model, Precision precision, GenerationDevice& device);
  ~DeviceInferenceModel();
  DeviceInferenceModel(const DeviceInferenceModel&) = delete;
  DeviceInferenceModel& operator=(const DeviceInferenceModel&) = delete;

  const ModelConfig& config() const { return model_->config; }
  int64_t context_limit() const;
  GenerationDevice& device() { return *device_; }

  // The paged KV cache on the device: `memory_fraction` of the free memory, at most max_sequences
  // sequences of context_limit() positions.
  void create_cache(int64_t max_sequences, double memory_fraction, int64_t block_size = 16);

  // As InferenceModel::forward, with the rows' sequences being the device cache's (reserved, tables
  // uploaded). Logits of the logit rows stay on the device (logits()); `host_logits`, when given,
  // receives a copy [logit_rows.size(), vocab].
  void forward(const StepInput& step, float* host_logits = nullptr);
  float* logits() { return logits_; }

  // Decode steps through CUDA graphs (kernels/generation_device.h): a step whose rows are all logit rows
  // in order (every row samples its next token) and at most max_rows of them replays the graph recorded
  // for its bucket of rows (1, 2, 4, 8, then multiples of 16), recorded on first use. The rows past the
  // step's are copies of its first row (its token, position and sequence): every kernel is per row, so
  // they change no real row's bits, and they rewrite that row's K/V with the same bits. Other steps
  // (prefill chunks) run call by call. The buffers for max_rows rows are reserved here, so the recorded
  // pointers stay valid; a larger step drops the graphs before it grows them.
  void use_graphs(bool on, int64_t max_rows);
  static int64_t graph_rows(int64_t rows);  // the bucket of a decode step of `rows` rows
  int64_t graphs_recorded() const { return static_cast<int64_t>(graphs_.size()); }

 private:
  class DeviceLayer;  // the layer recipe's execution context (device_forward.cpp)
  struct Matrix {
    void* data = nullptr;
    int64_t rows = 0, cols = 0;
  };
  struct Layer {
    Matrix proj[7];  // in Proj's order: q, k, v, o, gate, up, down
    float *attn_norm = nullptr, *ffn_norm = nullptr;
  };
  Matrix upload_matrix(const float* w, int64_t rows, int64_t cols);
  float* upload_floats(const float* values, int64_t count);
  // True when a buffer was reallocated (every recorded graph is then dropped).
  bool reserve_rows(int64_t rows, int64_t logit_rows);
  // The layers and the logit head of `rows` uploaded rows (the last `logit_rows` gathered from
  // logit_rows_): only device calls, so a graph can record it.
  void run(int64_t rows, int64_t logit_rows);
  void forward_through_graph(const StepInput& step, float* host_logits);
  void drop_graphs();

  Model* model_;
  Precision precision_;
  GenerationDevice* device_;
  std::vector<void*> owned_;
  std::vector<Layer> layers_;
  Matrix lm_head_;
  float *embed_ = nullptr, *final_norm_ = nullptr;
  int rope_ = -1;
  // scratch (device), grown to the largest step
  int64_t rows_capacity_ = 0, logit_capacity_ = 0;
  float *x_ = nullptr, *h_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *attn_ = nullptr,
        *gate_ = nullptr, *up_ = nullptr, *act_ = nullptr, *hidden_ = nullptr, *logits_ = nullptr;
  int32_t *tokens_ = nullptr, *positions_ = nullptr, *sequences_ = nullptr, *logit_rows_ = nullptr;
  // CUDA graphs: bucket of rows -> the device's graph id
  bool graphs_on_ = false;
  int64_t graph_max_rows_ = 0;
  std::map<int64_t, int> graphs_;
  std::vector<int32_t> padded_tokens_, padded_positions_, padded_sequences_, padded_logit_rows_;
};

}  // namespace tt::infer
