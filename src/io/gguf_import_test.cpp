// GGUF import: export -> import gives back the checkpoint (bit for bit in f32, the format's rounding in
// f16/bf16, within half a Q8_0 step in q8_0), with a tokenizer that encodes like the original; bad
// files fail with one message naming the file and the key or tensor.
#include "io/gguf_import.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/gguf_export.h"
#include "model/scoring.h"
#include "tests/error_of.h"
#include "tests/test_util.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt {
namespace {

std::string llama_tiny() { return testing::shared_dir() + "/data/fixtures/gguf/llama-tiny"; }

GgufContents exported(const std::string& model_dir, GgufOutType outtype) {
  return parse_gguf(serialize_gguf(build_gguf(model_dir, {.outtype = outtype})), "exported.gguf");
}

// A random llama checkpoint with rows of 32 (so q8_0 really quantises), beside llama-tiny's tokenizer.
std::string checkpoint_with_rows_of_32() {
  std::string dir = testing::make_temp_dir("gguf-import-32");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(llama_tiny() + "/" + f, dir + "/" + f);
  nlohmann::json config = read_json_file(llama_tiny() + "/config.json");
  config["hidden_size"] = 32, config["intermediate_size"] = 64, config["head_dim"] = 16;
  config["num_hidden_layers"] = 1, config["tie_word_embeddings"] = false;
  write_json_file(dir + "/config.json", config);
  const int64_t vocab = 128256, h = 32, f = 64, q = 32, kv = 16;
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {vocab, h}},  {"lm_head.weight", {vocab, h}},
      {"model.norm.weight", {h}},                 {"model.layers.0.input_layernorm.weight", {h}},
      {"model.layers.0.self_attn.q_proj.weight", {q, h}}, {"model.layers.0.self_attn.k_proj.weight", {kv, h}},
      {"model.layers.0.self_attn.v_proj.weight", {kv, h}}, {"model.layers.0.self_attn.o_proj.weight", {h, q}},
      {"model.layers.0.post_attention_layernorm.weight", {h}}, {"model.layers.0.mlp.gate_proj.weight", {f, h}},
      {"model.layers.0.mlp.up_proj.weight", {f, h}},       {"model.layers.0.mlp.down_proj.weight", {h, f}}};
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<std::vector<float>> values;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, shape] : shapes) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    values.emplace_back(n);
    for (float& x : values.back()) x = normal(rng);
    tensors.push_back({name, DType::F32, shape, values.back().data(), nullptr});
  }
  write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

