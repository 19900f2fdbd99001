#include "train/train_step.h"

#include <algorithm>

namespace tt {

TrainState::TrainState(Model& m, Precision p) : model(&m), precision(p) {
  grads.assign(m.params.size(), 0.0f);
  decay_mask = weight_decay_mask(m.layout);
  weights = make_weight_set(m, p, bf16_copy);
}

StepResult train_step(TrainState& state, const std::vector<Batch>& micro_batches, const StepOptions& options) {
  Model& model = *state.model;
  int64_t total_tokens = 0;
  for (const auto& b : micro_batches)
    total_tokens += std::count_if(b.targets.begin(), b.targets.end(), [](int32_t t) { return t >= 0; });
  std::fill(state.grads.begin(), state.grads.end(), 0.0f);
  ModelViews grads = make_model_views(model.config, state.grads.data());
  StepResult result;
  result.tokens = total_tokens;
  if (total_tokens == 0) return result;
  const float weight = 1.0f / static_cast<float>(total_tokens);
  uint64_t micro = 0;
  for (const auto& batch : micro_batches) {
    std::vector<float> token_weights(batch.size(), weight);
    ForwardOptions forward{.precision = state.precision,
                           .for_backward = true,
                           .neftune_alpha = options.neftune_alpha,
                           .neftune_seed = options.neftune_seed * 1000003ull + micro++};
    LossResult r = model_loss(model.config, state.weights, batch, state.workspace, forward, token_weights.data(),
                              options.loss, &grads);
    result.loss += r.loss_sum;
    result.correct += r.correct;
  }
  result.grad_norm = clip_grad_norm(state.grads, options.max_grad_norm);
  adamw_step(model.params, state.grads, state.adam, options.adamw, options.learning_rate, state.decay_mask,
             model.layout);
  if (state.precision == Precision::BF16) refresh_bf16_copy(model.params, state.bf16_copy);
  return result;
}

}  // namespace tt
