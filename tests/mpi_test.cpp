// Data-parallel training and sharded scoring under `mpirun --oversubscribe -np 2` (issue 19): two
// ranks with gradient_accumulation_steps A train the weights one process trains with 2A, resume
// across world sizes, and DPO's sharded reference pass writes the same cache bytes; sharded `eval`,
// `generate` and `pairs` write the files one process writes. Skipped (with SKIPPED and the reason) where mpirun
// is absent or the binary was built without MPI.
//
// Tolerance: the two runs sum the same per-micro-batch gradients in a different order (one process:
// ((g0 + g1) + g2) + g3 into one buffer; two ranks: (g0 + g2) + (g1 + g3) over the all-reduce), so
// fp32 results differ in the last bits and AdamW carries that through the steps: metrics agree within
// 1e-6 relative (absolute below magnitude 1: DPO's rewards are beta x differences of log-probs near
// -28, which cancel to ~1e-8 while keeping the log-probs' ~1e-7 rounding), weights within 1e-6 of each
// tensor's largest magnitude for SFT (measured 1.7e-7) and 1e-5 for DPO (measured 3.8e-6: AdamW's
// m / (sqrt(v) + eps) turns the rounding of gradient elements near eps, where the chosen and rejected
// sequences' gradients cancel, into relative update differences far above fp32's). Everything summed exactly (token counts, the
// reference log-probs, one owner per slot) and a resume on the same ranks are compared bitwise.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <sstream>

#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/communicator.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "model/checkpoint.h"
#include "tests/study_test_util.h"
#include "tests/test_util.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

// Why the mpirun tests cannot run here, or "".
std::string mpi_unavailable() {
  if (!built_with_mpi()) return "tinythink was built without MPI (Debian: libopenmpi-dev, then reconfigure)";
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) return "mpirun not found (Debian: openmpi-bin)";
  return "";
}

