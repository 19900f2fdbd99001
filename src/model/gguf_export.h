// Export a Llama-family checkpoint directory (config.json, model*.safetensors, tokenizer.json,
// tokenizer_config.json) as GGUF v3 the way llama.cpp's convert_hf_to_gguf.py does: the same metadata
// keys in the same order, the Llama-3 BPE tokenizer, tensors renamed to llama.cpp's names with dims
// reversed, and the Q/K rows permuted from rotate-half to llama.cpp's interleaved RoPE layout.
#pragma once
#include <string>

#include "io/gguf.h"

namespace tt {

enum class GgufOutType { F32, F16, BF16, Q8_0 };
GgufOutType parse_gguf_outtype(const std::string& text);  // f32|f16|bf16|q8_0, else tt::Error

struct GgufExportOptions {
  GgufOutType outtype = GgufOutType::F16;
  std::string name = "Model";  // general.name (llama.cpp's converter writes "Model" when it has no better name)
};

GgufContents build_gguf(const std::string& model_dir, const GgufExportOptions& options);

// Q/K rows of a [heads * head_dim, in] projection, rotate-half halves -> interleaved pairs.
void permute_rope_rows(const float* src, float* dst, int64_t heads, int64_t head_dim, int64_t in_features);

}  // namespace tt
