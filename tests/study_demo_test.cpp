// The embedded demo study end to end through the binary, shrunk with --set to seconds: synthetic
// data, init, base, sft, pairs, the DPO and APO-zero sweeps, evaluation and the report.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "io/file.h"
#include "report/report.h"
#include "tests/test_util.h"

namespace tt::study {
namespace {

namespace fs = std::filesystem;

TEST(StudyDemo, ShrunkDemoRunsEndToEndAndTheReportShowsTheResults) {
  const std::string dir = testing::make_temp_dir("demo");
  // A barely trained model rarely answers right, so the preference stages train on a fixed pairs
  // file instead of the (possibly empty) on-policy one; the pairs stage still runs.
  std::ofstream(dir + "/pairs.jsonl")
      << R"({"prompt": [{"role": "user", "content": "Ann has 2 pens. She buys 3 more. How many pens?"}], )"
      << R"("chosen": [{"role": "assistant", "content": "<think>\n2 + 3 = 5.\n</think>\nThe answer is \\boxed{5}."}], )"
      << R"("rejected": [{"role": "assistant", "content": "The answer is \\boxed{6}."}]})" << "\n"
      << R"({"prompt": [{"role": "user", "content": "Bo has 4 cups. He loses 1. How many cups?"}], )"
      << R"("chosen": [{"role": "assistant", "content": "<think>\n4 - 1 = 3.\n</think>\nThe answer is \\boxed{3}."}], )"
      << R"("rejected": [{"role": "assistant", "content": "The answer is \\boxed{2}."}]})" << "\n";
  const std::string sets =
      " --set data.pretrain_docs=60 --set data.sft_arithmetic=40 --set data.sft_ifeval=10 --set data.sft_bbh_per_task=5"
      " --set data.prompts=4 --set data.eval_gsm8k=4 --set data.eval_ifeval=4 --set data.eval_bbh_per_task=3"
      " --set base.max_steps=2 --set sft.max_steps=2 --set pairs.k=2 --set pairs.max_new_tokens=8"
      " --set dpo.max_steps=1 --set apo_zero.max_steps=1 --set dpo.dataset.path=" + dir + "/pairs.jsonl" +
      " --set apo_zero.dataset.path=" + dir + "/pairs.jsonl" +
      " --set eval.limit=3 --set eval.gen_kwargs.max_gen_toks=8";
  const std::string out = dir + "/out";
  auto r = testing::run_cli("run --out " + out + sets);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  nlohmann::json study = read_json_file(out + "/study.json");
  EXPECT_EQ(study["name"], "demo");
  EXPECT_EQ(study["runs"], nlohmann::json({"data", "init", "base", "sft", "pairs", "dpo_beta0.1", "dpo_beta0.5",
                                           "apo_zero_beta0.1", "apo_zero_beta0.5"}));
  EXPECT_EQ(read_json_file(out + "/apo_zero_beta0.5/run.json")["kind"], "apo_zero");
  EXPECT_EQ(read_json_file(out + "/apo_zero_beta0.5/run.json")["sweep"], "apo_zero");
  EXPECT_EQ(read_json_file(out + "/dpo_beta0.1/run.json")["parent"], "sft");
  EXPECT_TRUE(fs::exists(out + "/pairs/pairs_summary.json"));
  EXPECT_TRUE(fs::exists(out + "/report.html"));
  EXPECT_EQ(read_file(out + "/report.md").rfind("# tinythink report: demo\n", 0), 0u);  // the study's name
  // every evaluated run's headline numbers are in report.md as results.json has them
  const std::string markdown = read_file(out + "/report.md");
  for (const char* run : {"base", "sft", "dpo_beta0.1", "dpo_beta0.5", "apo_zero_beta0.1", "apo_zero_beta0.5"}) {
    nlohmann::json results = read_json_file(out + "/" + run + "/eval/results.json");
    const auto& gsm8k = results["results"]["gsm8k_boxed"];
    ASSERT_TRUE(gsm8k.contains("exact_match,none")) << gsm8k.dump();
    report::Score score{gsm8k["exact_match,none"].get<double>(), gsm8k["exact_match_stderr,none"].get<double>()};
    EXPECT_NE(markdown.find(report::format_score(score, true)), std::string::npos) << run;
    EXPECT_NE(markdown.find(run), std::string::npos) << run;
  }
  EXPECT_FALSE(fs::exists(out + "/data/eval/results.json"));  // only model runs are evaluated

  // Unchanged, a rerun does nothing; another eval limit re-runs the evaluations and the report only.
  auto again = testing::run_cli("run --out " + out + sets);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 jobs run, 16 skipped"), std::string::npos) << again.output;
  auto more = testing::run_cli("run --out " + out + sets + " --set eval.limit=4");
  ASSERT_EQ(more.exit_code, 0) << more.output;
  EXPECT_NE(more.output.find("7 jobs run, 9 skipped"), std::string::npos) << more.output;
  auto bad = testing::run_cli("run --out " + out + " --set nosuch.limit=4");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--set nosuch.limit=4: no stage named 'nosuch'"), std::string::npos) << bad.output;
  auto typo = testing::run_cli("run --out " + out + " --set eval.limt=4");
  EXPECT_NE(typo.output.find("unknown key 'limt' for the eval stage kind"), std::string::npos) << typo.output;
  // a training stage's typo names the study and the run, not the deleted temporary file it was read from
  auto trainer_typo = testing::run_cli("run --out " + out + " --set sft.learnin_rate=1 --dry-run");
  EXPECT_NE(trainer_typo.exit_code, 0);
  EXPECT_NE(trainer_typo.output.find("<demo study>: stage 'sft' run 'sft': trainer.learnin_rate: unknown key"),
            std::string::npos)
      << trainer_typo.output;
  EXPECT_EQ(trainer_typo.output.find("tinythink-study-"), std::string::npos) << trainer_typo.output;
}

}  // namespace
}  // namespace tt::study
