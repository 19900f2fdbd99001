// DPO end to end: every loss against the PyTorch reference (tools/gen_dpo_fixtures.py), the
// reference cache of a sweep, resume, and the study's configs.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"
#include "train/dpo.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  read_jsonl(path, [&](int64_t, const nlohmann::json& row) { rows.push_back(row); });
  return rows;
}

std::vector<float> read_vec(const SafetensorsFile& f, const std::string& name, int64_t n) {
  std::vector<float> v(n);
  f.read_f32(name, v.data());
  return v;
}

// The fixtures written before cpo_alpha existed are pure SimPO (cpo_alpha 0); simpo_cpo names its own.
std::string cpo_alpha_of(const std::map<std::string, std::string>& meta) {
  return meta.count("cpo_alpha") ? meta.at("cpo_alpha") : "0.0";
}

// The fixture's DPOConfig options beyond the common ones (rpo_alpha, reference_free, discopop_tau,
// loss_weights).
std::string options_of(const std::map<std::string, std::string>& meta) {
  std::string lines;
  for (const char* key : {"rpo_alpha", "reference_free", "discopop_tau", "loss_weights", "f_divergence_type",
                          "f_alpha_divergence_coef", "ld_alpha", "use_weighting", "sync_ref_model",
                          "ref_model_mixup_alpha", "ref_model_sync_steps"})
    if (meta.count(key)) lines += fmt::format("  {}: {}\n", key, meta.at(key));
  return lines;
}

std::string dpo_config(const std::string& fixture, const std::map<std::string, std::string>& meta, const std::string& out,
                       const std::string& extra = "") {
  return fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/pairs.jsonl
trainer:
  per_device_train_batch_size: {}
  gradient_accumulation_steps: {}
  max_steps: 3
  learning_rate: {}
  lr_scheduler_type: cosine
  warmup_steps: {}
  weight_decay: {}
  adam_beta1: {}
  adam_beta2: {}
  adam_epsilon: {}
  max_grad_norm: {}
  bf16: false
  loss_type: {}
  beta: {}
  label_smoothing: {}
  simpo_gamma: {}
  cpo_alpha: {}
  max_length: 128
  max_prompt_length: 64
  logging_steps: 1
  save_steps: 100
  output_dir: {}
{})",
                     testing::fixture_dir(), fixture, meta.at("per_device_train_batch_size"),
                     meta.at("gradient_accumulation_steps"), meta.at("lr"), meta.at("warmup_steps"),
                     meta.at("weight_decay"), meta.at("beta1"), meta.at("beta2"), meta.at("eps"),
                     meta.at("max_grad_norm"), meta.at("loss_type"), meta.at("beta"), meta.at("label_smoothing"),
                     meta.at("simpo_gamma"), cpo_alpha_of(meta), out, options_of(meta) + extra);
}

std::string write_file_in(const std::string& dir, const std::string& name, const std::string& body) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << body;
  return path;
}

class DpoReference : public ::testing::TestWithParam<std::string> {};

