#include "io/gguf_import.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "io/file.h"
#include "io/gguf_llama.h"
#include "io/output_path.h"

namespace tt {

namespace {

using nlohmann::json;

enum TokenType { kNormal = 1, kControl = 3, kUserDefined = 4 };

// Limits on sizes read from a file: past these a value is refused as absurd rather than multiplied.
constexpr uint64_t kMaxWidth = uint64_t{1} << 20;   // hidden, ffn, head counts, head_dim
constexpr uint64_t kMaxLayers = uint64_t{1} << 14;
constexpr uint64_t kMaxContext = uint64_t{1} << 31;

// <arch>.* keys the import understands (arch "llama" or "qwen3"); any other key would change the model
// and is refused.
const std::set<std::string> kArchKeys = {
    "block_count", "context_length", "embedding_length", "feed_forward_length", "attention.head_count",
    "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon", "attention.key_length",
    "attention.value_length", "vocab_size", "rope.dimension_count"};
// What our export adds for a llama4_text model (model/gguf_export.cpp, LlamaShape::llama4_keys).
const std::set<std::string> kTinythinkKeys = {"tinythink.model_type", "tinythink.max_position_embeddings",
                                              "tinythink.attention_chunk_size", "tinythink.rope_scaling.factor",
                                              "tinythink.rope_scaling.low_freq_factor", "tinythink.rope_scaling.high_freq_factor",
                                              "tinythink.rope_scaling.original_max_position_embeddings"};

// Typed access to the metadata, each error naming the file and the key.
class Metadata {
 public:
  Metadata(const GgufContents& gguf, const std::string& label) : gguf_(gguf), label_(label) {}

  const GgufValue* find(const std::string& key) const { return gguf_.find(key); }

  std::optional<uint64_t> count(const std::string& key, uint64_t max) const {
    const GgufValue* v = gguf_.find(key);
    if (!v) return std::nullopt;
    uint64_t n;
    if (auto* u = std::get_if<uint64_t>(&v->scalar); u && v->type != GgufValueType::ARRAY) n = *u;
    else if (auto* i = std::get_if<int64_t>(&v->scalar); i && *i >= 0 && v->type != GgufValueType::ARRAY) n = *i;
    else fail("{}: key {}: expected a non-negative integer, got {}", label_, key, v->describe());
    if (n == 0 || n > max) fail("{}: key {}: {} is outside 1..{}", label_, key, n, max);
    return n;
  }
  uint64_t required_count(const std::string& key, uint64_t max) const {
    if (auto n = count(key, max)) return *n;
    fail("{}: missing key {}", label_, key);
  }
  // A float key as the shortest decimal that reads back as the same f32 (1e-05, not 9.99999974738e-06).
  std::optional<double> real(const std::string& key) const {
    const GgufValue* v = gguf_.find(key);
    if (!v) return std::nullopt;
    auto* d = std::get_if<double>(&v->scalar);
    if (!d || (v->type != GgufValueType::F32 && v->type != GgufValueType::F64))
      fail("{}: key {}: expected a float, got {}", label_, key, v->describe());
    if (!std::isfinite(*d) || *d <= 0) fail("{}: key {}: {} is not a positive number", label_, key, *d);
    return v->type == GgufValueType::F32 ? std::stod(fmt::format("{}", static_cast<float>(*d))) : *d;
  }
  std::optional<std::string> text(const std::string& key) const {
    const GgufValue* v = gguf_.find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufValueType::STRING) fail("{}: key {}: expected a string, got {}", label_, key, v->describe());
    return std::get<std::string>(v->scalar);
  }
  std::optional<bool> flag(const std::string& key) const {
    const GgufValue* v = gguf_.find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufValueType::BOOL) fail("{}: key {}: expected a bool, got {}", label_, key, v->describe());
    return std::get<bool>(v->scalar);
  }
  const GgufValue& array(const std::string& key, GgufValueType element) const {
    const GgufValue* v = gguf_.find(key);
    if (!v) fail("{}: missing key {}", label_, key);
    bool integer = element == GgufValueType::I32;
    bool ok = v->type == GgufValueType::ARRAY &&
              (integer ? v->array_type != GgufValueType::STRING && v->floats.empty() : v->array_type == element);
    if (!ok) fail("{}: key {}: expected an array of {}, got {}", label_, key, integer ? "integers" : "strings", v->describe());
    return *v;
  }
  const std::string& label() const { return label_; }

