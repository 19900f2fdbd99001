// Study files: parsing, sweep expansion, references and dependency order, and the errors for bad
// files (unknown keys, cycles, missing stages) — no training here.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "study/demo.h"
#include "study/stages.h"
#include "study/study.h"
#include "study/yaml_util.h"
#include "tests/test_util.h"

namespace tt::study {
namespace {

namespace fs = std::filesystem;

Study parse(const std::string& text) { return parse_study(text, "study.yaml", "."); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::string> job_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& j : plan.jobs) names.push_back(j.name);
  return names;
}

constexpr const char* kPipeline = R"(
name: t
output_dir: /tmp/unused-study-out
stages:
  - name: report
    kind: report
  - name: eval
    kind: eval
    runs: [sft, dpo]
    config: {tasks: [gsm8k_boxed], limit: 5}
  - name: dpo
    kind: dpo
    from: sft_loss_typenll_learning_rate2e-5
    config: {dataset: {path: "${pairs}/pairs.jsonl"}, trainer: {loss_type: sigmoid}}
    sweep: {beta: [0.5, 1, 2], learning_rate: [1e-6, 3e-6]}
  - name: pairs
    kind: pairs
    from: sft_loss_typenll_learning_rate2e-5
    config: {prompts: prompts.jsonl, k: 4}
  - name: sft
    kind: sft
    config: {model_name: some/model, dataset: {path: sft.jsonl}}
    sweep: {loss_type: [nll, dft], learning_rate: [2e-5, 5e-5]}
)";

// A DPO run's kind names its loss; TRL's list of losses (MPO) names them all.
TEST(StudyPlan, RunKindNamesTheDpoLosses) {
  Job job;
  job.kind = StageKind::Dpo;
  job.config = YAML::Load("trainer: {loss_type: apo_zero}");
  EXPECT_EQ(run_kind(job), "apo_zero");
  job.config = YAML::Load("trainer: {loss_type: [sigmoid, bco_pair, sft]}");
  EXPECT_EQ(run_kind(job), "sigmoid+bco_pair+sft");
  job.config = YAML::Load("trainer: {beta: 0.1}");
  EXPECT_EQ(run_kind(job), "dpo");
}

TEST(StudyPlan, SweepsExpandToTheCartesianProductInDependencyOrder) {
  Plan plan = plan_study(parse(kPipeline));
  std::vector<std::string> expected = {
      "sft_loss_typenll_learning_rate2e-5", "sft_loss_typenll_learning_rate5e-5", "sft_loss_typedft_learning_rate2e-5",
      "sft_loss_typedft_learning_rate5e-5", "pairs",
      "dpo_beta0.5_learning_rate1e-6",      "dpo_beta0.5_learning_rate3e-6",      "dpo_beta1_learning_rate1e-6",
      "dpo_beta1_learning_rate3e-6",        "dpo_beta2_learning_rate1e-6",        "dpo_beta2_learning_rate3e-6"};
  std::vector<std::string> names = job_names(plan);
  ASSERT_GE(names.size(), expected.size());
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + expected.size()), expected);
  // eval covers the 4 sft runs and 6 dpo runs, then the report
  EXPECT_EQ(names.size(), expected.size() + 10 + 1);
  EXPECT_EQ(names.back(), "report");
  EXPECT_EQ(names[expected.size()], "eval:sft_loss_typenll_learning_rate2e-5");

  const Job* dpo = plan.find("dpo_beta2_learning_rate3e-6");
  ASSERT_NE(dpo, nullptr);
  EXPECT_EQ(dpo->parent, "sft_loss_typenll_learning_rate2e-5");
  EXPECT_EQ(dpo->deps, (std::vector<std::string>{"sft_loss_typenll_learning_rate2e-5", "pairs"}));
  // sweep values land in the trainer section; references and the parent's checkpoint are resolved
  EXPECT_EQ(dpo->config["trainer"]["beta"].Scalar(), "2");
  EXPECT_EQ(dpo->config["trainer"]["learning_rate"].Scalar(), "3e-6");
  EXPECT_EQ(dpo->config["dataset"]["path"].Scalar(), "/tmp/unused-study-out/pairs/pairs.jsonl");
  EXPECT_EQ(dpo->config["model_name"].Scalar(), "/tmp/unused-study-out/sft_loss_typenll_learning_rate2e-5");
  EXPECT_EQ(dpo->config["trainer"]["output_dir"].Scalar(), "/tmp/unused-study-out/dpo_beta2_learning_rate3e-6");
  EXPECT_EQ(dpo->params, (SweepPoint{{"beta", "2"}, {"learning_rate", "3e-6"}}));
  EXPECT_EQ(run_kind(*dpo), "dpo");
  const Job* sft = plan.find("sft_loss_typedft_learning_rate5e-5");
  EXPECT_EQ(sft->config["model_name"].Scalar(), "some/model");  // no `from`: the config's model
  EXPECT_EQ(sft->config["trainer"]["loss_type"].Scalar(), "dft");
  EXPECT_TRUE(sft->parent.empty());
  const Job* eval = plan.find("eval:dpo_beta1_learning_rate1e-6");
  ASSERT_NE(eval, nullptr);
  EXPECT_EQ(eval->dir, "/tmp/unused-study-out/dpo_beta1_learning_rate1e-6/eval");
  // the report waits for everything
  EXPECT_EQ(plan.jobs.back().deps.size(), plan.jobs.size() - 1);
}