#define SKIP_WITHOUT_MPI()                                                  \
  if (const std::string why = mpi_unavailable(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why

// Runs `prefix tinythink args` through the shell (prefix: environment assignments, a launcher),
// capturing stdout+stderr.
testing::CommandResult run_cli_with(const std::string& prefix, const std::string& args) {
  const std::string command = prefix + " " + std::string(TT_BINARY) + " " + args + " 2>&1";
  testing::CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// `tinythink args` on `ranks` processes: root is allowed (containers, CI), two ranks may share fewer
// cores, one OpenMP thread each.
testing::CommandResult run_ranks(int ranks, const std::string& args) {
  return run_cli_with(
      fmt::format("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np {} "
                  "-x OMP_NUM_THREADS=1",
                  ranks),
      args);
}

testing::CommandResult run_one(const std::string& args) { return run_cli_with("OMP_NUM_THREADS=1", args); }

std::string write_text(const std::string& path, const std::string& body) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << body;
  return path;
}

// DIR/NAME.yaml: the parity fixture's tiny model on `dataset` (under the fixtures), one row per
// micro-batch, `accumulation` micro-batches per rank and step, logging every step, output DIR/out;
// `trainer` adds the objective's lines.
std::string training_config(const std::string& dir, const std::string& name, const std::string& dataset,
                            int accumulation, const std::string& trainer) {
  return write_text(dir + "/" + name + ".yaml",
                    fmt::format("model_name: {0}/parity/tiny_llama4\ndataset:\n  path: {0}/{1}\ntrainer:\n"
                                "  per_device_train_batch_size: 1\n  gradient_accumulation_steps: {2}\n"
                                "  learning_rate: 1e-3\n  bf16: false\n  logging_steps: 1\n  output_dir: {3}/out\n{4}",
                                testing::fixture_dir(), dataset, accumulation, dir, trainer));
}

// SFT on the parity fixture's 12 examples, shuffled, NEFTune on (its seed follows the micro-batch's
// place in the global step), cosine schedule with warmup, weight decay: 3 epochs of 3 steps at a
// global batch of 4.
std::string sft_config(const std::string& dir, int accumulation) {
  return training_config(dir, "sft", "sft/nll/examples.jsonl", accumulation, R"(  num_train_epochs: 3
  lr_scheduler_type: cosine
  warmup_ratio: 0.2
  weight_decay: 0.01
  neftune_noise_alpha: 5
  max_grad_norm: 1.0
  save_steps: 3
  seed: 11
)");
}

// DPO (sigmoid) on 12 pairs, 3 steps at a global batch of 4; the reference pass in batches of 2.
std::string dpo_config(const std::string& dir, int accumulation) {
  return training_config(dir, "dpo", "dpo/ipo/pairs.jsonl", accumulation, R"(  max_steps: 3
  loss_type: sigmoid
  beta: 0.5
  max_length: 128
  max_prompt_length: 64
  per_device_eval_batch_size: 2
  save_steps: 100
  seed: 5
)");
}

std::vector<nlohmann::json> train_rows(const std::string& metrics) {
  std::vector<nlohmann::json> rows;
  read_jsonl(metrics, [&](int64_t, const nlohmann::json& row) {
    if (row.contains("loss")) rows.push_back(row);
  });
  return rows;
}

// Same steps, token counts bitwise, every float metric but `skip` within 1e-6 relative (absolute below 1).
void expect_same_metrics(const std::string& a, const std::string& b, const std::string& skip = "") {
  const auto rows_a = train_rows(a), rows_b = train_rows(b);
  ASSERT_EQ(rows_a.size(), rows_b.size());
  ASSERT_FALSE(rows_a.empty());
  for (size_t i = 0; i < rows_a.size(); ++i) {
    EXPECT_EQ(rows_a[i]["step"], rows_b[i]["step"]);
    EXPECT_EQ(rows_a[i]["num_tokens"], rows_b[i]["num_tokens"]);
    for (const auto& [key, value] : rows_a[i].items()) {
      if (!value.is_number_float() || key == skip) continue;
      const double x = value.get<double>(), y = rows_b[i].at(key).get<double>();
      EXPECT_LE(std::fabs(x - y), 1e-6 * std::max(1.0, std::fabs(y))) << key << " at step " << rows_a[i]["step"];
    }
  }
}

// Every tensor within `tolerance` of its largest magnitude; returns the largest relative difference.
double expect_same_weights(const std::string& a, const std::string& b, double tolerance = 1e-6) {
  Model x = load_model(a), y = load_model(b);
  double worst = 0;
  for (const auto& slot : x.layout.slots) {
    double diff = 0, scale = 1e-30;
    for (int64_t i = slot.offset; i < slot.offset + slot.numel; ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(x.params[i] - y.params[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(y.params[i])));
    }
    EXPECT_LE(diff / scale, tolerance) << slot.name;
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

TEST(MpiSft, TwoRanksTrainAsOneProcessWithDoubleAccumulation) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-sft");
  auto two = run_ranks(2, "sft " + sft_config(dir + "/two", 2));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("effective batch 4 over 2 ranks"), std::string::npos) << two.output;
  auto one = run_one("sft " + sft_config(dir + "/one", 4));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  // mean_token_accuracy pools each micro-step's two micro-batches (TRL): MpiSft.TokenAccuracy... checks it
  expect_same_metrics(dir + "/two/out/metrics.jsonl", dir + "/one/out/metrics.jsonl", "mean_token_accuracy");
  const double worst = expect_same_weights(dir + "/two/out", dir + "/one/out");
  std::printf("largest weight difference, 2 ranks vs 1: %.3g of the tensor's scale\n", worst);
  EXPECT_GT(train_rows(dir + "/two/out/metrics.jsonl").size(), 8u);
  EXPECT_TRUE(fs::exists(dir + "/two/out/checkpoint-9/trainer_state/state.json"));

  // A checkpoint of the two-rank run resumed by one process (accumulation 4: the same global batch)
  // ends where the uninterrupted run ended.
  const std::string resumed = dir + "/resumed";
  fs::create_directories(resumed + "/out");
  fs::copy(dir + "/two/out/checkpoint-3", resumed + "/out/checkpoint-3", fs::copy_options::recursive);
  auto r = run_one("sft " + sft_config(resumed, 4) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  expect_same_weights(resumed + "/out", dir + "/two/out");

  // ... and the other way: one process's checkpoint resumed by two ranks.
  const std::string back = dir + "/back";
  fs::create_directories(back + "/out");
  fs::copy(dir + "/one/out/checkpoint-6", back + "/out/checkpoint-6", fs::copy_options::recursive);
  auto b = run_ranks(2, "sft " + sft_config(back, 2) + " --resume");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  expect_same_weights(back + "/out", dir + "/one/out");
}

// mean_token_accuracy as TRL logs it under DDP: one value per micro-step, from every rank's correct
// and target tokens gathered (two ranks at batch 1 give what one process gives with both rows in one
// micro-batch of 2), or with use_liger_kernel the mean of the ranks' own accuracies (what one process
// gives at batch 1 with twice the accumulation); both in training and in evaluation.
TEST(MpiSft, TokenAccuracyIsPooledOverTheRanksAsTrlGathersIt) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-sft-accuracy");
  {  // 12 examples of 3 to 19 tokens repeating 5 6 7: the tiny model gets some of them right within a step
    std::ofstream data(dir + "/data.jsonl");
    for (int i = 0; i < 12; ++i) {
      std::string tokens;
      for (int t = 0; t < 3 + (i * 7) % 17; ++t) tokens += fmt::format("{}{}", t ? ", " : "", 5 + t % 3);
      data << "{\"tokens\": [" << tokens << "]}\n";
    }
  }
  auto config = [&](const std::string& name, int batch, int accumulation, bool liger) {
    return write_text(dir + "/" + name + ".yaml",
                      fmt::format("model_name: {0}/parity/tiny_llama4\ndataset:\n  path: {4}/data.jsonl\n"
                                  "  test_size: 0.34\ntrainer:\n  per_device_train_batch_size: {1}\n"
                                  "  per_device_eval_batch_size: {1}\n  gradient_accumulation_steps: {2}\n"
                                  "  max_steps: 3\n  learning_rate: 1e-2\n  bf16: false\n  logging_steps: 1\n"
                                  "  eval_strategy: steps\n  eval_steps: 1\n  save_steps: 100\n  seed: 3\n"
                                  "  use_liger_kernel: {3}\n  output_dir: {4}/{5}\n",
                                  testing::fixture_dir(), batch, accumulation, liger, dir, name));
  };
  auto accuracies = [&](const std::string& name) {
    std::vector<double> train, eval;
    read_jsonl(dir + "/" + name + "/metrics.jsonl", [&](int64_t, const nlohmann::json& row) {
      if (row.contains("mean_token_accuracy")) train.push_back(row["mean_token_accuracy"].get<double>());
      if (row.contains("eval_mean_token_accuracy")) eval.push_back(row["eval_mean_token_accuracy"].get<double>());
    });
    EXPECT_EQ(train.size(), 3u) << name;
    EXPECT_EQ(eval.size(), 3u) << name;
    return std::make_pair(train, eval);
  };
  auto expect_same = [](const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12) << what << " at " << i;
  };
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::string>>{
           {"pooled", config("pooled", 1, 2, false)}, {"liger", config("liger", 1, 2, true)}}) {
    auto r = run_ranks(2, "sft " + args);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.output;
  }
  auto r = run_one("sft " + config("batch2", 2, 2, false));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_one("sft " + config("batch1", 1, 4, false));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pooled = accuracies("pooled"), liger = accuracies("liger");
  const auto batch2 = accuracies("batch2"), batch1 = accuracies("batch1");
  expect_same(pooled.first, batch2.first, "training, pooled");
  expect_same(pooled.second, batch2.second, "evaluation, pooled");
  expect_same(liger.first, batch1.first, "training, Liger path");
  expect_same(liger.second, batch1.second, "evaluation, Liger path");
  EXPECT_NE(pooled.first, liger.first) << "the examples' lengths differ, so the two averages do";
}

