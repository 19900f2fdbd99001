// Llama (LlamaForCausalLM: SmolLM2, Llama-3.2): pre-norm attention without QK norm, SwiGLU FFN.
// RoPE rotates half-dimensions (with llama3 scaling when configured): a RoPE parameter, not a step.
#include "model/recipe.h"

namespace tt {

void llama_layer(LayerOps& ops, const ModelConfig& config) {
  self_attention_block(ops, /*qk_norm=*/false);
  swiglu_ffn_block(ops);
}

}  // namespace tt