 private:
  const GgufContents& gguf_;
  std::string label_;
};

struct ImportShape {
  uint64_t layers, hidden, ffn, heads, kv_heads, head_dim, context, vocab;
  double rms_eps;
  std::optional<double> rope_theta;
  bool has_head_dim;
  bool tied;
  // A dense llama4_text model (MobileLLM-R1) as our export writes it: "qwen3" with unit q/k norms
  // (use_qk_norm; rotate-half rows, permuted back to interleaved), or "llama" with tinythink.model_type
  // llama4_text (no qk norm; interleaved rows as they are).
  bool llama4 = false;
  bool qk_norm = false;
  uint64_t max_positions = 0;  // tinythink.max_position_embeddings, else context_length
  uint64_t chunk_size = 0;     // tinythink.attention_chunk_size, else 0 (null: no chunking)
  std::optional<Llama3RopeScaling> rope_scaling;  // from rope_freqs.weight
};

// rope_freqs.weight (llama3 RoPE scaling) back to rope_scaling: the parameters of the tinythink.rope_scaling.*
// keys our export writes, else Llama 3.1/3.2's (low 1, high 4, original 8192; the factor is the largest
// entry), which llama.cpp's converter used for such a file; the factors they give must be the file's,
// or the file is refused (its scaling is not llama3's).
std::optional<Llama3RopeScaling> read_rope_scaling(const GgufContents& gguf, const Metadata& md, uint64_t head_dim,
                                                   std::optional<double> theta) {
  const std::string& label = md.label();
  const GgufTensor* t = gguf.find_tensor(kRopeFreqsTensor);
  if (!t) {
    if (md.find("tinythink.rope_scaling.factor")) fail("{}: key tinythink.rope_scaling.factor without tensor {}", label, kRopeFreqsTensor);
    return std::nullopt;
  }
  if (t->dims != std::vector<uint64_t>{head_dim / 2} || t->type != GgmlType::F32 || t->data.size() != 4 * (head_dim / 2))
    fail("{}: tensor {}: expected {} f32 values (half the head size)", label, kRopeFreqsTensor, head_dim / 2);
  const std::vector<float> factors = decode_ggml(GgmlType::F32, t->data.data(), static_cast<int64_t>(head_dim / 2));
  Llama3RopeScaling r;
  r.factor = md.real("tinythink.rope_scaling.factor").value_or(*std::max_element(factors.begin(), factors.end()));
  r.low_freq_factor = md.real("tinythink.rope_scaling.low_freq_factor").value_or(1.0);
  r.high_freq_factor = md.real("tinythink.rope_scaling.high_freq_factor").value_or(4.0);
  r.original_max_position_embeddings = static_cast<int64_t>(
      md.count("tinythink.rope_scaling.original_max_position_embeddings", kMaxContext).value_or(8192));
  if (!(r.factor > 0) || !(r.low_freq_factor > 0) || !(r.high_freq_factor > r.low_freq_factor))
    fail("{}: keys tinythink.rope_scaling.*: inconsistent llama3 values", label);
  const std::vector<float> expected = llama3_rope_freq_factors(r, theta.value_or(10000.0), static_cast<int64_t>(head_dim));
  for (size_t i = 0; i < factors.size(); ++i)
    if (!(std::fabs(factors[i] - expected[i]) <= 1e-5f * std::fabs(expected[i])))
      fail("{}: tensor {}: entry {} is {}, not llama3 RoPE scaling's {} (factor {}, low_freq_factor {}, high_freq_factor "
           "{}, original_max_position_embeddings {}): another scaling the import cannot express",
           label, kRopeFreqsTensor, i, factors[i], expected[i], r.factor, r.low_freq_factor, r.high_freq_factor,
           r.original_max_position_embeddings);
  return r;
}

void check_keys(const GgufContents& gguf, const std::string& arch, const std::string& label) {
  for (const auto& kv : gguf.metadata) {
    const std::string& key = kv.key;
    if (key.starts_with("general.") || key.starts_with("tokenizer.") || kTinythinkKeys.count(key)) continue;
    if (key.starts_with(arch + ".") && kArchKeys.count(key.substr(arch.size() + 1))) continue;
    fail("{}: key {} is not supported by the GGUF import (it could change the model)", label, key);
  }
}

