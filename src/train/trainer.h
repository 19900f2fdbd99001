// The one training loop (HF Trainer semantics), driven by an objective.
//
// The loop owns what every trainer shares: the data order (a seeded shuffle per epoch), the
// micro-batches of each optimizer step (gradient accumulation), the loss normaliser, clipping, the
// learning-rate schedule, AdamW and the bf16 weight refresh (train/train_step.h), logging
// (metrics.jsonl rows with TRL's names and the progress line), evaluation, checkpoints, exact resume
// and SIGINT/SIGTERM (finish the step, write a checkpoint, stop).
//
// An objective owns what differs: how its rows become micro-batches, and how a micro-batch becomes
// a loss, gradients and metric contributions. SFT (nll, dft) is one objective (train/sft.h), the
// preference losses another (train/dpo.h); KTO, ORPO or GRPO would be further ones.
//
// One optimizer step:
//   micro-batches <- objective.micro_batch(rows) for each accumulation slot
//   normaliser    <- sum of their units (target tokens, pairs), all-reduced over the ranks
//   zero the gradients; objective.accumulate(each micro-batch)  (gradient of loss_sum / normaliser)
//   all-reduce the gradient buffer and the step's metric sums over the ranks
//   apply_gradients (clip, AdamW, bf16 refresh)
//
// Data-parallel (mpirun -np N, core/communicator.h): the global batch is per_device_train_batch_size
// x gradient_accumulation_steps x N (TRL/accelerate); micro-batch k of a step's N x accumulation goes
// to rank k % N, so N ranks train the weights one process trains with N x the accumulation (up to the
// order of fp32 gradient sums). Every rank applies the same update to the same weights (with
// trainer.zero_stage 1, each rank its slice of it, then the slices are all-gathered: train_step.h);
// rank 0 alone writes metrics, checkpoints and the model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "train/train_step.h"
#include "train/training_args.h"

namespace tt {

// Sums an objective adds to during a step, in slots it names; the loop adds a step's sums into the
// logging window's, and the objective turns a window's sums into metrics.
using MetricSums = std::vector<double>;

// A micro-batch as an objective builds it from its rows.
struct MicroBatch {
  std::vector<int64_t> rows;  // the objective's row ids
  Batch batch;                // token rows for the model
  int64_t units = 0;          // what the loss is averaged over: target tokens (SFT), pairs (preference)
  int64_t input_tokens = 0;   // non-padding input tokens (TRL's num_tokens)
  int64_t index = -1;         // place among the step's micro-batches of every rank; -1: its place in the list
};

// Where a micro-batch stands.
struct MicroStep {
  int64_t step = 0;        // optimizer step, 0-based
  int64_t index = 0;       // micro-batch within the step
  int64_t normaliser = 0;  // units of the whole effective batch (> 0)
};

// Training stopped by a signal after writing a checkpoint. what() advises `--resume`; a caller that
// continues runs another way (the study runner) words its own advice from stopped().
class StoppedBySignal : public Error {
 public:
  explicit StoppedBySignal(const std::string& stopped)
      : Error(stopped + ": rerun with --resume to continue"), stopped_(stopped) {}
  // "sft: stopped by signal 15 after step 3 of 9; checkpoint-3 written in DIR"
  const std::string& stopped() const { return stopped_; }

 private:
  std::string stopped_;
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual int64_t rows() const = 0;          // training rows: examples, packed rows, pairs
  virtual std::string describe() const = 0;  // the data and the loss, for the run's first log line
  virtual MicroBatch micro_batch(const std::vector<int64_t>& rows) const = 0;
  // Forward and backward of one micro-batch: adds the gradient of (its loss sum / normaliser) to
  // the state's gradients and its contributions to `sums` (metric_slots() of them).
  virtual void accumulate(TrainState& state, const MicroBatch& micro, const MicroStep& where, MetricSums& sums) = 0;
  virtual size_t metric_slots() const = 0;
  // The step's sums once every rank's are added up, before step_loss and logging: metrics that TRL
  // gathers over the ranks at each micro-step (one compute_loss call on every rank) are made here.
  virtual void pool_step_metrics(MetricSums& /*step*/) const {}
  virtual double step_loss(const MetricSums& step) const = 0;  // the step's mean loss ("loss")
  // The objective's metrics of a logging window into `row`; `progress` is its part of the progress line.
  virtual void add_metrics(const MetricSums& window, nlohmann::json& row) const = 0;
  virtual std::string progress(const nlohmann::json& row) const = 0;
  // Evaluation metrics ("eval_loss", ...) on held-out data; an empty object when it has none.
  virtual nlohmann::json evaluate(TrainState&) { return nlohmann::json::object(); }
  virtual bool has_eval_data() const { return false; }
  // After optimizer step `global_step` (1-based), before logging, evaluation and the checkpoint
  // (transformers' on_step_end): TR-DPO's reference sync.
  virtual void step_end(TrainState&, int64_t /*global_step*/) {}
  // State carried across steps that a checkpoint must keep (null: none), tensors among it (written
  // to trainer_state/objective.safetensors; they must stay valid until the next step), and its
  // restore from the checkpoint in `checkpoint_dir` ("" and a null state: a fresh start).
  virtual nlohmann::json state() const { return nullptr; }
  virtual std::vector<TensorToWrite> state_tensors() const { return {}; }
  virtual void restore(const nlohmann::json&, const std::string& /*checkpoint_dir*/) {}
};

struct TrainerRun {
  std::string name;              // "sft", "dpo": log prefix
  std::string tokenizer_source;  // copied into checkpoints ("" = none)
  bool resume = false;           // continue from the newest checkpoint in output_dir
  bool shuffle = true;           // false: rows in dataset order (reference comparisons)
  int cuda_device = -1;          // >= 0: the step runs on that CUDA device (train_step.h's use_cuda_device)
  int64_t rows_per_example = 1;  // token rows of one objective row (a preference pair: 2), for the memory check
};

struct TrainerResult {
  int64_t steps = 0;
  double final_loss = 0;  // last logged training loss
};

// The gradient of one step's mean loss, without the update: zeroes the gradients, then accumulates
// every micro-batch (none when the step has no units). The optimizer step of the loop, less
// apply_gradients; also what gradient tests call. With several ranks, `micro_batches` are this rank's
// share, and the normaliser, gradients and sums are those of every rank's (all-reduced).
struct StepGradients {
  MetricSums sums;
  int64_t normaliser = 0;
  double all_reduce_seconds = 0;  // spent summing gradients and sums over the ranks
};
StepGradients accumulate_step(TrainState& state, Objective& objective, const std::vector<MicroBatch>& micro_batches,
                              int64_t step);

// Trains `model` (loaded from config.model_name; a resumed run loads its checkpoint into it) and
// writes checkpoints, metrics.jsonl and the final model to output_dir.
TrainerResult run_trainer(const TrainConfig& config, const TrainerRun& run, Model& model, Objective& objective);

// Every token id of `ids` is below the model's vocabulary size; else an error naming `source`.
void check_token_ids(const std::vector<int32_t>& ids, const ModelConfig& config, const std::string& source);

}  // namespace tt
