// The model's parameters live in one contiguous fp32 buffer (llm.c style); gradients and each
// optimizer moment are buffers of the same layout. Named views give each tensor its place, with
// its HF name, so checkpoints, the optimizer and parity tests work on whole buffers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace tt {

struct TensorSlot {
  std::string name;            // HF tensor name, e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // HF shape, e.g. [out, in] for a Linear weight
  int64_t offset = 0;          // in floats, into the buffer
  int64_t numel = 0;
  bool is_norm = false;        // RMSNorm weights (excluded from weight decay, initialised to 1)
};

struct ParameterLayout {
  std::vector<TensorSlot> slots;
  int64_t total = 0;
  const TensorSlot* find(const std::string& name) const;
};

ParameterLayout make_parameter_layout(const ModelConfig& config);

// Pointers into one buffer of the layout above (parameters, gradients or a bf16-rounded copy).
struct LayerViews {
  float* attn_norm;  // [C]
  float* wq;         // [heads*D, C]
  float* wk;         // [kv_heads*D, C]
  float* wv;         // [kv_heads*D, C]
  float* wo;         // [C, heads*D]
  float* ffn_norm;   // [C]
  float* w_gate;     // [F, C]
  float* w_up;       // [F, C]
  float* w_down;     // [C, F]
};

struct ModelViews {
  float* embed;       // [V, C]
  std::vector<LayerViews> layers;
  float* final_norm;  // [C]
  float* lm_head;     // [V, C]; equals embed when embeddings are tied
};

ModelViews make_model_views(const ModelConfig& config, float* buffer);

}  // namespace tt
