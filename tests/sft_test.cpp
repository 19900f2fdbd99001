// SFT end to end: the trainer against the PyTorch reference (tools/gen_sft_fixtures.py), and resume.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "tests/error_of.h"
#include "tests/sft_fixture.h"
#include "tests/test_util.h"
#include "train/sft.h"
#include "train/sft_inputs.h"
#include "train/trainer_state.h"

namespace tt {
namespace {

namespace fs = std::filesystem;
using testing::expect_final_weights;
using testing::fixture_config;
using testing::read_rows;
using testing::run_fixture_sft;
using testing::write_config;

class SftReference : public ::testing::TestWithParam<std::string> {};

// The first 3 optimizer steps (accumulation 2 x batch 2, padding, assistant masks, clipping, cosine
// warmup) match PyTorch: losses within 1e-4 relative.
TEST_P(SftReference, FirstThreeStepsMatchPyTorch) {
  const std::string fixture = testing::fixture_dir() + "/sft/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  const auto& meta = ref.metadata();
  std::string dir = testing::make_temp_dir("sft-ref");
  const std::string config =
      fixture_config(dir, fixture, meta, "  max_steps: 3", fmt::format("  loss_type: {}\n", GetParam()));
  run_fixture_sft(config, meta);
  std::vector<float> losses(3), norms(3);
  ref.read_f32("losses", losses.data());
  ref.read_f32("grad_norms", norms.data());
  auto rows = read_rows(dir + "/out/metrics.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(rows[i]["loss"].get<double>(), losses[i], 1e-4 * losses[i]) << "step " << i + 1;
    EXPECT_NEAR(rows[i]["grad_norm"].get<double>(), norms[i], 1e-3 * norms[i]) << "step " << i + 1;
  }
  expect_final_weights(ref, dir + "/out");
}

// eval_loss is the training loss (TRL evaluates with the same compute_loss_func; for dft the DFT
// loss, not NLL): with learning_rate 0 the weights stay the start model's, so eval_loss on the first
// effective batch, evaluated as one batch, equals PyTorch's step-1 loss of the fixture.
TEST_P(SftReference, EvalLossIsTheTrainingLoss) {
  const std::string fixture = testing::fixture_dir() + "/sft/" + GetParam();
  SafetensorsFile ref(fixture + "/reference.safetensors");
  const auto& meta = ref.metadata();
  std::string dir = testing::make_temp_dir("sft-eval");
  const int64_t first_batch = std::stoi(meta.at("per_device_train_batch_size")) *
                              std::stoi(meta.at("gradient_accumulation_steps"));
  auto rows = read_rows(fixture + "/examples.jsonl");
  {
    std::ofstream eval(dir + "/eval.jsonl");
    for (int64_t i = 0; i < first_batch; ++i) eval << rows.at(i).dump() << "\n";
  }
  std::string config = write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/examples.jsonl
  eval_path: {}/eval.jsonl
trainer:
  per_device_train_batch_size: 2
  per_device_eval_batch_size: {}
  max_steps: 1
  learning_rate: 0
  loss_type: {}
  logging_steps: 1
  eval_strategy: steps
  eval_steps: 1
  save_steps: 100
  output_dir: {}/out
)", testing::fixture_dir(), fixture, dir, first_batch, GetParam(), dir));
  run_fixture_sft(config, meta);
  std::vector<float> losses(3);
  ref.read_f32("losses", losses.data());
  double eval_loss = -1;
  for (const auto& row : read_rows(dir + "/out/metrics.jsonl"))
    if (row.contains("eval_loss")) eval_loss = row["eval_loss"].get<double>();
  EXPECT_NEAR(eval_loss, losses[0], 1e-4 * losses[0]);
}

INSTANTIATE_TEST_SUITE_P(Losses, SftReference, ::testing::Values("nll", "dft"));

// Over several eval batches, as transformers' evaluation_loop (each batch's token-mean loss repeated
// for each of its rows, then the mean) and TRL's log() (the mean of each evaluation step's accuracy):
// a batch of one row, 10 tokens at loss 1 and 9 right, and one of one row, 2 tokens at loss 3 and
// none right give eval_loss 2 (not the token mean 1.33) and accuracy 0.45 (not 9/12) as two steps.
// As one step of two ranks' batches, the accuracy pools their tokens (9/12, TRL's gather of correct
// and total tokens), or with TRL's Liger path averages the two (0.45).
TEST(SftEvalAverages, BatchesAreAveragedAsTransformersAndTrlDo) {
  EvalAverages a(2, false);
  a.add(0, 10.0, 10, 9, 1);
  a.add(1, 6.0, 2, 0, 1);
  EXPECT_DOUBLE_EQ(a.loss(), 2.0);
  EXPECT_DOUBLE_EQ(a.accuracy(), 0.45);
  EvalAverages rows(2, false);  // a batch of 3 rows weighs 3 times a batch of one
  rows.add(0, 3.0, 3, 3, 3);
  rows.add(1, 5.0, 1, 0, 1);
  EXPECT_DOUBLE_EQ(rows.loss(), (3 * 1.0 + 1 * 5.0) / 4);
  EXPECT_DOUBLE_EQ(rows.accuracy(), 0.5);
  EvalAverages empty(2, false);  // a batch without targets: accuracy 0 counted, no loss
  empty.add(0, 4.0, 2, 2, 1);
  empty.add(1, 0.0, 0, 0, 1);
  EXPECT_DOUBLE_EQ(empty.loss(), 2.0);
  EXPECT_DOUBLE_EQ(empty.accuracy(), 0.5);
  for (bool liger : {false, true}) {
    EvalAverages ranks(1, liger);
    ranks.add(0, 10.0, 10, 9, 1);
    ranks.add(0, 6.0, 2, 0, 1);
    EXPECT_DOUBLE_EQ(ranks.loss(), 2.0);
    EXPECT_DOUBLE_EQ(ranks.accuracy(), liger ? 0.45 : 0.75);
  }
}

// transformers' Trainer runs an epoch's leftover micro-batches as a final shorter step: 6
// micro-batches with accumulation 4 for 2 epochs are 4 steps ({4, 2} per epoch), and the cosine
// schedule spans 4 steps; losses, learning rates and final weights match tests/fixtures/sft/partial.
TEST(SftPartialAccumulation, LastShorterStepOfEachEpochMatchesPyTorch) {
  const std::string fixture = testing::fixture_dir() + "/sft/partial";
  SafetensorsFile ref(fixture + "/reference.safetensors");
  const auto& meta = ref.metadata();
  std::string dir = testing::make_temp_dir("sft-partial");
  const std::string config =
      fixture_config(dir, fixture, meta, fmt::format("  num_train_epochs: {}", meta.at("num_train_epochs")));
  const SftResult result = run_fixture_sft(config, meta);
  const size_t steps = std::stoul(meta.at("total_steps"));
  ASSERT_EQ(steps, 4u);
  EXPECT_EQ(result.steps, 4);
  std::vector<float> losses(steps), norms(steps);
  ref.read_f32("losses", losses.data());
  ref.read_f32("grad_norms", norms.data());
  const auto lrs = nlohmann::json::parse(meta.at("lrs"));
  auto rows = read_rows(dir + "/out/metrics.jsonl");
  ASSERT_EQ(rows.size(), steps);
  for (size_t i = 0; i < steps; ++i) {
    EXPECT_NEAR(rows[i]["loss"].get<double>(), losses[i], 1e-4 * losses[i]) << "step " << i + 1;
    EXPECT_NEAR(rows[i]["grad_norm"].get<double>(), norms[i], 1e-3 * norms[i]) << "step " << i + 1;
    EXPECT_NEAR(rows[i]["learning_rate"].get<double>(), lrs[i].get<double>(), 1e-12) << "step " << i + 1;
  }
  expect_final_weights(ref, dir + "/out");
}

}  // namespace
}  // namespace tt

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

