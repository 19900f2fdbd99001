#include "io/gguf_llama.h"

#include <algorithm>
#include <cmath>
#include <numbers>

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

std::vector<float> llama3_rope_freq_factors(const Llama3RopeScaling& s, double theta, int64_t head_dim) {
  const float original = static_cast<float>(s.original_max_position_embeddings);
  const float low = static_cast<float>(s.low_freq_factor);
  const float low_freq_wavelen = static_cast<float>(static_cast<double>(s.original_max_position_embeddings) / s.low_freq_factor);
  const float high_freq_wavelen = static_cast<float>(static_cast<double>(s.original_max_position_embeddings) / s.high_freq_factor);
  const float factor = static_cast<float>(s.factor), two_pi = static_cast<float>(2.0 * std::numbers::pi);
  std::vector<float> factors;
  for (int64_t i = 0; 2 * i < head_dim; ++i) {
    const float freq = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * i) / static_cast<float>(head_dim));
    const float wavelen = two_pi / freq;
    if (wavelen < high_freq_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      factors.push_back(factor);
    } else {
      const float smooth = (original / wavelen - low) / static_cast<float>(s.high_freq_factor - s.low_freq_factor);
      factors.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return factors;
}

}  // namespace tt