ImportShape read_import_shape(const GgufContents& gguf, const Metadata& md) {
  const std::string& label = md.label();
  std::string arch = md.text("general.architecture").value_or("");
  if (arch != "llama" && arch != "qwen3")
    fail("{}: key general.architecture: '{}' is not supported by the GGUF import (llama, and qwen3 as tinythink's "
         "llama4_text export writes it)", label, arch);
  check_keys(gguf, arch, label);
  ImportShape s{};
  s.layers = md.required_count(arch + ".block_count", kMaxLayers);
  s.hidden = md.required_count(arch + ".embedding_length", kMaxWidth);
  s.ffn = md.required_count(arch + ".feed_forward_length", kMaxWidth);
  s.heads = md.required_count(arch + ".attention.head_count", kMaxWidth);
  s.kv_heads = md.count(arch + ".attention.head_count_kv", kMaxWidth).value_or(s.heads);
  s.context = md.required_count(arch + ".context_length", kMaxContext);
  std::optional<uint64_t> key_length = md.count(arch + ".attention.key_length", kMaxWidth);
  s.has_head_dim = key_length.has_value();
  s.head_dim = key_length.value_or(s.hidden / s.heads);
  if (!s.has_head_dim && s.hidden % s.heads != 0)
    fail("{}: key {}.embedding_length: {} is not a multiple of the {} heads", label, arch, s.hidden, s.heads);
  if (auto v = md.count(arch + ".attention.value_length", kMaxWidth); v && *v != s.head_dim)
    fail("{}: key {}.attention.value_length: {} differs from the key length {}", label, arch, *v, s.head_dim);
  if (auto rot = md.count(arch + ".rope.dimension_count", kMaxWidth); rot && *rot != s.head_dim)
    fail("{}: key {}.rope.dimension_count: {} (partial RoPE) differs from the head size {}", label, arch, *rot, s.head_dim);
  if (s.head_dim % 2 != 0) fail("{}: key {}.attention.key_length: head size {} is odd", label, arch, s.head_dim);
  if (s.heads % s.kv_heads != 0)
    fail("{}: key {}.attention.head_count_kv: {} does not divide the {} heads", label, arch, s.kv_heads, s.heads);
  if (s.heads * s.head_dim > kMaxWidth)
    fail("{}: key {}.attention.head_count: {} heads x {} is absurd", label, arch, s.heads, s.head_dim);
  auto eps = md.real(arch + ".attention.layer_norm_rms_epsilon");
  if (!eps) fail("{}: missing key {}.attention.layer_norm_rms_epsilon", label, arch);
  s.rms_eps = *eps;
  s.rope_theta = md.real(arch + ".rope.freq_base");
  const GgufTensor* embedding = gguf.find_tensor("token_embd.weight");
  if (!embedding || embedding->dims.size() != 2) fail("{}: tensor token_embd.weight: missing or not 2-D", label);
  s.vocab = embedding->dims[1];
  if (s.vocab == 0 || embedding->dims[0] == 0) fail("{}: tensor token_embd.weight: an empty embedding", label);
  if (auto v = md.count(arch + ".vocab_size", uint64_t{1} << 32); v && *v != s.vocab)
    fail("{}: key {}.vocab_size: {} differs from token_embd.weight's {} rows", label, arch, *v, s.vocab);
  s.tied = gguf.find_tensor("output.weight") == nullptr;
  s.rope_scaling = read_rope_scaling(gguf, md, s.head_dim, s.rope_theta);

  // llama4_text: a "qwen3" file is imported as llama4_text with use_qk_norm (import_tensors refuses one
  // whose q/k norm weights are not all 1: a real Qwen3, which our model cannot run). A "llama" file is
  // llama4_text only when our export said so; otherwise an HF llama (the same forward, rotate-half rows).
  std::optional<std::string> type = md.text("tinythink.model_type");
  if (type && *type != "llama4_text")
    fail("{}: key tinythink.model_type: '{}' is not supported by the GGUF import (llama4_text only)", label, *type);
  s.llama4 = arch == "qwen3" || type.has_value();
  s.qk_norm = arch == "qwen3";
  if (!s.llama4) {
    if (md.find("tinythink.max_position_embeddings") || md.find("tinythink.attention_chunk_size"))
      fail("{}: key tinythink.max_position_embeddings/attention_chunk_size: only for a llama4_text model "
           "(tinythink.model_type is absent)", label);
    return s;
  }
  if (!s.has_head_dim) fail("{}: missing key {}.attention.key_length (llama4_text)", label, arch);
  // llama4_text's default rope_theta (500000) is not llama.cpp's (10000): the file must say.
  if (!s.rope_theta) fail("{}: missing key {}.rope.freq_base (llama4_text)", label, arch);
  // context_length is min(max_position_embeddings, attention_chunk_size) (gguf_export.cpp). A file
  // without the tinythink.* keys (another writer's qwen3) gets max_position_embeddings = context_length
  // and no chunking, which computes the same for every length the file allows.
  s.max_positions = md.count("tinythink.max_position_embeddings", kMaxContext).value_or(s.context);
  s.chunk_size = md.count("tinythink.attention_chunk_size", kMaxContext).value_or(0);
  uint64_t folded = s.chunk_size > 0 ? std::min(s.max_positions, s.chunk_size) : s.max_positions;
  if (folded != s.context)
    fail("{}: key {}.context_length: {} is not min(tinythink.max_position_embeddings {}, "
         "tinythink.attention_chunk_size {})", label, arch, s.context, s.max_positions, s.chunk_size);
  return s;
}

