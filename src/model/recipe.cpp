#include "model/recipe.h"

#include "core/error.h"

namespace tt {

int64_t activation_width(const ModelConfig& c, Act act) {
  switch (act) {
    case Act::Normed: return c.hidden_size;
    case Act::Q:
    case Act::Attention: return c.num_attention_heads * c.head_dim;
    case Act::K:
    case Act::V: return c.num_key_value_heads * c.head_dim;
    case Act::Gate:
    case Act::Up:
    case Act::SwiGlu: return c.intermediate_size;
  }
  fail("unknown activation {}", static_cast<int>(act));
}

const float* linear_weight(const LayerViews& layer, Proj weight) {
  switch (weight) {
    case Proj::Q: return layer.wq;
    case Proj::K: return layer.wk;
    case Proj::V: return layer.wv;
    case Proj::O: return layer.wo;
    case Proj::Gate: return layer.w_gate;
    case Proj::Up: return layer.w_up;
    case Proj::Down: return layer.w_down;
  }
  fail("unknown projection {}", static_cast<int>(weight));
}

LayerRecipe layer_recipe(ModelFamily family) {
  switch (family) {
    case ModelFamily::Llama: return llama_layer;
    case ModelFamily::Llama4Text: return llama4_text_layer;
  }
  fail("model family {} has no layer recipe", static_cast<int>(family));
}

}  // namespace tt
