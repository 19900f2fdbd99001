// One optimizer step over an effective batch (gradient accumulation over micro-batches), shared by the
// trainers and the benchmark: the loss is averaged over all target tokens of the effective batch
// (TRL/HF semantics), then clip, AdamW, and refresh the bf16 weight copy.
#pragma once
#include <cstdint>
#include <vector>

#include "model/transformer.h"
#include "train/optimizer.h"

namespace tt {

struct TrainState {
  Model* model = nullptr;
  Precision precision = Precision::FP32;
  std::vector<float> grads;
  AdamWState adam;
  std::vector<uint8_t> decay_mask;
  std::vector<float> bf16_copy;
  Workspace workspace;
  WeightSet weights;

  TrainState(Model& model, Precision precision);
};

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

StepResult train_step(TrainState& state, const std::vector<Batch>& micro_batches, const StepOptions& options);

}  // namespace tt
