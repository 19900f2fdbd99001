// Export a Llama-family checkpoint directory (config.json, model*.safetensors, tokenizer.json,
// tokenizer_config.json) as GGUF v3 the way llama.cpp's convert_hf_to_gguf.py does: the same metadata
// keys in the same order, the Llama-3 BPE tokenizer, tensors renamed to llama.cpp's names with dims
// reversed, and the Q/K rows permuted from rotate-half to llama.cpp's interleaved RoPE layout.
// A dense llama4_text checkpoint (MobileLLM-R1) is written as llama.cpp's "qwen3" (use_qk_norm: unit
// q/k norm weights, Q/K rows from interleaved to rotate-half) or "llama" (no qk norm, rows as they are),
// because llama.cpp cannot run it as "llama4" (gguf_export.cpp, read_llama4_shape, says why).
#pragma once
#include <string>

#include "io/gguf.h"
#include "io/gguf_llama.h"

namespace tt {

enum class GgufOutType { F32, F16, BF16, Q8_0 };
GgufOutType parse_gguf_outtype(const std::string& text);  // f32|f16|bf16|q8_0, else tt::Error

struct GgufExportOptions {
  GgufOutType outtype = GgufOutType::F16;
  std::string name = "Model";  // general.name (llama.cpp's converter writes "Model" when it has no better name)
};

GgufContents build_gguf(const std::string& model_dir, const GgufExportOptions& options);



}  // namespace tt
