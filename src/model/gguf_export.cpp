#include "model/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "io/gguf_llama.h"
#include "io/safetensors.h"
#include "model/config.h"

namespace tt {

namespace {

using nlohmann::json;

enum TokenType { kNormal = 1, kControl = 3, kUserDefined = 4 };


// What the GGUF is written as. A dense llama4_text model (MobileLLM-R1) is not written as llama.cpp's
// "llama4" architecture, which its converter uses but its runtime cannot load dense (see read_llama4_shape);
// with use_qk_norm it is written as "qwen3" (per-head RMS norms of q and k, weight 1: a norm commutes with
// RoPE, a rotation, so before or after RoPE is the same; rotate-half RoPE, so the interleaved Q/K rows are
// permuted to halves), without it as "llama" (interleaved RoPE: the rows stay as they are).
enum class QkRows { RotateHalfToInterleaved, InterleavedToRotateHalf, AsIs };

struct LlamaShape {
  int64_t layers, hidden, ffn, heads, kv_heads, head_dim, context, vocab;
  double rms_eps;
  bool has_rope_theta;
  double rope_theta;
  bool has_head_dim;
  bool tied;
  std::string arch = "llama";  // general.architecture and the metadata key prefix
  QkRows qk_rows = QkRows::RotateHalfToInterleaved;
  bool unit_qk_norms = false;  // write blk.N.attn_{q,k}_norm.weight = 1 (qwen3)
  std::string ffn_prefix = "mlp.";  // HF: Llama "mlp.", Llama4 "feed_forward."
  // llama4_text only: what the architecture keys cannot say, written as tinythink.* keys (llama.cpp
  // ignores keys it does not know) so that `tinythink import` gives back the same config: the model type
  // (a "llama" file is otherwise an HF llama with rotate-half rows), and max_position_embeddings and
  // attention_chunk_size, which context_length folds into one number. Not written for llama, whose file
  // equals llama.cpp's converter's key for key (gguf_export_test).
  bool llama4_keys = false;
  int64_t max_positions = 0, chunk_size = 0;
  // rope_scaling llama3: the rope_freqs.weight tensor, and its parameters as tinythink.rope_scaling.*
  // keys so that `tinythink import` gives back the same config
  std::optional<Llama3RopeScaling> rope_scaling;
};

std::optional<Llama3RopeScaling> llama3_scaling_of(const ModelConfig& c) {
  if (c.rope_scaling.type != "llama3") return std::nullopt;
  return Llama3RopeScaling{c.rope_scaling.factor, c.rope_scaling.low_freq_factor, c.rope_scaling.high_freq_factor,
                           c.rope_scaling.original_max_position_embeddings};
}

int64_t int_key(const json& config, const std::string& path, const char* key) {
  if (!config.contains(key) || !config[key].is_number_integer()) fail("{}: missing integer key '{}'", path, key);
  return config[key].get<int64_t>();
}

// llama4_text through the model's own config parsing, which refuses MoE and NoPE layers (and unknown
// fields). Why not llama.cpp's "llama4" architecture, which its converter writes: llama.cpp 80fb11a (the
// source in npm node-llama-cpp 3.21.1; ggml-org/llama.cpp 8a5c4e0 is the same) throws "llama4 model cannot
// have zero experts" in src/models/llama4.cpp, llama_model_llama4::load_arch_tensors (line 50), for a dense
// model. With one fake expert and interleave_moe_layer_step 0 it would load, but load_arch_hparams (line 11)
// sets n_no_rope_layer_step = n_layer, so the graph (lines 145-146) skips RoPE and the q/k norm on the last
// layer, which MobileLLM-R1 does not. "qwen3" (src/models/qwen3.cpp: per-head q/k RMS norm with weight,
// eps = rms_norm_eps; LLAMA_ROPE_TYPE_NEOX in src/llama-model.cpp llama_model_rope_type) computes the same.
LlamaShape read_llama4_shape(const std::string& path) {
  ModelConfig c = load_model_config(path);
  if (c.rope_scaling.type == "llama3" && c.use_qk_norm)
    fail("{}: rope_scaling (llama3) with use_qk_norm: the export writes such a model as llama.cpp's qwen3, "
         "which has no RoPE frequency factors (rope_freqs.weight); only a model without use_qk_norm (llama) can "
         "carry them", path);
  LlamaShape s{};
  s.rope_scaling = llama3_scaling_of(c);
  s.layers = c.num_hidden_layers, s.hidden = c.hidden_size, s.ffn = c.intermediate_size;
  s.heads = c.num_attention_heads, s.kv_heads = c.num_key_value_heads, s.head_dim = c.head_dim;
  // Chunked attention is not in these architectures: the file's context stops where full attention and
  // chunked attention still agree.
  s.context = c.attention_chunk_size > 0 ? std::min(c.max_position_embeddings, c.attention_chunk_size)
                                         : c.max_position_embeddings;
  s.vocab = c.vocab_size, s.rms_eps = c.rms_norm_eps;
  s.has_rope_theta = true, s.rope_theta = c.rope_theta;
  s.has_head_dim = true, s.tied = c.tie_word_embeddings;
  s.arch = c.use_qk_norm ? "qwen3" : "llama";
  s.qk_rows = c.use_qk_norm ? QkRows::InterleavedToRotateHalf : QkRows::AsIs;
  s.unit_qk_norms = c.use_qk_norm;
  s.ffn_prefix = "feed_forward.";
  s.llama4_keys = true;
  s.max_positions = c.max_position_embeddings, s.chunk_size = c.attention_chunk_size;
  return s;
}

LlamaShape read_shape(const std::string& dir) {
  std::string path = dir + "/config.json";
  json config = read_json_file(path);
  std::string type = config.value("model_type", "");
  if (type == "llama4_text") return read_llama4_shape(path);
  if (type != "llama") fail("{}: model_type '{}' is not supported by the GGUF export (llama, llama4_text)", path, type);
  LlamaShape s{};
  s.rope_scaling = llama3_scaling_of(load_model_config(path));  // its checks: llama3 or none
  s.layers = int_key(config, path, "num_hidden_layers");
  s.hidden = int_key(config, path, "hidden_size");
  s.ffn = int_key(config, path, "intermediate_size");
  s.heads = int_key(config, path, "num_attention_heads");
  s.kv_heads = config.contains("num_key_value_heads") ? int_key(config, path, "num_key_value_heads") : s.heads;
  s.has_head_dim = config.contains("head_dim");
  s.head_dim = s.has_head_dim ? int_key(config, path, "head_dim") : s.hidden / s.heads;
  s.context = int_key(config, path, "max_position_embeddings");
  s.vocab = int_key(config, path, "vocab_size");
  s.rms_eps = config.value("rms_norm_eps", 1e-6);
  s.has_rope_theta = config.contains("rope_theta");
  s.rope_theta = config.value("rope_theta", 10000.0);
  s.tied = config.value("tie_word_embeddings", false);
  if (s.head_dim % 2 != 0) fail("{}: head_dim {} is odd", path, s.head_dim);
  return s;
}

// llama.cpp's tensor names for the HF Llama names; empty for tensors the converter drops.
std::string gguf_tensor_name(const std::string& hf, const LlamaShape& shape, const std::string& file) {
  if (hf == "lm_head.weight" && shape.tied) return "";
  if (hf.ends_with("rotary_emb.inv_freq")) return "";
  for (const auto& n : llama_gguf_top_names())
    if (hf == n.hf) return n.gguf;
  static const std::regex layer_re(R"(model\.layers\.(\d+)\.(.+))");
  std::smatch m;
  if (std::regex_match(hf, m, layer_re)) {
    std::string part = m[2].str();
    if (part.starts_with(shape.ffn_prefix)) part = "mlp." + part.substr(shape.ffn_prefix.size());
    else if (part.starts_with("mlp.")) part.clear();  // a Llama4 checkpoint names its FFN feed_forward.*
    for (const auto& n : llama_gguf_layer_names())
      if (part == n.hf) return "blk." + m[1].str() + "." + n.gguf;
  }
  fail("{}: tensor {} has no GGUF name for a {} model", file, hf, shape.ffn_prefix == "mlp." ? "llama" : "llama4_text");
}

// convert_hf_to_gguf: 1-D tensors and norms stay f32; Q8_0 falls back to F16 when rows are not whole blocks.
GgmlType tensor_type(const std::string& name, size_t n_dims, int64_t row, GgufOutType outtype) {
  if (n_dims <= 1 || name.ends_with("_norm.weight")) return GgmlType::F32;
  switch (outtype) {
    case GgufOutType::F32: return GgmlType::F32;
    case GgufOutType::F16: return GgmlType::F16;
    case GgufOutType::BF16: return GgmlType::BF16;
    case GgufOutType::Q8_0: return row % kQ8_0BlockSize == 0 ? GgmlType::Q8_0 : GgmlType::F16;
  }
  return GgmlType::F32;
}

uint32_t file_type(GgufOutType outtype) {
  switch (outtype) {
    case GgufOutType::F32: return 0;
    case GgufOutType::F16: return 1;
    case GgufOutType::Q8_0: return 7;
    case GgufOutType::BF16: return 32;
  }
  return 0;
}

// gguf-py's model_weight_count_rounded_notation(count, min_digits=2): "2.1M", "135M", "1.2B".
std::string size_label(int64_t params) {
  double scaled;
  const char* suffix;
  if (params > 1e12) scaled = params * 1e-12, suffix = "T";
  else if (params > 1e9) scaled = params * 1e-9, suffix = "B";
  else if (params > 1e6) scaled = params * 1e-6, suffix = "M";
  else scaled = params * 1e-3, suffix = "K";
  int digits = static_cast<int>(std::to_string(static_cast<int64_t>(std::nearbyint(scaled))).size());
  int decimals = std::max(2 - digits, 0);
  return fmt::format("{:.{}f}{}", scaled, decimals, suffix);
}

std::vector<GgufTensor> convert_tensors(const std::string& dir, const LlamaShape& shape, GgufOutType outtype) {
  std::string path = dir + "/model.safetensors";
  if (!file_exists(path)) fail("{}: missing (sharded checkpoints are not supported by the GGUF export yet)", path);
  SafetensorsFile file(path);
  std::vector<std::string> names;
  for (const auto& t : file.tensors()) names.push_back(t.name);
  std::sort(names.begin(), names.end());  // the converter walks the safetensors keys in sorted order
  std::vector<GgufTensor> out;
  if (shape.rope_scaling) {  // the converter's extra tensors come before the checkpoint's
    const std::vector<float> factors = llama3_rope_freq_factors(*shape.rope_scaling, shape.rope_theta, shape.head_dim);
    out.push_back({kRopeFreqsTensor, GgmlType::F32, {static_cast<uint64_t>(factors.size())},
                   encode_ggml(GgmlType::F32, factors.data(), static_cast<int64_t>(factors.size()))});
  }
  for (const auto& hf : names) {
    std::string name = gguf_tensor_name(hf, shape, path);
    if (name.empty()) continue;
    const TensorInfo& info = file.get(hf);
    std::vector<float> values(info.numel());
    file.read_f32(hf, values.data());
    bool is_q = name.ends_with("attn_q.weight"), is_k = name.ends_with("attn_k.weight");
    if ((is_q || is_k) && shape.qk_rows != QkRows::AsIs) {
      int64_t heads = is_q ? shape.heads : shape.kv_heads;
      if (info.shape.size() != 2 || info.shape[0] != heads * shape.head_dim)
        fail("{}: tensor {} has {} rows, expected {} heads x {}", path, hf, info.shape.empty() ? 0 : info.shape[0],
             heads, shape.head_dim);
      std::vector<float> permuted(values.size());
      (shape.qk_rows == QkRows::RotateHalfToInterleaved ? permute_rope_rows : unpermute_rope_rows)(
          values.data(), permuted.data(), heads, shape.head_dim, info.shape[1]);
      values.swap(permuted);
    }
    GgufTensor t;
    t.name = name;
    for (auto it = info.shape.rbegin(); it != info.shape.rend(); ++it) t.dims.push_back(static_cast<uint64_t>(*it));
    t.type = tensor_type(name, t.dims.size(), static_cast<int64_t>(t.dims[0]), outtype);
    t.data = encode_ggml(t.type, values.data(), static_cast<int64_t>(values.size()));
    out.push_back(std::move(t));
  }
  if (shape.unit_qk_norms) {
    std::vector<float> ones(shape.head_dim, 1.0f);
    for (int64_t layer = 0; layer < shape.layers; ++layer)
      for (const char* which : {"attn_q_norm", "attn_k_norm"})
        out.push_back({fmt::format("blk.{}.{}.weight", layer, which), GgmlType::F32, {static_cast<uint64_t>(shape.head_dim)},
                       encode_ggml(GgmlType::F32, ones.data(), shape.head_dim)});
  }
  return out;
}

std::string token_text(const json& entry) {
  if (entry.is_string()) return entry.get<std::string>();
  if (entry.is_object() && entry.contains("content")) return entry["content"].get<std::string>();
  return "";
}

bool looks_special(const std::string& token) {
  return token.starts_with("<|") && token.ends_with("|>");
}

void add_tokenizer(GgufContents& gguf, const std::string& dir, const LlamaShape& shape) {
  std::string tok_path = dir + "/tokenizer.json";
  std::string cfg_path = dir + "/tokenizer_config.json";
  json tok = read_json_file(tok_path);
  json tok_config = file_exists(cfg_path) ? read_json_file(cfg_path) : json::object();
  const json& model = tok["model"];
  if (model.value("type", "") != "BPE") fail("{}: model.type is not BPE", tok_path);
  std::string pre_pattern;
  if (tok.contains("pre_tokenizer") && tok["pre_tokenizer"].contains("pretokenizers")) {
    for (const auto& p : tok["pre_tokenizer"]["pretokenizers"])
      if (p.value("type", "") == "Split" && p.contains("pattern")) pre_pattern = p["pattern"].value("Regex", "");
  }
  if (pre_pattern != kLlamaBpeSplitRegex)
    fail("{}: pre-tokenizer is not Llama-3's split; the GGUF export supports llama-bpe tokenizers only", tok_path);

  std::vector<std::string> tokens(shape.vocab);
  std::vector<int64_t> types(shape.vocab, kUserDefined);
  std::vector<bool> known(shape.vocab, false);
  for (const auto& [text, id_json] : model["vocab"].items()) {
    int64_t id = id_json.get<int64_t>();
    if (id < 0 || id >= shape.vocab) fail("{}: token '{}' has id {} outside vocab_size {}", tok_path, text, id, shape.vocab);
    tokens[id] = text, types[id] = kNormal, known[id] = true;
  }
  for (const auto& added : tok.value("added_tokens", json::array())) {
    int64_t id = added.at("id").get<int64_t>();
    if (id < 0 || id >= shape.vocab) fail("{}: added token id {} outside vocab_size {}", tok_path, id, shape.vocab);
    tokens[id] = added.at("content").get<std::string>();
    types[id] = added.value("special", false) || looks_special(tokens[id]) ? kControl : kUserDefined;
    known[id] = true;
  }
  for (int64_t id = 0; id < shape.vocab; ++id)
    if (!known[id]) tokens[id] = fmt::format("[PAD{}]", id);

  std::vector<std::string> merges;
  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string()) merges.push_back(m.get<std::string>());
    else merges.push_back(m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
  }
  std::map<std::string, int64_t> id_of;
  for (int64_t id = 0; id < shape.vocab; ++id) id_of.emplace(tokens[id], id);