// The first step with explicit reference log-probs: loss, per-pair rewards and log-probs, and the
// gradient of every parameter match PyTorch within 1e-4 relative (fp32).
TEST_P(DpoReference, FirstStepLossRewardsAndGradientsMatchPyTorch) {
  const std::string fixture = testing::fixture_dir() + "/dpo/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  const auto& meta = ref.metadata();
  std::string dir = testing::make_temp_dir("dpo-step1");
  TrainConfig config = load_train_config(write_file_in(dir, "c.yaml", dpo_config(fixture, meta, dir + "/out")), {},
                                         TrainerKind::DPO);
  DpoLossConfig loss = DpoLossConfig::from_args(config.trainer);
  PreferenceOptions options;
  options.max_length = 128;
  std::vector<PreferencePair> pairs = load_preference_data(fixture + "/pairs.jsonl", options).pairs;
  ASSERT_EQ(pairs.size(), 12u);

  ReferenceLogps reference;
  reference.chosen.assign(pairs.size(), 0.0);
  reference.rejected.assign(pairs.size(), 0.0);
  auto ref_c = read_vec(ref, "step1.ref_chosen", 4), ref_r = read_vec(ref, "step1.ref_rejected", 4);
  if (loss.uses_reference())
    for (int i = 0; i < 4; ++i) reference.chosen[i] = ref_c[i], reference.rejected[i] = ref_r[i];

  Model model = load_model(testing::fixture_dir() + "/parity/tiny_llama4");
  TrainState state(model, Precision::FP32);
  DpoStats stats = dpo_accumulate(state, {{0, 1}, {2, 3}}, pairs, reference, loss, 0);
  ASSERT_EQ(stats.pairs, 4);
  const float expected_loss = read_vec(ref, "step1.loss", 1)[0];
  EXPECT_NEAR(stats.loss / 4, expected_loss, 1e-4 * std::fabs(expected_loss));

  // per pair: the policy log-probs (forward-only path) and the loss/rewards from them
  ReferenceLogps summed = summed_logps(model.config, state.weights, Precision::FP32, pairs, 3, 0, loss.ld_alpha);
  const ReferenceLogps policy = loss.averages_logps() ? to_loss_units({.types = {"ipo"}}, summed, pairs) : summed;
  auto lp_c = read_vec(ref, "step1.logps_chosen", 4), lp_r = read_vec(ref, "step1.logps_rejected", 4);
  auto rw_c = read_vec(ref, "step1.rewards_chosen", 4), rw_r = read_vec(ref, "step1.rewards_rejected", 4);
  auto pl = read_vec(ref, "step1.pair_losses", 4);
  // a loss with a micro-batch baseline (bco_pair's running reward mean): the baselines of micro-batches
  // {0, 1} and {2, 3}, updated in that order from a fresh state
  const PreferenceLossType* with_baseline = baseline_loss(loss);
  bool sorts = false;  // a loss of the micro-batch as a whole (aot): TRL's losses are by sorted position
  for (const auto& name : loss.types) sorts = sorts || preference_loss(name).micro_batch != nullptr;
  nlohmann::json baseline_state;
  double reward_c_sum = 0;
  for (int m = 0; m < 2; ++m) {
    std::vector<PairLogps> micro;
    for (int i = 2 * m; i < 2 * m + 2; ++i) {
      EXPECT_NEAR(policy.chosen[i], lp_c[i], 1e-4 * std::fabs(lp_c[i])) << i;
      EXPECT_NEAR(policy.rejected[i], lp_r[i], 1e-4 * std::fabs(lp_r[i])) << i;
      micro.push_back({policy.chosen[i], policy.rejected[i], reference.chosen[i], reference.rejected[i]});
    }
    if (with_baseline) {
      const double expected = read_vec(ref, "step1.baselines", 2)[m];
      const double baseline = with_baseline->micro_batch_baseline(loss, micro, baseline_state);
      EXPECT_NEAR(baseline, expected, 1e-4 * std::fabs(expected) + 1e-6) << "micro-batch " << m;
      for (auto& p : micro) p.baseline = baseline;
    }
    const std::vector<PairLoss> losses = dpo_micro_batch_losses(loss, micro);
    // WPO's pair weights (the fixture's; the trainer's own are checked through the loss and gradients)
    const std::vector<float> wpo = loss.use_weighting ? read_vec(ref, "step1.wpo", 4) : std::vector<float>(4, 1.0f);
    std::vector<double> got, want;
    for (int j = 0; j < 2; ++j) {
      const int i = 2 * m + j;
      got.push_back(losses[j].loss * wpo[i]);
      want.push_back(pl[i]);
      EXPECT_NEAR(losses[j].reward_chosen, rw_c[i], 1e-4 * std::fabs(rw_c[i]) + 1e-5) << i;
      EXPECT_NEAR(losses[j].reward_rejected, rw_r[i], 1e-4 * std::fabs(rw_r[i]) + 1e-5) << i;
      reward_c_sum += rw_c[i];
    }
    if (sorts) std::sort(got.begin(), got.end()), std::sort(want.begin(), want.end());
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(got[j], want[j], 1e-4 * std::fabs(want[j]) + 1e-6) << "micro-batch " << m;
  }
  EXPECT_NEAR(stats.reward_chosen, reward_c_sum, 1e-4 * std::fabs(reward_c_sum) + 1e-5);
  // TRL's logits/chosen and logits/rejected: per micro-batch means of the logits at scored positions.
  ASSERT_EQ(stats.micro_batches, 2);
  const auto logits_c = read_vec(ref, "step1.logits_chosen", 2), logits_r = read_vec(ref, "step1.logits_rejected", 2);
  for (const auto& [got, want] : {std::pair{stats.logits_chosen, logits_c}, std::pair{stats.logits_rejected, logits_r}}) {
    const double expected = (want[0] + want[1]) / 2.0;
    EXPECT_NEAR(got / 2.0, expected, 1e-3 * std::fabs(expected) + 2e-6);
  }

  for (const auto& slot : model.layout.slots) {
    std::vector<float> expected = read_vec(ref, "step1.grad." + slot.name, slot.numel);
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < slot.numel; ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(state.grads[slot.offset + i] - expected[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(expected[i])));
    }
    EXPECT_LE(diff / scale, 1e-4) << slot.name;
  }
}