// Chat data prepared by every rank into the run's cache under a new output_dir: a rank that looked at
// the folder after another had made its 'prepared' refused it ("not a tinythink training output"),
// so every data-parallel SFT on chat data into a new folder failed.
TEST(MpiSft, TwoRanksPrepareChatDataIntoANewOutputDir) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-sft-chat");
  const std::string shared = testing::shared_dir();
  nlohmann::json model_config = read_json_file(testing::fixture_dir() + "/parity/tiny_llama4/config.json");
  model_config["vocab_size"] = 128256;
  write_json_file(dir + "/config.json", model_config);
  auto init = run_one(fmt::format("init-model --config {0}/config.json --out {0}/base --tokenizer {1}", dir,
                                  shared + "/data/tokenizer/llama3/tokenizer.json"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  std::string rows;
  for (int i = 0; i < 8; ++i)
    rows += fmt::format(R"({{"messages": [{{"role": "user", "content": "{0}+1?"}}, {{"role": "assistant", "content": "{1}"}}]}})" "\n", i, i + 1);
  write_text(dir + "/train.jsonl", rows);
  const std::string config = write_text(dir + "/sft.yaml", fmt::format(R"(model_name: {0}/base
dataset:
  path: {0}/train.jsonl
  chat_template: {1}/reference/tiny-think/chat_template.jinja
trainer:
  per_device_train_batch_size: 1
  max_steps: 2
  logging_steps: 1
  output_dir: {0}/new/out
)", dir, shared));
  auto two = run_ranks(2, "sft " + config);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(train_rows(dir + "/new/out/metrics.jsonl").size(), 2u);
  EXPECT_TRUE(fs::exists(dir + "/new/out/prepared"));
}

// DPO on two ranks (accumulation 2) and in one process (accumulation 4, the same global batch), with
// `extra` options: the same metrics, and weights within DPO's tolerance (returns the largest difference).
double expect_two_ranks_train_dpo_as_one(const std::string& dir, const std::string& extra) {
  auto two = run_ranks(2, "dpo " + dpo_config(dir + "/two", 2) + extra);
  EXPECT_EQ(two.exit_code, 0) << two.output;
  auto one = run_one("dpo " + dpo_config(dir + "/one", 4) + extra);
  EXPECT_EQ(one.exit_code, 0) << one.output;
  expect_same_metrics(dir + "/two/out/metrics.jsonl", dir + "/one/out/metrics.jsonl");
  return expect_same_weights(dir + "/two/out", dir + "/one/out", 1e-5);
}

TEST(MpiDpo, TwoRanksTrainAsOneProcessAndShareTheReferencePass) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-dpo");
  const double worst = expect_two_ranks_train_dpo_as_one(dir, "");
  std::printf("largest weight difference, 2 ranks vs 1: %.3g of the tensor's scale\n", worst);
  // The sharded reference pass: each pair scored on one rank, gathered exactly.
  std::vector<fs::path> caches;
  for (const auto& e : fs::directory_iterator(dir + "/two/ref_cache")) caches.push_back(e.path());
  ASSERT_EQ(caches.size(), 1u);
  EXPECT_EQ(read_file(caches[0].string()),
            read_file((fs::path(dir) / "one/ref_cache" / caches[0].filename()).string()));
}

// aot sorts log-ratios within each micro-batch, as TRL sorts within each device's batch: two ranks
// with two micro-batches each train as one process with the same four micro-batches.
TEST(MpiDpo, AotSortsWithinEachMicroBatchOnEveryRank) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-dpo-aot");
  expect_two_ranks_train_dpo_as_one(dir, " --set trainer.loss_type=aot --set trainer.label_smoothing=0.1");
}

