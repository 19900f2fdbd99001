// The training state (parameters, gradients, AdamW moments, the bf16 weight copy, the workspace)
// and the phases of one optimizer step over it. The trainer loop (train/trainer.h) and the
// benchmark reach parameters, gradients and optimizer state only through these functions, so a
// backend that keeps them elsewhere (a GPU: issue 14) replaces this file, not the loop:
//
//   zero_gradients -> objective forward/backward per micro-batch (accumulate_token_loss for token
//   losses) -> reduce_gradients (data-parallel: issue 19) -> apply_gradients (global-norm clip,
//   AdamW, [ZeRO-1: all-gather of the updated slices], bf16 refresh)
//
// ZeRO-1 (trainer.zero_stage: 1, under mpirun): the parameter buffer is split into one contiguous
// slice per rank, at multiples of kNormBlock; a rank keeps the AdamW moments of its slice only (a
// 1/N of the optimizer state), receives the sum of every rank's gradients for its slice
// (reduce-scatter instead of all-reduce), computes the global gradient norm from the ranks' block
// sums, clips and updates its slice, and the updated slices are all-gathered so that every rank holds
// every parameter. Each element gets the bits the unsharded update gives it (with 2 ranks the
// reduce-scatter's sums are the all-reduce's: a + b either way), so ZeRO-1 on or off trains the same
// weights; checkpoints hold every moment (gathered on rank 0), so either resumes the other's.
// The slices are equal chunks (a whole number of kNormBlock blocks each, the last rank's shorter or
// empty) because NCCL's reduce-scatter and all-gather take equal chunks.
//
// ZeRO-1 on devices (the same semantics, with state.device_world): the device gradient buffer is
// reduce-scattered in place (each rank receives only its slice's sums: half the bytes an all-reduce
// moves), each rank's slice's sum of squares is all-reduced into the global norm, the device clips
// and updates only its slice, and the slices are all-gathered in place into every rank's fp32
// parameters, then the bf16 copy is refreshed. The device holds the AdamW moments (and decay mask)
// of its slice only; the fp32 master weights and gradients stay whole on every device (the forward
// and backward read and write all of them), padded to the ranks' equal chunks.
//
// train_step runs the whole sequence for token-loss batches: the loss is averaged over all target
// tokens of the effective batch (TRL/HF semantics).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/device_collectives.h"
#include "model/device_transformer.h"
#include "model/transformer.h"
#include "train/device_memory.h"
#include "train/optimizer.h"
#include "train/trainer_state.h"

namespace tt {

// The slices of ZeRO-1; empty counts: this process updates every parameter.
struct OptimizerShards {
  std::vector<int64_t> counts;  // elements of each rank's slice, in rank order
  ParamRange mine;              // this rank's slice
  std::vector<float> grads;     // the gradients of `mine`, summed over the ranks
  double gather_seconds = 0;    // the last step's parameter all-gather
};

struct TrainState {
  Model* model = nullptr;
  Precision precision = Precision::FP32;
  std::vector<float> grads;  // one contiguous buffer, the parameters' layout
  bool grads_are_zero = true;  // set by apply_gradients (which zeroes them), so zero_gradients skips its pass
  ModelViews grad_views;     // named views into grads
  AdamWState adam;
  std::vector<uint8_t> decay_mask;
  std::vector<float> bf16_copy;
  Workspace workspace;
  WeightSet weights;
  OptimizerShards shards;
  // On a GPU (use_cuda_device): parameters, gradients and AdamW moments live on the device and the
  // functions below run there; model->params and adam are brought back when a checkpoint is written.
  std::unique_ptr<TrainDevice> device;
  std::unique_ptr<DeviceTrainingModel> gpu;
  // Data-parallel on GPUs (issue 19): every rank's device gradients summed in place by
  // reduce_gradients before the device optimizer step (NCCL; tests: a host stand-in). Null: one process.
  std::unique_ptr<DeviceCommunicator> device_world;

