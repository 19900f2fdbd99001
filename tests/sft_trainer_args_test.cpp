// SFT runs that show transformers' TrainingArguments at work: the learning-rate schedules and
// lr_scheduler_kwargs (reduce_lr_on_plateau too), logging_first_step, eval_on_start, eval_delay, and best-model tracking
// (metric_for_best_model, load_best_model_at_end, save_strategy best, save_total_limit).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/file.h"
#include "model/checkpoint.h"
#include "tests/error_of.h"
#include "tests/sft_fixture.h"
#include "tests/test_util.h"
#include "train/sft.h"
#include "train/sft_inputs.h"
#include "train/trainer_state.h"

namespace tt {
namespace {

using testing::read_rows;
using testing::write_config;

// `tinythink sft CONFIG [--resume]` in process, rows in file order.
SftResult run(const std::string& config, bool resume = false) {
  SftRun r;
  r.config = load_train_config(config, {}, TrainerKind::SFT);
  r.resume = resume;
  r.shuffle = false;
  load_sft_inputs(r);
  return run_sft(r);
}

// lr_scheduler_type and lr_scheduler_kwargs as transformers' Trainer builds the schedule, with
// transformers 5's warmup_steps below 1 (a ratio: ceil(0.15 x 20) = 3 steps): the logged learning
// rates are the fixture's (tools/gen_lr_schedule_fixtures.py: transformers' own lambdas) times the rate.
TEST(SftSchedule, CosineWithMinLrLogsTransformersLearningRates) {
  std::ifstream in(testing::fixture_dir() + "/lr_schedules/factors.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  const nlohmann::json* expected = nullptr;
  for (const auto& c : cases)
    if (c["lr_scheduler_type"] == "cosine_with_min_lr" && c["lr_scheduler_kwargs"] == nlohmann::json{{"min_lr_rate", 0.1}})
      expected = &c;
  ASSERT_NE(expected, nullptr);
  ASSERT_EQ((*expected)["warmup_steps"], 3);
  ASSERT_EQ((*expected)["total_steps"], 20);
  const std::string dir = testing::make_temp_dir("sft-schedule");
  const std::string config = write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
trainer:
  per_device_train_batch_size: 1
  max_steps: 20
  learning_rate: {1}
  lr_scheduler_type: cosine_with_min_lr
  lr_scheduler_kwargs: {{min_lr_rate: 0.1}}
  warmup_steps: 0.15
  logging_steps: 1
  save_steps: 100
  output_dir: {2}/out
)", testing::fixture_dir(), (*expected)["learning_rate"].get<double>(), dir));
  SftRun run;
  run.config = load_train_config(config, {}, TrainerKind::SFT);
  run.shuffle = false;
  load_sft_inputs(run);
  run_sft(run);
  const auto rows = read_rows(dir + "/out/metrics.jsonl");
  ASSERT_EQ(rows.size(), 20u);
  const double lr = (*expected)["learning_rate"];
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_NEAR(rows[i]["learning_rate"].get<double>(), lr * (*expected)["factors"][i].get<double>(), 1e-15)
        << "step " << i + 1;
}

// reduce_lr_on_plateau as transformers' Trainer steps it: after each evaluation (not eval_on_start's)
// with metric_for_best_model's value (eval_loss by default). A threshold no loss can beat makes every
// evaluation after the first a bad one, so with patience 0 each halves the rate; a run resumed from
// checkpoint-8 carries the scheduler's state (state.json) and logs the uninterrupted run's rates.
TEST(SftSchedule, ReduceLrOnPlateauFollowsTheEvaluationsAndResumes) {
  const std::string dir = testing::make_temp_dir("sft-plateau");
  auto config = [&](int max_steps, const std::string& out, const std::string& extra) {
    return write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
  eval_path: {0}/sft/nll/examples.jsonl
trainer:
  per_device_train_batch_size: 1
  max_steps: {1}
  learning_rate: 1e-3
  lr_scheduler_type: reduce_lr_on_plateau
  lr_scheduler_kwargs: {{factor: 0.5, patience: 0, threshold: 0.99}}
  logging_steps: 1
  eval_on_start: true
  eval_strategy: steps
  eval_steps: 2
  save_steps: 4
  output_dir: {2}/{3}
{4})", testing::fixture_dir(), max_steps, dir, out, extra));
  };
  const auto learning_rates = [&](const std::string& out) {
    std::vector<double> rates;
    for (const auto& row : read_rows(dir + "/" + out + "/metrics.jsonl"))
      if (row.contains("learning_rate")) rates.push_back(row["learning_rate"]);
    return rates;
  };
  run(config(12, "whole", ""));
  const std::vector<double> expected = {1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4, 6.25e-5, 6.25e-5};
  EXPECT_EQ(learning_rates("whole"), expected);
  const nlohmann::json state = read_json_file(dir + "/whole/checkpoint-8/trainer_state/state.json");
  EXPECT_EQ(state["lr_scheduler"]["lr"], 1.25e-4);
  EXPECT_EQ(state["lr_scheduler"]["last_epoch"], 4);  // the evaluations at steps 2, 4, 6, 8
  EXPECT_TRUE(state.contains("best_global_step"));  // metric_for_best_model defaults to loss, as transformers sets it

