// llama.cpp's conventions for llama-family models in GGUF, shared by the export (model/gguf_export) and
// the import (io/gguf_import): tensor names, the Llama-3 pre-tokenizer, and the Q/K row order of RoPE.
#pragma once
#include <cstdint>
#include <span>

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

}  // namespace tt
