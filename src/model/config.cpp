// config.json parsing for the llama and llama4_text families.
//
// Rules follow HF transformers' LlamaConfig / Llama4TextConfig, including the values HF derives when a
// field is absent, because a field we read differently from HF would silently change the model:
//  - Llama4 MoE layers: HF uses `moe_layers` when it is present and not null (even when empty);
//    otherwise it derives range(interleave_moe_layer_step - 1, num_hidden_layers, step). With the
//    default step of 1 that makes EVERY layer MoE. `num_local_experts` does not gate this: a listed layer
//    is built as a MoE block whatever the expert count. So a dense model needs `moe_layers: []` (as
//    MobileLLM-R1 writes it) or a step larger than the layer count.
//  - Llama4 NoPE layers: `no_rope_layers` when present and non-empty (1 = uses RoPE); otherwise HF derives
//    layer i as NoPE when (i + 1) % no_rope_layer_interval == 0 (default interval 4).
//  - Llama4 chunked attention: `layer_types` when present, else "chunked_attention" for every RoPE layer;
//    a chunked layer uses `attention_chunk_size` unless that is null.
//  - `attn_temperature_tuning`, `floor_scale`, `attn_scale` only act on NoPE layers; we refuse those, so
//    the flags are accepted either way.
//  - `use_qk_norm` defaults to true for llama4_text (HF's default); the norm applies on RoPE layers only.
//  - `rope_interleaved` (a nanotron field SmolLM2 carries) is ignored by HF; so do we.
#include "model/config.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"

namespace tt {

namespace {

using nlohmann::json;

// Fields that need no handling beyond being recognised: they do not change the forward/backward pass
// (or are checked separately below).
const std::set<std::string> kCommonFields = {
    "architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings", "initializer_range",
    "rms_norm_eps", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings",
    "rope_theta", "rope_scaling", "rope_parameters", "attention_bias", "attention_dropout", "torch_dtype",
    "dtype", "transformers_version", "_name_or_path", "output_attentions", "output_hidden_states",
    "return_dict"};
const std::set<std::string> kLlamaFields = {"intermediate_size", "mlp_bias", "pretraining_tp", "is_llama_config",
                                            "rope_interleaved"};
const std::set<std::string> kLlama4Fields = {
    "intermediate_size", "intermediate_size_mlp", "num_experts_per_tok", "num_local_experts", "moe_layers",
    "interleave_moe_layer_step", "use_qk_norm", "output_router_logits", "router_aux_loss_coef",
    "router_jitter_noise", "no_rope_layers", "no_rope_layer_interval", "attention_chunk_size", "layer_types",
    "attn_temperature_tuning", "floor_scale", "attn_scale"};

const std::set<std::string> kRopeFields = {"rope_type", "type", "factor", "low_freq_factor", "high_freq_factor",
                                           "original_max_position_embeddings", "rope_theta"};

// Typed access to config.json fields; every error names the file and the field.
struct Fields {
  const json& j;
  const std::string& source;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }

  int64_t integer(const json& v, const std::string& key) const {
    if (!v.is_number_integer()) fail("{}: config field '{}' must be an integer, got {}", source, key, v.dump());
    return v.get<int64_t>();
  }
  int64_t required_int(const char* key) const {
    if (!has(key)) fail("{}: missing required config field '{}'", source, key);
    return integer(j[key], key);
  }
  int64_t get_int(const char* key, int64_t fallback) const { return has(key) ? integer(j[key], key) : fallback; }
  double get_num(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_number()) fail("{}: config field '{}' must be a number, got {}", source, key, j[key].dump());
    return j[key].get<double>();
  }
  bool get_bool(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) fail("{}: config field '{}' must be true or false, got {}", source, key, j[key].dump());
    return j[key].get<bool>();
  }
  std::string get_str(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_string()) fail("{}: config field '{}' must be a string, got {}", source, key, j[key].dump());
    return j[key].get<std::string>();
  }
  // An array of integers (null/absent -> nullopt-like empty with *present=false).
  std::vector<int64_t> int_list(const char* key, bool* present) const {
    std::vector<int64_t> out;
    *present = has(key);
    if (!*present) return out;
    if (!j[key].is_array()) fail("{}: config field '{}' must be a list of integers, got {}", source, key, j[key].dump());
    for (const auto& v : j[key]) out.push_back(integer(v, key));
    return out;
  }
};