// Three optimizer steps through run_dpo (reference pass from the start model, accumulation 2 x 2
// pairs, clipping, cosine warmup, AdamW): the logged losses match PyTorch within 1e-4 relative.
TEST_P(DpoReference, FirstThreeStepsMatchPyTorch) {
  const std::string fixture = testing::fixture_dir() + "/dpo/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  std::string dir = testing::make_temp_dir("dpo-ref");
  DpoRun run;
  run.config = load_train_config(write_file_in(dir, "c.yaml", dpo_config(fixture, ref.metadata(), dir + "/out")), {},
                                 TrainerKind::DPO);
  run.shuffle = false;
  load_dpo_inputs(run);
  run.pad_id = 0;
  run_dpo(run);
  auto losses = read_vec(ref, "losses", 3), norms = read_vec(ref, "grad_norms", 3);
  auto rows = read_rows(dir + "/out/metrics.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(rows[i]["loss"].get<double>(), losses[i], 1e-4 * losses[i]) << "step " << i + 1;
    EXPECT_NEAR(rows[i]["grad_norm"].get<double>(), norms[i], 1e-3 * norms[i]) << "step " << i + 1;
    for (const char* key : {"rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                            "logps/chosen", "logps/rejected", "logits/chosen", "logits/rejected", "learning_rate",
                            "epoch", "step"})
      EXPECT_TRUE(rows[i].contains(key)) << key;
    EXPECT_EQ(rows[i].contains("nll_loss"), ref.metadata().count("logs_nll") > 0 || ref.metadata().count("cpo_alpha") > 0)
        << "CPOTrainer with cpo_alpha, and DPOTrainer with rpo_alpha or the sft loss, log nll_loss";
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, DpoReference,
                         ::testing::Values("sigmoid", "apo_zero", "apo_down", "ipo", "hinge", "simpo", "robust",
                                           "bco_pair", "simpo_cpo", "sigmoid_keep", "exo_pair", "nca_pair",
                                           "sppo_hard", "discopop", "sft", "sigmoid_rpo", "sigmoid_free", "aot",
                                           "aot_pair", "mpo", "ipo_sigmoid", "sigmoid_js", "hinge_alpha",
                                           "sigmoid_ld", "wpo", "sigmoid_tr"));

// DPO evaluation as TRL's: eval_loss is transformers' mean over the pairs of each batch's loss, the
// other eval_ metrics the mean of the batches' means. With learning rate 0 the policy stays its
// reference: sigmoid's eval_loss is ln 2 and its rewards 0; with the sft loss, eval_loss weighs the
// batches (5, 5, 2 pairs) by their pairs while eval_nll_loss averages them, both from the start
// model's log-probs, computed here without the trainer. test_size holds out pairs of the training set.
TEST(DpoEvaluation, EvalMetricsAsTrlWithAnEvalFileOrATestSizeSplit) {
  const std::string fixture = testing::fixture_dir() + "/dpo/sigmoid";
  const std::string model_dir = testing::fixture_dir() + "/parity/tiny_llama4";
  auto run_with = [&](const std::string& dir, const std::string& loss, const std::string& data_extra) {
    const std::string yaml = fmt::format(R"(model_name: {}
dataset:
  path: {}/pairs.jsonl
{}trainer:
  per_device_train_batch_size: 2
  per_device_eval_batch_size: 5
  gradient_accumulation_steps: 1
  max_steps: 2
  learning_rate: 0.0
  bf16: false
  loss_type: {}
  beta: 0.5
  max_length: 128
  logging_steps: 1
  eval_strategy: steps
  eval_steps: 2
  save_strategy: "no"
  output_dir: {}/out
)", model_dir, fixture, data_extra, loss, dir);
    DpoRun run;
    run.config = load_train_config(write_file_in(dir, "c.yaml", yaml), {}, TrainerKind::DPO);
    run.shuffle = false;
    load_dpo_inputs(run);
    run.pad_id = 0;
    run_dpo(run);
    std::vector<nlohmann::json> evals;
    for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
      if (row.contains("eval_loss")) evals.push_back(row);
    return std::make_pair(run.train.size(), evals);
  };
  const std::string eval_file = "  eval_path: " + fixture + "/pairs.jsonl\n";
  auto [train_pairs, evals] = run_with(testing::make_temp_dir("dpo-eval"), "sigmoid", eval_file);
  EXPECT_EQ(train_pairs, 12u);
  ASSERT_EQ(evals.size(), 1u);  // at step 2
  const nlohmann::json& e = evals[0];
  EXPECT_EQ(e["step"], 2);
  EXPECT_NEAR(e["eval_loss"].get<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(e["eval_rewards/chosen"].get<double>(), 0.0, 1e-6);
  EXPECT_EQ(e["eval_rewards/accuracies"].get<double>(), 0.0);
  for (const char* key : {"eval_rewards/rejected", "eval_rewards/margins", "eval_logps/chosen", "eval_logps/rejected",
                          "eval_logits/chosen", "eval_logits/rejected"})
    EXPECT_TRUE(e.contains(key)) << key;
  EXPECT_FALSE(e.contains("eval_nll_loss"));

  // the start model's log-probs of the 12 pairs, and TRL's nll_loss per batch of 5, 5 and 2 pairs
  PreferenceOptions options;
  options.max_length = 128;
  const std::vector<PreferencePair> pairs = load_preference_data(fixture + "/pairs.jsonl", options).pairs;
  Model model = load_model(model_dir);
  std::vector<float> copy;
  const WeightSet weights = make_weight_set(model, Precision::FP32, copy);
  const ReferenceLogps logps = summed_logps(model.config, weights, Precision::FP32, pairs, 3, 0);
  double weighted = 0, batch_mean = 0, logps_chosen = 0;
  for (size_t start : {0u, 5u, 10u}) {
    const size_t end = std::min<size_t>(start + 5, 12);
    double sum = 0, tokens = 0, chosen = 0;
    for (size_t i = start; i < end; ++i) {
      sum -= logps.chosen[i];
      tokens += static_cast<double>(pairs[i].chosen.size());
      chosen += logps.chosen[i];
    }
    weighted += sum / tokens * static_cast<double>(end - start);
    batch_mean += sum / tokens / 3.0;
    logps_chosen += chosen / static_cast<double>(end - start) / 3.0;
  }
  EXPECT_NEAR(e["eval_logps/chosen"].get<double>(), logps_chosen, 1e-4 * std::fabs(logps_chosen));
  auto [train_sft, evals_sft] = run_with(testing::make_temp_dir("dpo-eval-sft"), "sft", eval_file);
  ASSERT_EQ(evals_sft.size(), 1u);
  EXPECT_NEAR(evals_sft[0]["eval_loss"].get<double>(), weighted / 12.0, 1e-5 * weighted / 12.0);
  EXPECT_NEAR(evals_sft[0]["eval_nll_loss"].get<double>(), batch_mean, 1e-5 * batch_mean);
  ASSERT_GT(std::fabs(weighted / 12.0 - batch_mean), 1e-4) << "the two averages do not differ here: the case shows nothing";

  // test_size: a quarter of the 12 pairs held out of training, evaluated
  auto [train_split, evals_split] = run_with(testing::make_temp_dir("dpo-eval-split"), "sigmoid", "  test_size: 0.25\n");
  EXPECT_EQ(train_split, 9u);
  ASSERT_EQ(evals_split.size(), 1u);
  EXPECT_NEAR(evals_split[0]["eval_loss"].get<double>(), std::log(2.0), 1e-6);
}

// TR-DPO with ref_model_mixup_alpha 1 and a sync after every step: the reference becomes the policy,
// so from step 2 on each step's rewards are 0 and sigmoid's loss ln 2, and so are the evaluation's.
// Without the moved reference's log-probs (the training pairs' and the evaluation's) they would be
// the start model's and the rewards far from 0. With ref_model_sync_steps 2 the syncs come at
// steps 2 and 4 only, and step 3's rewards are again 0.
TEST(DpoTrDpo, TheReferenceFollowsThePolicyAtEachSync) {
  const std::string fixture = testing::fixture_dir() + "/dpo/sigmoid";
  SafetensorsFile ref(fixture + "/reference.safetensors");
  auto run_with = [&](int64_t every) {
    const std::string dir = testing::make_temp_dir("dpo-tr");
    const std::string extra = fmt::format(R"(  sync_ref_model: true
  ref_model_mixup_alpha: 1.0
  ref_model_sync_steps: {}
  eval_strategy: steps
  eval_steps: 1
  per_device_eval_batch_size: 5
)", every);
    DpoRun run;
    run.config = load_train_config(write_file_in(dir, "c.yaml", dpo_config(fixture, ref.metadata(), dir + "/out", extra)),
                                   {"trainer.max_steps=4", "trainer.learning_rate=0.01", "trainer.warmup_steps=0", "trainer.label_smoothing=0",
                                    "dataset.test_size=0.25"},
                                   TrainerKind::DPO);
    run.shuffle = false;
    load_dpo_inputs(run);
    run.pad_id = 0;
    run_dpo(run);
    return read_rows(dir + "/out/metrics.jsonl");
  };
  auto by_step = [](const std::vector<nlohmann::json>& rows, int64_t step, const char* key) {
    for (const auto& row : rows)
      if (row["step"] == step && row.contains(key)) return row[key].get<double>();
    ADD_FAILURE() << "no " << key << " at step " << step;
    return 0.0;
  };
  const std::vector<nlohmann::json> every_step = run_with(1);
  for (int64_t step = 2; step <= 4; ++step) {
    EXPECT_NEAR(by_step(every_step, step, "loss"), std::log(2.0), 1e-6) << step;
    EXPECT_NEAR(by_step(every_step, step, "rewards/margins"), 0.0, 1e-6) << step;
  }
  for (int64_t step = 1; step <= 4; ++step) {  // evaluated after the step's sync
    EXPECT_NEAR(by_step(every_step, step, "eval_loss"), std::log(2.0), 1e-6) << step;
    EXPECT_NEAR(by_step(every_step, step, "eval_rewards/chosen"), 0.0, 1e-6) << step;
  }
  const std::vector<nlohmann::json> every_other = run_with(2);
  EXPECT_GT(std::fabs(by_step(every_other, 2, "rewards/margins")), 1e-3) << "the reference is still the start model";
  EXPECT_GT(std::fabs(by_step(every_other, 1, "eval_rewards/chosen")), 1e-3);
  EXPECT_NEAR(by_step(every_other, 2, "eval_rewards/chosen"), 0.0, 1e-6);
  EXPECT_NEAR(by_step(every_other, 3, "rewards/margins"), 0.0, 1e-6);
  EXPECT_GT(std::fabs(by_step(every_other, 4, "rewards/margins")), 1e-3);
  EXPECT_GT(std::fabs(by_step(every_other, 3, "eval_rewards/chosen")), 1e-3);
}

// A step whose last micro-batch is short (no dataloader_drop_last) weighs its micro-batches as TRL
// under transformers' Trainer does: each micro-batch's mean pair loss, divided by the step's
// micro-batch count, so the gradient of {0, 1} + {2} is the mean of the two micro-batches' gradients
// (pooling the three pairs would weigh pair 2 by 1/3 instead of 1/2); the logged means alike.
TEST(DpoLoss, AShortLastMicroBatchWeighsAsMuchAsAFullOne) {
  const std::string fixture = testing::fixture_dir() + "/dpo/sigmoid";
  PreferenceOptions options;
  options.max_length = 128;
  const std::vector<PreferencePair> pairs = load_preference_data(fixture + "/pairs.jsonl", options).pairs;
  ReferenceLogps reference;
  reference.chosen.assign(pairs.size(), -5.0);
  reference.rejected.assign(pairs.size(), -6.0);
  const DpoLossConfig loss{.types = {"sigmoid"}, .beta = 0.5};
  Model model = load_model(testing::fixture_dir() + "/parity/tiny_llama4");
  const auto step = [&](const std::vector<std::vector<int64_t>>& micro, std::vector<float>& grads) {
    TrainState state(model, Precision::FP32);
    const DpoStats stats = dpo_accumulate(state, micro, pairs, reference, loss, 0);
    grads = state.grads;
    return stats;
  };
  std::vector<float> full, one, both;
  const DpoStats a = step({{0, 1}}, full), b = step({{2}}, one), ab = step({{0, 1}, {2}}, both);
  EXPECT_NEAR(ab.loss / static_cast<double>(ab.pairs), (a.loss / 2 + b.loss) / 2, 1e-6);
  EXPECT_NEAR(ab.reward_chosen / static_cast<double>(ab.pairs), (a.reward_chosen / 2 + b.reward_chosen) / 2, 1e-6);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < both.size(); ++i) {
    worst = std::max(worst, std::fabs(double(both[i]) - (double(full[i]) + one[i]) / 2));
    scale = std::max(scale, std::fabs(double(both[i])));
  }
  EXPECT_LT(worst, 1e-5 * scale) << "largest gradient " << scale;
}

TEST(DpoReferenceFixtures, EveryLossHasOne) {
  for (const auto& name : preference_loss_names())
    EXPECT_TRUE(fs::exists(testing::fixture_dir() + "/dpo/" + name + "/reference.safetensors")) << name;
}

// reference_free: the implicit reference gives every response the same probability (logp_ref = 0)
// in the loss; TRL's rewards still subtract the reference model's log-probs. Losses that read the
// reference directly in TRL (nca_pair here) ignore reference_free.
TEST(DpoLoss, ReferenceFreeIgnoresReferenceAndSimpoUsesGamma) {
  DpoLossConfig c{.types = {"sigmoid"}, .beta = 0.5, .reference_free = true};
  PairLoss a = dpo_pair_loss(c, -3.0, -5.0, -1.0, -9.0);
  EXPECT_NEAR(a.loss, std::log1p(std::exp(-0.5 * 2.0)), 1e-12);
  EXPECT_NEAR(a.reward_chosen, 0.5 * (-3.0 + 1.0), 1e-12);
  EXPECT_NEAR(a.reward_rejected, 0.5 * (-5.0 + 9.0), 1e-12);
  EXPECT_TRUE(c.uses_reference());  // the reference pass runs, for the rewards
  DpoLossConfig n{.types = {"nca_pair"}, .beta = 0.5, .reference_free = true};
  DpoLossConfig with_ref{.types = {"nca_pair"}, .beta = 0.5};
  EXPECT_EQ(dpo_pair_loss(n, -3.0, -5.0, -1.0, -9.0).loss, dpo_pair_loss(with_ref, -3.0, -5.0, -1.0, -9.0).loss);
  DpoLossConfig s{.types = {"simpo"}, .beta = 2.0, .simpo_gamma = 0.5};
  PairLoss b = dpo_pair_loss(s, -1.0, -1.25, 0, 0);  // z = 0.25 - 0.25 = 0
  EXPECT_NEAR(b.loss, std::log(2.0), 1e-12);
  EXPECT_FALSE(s.uses_reference());
  // derivatives by central differences, every loss (a baseline, as bco_pair's, is held fixed)
  for (const std::string& type : preference_loss_names()) {
    const bool smooths = type == "sigmoid" || type == "robust" || type == "aot" || type == "aot_pair";
    DpoLossConfig k{.types = {type}, .beta = 0.7, .label_smoothing = smooths ? 0.2 : 0.0};
    const double lc = -2.1, lr = -2.6, rc = -2.3, rr = -2.2, base = 0.13, h = 1e-6;
    PairLoss p = dpo_pair_loss(k, {lc, lr, rc, rr, base});
    double dc = (dpo_pair_loss(k, {lc + h, lr, rc, rr, base}).loss - dpo_pair_loss(k, {lc - h, lr, rc, rr, base}).loss) / (2 * h);
    double dr = (dpo_pair_loss(k, {lc, lr + h, rc, rr, base}).loss - dpo_pair_loss(k, {lc, lr - h, rc, rr, base}).loss) / (2 * h);
    EXPECT_NEAR(p.d_chosen, dc, 1e-6) << type;
    EXPECT_NEAR(p.d_rejected, dr, 1e-6) << type;
  }
  // and under TRL 0.27's f-divergences, which change the margin of the losses that read it
  for (const std::string& type : {"sigmoid", "robust", "exo_pair", "hinge", "ipo"})
    for (const auto& [divergence, alpha] : {std::pair<std::string, double>{"js_divergence", 1.0}, {"alpha_divergence", 0.5},
                                             {"alpha_divergence", -0.7}}) {
      DpoLossConfig k{.types = {type}, .beta = 0.7, .label_smoothing = 0.2, .f_divergence = divergence, .f_alpha = alpha};
      const double lc = -2.1, lr = -2.6, rc = -2.3, rr = -2.2, h = 1e-6;
      PairLoss p = dpo_pair_loss(k, {lc, lr, rc, rr});
      double dc = (dpo_pair_loss(k, {lc + h, lr, rc, rr}).loss - dpo_pair_loss(k, {lc - h, lr, rc, rr}).loss) / (2 * h);
      double dr = (dpo_pair_loss(k, {lc, lr + h, rc, rr}).loss - dpo_pair_loss(k, {lc, lr - h, rc, rr}).loss) / (2 * h);
      EXPECT_NEAR(p.d_chosen, dc, 1e-6) << type << " " << divergence;
      EXPECT_NEAR(p.d_rejected, dr, 1e-6) << type << " " << divergence;
      EXPECT_NE(p.loss, dpo_pair_loss({.types = {type}, .beta = 0.7, .label_smoothing = 0.2}, {lc, lr, rc, rr}).loss)
          << type << " " << divergence;
    }
  // past TRL's cap the exponential stops growing, and so does the margin
  const DpoLossConfig capped{.types = {"sigmoid"}, .beta = 0.5, .f_divergence = "alpha_divergence", .f_alpha = 1.0};
  const Margin far = dpo_logits(capped, {-200.0, -1.0, 0, 0});
  EXPECT_NEAR(far.z, (std::exp(1.0) - std::exp(88.7228)) / 1.0, 1e-9 * std::exp(88.7228));
  EXPECT_EQ(far.dz_dchosen, 0.0);
}

// robust at label_smoothing 0 is sigmoid; at e > 0 it is unbiased under flipped labels: the mean of
// the loss of z and of -z, weighted (1-e, e), is sigmoid's loss without smoothing.
TEST(DpoLoss, RobustIsAnUnbiasedSigmoid) {
  const PairLogps pair{-2.0, -3.5, -2.4, -2.9};
  const PairLogps flipped{-3.5, -2.0, -2.9, -2.4};
  DpoLossConfig sigmoid{.types = {"sigmoid"}, .beta = 0.5}, robust{.types = {"robust"}, .beta = 0.5};
  EXPECT_NEAR(dpo_pair_loss(robust, pair).loss, dpo_pair_loss(sigmoid, pair).loss, 1e-15);
  robust.label_smoothing = 0.3;
  const double mixed = 0.7 * dpo_pair_loss(robust, pair).loss + 0.3 * dpo_pair_loss(robust, flipped).loss;
  EXPECT_NEAR(mixed, dpo_pair_loss(sigmoid, pair).loss, 1e-12);
}

// bco_pair's baseline is TRL's RunningMoments fed one sample per micro-batch (the mean of its 2B
// rewards): the first sample becomes the mean, then a running average; var follows Chan et al.
TEST(DpoLoss, BcoPairBaselineIsTheRunningRewardMean) {
  const PreferenceLossType& bco = preference_loss("bco_pair");
  DpoLossConfig c{.types = {"bco_pair"}, .beta = 2.0};
  nlohmann::json state;
  // rewards 2 * (logp - ref): {1, 3} -> mean 2 ; then {5, 7} -> 6
  EXPECT_DOUBLE_EQ(bco.micro_batch_baseline(c, {{0.5, 1.5, 0, 0}}, state), 2.0);
  EXPECT_DOUBLE_EQ(bco.micro_batch_baseline(c, {{2.5, 3.5, 0, 0}}, state), 4.0);
  EXPECT_DOUBLE_EQ(state["count"].get<double>(), 2.0);
  EXPECT_NEAR(state["var"].get<double>(), 4.0, 1e-12);  // the population variance of {2, 6}
  // the loss at the baseline: -2 log s(0) when both rewards equal it
  EXPECT_NEAR(dpo_pair_loss(c, {1.0, 1.0, 0, 0, 2.0}).loss, 2 * std::log(2.0), 1e-12);
}

// A sweep: the second run with another beta reuses the cached reference log-probs (its log says
// so) instead of running the reference pass; the cache sits beside the output dirs.
TEST(DpoReferenceCache, SecondRunOfASweepSkipsTheReferencePass) {
  const std::string fixture = testing::fixture_dir() + "/dpo/sigmoid";
  SafetensorsFile ref(fixture + "/reference.safetensors");
  std::string dir = testing::make_temp_dir("dpo-cache");
  std::string cfg = write_file_in(dir, "c.yaml", dpo_config(fixture, ref.metadata(), dir + "/runs/a"));
  auto first = testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1 --set trainer.precompute_ref_batch_size=5");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("one forward-only pass"), std::string::npos) << first.output;
  auto second = testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1 --set trainer.beta=0.25 --set output_dir=" +
                                 dir + "/runs/b");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("no reference pass"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("one forward-only pass"), std::string::npos) << second.output;
  EXPECT_TRUE(fs::exists(dir + "/runs/ref_cache"));
  EXPECT_TRUE(fs::exists(dir + "/runs/b/model.safetensors"));
  // other data (a changed max_completion_length truncates) means another key: a new pass
  auto third = testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1 --set trainer.max_completion_length=3 "
                                "--set output_dir=" + dir + "/runs/c --ref-cache " + dir + "/elsewhere");
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_NE(third.output.find("one forward-only pass"), std::string::npos) << third.output;
  EXPECT_TRUE(fs::exists(dir + "/elsewhere"));
  // LD-DPO weighs the reference's log-probs too: another ld_alpha is another key
  auto ld = testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1 --set trainer.ld_alpha=0.5 --set output_dir=" +
                             dir + "/runs/d");
  ASSERT_EQ(ld.exit_code, 0) << ld.output;
  EXPECT_NE(ld.output.find("one forward-only pass"), std::string::npos) << ld.output;
}