extern char** environ;

namespace tt {
namespace {

std::string resume_config(const std::string& dir, const std::string& out) {
  return write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/sft/nll/examples.jsonl
trainer:
  per_device_train_batch_size: 2
  gradient_accumulation_steps: 2
  num_train_epochs: 12
  learning_rate: 1e-3
  lr_scheduler_type: cosine
  warmup_ratio: 0.1
  weight_decay: 0.01
  neftune_noise_alpha: 5
  max_grad_norm: 1.0
  logging_steps: 1
  save_steps: 3
  save_total_limit: 2
  seed: 7
  output_dir: {}
)", testing::fixture_dir(), testing::fixture_dir(), out));
}

// Starts `tinythink args...` with stdout and stderr going to `output`.
pid_t spawn_tinythink(const std::vector<std::string>& args, const std::string& output = "/dev/null") {
  std::vector<char*> argv;
  std::string binary = TT_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// "" when two safetensors files are byte-identical; else the tensors that differ, each with its
// largest difference and where, so that a failure says how far a resumed run drifted.
std::string weights_difference(const std::string& expected_path, const std::string& actual_path) {
  if (read_file(expected_path) == read_file(actual_path)) return "";
  SafetensorsFile expected(expected_path), actual(actual_path);
  std::string text;
  for (const auto& info : expected.tensors()) {
    const TensorInfo* other = actual.find(info.name);
    if (!other || other->shape != info.shape) {
      text += fmt::format("{}: missing or reshaped; ", info.name);
      continue;
    }
    std::vector<float> x(info.numel()), y(info.numel());
    expected.read_f32(info.name, x.data());
    actual.read_f32(info.name, y.data());
    int64_t differing = 0, worst = 0;
    for (int64_t i = 0; i < info.numel(); ++i)
      if (x[i] != y[i]) {
        if (differing++ == 0 || std::fabs(x[i] - y[i]) > std::fabs(x[worst] - y[worst])) worst = i;
      }
    if (differing > 0)
      text += fmt::format("{}: {} of {} values differ, largest at [{}]: {} vs {}; ", info.name, differing, info.numel(),
                          worst, x[worst], y[worst]);
  }
  return text.empty() ? "the tensors are equal, the files' bytes are not" : text;
}

// The checkpoint-N directories of an output dir (also half-deleted ones), sorted.
std::vector<std::string> checkpoint_names(const std::string& out) {
  std::vector<std::string> names;
  if (!fs::is_directory(out)) return names;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().filename().string().rfind("checkpoint-", 0) == 0) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The highest N of the output dir's checkpoint-N directories, 0 when there is none.
int64_t newest_checkpoint(const std::string& out) {
  int64_t newest = 0;
  for (const auto& name : checkpoint_names(out)) {
    const std::string n = name.substr(std::string("checkpoint-").size());
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) newest = std::max<int64_t>(newest, std::stoll(n));
  }
  return newest;
}

std::string listing(const std::string& out) {
  std::string text;
  if (!fs::is_directory(out)) return "(no output dir)";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) text += n + " ";
  return text;
}