TEST(StudyPlan, FingerprintsChangeWithTheConfigAndPropagateToDependants) {
  Plan a = plan_study(parse(kPipeline));
  Plan same = plan_study(parse(kPipeline));
  for (size_t i = 0; i < a.jobs.size(); ++i) EXPECT_EQ(a.jobs[i].fingerprint, same.jobs[i].fingerprint);
  // a different k for pairs: pairs, every dpo run, their evals and the report change; sft does not
  std::string changed = kPipeline;
  changed.replace(changed.find("k: 4"), 4, "k: 8");
  Plan b = plan_study(parse(changed));
  for (size_t i = 0; i < a.jobs.size(); ++i) {
    const std::string& n = a.jobs[i].name;
    bool affected = n == "pairs" || n.rfind("dpo_", 0) == 0 || n.rfind("eval:dpo_", 0) == 0 || n == "report";
    EXPECT_EQ(a.jobs[i].fingerprint != b.jobs[i].fingerprint, affected) << n;
  }
  // another output directory: the same fingerprints (references are fingerprinted unresolved)
  Plan moved = plan_study(parse(kPipeline), "/tmp/elsewhere");
  for (size_t i = 0; i < a.jobs.size(); ++i) EXPECT_EQ(a.jobs[i].fingerprint, moved.jobs[i].fingerprint);
  EXPECT_EQ(moved.find("pairs")->dir, "/tmp/elsewhere/pairs");
  // key order and layout do not matter
  std::string reordered = kPipeline;
  reordered.replace(reordered.find("{prompts: prompts.jsonl, k: 4}"), 30, "{k: 4,   prompts: prompts.jsonl}");
  EXPECT_EQ(plan_study(parse(reordered)).find("pairs")->fingerprint, a.find("pairs")->fingerprint);
}

TEST(StudyPlan, InputFilesJoinTheFingerprintByContent) {
  std::string dir = testing::make_temp_dir("study-plan");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"1+1?\", \"answer\": \"2\"}\n";
  std::string text = R"(
name: t
stages:
  - {name: init, kind: init, config: {arch: tiny-llama4}}
  - {name: pairs, kind: pairs, from: init, config: {prompts: )" + dir + R"(/prompts.jsonl}}
)";
  std::string before = plan_study(parse(text), dir + "/out").find("pairs")->fingerprint;
  EXPECT_EQ(plan_study(parse(text), dir + "/out").find("pairs")->fingerprint, before);
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"1+2?\", \"answer\": \"3\"}\n";
  EXPECT_NE(plan_study(parse(text), dir + "/out").find("pairs")->fingerprint, before);
  EXPECT_EQ(plan_study(parse(text), dir + "/out").find("init")->fingerprint,
            plan_study(parse(text), dir + "/out2").find("init")->fingerprint);
}

