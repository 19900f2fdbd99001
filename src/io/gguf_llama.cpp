#include "io/gguf_llama.h"

#include <algorithm>

namespace tt {

const char* const kLlamaBpeSplitRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::span<const GgufTensorName> llama_gguf_top_names() {
  static const GgufTensorName names[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  return names;
}

std::span<const GgufTensorName> llama_gguf_layer_names() {
  static const GgufTensorName names[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  return names;
}

void permute_rope_rows(const float* src, float* dst, int64_t heads, int64_t head_dim, int64_t in_features) {
  int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const float* from = src + (h * head_dim + j * half + i) * in_features;
        std::copy(from, from + in_features, dst + (h * head_dim + 2 * i + j) * in_features);
      }
}

void unpermute_rope_rows(const float* src, float* dst, int64_t heads, int64_t head_dim, int64_t in_features) {
  int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const float* from = src + (h * head_dim + 2 * i + j) * in_features;
        std::copy(from, from + in_features, dst + (h * head_dim + j * half + i) * in_features);
      }
}

}  // namespace tt
