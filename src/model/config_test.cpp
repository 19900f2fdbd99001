#include "model/config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace {

using nlohmann::json;

// facebook/MobileLLM-R1-140M-base config.json as the hub carries it: a dense llama4_text with the
// MoE / NoPE / chunking / temperature fields present at values that switch them off.
const char* kMobileLLM = R"({
  "architectures": ["Llama4ForCausalLM"],
  "attention_bias": false,
  "attention_chunk_size": 32768,
  "attention_dropout": 0.0,
  "attn_scale": 0.1,
  "attn_temperature_tuning": false,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "floor_scale": 8192,
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 576,
  "initializer_range": 0.02,
  "interleave_moe_layer_step": 0,
  "intermediate_size": 8192,
  "intermediate_size_mlp": 2048,
  "layer_types": ["chunked_attention", "chunked_attention", "chunked_attention", "chunked_attention",
                  "chunked_attention", "chunked_attention", "chunked_attention", "chunked_attention",
                  "chunked_attention", "chunked_attention", "chunked_attention", "chunked_attention",
                  "chunked_attention", "chunked_attention", "chunked_attention"],
  "max_position_embeddings": 32768,
  "model_type": "llama4_text",
  "moe_layers": [],
  "no_rope_layers": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  "num_attention_heads": 9,
  "num_experts_per_tok": 0,
  "num_hidden_layers": 15,
  "num_key_value_heads": 3,
  "num_local_experts": 0,
  "output_router_logits": false,
  "pad_token_id": null,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 8000000.0,
  "router_aux_loss_coef": 0.001,
  "router_jitter_noise": 0.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.56.1",
  "use_cache": true,
  "use_qk_norm": true,
  "vocab_size": 128256
})";

const char* kSmolLM2 = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 0,
  "eos_token_id": 0,
  "hidden_act": "silu",
  "hidden_size": 576,
  "initializer_range": 0.041666666666666664,
  "intermediate_size": 1536,
  "is_llama_config": true,
  "max_position_embeddings": 8192,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 9,
  "num_hidden_layers": 30,
  "num_key_value_heads": 3,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_interleaved": false,
  "rope_scaling": null,
  "rope_theta": 100000,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1",
  "use_cache": true,
  "vocab_size": 49152
})";

const char* kLlama32_1B = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "initializer_range": 0.02,
  "intermediate_size": 8192,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 16,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
})";

// Parses and returns stderr output too.
tt::ModelConfig parse(const json& j, std::string* warnings = nullptr) {
  ::testing::internal::CaptureStderr();
  tt::ModelConfig c;
  try {
    c = tt::config_from_json(j, "config.json");
  } catch (...) {
    ::testing::internal::GetCapturedStderr();
    throw;
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  if (warnings) *warnings = err;
  return c;
}

// Expects config_from_json to fail with a one-line message naming the file and containing `needle`.
void expect_error(const json& j, const std::string& needle) {
  try {
    parse(j);
    ADD_FAILURE() << "no error; expected: " << needle;
  } catch (const tt::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("config.json: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Config, ParsesMobileLLMR1) {
  std::string warnings;
  tt::ModelConfig c = parse(json::parse(kMobileLLM), &warnings);
  EXPECT_EQ(warnings, "");  // every hub field is known
  EXPECT_EQ(c.family, tt::ModelFamily::Llama4Text);
  EXPECT_EQ(c.architecture, "Llama4ForCausalLM");
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.intermediate_size, 2048);  // intermediate_size_mlp, not the 8192 expert width
  EXPECT_EQ(c.num_hidden_layers, 15);
  EXPECT_EQ(c.num_attention_heads, 9);
  EXPECT_EQ(c.num_key_value_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope_style, tt::RopeStyle::Interleaved);
  EXPECT_TRUE(c.use_qk_norm);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_theta, 8e6);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_scaling.type, "");
  EXPECT_EQ(c.attention_chunk_size, 32768);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{128001});
  EXPECT_EQ(c.pad_token_id, -1);
  EXPECT_EQ(tt::parameter_count(c), 140248512);
}

TEST(Config, ParsesSmolLM2) {
  std::string warnings;
  tt::ModelConfig c = parse(json::parse(kSmolLM2), &warnings);
  EXPECT_EQ(warnings, "");
  EXPECT_EQ(c.family, tt::ModelFamily::Llama);
  EXPECT_EQ(c.rope_style, tt::RopeStyle::RotateHalf);
  EXPECT_FALSE(c.use_qk_norm);
  EXPECT_EQ(c.head_dim, 64);  // 576 / 9
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.rope_theta, 100000.0);
  EXPECT_EQ(c.attention_chunk_size, 0);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(tt::parameter_count(c), 134515008);
}

