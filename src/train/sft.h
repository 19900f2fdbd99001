// Supervised fine-tuning with TRL SFTTrainer semantics, an objective of the trainer loop (train/trainer.h):
// the loss averaged over all target tokens of the effective batch (nll or dft), NEFTune, eval_loss; the loop
// does the schedule, clipping, logging to metrics.jsonl with TRL's names, checkpoints and exact resume.
#pragma once
#include <string>
#include <vector>

#include "train/sft_data.h"
#include "train/training_args.h"

namespace tt {

struct SftRun {
  TrainConfig config;
  std::vector<SftExample> train, eval;
  std::string tokenizer_source;  // copied into checkpoints ("" = none)
  int32_t pad_id = 0;
  bool resume = false;           // continue from the newest checkpoint in output_dir
  bool shuffle = true;           // false: rows in dataset order (reference comparisons)
  int cuda_device = -1;          // >= 0: train on that CUDA device (model/device_transformer.h)
};

struct SftResult {
  int64_t steps = 0;
  double final_loss = 0;  // last logged training loss
  std::string output_dir;
};

SftResult run_sft(SftRun& run);

}  // namespace tt