// N of "blk.N.<part>" when N is a layer of the model (decimal, no leading zero).
std::optional<std::string> layer_index(const std::string& name, const ImportShape& s) {
  if (!name.starts_with("blk.")) return std::nullopt;
  size_t dot = name.find('.', 4);
  if (dot == std::string::npos) return std::nullopt;
  std::string index = name.substr(4, dot - 4);
  bool digits = !index.empty() && index.size() <= 6 && index.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoull(index) >= s.layers || (index != "0" && index[0] == '0')) return std::nullopt;
  return index;
}

// The HF name and HF shape for a GGUF tensor name; throws for names a llama model does not have.
std::pair<std::string, std::vector<int64_t>> hf_tensor(const std::string& name, const ImportShape& s,
                                                       const std::string& label) {
  auto i = [](uint64_t v) { return static_cast<int64_t>(v); };
  int64_t q = i(s.heads * s.head_dim), kv = i(s.kv_heads * s.head_dim), h = i(s.hidden), f = i(s.ffn);
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"model.embed_tokens.weight", {i(s.vocab), h}},  {"model.norm.weight", {h}},
      {"lm_head.weight", {i(s.vocab), h}},             {"input_layernorm.weight", {h}},
      {"self_attn.q_proj.weight", {q, h}},             {"self_attn.k_proj.weight", {kv, h}},
      {"self_attn.v_proj.weight", {kv, h}},            {"self_attn.o_proj.weight", {h, q}},
      {"post_attention_layernorm.weight", {h}},        {"mlp.gate_proj.weight", {f, h}},
      {"mlp.up_proj.weight", {f, h}},                  {"mlp.down_proj.weight", {h, f}},
  };
  for (const auto& n : llama_gguf_top_names())
    if (name == n.gguf) return {n.hf, shapes.at(n.hf)};
  if (auto index = layer_index(name, s)) {
    for (const auto& n : llama_gguf_layer_names()) {
      if (name.substr(5 + index->size()) != n.gguf) continue;
      std::string part = n.hf;
      if (s.llama4 && part.starts_with("mlp.")) part = "feed_forward." + part.substr(4);  // HF Llama4's name
      return {"model.layers." + *index + "." + part, shapes.at(n.hf)};
    }
  }
  fail("{}: tensor {} is not a tensor of a {}-layer {} model", label, name, s.layers, s.llama4 ? "llama4_text" : "llama");
}

// "blk.N.attn_q_norm.weight" / "blk.N.attn_k_norm.weight" for N below the layer count.
bool is_qk_norm(const std::string& name, const ImportShape& s) {
  auto index = layer_index(name, s);
  if (!index) return false;
  std::string part = name.substr(5 + index->size());
  return part == "attn_q_norm.weight" || part == "attn_k_norm.weight";
}