TEST(Config, ParsesLlama32WithLlama3RopeScaling) {
  tt::ModelConfig c = parse(json::parse(kLlama32_1B));
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(tt::parameter_count(c), 1235814400);
  // The legacy "type" key means the same.
  json j = json::parse(kLlama32_1B);
  j["rope_scaling"].erase("rope_type");
  j["rope_scaling"]["type"] = "llama3";
  EXPECT_EQ(parse(j).rope_scaling.type, "llama3");
  // Untied embeddings add an lm_head.
  j["tie_word_embeddings"] = false;
  EXPECT_EQ(tt::parameter_count(parse(j)), 1235814400 + 128256LL * 2048);
}

TEST(Config, RejectsMoELayers) {
  json j = json::parse(kMobileLLM);
  j["moe_layers"] = {1, 3};
  expect_error(j, "'moe_layers' makes layer 1 a mixture-of-experts layer");
  // Without moe_layers HF derives them from interleave_moe_layer_step (default 1: every layer).
  j.erase("moe_layers");
  j["interleave_moe_layer_step"] = 1;
  expect_error(j, "'interleave_moe_layer_step' makes layer 0 a mixture-of-experts layer");
  j.erase("interleave_moe_layer_step");
  expect_error(j, "'interleave_moe_layer_step' makes layer 0");
  j["interleave_moe_layer_step"] = 0;
  expect_error(j, "'interleave_moe_layer_step' is 0 and 'moe_layers' is absent");
  // A step longer than the model creates no MoE layer, whatever num_local_experts says.
  j["interleave_moe_layer_step"] = 16;
  j["num_local_experts"] = 16;
  EXPECT_NO_THROW(parse(j));
}

TEST(Config, RejectsNoPELayers) {
  json j = json::parse(kMobileLLM);
  j["no_rope_layers"][3] = 0;
  expect_error(j, "'no_rope_layers[3]' is 0: layer 3 is a NoPE layer");
  // Absent (or empty) no_rope_layers: HF makes every 4th layer NoPE.
  j["no_rope_layers"] = json::array();
  expect_error(j, "'no_rope_layers' is absent");
  j.erase("no_rope_layers");
  expect_error(j, "every 4th layer (from layer 3)");
  j["no_rope_layer_interval"] = 100;  // longer than the model: no NoPE layer
  EXPECT_NO_THROW(parse(j));
}

TEST(Config, AcceptsTemperatureTuningWithoutNoPE) {
  json j = json::parse(kMobileLLM);
  j["attn_temperature_tuning"] = true;
  EXPECT_NO_THROW(parse(j));
}

TEST(Config, ChunkSizeOnlyWhenSomeLayerIsChunked) {
  json j = json::parse(kMobileLLM);
  j["layer_types"] = std::vector<std::string>(15, "full_attention");
  EXPECT_EQ(parse(j).attention_chunk_size, 0);
  j.erase("layer_types");  // derived: every RoPE layer is chunked
  EXPECT_EQ(parse(j).attention_chunk_size, 32768);
  j["attention_chunk_size"] = nullptr;
  EXPECT_EQ(parse(j).attention_chunk_size, 0);
  j["attention_chunk_size"] = 0;  // was read as null: chunked layers ran full attention
  expect_error(j, "'attention_chunk_size' must be positive (or null: no chunked attention), got 0");
  j["attention_chunk_size"] = -4;
  expect_error(j, "must be positive");
  j["attention_chunk_size"] = nullptr;
  j["layer_types"] = std::vector<std::string>(15, "sliding_attention");
  expect_error(j, "'layer_types[0]' is 'sliding_attention'");
}

TEST(Config, AcceptsTransformersV5RopeParameters) {
  json j = json::parse(kLlama32_1B);
  json rp = j["rope_scaling"];
  rp["rope_theta"] = 500000.0;
  j.erase("rope_scaling");
  j.erase("rope_theta");
  j["rope_parameters"] = rp;
  tt::ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  json out = tt::config_to_json(c);
  EXPECT_FALSE(out.contains("rope_scaling"));
  EXPECT_EQ(out["rope_parameters"]["rope_theta"], 500000.0);
}

TEST(Config, RejectsUnknownRopeType) {
  json j = json::parse(kLlama32_1B);
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error(j, "'rope_scaling' has unsupported rope type 'yarn'");
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  expect_error(j, "unsupported rope type 'linear'");
}

TEST(Config, RejectsUnknownModelType) {
  json j = json::parse(kSmolLM2);
  j["model_type"] = "qwen2";
  try {
    parse(j);
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_STREQ(e.what(), "config.json: unsupported model_type 'qwen2' (supported: llama4_text, llama)");
  }
}

TEST(Config, RejectsMissingField) {
  for (const char* field : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads"}) {
    json j = json::parse(kSmolLM2);
    j.erase(field);
    expect_error(j, std::string("missing required config field '") + field + "'");
  }
  json j = json::parse(kMobileLLM);
  j.erase("intermediate_size_mlp");
  expect_error(j, "'intermediate_size_mlp'");
}