// SIGKILL at a random moment, then --resume: the final weights are bitwise those of an
// uninterrupted run (fp32, CPU). A failure prints each kill (delay, what the output dir held, the
// killed run's log) and the temp dir, which is kept.
TEST(SftResume, KilledRunResumesToBitwiseIdenticalWeights) {
  std::string dir = testing::make_temp_dir("sft-resume");
  std::string cfg_a = resume_config(dir, dir + "/a");
  ASSERT_EQ(testing::run_cli("sft " + cfg_a).exit_code, 0);
  fs::create_directories(dir + "/b");
  std::string cfg_b = resume_config(dir + "/b", dir + "/b/out");
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::string evidence = fmt::format("temp dir {}, kill seed {}\n", dir, seed);
  int kills = 0;
  for (int attempt = 0; attempt < 3 && !fs::exists(dir + "/b/out/model.safetensors"); ++attempt) {
    const std::string log = fmt::format("{}/b/attempt-{}.log", dir, attempt);
    pid_t pid = spawn_tinythink({"sft", cfg_b, "--resume"}, log);
    // wait for a checkpoint newer than those there before (the first attempt: checkpoint-3), then
    // kill at a random point of the rest of the run
    const int64_t before = newest_checkpoint(dir + "/b/out");
    int polls = 0, status = 0;
    bool reaped = false;
    for (; polls < 2000 && newest_checkpoint(dir + "/b/out") <= before; ++polls) {
      if ((reaped = ::waitpid(pid, &status, WNOHANG) == pid)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const int delay_ms = std::uniform_int_distribution<int>(0, 400)(rng);
    if (!reaped) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      kills += ::kill(pid, SIGKILL) == 0;
      ::waitpid(pid, &status, 0);
    }
    const bool finished = WIFEXITED(status);
    std::string tail = read_file(log);
    if (tail.size() > 600) tail = "..." + tail.substr(tail.size() - 600);
    evidence += fmt::format("attempt {}: SIGKILL {} ms after {} polls for a checkpoint after checkpoint-{}{}; output dir then: "
                            "{}\n  log: {}\n",
                            attempt, delay_ms, polls, before, finished ? " (the run had already ended)" : "",
                            listing(dir + "/b/out"), tail);
  }
  EXPECT_GE(kills, 1);
  auto r = testing::run_cli("sft " + cfg_b + " --resume");
  evidence += "final --resume: " + r.output;
  ASSERT_EQ(r.exit_code, 0) << evidence;
  EXPECT_EQ(weights_difference(dir + "/a/model.safetensors", dir + "/b/out/model.safetensors"), "") << evidence;
  // logged history agrees too (one row per step, no duplicates from the killed run)
  auto a = read_rows(dir + "/a/metrics.jsonl"), b = read_rows(dir + "/b/out/metrics.jsonl");
  ASSERT_EQ(a.size(), b.size()) << evidence;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << "row " << i << "\n" << evidence;
  // save_total_limit 2: two checkpoints left, the last two
  EXPECT_EQ(checkpoint_names(dir + "/b/out"), (std::vector<std::string>{"checkpoint-33", "checkpoint-36"})) << evidence;
}

// --resume when the newest checkpoint folder is not a complete checkpoint (no trainer_state/state.json:
// copied by hand, half deleted) used to start from an older one or from scratch and train over it,
// exit 0: it is refused as transformers refuses it, and the folder is left as it was. A checkpoint of
// another model with the same parameter count (another vocabulary, tied or not) is refused too.
TEST(SftResume, AnIncompleteNewestCheckpointOrAnotherModelsIsRefused) {
  std::string dir = testing::make_temp_dir("sft-incomplete");
  std::string cfg = resume_config(dir, dir + "/out");
  ASSERT_EQ(testing::run_cli("sft " + cfg + " --set trainer.num_train_epochs=2 --set trainer.save_total_limit=0").exit_code, 0);
  const int64_t newest = newest_checkpoint(dir + "/out");
  ASSERT_GE(newest, 3);
  const std::string last = fmt::format("{}/out/checkpoint-{}", dir, newest);
  fs::remove(last + "/trainer_state/state.json");
  std::ofstream(last + "/notes.txt") << "mine\n";
  const auto r = testing::run_cli("sft " + cfg + " --set trainer.num_train_epochs=3 --resume");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(fmt::format("checkpoint-{} has no trainer_state/state.json, so it is not a complete "
                                      "checkpoint",
                                      newest)),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(last + "/notes.txt"), "mine\n");
  // state.json's fields are checked by type (they gave nlohmann's tagged messages or were truncated)
  {
    const std::string first = dir + "/out/checkpoint-3";
    nlohmann::json state = nlohmann::json::parse(read_file(first + "/trainer_state/state.json"));
    state["global_step"] = 2.5;
    write_file_atomic(first + "/trainer_state/state.json", state.dump());
    Model model = load_model(testing::fixture_dir() + "/parity/tiny_llama4");
    AdamWState moments;
    EXPECT_EQ(tt::testing::error_of([&] { load_checkpoint(first, model, moments); }),
              first + "/trainer_state/state.json: 'global_step' must be an integer, got 2.5");
    // a step beyond int64 (it read as -1), and another checkpoint's step (a huge one "finished" the run)
    write_file_atomic(first + "/trainer_state/state.json",
                      std::regex_replace(state.dump(), std::regex("\"global_step\":2.5"), "\"global_step\":18446744073709551615"));
    EXPECT_EQ(tt::testing::error_of([&] { load_checkpoint(first, model, moments); }),
              first + "/trainer_state/state.json: 'global_step' is out of range, got 18446744073709551615");
    state["global_step"] = int64_t{1000000000000000000};
    write_file_atomic(first + "/trainer_state/state.json", state.dump());
    EXPECT_EQ(tt::testing::error_of([&] { load_checkpoint(first, model, moments); }),
              first + "/trainer_state/state.json: global_step 1000000000000000000 is not the step of its folder "
                      "(checkpoint-3): the state was written for another checkpoint");
    // a folder whose step does not fit: one line naming it (it was "stoll")
    fs::create_directories(dir + "/out/checkpoint-99999999999999999999");
    const auto huge = testing::run_cli("sft " + cfg + " --set trainer.num_train_epochs=3 --resume");
    EXPECT_NE(huge.output.find(dir + "/out/checkpoint-99999999999999999999: the step in the folder's name is out of "
                               "range"),
              std::string::npos)
        << huge.output;
    fs::remove(dir + "/out/checkpoint-99999999999999999999");
  }

  ModelConfig untied = preset_config("tiny-llama4"), tied = untied;
  untied.tie_word_embeddings = false;
  tied.tie_word_embeddings = true;
  tied.vocab_size = 2 * untied.vocab_size;  // one table of 2V rows: the count of two tables of V rows
  Model a = init_model(untied, 1), b = init_model(tied, 1);
  ASSERT_EQ(a.layout.total, b.layout.total);
  save_model(a, dir + "/other");
  AdamWState adam;
  try {
    load_checkpoint(dir + "/other", b, adam);
    ADD_FAILURE() << "another model's checkpoint loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the checkpoint's tensors differ from the run's model"), std::string::npos)
        << e.what();
  }
}

