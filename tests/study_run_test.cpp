// Running studies: a tiny init -> sft -> pairs -> dpo pipeline; completed jobs are skipped while
// their inputs are unchanged and re-run (with everything downstream) when a config changes; a run
// killed mid-stage resumes from its checkpoint and ends with the same numbers as an uninterrupted one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "study/study.h"
#include "tests/study_test_util.h"
#include "tests/test_util.h"

namespace tt::study {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::string dir;
  std::string study_path;
};

// The pipeline; `sft_steps` sets its length, `dpo_beta` and `sft_lr` let tests change configs.
std::string pipeline_yaml(const std::string& dir, int sft_steps, const std::string& sft_lr = "1e-3",
                          const std::string& dpo_beta = "0.1", const std::string& extra = "") {
  return R"(
name: tiny
output_dir: )" + dir + R"(/out
stages:
  - name: init
    kind: init
    config: {arch: tiny-llama4, seed: 3, tokenizer: )" + dir + R"(/tokenizer, model: {vocab_size: 260}}
  - name: sft
    kind: sft
    from: init
    config:
      dataset: {path: )" + dir + R"(/tokens.jsonl}
      trainer: {per_device_train_batch_size: 4, max_steps: )" + std::to_string(sft_steps) + R"(, learning_rate: )" +
         sft_lr + R"(,
                logging_steps: 5, save_steps: 10, seed: 1, max_length: 64}
  - name: pairs
    kind: pairs
    from: sft
    config: {prompts: )" + dir + R"(/prompts.jsonl, k: 4, max_new_tokens: 6, temperature: 1.0, precision: fp32}
  - name: dpo
    kind: dpo
    from: sft
    config:
      dataset: {path: )" + dir + R"(/pairs.jsonl}
      trainer: {loss_type: sigmoid, beta: )" + dpo_beta + R"(, per_device_train_batch_size: 2, max_steps: 6,
                learning_rate: 1e-3, logging_steps: 1, save_steps: 3, seed: 1}
)" + extra;
}

// Evaluation of two runs on a few IFEval prompts (../shared/data): the first `limit`, or those
// `selection` names ("limit: 3", "samples: {ifeval: [4, 1]}").
std::string eval_stage(const std::string& selection);
std::string eval_stage(int limit) { return eval_stage("limit: " + std::to_string(limit)); }
std::string eval_stage(const std::string& selection) {
  return R"(  - name: eval
    kind: eval
    runs: [init, dpo]
    config: {tasks: [ifeval], )" + selection + R"(, apply_chat_template: true, precision: fp32,
             system_instruction: "Be brief.",
             data_root: )" + testing::shared_dir() + R"(/data, gen_kwargs: {max_gen_toks: 8, temperature: 0}}
)";
}

Fixture make_fixture(const std::string& tag, int sft_steps) {
  Fixture f;
  f.dir = testing::make_temp_dir(tag);
  fs::create_directories(f.dir + "/tokenizer");
  testing::write_tiny_chat_tokenizer(f.dir + "/tokenizer");
  testing::write_token_rows(f.dir + "/tokens.jsonl", 32, 24, 5);
  testing::write_token_pairs(f.dir + "/pairs.jsonl", 8, 6);
  std::ofstream(f.dir + "/prompts.jsonl") << "{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\", \"answer\": \"2\"}\n";
  f.study_path = f.dir + "/study.yaml";
  std::ofstream(f.study_path) << pipeline_yaml(f.dir, sft_steps);
  return f;
}

RunSummary run(const std::string& yaml, const std::string& source, RunOptions options = {}) {
  log_quiet() = true;
  try {
    RunSummary s = run_study(plan_study(parse_study(yaml, source, ".")), options);
    log_quiet() = false;
    return s;
  } catch (...) {
    log_quiet() = false;
    throw;
  }
}