TEST(Config, RejectsWrongType) {
  json j = json::parse(kSmolLM2);
  j["hidden_size"] = "576";
  expect_error(j, "config field 'hidden_size' must be an integer");
  j = json::parse(kSmolLM2);
  j["tie_word_embeddings"] = 1;
  expect_error(j, "'tie_word_embeddings' must be true or false");
  j = json::parse(kSmolLM2);
  j["rope_theta"] = "big";
  expect_error(j, "'rope_theta' must be a number");
}

TEST(Config, RejectsComputationChangingFields) {
  json j = json::parse(kSmolLM2);
  j["hidden_act"] = "gelu";
  expect_error(j, "'hidden_act' is 'gelu'");
  j = json::parse(kSmolLM2);
  j["attention_bias"] = true;
  expect_error(j, "'attention_bias'");
  j = json::parse(kSmolLM2);
  j["mlp_bias"] = true;
  expect_error(j, "'mlp_bias'");
  j = json::parse(kSmolLM2);
  j["architectures"] = {"LlamaForSequenceClassification"};
  expect_error(j, "'architectures'");
}

TEST(Config, WarnsOnceForUnknownField) {
  json j = json::parse(kSmolLM2);
  j["my_custom_field"] = 3;
  std::string warnings;
  parse(j, &warnings);
  EXPECT_EQ(warnings, "warning: config.json: unknown config field 'my_custom_field' ignored\n");
  j = json::parse(kLlama32_1B);
  j["rope_scaling"]["beta_fast"] = 32;
  parse(j, &warnings);
  EXPECT_EQ(warnings, "warning: config.json: unknown config field 'rope_scaling.beta_fast' ignored\n");
}

TEST(Config, JsonRoundTrip) {
  for (const char* text : {kMobileLLM, kSmolLM2, kLlama32_1B}) {
    tt::ModelConfig c = parse(json::parse(text));
    json out = tt::config_to_json(c);
    tt::ModelConfig back = parse(out);
    EXPECT_EQ(tt::config_to_json(back), out);
    EXPECT_EQ(out["transformers_version"], json::parse(text)["transformers_version"]);  // kept from original
    EXPECT_EQ(back.rope_scaling.type, c.rope_scaling.type);
    EXPECT_EQ(back.eos_token_ids, c.eos_token_ids);
    EXPECT_EQ(back.attention_chunk_size, c.attention_chunk_size);
    EXPECT_EQ(tt::parameter_count(back), tt::parameter_count(c));
  }
  // A changed field is written back, and a config without an original becomes complete HF JSON.
  tt::ModelConfig c = parse(json::parse(kMobileLLM));
  c.num_hidden_layers = 4;
  c.original = json();
  tt::ModelConfig back = parse(tt::config_to_json(c));
  EXPECT_EQ(back.num_hidden_layers, 4);
  EXPECT_EQ(back.attention_chunk_size, 32768);
  EXPECT_EQ(back.intermediate_size, 2048);
}

TEST(Config, LoadFromFileOrDirectory) {
  std::string dir = tt::testing::make_temp_dir("config");
  tt::write_file_atomic(dir + "/config.json", kSmolLM2);
  EXPECT_EQ(tt::load_model_config(dir).num_hidden_layers, 30);
  EXPECT_EQ(tt::load_model_config(dir + "/config.json").vocab_size, 49152);
  EXPECT_THROW(tt::load_model_config(dir + "/nope"), tt::Error);
}

TEST(Config, Presets) {
  EXPECT_EQ(tt::parameter_count(tt::preset_config("mobilellm-r1-140m")), 140248512);
  EXPECT_EQ(tt::parameter_count(tt::preset_config("smollm2-135m")), 134515008);
  int64_t p360 = tt::parameter_count(tt::preset_config("mobilellm-r1-360m"));
  int64_t p950 = tt::parameter_count(tt::preset_config("mobilellm-r1-950m"));
  EXPECT_NEAR(p360 / 1e6, 359, 2);
  EXPECT_NEAR(p950 / 1e6, 949, 2);
  for (const std::string& name : tt::preset_names()) {
    std::string warnings;
    ::testing::internal::CaptureStderr();
    tt::ModelConfig c = tt::preset_config(name);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << name;
    EXPECT_EQ(c.head_dim * c.num_attention_heads > 0, true);
  }
  tt::ModelConfig tiny = tt::preset_config("tiny-llama");
  EXPECT_EQ(tiny.rope_scaling.type, "llama3");
  EXPECT_EQ(tiny.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(tiny.rope_style, tt::RopeStyle::RotateHalf);
  tt::ModelConfig tiny4 = tt::preset_config("tiny-llama4");
  EXPECT_EQ(tiny4.rope_style, tt::RopeStyle::Interleaved);
  EXPECT_TRUE(tiny4.use_qk_norm);
  EXPECT_EQ(tiny4.head_dim, 16);
  try {
    tt::preset_config("gpt2");
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mobilellm-r1-140m, "), std::string::npos) << e.what();
  }
}

}  // namespace