  TrainState(Model& model, Precision precision);
  TrainState(const TrainState&) = delete;  // grad_views and weights point into this object's buffers
  TrainState& operator=(const TrainState&) = delete;
};

// Moves the state to CUDA device `index`: uploads the parameters and the AdamW moments with their
// step count (a resumed run continues where the checkpoint left off, whichever device wrote it).
// With `largest` (the run's largest micro-batch), first checks that the run fits in the device's
// free memory (train/device_memory.h) and fails with one line when it does not.
// profile_ops: the device wrapped by kernels/profiling_train_device.h (per-op device time, slower).
void use_cuda_device(TrainState& state, int index, std::optional<MicroBatchShape> largest = std::nullopt,
                     bool profile_ops = false);
// The same with a given device (use_cuda_device opens the plugin's; tests pass a host double).
void use_train_device(TrainState& state, std::unique_ptr<TrainDevice> device);

// One byte per parameter (1: weight decay applies) from the per-tensor weight_decay_mask.
std::vector<uint8_t> per_parameter_decay_mask(const ParameterLayout& layout, const std::vector<uint8_t>& tensor_mask);

// Sets the gradients to zero for the next accumulation (no pass when apply_gradients left them zero).
void zero_gradients(TrainState& state);

// Forward and backward of one batch, every target token's loss weighted by token_weight (1 / the
// effective batch's target tokens); adds to the gradients. NEFTune noise when neftune_alpha > 0.
LossResult accumulate_token_loss(TrainState& state, const Batch& batch, float token_weight, TokenLoss loss,
                                 float neftune_alpha, uint64_t neftune_seed);

// ZeRO-1 over the ranks of Communicator::world() (nothing with one rank): from now on this rank
// keeps and updates one slice; moments covering every parameter (a resumed run's) keep that slice.
// On a device, before or after use_train_device (after: its buffers are created again, sliced).
void shard_optimizer(TrainState& state);
// The same as rank `rank` of `ranks` (tests: ranks in one process).
void shard_optimizer(TrainState& state, int rank, int ranks);
bool optimizer_sharded(const TrainState& state);
// The slices of `elements` parameters over `ranks`: contiguous, in rank order, each starting at a
// multiple of kNormBlock, as even as that allows (the last rank's may be shorter or empty).
std::vector<int64_t> optimizer_slices(int64_t elements, int ranks);

// Sums the gradient buffer over the ranks of Communicator::world(): all-reduced, or under ZeRO-1
// reduce-scattered into this rank's slice (state.shards.grads). Nothing with one rank. On a device:
// the device gradient buffer all-reduced in place with state.device_world (nothing when null), under
// ZeRO-1 reduce-scattered in place (this rank's slice of the sums at its own offset).
void reduce_gradients(TrainState& state);

// Clips the gradients to max_grad_norm (<= 0: no clipping), applies AdamW at learning rate lr,
// refreshes the bf16 weight copy and leaves the gradients zero (one fused pass after the norm's).
// Returns the gradient norm before clipping. Under ZeRO-1 every rank calls it: each updates its
// slice (the fused pass over the slice), then the slices are all-gathered.
double apply_gradients(TrainState& state, const AdamWConfig& adamw, double lr, double max_grad_norm);

// Forward only, no gradients (evaluation): the token loss with weight 1 and per-token log-probs.
LossResult evaluate_token_loss(TrainState& state, const Batch& batch, TokenLoss loss, Workspace& workspace,
                               float* token_logprobs);

// Checkpoints and the final model from the state's parameters and optimizer moments (downloaded
// from the device first when the state is on a GPU). Every rank calls save_train_checkpoint (under
// ZeRO-1 the moments are gathered on rank 0); rank 0 writes.
void save_train_checkpoint(const TrainState& state, const std::string& output_dir, const CheckpointState& progress,
                           const std::string& tokenizer_source, int64_t save_total_limit);
void write_trained_model(const TrainState& state, const std::string& output_dir, const std::string& tokenizer_source);

struct StepOptions {
  AdamWConfig adamw;
  double learning_rate = 0.0;  // this step's scheduled learning rate
  double max_grad_norm = 1.0;  // <= 0: no clipping
  TokenLoss loss = TokenLoss::NLL;
  float neftune_alpha = 0.0f;
  uint64_t neftune_seed = 0;
};

struct StepResult {
  double loss = 0.0;       // mean over target tokens
  double grad_norm = 0.0;  // before clipping
  int64_t tokens = 0;      // target tokens
  int64_t correct = 0;     // argmax hits among them
};

// Micro-batch m gets NEFTune seed neftune_seed * 1000003 + m. A batch with no target token changes
// nothing (no optimizer step).
StepResult train_step(TrainState& state, const std::vector<Batch>& micro_batches, const StepOptions& options);

int64_t count_targets(const Batch& batch);  // positions with a target (>= 0)

}  // namespace tt
