// One model recipe per family: the layer sequence of a family is written once, as calls on LayerOps,
// and every execution context runs that same sequence —
//   - training (model/transformer.cpp): full rows, activations kept for the backward pass;
//   - the engine (infer/forward.cpp): one or more new tokens per sequence, K/V in a paged cache.
// A context maps each named activation to its buffers and each op to its kernels; the recipe only
// says what follows what. Adding a family = one file in model/families/ (its layer recipe), a line in
// layer_recipe(), and its config parsing in model/config.cpp.
#pragma once
#include <initializer_list>
#include <utility>

#include "model/config.h"
#include "model/params.h"

namespace tt {

// The activations of one layer a recipe names (besides the residual stream, which ops read and add to).
enum class Act { Normed, Q, K, V, Attention, Gate, Up, SwiGlu };
// The layer's Linear weights ([out, in], HF layout) and RMSNorm weights.
enum class Proj { Q, K, V, O, Gate, Up, Down };
enum class Norm { Attention, Ffn };

class LayerOps {
 public:
  virtual ~LayerOps() = default;
  // Normed = rmsnorm(residual) * weight.
  virtual void norm(Norm weight) = 0;
  // out = in W^T.
  virtual void project(Proj weight, Act in, Act out) = 0;
  // out_i = in W_i^T for each (W_i, out_i): projections of one input (q/k/v, gate/up), which a context
  // may run as one product. By default one project() each, in order.
  virtual void project_each(Act in, std::initializer_list<std::pair<Proj, Act>> outs) {
    for (const auto& [weight, out] : outs) project(weight, in, out);
  }
  // residual += in W^T.
  virtual void add_to_residual(Proj weight, Act in) = 0;
  // Rotates each head of Q or K by its token's position (the model's RoPE parameters).
  virtual void rope(Act q_or_k) = 0;
  // Weightless RMS norm of each head of Q or K (Llama4's QK norm).
  virtual void head_norm(Act q_or_k) = 0;
  // Attention = causal grouped-query attention of Q over the keys and values of earlier positions
  // (K and V of the rows given, and, in the engine, of the sequence's cached positions).
  virtual void attention() = 0;
  // SwiGlu = silu(Gate) * Up.
  virtual void swiglu() = 0;
};

using LayerRecipe = void (*)(LayerOps& ops, const ModelConfig& config);

// Floats per token of an activation, and the weight of a projection in a layer's views.
int64_t activation_width(const ModelConfig& config, Act act);
const float* linear_weight(const LayerViews& layer, Proj weight);

// The layer recipe of a family (model/families/*.cpp).
LayerRecipe layer_recipe(ModelFamily family);

// Blocks the families share (model/families/blocks.cpp).
// Pre-norm self-attention with a residual: norm, q/k/v, RoPE, [QK norm], attention, o-projection.
void self_attention_block(LayerOps& ops, bool qk_norm);
// Pre-norm SwiGLU feed-forward with a residual: norm, gate/up, silu(gate) * up, down-projection.
void swiglu_ffn_block(LayerOps& ops);

// The layer recipes.
void llama_layer(LayerOps& ops, const ModelConfig& config);
void llama4_text_layer(LayerOps& ops, const ModelConfig& config);

}  // namespace tt