// A kill while save_total_limit removes the oldest checkpoint, after the last step's checkpoint is
// written, used to leave a half-deleted checkpoint-30 (config.json, no weights: what a SIGKILL at
// the last unlink of that removal leaves) that no later save removed, since the resumed run is
// already at its last step. Likewise a kill just before the removal leaves a whole third
// checkpoint. --resume now applies save_total_limit and finishes the run bitwise.
TEST(SftResume, KillWhileRemovingTheOldestCheckpointLeavesSaveTotalLimitCheckpoints) {
  std::string dir = testing::make_temp_dir("sft-prune");
  std::string cfg = resume_config(dir, dir + "/out");
  ASSERT_EQ(testing::run_cli("sft " + cfg).exit_code, 0);
  const std::string out = dir + "/out";
  ASSERT_EQ(checkpoint_names(out), (std::vector<std::string>{"checkpoint-33", "checkpoint-36"}));
  const std::string weights = read_file(out + "/model.safetensors");
  for (const bool half_deleted : {true, false}) {
    SCOPED_TRACE(half_deleted ? "a half-deleted checkpoint-30" : "a whole checkpoint-30");
    // the output dir as the kill left it: no final model yet, checkpoint-30 still there
    for (const char* name : {"model.safetensors", "config.json", "generation_config.json"}) fs::remove(out + "/" + name);
    fs::remove_all(out + "/checkpoint-30");
    fs::copy(out + "/checkpoint-33", out + "/checkpoint-30", fs::copy_options::recursive);
    if (half_deleted) {
      fs::remove_all(out + "/checkpoint-30/trainer_state");
      fs::remove(out + "/checkpoint-30/model.safetensors");
    }
    auto r = testing::run_cli("sft " + cfg + " --resume");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("resumed from " + out + "/checkpoint-36"), std::string::npos) << r.output;
    EXPECT_EQ(checkpoint_names(out), (std::vector<std::string>{"checkpoint-33", "checkpoint-36"})) << listing(out);
    EXPECT_TRUE(read_file(out + "/model.safetensors") == weights) << "the final weights changed";
  }
}

