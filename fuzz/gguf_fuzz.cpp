// The GGUF reader (io/gguf) and the import on top of it (model/gguf_import): header, metadata values,
// tensor infos and data bounds, then llama metadata, tensor names and shapes, dequantisation and the
// tokenizer. With TT_FUZZ_WRITE_SEED=PATH the target writes a small valid llama GGUF there (f32, f16,
// bf16 and q8_0 tensors, a 6-token BPE tokenizer) and exits (the seed corpus of scripts/fuzz.sh).
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_import.h"

namespace {

tt::GgufTensor tensor(const std::string& name, tt::GgmlType type, std::vector<uint64_t> dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  std::vector<float> values(n);
  for (uint64_t i = 0; i < n; ++i) values[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.25f;
  return {name, type, dims, tt::encode_ggml(type, values.data(), static_cast<int64_t>(n))};
}

tt::GgufContents seed_model() {
  using tt::GgufValue, tt::GgmlType;
  tt::GgufContents g;
  auto& md = g.metadata;
  md.push_back({"general.architecture", GgufValue::string("llama")});
  md.push_back({"llama.block_count", GgufValue::u32(1)});
  md.push_back({"llama.context_length", GgufValue::u32(64)});
  md.push_back({"llama.embedding_length", GgufValue::u32(32)});
  md.push_back({"llama.feed_forward_length", GgufValue::u32(32)});
  md.push_back({"llama.attention.head_count", GgufValue::u32(2)});
  md.push_back({"llama.attention.head_count_kv", GgufValue::u32(1)});
  md.push_back({"llama.rope.freq_base", GgufValue::f32(10000.0f)});
  md.push_back({"llama.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f)});
  md.push_back({"llama.rope.dimension_count", GgufValue::u32(16)});
  md.push_back({"tokenizer.ggml.model", GgufValue::string("gpt2")});
  md.push_back({"tokenizer.ggml.pre", GgufValue::string("llama-bpe")});
  md.push_back({"tokenizer.ggml.tokens", GgufValue::string_array({"a", "b", "ab", "Ġ", "<|begin_of_text|>", "<|eot_id|>"})});
  md.push_back({"tokenizer.ggml.token_type", GgufValue::i32_array({1, 1, 1, 1, 3, 3})});
  md.push_back({"tokenizer.ggml.merges", GgufValue::string_array({"a b"})});
  md.push_back({"tokenizer.ggml.bos_token_id", GgufValue::u32(4)});
  md.push_back({"tokenizer.ggml.eos_token_id", GgufValue::u32(5)});
  md.push_back({"tokenizer.ggml.add_bos_token", GgufValue::boolean(true)});
  md.push_back({"tokenizer.chat_template", GgufValue::string("{{ bos_token }}{{ messages[0]['content'] }}")});
  g.tensors = {tensor("token_embd.weight", GgmlType::F32, {32, 6}),
               tensor("output_norm.weight", GgmlType::F32, {32}),
               tensor("blk.0.attn_norm.weight", GgmlType::F32, {32}),
               tensor("blk.0.attn_q.weight", GgmlType::Q8_0, {32, 32}),
               tensor("blk.0.attn_k.weight", GgmlType::F16, {32, 16}),
               tensor("blk.0.attn_v.weight", GgmlType::BF16, {32, 16}),
               tensor("blk.0.attn_output.weight", GgmlType::Q8_0, {32, 32}),
               tensor("blk.0.ffn_norm.weight", GgmlType::F32, {32}),
               tensor("blk.0.ffn_gate.weight", GgmlType::F16, {32, 32}),
               tensor("blk.0.ffn_up.weight", GgmlType::F16, {32, 32}),
               tensor("blk.0.ffn_down.weight", GgmlType::Q8_0, {32, 32})};
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("TT_FUZZ_WRITE_SEED")) {
    tt::write_gguf(seed, seed_model(), true);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tt::GgufContents gguf = tt::parse_gguf(std::string(reinterpret_cast<const char*>(data), size), "fuzz.gguf");
    tt::ImportedCheckpoint checkpoint = tt::checkpoint_from_gguf(gguf, "fuzz.gguf");
    (void)checkpoint.tokenizer.dump();
  } catch (const tt::Error&) {
  }
  return 0;
}
