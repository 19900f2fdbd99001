// Training checkpoints: an HF model directory plus trainer_state/ (optimizer moments, step, the
// data cursor and the state that makes a resumed run bit-identical to an uninterrupted one).
//
//   OUTPUT_DIR/checkpoint-STEP/{config.json, model.safetensors (fp32), generation_config.json,
//                               tokenizer files, trainer_state/{state.json, optimizer.safetensors,
//                               objective.safetensors (only when the objective keeps tensors: TR-DPO)}}
//
// Each checkpoint is written to a temporary directory and renamed into place, so a killed run leaves
// either a whole checkpoint or none; leftovers of interrupted writes are removed on resume.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "train/optimizer.h"

namespace tt {

struct CheckpointState {
  int64_t global_step = 0;  // optimizer steps done
  double seen_tokens = 0;   // input tokens (not padding) trained on so far: TRL's num_tokens
  nlohmann::json extra;     // trainer-specific (config fingerprint, logging window, ...)
  // What decides which rows each step trains on (batch sizes, seed, rows, packing, ranks): a resume
  // under another layout trains on other rows than the uninterrupted run would (trainer.cpp warns).
  nlohmann::json layout = nlohmann::json::object();
  // The objective's tensors (TR-DPO's reference weights): trainer_state/objective.safetensors when
  // any; a loaded checkpoint leaves this empty (the objective reads the file itself).
  std::vector<TensorToWrite> tensors = {};
  // metric_for_best_model's best value so far and the step that reached it (transformers'
  // best_metric, best_global_step); best_step -1: none yet.
  double best_metric = 0;
  int64_t best_step = -1;
  // The learning-rate scheduler's state when it has one (reduce_lr_on_plateau: lr_schedule.h's
  // plateau_to_json), as transformers keeps scheduler.pt; null otherwise.
  nlohmann::json lr_scheduler = nullptr;
};

// Writes OUTPUT_DIR/checkpoint-STEP, then applies save_total_limit (never deleting the newest, nor
// the checkpoint of state.best_step).
std::string save_checkpoint(const std::string& output_dir, const Model& model, const AdamWState& adam,
                            const CheckpointState& state, const std::string& tokenizer_source,
                            int64_t save_total_limit);

// Removes all but the newest `keep` (at least 1) checkpoint-N directories of output_dir: save_total_limit.
// As transformers' _rotate_checkpoints, checkpoint-`best_step` (when there is one) is kept as if it were
// the second newest, and a limit of 1 keeps 2 while it is not the newest.
void prune_checkpoints(const std::string& output_dir, int64_t keep, int64_t best_step = -1);

// What a run killed mid-save leaves in output_dir: checkpoint-N.tmp-PID / checkpoint-N.old-PID
// directories and the atomic writer's ".NAME.tmp.XXXXXX" files (metrics.jsonl, the final model's
// files). Removed at the start of every run into output_dir (only names of these schemes).
void remove_interrupted_saves(const std::string& output_dir);

// checkpoint-N directories under output_dir, complete or not, sorted by N.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir);

// The newest complete checkpoint under output_dir, or nullopt. Removes interrupted saves first when
// `clean` (one process of a run: the other ranks only look, or they would remove the temp files of
// what rank 0 is writing).
std::optional<std::string> latest_checkpoint(const std::string& output_dir, bool clean = true);

// Loads a checkpoint's weights into model (whose config must match), its optimizer moments and state.
CheckpointState load_checkpoint(const std::string& dir, Model& model, AdamWState& adam);

}  // namespace tt