// TR-DPO: every rank moves its reference toward the same policy after each step and scores its own
// micro-batches with it; two ranks train as one process.
TEST(MpiDpo, TrDpoSyncsTheReferenceOnEveryRank) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-dpo-tr");
  expect_two_ranks_train_dpo_as_one(dir, " --set trainer.sync_ref_model=true --set trainer.ref_model_sync_steps=1"
                                         " --set trainer.ref_model_mixup_alpha=0.6");
}

// The metrics rows that hold `key` (evaluation rows: eval_loss).
std::vector<nlohmann::json> rows_with(const std::string& metrics, const std::string& key) {
  std::vector<nlohmann::json> rows;
  read_jsonl(metrics, [&](int64_t, const nlohmann::json& row) {
    if (row.contains(key)) rows.push_back(row);
  });
  return rows;
}

// Evaluation under mpirun: each rank evaluates its share of the batches and the sums are all-reduced
// (every rank evaluated every batch); the metrics are one process's, for SFT and DPO.
TEST(MpiEval, RanksShareTheEvaluationBatchesAndReportOneProcesssMetrics) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-eval");
  const std::string eval = " --set dataset.test_size=0.34 --set trainer.eval_strategy=steps --set trainer.eval_steps=1"
                           " --set trainer.per_device_eval_batch_size=1";
  for (const std::string verb : {"sft", "dpo"}) {
    SCOPED_TRACE(verb);
    auto config = [&](const std::string& where, int accumulation) {
      return verb == "sft" ? sft_config(where, accumulation) + " --set trainer.max_steps=2"
                           : dpo_config(where, accumulation) + " --set trainer.max_steps=2";
    };
    auto two = run_ranks(2, verb + " " + config(dir + "/" + verb + "2", 2) + eval);
    ASSERT_EQ(two.exit_code, 0) << two.output;
    auto one = run_one(verb + " " + config(dir + "/" + verb + "1", 4) + eval);
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const auto a = rows_with(dir + "/" + verb + "2/out/metrics.jsonl", "eval_loss");
    const auto b = rows_with(dir + "/" + verb + "1/out/metrics.jsonl", "eval_loss");
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    for (size_t i = 0; i < a.size(); ++i)
      for (const auto& [key, value] : b[i].items()) {
        // pooled over each evaluation step's two batches (TRL): MpiSft.TokenAccuracy... checks it
        if (!value.is_number_float() || key == "eval_mean_token_accuracy") continue;
        EXPECT_NEAR(a[i].at(key).get<double>(), value.get<double>(), 1e-6 * std::max(1.0, std::fabs(value.get<double>())))
            << key << " at evaluation " << i;
      }
  }
}