  auto& md = gguf.metadata;
  md.push_back({"tokenizer.ggml.model", GgufValue::string("gpt2")});
  md.push_back({"tokenizer.ggml.pre", GgufValue::string("llama-bpe")});
  md.push_back({"tokenizer.ggml.tokens", GgufValue::string_array(tokens)});
  md.push_back({"tokenizer.ggml.token_type", GgufValue::i32_array(types)});
  md.push_back({"tokenizer.ggml.merges", GgufValue::string_array(merges)});

  json config = read_json_file(dir + "/config.json");
  auto special_id = [&](const char* kind) -> std::optional<int64_t> {
    std::string key = std::string(kind) + "_token";
    if (tok_config.contains(key) && !tok_config[key].is_null()) {
      auto it = id_of.find(token_text(tok_config[key]));
      if (it == id_of.end()) fail("{}: {} '{}' is not in the vocabulary", cfg_path, key, token_text(tok_config[key]));
      return it->second;
    }
    std::string id_key = key + "_id";
    if (config.contains(id_key) && config[id_key].is_number_integer()) return config[id_key].get<int64_t>();
    return std::nullopt;
  };
  for (auto [kind, gguf_key] : {std::pair{"bos", "tokenizer.ggml.bos_token_id"},
                               {"eos", "tokenizer.ggml.eos_token_id"},
                               {"unk", "tokenizer.ggml.unknown_token_id"},
                               {"sep", "tokenizer.ggml.seperator_token_id"},
                               {"pad", "tokenizer.ggml.padding_token_id"}}) {
    if (auto id = special_id(kind)) md.push_back({gguf_key, GgufValue::u32(static_cast<uint32_t>(*id))});
  }
  // add_bos from the post-processor's single-sequence template (as gguf-py's SpecialVocab reads it).
  const json* template_processing = nullptr;
  if (tok.contains("post_processor") && tok["post_processor"].is_object()) {
    const json& pp = tok["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing") template_processing = &pp;
    if (pp.contains("processors"))
      for (const auto& p : pp["processors"])
        if (p.value("type", "") == "TemplateProcessing") template_processing = &p;
  }
  if (template_processing) {
    const json& single = (*template_processing)["single"];
    bool add_bos = !single.empty() && single.front().contains("SpecialToken");
    bool add_eos = single.size() > 1 && single.back().contains("SpecialToken");
    md.push_back({"tokenizer.ggml.add_bos_token", GgufValue::boolean(add_bos)});
    if (add_eos) md.push_back({"tokenizer.ggml.add_eos_token", GgufValue::boolean(true)});
    md.push_back({"tokenizer.ggml.add_sep_token", GgufValue::boolean(false)});
  }
  if (tok_config.contains("chat_template") && tok_config["chat_template"].is_string())
    md.push_back({"tokenizer.chat_template", GgufValue::string(tok_config["chat_template"].get<std::string>())});
}

}  // namespace

