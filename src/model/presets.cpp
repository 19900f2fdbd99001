// Named model presets. Each is written as the HF config.json of that model and parsed by
// config_from_json, so a preset and a downloaded config.json take exactly the same path.
#include <functional>
#include <utility>

#include <fmt/ranges.h>

#include "core/error.h"
#include "model/config.h"

namespace tt {

namespace {

using nlohmann::json;

struct Llama4Shape {
  int64_t vocab, hidden, layers, heads, kv_heads, head_dim, ffn, max_positions;
  double rope_theta;
  int64_t bos, eos;
};

// A dense llama4_text config.json in the form MobileLLM-R1 publishes it: the MoE, NoPE, chunking and
// temperature fields are present at values that switch them off (every layer RoPE, no MoE layers,
// chunk size = context length so chunking never binds).
json llama4_dense(const Llama4Shape& s) {
  return {
      {"architectures", {"Llama4ForCausalLM"}},
      {"model_type", "llama4_text"},
      {"attention_bias", false},
      {"attention_chunk_size", s.max_positions},
      {"attention_dropout", 0.0},
      {"attn_scale", 0.1},
      {"attn_temperature_tuning", false},
      {"bos_token_id", s.bos},
      {"eos_token_id", s.eos},
      {"floor_scale", 8192},
      {"head_dim", s.head_dim},
      {"hidden_act", "silu"},
      {"hidden_size", s.hidden},
      {"initializer_range", 0.02},
      {"interleave_moe_layer_step", 0},
      {"intermediate_size", 8192},  // the MoE expert width (HF default); unused by dense layers
      {"intermediate_size_mlp", s.ffn},
      {"max_position_embeddings", s.max_positions},
      {"moe_layers", json::array()},
      {"no_rope_layers", std::vector<int64_t>(s.layers, 1)},
      {"num_attention_heads", s.heads},
      {"num_experts_per_tok", 0},
      {"num_hidden_layers", s.layers},
      {"num_key_value_heads", s.kv_heads},
      {"num_local_experts", 0},
      {"output_router_logits", false},
      {"pad_token_id", nullptr},
      {"rms_norm_eps", 1e-5},
      {"rope_scaling", nullptr},
      {"rope_theta", s.rope_theta},
      {"router_aux_loss_coef", 0.001},
      {"router_jitter_noise", 0.0},
      {"tie_word_embeddings", true},
      {"torch_dtype", "bfloat16"},
      {"use_cache", true},
      {"use_qk_norm", true},
      {"vocab_size", s.vocab},
  };
}

json llama(int64_t vocab, int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads, int64_t ffn,
           int64_t max_positions, double rope_theta, int64_t bos, int64_t eos) {
  return {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", bos},
      {"eos_token_id", eos},
      {"hidden_act", "silu"},
      {"hidden_size", hidden},
      {"initializer_range", 0.02},
      {"intermediate_size", ffn},
      {"max_position_embeddings", max_positions},
      {"mlp_bias", false},
      {"num_attention_heads", heads},
      {"num_hidden_layers", layers},
      {"num_key_value_heads", kv_heads},
      {"pretraining_tp", 1},
      {"rms_norm_eps", 1e-5},
      {"rope_scaling", nullptr},
      {"rope_theta", rope_theta},
      {"tie_word_embeddings", true},
      {"torch_dtype", "bfloat16"},
      {"use_cache", true},
      {"vocab_size", vocab},
  };
}

const std::vector<std::pair<std::string, std::function<json()>>>& presets() {
  static const std::vector<std::pair<std::string, std::function<json()>>> table = {
      // facebook/MobileLLM-R1-140M-base: 140,248,512 parameters.
      {"mobilellm-r1-140m", [] { return llama4_dense({128256, 576, 15, 9, 3, 64, 2048, 32768, 8e6, 128000, 128001}); }},
      // MobileLLM-R1-360M: shape from the model card's table (15 layers, 16/4 heads, 1024, FFN 4096);
      // head_dim 64, rope_theta 8e6 and 32k context assumed equal to the 140M's (verify).
      {"mobilellm-r1-360m", [] { return llama4_dense({128256, 1024, 15, 16, 4, 64, 4096, 32768, 8e6, 128000, 128001}); }},
      // MobileLLM-R1-950M: model card table (22 layers, 24/6 heads, 1536, FFN 6144); head_dim 64,
      // rope_theta 8e6 and 32k context as for the 140M (verify).
      {"mobilellm-r1-950m", [] { return llama4_dense({128256, 1536, 22, 24, 6, 64, 6144, 32768, 8e6, 128000, 128001}); }},
      // HuggingFaceTB/SmolLM2-135M: 134,515,008 parameters.
      {"smollm2-135m",
       [] {
         json j = llama(49152, 576, 30, 9, 3, 1536, 8192, 100000.0, 0, 0);
         j["initializer_range"] = 0.041666666666666664;
         return j;
       }},
      // Test sizes.
      {"tiny-llama4", [] { return llama4_dense({512, 64, 2, 4, 2, 16, 128, 256, 10000.0, 1, 2}); }},
      {"tiny-llama",
       [] {
         json j = llama(512, 64, 2, 4, 2, 128, 256, 10000.0, 1, 2);
         // Context 256 > original 64 and wavelengths of 2*pi..~2*pi*10000 span both llama3 cut-offs, so the
         // scaled and unscaled frequencies differ and tests notice when scaling is skipped.
         j["rope_scaling"] = {{"rope_type", "llama3"},
                              {"factor", 8.0},
                              {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0},
                              {"original_max_position_embeddings", 64}};
         return j;
       }},
      // A fast demo model (~1.05M parameters with these sizes, most of them in the embedding).
      {"micro-llama4", [] { return llama4_dense({2048, 128, 4, 4, 2, 32, 384, 4096, 10000.0, 1, 2}); }},
  };
  return table;
}

}  // namespace

ModelConfig preset_config(const std::string& name) {
  for (const auto& [preset, build] : presets())
    if (preset == name) return config_from_json(build(), "preset " + name);
  fail("unknown model preset '{}' (known: {})", name, fmt::join(preset_names(), ", "));
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& entry : presets()) names.push_back(entry.first);
  return names;
}

}  // namespace tt
