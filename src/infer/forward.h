// The inference forward pass: token rows of many sequences at once (prefill chunks and decode steps
// mixed), K/V kept in a paged cache. The family's layer recipe (model/recipe.h) that model_forward
// also runs, here with the matmuls on the row-invariant packed GEMM and attention computed per query
// row over that sequence's cache (kernels/cpu/packed_gemm.h, paged_attention.h) — so every row's
// result depends only on its own sequence, never on the batch.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "infer/kv_cache.h"
#include "core/precision.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/rope.h"
#include "model/checkpoint.h"

namespace tt::infer {

struct StepInput {
  std::vector<int32_t> tokens;      // [rows]
  std::vector<int32_t> positions;   // [rows]
  std::vector<int32_t> sequences;   // [rows] cache sequence id of each row
  std::vector<int32_t> logit_rows;  // rows whose next-token logits are wanted
  void clear() {
    tokens.clear();
    positions.clear();
    sequences.clear();
    logit_rows.clear();
  }
  // Fails (one line) on a token id outside [0, vocab_size) or a position outside [0, context_limit).
  void check(int64_t vocab_size, int64_t context_limit) const;
};

class InferenceModel {
 public:
  // `model` must outlive this object (fp32 weights are used in place). BF16 keeps a 16-bit copy of
  // every matmul weight and rounds activations before each product, as training's bf16 mode does.
  InferenceModel(Model& model, Precision precision);

  const ModelConfig& config() const { return model_->config; }
  Precision precision() const { return precision_; }
  // Bytes of the packed matmul weights (every layer's projections and the classifier): what one decode
  // step streams from memory whatever its batch, the bandwidth roofline's numerator.
  int64_t matmul_weight_bytes() const;
  // Multiply-adds x 2 of one token through the layers' projections (the classifier excluded: a prefill
  // computes logits for the last prompt row only); attention over the cache not counted.
  double layer_matmul_flops_per_token() const;
  // Positions a sequence may use: max_position_embeddings (and the attention chunk when set).
  int64_t context_limit() const;

  // Runs the rows: rows of one sequence are consecutive positions, and every earlier position of
  // that sequence is already in `cache` (reserve first). Writes every row's K/V into the cache.
  // logits: [logit_rows.size(), vocab].
  void forward(const StepInput& step, KvCache& cache, float* logits);

 private:
  class EngineLayer;  // the layer recipe's execution context (forward.cpp)

  struct Layer {
    PackedStack qkv, gate_up;  // q, k, v and gate, up: one GEMM each in a decode step
    PackedMatrix wo, down;
    std::array<const PackedMatrix*, 4> matrices() const;  // every packed buffer above
    std::array<PackedMatrixView, 7> weights() const;      // every projection
  };
  Model* model_;
  Precision precision_;
  ModelViews views_;
  std::vector<Layer> layers_;
  PackedMatrix lm_head_;
  RopeTable rope_;
  // scratch
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_, act_, hidden_, stacked_;
  std::vector<const int32_t*> block_tables_;  // [rows] each row's sequence block table
};

}  // namespace tt::infer