// A qwen3 q/k norm must be [head_dim] ones: the weightless norm of llama4_text, as our export writes it.
void check_unit_qk_norm(const GgufTensor& t, const ImportShape& s, const std::string& label) {
  if (t.dims != std::vector<uint64_t>{s.head_dim})
    fail("{}: tensor {}: dims [{}], expected [{}]", label, t.name, fmt::join(t.dims, ", "), s.head_dim);
  if (t.data.size() != ggml_row_bytes(t.type, static_cast<int64_t>(s.head_dim)))
    fail("{}: tensor {}: {} bytes of data for {} {} values", label, t.name, t.data.size(), s.head_dim, ggml_type_name(t.type));
  std::vector<float> w = decode_ggml(t.type, t.data.data(), static_cast<int64_t>(s.head_dim));
  for (size_t i = 0; i < w.size(); ++i)
    if (w[i] != 1.0f)
      fail("{}: tensor {}: weight [{}] is {}, not 1: a qwen3 model with learned q/k norm weights (a real Qwen3) "
           "is not supported by the GGUF import (only tinythink's llama4_text export, whose norm weights are 1)",
           label, t.name, i, w[i]);
}

DType safetensors_dtype(GgmlType type) {
  switch (type) {
    case GgmlType::F16: return DType::F16;
    case GgmlType::BF16: return DType::BF16;
    case GgmlType::F32: case GgmlType::Q8_0: return DType::F32;
  }
  return DType::F32;
}

const char* torch_dtype(GgmlType type) {
  switch (type) {
    case GgmlType::F16: return "float16";
    case GgmlType::BF16: return "bfloat16";
    case GgmlType::F32: case GgmlType::Q8_0: return "float32";
  }
  return "float32";
}

std::vector<ImportedTensor> import_tensors(const GgufContents& gguf, const ImportShape& s, const std::string& label) {
  std::vector<ImportedTensor> out;
  std::set<std::string> seen;
  for (const GgufTensor& t : gguf.tensors) {
    if (t.name == kRopeFreqsTensor) {  // read into rope_scaling (read_rope_scaling)
      if (!seen.insert(t.name).second) fail("{}: tensor {} appears twice", label, t.name);
      continue;
    }
    if (s.qk_norm && is_qk_norm(t.name, s)) {
      check_unit_qk_norm(t, s, label);  // llama4_text's norm has no weight: nothing to write
      if (!seen.insert(t.name).second) fail("{}: tensor {} appears twice", label, t.name);
      continue;
    }
    auto [hf, shape] = hf_tensor(t.name, s, label);
    std::vector<int64_t> dims(t.dims.rbegin(), t.dims.rend());
    if (dims != shape)
      fail("{}: tensor {}: HF shape [{}], expected [{}]", label, t.name, fmt::join(dims, ", "), fmt::join(shape, ", "));
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    if (t.data.size() != ggml_row_bytes(t.type, shape.back()) * static_cast<uint64_t>(count / shape.back()))
      fail("{}: tensor {}: {} bytes of data for {} {} values", label, t.name, t.data.size(), count, ggml_type_name(t.type));
    ImportedTensor tensor{hf, safetensors_dtype(t.type), shape, decode_ggml(t.type, t.data.data(), count)};
    bool is_q = hf.ends_with("q_proj.weight"), is_k = hf.ends_with("k_proj.weight");
    // The file's rows are in llama.cpp's layout for its architecture: interleaved pairs for "llama",
    // rotate-half halves for "qwen3". HF llama wants halves; llama4_text wants interleaved pairs.
    bool file_interleaved = !s.qk_norm, hf_interleaved = s.llama4;
    if ((is_q || is_k) && file_interleaved != hf_interleaved) {
      std::vector<float> rows(tensor.values.size());
      (file_interleaved ? unpermute_rope_rows : permute_rope_rows)(
          tensor.values.data(), rows.data(), static_cast<int64_t>(is_q ? s.heads : s.kv_heads),
          static_cast<int64_t>(s.head_dim), static_cast<int64_t>(s.hidden));
      tensor.values.swap(rows);
    }
    seen.insert(hf);
    out.push_back(std::move(tensor));
  }
  std::vector<std::string> needed = {"model.embed_tokens.weight", "model.norm.weight"};
  for (uint64_t layer = 0; layer < s.layers; ++layer)
    for (const auto& n : llama_gguf_layer_names()) needed.push_back(hf_tensor(fmt::format("blk.{}.{}", layer, n.gguf), s, label).first);
  for (const auto& name : needed)
    if (!seen.count(name)) fail("{}: missing tensor for {}", label, name);
  for (uint64_t layer = 0; s.qk_norm && layer < s.layers; ++layer)
    for (const char* which : {"attn_q_norm", "attn_k_norm"})
      if (std::string name = fmt::format("blk.{}.{}.weight", layer, which); !seen.count(name))
        fail("{}: missing tensor {} (a qwen3 file is imported as llama4_text with use_qk_norm)", label, name);
  return out;
}