// rope_scaling (or transformers v5 rope_parameters): none/default or llama3.
RopeScaling parse_rope_scaling(const json& r, const std::string& field, const std::string& source) {
  RopeScaling s;
  if (r.is_null()) return s;
  if (!r.is_object()) fail("{}: config field '{}' must be an object or null, got {}", source, field, r.dump());
  Fields f{r, source};
  for (const auto& [key, value] : r.items())
    if (!kRopeFields.count(key)) log_warn("{}: unknown config field '{}.{}' ignored", source, field, key);
  // "type" is the pre-4.45 spelling of "rope_type".
  std::string type = f.has("rope_type") ? f.get_str("rope_type", "") : f.get_str("type", "default");
  if (type == "default") return s;
  if (type != "llama3")
    fail("{}: config field '{}' has unsupported rope type '{}' (supported: default, llama3)", source, field, type);
  for (const char* key : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
    if (!f.has(key)) fail("{}: config field '{}' (llama3) is missing '{}'", source, field, key);
  s.type = "llama3";
  s.factor = f.get_num("factor", 1.0);
  s.low_freq_factor = f.get_num("low_freq_factor", 1.0);
  s.high_freq_factor = f.get_num("high_freq_factor", 4.0);
  s.original_max_position_embeddings = f.get_int("original_max_position_embeddings", 8192);
  if (s.factor <= 0 || s.low_freq_factor <= 0 || s.high_freq_factor <= s.low_freq_factor ||
      s.original_max_position_embeddings <= 0)
    fail("{}: config field '{}' has inconsistent llama3 values {}", source, field, r.dump());
  return s;
}

std::vector<int64_t> token_ids(const Fields& f, const char* key, int64_t fallback) {
  if (!f.j.contains(key)) return fallback < 0 ? std::vector<int64_t>{} : std::vector<int64_t>{fallback};
  const json& v = f.j[key];
  if (v.is_null()) return {};
  if (v.is_array()) {
    std::vector<int64_t> out;
    for (const auto& x : v) out.push_back(f.integer(x, key));
    return out;
  }
  return {f.integer(v, key)};
}

void check_llama4_layers(const Fields& f, ModelConfig& c) {
  const std::string& src = f.source;
  int64_t L = c.num_hidden_layers;

  // MoE layers (see the file comment for HF's rule).
  bool listed = false;
  std::vector<int64_t> moe = f.int_list("moe_layers", &listed);
  if (!listed) {
    int64_t step = f.get_int("interleave_moe_layer_step", 1);
    if (step <= 0)
      fail("{}: config field 'interleave_moe_layer_step' is {} and 'moe_layers' is absent (HF cannot derive the "
           "MoE layers); write \"moe_layers\": [] for a dense model",
           src, step);
    for (int64_t i = step - 1; i < L; i += step) moe.push_back(i);
  }
  for (int64_t i : moe)
    if (i >= 0 && i < L)
      fail("{}: config field '{}' makes layer {} a mixture-of-experts layer, which is not implemented (dense "
           "models need \"moe_layers\": [])",
           src, listed ? "moe_layers" : "interleave_moe_layer_step", i);

  // NoPE layers.
  bool given = false;
  std::vector<int64_t> rope = f.int_list("no_rope_layers", &given);
  if (given && !rope.empty()) {
    if (static_cast<int64_t>(rope.size()) < L)
      fail("{}: config field 'no_rope_layers' has {} entries for {} layers", src, rope.size(), L);
    for (int64_t i = 0; i < L; ++i) {
      if (rope[i] != 0 && rope[i] != 1) fail("{}: config field 'no_rope_layers[{}]' must be 0 or 1", src, i);
      if (rope[i] == 0)
        fail("{}: config field 'no_rope_layers[{}]' is 0: layer {} is a NoPE layer, which is not implemented", src,
             i, i);
    }
  } else {
    int64_t interval = f.get_int("no_rope_layer_interval", 4);
    if (interval <= 0) fail("{}: config field 'no_rope_layer_interval' must be positive", src);
    if (interval <= L)
      fail("{}: config field 'no_rope_layers' is absent, so HF makes every {}th layer (from layer {}) a NoPE layer "
           "(no_rope_layer_interval), which is not implemented; write no_rope_layers as all 1s",
           src, interval, interval - 1);
  }

  // Chunked attention: which layers are chunked, and with what chunk size.
  bool any_chunked = true;  // every layer uses RoPE here, and HF derives "chunked_attention" for RoPE layers
  if (f.has("layer_types")) {
    const json& types = f.j["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) < L)
      fail("{}: config field 'layer_types' must be a list of {} strings", src, L);
    any_chunked = false;
    for (int64_t i = 0; i < L; ++i) {
      std::string t = types[i].is_string() ? types[i].get<std::string>() : types[i].dump();
      if (t == "chunked_attention") any_chunked = true;
      else if (t != "full_attention")
        fail("{}: config field 'layer_types[{}]' is '{}' (supported: full_attention, chunked_attention)", src, i, t);
    }
  }
  int64_t chunk = f.j.contains("attention_chunk_size") ? f.get_int("attention_chunk_size", 0) : 8192;
  // 0 read as "no chunking": chunked layers ran full attention, where transformers' chunked mask
  // (position // chunk) has no meaning. null is the way to say none.
  if (any_chunked && (chunk < 0 || (chunk == 0 && !f.j["attention_chunk_size"].is_null())))
    fail("{}: config field 'attention_chunk_size' must be positive (or null: no chunked attention), got {}", src, chunk);
  c.attention_chunk_size = any_chunked ? chunk : 0;
}

}  // namespace

namespace {

// Sizes are checked before anything is allocated from them: a typo (vocab_size 2^40) fails here
// naming the field, not later as a bare std::bad_alloc.
void check_size_limits(const ModelConfig& c, const std::string& source) {
  constexpr int64_t kMaxVocab = (int64_t{1} << 31) - 1, kMaxWidth = int64_t{1} << 20, kMaxPositions = int64_t{1} << 28;
  if (c.vocab_size > kMaxVocab)
    fail("{}: config field 'vocab_size' is {}, beyond {} (token ids are 32-bit)", source, c.vocab_size, kMaxVocab);
  for (const auto& [key, value] : std::initializer_list<std::pair<const char*, int64_t>>{
           {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
           {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
           {"head_dim", c.head_dim}, {"intermediate_size", c.intermediate_size}})
    if (value > kMaxWidth) fail("{}: config field '{}' is {}, beyond tinythink's limit of {}", source, key, value, kMaxWidth);
  if (c.max_position_embeddings > kMaxPositions)
    fail("{}: config field 'max_position_embeddings' is {}, beyond tinythink's limit of {}", source,
         c.max_position_embeddings, kMaxPositions);
  const double H = static_cast<double>(c.hidden_size), d = static_cast<double>(c.head_dim);
  const double per_layer = H * d * 2 * static_cast<double>(c.num_attention_heads + c.num_key_value_heads) +
                           3 * H * static_cast<double>(c.intermediate_size);
  const double total = 2 * static_cast<double>(c.vocab_size) * H + static_cast<double>(c.num_hidden_layers) * per_layer;
  constexpr double kMaxParameters = 1ull << 38;  // 1 TiB as fp32
  if (total > kMaxParameters)
    fail("{}: config fields vocab_size/hidden_size/num_hidden_layers/intermediate_size give about {:.3g} parameters, "
         "beyond tinythink's limit of {:.3g}", source, total, kMaxParameters);
}

}  // namespace

ModelConfig config_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: config must be a JSON object", source);
  Fields f{j, source};
  ModelConfig c;
  c.model_type = f.get_str("model_type", "");
  const std::set<std::string>* family_fields = nullptr;
  if (c.model_type == "llama4_text") {
    c.family = ModelFamily::Llama4Text;
    c.architecture = "Llama4ForCausalLM";
    family_fields = &kLlama4Fields;
  } else if (c.model_type == "llama") {
    c.family = ModelFamily::Llama;
    c.architecture = "LlamaForCausalLM";
    family_fields = &kLlamaFields;
  } else {
    fail("{}: unsupported model_type '{}' (supported: llama4_text, llama)", source, c.model_type);
  }
  bool llama4 = c.family == ModelFamily::Llama4Text;

  for (const auto& [key, value] : j.items())
    if (!kCommonFields.count(key) && !family_fields->count(key))
      log_warn("{}: unknown config field '{}' ignored", source, key);

  if (f.has("architectures")) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.size() != 1 || !a[0].is_string() || a[0].get<std::string>() != c.architecture)
      fail("{}: config field 'architectures' is {}, expected [\"{}\"] for model_type {}", source, a.dump(),
           c.architecture, c.model_type);
  }

  c.vocab_size = f.required_int("vocab_size");
  c.hidden_size = f.required_int("hidden_size");
  c.num_hidden_layers = f.required_int("num_hidden_layers");
  c.num_attention_heads = f.required_int("num_attention_heads");
  c.intermediate_size = f.required_int(llama4 ? "intermediate_size_mlp" : "intermediate_size");
  c.num_key_value_heads = f.get_int("num_key_value_heads", c.num_attention_heads);
  if (!f.has("head_dim") && c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads != 0)
    fail("{}: config field 'hidden_size' ({}) is not divisible by num_attention_heads ({}) and head_dim is absent",
         source, c.hidden_size, c.num_attention_heads);
  c.head_dim = f.get_int("head_dim", c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  // HF defaults differ per family.
  c.max_position_embeddings = f.get_int("max_position_embeddings", llama4 ? 131072 : 2048);
  c.rms_norm_eps = f.get_num("rms_norm_eps", llama4 ? 1e-5 : 1e-6);
  c.rope_theta = f.get_num("rope_theta", llama4 ? 500000.0 : 10000.0);
  c.initializer_range = f.get_num("initializer_range", 0.02);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", false);
  c.use_qk_norm = llama4 ? f.get_bool("use_qk_norm", true) : false;
  c.rope_style = llama4 ? RopeStyle::Interleaved : RopeStyle::RotateHalf;

  if (f.has("rope_parameters")) {  // transformers v5 folds rope_theta into rope_parameters
    c.rope_scaling = parse_rope_scaling(j["rope_parameters"], "rope_parameters", source);
    Fields rp{j["rope_parameters"], source};
    c.rope_theta = rp.get_num("rope_theta", c.rope_theta);
  } else if (j.contains("rope_scaling")) {
    c.rope_scaling = parse_rope_scaling(j["rope_scaling"], "rope_scaling", source);
  }

  for (const auto& [key, value] :
       std::initializer_list<std::pair<const char*, int64_t>>{{"vocab_size", c.vocab_size},
                                                              {"hidden_size", c.hidden_size},
                                                              {"num_hidden_layers", c.num_hidden_layers},
                                                              {"num_attention_heads", c.num_attention_heads},
                                                              {"num_key_value_heads", c.num_key_value_heads},
                                                              {"head_dim", c.head_dim},
                                                              {llama4 ? "intermediate_size_mlp" : "intermediate_size",
                                                               c.intermediate_size},
                                                              {"max_position_embeddings", c.max_position_embeddings}})
    if (value <= 0) fail("{}: config field '{}' must be positive, got {}", source, key, value);
  check_size_limits(c, source);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail("{}: config field 'num_key_value_heads' ({}) must divide num_attention_heads ({})", source,
         c.num_key_value_heads, c.num_attention_heads);
  if (c.head_dim % 2 != 0) fail("{}: config field 'head_dim' ({}) must be even for RoPE", source, c.head_dim);
  if (!(c.rms_norm_eps > 0)) fail("{}: config field 'rms_norm_eps' must be positive", source);
  if (!(c.rope_theta > 0)) fail("{}: config field 'rope_theta' must be positive", source);

  // Fields whose non-default values change the computation in ways we do not implement.
  std::string act = f.get_str("hidden_act", "silu");
  if (act != "silu") fail("{}: config field 'hidden_act' is '{}'; only silu is implemented", source, act);
  if (f.get_bool("attention_bias", false)) fail("{}: config field 'attention_bias' is true; biases are not implemented", source);
  if (!llama4 && f.get_bool("mlp_bias", false)) fail("{}: config field 'mlp_bias' is true; biases are not implemented", source);
  if (f.get_num("attention_dropout", 0.0) != 0.0)
    fail("{}: config field 'attention_dropout' is {}; attention dropout is not implemented", source,
         f.get_num("attention_dropout", 0.0));
  if (llama4) {
    f.get_bool("attn_temperature_tuning", true);  // type check only: it acts on NoPE layers, refused below
    check_llama4_layers(f, c);
  }

  c.bos_token_id = f.has("bos_token_id") ? f.get_int("bos_token_id", -1) : (j.contains("bos_token_id") ? -1 : 1);
  c.eos_token_ids = token_ids(f, "eos_token_id", 2);
  c.pad_token_id = f.get_int("pad_token_id", -1);
  c.original = j;
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  std::string file = is_directory(path) ? path + "/config.json" : path;
  return config_from_json(read_json_file(file), file);
}

json config_to_json(const ModelConfig& c) {
  bool llama4 = c.family == ModelFamily::Llama4Text;
  json j = c.original.is_object() ? c.original : json::object();
  j["architectures"] = {c.architecture.empty() ? (llama4 ? "Llama4ForCausalLM" : "LlamaForCausalLM") : c.architecture};
  j["model_type"] = llama4 ? "llama4_text" : "llama";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["initializer_range"] = c.initializer_range;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] = c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids);
  j["pad_token_id"] = c.pad_token_id >= 0 ? json(c.pad_token_id) : json(nullptr);
  if (!j.contains("torch_dtype") && !j.contains("dtype")) j["torch_dtype"] = "bfloat16";
  if (!j.contains("use_cache")) j["use_cache"] = true;

  json scaling = nullptr;
  if (c.rope_scaling.type == "llama3")
    scaling = {{"rope_type", "llama3"},
               {"factor", c.rope_scaling.factor},
               {"low_freq_factor", c.rope_scaling.low_freq_factor},
               {"high_freq_factor", c.rope_scaling.high_freq_factor},
               {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    json rp = scaling.is_null() ? json{{"rope_type", "default"}} : scaling;
    rp["rope_theta"] = c.rope_theta;
    j["rope_parameters"] = rp;
  } else {
    j["rope_theta"] = c.rope_theta;
    j["rope_scaling"] = scaling;
  }

  int64_t L = c.num_hidden_layers;
  if (llama4) {
    j["intermediate_size_mlp"] = c.intermediate_size;
    if (!j.contains("intermediate_size")) j["intermediate_size"] = c.intermediate_size;  // expert width, unused
    j["use_qk_norm"] = c.use_qk_norm;
    j["moe_layers"] = json::array();
    if (!j.contains("interleave_moe_layer_step")) j["interleave_moe_layer_step"] = 0;
    if (!j.contains("num_local_experts")) j["num_local_experts"] = 0;
    if (!j.contains("num_experts_per_tok")) j["num_experts_per_tok"] = 0;
    j["no_rope_layers"] = std::vector<int64_t>(L, 1);
    if (!j.contains("attn_temperature_tuning")) j["attn_temperature_tuning"] = false;
    // Chunking: every layer chunked with our chunk size, or none.
    j["attention_chunk_size"] = c.attention_chunk_size > 0 ? json(c.attention_chunk_size) : json(nullptr);
    if (j.contains("layer_types") || c.attention_chunk_size == 0)
      j["layer_types"] = std::vector<std::string>(L, c.attention_chunk_size > 0 ? "chunked_attention" : "full_attention");
  } else {
    j["intermediate_size"] = c.intermediate_size;
    j["mlp_bias"] = false;
  }
  return j;
}

RopeParams rope_params(const ModelConfig& c) {
  return {.style = c.rope_style, .head_dim = c.head_dim, .theta = c.rope_theta, .scaling = c.rope_scaling};
}

int64_t parameter_count(const ModelConfig& c) {
  int64_t H = c.hidden_size, d = c.head_dim;
  int64_t attention = H * c.num_attention_heads * d * 2 + H * c.num_key_value_heads * d * 2;  // q, o, k, v
  int64_t ffn = 3 * H * c.intermediate_size;                                                  // gate, up, down
  int64_t layer = attention + ffn + 2 * H;                                                    // two RMSNorm weights
  int64_t embed = c.vocab_size * H;
  return embed * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + H;  // + final norm
}

int64_t context_limit(const ModelConfig& c) {
  return c.attention_chunk_size > 0 ? std::min(c.max_position_embeddings, c.attention_chunk_size) : c.max_position_embeddings;
}

}  // namespace tt