// The files of a run that ZeRO-1 must not change: the model, the metrics and every checkpoint's
// weights and optimizer moments.
void expect_same_run_files(const std::string& a, const std::string& b) {
  for (const char* file : {"model.safetensors", "metrics.jsonl"})
    EXPECT_EQ(read_file(a + "/" + file), read_file(b + "/" + file)) << file;
  int checkpoints = 0;
  for (const auto& e : fs::directory_iterator(b)) {
    if (e.path().filename().string().rfind("checkpoint-", 0) != 0) continue;
    ++checkpoints;
    const std::string name = e.path().filename().string();
    for (const char* file : {"model.safetensors", "trainer_state/optimizer.safetensors", "trainer_state/state.json"})
      EXPECT_EQ(read_file(a + "/" + name + "/" + file), read_file(e.path().string() + "/" + file)) << name << "/" << file;
  }
  EXPECT_GT(checkpoints, 0);
}

// ZeRO-1 on two ranks trains the bits of two ranks without it: the reduce-scatter adds the same two
// gradients as the all-reduce (a + b), the norm comes from the same block sums in the same order, and
// AdamW gives each element of a slice the bits of the whole update. Its checkpoints are the unsharded
// ones (moments gathered on rank 0), so one process resumes them, and two ZeRO ranks resume a
// checkpoint (sharding the loaded moments) to the bits of the uninterrupted run.
TEST(MpiZero, ShardedOptimizerTrainsTheBitsOfTheUnshardedOneForSft) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-zero-sft");
  const std::string zero = " --set trainer.zero_stage=1";
  auto sharded = run_ranks(2, "sft " + sft_config(dir + "/zero", 2) + zero);
  ASSERT_EQ(sharded.exit_code, 0) << sharded.output;
  EXPECT_NE(sharded.output.find("over 2 ranks (ZeRO-1: AdamW state sharded)"), std::string::npos) << sharded.output;
  EXPECT_NE(sharded.output.find("reduce-scatter and parameter all-gather took"), std::string::npos) << sharded.output;
  auto plain = run_ranks(2, "sft " + sft_config(dir + "/plain", 2));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  expect_same_run_files(dir + "/zero/out", dir + "/plain/out");

  // One process (accumulation 4: the same global batch) resumes the ZeRO run's checkpoint-3.
  const std::string alone = dir + "/alone";
  fs::create_directories(alone + "/out");
  fs::copy(dir + "/zero/out/checkpoint-3", alone + "/out/checkpoint-3", fs::copy_options::recursive);
  auto one = run_one("sft " + sft_config(alone, 4) + zero + " --resume");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("resumed from"), std::string::npos) << one.output;
  EXPECT_EQ(one.output.find("ZeRO-1"), std::string::npos) << "one rank has nothing to shard";
  expect_same_weights(alone + "/out", dir + "/zero/out");

  // Two ZeRO ranks resume checkpoint-6: bitwise the uninterrupted run.
  const std::string resumed = dir + "/resumed";
  fs::create_directories(resumed + "/out");
  fs::copy(dir + "/zero/out/checkpoint-6", resumed + "/out/checkpoint-6", fs::copy_options::recursive);
  auto again = run_ranks(2, "sft " + sft_config(resumed, 2) + zero + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_file(resumed + "/out/model.safetensors"), read_file(dir + "/zero/out/model.safetensors"));
  EXPECT_EQ(read_file(resumed + "/out/checkpoint-9/trainer_state/optimizer.safetensors"),
            read_file(dir + "/zero/out/checkpoint-9/trainer_state/optimizer.safetensors"));
}