// A SIGKILL mid-save leaves the atomic writer's temp files (.metrics.jsonl.tmp.XXXXXX, the final
// model's) and checkpoint-N.tmp-PID directories in output_dir; they used to stay there for good. A
// --resume, or a fresh run into the directory, removes them: only names of those schemes.
TEST(SftResume, StaleTempFilesOfAKilledRunAreRemoved) {
  std::string dir = testing::make_temp_dir("sft-stale-temps");
  std::string cfg = resume_config(dir, dir + "/out");
  ASSERT_EQ(testing::run_cli("sft " + cfg).exit_code, 0);
  const std::string out = dir + "/out";
  const std::vector<std::string> stale = {"/.metrics.jsonl.tmp.Ab3xYz", "/.model.safetensors.tmp.q1W2e3",
                                          "/checkpoint-36.tmp-4242/model.safetensors"};
  const std::vector<std::string> users = {"/notes.tmp.txt", "/.metrics.jsonl.keep"};
  for (const bool resume : {true, false}) {
    SCOPED_TRACE(resume ? "--resume" : "a fresh run");
    for (const auto& name : stale) {
      fs::create_directories(fs::path(out + name).parent_path());
      std::ofstream(out + name) << "half";
    }
    for (const auto& name : users) std::ofstream(out + name) << "mine";
    auto r = testing::run_cli("sft " + cfg + (resume ? " --resume" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const auto& name : stale) EXPECT_FALSE(fs::exists(out + name)) << name << "\n" << listing(out);
    EXPECT_FALSE(fs::exists(out + "/checkpoint-36.tmp-4242")) << listing(out);
    for (const auto& name : users) EXPECT_EQ(read_file(out + name), "mine") << name;
  }
}

// SIGTERM (a Slurm preemption, `kill`; SIGINT alike) mid-run: the step finishes, a checkpoint of it
// is written, the run exits non-zero saying how to resume; --resume then ends with the weights of
// an uninterrupted run, bitwise.
TEST(SftResume, SignalWritesACheckpointAndResumes) {
  std::string dir = testing::make_temp_dir("sft-signal");
  const std::string longer = " --set trainer.num_train_epochs=40 --set trainer.save_steps=1000";
  std::string cfg_a = resume_config(dir, dir + "/a");
  ASSERT_EQ(testing::run_cli("sft " + cfg_a + longer).exit_code, 0);
  fs::create_directories(dir + "/b");
  std::string cfg_b = resume_config(dir + "/b", dir + "/b/out");
  pid_t pid = spawn_tinythink({"sft", cfg_b, "--set", "trainer.num_train_epochs=40", "--set", "trainer.save_steps=1000"},
                              dir + "/b/log.txt");
  for (int i = 0; i < 4000 && !fs::exists(dir + "/b/out/metrics.jsonl"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::string log = read_file(dir + "/b/log.txt");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  ASSERT_EQ(WEXITSTATUS(status), 1) << "the run ended before the signal arrived? " << log;
  EXPECT_NE(log.find("stopped by signal 15"), std::string::npos) << log;
  EXPECT_NE(log.find("rerun with --resume"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir + "/b/out/model.safetensors"));
  int checkpoints = 0;
  for (const auto& e : fs::directory_iterator(dir + "/b/out")) checkpoints += e.path().filename().string().rfind("checkpoint-", 0) == 0;
  EXPECT_EQ(checkpoints, 1);  // save_steps 1000: only the one the signal asked for
  auto r = testing::run_cli("sft " + cfg_b + longer + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir + "/a/model.safetensors"), read_file(dir + "/b/out/model.safetensors"));
  EXPECT_EQ(read_rows(dir + "/a/metrics.jsonl").size(), read_rows(dir + "/b/out/metrics.jsonl").size());
}

// packing_strategy through the CLI: 4 examples of 30 tokens at max_length 16. bfd truncates them (4
// rows of 16); bfd-requeue packs each one's 16 + 14 as two documents (8 fragments, 8 rows, every
// token trained on); wrapped cuts the 120 tokens every 16 (8 pieces); an unknown strategy names the key.
TEST(SftPacking, StrategiesTruncateSplitOrWrapLongExamples) {
  const std::string dir = testing::make_temp_dir("sft-packing");
  {
    std::ofstream data(dir + "/long.jsonl");
    for (int e = 0; e < 4; ++e) {
      std::string tokens;
      for (int t = 0; t < 30; ++t) tokens += fmt::format("{}{}", t ? "," : "", 3 + (e * 30 + t) % 200);
      data << "{\"tokens\": [" << tokens << "]}\n";
    }
  }
  const auto run = [&](const std::string& strategy) {
    write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/long.jsonl
trainer:
  per_device_train_batch_size: 2
  max_steps: 1
  max_length: 16
  packing: true
  packing_strategy: {}
  bf16: false
  save_strategy: "no"
  output_dir: {}/out-{}
)", testing::fixture_dir(), dir, strategy, dir, strategy));
    return testing::run_cli("sft " + dir + "/config.yaml");
  };
  const std::map<std::string, std::string> expected = {{"bfd", "4 rows (4 examples, packed bfd)"},
                                                       {"bfd-requeue", "8 rows (4 examples, packed bfd-requeue)"},
                                                       {"wrapped", "8 rows (4 examples, packed wrapped)"}};
  for (const auto& [strategy, line] : expected) {
    const auto r = run(strategy);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(line), std::string::npos) << strategy << ": " << r.output;
  }
  const auto bad = run("greedy");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("trainer.packing_strategy"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("bfd-requeue"), std::string::npos) << bad.output;
}

