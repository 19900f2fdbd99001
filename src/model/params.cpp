#include "model/params.h"

#include <fmt/format.h>

namespace tt {

const TensorSlot* ParameterLayout::find(const std::string& name) const {
  for (const auto& slot : slots)
    if (slot.name == name) return &slot;
  return nullptr;
}

namespace {

void add(ParameterLayout& layout, std::string name, std::vector<int64_t> shape, bool is_norm = false) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  layout.slots.push_back({std::move(name), std::move(shape), layout.total, numel, is_norm});
  layout.total += numel;
}

}  // namespace

ParameterLayout make_parameter_layout(const ModelConfig& c) {
  ParameterLayout layout;
  const int64_t C = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const char* ffn = c.family == ModelFamily::Llama4Text ? "feed_forward" : "mlp";
  add(layout, "model.embed_tokens.weight", {c.vocab_size, C});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = fmt::format("model.layers.{}.", l);
    add(layout, p + "input_layernorm.weight", {C}, true);
    add(layout, p + "self_attn.q_proj.weight", {c.num_attention_heads * D, C});
    add(layout, p + "self_attn.k_proj.weight", {c.num_key_value_heads * D, C});
    add(layout, p + "self_attn.v_proj.weight", {c.num_key_value_heads * D, C});
    add(layout, p + "self_attn.o_proj.weight", {C, c.num_attention_heads * D});
    add(layout, p + "post_attention_layernorm.weight", {C}, true);
    add(layout, fmt::format("{}{}.gate_proj.weight", p, ffn), {F, C});
    add(layout, fmt::format("{}{}.up_proj.weight", p, ffn), {F, C});
    add(layout, fmt::format("{}{}.down_proj.weight", p, ffn), {C, F});
  }
  add(layout, "model.norm.weight", {C}, true);
  if (!c.tie_word_embeddings) add(layout, "lm_head.weight", {c.vocab_size, C});
  return layout;
}

ModelViews make_model_views(const ModelConfig& c, float* buffer) {
  ParameterLayout layout = make_parameter_layout(c);
  size_t i = 0;
  auto next = [&] { return buffer + layout.slots[i++].offset; };
  ModelViews views;
  views.embed = next();
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LayerViews v;
    v.attn_norm = next();
    v.wq = next();
    v.wk = next();
    v.wv = next();
    v.wo = next();
    v.ffn_norm = next();
    v.w_gate = next();
    v.w_up = next();
    v.w_down = next();
    views.layers.push_back(v);
  }
  views.final_norm = next();
  views.lm_head = c.tie_word_embeddings ? views.embed : next();
  return views;
}

}  // namespace tt
