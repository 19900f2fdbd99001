// Supervised fine-tuning with TRL SFTTrainer semantics, an objective of the trainer loop (train/trainer.h):
// the loss averaged over all target tokens of the effective batch (nll or dft), NEFTune, eval_loss; the loop
// does the schedule, clipping, logging to metrics.jsonl with TRL's names, checkpoints and exact resume.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "train/sft_data.h"
#include "train/training_args.h"

namespace tt {

class OutputDirClaim;

struct SftRun {
  TrainConfig config;
  std::vector<SftExample> train, eval;
  std::string tokenizer_source;  // copied into checkpoints ("" = none)
  int32_t pad_id = 0;
  bool resume = false;           // continue from the newest checkpoint in output_dir
  bool shuffle = true;           // false: rows in dataset order (reference comparisons)
  int cuda_device = -1;          // >= 0: train on that CUDA device (model/device_transformer.h)
  // output_dir, claimed before the prepared-data cache was written there; a run that ends before it
  // wrote more leaves no empty folder or lone mark behind (train/run_support.h)
  std::shared_ptr<OutputDirClaim> output_claim;
};

struct SftResult {
  int64_t steps = 0;
  double final_loss = 0;  // last logged training loss
  std::string output_dir;
};

SftResult run_sft(SftRun& run);

// eval_loss and eval_mean_token_accuracy averaged over the eval batches as transformers'
// evaluation_loop and TRL's log() do: a batch's loss is its token mean, weighted by its rows (the
// observed batch size). The accuracy is one per evaluation step (TRL's compute_loss call: under
// mpirun, batch b is rank b % N's share of step b / N), and the steps' accuracies are averaged. A
// step's accuracy is its batches' correct tokens over their target tokens (TRL gathers both over the
// ranks), or with `accuracy_over_ranks` (TRL's Liger path, which gathers each rank's token_accuracy)
// the mean of its batches' accuracies; in one process both are the batch's own.
// One micro-step's token accuracy from every rank's sums (see EvalAverages): TRL's
// correct / targets (0 without targets), or the mean of the micro-batches' own with `over_ranks`.
double micro_step_accuracy(double correct, double targets, double accuracy_sum, double micro_batches, bool over_ranks);

struct EvalAverages {
  enum StepSlot : size_t { kCorrect, kTargets, kAccuracySum, kBatches, kStepSlots };
  double weighted_loss = 0, weight = 0;
  std::vector<double> steps;  // kStepSlots per evaluation step
  bool accuracy_over_ranks = false;
  EvalAverages(int64_t eval_steps, bool over_ranks)
      : steps(static_cast<size_t>(eval_steps) * kStepSlots, 0.0), accuracy_over_ranks(over_ranks) {}
  // A batch with no target token adds accuracy 0 (as TRL) and nothing to the loss.
  void add(int64_t step, double loss_sum, int64_t tokens, int64_t correct, int64_t rows);
  double loss() const { return weight > 0 ? weighted_loss / weight : 0.0; }
  double accuracy() const;
};

}  // namespace tt