  run(config(8, "resumed", ""));
  run(config(12, "resumed", ""), /*resume=*/true);
  std::vector<double> resumed;
  for (const auto& row : read_rows(dir + "/resumed/metrics.jsonl"))
    if (row.contains("learning_rate") && row["step"].get<int64_t>() > 8) resumed.push_back(row["learning_rate"]);
  EXPECT_EQ(resumed, std::vector<double>(expected.begin() + 8, expected.end()));

  std::string error = tt::testing::error_of([&] {
    run(write_config(dir, std::regex_replace(read_file(config(4, "no-eval", "")), std::regex("eval_strategy: steps"),
                                             "eval_strategy: \"no\"")));
  });
  EXPECT_NE(error.find("reduce_lr_on_plateau requires an eval_strategy"), std::string::npos) << error;
  error = tt::testing::error_of([&] {
    run(write_config(dir, std::regex_replace(read_file(config(4, "no-data", "")), std::regex("  eval_path: .*\n"), "")));
  });
  EXPECT_NE(error.find("reduce_lr_on_plateau follows an evaluation metric"), std::string::npos) << error;
}

// transformers' logging_first_step logs step 1 as well as every logging_steps; eval_on_start evaluates
// before the first step (a row at step 0), and again when a resumed run starts; without evaluation
// data it is an error, as transformers' evaluate() raises; eval_delay holds evaluations back.
TEST(SftLogging, LoggingFirstStepAndEvalOnStartAsTransformers) {
  const std::string dir = testing::make_temp_dir("sft-log-first");
  auto config = [&](int max_steps, const std::string& extra) {
    return write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
{1}trainer:
  per_device_train_batch_size: 1
  max_steps: {2}
  learning_rate: 1e-3
  logging_steps: 4
  logging_first_step: true
  eval_on_start: true
  eval_strategy: steps
  eval_steps: 4
  save_steps: 4
  output_dir: {3}/out
)", testing::fixture_dir(), extra, max_steps, dir));
  };
  const std::string eval_data = "  eval_path: " + testing::fixture_dir() + "/sft/nll/examples.jsonl\n";
  run(config(8, eval_data));
  std::vector<std::pair<int64_t, bool>> logged;  // step, is an evaluation row
  for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
    logged.push_back({row["step"].get<int64_t>(), row.contains("eval_loss")});
  EXPECT_EQ(logged, (std::vector<std::pair<int64_t, bool>>{{0, true}, {1, false}, {4, false}, {4, true}, {8, false}, {8, true}}));

  // a resumed run evaluates when it starts, at the checkpoint's step
  run(config(12, eval_data), /*resume=*/true);
  logged.clear();
  for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
    logged.push_back({row["step"].get<int64_t>(), row.contains("eval_loss")});
  ASSERT_GE(logged.size(), 7u);
  EXPECT_EQ(logged[6], (std::pair<int64_t, bool>{8, true}));
  EXPECT_EQ(logged.back(), (std::pair<int64_t, bool>{12, true}));

  // eval_delay: no evaluation before step 5 (the step-4 one is left out; the one at start too)
  std::filesystem::remove_all(dir + "/out");
  run(write_config(dir, std::regex_replace(read_file(config(8, eval_data)), std::regex("eval_on_start: true"),
                                           "eval_on_start: false\n  eval_delay: 5")));
  logged.clear();
  for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
    logged.push_back({row["step"].get<int64_t>(), row.contains("eval_loss")});
  EXPECT_EQ(logged, (std::vector<std::pair<int64_t, bool>>{{1, false}, {4, false}, {8, false}, {8, true}}));

  std::filesystem::remove_all(dir + "/out");
  const std::string error = tt::testing::error_of([&] { run(config(8, "")); });
  EXPECT_NE(error.find("trainer.eval_on_start: there is no evaluation data"), std::string::npos) << error;
}