json config_json(const ImportShape& s, GgmlType embedding_type, std::optional<int64_t> bos, std::optional<int64_t> eos) {
  json c = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", s.hidden},
      {"intermediate_size", s.ffn},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"hidden_act", "silu"},
      {"max_position_embeddings", s.context},
      {"rms_norm_eps", s.rms_eps},
      {"tie_word_embeddings", s.tied},
      {"vocab_size", s.vocab},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"torch_dtype", torch_dtype(embedding_type)},
  };
  if (s.has_head_dim) c["head_dim"] = s.head_dim;
  if (s.rope_theta) c["rope_theta"] = *s.rope_theta;
  if (s.llama4) {
    // A dense llama4_text config as MobileLLM-R1 writes it: no MoE layer, RoPE on every layer (so
    // attn_scale, floor_scale and attn_temperature_tuning, which act on NoPE layers only, do nothing).
    // Written explicitly: HF's defaults (every layer MoE, every 4th NoPE) would make another model.
    uint64_t layers = s.layers;
    c.erase("mlp_bias");
    c["architectures"] = {"Llama4ForCausalLM"};
    c["model_type"] = "llama4_text";
    c["intermediate_size_mlp"] = s.ffn;
    c["max_position_embeddings"] = s.max_positions;
    c["attention_chunk_size"] = s.chunk_size > 0 ? json(s.chunk_size) : json(nullptr);
    c["use_qk_norm"] = s.qk_norm;
    c["moe_layers"] = json::array();
    c["interleave_moe_layer_step"] = 0;
    c["num_local_experts"] = 0;
    c["num_experts_per_tok"] = 0;
    c["no_rope_layers"] = std::vector<int64_t>(layers, 1);
    c["attn_temperature_tuning"] = false;
    c["rope_scaling"] = nullptr;
  }
  if (s.rope_scaling)
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", s.rope_scaling->factor},
                         {"low_freq_factor", s.rope_scaling->low_freq_factor},
                         {"high_freq_factor", s.rope_scaling->high_freq_factor},
                         {"original_max_position_embeddings", s.rope_scaling->original_max_position_embeddings}};
  if (bos) c["bos_token_id"] = *bos;
  if (eos) c["eos_token_id"] = *eos;
  return c;
}

std::optional<int64_t> special_id(const Metadata& md, const std::string& key, uint64_t vocab) {
  const GgufValue* v = md.find(key);
  if (!v) return std::nullopt;
  auto* u = std::get_if<uint64_t>(&v->scalar);
  auto* i = std::get_if<int64_t>(&v->scalar);
  int64_t id = u && *u < vocab ? static_cast<int64_t>(*u) : i && *i >= 0 && static_cast<uint64_t>(*i) < vocab ? *i : -1;
  if (v->type == GgufValueType::ARRAY || id < 0)
    fail("{}: key {}: {} is not a token id below the vocabulary size {}", md.label(), key, v->describe(), vocab);
  return id;
}

struct TokenizerParts {
  json tokenizer, tokenizer_config, generation_config;
};

json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", trim_offsets}, {"use_regex", use_regex}};
}