// Two runs that used to pass without a word: documents longer than the model's context (128 for the
// fixture model) are trained on with a note naming max_position_embeddings, and a --resume from a
// checkpoint at or past max_steps says that nothing is left to train.
TEST(SftNotes, PositionsPastTheContextAndAResumePastMaxSteps) {
  const std::string dir = testing::make_temp_dir("sft-notes");
  {
    std::ofstream data(dir + "/long.jsonl");
    std::string tokens;
    for (int t = 0; t < 140; ++t) tokens += fmt::format("{}{}", t ? "," : "", 3 + t);
    data << "{\"tokens\": [" << tokens << "]}\n{\"tokens\": [5, 6, 7, 8]}\n";
  }
  const auto config = [&](int max_steps, int max_length) {
    return write_config(dir, fmt::format(R"(model_name: {}/parity/tiny_llama4
dataset:
  path: {}/long.jsonl
trainer:
  per_device_train_batch_size: 1
  max_steps: {}
  max_length: {}
  save_steps: 1
  bf16: false
  output_dir: {}/out
)", testing::fixture_dir(), dir, max_steps, max_length, dir));
  };
  auto r = testing::run_cli("sft " + config(2, 150));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sequences of up to 140 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("max_position_embeddings 128"), std::string::npos) << r.output;
  r = testing::run_cli("sft " + config(1, 100) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("max_position_embeddings"), std::string::npos) << "truncated to 100: " << r.output;
  EXPECT_NE(r.output.find("at step 2, at or past this run's 1 steps: nothing is left to train"), std::string::npos)
      << r.output;
  // the checkpoint was written at max_length 150: a resume at 100 trains on other rows, and says so
  EXPECT_NE(r.output.find("under another data layout (max_length 150 -> 100)"), std::string::npos) << r.output;
  r = testing::run_cli("sft " + config(3, 150) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("another data layout"), std::string::npos) << r.output;
}

