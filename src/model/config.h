// Model configuration: what HF config.json says, reduced to the fields that change the computation.
//
// Two families: `llama4_text` (Llama4ForCausalLM, dense; MobileLLM-R1) and `llama` (LlamaForCausalLM;
// SmolLM2, Llama-3.2). Fields that would change the computation in ways we do not implement (MoE layers,
// NoPE layers, unknown rope scaling) are rejected with an error naming the field; fields that do not
// change it are accepted; unknown fields produce one warning line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/rope_params.h"

namespace tt {

enum class ModelFamily { Llama, Llama4Text };

struct ModelConfig {
  ModelFamily family = ModelFamily::Llama4Text;
  std::string model_type;    // "llama4_text" | "llama" (as written in config.json)
  std::string architecture;  // "Llama4ForCausalLM" | "LlamaForCausalLM"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // the dense FFN width (Llama4: intermediate_size_mlp)
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  double initializer_range = 0.02;
  bool tie_word_embeddings = true;
  // Llama4: weightless L2 (RMS) norm of q and k after RoPE. Absent in a llama4_text config.json means
  // true (HF's default); always false for llama.
  bool use_qk_norm = false;
  RopeStyle rope_style = RopeStyle::RotateHalf;
  RopeScaling rope_scaling;
  // Llama4 chunked attention: 0 = none. Set when some layer is "chunked_attention" (per layer_types, or as
  // HF derives it: every RoPE layer) and attention_chunk_size is not null. Sequences longer than this are
  // refused by the forward pass (chunking itself is not implemented).
  int64_t attention_chunk_size = 0;
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  int64_t pad_token_id = -1;
  nlohmann::json original;  // the config.json as read (or as a preset builds it), written back on save
};

// Parse an HF config.json object. `source` names the file in error messages.
ModelConfig config_from_json(const nlohmann::json& json, const std::string& source);
// Read and parse a config.json file (or a model directory containing one).
ModelConfig load_model_config(const std::string& path);
// The HF config.json for this config (the original with our fields updated).
nlohmann::json config_to_json(const ModelConfig& config);

// Named presets: "mobilellm-r1-140m", "mobilellm-r1-360m", "mobilellm-r1-950m", "smollm2-135m",
// and small test sizes "tiny-llama4", "tiny-llama", "micro-llama4". Unknown name: error listing them.
ModelConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

// The RoPE kernel's parameters for this model.
RopeParams rope_params(const ModelConfig& config);

// Number of parameters (tied embeddings counted once).
int64_t parameter_count(const ModelConfig& config);
// The longest sequence the model takes: max_position_embeddings, or attention_chunk_size when smaller
// (chunked attention is not implemented, so longer sequences are refused).
int64_t context_limit(const ModelConfig& config);

}  // namespace tt