const ImportedTensor& imported(const ImportedCheckpoint& c, const std::string& name) {
  for (const auto& t : c.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no imported tensor " + name);
}

// Compares every tensor of the original with the import through `same(original, imported, block amax)`.
template <typename Same>
void expect_tensors(const std::string& model_dir, const ImportedCheckpoint& c, Same same) {
  SafetensorsFile original(model_dir + "/model.safetensors");
  size_t compared = 0;
  for (const auto& info : original.tensors()) {
    if (info.name == "lm_head.weight" && c.config["tie_word_embeddings"].get<bool>()) continue;
    const ImportedTensor& t = imported(c, info.name);
    ASSERT_EQ(t.shape, info.shape) << info.name;
    std::vector<float> x(info.numel());
    original.read_f32(info.name, x.data());
    for (size_t i = 0; i < x.size(); ++i) {
      float amax = 0;
      for (size_t j = i / kQ8_0BlockSize * kQ8_0BlockSize; j < (i / kQ8_0BlockSize + 1) * kQ8_0BlockSize && j < x.size(); ++j)
        amax = std::max(amax, std::fabs(x[j]));
      if (!same(x[i], t.values[i], amax)) {
        ADD_FAILURE() << info.name << "[" << i << "]: original " << x[i] << ", imported " << t.values[i];
        return;
      }
    }
    ++compared;
  }
  EXPECT_EQ(compared, c.tensors.size());
}

TEST(GgufImport, UnpermuteUndoesPermute) {
  std::vector<float> rows(2 * 8 * 3), there(rows.size()), back(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i);
  permute_rope_rows(rows.data(), there.data(), 2, 8, 3);
  unpermute_rope_rows(there.data(), back.data(), 2, 8, 3);
  EXPECT_NE(there, rows);
  EXPECT_EQ(back, rows);
}

// The fields of config.json that change the computation.
void expect_same_config(const ModelConfig& ours, const ModelConfig& theirs) {
  EXPECT_EQ(ours.family, theirs.family);
  EXPECT_EQ(ours.hidden_size, theirs.hidden_size);
  EXPECT_EQ(ours.intermediate_size, theirs.intermediate_size);
  EXPECT_EQ(ours.num_hidden_layers, theirs.num_hidden_layers);
  EXPECT_EQ(ours.num_attention_heads, theirs.num_attention_heads);
  EXPECT_EQ(ours.num_key_value_heads, theirs.num_key_value_heads);
  EXPECT_EQ(ours.head_dim, theirs.head_dim);
  EXPECT_EQ(ours.vocab_size, theirs.vocab_size);
  EXPECT_EQ(ours.tie_word_embeddings, theirs.tie_word_embeddings);
  EXPECT_EQ(ours.rms_norm_eps, theirs.rms_norm_eps);  // 1e-05 written back, not the f32 9.99999974738e-06
  EXPECT_EQ(ours.rope_theta, theirs.rope_theta);
  EXPECT_EQ(ours.max_position_embeddings, theirs.max_position_embeddings);  // llama4_text: 4096, not context 2048
  EXPECT_EQ(ours.use_qk_norm, theirs.use_qk_norm);
  EXPECT_EQ(ours.rope_style, theirs.rope_style);
  EXPECT_EQ(ours.rope_scaling.type, theirs.rope_scaling.type);
  EXPECT_EQ(ours.attention_chunk_size, theirs.attention_chunk_size);  // llama4_text: 2048, from tinythink.*
}

TEST(GgufImport, F32RoundTripIsBitwiseWithTheSameConfigAndTokenizer) {
  std::string out = testing::make_temp_dir("gguf-import-f32");
  std::string gguf = out + "/model.gguf";
  write_gguf(gguf, build_gguf(llama_tiny(), {.outtype = GgufOutType::F32}), false);
  import_gguf(gguf, out + "/model", false);
  ImportedCheckpoint c = checkpoint_from_gguf(read_gguf(gguf), gguf);
  expect_tensors(llama_tiny(), c, [](float a, float b, float) { return std::memcmp(&a, &b, 4) == 0; });

  ModelConfig theirs = load_model_config(llama_tiny() + "/config.json");
  ModelConfig ours = load_model_config(out + "/model/config.json");
  expect_same_config(ours, theirs);

  Tokenizer a = Tokenizer::load(llama_tiny()), b = Tokenizer::load(out + "/model");
  for (const char* text : {"Hello, world!", "  indented\n\n\tcode() {}  ", "12345 ünïcödé 日本語 🙂",
                           "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"}) {
    EXPECT_EQ(a.encode(text, true), b.encode(text, true)) << text;
    EXPECT_EQ(b.decode(b.encode(text, false)), text);
  }
  nlohmann::json ta = read_json_file(llama_tiny() + "/tokenizer_config.json");
  nlohmann::json tb = read_json_file(out + "/model/tokenizer_config.json");
  for (const char* key : {"chat_template", "bos_token", "eos_token"}) EXPECT_EQ(ta[key], tb[key]) << key;
  nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "2+2?"}}};
  EXPECT_EQ(ChatTemplate::from_tokenizer_config(out + "/model").render(messages, true).text,
            ChatTemplate::from_tokenizer_config(llama_tiny()).render(messages, true).text);
  EXPECT_EQ(ours.bos_token_id, 128000);
  EXPECT_EQ(ours.eos_token_ids, std::vector<int64_t>{128009});  // the GGUF's eos: tokenizer_config's <|eot_id|>
}