TEST(StudyRun, WritesTheLayoutAndSkipsWhatIsDone) {
  Fixture f = make_fixture("study-run", 20);
  const std::string yaml = pipeline_yaml(f.dir, 20);
  RunSummary first = run(yaml, f.study_path);
  EXPECT_EQ(first.ran_jobs, (std::vector<std::string>{"init", "sft", "pairs", "dpo"}));
  const std::string out = f.dir + "/out";
  // study.json and run.json as the report reads them
  nlohmann::json study = read_json_file(out + "/study.json");
  EXPECT_EQ(study["name"], "tiny");
  EXPECT_EQ(study["runs"], nlohmann::json({"init", "sft", "pairs", "dpo"}));
  nlohmann::json dpo = read_json_file(out + "/dpo/run.json");
  EXPECT_EQ(dpo["kind"], "dpo");
  EXPECT_EQ(dpo["parent"], "sft");
  EXPECT_TRUE(dpo["sweep"].is_null());
  EXPECT_EQ(dpo["params"]["beta"], 0.1);
  EXPECT_EQ(read_json_file(out + "/init/run.json")["parent"], nullptr);
  for (const char* f2 : {"/sft/model.safetensors", "/sft/metrics.jsonl", "/sft/config.yaml", "/dpo/model.safetensors",
                         "/pairs/pairs.jsonl", "/pairs/pairs_summary.json", "/init/tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(out + f2)) << f2;
  // the init run took its special tokens from the tokenizer
  EXPECT_EQ(read_json_file(out + "/init/generation_config.json")["eos_token_id"], 259);

  // Unchanged: nothing runs, markers stay as they were.
  const auto marker_time = fs::last_write_time(out + "/sft/.done");
  RunSummary again = run(yaml, f.study_path);
  EXPECT_EQ(again.ran, 0);
  EXPECT_EQ(again.skipped, 4);
  EXPECT_EQ(fs::last_write_time(out + "/sft/.done"), marker_time);

  // A DPO config change re-runs DPO only.
  RunSummary beta = run(pipeline_yaml(f.dir, 20, "1e-3", "0.2"), f.study_path);
  EXPECT_EQ(beta.ran_jobs, (std::vector<std::string>{"dpo"}));
  EXPECT_EQ(read_json_file(out + "/dpo/run.json")["params"]["beta"], 0.2);

  // An SFT change re-runs SFT and everything that starts from it; init is kept.
  const auto cache_files = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out + "/pairs/response_cache")) names.push_back(e.path().filename());
    return names;
  };
  const std::vector<std::string> before = cache_files();
  ASSERT_EQ(before.size(), 1u);  // the pairs stage's samples, kept for a rerun
  RunSummary lr = run(pipeline_yaml(f.dir, 20, "2e-3", "0.2"), f.study_path);
  EXPECT_EQ(lr.ran_jobs, (std::vector<std::string>{"sft", "pairs", "dpo"}));
  const std::vector<std::string> after = cache_files();  // the retrained model's, the old one's removed
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after, before);

  // A changed input file re-runs its consumer.
  testing::write_token_pairs(f.dir + "/pairs.jsonl", 8, 99);
  RunSummary data = run(pipeline_yaml(f.dir, 20, "2e-3", "0.2"), f.study_path);
  EXPECT_EQ(data.ran_jobs, (std::vector<std::string>{"dpo"}));

  // An eval stage evaluates into <run>/eval; the runs it reads are not touched.
  const std::string with_eval = pipeline_yaml(f.dir, 20, "2e-3", "0.2", eval_stage(2));
  RunSummary eval = run(with_eval, f.study_path);
  EXPECT_EQ(eval.ran_jobs, (std::vector<std::string>{"eval:init", "eval:dpo"}));
  nlohmann::json results = read_json_file(out + "/dpo/eval/results.json");
  EXPECT_TRUE(results["results"].contains("ifeval")) << results.dump();
  EXPECT_EQ(results["n-samples"]["ifeval"]["effective"], 2);
  EXPECT_TRUE(fs::exists(out + "/init/eval/samples_ifeval.jsonl"));
  EXPECT_EQ(results["system_instruction"], "Be brief.");  // the stage's lm-eval prompt keys reach the evaluation
  EXPECT_EQ(results["fewshot_as_multiturn"], true);
  EXPECT_EQ(run(with_eval, f.study_path).ran, 0);
  // another limit re-runs the evaluations only, taking the documents they share from the eval's
  // response cache, which the rerun keeps
  EXPECT_EQ(run(pipeline_yaml(f.dir, 20, "2e-3", "0.2", eval_stage(3)), f.study_path).ran_jobs,
            (std::vector<std::string>{"eval:init", "eval:dpo"}));
  results = read_json_file(out + "/dpo/eval/results.json");
  EXPECT_EQ(results["n-samples"]["ifeval"]["effective"], 3);
  EXPECT_EQ(results["tinythink"]["tasks"]["ifeval"]["cached_requests"], 2);
  EXPECT_EQ(results["config"]["use_cache"], out + "/dpo/eval/response_cache");
  // samples (lm-eval's) chooses documents; the one the limit-3 run evaluated comes from the cache
  EXPECT_EQ(run(pipeline_yaml(f.dir, 20, "2e-3", "0.2", eval_stage("samples: {ifeval: [4, 1]}")), f.study_path).ran, 2);
  results = read_json_file(out + "/dpo/eval/results.json");
  EXPECT_EQ(results["n-samples"]["ifeval"]["effective"], 2);
  EXPECT_EQ(results["tinythink"]["tasks"]["ifeval"]["cached_requests"], 1);
  for (const auto& [selection, message] : std::vector<std::pair<std::string, std::string>>{
           {"samples: {ifeval: [x]}", "samples.ifeval: 'x' is not a document id"},
           {"samples: {ifeval: [1]}, limit: 2", "give limit or samples, not both"},
           {"samples: {ifeval: [100000]}", "document 100000 does not exist"}}) {
    try {
      run(pipeline_yaml(f.dir, 20, "2e-3", "0.2", eval_stage(selection)), f.study_path);
      ADD_FAILURE() << selection;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }

  // --only: one stage, after its dependencies.
  RunSummary only = run(pipeline_yaml(f.dir, 20, "2e-3", "0.3"), f.study_path, {.only = "dpo"});
  EXPECT_EQ(only.ran_jobs, (std::vector<std::string>{"dpo"}));
  try {
    run(pipeline_yaml(f.dir, 20, "3e-3", "0.3"), f.study_path, {.only = "dpo"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dpo: needs 'sft', which has not completed"), std::string::npos) << e.what();
  }
}

TEST(StudyRun, BadTrainingConfigFailsBeforeAnythingRuns) {
  Fixture f = make_fixture("study-run-bad", 20);
  std::string yaml = pipeline_yaml(f.dir, 20);
  yaml.replace(yaml.find("loss_type: sigmoid"), 18, "loss_type: sigmoidd");
  try {
    run(yaml, f.study_path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stage 'dpo' run 'dpo'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sigmoidd"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(f.dir + "/out/init"));
}

std::vector<double> losses(const std::string& metrics) {
  std::vector<double> out;
  read_jsonl(metrics, [&](int64_t, const nlohmann::json& row) {
    if (row.contains("loss")) out.push_back(row["loss"].get<double>());
  });
  return out;
}

// `tinythink run STUDY` in a child process, its stderr into `log`; the child's pid (-1: no fork).
pid_t spawn_study_run(const std::string& study, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* l = std::freopen(log.c_str(), "w", stderr);
    (void)l;
    execl(TT_BINARY, TT_BINARY, "run", study.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Kills `tinythink run` once the SFT stage has written a checkpoint, reruns it, and compares with
// an uninterrupted run.
TEST(StudyRun, KilledMidStageResumesWithTheSameResult) {
  Fixture f = make_fixture("study-kill", 150);
  const std::string out = f.dir + "/out";
  const std::string log = f.dir + "/killed.log";
  pid_t pid = spawn_study_run(f.study_path, log);
  ASSERT_GE(pid, 0);
  bool killed_mid_stage = false;
  for (int i = 0; i < 60000; ++i) {  // up to 2 minutes
    if (fs::exists(out + "/sft/checkpoint-10") || fs::exists(out + "/sft/checkpoint-20")) {
      kill(pid, SIGKILL);
      killed_mid_stage = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (pid > 0) waitpid(pid, nullptr, 0);
  ASSERT_TRUE(killed_mid_stage) << read_file(log);
  ASSERT_TRUE(fs::exists(out + "/init/.done"));
  ASSERT_FALSE(fs::exists(out + "/sft/.done")) << "SFT finished before the kill: make it longer";
  const std::string init_marker = read_file(out + "/init/.done");
  const auto init_time = fs::last_write_time(out + "/init/model.safetensors");

  auto rerun = testing::run_cli("run " + f.study_path);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("init: done, skipped"), std::string::npos) << rerun.output;
  EXPECT_NE(rerun.output.find("sft (sft from init): resuming"), std::string::npos) << rerun.output;
  EXPECT_EQ(read_file(out + "/init/.done"), init_marker);
  EXPECT_EQ(fs::last_write_time(out + "/init/model.safetensors"), init_time);

  // The same study without interruption, elsewhere.
  auto clean = testing::run_cli("run " + f.study_path + " --out " + f.dir + "/clean");
  ASSERT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_EQ(losses(out + "/sft/metrics.jsonl"), losses(f.dir + "/clean/sft/metrics.jsonl"));
  EXPECT_EQ(losses(out + "/dpo/metrics.jsonl"), losses(f.dir + "/clean/dpo/metrics.jsonl"));
  EXPECT_EQ(read_file(out + "/sft/model.safetensors"), read_file(f.dir + "/clean/sft/model.safetensors"));
  EXPECT_EQ(read_file(out + "/dpo/model.safetensors"), read_file(f.dir + "/clean/dpo/model.safetensors"));
  EXPECT_EQ(read_file(out + "/pairs/pairs.jsonl"), read_file(f.dir + "/clean/pairs/pairs.jsonl"));
  // and a third run does nothing
  auto third = testing::run_cli("run " + f.study_path);
  EXPECT_NE(third.output.find("0 jobs run, 4 skipped"), std::string::npos) << third.output;
}

// SIGTERM during a training stage writes a checkpoint and stops with the study's own advice: the
// trainer's "rerun with --resume" names a flag `tinythink run` does not have.
TEST(StudyRun, ASignalStopsAStageWithTheStudysAdvice) {
  Fixture f = make_fixture("study-term", 150);
  const std::string out = f.dir + "/out";
  const std::string log = f.dir + "/stopped.log";
  pid_t pid = spawn_study_run(f.study_path, log);
  ASSERT_GE(pid, 0);
  for (int i = 0; i < 60000 && !fs::exists(out + "/sft/metrics.jsonl"); ++i)  // up to 2 minutes
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string text = read_file(log);
  ASSERT_TRUE(WIFEXITED(status)) << text;
  ASSERT_EQ(WEXITSTATUS(status), 1) << "the stage ended before the signal arrived? " << text;
  EXPECT_NE(text.find("run 'sft': sft: stopped by signal 15 after step"), std::string::npos) << text;
  EXPECT_NE(text.find("run the study again (the same `tinythink run` command) to continue"), std::string::npos) << text;
  EXPECT_EQ(text.find("--resume"), std::string::npos) << text;
  auto rerun = testing::run_cli("run " + f.study_path);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("sft (sft from init): resuming"), std::string::npos) << rerun.output;
}

}  // namespace
}  // namespace tt::study
