#include "train/training_args.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"
#include "train/run_support.h"

namespace tt {
namespace {

std::string write_yaml(const std::string& body) {
  std::string path = testing::make_temp_dir("args") + "/c.yaml";
  std::ofstream(path) << body;
  return path;
}

TEST(TrainingArgs, TheStudysConfigsLoad) {
  namespace fs = std::filesystem;
  int loaded = 0;
  for (const char* kind : {"sft", "dpo"})
    for (const auto& entry : fs::directory_iterator(testing::shared_dir() + "/reference/tiny-think/configs/" + kind)) {
      TrainConfig c = load_train_config(entry.path().string(), {}, std::string(kind) == "sft" ? TrainerKind::SFT : TrainerKind::DPO);
      EXPECT_EQ(c.trainer.max_length, 4096) << entry.path();
      EXPECT_EQ(c.trainer.seed, 42);
      EXPECT_TRUE(c.trainer.bf16);
      EXPECT_EQ(c.trainer.per_device_train_batch_size * c.trainer.gradient_accumulation_steps, 8);
      ++loaded;
    }
  EXPECT_EQ(loaded, 15);
  TrainConfig nll = load_train_config(testing::shared_dir() + "/reference/tiny-think/configs/sft/math_stem_nll_bf16.yaml",
                                      {"trainer.learning_rate=2e-5", "num_train_epochs=2"}, TrainerKind::SFT);
  EXPECT_EQ(nll.trainer.learning_rate, 2e-5);
  EXPECT_EQ(nll.trainer.num_train_epochs, 2.0);
  EXPECT_EQ(nll.trainer.neftune_noise_alpha, 0.02);
  EXPECT_TRUE(nll.trainer.assistant_only_loss);
  EXPECT_EQ(nll.trainer.adam_beta2, 0.95);
  EXPECT_EQ(nll.dataset.name, "Shekswess/tiny-think-sft-math-n-stem");
}

// A key left out takes TRL 0.27's default where TRL overrides HF TrainingArguments': SFTConfig and
// DPOConfig learning rates (2e-5, 1e-6, not HF's 5e-5), bf16 on (None -> not fp16), logging every 10
// steps (not 500). The rest are TrainingArguments' (batch 8, linear schedule, AdamW 0.9 / 0.999).
TEST(TrainingArgs, KeysLeftOutTakeTrlsDefaults) {
  const std::string path = write_yaml("model_name: m\ntrainer:\n  output_dir: o\n");
  const TrainConfig sft = load_train_config(path, {}, TrainerKind::SFT);
  const TrainConfig dpo = load_train_config(path, {}, TrainerKind::DPO);
  EXPECT_EQ(sft.trainer.learning_rate, 2e-5);
  EXPECT_EQ(dpo.trainer.learning_rate, 1e-6);
  for (const TrainConfig* c : {&sft, &dpo}) {
    EXPECT_TRUE(c->trainer.bf16);
    EXPECT_EQ(c->trainer.logging_steps, 10);
    EXPECT_EQ(c->trainer.max_length, 1024);
    EXPECT_EQ(c->trainer.per_device_train_batch_size, 8);
    EXPECT_EQ(c->trainer.lr_scheduler_type, "linear");
    EXPECT_EQ(c->trainer.adam_beta2, 0.999);
  }
  EXPECT_EQ(sft.trainer.loss_type, "nll");
  EXPECT_EQ(dpo.trainer.loss_type, "sigmoid");
  EXPECT_EQ(dpo.trainer.beta, 0.1);
  // A key given wins.
  EXPECT_EQ(load_train_config(path, {"trainer.learning_rate=3e-4", "trainer.bf16=false"}, TrainerKind::DPO)
                .trainer.learning_rate,
            3e-4);
  EXPECT_FALSE(load_train_config(path, {"trainer.bf16=false"}, TrainerKind::SFT).trainer.bf16);
}

void expect_error(const std::string& yaml, const std::string& needle, TrainerKind kind = TrainerKind::SFT) {
  std::string path = write_yaml(yaml);
  try {
    load_train_config(path, {}, kind);
    FAIL() << "no error for: " << yaml;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(TrainingArgs, BadConfigsNameTheKey) {
  const std::string head = "model_name: m\ntrainer:\n  output_dir: o\n";
  expect_error(head + "  learning_rat: 1e-4\n", "trainer.learning_rat: unknown key");
  expect_error(head + "  learning_rate: fast\n", "trainer.learning_rate: expected a number");
  expect_error(head + "  learning_rate: 1e400\n", "trainer.learning_rate: expected a number, got '1e400'");
  // a subnormal is a number, as Python's float() reads it (std::stod called it out of range)
  EXPECT_EQ(load_train_config(write_yaml(head + "  weight_decay: 1e-320\n"), {}, TrainerKind::SFT).trainer.weight_decay, 1e-320);
  expect_error(head + "  loss_type: sigmoid\n", "loss_type 'sigmoid' is not an SFT loss");
  expect_error(head + "  loss_type: nll\n", "loss_type 'nll' is not a preference loss", TrainerKind::DPO);
  expect_error(head + "  lr_scheduler_type: cosine_annealing\n", "lr_scheduler_type: unsupported 'cosine_annealing'");
  expect_error(head + "  warmup_steps: -0.5\n", "trainer.warmup_steps must not be negative");
  expect_error(head + "  fp16: true\n", "fp16");
  expect_error(head + "  zero_stage: 2\n", "trainer.zero_stage must be 0 (off) or 1");
  expect_error("model_nam: m\n", "model_nam: unknown key");
  expect_error("trainer:\n  output_dir: o\n", "model_name is missing");
  // DPO values that used to train with exit 0: no gradient (beta 0), the wrong direction (beta < 0),
  // a sigmoid loss unbounded below (label_smoothing 2)
  expect_error(head + "  beta: 0\n", "trainer.beta must be in (0, 1e6], got 0", TrainerKind::DPO);
  expect_error(head + "  beta: -1\n", "trainer.beta must be in (0, 1e6], got -1", TrainerKind::DPO);
  expect_error(head + "  label_smoothing: 2\n", "trainer.label_smoothing must be in [0, 0.5], got 2", TrainerKind::DPO);
  expect_error(head + "  max_steps: 2\n  max_steps: 3\n", "line 5: duplicate key 'max_steps' (first at line 4)");
  expect_error(head + "  seed: -1\n", "trainer.seed must be in [0, 2^32-1], got -1");
  expect_error(head + "  log_level: loud\n", "trainer.log_level 'loud'");
}

// TRL configs often spell out defaults: keys tinythink does not implement load at their default or
// null, and are refused at any other value; null lengths are TRL's None.
TEST(TrainingArgs, TrlKeysAtTheirDefaultLoadAndNullIsNone) {
  const std::string head = "model_name: m\ntrainer:\n  output_dir: o\n";
  const TrainConfig c = load_train_config(
      write_yaml(head + "  rpo_alpha: null\n  ld_alpha: null\n  use_weighting: false\n  f_divergence_type: reverse_kl\n"
                        "  f_alpha_divergence_coef: 1\n  disable_dropout: True\n  loss_weights: ~\n"
                        "  sync_ref_model: false\n  label_pad_token_id: -100\n  pad_token: '<pad>'\n"
                        "  lr_scheduler_kwargs: {}\n  loss_type: [apo_zero]\n  max_prompt_length: null\n"
                        "  max_completion_length: None\n  precompute_ref_batch_size: null\n"),
      {}, TrainerKind::DPO);
  EXPECT_EQ(c.trainer.loss_type, "apo_zero");
  EXPECT_EQ(c.trainer.max_prompt_length, -1);
  EXPECT_EQ(c.trainer.max_completion_length, -1);
  EXPECT_FALSE(c.trainer.rpo_alpha.has_value());
  expect_error(head + "  ld_alpha: 1.5\n", "trainer.ld_alpha must be in [0, 1]", TrainerKind::DPO);
  expect_error(head + "  f_divergence_type: chi2\n", "trainer.f_divergence_type 'chi2'", TrainerKind::DPO);
  expect_error(head + "  generate_during_eval: true\n", "trainer.generate_during_eval: TRL's generate_during_eval is not "
               "implemented", TrainerKind::DPO);
  // TR-DPO's keys (sync_ref_model above at its default) are a DPO option
  const TrainConfig tr = load_train_config(
      write_yaml(head + "  sync_ref_model: true\n  ref_model_mixup_alpha: 0.9\n  ref_model_sync_steps: 64\n"), {},
      TrainerKind::DPO);
  EXPECT_TRUE(tr.trainer.sync_ref_model);
  EXPECT_EQ(tr.trainer.ref_model_mixup_alpha, 0.9);
  EXPECT_EQ(tr.trainer.ref_model_sync_steps, 64);
  expect_error(head + "  sync_ref_model: true\n", "trainer.sync_ref_model: a DPO option, which sft does not apply", TrainerKind::SFT);
  // TRL's Liger path takes five loss types; another is computed as without it, with a warning
  EXPECT_TRUE(load_train_config(write_yaml(head + "  use_liger_kernel: true\n  loss_type: apo_zero\n"), {},
                                TrainerKind::DPO).trainer.use_liger_kernel);
  ::testing::internal::CaptureStderr();
  load_train_config(write_yaml(head + "  use_liger_kernel: true\n  loss_type: ipo\n"), {}, TrainerKind::DPO);
  const std::string warned = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(warned.find("trainer.use_liger_kernel with loss_type ipo: TRL's DPOTrainer refuses it"), std::string::npos)
      << warned;
  // TRL refuses a precomputed reference with TR-DPO; on its own the flag loads (tinythink precomputes anyway)
  EXPECT_TRUE(load_train_config(write_yaml(head + "  precompute_ref_log_probs: true\n"), {}, TrainerKind::DPO)
                  .trainer.precompute_ref_log_probs);
  expect_error(head + "  sync_ref_model: true\n  precompute_ref_log_probs: true\n",
               "trainer.precompute_ref_log_probs: true with sync_ref_model (TR-DPO)", TrainerKind::DPO);
  expect_error(head + "  precompute_ref_log_probs: false\n",
               "trainer.precompute_ref_log_probs: a DPO option, which sft does not apply", TrainerKind::SFT);
  expect_error(head + "  label_smoothing_factor: 0.1\n", "TRL's label_smoothing_factor is not implemented");
  // lr_scheduler_kwargs as transformers passes them to the schedule: a mapping, or a JSON object in a string
  const TrainConfig min_lr = load_train_config(
      write_yaml(head + "  lr_scheduler_type: cosine_with_min_lr\n  lr_scheduler_kwargs: {min_lr_rate: 0.1}\n"), {},
      TrainerKind::SFT);
  EXPECT_EQ(min_lr.trainer.lr_scheduler_kwargs, (std::map<std::string, std::string>{{"min_lr_rate", "0.1"}}));
  const TrainConfig wsd = load_train_config(write_yaml(
      head + "  lr_scheduler_type: warmup_stable_decay\n  lr_scheduler_kwargs: '{\"num_decay_steps\": 5, \"decay_type\": \"linear\"}'\n"),
      {}, TrainerKind::SFT);
  EXPECT_EQ(wsd.trainer.lr_scheduler_kwargs,
            (std::map<std::string, std::string>{{"decay_type", "linear"}, {"num_decay_steps", "5"}}));
  expect_error(head + "  lr_scheduler_kwargs: {min_lr: 0.1}\n",
               "trainer.lr_scheduler_kwargs.min_lr: not a parameter of linear (it takes none)");
  expect_error(head + "  lr_scheduler_type: cosine_with_min_lr\n",
               "trainer.lr_scheduler_kwargs: cosine_with_min_lr needs min_lr or min_lr_rate");
  expect_error(head + "  lr_scheduler_kwargs: '[1, 2]'\n",
               "trainer.lr_scheduler_kwargs: expected a mapping or a JSON object, got '[1, 2]'");
  expect_error(head + "  lr_scheduler_kwargs: {min_lr: [1]}\n", "trainer.lr_scheduler_kwargs.min_lr: expected a single value");
  // a list of several (MPO) sums them; loss_weights weighs them, one per loss type
  const TrainConfig mpo = load_train_config(
      write_yaml(head + "  loss_type: [sigmoid, bco_pair, sft]\n  loss_weights: [0.8, 0.2, 1]\n"), {}, TrainerKind::DPO);
  EXPECT_EQ(mpo.trainer.loss_types, (std::vector<std::string>{"sigmoid", "bco_pair", "sft"}));
  EXPECT_EQ(mpo.trainer.loss_weights, (std::vector<double>{0.8, 0.2, 1.0}));
  EXPECT_EQ(mpo.trainer.loss_type, "sigmoid+bco_pair+sft");
  expect_error(head + "  loss_type: [sigmoid, sft]\n  loss_weights: [1, 2, 3]\n",
               "trainer.loss_weights has 3 weights for 2 loss types", TrainerKind::DPO);
  expect_error(head + "  max_length: null\n", "trainer.max_length: null (TRL: no truncation) is not supported");
}

// `--set trainer.max_prompt_length=null` overrides the YAML's 192 with TRL's None (it was refused: "no
// value"); a null for a key where None only means "the default" cannot reset the YAML's value and stays
// an error, as does an empty value.
TEST(TrainingArgs, SetNullOverridesWhereNoneMeansNone) {
  const std::string yaml = write_yaml("model_name: m\ntrainer:\n  output_dir: o\n  max_prompt_length: 192\n"
                                      "  max_completion_length: 64\n  learning_rate: 1e-5\n  ld_alpha: 0.5\n"
                                      "  rpo_alpha: 0.2\n  loss_type: [sigmoid, sft]\n  loss_weights: [1, 0.5]\n");
  const TrainConfig c = load_train_config(yaml,
                                          {"trainer.max_prompt_length=null", "max_completion_length=~",
                                           "trainer.ld_alpha=null", "rpo_alpha=None", "loss_weights=null"},
                                          TrainerKind::DPO);
  EXPECT_EQ(c.trainer.max_prompt_length, -1);
  EXPECT_EQ(c.trainer.max_completion_length, -1);
  EXPECT_FALSE(c.trainer.ld_alpha.has_value());  // the YAML's values undone: TRL's None, off
  EXPECT_FALSE(c.trainer.rpo_alpha.has_value());
  EXPECT_TRUE(c.trainer.loss_weights.empty());
  EXPECT_EQ(load_train_config(yaml, {}, TrainerKind::DPO).trainer.ld_alpha, std::optional<double>(0.5));
  for (const char* set : {"trainer.learning_rate=null", "trainer.max_prompt_length="}) {
    try {
      load_train_config(yaml, {set}, TrainerKind::DPO);
      ADD_FAILURE() << set << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no value (give one, or remove the key from"), std::string::npos) << e.what();
    }
  }
}

// TRL warns that these losses ignore label_smoothing; so do we (and sigmoid uses it: no warning).
TEST(TrainingArgs, LabelSmoothingOnALossThatIgnoresItIsWarned) {
  const std::string head = "model_name: m\ntrainer:\n  output_dir: o\n  label_smoothing: 0.1\n";
  ::testing::internal::CaptureStderr();
  load_train_config(write_yaml(head + "  loss_type: apo_zero\n"), {}, TrainerKind::DPO);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("the apo_zero loss does not use label_smoothing (0.1): it is ignored"), std::string::npos) << err;
  ::testing::internal::CaptureStderr();
  load_train_config(write_yaml(head + "  loss_type: sigmoid\n"), {}, TrainerKind::DPO);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("label_smoothing"), std::string::npos) << err;
}

// resume_from_checkpoint: false is transformers' "no resume" (it was taken for a folder named false).
TEST(TrainingArgs, ResumeFromCheckpointFalseDoesNotResume) {
  const std::string path = write_yaml("model_name: m\ntrainer:\n  output_dir: o\n  resume_from_checkpoint: false\n");
  const TrainConfig c = load_train_config(path, {}, TrainerKind::SFT);
  Model model = init_model(preset_config("tiny-llama4"), 1);
  AdamWState adam;
  const ResumePoint point = resume_if_requested(c, /*requested=*/false, model, adam);
  EXPECT_TRUE(point.from.empty());
}

TEST(TrainingArgs, StepPlanFollowsHfArithmetic) {
  TrainingArgs a;
  a.per_device_train_batch_size = 2;
  a.gradient_accumulation_steps = 4;
  a.num_train_epochs = 3;
  a.warmup_ratio = 0.1;
  a.logging_steps = 1;
  a.save_steps = 0.25;
  a.dataloader_drop_last = true;
  StepPlan p = plan_steps(a, 101);  // 50 micro-batches -> 12 steps of 4 and a last one of 2 per epoch
  EXPECT_EQ(p.micro_batches_per_epoch, 50);
  EXPECT_EQ(p.steps_per_epoch, 13);
  EXPECT_EQ(p.total_steps, 39);
  EXPECT_EQ(p.warmup_steps, 4);  // ceil(3.9)
  EXPECT_EQ(p.save_steps, 10);   // a ratio of the total: ceil(9.75)
  a.warmup_steps = 0.05;         // transformers 5: below 1, a ratio of the total, ahead of warmup_ratio
  EXPECT_EQ(plan_steps(a, 101).warmup_steps, 2);  // ceil(1.95)
  a.warmup_steps = 0;
  a.gradient_accumulation_steps = 5;
  EXPECT_EQ(plan_steps(a, 101).steps_per_epoch, 10);  // 50 = 10 x 5: no shorter step
  a.dataloader_drop_last = false;
  EXPECT_EQ(plan_steps(a, 101).micro_batches_per_epoch, 51);
  EXPECT_EQ(plan_steps(a, 101).steps_per_epoch, 11);  // the 51st micro-batch (1 row) is a step of its own
}

// transformers' IntervalStrategy "epoch": logging, evaluation and saving at the end of each epoch.
TEST(TrainingArgs, EpochStrategiesActAtEachEpochsEnd) {
  TrainingArgs a;
  a.per_device_train_batch_size = 2;
  a.gradient_accumulation_steps = 4;
  a.num_train_epochs = 3;
  a.dataloader_drop_last = true;
  a.logging_strategy = a.save_strategy = a.eval_strategy = "epoch";
  const StepPlan p = plan_steps(a, 101);
  EXPECT_EQ(p.logging_steps, 13);
  EXPECT_EQ(p.save_steps, 13);
  EXPECT_EQ(p.eval_steps, 13);
  a.logging_strategy = "no";
  a.save_strategy = "no";
  EXPECT_EQ(plan_steps(a, 101).logging_steps, 39);  // the last step's row only
  EXPECT_EQ(plan_steps(a, 101).save_steps, 0);
}

}  // namespace
}  // namespace tt
