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
  if (largest)  // under ZeRO-1 (shard_optimizer first) the device holds the moments of its slice only
    require_device_memory(*device, state.model->config, *largest, fmt::format("cuda:{}", index),
                          std::max<int>(1, static_cast<int>(state.shards.counts.size())));
  use_train_device(state, profile_ops ? profiled_train_device(std::move(device)) : std::move(device));
}

namespace {

// The device's part of the optimizer: ZeRO-1's slice of this rank, its buffers padded to the ranks'
// equal chunks; every parameter when the optimizer is not sharded.
OptimizerSlice device_optimizer_slice(const TrainState& state) {
  const int64_t total = static_cast<int64_t>(state.model->params.size());
  if (state.shards.counts.empty()) return {0, total, total};
  const int64_t chunk = state.shards.counts[0];
  return {state.shards.mine.begin, state.shards.mine.end, chunk * static_cast<int64_t>(state.shards.counts.size())};
}

}  // namespace

void use_train_device(TrainState& state, std::unique_ptr<TrainDevice> device) {
  Model& model = *state.model;
  state.gpu.reset();
  state.device = std::move(device);
  state.gpu = std::make_unique<DeviceTrainingModel>(model.config, *state.device, state.precision, model.params,
                                                    per_parameter_decay_mask(model.layout, state.decay_mask),
                                                    device_optimizer_slice(state));
  // the moments of the device's slice (under ZeRO-1 state.adam holds this rank's slice only)
  if (!state.adam.m.empty()) state.device->upload_moments(state.adam.m.data(), state.adam.v.data(), state.adam.step);
}

