// llama.cpp's conventions for llama-family models in GGUF, shared by the export (model/gguf_export) and
// the import (io/gguf_import): tensor names, the Llama-3 pre-tokenizer, and the Q/K row order of RoPE.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace tt {

// HF <-> llama.cpp tensor names of a llama model: whole names, and per layer the parts after
// "model.layers.N." / "blk.N.". Shared by the export and the import.
struct GgufTensorName {
  const char* hf;
  const char* gguf;
};
std::span<const GgufTensorName> llama_gguf_top_names();
std::span<const GgufTensorName> llama_gguf_layer_names();

// The Llama-3 pre-tokenizer split regex (tokenizer.json); llama.cpp calls this pre-tokenizer "llama-bpe".
// (text/pretokenize.h has the same pattern; the io layer cannot include text.)
extern const char* const kLlamaBpeSplitRegex;

// Q/K rows of a [heads * head_dim, in] projection, rotate-half halves -> interleaved pairs.
void permute_rope_rows(const float* src, float* dst, int64_t heads, int64_t head_dim, int64_t in_features);
// The inverse: interleaved pairs -> rotate-half halves.
void unpermute_rope_rows(const float* src, float* dst, int64_t heads, int64_t head_dim, int64_t in_features);

// Llama 3's RoPE scaling (rope_scaling rope_type "llama3") as llama.cpp stores it: the tensor
// rope_freqs.weight, head_dim / 2 factors that divide each base frequency theta^(-2i/head_dim), computed
// as convert_hf_to_gguf.py's LlamaModel does (in fp32, as its torch code): 1 where the wavelength is
// below original / high_freq_factor, `factor` above original / low_freq_factor, and the smooth blend
// between. llama.cpp's llama architecture loads the tensor; the qwen3 one does not.
struct Llama3RopeScaling {
  double factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};
std::vector<float> llama3_rope_freq_factors(const Llama3RopeScaling& scaling, double theta, int64_t head_dim);
inline constexpr const char* kRopeFreqsTensor = "rope_freqs.weight";

}  // namespace tt