TEST(GgufImport, F16AndBf16KeepTheFileBitsAndDtype) {
  for (GgufOutType outtype : {GgufOutType::F16, GgufOutType::BF16}) {
    bool f16 = outtype == GgufOutType::F16;
    ImportedCheckpoint c = checkpoint_from_gguf(exported(llama_tiny(), outtype), "m.gguf");
    EXPECT_EQ(c.config["torch_dtype"], f16 ? "float16" : "bfloat16");
    EXPECT_EQ(imported(c, "model.layers.0.self_attn.q_proj.weight").dtype, f16 ? DType::F16 : DType::BF16);
    EXPECT_EQ(imported(c, "model.norm.weight").dtype, DType::F32);  // norms stay f32 in the GGUF
    expect_tensors(llama_tiny(), c, [&](float a, float b, float) {
      float rounded = f16 ? f16_to_f32(f32_to_f16(a)) : bf16_to_f32(f32_to_bf16(a));
      return rounded == b || a == b;  // a == b: the f32 norms
    });
  }
}

TEST(GgufImport, Q8_0IsWithinHalfAQuantisationStep) {
  std::string dir = checkpoint_with_rows_of_32();
  GgufContents gguf = exported(dir, GgufOutType::Q8_0);
  ASSERT_EQ(gguf.find_tensor("blk.0.attn_q.weight")->type, GgmlType::Q8_0);
  ImportedCheckpoint c = checkpoint_from_gguf(gguf, "m.gguf");
  EXPECT_FALSE(c.config["tie_word_embeddings"].get<bool>());
  // d = amax / 127 is stored as f16 (relative error 2^-11, times |q| <= 127): at most 0.5 d + 0.07 d.
  expect_tensors(dir, c, [](float a, float b, float amax) { return std::fabs(a - b) <= 0.57f * amax / 127 + 1e-7f; });
}

// Bad files: each message names the file and the key or tensor.
std::string import_error(GgufContents gguf) {
  return testing::error_of([&] { checkpoint_from_gguf(parse_gguf(serialize_gguf(gguf), "bad.gguf"), "bad.gguf"); });
}

GgufValue* value_of(GgufContents& g, const std::string& key) {
  for (auto& kv : g.metadata)
    if (kv.key == key) return &kv.value;
  throw std::runtime_error("no key " + key);
}

TEST(GgufImport, BadMetadataNamesTheKey) {
  GgufContents base = exported(llama_tiny(), GgufOutType::F32);
  GgufContents g = base;
  *value_of(g, "general.architecture") = GgufValue::string("qwen2");
  EXPECT_EQ(import_error(g), "bad.gguf: key general.architecture: 'qwen2' is not supported by the GGUF import (llama, and "
                             "qwen3 as tinythink's llama4_text export writes it)");
  g = base;
  g.metadata.push_back({"llama.rope.scaling.type", GgufValue::string("yarn")});
  EXPECT_EQ(import_error(g), "bad.gguf: key llama.rope.scaling.type is not supported by the GGUF import (it could change the model)");
  g = base;
  *value_of(g, "llama.block_count") = GgufValue{GgufValueType::U64, uint64_t{1} << 40};
  EXPECT_EQ(import_error(g), "bad.gguf: key llama.block_count: 1099511627776 is outside 1..16384");
  g = base;
  *value_of(g, "llama.attention.head_count") = GgufValue::string("two");
  EXPECT_NE(import_error(g).find("bad.gguf: key llama.attention.head_count: expected a non-negative integer"), std::string::npos);
  g = base;
  *value_of(g, "tokenizer.ggml.bos_token_id") = GgufValue::u32(999999);
  EXPECT_NE(import_error(g).find("bad.gguf: key tokenizer.ggml.bos_token_id:"), std::string::npos);
  g = base;
  value_of(g, "tokenizer.ggml.tokens")->strings[7] = "\x95x";  // found by fuzz/gguf_fuzz.cpp: JSON would throw
  EXPECT_EQ(import_error(g), "bad.gguf: key tokenizer.ggml.tokens: entry 7 is not valid UTF-8");
  g = base;
  value_of(g, "tokenizer.ggml.tokens")->strings.pop_back();
  EXPECT_EQ(import_error(g), "bad.gguf: key tokenizer.ggml.tokens: 128255 tokens for a vocabulary of 128256");
}