// tokenizer.json as HF writes it for a Llama-3 tokenizer.
json llama3_tokenizer_json(const std::vector<std::string>& tokens, const std::vector<int64_t>& types,
                           const std::vector<std::string>& merges, std::optional<int64_t> bos, bool add_bos) {
  json added = json::array(), vocab = json::object();
  for (size_t id = 0; id < tokens.size(); ++id) {
    vocab[tokens[id]] = id;
    if (types[id] == kControl || types[id] == kUserDefined)
      added.push_back({{"id", id}, {"content", tokens[id]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", types[id] == kControl}});
  }
  json processors = json::array({byte_level(true, false, true)});
  if (add_bos && bos) {
    const std::string& b = tokens[*bos];
    json special = {{"SpecialToken", {{"id", b}, {"type_id", 0}}}};
    processors.push_back(
        {{"type", "TemplateProcessing"},
         {"single", {special, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", {special, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"SpecialToken", {{"id", b}, {"type_id", 1}}}},
                   {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
         {"special_tokens", {{b, {{"id", b}, {"ids", {*bos}}, {"tokens", {b}}}}}}});
  }
  json split = {{"type", "Split"}, {"pattern", {{"Regex", kLlamaBpeSplitRegex}}}, {"behavior", "Isolated"}, {"invert", false}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split, byte_level(false, true, false)}}}},
      {"post_processor", {{"type", "Sequence"}, {"processors", processors}}},
      {"decoder", byte_level(true, true, true)},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", true},
        {"vocab", vocab}, {"merges", merges}}},
  };
}

// JSON holds UTF-8 only: a token, merge or template with other bytes is refused here, naming it, rather
// than when tokenizer.json is written.
void check_utf8(const std::string& text, const std::string& label, const std::string& key, size_t index) {
  try {
    (void)json(text).dump();
  } catch (const json::type_error&) {
    fail("{}: key {}: entry {} is not valid UTF-8", label, key, index);
  }
}

std::optional<TokenizerParts> import_tokenizer(const Metadata& md, const ImportShape& s) {
  const std::string& label = md.label();
  std::optional<std::string> model = md.text("tokenizer.ggml.model");
  if (!model) return std::nullopt;
  std::string pre = md.text("tokenizer.ggml.pre").value_or("");
  if (*model != "gpt2" || pre != "llama-bpe")
    fail("{}: key tokenizer.ggml.model/pre: '{}'/'{}' is not supported by the GGUF import (Llama-3 'gpt2'/'llama-bpe' only)",
         label, *model, pre);
  const GgufValue& tokens = md.array("tokenizer.ggml.tokens", GgufValueType::STRING);
  const GgufValue& types = md.array("tokenizer.ggml.token_type", GgufValueType::I32);
  const GgufValue& merges = md.array("tokenizer.ggml.merges", GgufValueType::STRING);
  if (tokens.strings.size() != s.vocab)
    fail("{}: key tokenizer.ggml.tokens: {} tokens for a vocabulary of {}", label, tokens.strings.size(), s.vocab);
  if (types.ints.size() != s.vocab)
    fail("{}: key tokenizer.ggml.token_type: {} types for a vocabulary of {}", label, types.ints.size(), s.vocab);
  std::set<std::string> distinct(tokens.strings.begin(), tokens.strings.end());
  if (distinct.size() != tokens.strings.size()) fail("{}: key tokenizer.ggml.tokens: a token appears twice", label);
  for (size_t i = 0; i < types.ints.size(); ++i)
    if (types.ints[i] != kNormal && types.ints[i] != kControl && types.ints[i] != kUserDefined)
      fail("{}: key tokenizer.ggml.token_type: token {} has type {} (1 normal, 3 control, 4 user-defined supported)",
           label, i, types.ints[i]);
  for (size_t i = 0; i < tokens.strings.size(); ++i) check_utf8(tokens.strings[i], label, "tokenizer.ggml.tokens", i);
  for (size_t i = 0; i < merges.strings.size(); ++i) {
    const std::string& m = merges.strings[i];
    check_utf8(m, label, "tokenizer.ggml.merges", i);
    if (m.find(' ') == std::string::npos || m.front() == ' ' || m.back() == ' ')
      fail("{}: key tokenizer.ggml.merges: '{}' is not two tokens separated by a space", label, m);
  }

  std::optional<int64_t> bos = special_id(md, "tokenizer.ggml.bos_token_id", s.vocab);
  std::optional<int64_t> eos = special_id(md, "tokenizer.ggml.eos_token_id", s.vocab);
  std::optional<int64_t> pad = special_id(md, "tokenizer.ggml.padding_token_id", s.vocab);
  std::optional<int64_t> unk = special_id(md, "tokenizer.ggml.unknown_token_id", s.vocab);
  bool add_bos = md.flag("tokenizer.ggml.add_bos_token").value_or(bos.has_value());
  bool add_eos = md.flag("tokenizer.ggml.add_eos_token").value_or(false);
  if (add_eos) fail("{}: key tokenizer.ggml.add_eos_token: true is not supported by the GGUF import", label);

  TokenizerParts parts;
  parts.tokenizer = llama3_tokenizer_json(tokens.strings, types.ints, merges.strings, bos, add_bos);
  json& tc = parts.tokenizer_config;
  tc = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"model_max_length", s.context}, {"add_bos_token", add_bos},
        {"add_eos_token", false}, {"clean_up_tokenization_spaces", true}};
  for (auto [key, id] : {std::pair{"bos_token", bos}, {"eos_token", eos}, {"pad_token", pad}, {"unk_token", unk}})
    if (id) tc[key] = tokens.strings[*id];
  if (auto chat = md.text("tokenizer.chat_template")) {
    check_utf8(*chat, label, "tokenizer.chat_template", 0);
    tc["chat_template"] = *chat;
  }
  parts.generation_config = json::object();
  if (bos) parts.generation_config["bos_token_id"] = *bos;
  if (eos) parts.generation_config["eos_token_id"] = *eos;
  return parts;
}

}  // namespace

