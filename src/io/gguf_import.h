// Import a llama-architecture GGUF (ours, or one llama.cpp's converter wrote), or a dense llama4_text
// model as our export writes it ("qwen3" whose q/k norm weights are all 1, or "llama" marked
// tinythink.model_type llama4_text; a qwen3 with learned norms, a real Qwen3, is refused), back into an
// HF checkpoint directory: config.json, model.safetensors, and when the file holds a Llama-3 BPE tokenizer
// (tokenizer.ggml.model "gpt2", pre "llama-bpe") tokenizer.json, tokenizer_config.json (special tokens,
// chat template) and generation_config.json. The inverse of gguf_export: llama.cpp's tensor names back
// to HF's, dims reversed, the Q/K rows permuted back to the HF layout (llama: rotate-half halves; llama4_text:
// interleaved pairs).
// Tensors keep their precision: F32 -> F32, F16 -> F16, BF16 -> BF16 (bit for bit), Q8_0 -> F32 (d * q).
// Every inconsistency (a missing or malformed key, an unknown <arch>.* or tinythink.* key, a tensor with an unknown name
// or the wrong shape, a missing tensor) throws tt::Error naming the file and the key or tensor.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/safetensors.h"

namespace tt {

struct ImportedTensor {
  std::string name;  // HF name
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // HF order
  std::vector<float> values;
};

struct ImportedCheckpoint {
  nlohmann::json config;
  std::vector<ImportedTensor> tensors;  // in the GGUF's order
  bool has_tokenizer = false;
  nlohmann::json tokenizer;         // tokenizer.json
  nlohmann::json tokenizer_config;  // tokenizer_config.json
  nlohmann::json generation_config;
};

// The conversion itself, from parsed contents (`label` names the file in errors).
ImportedCheckpoint checkpoint_from_gguf(const GgufContents& gguf, const std::string& label);

// Reads `gguf_path` and writes the checkpoint into `out_dir` (created; refused when it already holds a
// config.json unless overwrite).
void import_gguf(const std::string& gguf_path, const std::string& out_dir, bool overwrite);

}  // namespace tt
