// Llama4 text, dense layers (Llama4ForCausalLM: MobileLLM-R1): Llama's layer with the weightless L2
// norm of q and k after RoPE when use_qk_norm (HF's default for llama4_text; HF applies it on RoPE
// layers, and config parsing refuses NoPE and MoE layers). RoPE is interleaved: a RoPE parameter.
#include "model/recipe.h"

namespace tt {

void llama4_text_layer(LayerOps& ops, const ModelConfig& config) {
  self_attention_block(ops, config.use_qk_norm);
  swiglu_ffn_block(ops);
}

}  // namespace tt
