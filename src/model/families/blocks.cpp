// Blocks shared by the decoder families (HF: LlamaAttention / LlamaMLP and their derivatives).
#include "model/recipe.h"

namespace tt {

void self_attention_block(LayerOps& ops, bool qk_norm) {
  ops.norm(Norm::Attention);
  ops.project_each(Act::Normed, {{Proj::Q, Act::Q}, {Proj::K, Act::K}, {Proj::V, Act::V}});
  ops.rope(Act::Q);
  ops.rope(Act::K);
  if (qk_norm) {
    ops.head_norm(Act::Q);
    ops.head_norm(Act::K);
  }
  ops.attention();
  ops.add_to_residual(Proj::O, Act::Attention);
}

void swiglu_ffn_block(LayerOps& ops) {
  ops.norm(Norm::Ffn);
  ops.project_each(Act::Normed, {{Proj::Gate, Act::Gate}, {Proj::Up, Act::Up}});
  ops.swiglu();
  ops.add_to_residual(Proj::Down, Act::SwiGlu);
}

}  // namespace tt