namespace {

// The device's parameters and moments (of its optimizer slice) into model->params and `adam` (for a
// checkpoint or the final model).
void download_state(const TrainState& state, AdamWState* adam) {
  Model& model = *state.model;
  state.gpu->download_parameters(model.params);
  if (!adam) return;
  const size_t moments = static_cast<size_t>(device_optimizer_slice(state).size());
  adam->m.resize(moments);
  adam->v.resize(moments);
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
  const int64_t chunk = (norm_blocks(elements) + ranks - 1) / ranks * kNormBlock;
  std::vector<int64_t> counts;
  for (int r = 0; r < ranks; ++r) counts.push_back(std::min(elements, chunk * (r + 1)) - std::min(elements, chunk * r));
  return counts;
}

void shard_optimizer(TrainState& state) {
  const Communicator& world = Communicator::world();
  if (world.distributed()) shard_optimizer(state, world.rank(), world.size());
}

void shard_optimizer(TrainState& state, int rank, int ranks) {
  if (state.gpu) download_state(state, &state.adam);  // moved into the sliced device buffers below
  OptimizerShards& shards = state.shards;
  shards.counts = optimizer_slices(static_cast<int64_t>(state.grads.size()), ranks);
  shards.mine.begin = 0;
  for (int r = 0; r < rank; ++r) shards.mine.begin += shards.counts[r];
  shards.mine.end = shards.mine.begin + shards.counts[rank];
  AdamWState& adam = state.adam;
  if (adam.m.size() == state.grads.size()) {  // every moment (a checkpoint's): keep this rank's
    adam.m = std::vector<float>(adam.m.begin() + shards.mine.begin, adam.m.begin() + shards.mine.end);
    adam.v = std::vector<float>(adam.v.begin() + shards.mine.begin, adam.v.begin() + shards.mine.end);
  }
  // Already on a device (sharded after use_train_device): its buffers again, the moments of the slice only.
  if (state.gpu) use_train_device(state, std::move(state.device));
}

bool optimizer_sharded(const TrainState& state) { return !state.shards.counts.empty(); }

void reduce_gradients(TrainState& state) {
  if (state.gpu) {
    if (!state.device_world) return;  // one process (a world of one still runs it: the GPU test)
    DeviceCommunicator& ranks = *state.device_world;
    float* grads = state.device->grads();
    // The communicator runs on its own stream: the backward passes queued on the device's first.
    state.device->synchronize();
    if (optimizer_sharded(state)) {
      OpScope scope("gradient reduce-scatter (GPUs)");
      const std::vector<int64_t>& counts = state.shards.counts;
      if (static_cast<int>(counts.size()) != ranks.size())
        fail("ZeRO-1 on devices: {} optimizer slices for a device communicator of {} ranks", counts.size(),
             ranks.size());
      // In place: this rank's slice of the sum lands at its own offset rank x chunk of the (padded)
      // buffer, which is where its slice starts; the rest of the buffer is left as it was.
      const size_t chunk = static_cast<size_t>(counts[0]);
      ranks.reduce_scatter_sum(grads, grads + chunk * ranks.rank(), chunk);
    } else {
      OpScope scope("gradient reduction (GPUs)");
      ranks.all_reduce_sum(grads, state.model->params.size());
    }
    ranks.synchronize();
    return;
  }
  Communicator& world = Communicator::world();
  if (!world.distributed()) return;
  OpScope scope("gradient reduction (ranks)");
  if (optimizer_sharded(state)) {
    state.shards.grads.resize(static_cast<size_t>(state.shards.mine.size()));
    world.reduce_scatter_sum(state.grads.data(), state.shards.grads.data(), state.shards.counts);
  } else {
    world.all_reduce_sum(state.grads.data(), state.grads.size());
  }
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

// ZeRO-1 on devices, as apply_sharded_gradients: the global norm from every rank's slice (the ranks'
// sums of squares all-reduced on the devices: one float each, so the norm's rounding differs from
// the one-buffer reduction by the float additions of the slices' sums), the clip and AdamW on this
// rank's slice (its moments are the only ones the device holds), then the updated slices all-gathered
// in place into every rank's parameter buffer and the bf16 copy refreshed from it. A non-finite norm
// is every rank's (the same all-reduced sum): all skip the update and the gather.
double apply_sharded_device_gradients(TrainState& state, const TrainOptimizerStep& step) {
  DeviceCommunicator* ranks = state.device_world.get();
  if (!ranks) fail("ZeRO-1 on a device without a device communicator (its slices are summed over the ranks)");
  TrainDevice& device = *state.device;
  double norm;
  {
    OpScope scope("gradient norm and slice update (GPUs)");
    float* sum_of_squares = device.slice_gradient_sum_of_squares();
    device.synchronize();
    ranks->all_reduce_sum(sum_of_squares, 1);
    ranks->synchronize();
    norm = device.sharded_optimizer_step(step);
  }
  if (!std::isfinite(norm)) return norm;
  OpScope scope("parameter all-gather (GPUs)");
  const double t0 = now_seconds();
  const size_t chunk = static_cast<size_t>(state.shards.counts[0]);
  float* params = device.params();
  device.synchronize();  // the slice's update, queued on the device's stream, before the communicator's
  ranks->all_gather(params + chunk * ranks->rank(), params, chunk);
  ranks->synchronize();
  device.refresh_params_bf16();
  state.shards.gather_seconds = now_seconds() - t0;
  return norm;
}

// The moments of every parameter on rank 0, from every rank's `slice` (the state's own, or what its
// device holds).
AdamWState gathered_moments(const TrainState& state, const AdamWState& slice) {
  AdamWState all;
  all.step = slice.step;
  const size_t size = state.grads.size(), mine = static_cast<size_t>(state.shards.mine.size());
  const bool root = Communicator::world().is_root();
  all.m.resize(root ? size : 0);
  all.v.resize(root ? size : 0);
  // Before the first update the moments are not allocated yet: zeros, as AdamW starts from.
  const std::vector<float> zeros(slice.m.size() == mine ? 0 : mine, 0.0f);
  const float* m = zeros.empty() ? slice.m.data() : zeros.data();
  const float* v = zeros.empty() ? slice.v.data() : zeros.data();
  Communicator::world().gather(m, all.m.data(), state.shards.counts);
  Communicator::world().gather(v, all.v.data(), state.shards.counts);
  return all;
}

}  // namespace

double apply_gradients(TrainState& state, const AdamWConfig& adamw, double lr, double max_grad_norm) {
  if (state.gpu) {
    const TrainOptimizerStep step{lr, adamw.beta1, adamw.beta2, adamw.epsilon, adamw.weight_decay, max_grad_norm};
    const double norm = optimizer_sharded(state) ? apply_sharded_device_gradients(state, step)
                                                 : state.device->optimizer_step(step);
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
  if (state.gpu && optimizer_sharded(state)) {  // every rank's slice of the moments, gathered on rank 0
    AdamWState slice;
    download_state(state, &slice);
    const AdamWState all = gathered_moments(state, slice);
    if (Communicator::world().is_root())
      save_checkpoint(output_dir, *state.model, all, progress, tokenizer_source, save_total_limit);
    return;
  }
  if (state.gpu) {  // every rank's device holds the same weights and moments: rank 0 writes them
    if (!Communicator::world().is_root()) return;
    AdamWState adam;
    download_state(state, &adam);
    save_checkpoint(output_dir, *state.model, adam, progress, tokenizer_source, save_total_limit);
    return;
  }
  if (optimizer_sharded(state)) {
    const AdamWState all = gathered_moments(state, state.adam);
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