TEST(GgufImport, BadTensorsNameTheTensor) {
  GgufContents base = exported(llama_tiny(), GgufOutType::F32);
  auto tensor = [](GgufContents& g, const std::string& name) -> GgufTensor& {
    for (auto& t : g.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  GgufContents g = base;
  tensor(g, "blk.1.ffn_up.weight").name = "blk.7.ffn_up.weight";
  EXPECT_EQ(import_error(g), "bad.gguf: tensor blk.7.ffn_up.weight is not a tensor of a 2-layer llama model");
  g = base;
  std::erase_if(g.tensors, [](const GgufTensor& t) { return t.name == "blk.0.attn_v.weight"; });
  EXPECT_EQ(import_error(g), "bad.gguf: missing tensor for model.layers.0.self_attn.v_proj.weight");
  g = base;
  tensor(g, "token_embd.weight").dims = {16, 0};  // found by fuzz/gguf_fuzz.cpp (UBSan: memcpy from null)
  tensor(g, "token_embd.weight").data.clear();
  EXPECT_EQ(import_error(g), "bad.gguf: tensor token_embd.weight: an empty embedding");
  EXPECT_TRUE(decode_ggml(GgmlType::F32, nullptr, 0).empty());
  g = base;
  GgufTensor& k = tensor(g, "blk.0.attn_k.weight");
  k.dims = {8, 16};  // transposed
  EXPECT_EQ(import_error(g), "bad.gguf: tensor blk.0.attn_k.weight: HF shape [16, 8], expected [8, 16]");
}

// llama4_text: a random dense checkpoint (tests/fixtures/gguf_llama4) with llama-tiny's tokenizer,
// exported as qwen3 (use_qk_norm) or llama (without), imported back as llama4_text.
std::string random_llama4(bool qk_norm) {
  nlohmann::json json = read_json_file(testing::fixture_dir() + "/gguf_llama4/config.json");
  json["use_qk_norm"] = qk_norm;
  std::string dir = testing::make_temp_dir("gguf-import-llama4");
  save_model(init_model(config_from_json(json, "llama4 test config"), 5), dir, {.tokenizer_source = llama_tiny()});
  return dir;
}

std::vector<std::vector<float>> log_probs(const std::string& model_dir) {
  Model model = load_model(model_dir);
  return score_sequences(model, {{128000, 9906, 11, 1917, 0, 220, 16, 17, 18}, {128000, 791, 4320, 374, 220, 19}});
}

void expect_llama4_round_trip(bool qk_norm) {
  std::string dir = random_llama4(qk_norm);
  std::string out = testing::make_temp_dir("gguf-import-llama4-out");
  std::string gguf = out + "/model.gguf";
  write_gguf(gguf, build_gguf(dir, {.outtype = GgufOutType::F32}), false);
  ASSERT_TRUE(*read_gguf(gguf).find("general.architecture") == GgufValue::string(qk_norm ? "qwen3" : "llama"));
  import_gguf(gguf, out + "/model", false);
  expect_tensors(dir, checkpoint_from_gguf(read_gguf(gguf), gguf),
                 [](float a, float b, float) { return std::memcmp(&a, &b, 4) == 0; });

  ModelConfig theirs = load_model_config(dir), ours = load_model_config(out + "/model");
  EXPECT_EQ(ours.family, ModelFamily::Llama4Text);
  EXPECT_EQ(ours.use_qk_norm, qk_norm);
  expect_same_config(ours, theirs);
  EXPECT_EQ(ours.bos_token_id, theirs.bos_token_id);

  // The same forward: log-probs equal bit for bit (same weights, same config, same kernels).
  std::vector<std::vector<float>> a = log_probs(dir), b = log_probs(out + "/model");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size());
    for (size_t j = 0; j < a[i].size(); ++j) EXPECT_EQ(a[i][j], b[i][j]) << "sequence " << i << " token " << j;
  }

  Tokenizer ta = Tokenizer::load(dir), tb = Tokenizer::load(out + "/model");
  for (const char* text : {"Hello, world!", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"})
    EXPECT_EQ(ta.encode(text, true), tb.encode(text, true)) << text;
  nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "2+2?"}}};
  EXPECT_EQ(ChatTemplate::from_tokenizer_config(out + "/model").render(messages, true).text,
            ChatTemplate::from_tokenizer_config(dir).render(messages, true).text);
}

