// Field-by-field equality with the GGUF files llama.cpp's own convert_hf_to_gguf.py wrote for the same
// checkpoint (../shared/data/fixtures/gguf, see its README).
#include "model/gguf_export.h"

#include <functional>

#include <gtest/gtest.h>

#include "core/error.h"

#include "io/file.h"
#include "io/gguf_import.h"
#include "kernels/cpu/rope.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

namespace tt {
namespace {

std::string fixture(const std::string& name) { return testing::shared_dir() + "/data/fixtures/gguf/" + name; }

void expect_same_as_llama_cpp(GgufOutType outtype, const std::string& reference) {
  GgufContents ours = parse_gguf(serialize_gguf(build_gguf(fixture("llama-tiny"), {.outtype = outtype})), "ours");
  GgufContents theirs = read_gguf(fixture(reference));
  ASSERT_EQ(ours.metadata.size(), theirs.metadata.size());
  for (size_t i = 0; i < theirs.metadata.size(); ++i) {
    EXPECT_EQ(ours.metadata[i].key, theirs.metadata[i].key) << "metadata #" << i;
    EXPECT_TRUE(ours.metadata[i].value == theirs.metadata[i].value)
        << theirs.metadata[i].key << ": ours " << ours.metadata[i].value.describe() << ", llama.cpp "
        << theirs.metadata[i].value.describe();
  }
  ASSERT_EQ(ours.tensors.size(), theirs.tensors.size());
  for (size_t i = 0; i < theirs.tensors.size(); ++i) {
    const auto &a = ours.tensors[i], &b = theirs.tensors[i];
    EXPECT_EQ(a.name, b.name) << "tensor #" << i;
    EXPECT_EQ(a.type, b.type) << b.name;
    EXPECT_EQ(a.dims, b.dims) << b.name;
    EXPECT_TRUE(a.data == b.data) << b.name << ": bytes differ";
  }
}

TEST(GgufExport, F32MatchesLlamaCppConverter) { expect_same_as_llama_cpp(GgufOutType::F32, "model-f32.gguf"); }
TEST(GgufExport, F16MatchesLlamaCppConverter) { expect_same_as_llama_cpp(GgufOutType::F16, "model-f16.gguf"); }

TEST(GgufExport, PermuteRopeRowsInterleavesHalves) {
  // one head, head_dim 4, one input column: rows [a0 a1 | b0 b1] -> [a0 b0 a1 b1]
  float src[4] = {0, 1, 2, 3}, dst[4];
  permute_rope_rows(src, dst, 1, 4, 1);
  EXPECT_EQ(std::vector<float>(dst, dst + 4), (std::vector<float>{0, 2, 1, 3}));
}

// A random llama4_text checkpoint (tests/fixtures/gguf_llama4, edited by `edit`) with llama-tiny's tokenizer.
std::string llama4_checkpoint(const std::function<void(nlohmann::json&)>& edit = {}) {
  nlohmann::json json = read_json_file(testing::fixture_dir() + "/gguf_llama4/config.json");
  if (edit) edit(json);
  std::string dir = testing::make_temp_dir("gguf-llama4");
  save_model(init_model(config_from_json(json, "llama4 test config"), 3), dir,
             {.tokenizer_source = fixture("llama-tiny")});
  return dir;
}

std::vector<float> values_of(const GgufTensor& t) {
  int64_t n = 1;
  for (uint64_t d : t.dims) n *= static_cast<int64_t>(d);
  return decode_ggml(t.type, t.data.data(), n);
}

TEST(GgufExport, Llama4TextWithQkNormIsQwen3WithUnitNormsAndRotateHalfRows) {
  std::string dir = llama4_checkpoint();
  GgufContents g = build_gguf(dir, {.outtype = GgufOutType::F32});
  EXPECT_TRUE(*g.find("general.architecture") == GgufValue::string("qwen3"));
  EXPECT_TRUE(*g.find("qwen3.context_length") == GgufValue::u32(2048)) << "the chunk size, not max_position_embeddings";
  EXPECT_TRUE(*g.find("qwen3.attention.key_length") == GgufValue::u32(16));
  EXPECT_EQ(g.find("llama.block_count"), nullptr);
  // What qwen3's keys cannot say, for `tinythink import` (llama.cpp ignores unknown keys).
  EXPECT_TRUE(*g.find("tinythink.model_type") == GgufValue::string("llama4_text"));
  EXPECT_TRUE(*g.find("tinythink.max_position_embeddings") == GgufValue::u32(4096));
  EXPECT_TRUE(*g.find("tinythink.attention_chunk_size") == GgufValue::u32(2048));
  for (const char* name : {"blk.1.attn_q_norm.weight", "blk.1.attn_k_norm.weight"}) {
    const GgufTensor* norm = g.find_tensor(name);
    ASSERT_NE(norm, nullptr) << name;
    EXPECT_EQ(norm->dims, std::vector<uint64_t>{16});
    EXPECT_EQ(values_of(*norm), std::vector<float>(16, 1.0f));
  }
  // HF's interleaved q rows (2i, 2i+1) of each head become llama.cpp's rotate-half rows (i, 8 + i).
  SafetensorsFile hf(dir + "/model.safetensors");
  std::vector<float> q(64 * 64);
  hf.read_f32("model.layers.1.self_attn.q_proj.weight", q.data());
  std::vector<float> ours = values_of(*g.find_tensor("blk.1.attn_q.weight"));
  for (int64_t head = 0; head < 4; ++head)
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t col = 0; col < 64; ++col)
          ASSERT_EQ(ours[(head * 16 + j * 8 + i) * 64 + col], q[(head * 16 + 2 * i + j) * 64 + col]) << head << " " << i;
  EXPECT_NE(g.find_tensor("blk.0.ffn_gate.weight"), nullptr) << "feed_forward.gate_proj";
}

TEST(GgufExport, Llama4TextWithoutQkNormIsLlamaWithItsInterleavedRowsAsTheyAre) {
  std::string dir = llama4_checkpoint([](nlohmann::json& j) { j["use_qk_norm"] = false; });
  GgufContents g = build_gguf(dir, {.outtype = GgufOutType::F32});
  EXPECT_TRUE(*g.find("general.architecture") == GgufValue::string("llama"));
  EXPECT_EQ(g.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
  SafetensorsFile hf(dir + "/model.safetensors");
  std::vector<float> k(32 * 64);
  hf.read_f32("model.layers.0.self_attn.k_proj.weight", k.data());
  EXPECT_EQ(values_of(*g.find_tensor("blk.0.attn_k.weight")), k);
}

TEST(GgufExport, Llama4TextRefusalsNameTheReason) {
  std::string dir = llama4_checkpoint();
  nlohmann::json json = read_json_file(dir + "/config.json");
  json["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 1024}};
  write_json_file(dir + "/config.json", json);
  EXPECT_NE(testing::error_of([&] { build_gguf(dir, {}); }).find(dir + "/config.json: rope_scaling (llama3) with use_qk_norm"),
            std::string::npos);
  json["rope_scaling"] = nullptr;
  json["no_rope_layers"] = {1, 0};
  write_json_file(dir + "/config.json", json);
  EXPECT_NE(testing::error_of([&] { build_gguf(dir, {}); }).find("NoPE layer"), std::string::npos);
}

// Llama 3's RoPE scaling was refused ("not supported by the GGUF export yet"), so no Llama 3.x-shaped
// checkpoint (the tiny-llama preset) could be exported. It is llama.cpp's rope_freqs.weight, first in
// the file as the converter writes it: the ratio of each base frequency to the scaled one our RoPE
// uses; the import reads it back into rope_scaling (tests/llama_cpp_gguf_test.mjs runs such a file
// in llama.cpp and compares its log-probs with ours).
TEST(GgufExport, Llama3RopeScalingIsRopeFreqsAndImportsBack) {
  const nlohmann::json scaling = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                  {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  auto checkpoint = [&](const nlohmann::json& rope_scaling) {
    nlohmann::json json = read_json_file(testing::fixture_dir() + "/gguf_llama/config.json");
    json["rope_scaling"] = rope_scaling;
    std::string dir = testing::make_temp_dir("gguf-llama-rope");
    save_model(init_model(config_from_json(json, "llama test config"), 3), dir, {.tokenizer_source = fixture("llama-tiny")});
    return dir;
  };
  GgufContents g = build_gguf(checkpoint(scaling), {.outtype = GgufOutType::F16});
  ASSERT_FALSE(g.tensors.empty());
  const GgufTensor& freqs = g.tensors[0];
  EXPECT_EQ(freqs.name, "rope_freqs.weight");
  EXPECT_EQ(freqs.type, GgmlType::F32);
  ASSERT_EQ(freqs.dims, std::vector<uint64_t>{8});
  RopeParams plain{.style = RopeStyle::RotateHalf, .head_dim = 16, .theta = 10000.0};
  RopeParams scaled = plain;
  scaled.scaling = {"llama3", 8.0, 1.0, 4.0, 64};
  const std::vector<float> base = rope_inverse_frequencies(plain), ours = rope_inverse_frequencies(scaled);
  const std::vector<float> factors = values_of(freqs);
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(factors[i], base[i] / ours[i], 1e-6 * factors[i]) << i;
  EXPECT_EQ(factors[0], 1.0f);                          // wavelength 6.3 < 64 / 4
  EXPECT_GT(factors[1], 1.0f);  // between: the smooth blend
  EXPECT_LT(factors[2], 8.0f);
  EXPECT_EQ(factors[7], 8.0f);                          // wavelength 19869 > 64
  EXPECT_TRUE(*g.find("tinythink.rope_scaling.original_max_position_embeddings") == GgufValue::u32(64));
  EXPECT_EQ(checkpoint_from_gguf(g, "ours").config["rope_scaling"], scaling);

  // A file llama.cpp's converter wrote for a Llama 3.2 (no tinythink keys): Llama 3's parameters, the
  // factor its largest entry; an entry those parameters do not give is refused.
  nlohmann::json llama32 = scaling;
  llama32["factor"] = 32.0, llama32["original_max_position_embeddings"] = 8192;
  GgufContents converted = build_gguf(checkpoint(llama32), {.outtype = GgufOutType::F32});
  std::erase_if(converted.metadata, [](const GgufKeyValue& kv) { return kv.key.starts_with("tinythink."); });
  EXPECT_EQ(checkpoint_from_gguf(converted, "theirs").config["rope_scaling"], llama32);
  std::vector<float> other = values_of(converted.tensors[0]);
  other[3] *= 1.5f;
  converted.tensors[0].data = encode_ggml(GgmlType::F32, other.data(), 8);
  EXPECT_NE(testing::error_of([&] { checkpoint_from_gguf(converted, "theirs"); })
                .find("theirs: tensor rope_freqs.weight: entry 3"), std::string::npos);
}

TEST(GgufExport, RejectsUnknownOuttype) { EXPECT_THROW(parse_gguf_outtype("q4_0"), Error); }

}  // namespace
}  // namespace tt
