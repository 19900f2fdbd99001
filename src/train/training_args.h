// Training configuration read from YAML with TRL's names (SFTConfig / DPOConfig, which extend HF
// TrainingArguments), so a TRL user can read and write it; a key left out takes TRL 0.27's default
// (where TRL overrides TrainingArguments': learning_rate 2e-5 for SFT and 1e-6 for DPO, bf16 true,
// logging_steps 10). Layout of the file:
//
//   model_name: DIR or hub id          tokenizer_name: DIR or hub id (default: model_name)
//   dataset: {name|path: ..., split: train, eval_path: ..., test_size: 0.05, ...}
//   trainer: {per_device_train_batch_size: 2, learning_rate: 8e-5, ...}
//
// Keys that only make sense for the Python stack are accepted with a one-line note; any other
// unknown key is an error naming it and the file.
#pragma once
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace tt {

struct TrainingArgs {
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;  // > 0 overrides num_train_epochs
  double learning_rate = 2e-5;  // SFTConfig's default; DPOConfig's is 1e-6 (load_train_config sets it)
  std::string lr_scheduler_type = "linear";
  std::map<std::string, std::string> lr_scheduler_kwargs;  // the schedule's parameters as given (train/optimizer.h)
  double warmup_ratio = 0.0;
  double warmup_steps = 0;  // >= 1: steps; in (0, 1): a ratio of the total (transformers 5)
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  int64_t max_length = 1024;
  bool assistant_only_loss = false;
  bool completion_only_loss = true;  // TRL: loss only on completions for prompt/completion data
  std::string dataset_text_field = "text";  // the field of language-modelling rows ({"text": ...})
  std::string loss_type;             // SFT: nll | dft ; DPO: sigmoid | apo_zero | ... (several: joined by '+')
  std::vector<std::string> loss_types;  // as given: one, or for DPO several (TRL's list, MPO)
  double neftune_noise_alpha = 0.0;
  bool packing = false;
  std::string packing_strategy = "bfd";  // bfd | bfd-requeue (bfd_split) | wrapped (train/sft_data.h)
  std::optional<bool> eval_packing;      // unset: as packing
  // TRL's padding_free: each micro-batch is one flat row of its examples (positions restarting at each),
  // the same loss, no padding; NEFTune's L is then the micro-batch's token count. Packing with bfd implies it.
  bool padding_free = false;
  int64_t dataset_num_proc = 0;  // TRL packs in map batches of 1000 within this many contiguous shards (0: one)
  int64_t seed = 42;
  bool dataloader_drop_last = false;
  bool gradient_checkpointing = false;
  // TRL's Liger path. The kernels are tinythink's own either way; it selects the metrics TRL logs on
  // that path: under mpirun, mean_token_accuracy averages the ranks' accuracies (Liger's
  // token_accuracy, gathered) instead of pooling their tokens.
  bool use_liger_kernel = false;
  bool bf16 = true;  // TRL's default: True unless fp16 (which tinythink refuses)
  double logging_steps = 10;  // TRL's default (HF's 500); an integer, or a ratio of total steps when < 1
  double save_steps = 500;
  int64_t save_total_limit = -1;  // -1: keep all
  std::string save_strategy = "steps";     // steps | epoch | no | best (when metric_for_best_model improves)
  // transformers' best-model tracking: the evaluation metric ("loss" = eval_loss; the "eval_" prefix
  // optional), whether larger is better (unset: unless the name ends in "loss"), and whether the
  // final model is the best checkpoint's. metric_for_best_model "" = none ("loss" with
  // load_best_model_at_end or save_strategy best).
  std::string metric_for_best_model;
  std::optional<bool> greater_is_better;
  bool load_best_model_at_end = false;
  std::string logging_strategy = "steps";  // steps | epoch | no
  std::string eval_strategy = "no";        // no | steps | epoch
  bool eval_on_start = false;              // evaluate before the first step (needs evaluation data)
  double eval_delay = 0;                   // no evaluation before this many steps (or epochs with "epoch")
  bool logging_first_step = false;         // log after step 1 as well
  double eval_steps = -1;  // default: logging_steps
  std::string output_dir;
  bool overwrite_output_dir = false;  // write into an output_dir that is not a training run's (its files replaced)
  std::string run_name;
  std::string resume_from_checkpoint;  // "", a checkpoint dir, or "true" (latest)
  std::string log_level = "info";
  std::string device = "auto";  // auto | cpu | cuda[:N] (tinythink's key; the CLI's --device overrides it)
  int64_t zero_stage = 0;        // 1: ZeRO-1 under mpirun (AdamW state and update sharded over the ranks)
  // DPO (DPOConfig)
  double beta = 0.1;
  double label_smoothing = 0.0;
  bool reference_free = false;
  double simpo_gamma = 0.5;
  double cpo_alpha = 1.0;  // simpo (CPOTrainer): weight of the chosen completions' NLL; 0 = pure SimPO
  std::optional<double> rpo_alpha;  // RPO: + rpo_alpha x the chosen completions' NLL (TRL's nll_loss); None = off
  double discopop_tau = 0.05;       // discopop's temperature
  std::vector<double> loss_weights;  // TRL's loss_weights: one per loss type; empty (None): 1 each
  std::string f_divergence_type = "reverse_kl";  // reverse_kl | js_divergence | alpha_divergence (TRL 0.27)
  double f_alpha_divergence_coef = 1.0;          // alpha_divergence's alpha
  std::optional<int64_t> precompute_ref_batch_size;  // the reference pass's batch; None: per_device_eval_batch_size
  bool use_weighting = false;      // WPO: each pair's loss weighted by its completions' probabilities
  std::optional<double> ld_alpha;  // LD-DPO: weight of the completion tokens past the pair's shorter length; None = off
  // TR-DPO: every ref_model_sync_steps optimizer steps the reference becomes
  // ref_model_mixup_alpha x the policy + (1 - ref_model_mixup_alpha) x the reference
  bool sync_ref_model = false;
  double ref_model_mixup_alpha = 0.6;
  int64_t ref_model_sync_steps = 512;
  // TRL's flag for computing the reference log-probs once before training. tinythink always does
  // (and caches them) except after a TR-DPO sync, so it changes nothing here; as in TRL, it is refused
  // with sync_ref_model, whose moving reference cannot be computed in advance.
  bool precompute_ref_log_probs = false;
  int64_t max_prompt_length = 512;
  int64_t max_completion_length = -1;
  std::string truncation_mode = "keep_end";  // keep_end | keep_start: which max_length tokens of prompt + completion stay
};

struct DatasetArgs {
  std::string name;       // hub id (looked up in the local HF cache) or a path
  std::string path;       // a JSONL file, a directory of JSONL shards, or a prepared shard
  std::string config;     // a Hub dataset's config (default: its default one)
  std::string split = "train";
  std::string eval_path;  // optional separate eval data
  double test_size = 0.0; // fraction of the training rows held out for evaluation
  std::vector<std::string> sources;  // dataset_source allow-list
  std::string sources_file;          // or a file listing them ("- name" lines)
  int64_t token_budget = 0;          // sample to this many tokens (0: all)
  std::string chat_template;         // a .jinja file overriding the tokenizer's template
  std::string on_error = "fail";     // a bad JSONL line: "fail" (one-line error, nothing written) or "skip"
};

enum class TrainerKind { SFT, DPO };

struct TrainConfig {
  std::string source;  // the YAML file, for messages
  std::string model_name, tokenizer_name;
  DatasetArgs dataset;
  TrainingArgs trainer;
};

// Reads the YAML file, then applies `overrides` ("trainer.learning_rate=1e-4", "learning_rate=1e-4"
// (a trainer key), "model_name=DIR", "dataset.path=FILE"). Validates values (loss_type for the kind,
// positive sizes, known scheduler); errors name the file and the key.
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides, TrainerKind kind);

// Resolved counts for a dataset of `rows` training rows (HF Trainer arithmetic, transformers >= 4.56):
// micro_batches_per_epoch = rows / batch (dataloader_drop_last) or ceil(rows / batch);
// steps_per_epoch = ceil(micro_batches_per_epoch / gradient_accumulation_steps), the last step of
// an epoch taking the remaining micro-batches; total_steps = max_steps or ceil(epochs * steps_per_epoch).
struct StepPlan {
  int64_t micro_batches_per_epoch = 0;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  int64_t warmup_steps = 0;
  int64_t logging_steps = 1, save_steps = 0, eval_steps = 0;
};
StepPlan plan_steps(const TrainingArgs& args, int64_t rows);

// The evaluation metric that picks the best checkpoint ("eval_loss", "eval_mean_token_accuracy", ...),
// or "" when none is tracked; and its direction (transformers: greater unless the name ends in "loss").
std::string best_metric_key(const TrainingArgs& args);
bool best_metric_greater_is_better(const TrainingArgs& args);

}  // namespace tt