TEST(StudyPlan, SweepListsAndOverrides) {
  Plan plan = plan_study(parse(R"(
name: t
output_dir: out/t
stages:
  - name: sft
    kind: sft
    config: {model_name: m, dataset: {path: d.jsonl}, trainer: {learning_rate: 1e-3, max_steps: 5}}
    set: [max_steps=7, dataset.test_size=0.1]
    sweep:
      - {loss_type: [nll, dft], learning_rate: 8e-5, num_train_epochs: 3}
      - {loss_type: nll, learning_rate: 2e-5, num_train_epochs: 2}
)"));
  EXPECT_EQ(job_names(plan), (std::vector<std::string>{"sft_loss_typenll_learning_rate8e-5_num_train_epochs3",
                                                       "sft_loss_typedft_learning_rate8e-5_num_train_epochs3",
                                                       "sft_loss_typenll_learning_rate2e-5_num_train_epochs2"}));
  const Job& j = plan.jobs[2];
  EXPECT_EQ(j.config["trainer"]["max_steps"].Scalar(), "7");  // `set` reaches the trainer section
  EXPECT_EQ(j.config["dataset"]["test_size"].Scalar(), "0.1");
  EXPECT_EQ(j.config["trainer"]["num_train_epochs"].Scalar(), "2");
  EXPECT_EQ(j.dir, "out/t/sft_loss_typenll_learning_rate2e-5_num_train_epochs2");
}

TEST(StudyPlan, ConfigFilesResolveAgainstTheStudyFile) {
  std::string dir = testing::make_temp_dir("study-plan");
  fs::create_directories(dir + "/configs");
  std::ofstream(dir + "/configs/sft.yaml") << "model_name: m\ndataset: {path: d.jsonl}\ntrainer: {learning_rate: 1e-4}\n";
  std::ofstream(dir + "/study.yaml") << "name: t\nstages:\n  - {name: sft, kind: sft, config: configs/sft.yaml, "
                                        "set: {learning_rate: 5e-5}}\n";
  Study s = load_study(dir + "/study.yaml");
  EXPECT_EQ(s.output_dir, "out/t");
  EXPECT_EQ(s.stages[0].config["trainer"]["learning_rate"].Scalar(), "5e-5");
  EXPECT_EQ(s.stages[0].config["model_name"].Scalar(), "m");
}

TEST(StudyPlan, ErrorsNameTheFileAndTheKey) {
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: sft, confg: {}}]\n"); })
                .find("study.yaml: stage 'a': unknown key 'confg'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstagez: []\n"); }).find("study.yaml: unknown key 'stagez'"), std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: train}]\n"); }).find("unknown kind 'train'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: pairs, config: {prompt: x}}]\n"); })
                .find("unknown key 'prompt' for the pairs stage kind"),
            std::string::npos);
  // a swept unknown key ran identical jobs, exit 0
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: init, config: {arch: micro-llama4}, sweep: {sed: [1, 2]}}]\n"); })
                .find("stage 'a': sweep: unknown key 'sed' for the init stage kind"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: pairs, sweep: {temprature: [0.5, 1]}}]\n"); })
                .find("sweep: unknown key 'temprature' for the pairs stage kind"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: init}, {name: a, kind: init}]\n"); })
                .find("stage 'a': a stage with this name already exists"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: sft, config: nowhere.yaml}]\n"); })
                .find("nowhere.yaml: file not found"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: sft, sweep: {beta: []}}]\n"); })
                .find("sweep.beta: expected a non-empty list"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages: [{name: a, kind: eval, sweep: {limit: [1, 2]}}]\n"); })
                .find("eval stages do not sweep"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("name: t\nstages:\n  - {name: a, kind: sft\n"); }).find("study.yaml: invalid YAML"),
            std::string::npos);
}

TEST(StudyPlan, MissingFromAndCyclesAreErrors) {
  EXPECT_NE(error_of([] { plan_study(parse("name: t\nstages: [{name: a, kind: sft, from: base}]\n")); })
                .find("study.yaml: stage 'a': from: no stage or run named 'base'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              plan_study(parse("name: t\nstages: [{name: a, kind: pairs, config: {prompts: '${nothing}/p.jsonl'}}]\n"));
            }).find("${nothing}: no stage or run named 'nothing'"),
            std::string::npos);
  std::string cycle = error_of([] {
    plan_study(parse("name: t\nstages:\n  - {name: a, kind: sft, from: c}\n  - {name: b, kind: sft, from: a}\n"
                     "  - {name: c, kind: sft, from: b}\n"));
  });
  EXPECT_NE(cycle.find("cycle: a -> c -> b -> a"), std::string::npos) << cycle;
  EXPECT_NE(error_of([] { plan_study(parse("name: t\nstages: [{name: a, kind: sft, from: a}]\n")); })
                .find("cannot depend on itself"),
            std::string::npos);
  // `from` naming a stage with several runs must pick one
  std::string several = error_of([] {
    plan_study(parse("name: t\nstages:\n  - {name: a, kind: init, config: {arch: tiny-llama4}, sweep: {seed: [1, 2]}}\n"
                     "  - {name: b, kind: sft, from: a}\n"));
  });
  EXPECT_NE(several.find("stage 'a' has 2 runs (a_seed1, a_seed2); name one of them"), std::string::npos) << several;
  // training from a data run
  EXPECT_NE(error_of([] {
              plan_study(parse("name: t\nstages:\n  - {name: d, kind: data}\n  - {name: b, kind: sft, from: d}\n"));
            }).find("from: 'd' is a data run, not a model checkpoint"),
            std::string::npos);
}