ImportedCheckpoint checkpoint_from_gguf(const GgufContents& gguf, const std::string& label) {
  Metadata md(gguf, label);
  ImportShape shape = read_import_shape(gguf, md);
  ImportedCheckpoint out;
  out.tensors = import_tensors(gguf, shape, label);
  std::optional<TokenizerParts> tokenizer = import_tokenizer(md, shape);
  std::optional<int64_t> bos, eos;
  if (tokenizer) {
    out.has_tokenizer = true;
    out.tokenizer = std::move(tokenizer->tokenizer);
    out.tokenizer_config = std::move(tokenizer->tokenizer_config);
    out.generation_config = std::move(tokenizer->generation_config);
    if (out.generation_config.contains("bos_token_id")) bos = out.generation_config["bos_token_id"].get<int64_t>();
    if (out.generation_config.contains("eos_token_id")) eos = out.generation_config["eos_token_id"].get<int64_t>();
  }
  out.config = config_json(shape, gguf.find_tensor("token_embd.weight")->type, bos, eos);
  return out;
}

void import_gguf(const std::string& gguf_path, const std::string& out_dir, bool overwrite) {
  ImportedCheckpoint checkpoint = checkpoint_from_gguf(read_gguf(gguf_path), gguf_path);
  // Never a user's file: OUTDIR a file, a folder of other files, or one holding a file import writes
  // (a tokenizer with the user's chat template was replaced, exit 0) needs --overwrite or is refused.
  const std::vector<std::string> written = {"config.json", "model.safetensors", "tokenizer.json",
                                            "tokenizer_config.json", "generation_config.json"};
  check_output_directory(out_dir, written, overwrite, "import", "OUTDIR");
  if (!overwrite)
    for (const std::string& name : written)
      if (file_exists(out_dir + "/" + name))
        fail("import OUTDIR {}: already holds {} (pass --overwrite to replace it)", out_dir, name);
  std::filesystem::create_directories(out_dir);
  std::vector<TensorToWrite> tensors;
  for (const auto& t : checkpoint.tensors) tensors.push_back({t.name, t.dtype, t.shape, t.values.data(), nullptr});
  write_safetensors(out_dir + "/model.safetensors", tensors, {{"format", "pt"}});
  write_json_file(out_dir + "/config.json", checkpoint.config);
  if (checkpoint.has_tokenizer) {
    write_file_atomic(out_dir + "/tokenizer.json", checkpoint.tokenizer.dump());
    write_json_file(out_dir + "/tokenizer_config.json", checkpoint.tokenizer_config);
    write_json_file(out_dir + "/generation_config.json", checkpoint.generation_config);
  }
}

}  // namespace tt