TEST(MpiZero, ShardedOptimizerTrainsTheBitsOfTheUnshardedOneForDpo) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-zero-dpo");
  auto sharded = run_ranks(2, "dpo " + dpo_config(dir + "/zero", 2) + " --set trainer.zero_stage=1 --set trainer.save_steps=2");
  ASSERT_EQ(sharded.exit_code, 0) << sharded.output;
  EXPECT_NE(sharded.output.find("ZeRO-1"), std::string::npos) << sharded.output;
  auto plain = run_ranks(2, "dpo " + dpo_config(dir + "/plain", 2) + " --set trainer.save_steps=2");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  expect_same_run_files(dir + "/zero/out", dir + "/plain/out");

  // Another world size: one process (accumulation 4, the same global batch) resumes the ZeRO run's
  // checkpoint-2 (moments gathered on rank 0) and ends where it ended, within DPO's tolerance.
  const std::string alone = dir + "/alone";
  fs::create_directories(alone + "/out");
  fs::copy(dir + "/zero/out/checkpoint-2", alone + "/out/checkpoint-2", fs::copy_options::recursive);
  auto one = run_one("dpo " + dpo_config(alone, 4) + " --set trainer.save_steps=2 --resume");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("resumed from"), std::string::npos) << one.output;
  expect_same_weights(alone + "/out", dir + "/zero/out", 1e-5);
}

// The last line of a command's output that parses as a JSON object.
nlohmann::json last_json_line(const std::string& output) {
  std::istringstream lines(output);
  nlohmann::json found;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.front() == '{') found = nlohmann::json::parse(line, nullptr, false);
  return found;
}

void expect_world_report(const nlohmann::json& report, int ranks, int zero_stage) {
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["ranks"], ranks);
  EXPECT_EQ(report["zero_stage"], zero_stage);
  ASSERT_EQ(report["tokens_per_s_per_rank"].size(), static_cast<size_t>(ranks));
  double total = 0;
  for (const auto& rate : report["tokens_per_s_per_rank"]) {
    EXPECT_GT(rate.get<double>(), 0);
    total += rate.get<double>();
  }
  EXPECT_NEAR(report["tokens_per_s_total"].get<double>(), total, 1e-9 * total);
  EXPECT_NEAR(report["scaling_efficiency"].get<double>(),
              total / (ranks * report["single_rank_tokens_per_s"].get<double>()), 1e-9);
  const double share = report["all_reduce_share"].get<double>();
  if (ranks == 1) EXPECT_EQ(share, 0);
  else EXPECT_GT(share, 0);
  EXPECT_LT(share, 1);
}