TEST(StudyPlan, TheDemoStudyIsTheCommittedFileAndPlans) {
  EXPECT_EQ(demo_study_yaml(), read_file(testing::source_dir() + "/configs/demo/study.yaml"));
  Plan plan = plan_study(parse_study(demo_study_yaml(), "<demo study>", "."), "out/x");
  std::vector<std::string> runs;
  for (const Job* j : plan.runs()) runs.push_back(j->name + ":" + run_kind(*j));
  EXPECT_EQ(runs, (std::vector<std::string>{"data:data", "init:init", "base:sft", "sft:sft", "pairs:pairs",
                                            "dpo_beta0.1:dpo", "dpo_beta0.5:dpo", "apo_zero_beta0.1:apo_zero",
                                            "apo_zero_beta0.5:apo_zero"}));
  EXPECT_EQ(plan.jobs.back().name, "report");
  for (const auto& j : plan.jobs) validate_job(j);
}

// configs/tiny-think/study.yaml: the paper's grid (SFT NLL/DFT x lr/epochs, DPO beta x lr, APO-zero beta).
TEST(StudyPlan, TinyThinkStudyExpandsToThePapersGrid) {
  Plan plan = plan_study(load_study(testing::source_dir() + "/configs/tiny-think/study.yaml"), "out/tt");
  std::vector<std::string> runs;
  for (const Job* j : plan.runs()) runs.push_back(j->name);
  EXPECT_EQ(runs, (std::vector<std::string>{
                      "sft_loss_typenll_learning_rate8e-5_num_train_epochs3",
                      "sft_loss_typedft_learning_rate8e-5_num_train_epochs3",
                      "sft_loss_typenll_learning_rate2e-5_num_train_epochs2",
                      "sft_loss_typenll_learning_rate5e-5_num_train_epochs2",
                      "sft_loss_typedft_learning_rate2e-5_num_train_epochs2",
                      "sft_loss_typedft_learning_rate5e-5_num_train_epochs2",
                      "dpo_beta1_learning_rate1e-6",
                      "dpo_beta1_learning_rate2e-6",
                      "dpo_beta1_learning_rate3e-6",
                      "dpo_beta1_learning_rate5e-6",
                      "dpo_beta0.5_learning_rate2e-6",
                      "dpo_beta2_learning_rate2e-6",
                      "apo_zero_beta0.3_learning_rate3e-6",
                      "apo_zero_beta0.5_learning_rate3e-6",
                      "apo_zero_beta1_learning_rate3e-6",
                  }));
  EXPECT_EQ(plan.jobs.size(), 15u + 15u + 1u);  // every model run is evaluated, then the report
  const Job* apo = plan.find("apo_zero_beta0.3_learning_rate3e-6");
  EXPECT_EQ(run_kind(*apo), "apo_zero");
  EXPECT_EQ(apo->parent, "sft_loss_typenll_learning_rate2e-5_num_train_epochs2");
  EXPECT_EQ(apo->config["trainer"]["beta"].Scalar(), "0.3");
  EXPECT_EQ(apo->config["trainer"]["max_prompt_length"].Scalar(), "2048");
  EXPECT_EQ(run_kind(*plan.find("dpo_beta2_learning_rate2e-6")), "dpo");
  const Job* sft = plan.find("sft_loss_typedft_learning_rate8e-5_num_train_epochs3");
  EXPECT_EQ(sft->config["model_name"].Scalar(), "facebook/MobileLLM-R1-140M-base");
  EXPECT_EQ(sft->config["trainer"]["neftune_noise_alpha"].Scalar(), "0.02");
  for (const auto& j : plan.jobs) validate_job(j);  // every training config passes the trainers' loader
  // the CLI's dry run lists them without running anything
  auto r = testing::run_cli("run " + testing::source_dir() + "/configs/tiny-think/study.yaml --dry-run --out " +
                            testing::make_temp_dir("tt-dry") + "/out");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("to run   apo_zero_beta1_learning_rate3e-6"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("31 jobs"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tt::study
