// Pieces of the trainer loop (train/trainer.h) and its callers: the data order, the rows of each
// optimizer step, resuming from a checkpoint, the metrics history, and the files a run carries along.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "train/trainer_state.h"
#include "train/training_args.h"

namespace tt {

// The order of training rows in an epoch: a Fisher-Yates shuffle seeded by (seed, epoch), so any
// step's batch can be recomputed on resume without replaying the run. shuffle=false: dataset order.
std::vector<int64_t> epoch_order(int64_t rows, int64_t seed, int64_t epoch, bool shuffle = true);

// The row ids of each micro-batch of optimizer step `index_in_epoch` (gradient accumulation).
std::vector<std::vector<int64_t>> step_micro_batches(const std::vector<int64_t>& order, int64_t index_in_epoch,
                                                     int64_t batch_size, int64_t accumulation);

struct ResumePoint {
  CheckpointState state;  // step 0 when starting fresh
  std::string from;       // the checkpoint directory, "" when starting fresh
};

// Loads the checkpoint named by resume_from_checkpoint, or the newest one in output_dir when
// `requested` (--resume) or resume_from_checkpoint is "true"; model and adam receive its state.
ResumePoint resume_if_requested(const TrainConfig& config, bool requested, Model& model, AdamWState& adam);

// metrics.jsonl rows a resumed run keeps (those up to its checkpoint); none for a fresh run.
std::vector<nlohmann::json> previous_metrics(const std::string& path, const ResumePoint& resume);

// Before a run reads its data: a one-line error naming the config and key when trainer.output_dir
// is an existing file, has a file as a parent, or would go under a directory that is not writable
// (they used to end in an uncaught filesystem_error, exit 2). Creates nothing, touches no file.
// It also refuses an input (dataset.path, eval_path, sources_file, chat_template) that is one of the
// files the run writes into output_dir, and an existing output_dir holding such a file that is not a
// training run's output (is_training_output) unless trainer.overwrite_output_dir.
void check_output_dir(const TrainConfig& config);

// What a training run writes directly into output_dir, besides its checkpoint-N folders and its mark.
const std::vector<std::string>& training_output_names();
// The file a run leaves in its output_dir (mark_training_output) so that a later run, --resume, or
// the same config run again may write there.
inline constexpr const char* kTrainingRunMark = "tinythink_training.json";

// dataset.test_size's hold-out: a seeded shuffle of the rows' indices (seed + 17), the last
// test_size fraction of them becomes the evaluation set, the rest stays in `train` (shuffled order).
template <typename Row>
std::vector<Row> hold_out(std::vector<Row>& train, double test_size, int64_t seed) {
  std::vector<size_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(static_cast<uint64_t>(seed) + 17);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  const size_t n_eval = static_cast<size_t>(test_size * static_cast<double>(order.size()));
  std::vector<Row> kept, eval;
  for (size_t i = 0; i < order.size(); ++i) (i + n_eval >= order.size() ? eval : kept).push_back(std::move(train[order[i]]));
  train = std::move(kept);
  return eval;
}
// Whether `dir` holds the mark, or checkpoints with trainer state (a run from before the mark).
bool is_training_output(const std::string& dir);
void mark_training_output(const std::string& dir, const std::string& trainer);

// Claims trainer.output_dir (creates it and its mark, on the root rank) before the run writes its
// first file there, the prepared-data cache: a run that failed after that (a bad eval file, a kill
// while training starts) left a `prepared` folder without the mark, and the same config run again
// was refused as "not a tinythink training output". When the claim ends, what it created and still
// holds nothing is removed: an empty cache folder, then the mark when it is all the folder holds, then
// the folder; a finished cache shard keeps the mark for the rerun, and a run's outputs keep both.
class OutputDirClaim {
 public:
  OutputDirClaim(const TrainConfig& config, const std::string& trainer, bool root);
  OutputDirClaim(const OutputDirClaim&) = delete;
  OutputDirClaim& operator=(const OutputDirClaim&) = delete;
  ~OutputDirClaim();

 private:
  std::string dir_;
  bool root_ = false;
  bool dir_existed_ = false, mark_existed_ = false, prepared_existed_ = false;
};

// A note when the run's longest sequence (positions 0..n-1: a document of a packed row, a prompt +
// completion) runs past the model's max_position_embeddings: transformers and TRL train on such
// positions (RoPE beyond the range the model was trained for) without a word.
void note_positions_past_context(const TrainConfig& config, const ModelConfig& model, int64_t longest_sequence);

// Files a run carries into its checkpoints and the pad id of its batches.
struct RunFiles {
  std::string tokenizer_source;  // the tokenizer directory when it holds tokenizer files, else ""
  int32_t pad_id = 0;            // pad_token_id, else the first eos id, else 0 (padding carries no loss)
};
RunFiles resolve_run_files(const TrainConfig& config);

}  // namespace tt