// bench train --world: one JSON line from rank 0 (scaling against rank 0 alone, the all-reduce share);
// one process reports a world of one with no all-reduce.
TEST(MpiBench, WorldReportsScalingAndTheAllReduceShare) {
  SKIP_WITHOUT_MPI();
  const std::string args = "bench train --world --arch tiny-llama4 --batch 2 --seq 32 --steps 2 --precision fp32 --json";
  auto two = run_ranks(2, args);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  expect_world_report(last_json_line(two.output), 2, 0);
  auto zero = run_ranks(2, args + " --zero-stage 1");
  ASSERT_EQ(zero.exit_code, 0) << zero.output;
  expect_world_report(last_json_line(zero.output), 2, 1);
  auto one = run_one(args);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_world_report(last_json_line(one.output), 1, 0);
}

TEST(MpiDpo, StatefulLossRefusesToTrainDataParallel) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-bco");
  auto r = run_ranks(2, "dpo " + dpo_config(dir, 1) + " --set trainer.loss_type=bco_pair");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cannot train data-parallel"), std::string::npos) << r.output;
}

// The pids of the processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

// One rank killed mid-run ends the job (the launcher says which rank died, non-zero exit); --resume
// continues from the last checkpoint to the bitwise weights of an uninterrupted two-rank run.
TEST(MpiSft, KilledRankStopsTheJobAndResumeFinishesIt) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-kill");
  const std::string longer = " --set trainer.num_train_epochs=20";
  auto whole = run_ranks(2, "sft " + sft_config(dir + "/whole", 2) + longer);
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const std::string config = sft_config(dir + "/killed", 2);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  std::vector<std::string> args{"mpirun", "--oversubscribe", "-np", "2", "-x", "OMP_NUM_THREADS=1", TT_BINARY, "sft",
                                config, "--set", "trainer.num_train_epochs=20"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir + "/killed.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t mpirun = 0;
  ASSERT_EQ(posix_spawnp(&mpirun, "mpirun", &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  for (int i = 0; i < 3000 && !fs::exists(dir + "/killed/out/checkpoint-6"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<pid_t> ranks = children_of(mpirun);
  ASSERT_FALSE(ranks.empty());
  ::kill(ranks.back(), SIGKILL);
  int status = 0;
  ::waitpid(mpirun, &status, 0);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string output = read_file(log);
  EXPECT_NE(output.find("signal 9"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir + "/killed/out/model.safetensors")) << "the run ended before the kill";

  auto resumed = run_ranks(2, "sft " + config + longer + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  EXPECT_EQ(read_file(dir + "/killed/out/model.safetensors"), read_file(dir + "/whole/out/model.safetensors"));
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// Sharded evaluation: 7 documents per task over 2 ranks (4 + 3), sampled generation (per-document
// seeds) and log-likelihood choices; the samples files are byte-identical to one process's, and
// results.json too, less its date and timings.
TEST(MpiEval, TwoRanksWriteWhatOneProcessWrites) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-eval");
  const std::string model = testing::write_tiny_model_dir(dir + "/model");
  const std::string args = "eval --model " + model +
                           " --tasks gsm8k_boxed,arc_easy --limit 7 --precision fp32 --no-progress"
                           " --gen-kwargs do_sample=true,temperature=1.0,max_gen_toks=6 --data " +
                           testing::shared_dir() + "/data --output ";
  auto two = run_ranks(2, args + dir + "/two");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto one = run_one(args + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  for (const char* task : {"gsm8k_boxed", "arc_easy"}) {
    const std::string file = std::string("/samples_") + task + ".jsonl";
    EXPECT_EQ(read_file(dir + "/two" + file), read_file(dir + "/one" + file)) << task;
  }
  nlohmann::json a = read_json(dir + "/two/results.json"), b = read_json(dir + "/one/results.json");
  for (auto* r : {&a, &b})
    for (const char* varying : {"date", "total_evaluation_time_seconds", "tinythink"}) r->erase(varying);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["n-samples"]["arc_easy"]["effective"], 7);

  // --use-cache: each rank appends to its own file; one process rerunning with the cache finds every
  // answer there, across the ranks' files, and writes the same samples.
  two = run_ranks(2, args + dir + "/two-cached --use-cache " + dir + "/cache");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  int rank_files = 0;
  for (const auto& e : fs::directory_iterator(dir + "/cache")) rank_files += e.path().string().ends_with(".jsonl");
  EXPECT_EQ(rank_files, 2);
  one = run_one(args + dir + "/one-cached --use-cache " + dir + "/cache");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const nlohmann::json cached = read_json(dir + "/one-cached/results.json");
  EXPECT_EQ(cached["tinythink"]["tasks"]["gsm8k_boxed"]["cached_requests"], 7);
  EXPECT_GE(cached["tinythink"]["tasks"]["arc_easy"]["cached_requests"].get<int64_t>(), 7 * 3);
  for (const char* task : {"gsm8k_boxed", "arc_easy"}) {
    const std::string file = std::string("/samples_") + task + ".jsonl";
    EXPECT_EQ(read_file(dir + "/one-cached" + file), read_file(dir + "/one" + file)) << task;
  }
}

// Sharded generation: 5 requests over 2 ranks (3 + 2), two sampled completions each (the requests'
// seeds, not their ranks, choose the samples), one with its own temperature; the output file is the
// one a single process writes, byte for byte.
TEST(MpiGenerate, TwoRanksWriteWhatOneProcessWrites) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-generate");
  const std::string model = testing::write_tiny_model_dir(dir + "/model");
  {
    std::ofstream requests(dir + "/requests.jsonl");
    for (int i = 0; i < 5; ++i) {
      nlohmann::json row = {{"prompt", "story " + std::to_string(i)}, {"seed", 100 + i}};
      if (i == 3) row["temperature"] = 0.5;
      requests << row.dump() << "\n";
    }
  }
  const std::string args = "generate --model " + model + " --input " + dir +
                           "/requests.jsonl --n 2 --temperature 1 --max-new-tokens 8 --precision fp32 --output ";
  auto two = run_ranks(2, args + dir + "/two.jsonl");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto one = run_one(args + dir + "/one.jsonl");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  // Rank 0 (the one that logs) generated its share only, 3 of the 5 requests, and says so.
  EXPECT_NE(two.output.find("generate (rank 0 of 2, its share): 3/3 requests"), std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("5/5 requests"), std::string::npos) << two.output;
  const std::string written = read_file(dir + "/one.jsonl");
  EXPECT_EQ(read_file(dir + "/two.jsonl"), written);
  EXPECT_EQ(std::count(written.begin(), written.end(), '\n'), 5);
}

// Sharded sampling of on-policy pairs: 5 prompts x 4 samples over 2 ranks; the same pairs file.
TEST(MpiPairs, TwoRanksWriteThePairsOfOneProcess) {
  SKIP_WITHOUT_MPI();
  const std::string dir = testing::make_temp_dir("mpi-pairs");
  const std::string model = testing::write_tiny_model_dir(dir + "/model");
  {
    std::ofstream prompts(dir + "/prompts.jsonl");
    for (int i = 0; i < 5; ++i)
      prompts << nlohmann::json({{"prompt", "count " + std::to_string(i)}, {"answer", std::to_string(i % 3)}}).dump()
              << "\n";
  }
  const std::string args = "pairs --model " + model + " --prompts " + dir +
                           "/prompts.jsonl --k 4 --max-new-tokens 8 --temperature 1 --precision fp32 --out ";
  auto two = run_ranks(2, args + dir + "/two");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto one = run_one(args + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(read_file(dir + "/two/pairs.jsonl"), read_file(dir + "/one/pairs.jsonl"));
  nlohmann::json a = read_json(dir + "/two/pairs_summary.json"), b = read_json(dir + "/one/pairs_summary.json");
  a.erase("seconds");
  b.erase("seconds");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["samples"], 20);
}

}  // namespace
}  // namespace tt