// A damaged cache entry is one line naming the file and field, and nothing is trained or written.
TEST(DpoReferenceCache, DamagedEntryIsOneLineNamingTheFile) {
  const std::string fixture = testing::fixture_dir() + "/dpo/sigmoid";
  SafetensorsFile ref(fixture + "/reference.safetensors");
  std::string dir = testing::make_temp_dir("dpo-cache-bad");
  std::string cfg = write_file_in(dir, "c.yaml", dpo_config(fixture, ref.metadata(), dir + "/runs/a"));
  ASSERT_EQ(testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1").exit_code, 0);
  std::string entry;
  for (const auto& e : fs::directory_iterator(dir + "/runs/ref_cache")) entry = e.path().string();
  ASSERT_FALSE(entry.empty());
  const nlohmann::json good = read_json_file(entry);
  auto damaged = [&](const std::string& text, const std::string& fragment) {
    { std::ofstream(entry, std::ios::trunc) << text; }
    fs::remove_all(dir + "/runs/b");
    auto r = testing::run_cli("dpo " + cfg + " --set trainer.max_steps=1 --set output_dir=" + dir + "/runs/b");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("error: " + entry + ": "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(fragment), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir + "/runs/b/model.safetensors"));
  };
  damaged(good.dump().substr(0, 40), "invalid JSON");
  nlohmann::json bad = good;
  bad["chosen"][0] = "x";
  damaged(bad.dump(), "'chosen[0]' is \"x\"");
  bad = good;
  bad["rejected"].erase(0);
  damaged(bad.dump(), "'rejected' has");
  bad = good;
  bad["chosen"][0] = good["chosen"][0].get<double>() - 1.0;
  damaged(bad.dump(), "checksum mismatch");
  bad = good;
  bad["rejected"][1] = 5.0;
  damaged(bad.dump(), "not a log-probability");
}

