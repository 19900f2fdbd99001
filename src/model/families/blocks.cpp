// Blocks shared by the decoder families (HF: LlamaAttention / LlamaMLP and their derivatives).
#include "model/recipe.h"

namespace tt {

void self_attention_block(LayerOps& ops, bool qk_norm) {
  ops.norm(Norm::Attention);
  ops.project(Proj::Q, Act::Normed, Act::Q);
  ops.project(Proj::K, Act::Normed, Act::K);
  ops.project(Proj::V, Act::Normed, Act::V);
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
  ops.project(Proj::Gate, Act::Normed, Act::Gate);
  ops.project(Proj::Up, Act::Normed, Act::Up);
  ops.swiglu();
  ops.add_to_residual(Proj::Down, Act::SwiGlu);
}

}  // namespace tt
