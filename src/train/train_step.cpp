#include "train/train_step.h"

#include <algorithm>
#include <cmath>

#include "core/communicator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/op_profile.h"
#include "core/system.h"
#include "kernels/profiling_train_device.h"

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

void use_cuda_device(TrainState& state, int index, std::optional<MicroBatchShape> largest, bool profile_ops) {
  std::unique_ptr<TrainDevice> device = open_train_device(index);
  if (largest) require_device_memory(*device, state.model->config, *largest, fmt::format("cuda:{}", index));
  use_train_device(state, profile_ops ? profiled_train_device(std::move(device)) : std::move(device));
}

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

std::vector<int64_t> optimizer_slices(int64_t elements, int ranks) {
  const int64_t blocks = norm_blocks(elements);
  std::vector<int64_t> counts;
  for (int r = 0; r < ranks; ++r) {
    const int64_t begin = std::min(elements, blocks * r / ranks * kNormBlock);
    const int64_t end = std::min(elements, blocks * (r + 1) / ranks * kNormBlock);
    counts.push_back(end - begin);
  }
  return counts;
}

void shard_optimizer(TrainState& state) {
  const Communicator& world = Communicator::world();
  if (!world.distributed()) return;
  OptimizerShards& shards = state.shards;
  shards.counts = optimizer_slices(static_cast<int64_t>(state.grads.size()), world.size());
  shards.mine.begin = 0;
  for (int r = 0; r < world.rank(); ++r) shards.mine.begin += shards.counts[r];
  shards.mine.end = shards.mine.begin + shards.counts[world.rank()];
  shards.grads.assign(static_cast<size_t>(shards.mine.size()), 0.0f);
  AdamWState& adam = state.adam;
  if (adam.m.size() == state.grads.size()) {  // every moment (a checkpoint's): keep this rank's
    adam.m = std::vector<float>(adam.m.begin() + shards.mine.begin, adam.m.begin() + shards.mine.end);
    adam.v = std::vector<float>(adam.v.begin() + shards.mine.begin, adam.v.begin() + shards.mine.end);
  }
}

bool optimizer_sharded(const TrainState& state) { return !state.shards.counts.empty(); }

void reduce_gradients(TrainState& state) {
  if (state.gpu) {
    if (!state.device_world) return;  // one process (a world of one still runs it: the GPU test)
    if (optimizer_sharded(state))
      fail("zero_stage: 1 is not implemented on CUDA devices (the device optimizer updates every parameter): "
           "use zero_stage: 0 with --device cuda");
    OpScope scope("gradient reduction (GPUs)");
    state.device_world->all_reduce_sum(state.device->grads(), state.model->params.size());
    state.device_world->synchronize();
    return;
  }
  Communicator& world = Communicator::world();
  if (!world.distributed()) return;
  OpScope scope("gradient reduction (ranks)");
  if (optimizer_sharded(state))
    world.reduce_scatter_sum(state.grads.data(), state.shards.grads.data(), state.shards.counts);
  else
    world.all_reduce_sum(state.grads.data(), state.grads.size());
}

namespace {

// ZeRO-1's step: the global norm from every rank's block sums (each block summed by the one rank
// owning it, so the all-reduce adds zeros to it: exact), clip and AdamW on this rank's slice, then
// every rank's updated slice to every rank. The full gradient buffer is not zeroed here (only the
// slice's copy is): grads_are_zero stays false, so zero_gradients clears it.
double apply_sharded_gradients(TrainState& state, const AdamWConfig& adamw, double lr, double max_grad_norm) {
  Communicator& world = Communicator::world();
  Model& model = *state.model;
  OptimizerShards& shards = state.shards;
  const ParamRange mine = shards.mine;
  double norm;
  {
    OpScope scope("gradient norm");
    std::vector<double> block_sums(static_cast<size_t>(norm_blocks(static_cast<int64_t>(state.grads.size()))), 0.0);
    squared_norm_blocks(shards.grads.data(), mine.size(), block_sums.data() + mine.begin / kNormBlock);
    world.all_reduce_sum(block_sums.data(), block_sums.size());
    norm = std::sqrt(sum_in_order(block_sums));
  }
  // clip scale and AdamW on the slice in one pass (the bf16 copy after the gather: every parameter)
  adamw_fused_step(model.params.data() + mine.begin, shards.grads.data(), state.adam, adamw, lr, state.decay_mask,
                   model.layout, mine, clip_coefficient(norm, max_grad_norm), nullptr);
  {
    OpScope scope("parameter all-gather (ranks)");
    const double t0 = now_seconds();
    world.all_gather_in_place(model.params.data(), shards.counts);
    shards.gather_seconds = now_seconds() - t0;
  }
  if (state.precision == Precision::BF16) refresh_bf16_copy(model.params, state.bf16_copy);
  return norm;
}

// The moments of every parameter on rank 0 (the state's own when not sharded).
AdamWState gathered_moments(const TrainState& state) {
  AdamWState all;
  all.step = state.adam.step;
  const size_t size = state.grads.size(), mine = static_cast<size_t>(state.shards.mine.size());
  const bool root = Communicator::world().is_root();
  all.m.resize(root ? size : 0);
  all.v.resize(root ? size : 0);
  // Before the first update the moments are not allocated yet: zeros, as AdamW starts from.
  const std::vector<float> zeros(state.adam.m.size() == mine ? 0 : mine, 0.0f);
  const float* m = zeros.empty() ? state.adam.m.data() : zeros.data();
  const float* v = zeros.empty() ? state.adam.v.data() : zeros.data();
  Communicator::world().gather(m, all.m.data(), state.shards.counts);
  Communicator::world().gather(v, all.v.data(), state.shards.counts);
  return all;
}

}  // namespace

double apply_gradients(TrainState& state, const AdamWConfig& adamw, double lr, double max_grad_norm) {
  if (state.gpu) {
    const double norm = state.device->optimizer_step(
        {lr, adamw.beta1, adamw.beta2, adamw.epsilon, adamw.weight_decay, max_grad_norm});
    if (!std::isfinite(norm))
      fail("the gradient norm on the GPU is {}: stopped before the optimizer step (weights, moments and "
           "checkpoints untouched); lower learning_rate, check adam_beta*/max_grad_norm, or look for a bad example",
           norm);
    return norm;
  }
  if (optimizer_sharded(state)) return apply_sharded_gradients(state, adamw, lr, max_grad_norm);
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
  if (state.gpu) {  // every rank's device holds the same weights and moments: rank 0 writes them
    if (!Communicator::world().is_root()) return;
    AdamWState adam;
    download_state(state, &adam);
    save_checkpoint(output_dir, *state.model, adam, progress, tokenizer_source, save_total_limit);
    return;
  }
  if (optimizer_sharded(state)) {
    const AdamWState all = gathered_moments(state);
    if (Communicator::world().is_root())
      save_checkpoint(output_dir, *state.model, all, progress, tokenizer_source, save_total_limit);
    return;
  }
  if (Communicator::world().is_root())
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