// Killed after a checkpoint and resumed: the final weights equal an uninterrupted run's. bco_pair
// keeps state across steps (its running reward mean), which the checkpoint carries.
class DpoResume : public ::testing::TestWithParam<std::string> {};

TEST_P(DpoResume, ResumedRunEqualsUninterrupted) {
  const std::string fixture = testing::fixture_dir() + "/dpo/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  std::string dir = testing::make_temp_dir("dpo-resume");
  // overrides, not extra YAML lines: save_steps is in dpo_config already and a repeated key is an error
  const std::string extra = " --set trainer.save_steps=1 --set trainer.num_train_epochs=2";
  std::string cfg_a = write_file_in(dir, "a.yaml", dpo_config(fixture, ref.metadata(), dir + "/a")) + extra;
  std::string cfg_b = write_file_in(dir, "b.yaml", dpo_config(fixture, ref.metadata(), dir + "/b")) + extra;
  ASSERT_EQ(testing::run_cli("dpo " + cfg_a + " --set trainer.max_steps=4").exit_code, 0);
  ASSERT_EQ(testing::run_cli("dpo " + cfg_b + " --set trainer.max_steps=4").exit_code, 0);
  // simulate a kill after step 2: drop the later checkpoints and the final model
  fs::remove_all(dir + "/b/checkpoint-3");
  fs::remove_all(dir + "/b/checkpoint-4");
  fs::remove(dir + "/b/model.safetensors");
  auto r = testing::run_cli("dpo " + cfg_b + " --set trainer.max_steps=4 --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos);
  std::ifstream fa(dir + "/a/model.safetensors", std::ios::binary), fb(dir + "/b/model.safetensors", std::ios::binary);
  std::string a((std::istreambuf_iterator<char>(fa)), {}), b((std::istreambuf_iterator<char>(fb)), {});
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(read_rows(dir + "/a/metrics.jsonl").size(), read_rows(dir + "/b/metrics.jsonl").size());
  const nlohmann::json state = read_json_file(dir + "/b/checkpoint-2/trainer_state/state.json");
  EXPECT_EQ(state["extra"].is_null(), GetParam() == "apo_zero") << state.dump();
  if (GetParam() == "bco_pair") EXPECT_DOUBLE_EQ(state["extra"]["preference_loss"]["count"].get<double>(), 4.0);
  // TR-DPO (a sync after every step): the moved reference is in the checkpoint, and the resumed run
  // recomputed its log-probs (or its steps 3 and 4 would have used the starting model's)
  if (GetParam() == "sigmoid_tr") {
    EXPECT_EQ(state["extra"]["reference_syncs"].get<int64_t>(), 2);
    EXPECT_TRUE(fs::exists(dir + "/b/checkpoint-2/trainer_state/objective.safetensors"));
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, DpoResume, ::testing::Values("apo_zero", "bco_pair", "sigmoid_tr"));

// Loss types come from the table; a loss rejects what it cannot use when the config is loaded
// (robust divides by 1 - 2 label_smoothing).
TEST(DpoConfig, LossTypesAndTheirChecks) {
  const std::string dir = testing::make_temp_dir("dpo-config");
  const std::string path = write_file_in(dir, "c.yaml", "model_name: m\ntrainer:\n  output_dir: o\n");
  auto message = [&](const std::vector<std::string>& overrides) -> std::string {
    try {
      load_train_config(path, overrides, TrainerKind::DPO);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message({"loss_type=robust", "label_smoothing=0.25"}), "");
  EXPECT_EQ(message({"loss_type=bco_pair"}), "");
  EXPECT_NE(message({"loss_type=robust", "label_smoothing=0.5"}).find("label_smoothing 0.5 is outside [0, 0.5)"),
            std::string::npos);
  const std::string unknown = message({"loss_type=kto_pair"});
  EXPECT_NE(unknown.find("'kto_pair' is not a preference loss (sigmoid, apo_zero, apo_down, ipo, hinge, simpo, "
                         "robust, bco_pair, exo_pair, nca_pair, sppo_hard, discopop, sft, aot, aot_pair)"),
            std::string::npos)
      << unknown;
  // TRL's list of loss types (MPO) with loss_weights, one per type
  EXPECT_EQ(message({"loss_type=[sigmoid, bco_pair, sft]", "loss_weights=[0.8, 0.2, 1.0]"}), "");
  EXPECT_EQ(message({"loss_type=[aot, aot_pair]"}), "");
  EXPECT_EQ(message({"loss_type=sigmoid", "loss_weights=[2.0]"}), "");
  EXPECT_EQ(message({"loss_type=[sigmoid, sft]", "loss_weights=null"}), "");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"loss_type=[sigmoid, sft]", "loss_weights=[1.0]"}, "loss_weights has 1 weights for 2 loss types (sigmoid, sft)"},
      {{"loss_type=[sigmoid, sft]", "loss_weights=[1.0, -0.5]"}, "loss_weights[1] is -0.5: a negative weight"},
      {{"loss_type=[sigmoid, sigmoid]"}, "lists sigmoid twice"},
      {{"loss_type=[sigmoid, simpo]"}, "simpo is CPOTrainer's and cannot be combined"},
      {{"loss_type=simpo", "loss_weights=[1.0]"}, "loss_weights is DPOTrainer's"},
      {{"loss_type=[sigmoid, kto_pair]"}, "'kto_pair' is not a preference loss"},
      {{"loss_type=[]"}, "an empty list"},
      {{"loss_type=[exo_pair, sigmoid]"}, "exo_pair with label_smoothing 0 sets TRL's label_smoothing to 1e-3"},
      {{"loss_weights=0.5"}, "expected a list of numbers"},
      {{"loss_type=[sigmoid, sft]", "loss_weights=[]"}, "an empty list; give one weight per loss_type, or null"},
      {{"loss_type=[sigmoid, sft]", "loss_weights=[1e300, 1]"}, "loss_weights[0] must be at most 1e6"},
  };
  for (const auto& [overrides, expected] : refused) {
    const std::string got = message(overrides);
    EXPECT_NE(got.find(expected), std::string::npos) << overrides[0] << ": " << got;
  }
  EXPECT_EQ(message({"loss_type=[exo_pair, sigmoid]", "label_smoothing=0.001"}), "");
  EXPECT_EQ(message({"loss_type=[exo_pair, hinge]"}), "");  // hinge reads no label_smoothing
  // TRL 0.27's f-divergences
  EXPECT_EQ(message({"f_divergence_type=js_divergence"}), "");
  EXPECT_EQ(message({"f_divergence_type=alpha_divergence", "f_alpha_divergence_coef=0.5"}), "");
  EXPECT_NE(message({"f_divergence_type=forward_kl"}).find("'forward_kl' is not one of TRL 0.27's (reverse_kl, "
                                                           "js_divergence, alpha_divergence)"),
            std::string::npos);
  EXPECT_NE(message({"f_divergence_type=js_divergence", "loss_type=simpo"}).find("f_divergence_type is DPOTrainer's"),
            std::string::npos);
  EXPECT_NE(message({"f_divergence_type=alpha_divergence", "f_alpha_divergence_coef=0"}).find("divides by it"),
            std::string::npos);
  // the reference pass's batch size (its values do not depend on it)
  EXPECT_EQ(message({"precompute_ref_batch_size=4"}), "");
  EXPECT_NE(message({"precompute_ref_batch_size=0"}).find("must be positive, got 0"), std::string::npos);
  // WPO: not with the losses that sort the pairs, nor with CPOTrainer's simpo
  EXPECT_EQ(message({"use_weighting=true", "loss_type=[sigmoid, sft]"}), "");
  EXPECT_NE(message({"use_weighting=true", "loss_type=aot"}).find("the loss sorts the pairs"), std::string::npos);
  EXPECT_NE(message({"use_weighting=true", "loss_type=simpo"}).find("use_weighting is DPOTrainer's"), std::string::npos);
  // TR-DPO: a mixing weight in [0, 1], a positive interval, DPOTrainer's only
  EXPECT_EQ(message({"sync_ref_model=true", "ref_model_mixup_alpha=1.0", "ref_model_sync_steps=1"}), "");
  EXPECT_NE(message({"sync_ref_model=true", "ref_model_mixup_alpha=1.5"}).find("ref_model_mixup_alpha must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(message({"sync_ref_model=true", "ref_model_sync_steps=0"}).find("ref_model_sync_steps must be at least 1"),
            std::string::npos);
  EXPECT_NE(message({"sync_ref_model=true", "loss_type=simpo"}).find("sync_ref_model is DPOTrainer's"), std::string::npos);
  // SFT takes one loss
  const std::string sft = [&] {
    try {
      load_train_config(path, {"loss_type=[nll, dft]"}, TrainerKind::SFT);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(sft.find("SFT takes one loss (nll, dft), got 2"), std::string::npos) << sft;
}

// Several losses (TRL's list, MPO) add up weighted, their rewards too (TRL sums each loss's rewards
// times its weight); sft adds nothing per pair (its nll_loss is the trainer's).
TEST(DpoLoss, ListedLossesAddUpWeighted) {
  const PairLogps pair{-2.0, -3.5, -2.4, -2.9, 0.1};
  const DpoLossConfig sigmoid{.types = {"sigmoid"}, .beta = 0.5}, bco{.types = {"bco_pair"}, .beta = 0.5};
  const DpoLossConfig mpo{.types = {"sigmoid", "bco_pair", "sft"}, .weights = {0.8, 0.2, 1.0}, .beta = 0.5};
  const PairLoss a = dpo_pair_loss(sigmoid, pair), b = dpo_pair_loss(bco, pair), m = dpo_pair_loss(mpo, pair);
  EXPECT_NEAR(m.loss, 0.8 * a.loss + 0.2 * b.loss, 1e-12);
  EXPECT_NEAR(m.d_chosen, 0.8 * a.d_chosen + 0.2 * b.d_chosen, 1e-12);
  EXPECT_NEAR(m.d_rejected, 0.8 * a.d_rejected + 0.2 * b.d_rejected, 1e-12);
  EXPECT_NEAR(m.reward_chosen, 2.0 * a.reward_chosen, 1e-12);  // (0.8 + 0.2 + 1.0) b (logp - ref)
  EXPECT_NEAR(m.reward_rejected, 2.0 * a.reward_rejected, 1e-12);
  const DpoLossConfig unweighted{.types = {"sigmoid", "bco_pair"}, .beta = 0.5};
  EXPECT_NEAR(dpo_pair_loss(unweighted, pair).loss, a.loss + b.loss, 1e-12);
  const DpoLossConfig with_ipo{.types = {"sigmoid", "ipo"}};
  EXPECT_TRUE(with_ipo.averages_logps());  // "ipo" in the list averages every loss's log-probs
  EXPECT_EQ(baseline_loss(mpo), &preference_loss("bco_pair"));
  EXPECT_EQ(mpo.label(), "sigmoid+bco_pair+sft");
}

// aot and aot_pair sort log-ratios across the micro-batch: the loss of the micro-batch is the sum
// over sorted positions, and each pair's derivatives (by central differences of that sum) are those
// of its rank's position; moving one pair's log-prob past another's changes which position it feeds.
TEST(DpoLoss, AotDerivativesFollowEachPairsRank) {
  const std::vector<PairLogps> pairs = {
      {-2.1, -2.6, -2.3, -2.2}, {-4.0, -1.5, -3.1, -1.9}, {-1.2, -3.3, -2.0, -2.0}, {-3.0, -3.1, -1.0, -4.0}};
  for (const char* type : {"aot", "aot_pair"}) {
    const DpoLossConfig c{.types = {type}, .beta = 0.7, .label_smoothing = 0.2};
    auto total = [&](const std::vector<PairLogps>& in) {
      double sum = 0;
      for (const auto& p : dpo_micro_batch_losses(c, in)) sum += p.loss;
      return sum;
    };
    const std::vector<PairLoss> losses = dpo_micro_batch_losses(c, pairs);
    const double h = 1e-6;
    for (size_t i = 0; i < pairs.size(); ++i) {
      for (bool chosen : {true, false}) {
        std::vector<PairLogps> up = pairs, down = pairs;
        (chosen ? up[i].chosen : up[i].rejected) += h;
        (chosen ? down[i].chosen : down[i].rejected) -= h;
        const double numeric = (total(up) - total(down)) / (2 * h);
        EXPECT_NEAR(chosen ? losses[i].d_chosen : losses[i].d_rejected, numeric, 1e-6) << type << " pair " << i;
      }
      EXPECT_NEAR(losses[i].reward_chosen, 0.7 * (pairs[i].chosen - pairs[i].ref_chosen), 1e-12);
    }
    // the sorted margins, independently: aot pairs sort(policy margins) with sort(reference margins)
    std::vector<double> first, second;
    for (const auto& p : pairs) {
      first.push_back(std::string(type) == "aot" ? p.chosen - p.rejected : p.chosen - p.ref_chosen);
      second.push_back(std::string(type) == "aot" ? p.ref_chosen - p.ref_rejected : p.rejected - p.ref_rejected);
    }
    std::sort(first.begin(), first.end());
    std::sort(second.begin(), second.end());
    double expected = 0;
    for (size_t k = 0; k < pairs.size(); ++k) {
      const double d = 0.7 * (first[k] - second[k]);
      expected += -0.8 * log_sigmoid(d) - 0.2 * log_sigmoid(-d);
    }
    EXPECT_NEAR(total(pairs), expected, 1e-12) << type;
    // reference_free does not change them: TRL reads the reference log-probs directly
    DpoLossConfig free = c;
    free.reference_free = true;
    EXPECT_EQ(dpo_micro_batch_losses(free, pairs)[1].loss, losses[1].loss) << type;
  }
}

// The study's DPO configs load with TrainerKind::DPO.
TEST(DpoConfig, StudyConfigsLoad) {
  const std::string dir = testing::shared_dir() + "/reference/tiny-think/configs/dpo";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  int loaded = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml" && e.path().extension() != ".yml") continue;
    TrainConfig c = load_train_config(e.path().string(), {}, TrainerKind::DPO);
    EXPECT_TRUE(c.trainer.loss_type == "sigmoid" || c.trainer.loss_type == "apo_zero") << e.path();
    EXPECT_EQ(c.trainer.max_prompt_length, 2048);
    EXPECT_EQ(c.trainer.max_completion_length, 2048);
    DpoLossConfig loss = DpoLossConfig::from_args(c.trainer);
    EXPECT_GT(loss.beta, 0);
    ++loaded;
  }
  EXPECT_GE(loaded, 8);
}

}  // namespace
}  // namespace tt