GgufOutType parse_gguf_outtype(const std::string& text) {
  if (text == "f32") return GgufOutType::F32;
  if (text == "f16") return GgufOutType::F16;
  if (text == "bf16") return GgufOutType::BF16;
  if (text == "q8_0") return GgufOutType::Q8_0;
  fail("--outtype '{}': expected f32, f16, bf16 or q8_0", text);
}

GgufContents build_gguf(const std::string& model_dir, const GgufExportOptions& options) {
  LlamaShape shape = read_shape(model_dir);
  GgufContents gguf;
  gguf.tensors = convert_tensors(model_dir, shape, options.outtype);
  int64_t params = 0;
  for (const auto& t : gguf.tensors) {
    int64_t n = 1;
    for (uint64_t d : t.dims) n *= static_cast<int64_t>(d);
    params += n;
  }
  auto& md = gguf.metadata;
  md.push_back({"general.architecture", GgufValue::string(shape.arch)});
  md.push_back({"general.type", GgufValue::string("model")});
  md.push_back({"general.name", GgufValue::string(options.name)});
  md.push_back({"general.size_label", GgufValue::string(size_label(params))});
  md.push_back({shape.arch + ".block_count", GgufValue::u32(shape.layers)});
  md.push_back({shape.arch + ".context_length", GgufValue::u32(shape.context)});
  md.push_back({shape.arch + ".embedding_length", GgufValue::u32(shape.hidden)});
  md.push_back({shape.arch + ".feed_forward_length", GgufValue::u32(shape.ffn)});
  md.push_back({shape.arch + ".attention.head_count", GgufValue::u32(shape.heads)});
  md.push_back({shape.arch + ".attention.head_count_kv", GgufValue::u32(shape.kv_heads)});
  if (shape.has_rope_theta) md.push_back({shape.arch + ".rope.freq_base", GgufValue::f32(static_cast<float>(shape.rope_theta))});
  md.push_back({shape.arch + ".attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(shape.rms_eps))});
  if (shape.has_head_dim) {
    md.push_back({shape.arch + ".attention.key_length", GgufValue::u32(shape.head_dim)});
    md.push_back({shape.arch + ".attention.value_length", GgufValue::u32(shape.head_dim)});
  }
  md.push_back({"general.file_type", GgufValue::u32(file_type(options.outtype))});
  md.push_back({shape.arch + ".vocab_size", GgufValue::u32(shape.vocab)});
  md.push_back({shape.arch + ".rope.dimension_count", GgufValue::u32(shape.head_dim)});
  md.push_back({"general.quantization_version", GgufValue::u32(2)});
  if (shape.llama4_keys) {
    md.push_back({"tinythink.model_type", GgufValue::string("llama4_text")});
    md.push_back({"tinythink.max_position_embeddings", GgufValue::u32(shape.max_positions)});
    if (shape.chunk_size > 0) md.push_back({"tinythink.attention_chunk_size", GgufValue::u32(shape.chunk_size)});
  }
  if (shape.rope_scaling) {
    const Llama3RopeScaling& r = *shape.rope_scaling;
    md.push_back({"tinythink.rope_scaling.factor", GgufValue::f32(static_cast<float>(r.factor))});
    md.push_back({"tinythink.rope_scaling.low_freq_factor", GgufValue::f32(static_cast<float>(r.low_freq_factor))});
    md.push_back({"tinythink.rope_scaling.high_freq_factor", GgufValue::f32(static_cast<float>(r.high_freq_factor))});
    md.push_back({"tinythink.rope_scaling.original_max_position_embeddings", GgufValue::u32(r.original_max_position_embeddings)});
  }
  add_tokenizer(gguf, model_dir, shape);
  return gguf;
}

}  // namespace tt
