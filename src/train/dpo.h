// Preference optimisation (TRL DPOTrainer semantics, ../shared/DESIGN.md §4) with one model in
// memory and no tokens x vocab logits:
//   - reference log-probs come from the frozen starting checkpoint in one forward-only pass before
//     training, cached on disk (train/reference_cache.h: keyed by the weights, the tokenized pairs
//     and the precision); with TR-DPO's sync_ref_model the reference then moves toward the policy
//     and a pair's reference log-probs are recomputed from its micro-batch after each move;
//   - a micro-batch holds chosen and rejected rows ([chosen_1..chosen_B, rejected_1..rejected_B]);
//     one model_forward, the fused chunked classifier forward-only for per-token log-probs, the
//     sequence sums, the loss and dL/dlogp_seq, then the classifier again with token weights
//     w_t = -dL/dlogp_seq on the sequence's completion tokens (d_hidden + classifier gradient), then
//     model_backward;
//   - the loss (train/preference_loss.h: one file per loss_type) is the mean over the pairs of the
//     effective batch; this is an objective of the trainer loop (train/trainer.h), which does
//     accumulation, schedule, clipping, AdamW, checkpoints and resume as for sft.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "train/preference.h"
#include "train/preference_loss.h"
#include "train/train_step.h"
#include "train/training_args.h"

namespace tt {

// Per-pair reference log-probs in the loss's units (all zero when the loss uses no reference).
struct ReferenceLogps {
  std::vector<double> chosen, rejected;
};

// Rows [chosen_1..chosen_B, rejected_1..rejected_B] = prompt + completion, right-padded with pad_id;
// target[t] = tokens[t+1] where t+1 is a completion position, else -100.
Batch make_pair_batch(const std::vector<const PreferencePair*>& pairs, int32_t pad_id);

// TRL's logits/chosen and logits/rejected of one micro-batch: the mean of the logits over the
// vocabulary and over a side's scored positions (target >= 0), rows [0, chosen_rows) being chosen;
// `hidden` is the classifier input [rows * seq, hidden_size], lm_head [vocab, hidden_size].
// (TRL 0.27 rolls its loss mask, so a row whose kept prompt is empty also counts its last position;
// that wrap-around is not reproduced.)
struct MeanLogits {
  double chosen = 0, rejected = 0;
};
MeanLogits mean_logits(const Batch& batch, int64_t chosen_rows, const float* hidden, const float* lm_head,
                       int64_t vocab, int64_t hidden_size);

// The same from each scored position's logit sum over the vocabulary ([rows * seq]; a GPU's).
MeanLogits mean_logits_of_sums(const Batch& batch, int64_t chosen_rows, std::span<const double> logit_sums,
                               int64_t vocab);

// Summed completion log-probs of every pair, forward only, in micro-batches of batch_pairs pairs;
// with LD-DPO's ld_alpha, each pair's tail past its shorter completion's length weighs ld_alpha.
ReferenceLogps summed_logps(const ModelConfig& config, const WeightSet& weights, Precision precision,
                            const std::vector<PreferencePair>& pairs, int64_t batch_pairs, int32_t pad_id,
                            std::optional<double> ld_alpha = std::nullopt);
// The same on a training device (a GPU run's reference pass): `model`'s weights are uploaded to it.
ReferenceLogps summed_logps_on_device(const Model& model, TrainDevice& device, Precision precision,
                                      const std::vector<PreferencePair>& pairs, int64_t batch_pairs, int32_t pad_id,
                                      std::optional<double> ld_alpha = std::nullopt);

// Divides by completion lengths when the loss averages log-probs; zeros when it uses no reference.
ReferenceLogps to_loss_units(const DpoLossConfig& config, const ReferenceLogps& summed,
                             const std::vector<PreferencePair>& pairs);

// Sums over pairs (divide by `pairs` for TRL's logged means).
struct DpoStats {
  double loss = 0, reward_chosen = 0, reward_rejected = 0, accuracy = 0, margin = 0, logps_chosen = 0,
         logps_rejected = 0;
  int64_t pairs = 0;
  double logits_chosen = 0, logits_rejected = 0;  // sums of per-micro-batch means (TRL's logits/*)
  int64_t micro_batches = 0;
};

// The gradient of one step without the update (the trainer's accumulate_step with the preference
// objective): zeroes state.grads, then accumulates the gradient of the step's loss, the mean over
// micro_batches of each one's mean pair loss (indices into `pairs`; `reference` is indexed like
// `pairs`, in the loss's units; the largest micro-batch sets the full size, a shorter one's pairs
// weigh more, and the returned sums and `pairs` are weighted alike).
DpoStats dpo_accumulate(TrainState& state, const std::vector<std::vector<int64_t>>& micro_batches,
                        const std::vector<PreferencePair>& pairs, const ReferenceLogps& reference,
                        const DpoLossConfig& config, int32_t pad_id);

struct DpoRun {
  TrainConfig config;
  std::vector<PreferencePair> train;
  std::vector<PreferencePair> eval;  // dataset.eval_path, or the dataset.test_size hold-out
  std::string tokenizer_source;  // copied into checkpoints ("" = none)
  int32_t pad_id = 0;
  bool resume = false;
  bool shuffle = true;
  std::string ref_cache_dir;     // "": <parent of output_dir>/ref_cache
  int cuda_device = -1;          // >= 0: the reference pass and training on that CUDA device
};

struct DpoResult {
  int64_t steps = 0;
  double final_loss = 0;
  bool reference_cache_hit = false;
  std::string reference_cache_file;
  std::string output_dir;
};

// Reads the dataset (dataset.path or .name; chat template from dataset.chat_template or the
// tokenizer), resolves the tokenizer files and the pad id; logs the data summary.
void load_dpo_inputs(DpoRun& run);

DpoResult run_dpo(DpoRun& run);

}  // namespace tt