// The base model's generation_config.json (sampling defaults, EOS ids) is carried into every
// checkpoint and the trained model, as transformers' save_pretrained writes the model.generation_config
// that from_pretrained read; a base model without one gets the config's ids.
TEST(SftOutputs, TheBaseModelsGenerationConfigIsKept) {
  const std::string dir = testing::make_temp_dir("sft-generation-config");
  const std::string base = dir + "/base";
  fs::copy(testing::fixture_dir() + "/parity/tiny_llama4", base);
  const nlohmann::json generation = {{"bos_token_id", 1}, {"eos_token_id", {2, 7}}, {"do_sample", true},
                                     {"temperature", 0.6}, {"top_p", 0.95}};
  write_json_file(base + "/generation_config.json", generation);
  std::ofstream(dir + "/data.jsonl") << "{\"tokens\": [5, 6, 7, 8]}\n{\"tokens\": [9, 10, 11]}\n";
  const std::string config = write_config(dir, fmt::format(R"(model_name: {}
dataset:
  path: {}/data.jsonl
trainer:
  per_device_train_batch_size: 1
  max_steps: 1
  save_steps: 1
  bf16: false
  output_dir: {}/out
)", base, dir, dir));
  auto r = testing::run_cli("sft " + config);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json_file(dir + "/out/generation_config.json"), generation);
  EXPECT_EQ(read_json_file(dir + "/out/checkpoint-1/generation_config.json"), generation);
  write_json_file(base + "/generation_config.json", nlohmann::json::array());
  r = testing::run_cli("sft " + config + " --set trainer.output_dir=" + dir + "/out2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(base + "/generation_config.json: expected a JSON object"), std::string::npos) << r.output;
  fs::remove(base + "/generation_config.json");
  r = testing::run_cli("sft " + config + " --set trainer.output_dir=" + dir + "/out3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(read_json_file(dir + "/out3/generation_config.json").value("_from_model_config", false));
  fs::remove_all(dir);
}

// Evaluation on its own interval, as transformers' _maybe_log_save_evaluate: eval_steps 3 with
// logging_steps 2 evaluates after steps 3 and 6 (it used to wait for a logging step: only 6), and
// eval_strategy/save_strategy "epoch" act at each epoch's end.
TEST(SftIntervals, EvaluationAndSavingKeepTheirOwnIntervals) {
  const std::string dir = testing::make_temp_dir("sft-intervals");
  const auto run = [&](const std::string& name, const std::string& lines) {
    write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
  test_size: 0.25
trainer:
  per_device_train_batch_size: 1
  bf16: false
  output_dir: {1}/{2}
{3})", testing::fixture_dir(), dir, name, lines));
    const auto r = testing::run_cli("sft " + dir + "/config.yaml");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<int64_t> evals, logs;
    for (const auto& row : read_rows(dir + "/" + name + "/metrics.jsonl"))
      (row.contains("eval_loss") ? evals : logs).push_back(row["step"].get<int64_t>());
    return std::pair{evals, logs};
  };
  const auto [evals, logs] = run("steps", "  max_steps: 6\n  logging_steps: 2\n  eval_strategy: steps\n  eval_steps: 3\n");
  EXPECT_EQ(evals, (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(logs, (std::vector<int64_t>{2, 4, 6}));
  // 2 epochs of the 75% kept for training, one row per step
  const auto [epoch_evals, epoch_logs] =
      run("epoch", "  num_train_epochs: 2\n  logging_strategy: epoch\n  eval_strategy: epoch\n  save_strategy: epoch\n");
  ASSERT_EQ(epoch_evals.size(), 2u);
  EXPECT_EQ(epoch_logs, epoch_evals);
  EXPECT_EQ(epoch_evals[1], 2 * epoch_evals[0]);
  EXPECT_TRUE(fs::exists(fmt::format("{}/epoch/checkpoint-{}", dir, epoch_evals[0])));
}

// TRL's padding_free: a micro-batch as one flat row changes no loss (positions restart per example,
// attention stays within each), but NEFTune's L becomes the micro-batch's token count, as TRL's
// flattening collator gives it, so with NEFTune the noise (and the loss) differ.
TEST(SftPaddingFree, SameLossWithoutNeftuneOtherNoiseWithIt) {
  const std::string dir = testing::make_temp_dir("sft-padding-free");
  const auto losses = [&](const std::string& name, bool padding_free, double neftune) {
    write_config(dir, fmt::format(R"(model_name: {0}/parity/tiny_llama4
dataset:
  path: {0}/sft/nll/examples.jsonl
trainer:
  per_device_train_batch_size: 4
  max_steps: 2
  logging_steps: 1
  learning_rate: 1e-3
  bf16: false
  save_strategy: "no"
  padding_free: {1}
  neftune_noise_alpha: {2}
  output_dir: {3}/{4}
)", testing::fixture_dir(), padding_free ? "true" : "false", neftune, dir, name));
    const auto r = testing::run_cli("sft " + dir + "/config.yaml");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<double> out;
    for (const auto& row : read_rows(dir + "/" + name + "/metrics.jsonl")) out.push_back(row["loss"].get<double>());
    return out;
  };
  const auto padded = losses("padded", false, 0), flat = losses("flat", true, 0);
  ASSERT_EQ(padded.size(), 2u);
  ASSERT_EQ(flat.size(), 2u);
  for (size_t i = 0; i < padded.size(); ++i) EXPECT_NEAR(flat[i], padded[i], 1e-5 * padded[i]) << "step " << i + 1;
  const auto padded_noise = losses("padded-noise", false, 5), flat_noise = losses("flat-noise", true, 5);
  EXPECT_GT(std::fabs(flat_noise[0] - padded_noise[0]), 1e-6) << "the same NEFTune noise with and without padding_free";
}

}  // namespace
}  // namespace tt