// transformers' best-model tracking: metric_for_best_model (here eval_loss with greater_is_better, so
// the first evaluation stays best while the loss falls), save_total_limit keeping the best checkpoint
// beside the newest, load_best_model_at_end writing the best checkpoint's weights as the trained model,
// save_strategy best saving at new bests only (and after the last step), and the checks of
// TrainingArguments.
TEST(SftBestModel, LoadBestModelAtEndAndSaveStrategyBestAsTransformers) {
  const std::string dir = testing::make_temp_dir("sft-best");
  auto config = [&](const std::string& extra, int save_steps = 2) {
    return write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
  eval_path: {0}/sft/nll/examples.jsonl
trainer:
  per_device_train_batch_size: 2
  max_steps: 8
  learning_rate: 1e-3
  logging_steps: 2
  eval_strategy: steps
  eval_steps: 2
  save_steps: {3}
  output_dir: {1}/out
{2})", testing::fixture_dir(), dir, extra, save_steps));
  };
  auto checkpoints = [&] {
    std::vector<int64_t> steps;
    for (const auto& [step, path] : list_checkpoints(dir + "/out")) steps.push_back(step);
    return steps;
  };
  auto same_weights = [](const std::string& a, const std::string& b) { return load_model(a).params == load_model(b).params; };
  auto eval_losses = [&] {
    std::vector<double> losses;
    for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
      if (row.contains("eval_loss")) losses.push_back(row["eval_loss"].get<double>());
    return losses;
  };

  run(config("  save_total_limit: 1\n  metric_for_best_model: loss\n  greater_is_better: true\n"
             "  load_best_model_at_end: true\n"));
  const std::vector<double> losses = eval_losses();
  ASSERT_EQ(losses.size(), 4u);
  ASSERT_EQ(std::max_element(losses.begin(), losses.end()) - losses.begin(), 0) << "the falling loss's first is highest";
  EXPECT_EQ(checkpoints(), (std::vector<int64_t>{2, 8})) << "the best is kept beside the newest";
  EXPECT_TRUE(same_weights(dir + "/out", dir + "/out/checkpoint-2"));
  EXPECT_FALSE(same_weights(dir + "/out", dir + "/out/checkpoint-8"));
  const auto state = read_json_file(dir + "/out/checkpoint-8/trainer_state/state.json");
  EXPECT_EQ(state["best_global_step"], 2);
  EXPECT_EQ(state["best_metric"].get<double>(), losses[0]);

  // a resumed run keeps the best from the checkpoint's state: 4 steps, then on to 8
  std::filesystem::remove_all(dir + "/out");
  const std::string best_of_run = "  metric_for_best_model: loss\n  greater_is_better: true\n  load_best_model_at_end: true\n";
  std::string first_half = read_file(config(best_of_run));
  first_half.replace(first_half.find("max_steps: 8"), 12, "max_steps: 4");
  run(write_config(dir, first_half));
  SftRun resumed;
  resumed.config = load_train_config(config(best_of_run), {}, TrainerKind::SFT);
  resumed.resume = true;
  resumed.shuffle = false;
  load_sft_inputs(resumed);
  run_sft(resumed);
  EXPECT_TRUE(same_weights(dir + "/out", dir + "/out/checkpoint-2"));
  EXPECT_EQ(read_json_file(dir + "/out/checkpoint-8/trainer_state/state.json")["best_global_step"], 2);

  // without load_best_model_at_end the last step's weights are the model
  std::filesystem::remove_all(dir + "/out");
  run(config("  metric_for_best_model: eval_loss\n  greater_is_better: true\n"));
  EXPECT_TRUE(same_weights(dir + "/out", dir + "/out/checkpoint-8"));
  EXPECT_EQ(checkpoints(), (std::vector<int64_t>{2, 4, 6, 8}));

  // save_strategy best: a checkpoint at each new best only, and one after the last step
  std::filesystem::remove_all(dir + "/out");
  run(config("  save_strategy: best\n  greater_is_better: true\n"));
  EXPECT_EQ(checkpoints(), (std::vector<int64_t>{2, 8}));

  for (const auto& [extra, save_steps, message] : std::vector<std::tuple<std::string, int, std::string>>{
           {"  metric_for_best_model: accuracy_of_nothing\n", 2,
            "trainer.metric_for_best_model: eval_accuracy_of_nothing is not among the evaluation metrics (eval_loss"},
           {"  load_best_model_at_end: true\n", 3,
            "load_best_model_at_end requires the saving steps to be a round multiple of the evaluation steps, but found 3"},
           {"  load_best_model_at_end: true\n  save_strategy: epoch\n", 2,
            "trainer.load_best_model_at_end requires the save and eval strategy to match (save_strategy epoch"}}) {
    std::filesystem::remove_all(dir + "/out");
    const std::string path = config(extra, save_steps);  // clang 14 cannot capture a structured binding
    const std::string error = tt::testing::error_of([&] { run(path); });
    EXPECT_NE(error.find(message), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace tt