TEST(GgufImport, Llama4TextExportedAsQwen3ComesBackWithTheSameConfigTensorsAndLogProbs) { expect_llama4_round_trip(true); }
TEST(GgufImport, Llama4TextExportedAsLlamaComesBackWithTheSameConfigTensorsAndLogProbs) { expect_llama4_round_trip(false); }

TEST(GgufImport, Qwen3WithoutTinythinkKeysIsLlama4TextWithoutChunking) {
  GgufContents g = exported(random_llama4(true), GgufOutType::F32);
  std::erase_if(g.metadata, [](const GgufKeyValue& kv) { return kv.key.starts_with("tinythink."); });
  ImportedCheckpoint c = checkpoint_from_gguf(parse_gguf(serialize_gguf(g), "m.gguf"), "m.gguf");
  ModelConfig config = config_from_json(c.config, "imported");
  EXPECT_EQ(config.family, ModelFamily::Llama4Text);
  EXPECT_TRUE(config.use_qk_norm);
  EXPECT_EQ(config.max_position_embeddings, 2048);  // the file's context_length
  EXPECT_EQ(config.attention_chunk_size, 0);
}

TEST(GgufImport, Qwen3WithLearnedQkNormsIsRefused) {
  GgufContents base = exported(random_llama4(true), GgufOutType::F32);
  GgufContents g = base;
  for (auto& t : g.tensors)
    if (t.name == "blk.1.attn_k_norm.weight") {
      std::vector<float> w(16, 1.0f);
      w[3] = 1.25f;  // a real Qwen3's norms are learned
      t.data = encode_ggml(GgmlType::F32, w.data(), 16);
    }
  EXPECT_EQ(import_error(g),
            "bad.gguf: tensor blk.1.attn_k_norm.weight: weight [3] is 1.25, not 1: a qwen3 model with learned q/k norm "
            "weights (a real Qwen3) is not supported by the GGUF import (only tinythink's llama4_text export, whose "
            "norm weights are 1)");
  g = base;
  std::erase_if(g.tensors, [](const GgufTensor& t) { return t.name == "blk.0.attn_q_norm.weight"; });
  EXPECT_EQ(import_error(g),
            "bad.gguf: missing tensor blk.0.attn_q_norm.weight (a qwen3 file is imported as llama4_text with use_qk_norm)");
  g = base;
  *value_of(g, "tinythink.attention_chunk_size") = GgufValue::u32(1024);
  EXPECT_EQ(import_error(g), "bad.gguf: key qwen3.context_length: 2048 is not min(tinythink.max_position_embeddings "
                             "4096, tinythink.attention_chunk_size 1024)");
  g = base;
  *value_of(g, "tinythink.model_type") = GgufValue::string("llama4");
  EXPECT_EQ(import_error(g), "bad.gguf: key tinythink.model_type: 'llama4' is not supported by the GGUF import (llama4_text only)");
  g = base;
  g.metadata.push_back({"qwen3.rope.scaling.type", GgufValue::string("yarn")});
  EXPECT_EQ(import_error(g), "bad.gguf: key qwen3.rope.scaling.type is not supported by the GGUF import (it could change the model)");
}

}  // namespace
}  // namespace tt
