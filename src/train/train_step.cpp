#include "train/train_step.h"
#include "core/op_profile.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/log.h"

namespace tt {

TrainState::TrainState(Model& m, Precision p) : model(&m), precision(p) {
  grads.assign(m.params.size(), 0.0f);
  grad_views = make_model_views(m.config, grads.data());
  decay_mask = weight_decay_mask(m.layout);
  weights = make_weight_set(m, p, bf16_copy);
}

std::vector<uint8_t> per_parameter_decay_mask(const ParameterLayout& layout, const std::vector<uint8_t>& tensor_mask) {
  std::vector<uint8_t> mask(layout.total, 0);
  for (size_t i = 0; i < layout.slots.size(); ++i)
    std::fill_n(mask.begin() + layout.slots[i].offset, layout.slots[i].numel, tensor_mask[i]);
  return mask;
}

void use_cuda_device(TrainState& state, int index) { use_train_device(state, open_train_device(index)); }

void use_train_device(TrainState& state, std::unique_ptr<TrainDevice> device) {
  Model& model = *state.model;
  state.gpu.reset();
  state.device = std::move(device);
  state.gpu = std::make_unique<DeviceTrainingModel>(model.config, *state.device, state.precision, model.params,
                                                    per_parameter_decay_mask(model.layout, state.decay_mask));
  if (!state.adam.m.empty()) state.device->upload_moments(state.adam.m.data(), state.adam.v.data(), state.adam.step);
}

namespace {

// The device's parameters and moments into model->params and `adam` (for a checkpoint or the final model).
void download_state(const TrainState& state, AdamWState* adam) {
  Model& model = *state.model;
  state.gpu->download_parameters(model.params);
  if (!adam) return;
  adam->m.resize(model.params.size());
  adam->v.resize(model.params.size());
  state.device->download_moments(adam->m.data(), adam->v.data());
  adam->step = state.device->optimizer_updates();
}

}  // namespace

void zero_gradients(TrainState& state) {
  if (state.gpu) return state.gpu->zero_gradients();
  OpScope scope("zero gradients");
  if (!state.grads_are_zero) std::fill(state.grads.begin(), state.grads.end(), 0.0f);
  state.grads_are_zero = false;  // the caller accumulates into them next
}

LossResult accumulate_token_loss(TrainState& state, const Batch& batch, float token_weight, TokenLoss loss,
                                 float neftune_alpha, uint64_t neftune_seed) {
  std::vector<float> token_weights(batch.size(), token_weight);
  ForwardOptions forward{.precision = state.precision,
                         .for_backward = true,
                         .neftune_alpha = neftune_alpha,
                         .neftune_seed = neftune_seed};
  if (state.gpu) return state.gpu->loss(batch, forward, token_weights.data(), loss, true);
  return model_loss(state.model->config, state.weights, batch, state.workspace, forward, token_weights.data(), loss,
                    &state.grad_views);
}

double apply_gradients(TrainState& state, const AdamWConfig& adamw, double lr, double max_grad_norm) {
  if (state.gpu) {
    const double norm = state.device->optimizer_step(
        {lr, adamw.beta1, adamw.beta2, adamw.epsilon, adamw.weight_decay, max_grad_norm});
    if (!std::isfinite(norm))
      fail("the gradient norm on the GPU is {}: the device weights are no longer finite (the last checkpoint is "
           "the last good one); lower learning_rate or check the data",
           norm);
    return norm;
  }
  Model& model = *state.model;
  double norm;
  {
    OpScope scope("gradient norm");
    norm = gradient_norm(state.grads);
  }
  // clip scale, AdamW, zeroed gradients and the bf16 copy in one pass
  adamw_fused_step(model.params, state.grads, state.adam, adamw, lr, state.decay_mask, model.layout,
                   clip_coefficient(norm, max_grad_norm),
                   state.precision == Precision::BF16 ? &state.bf16_copy : nullptr);
  state.grads_are_zero = true;
  return norm;
}

LossResult evaluate_token_loss(TrainState& state, const Batch& batch, TokenLoss loss, Workspace& workspace,
                               float* token_logprobs) {
  if (state.gpu) return state.gpu->loss(batch, {.precision = state.precision}, nullptr, loss, false, token_logprobs);
  return model_loss(state.model->config, state.weights, batch, workspace, {.precision = state.precision}, nullptr,
                    loss, nullptr, token_logprobs);
}

void save_train_checkpoint(const TrainState& state, const std::string& output_dir, const CheckpointState& progress,
                           const std::string& tokenizer_source, int64_t save_total_limit) {
  if (state.gpu) {
    AdamWState adam;
    download_state(state, &adam);
    save_checkpoint(output_dir, *state.model, adam, progress, tokenizer_source, save_total_limit);
    return;
  }
  save_checkpoint(output_dir, *state.model, state.adam, progress, tokenizer_source, save_total_limit);
}

void write_trained_model(const TrainState& state, const std::string& output_dir, const std::string& tokenizer_source) {
  if (state.gpu) download_state(state, nullptr);
  SaveOptions save;
  save.tokenizer_source = tokenizer_source;
  write_model_files(*state.model, output_dir, save);
}

int64_t count_targets(const Batch& batch) {
  return std::count_if(batch.targets.begin(), batch.targets.end(), [](int32_t t) { return t >= 0; });
}

StepResult train_step(TrainState& state, const std::vector<Batch>& micro_batches, const StepOptions& options) {
  int64_t total_tokens = 0;
  for (const auto& b : micro_batches) total_tokens += count_targets(b);
  zero_gradients(state);
  StepResult result;
  result.tokens = total_tokens;
  if (total_tokens == 0) return result;
  const float weight = 1.0f / static_cast<float>(total_tokens);
  uint64_t micro = 0;
  for (const auto& batch : micro_batches) {
    LossResult r = accumulate_token_loss(state, batch, weight, options.loss, options.neftune_alpha,
                                         options.neftune_seed * 1000003ull + micro++);
    result.loss += r.loss_sum;
    result.correct += r.correct;
  }
  result.grad_norm = apply_gradients(state, options.adamw, options.learning_rate, options.max_grad_norm);
  return result;
}

}  // namespace tt
