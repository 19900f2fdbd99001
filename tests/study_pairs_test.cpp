// On-policy pairs: the verifier's split of completions into chosen and rejected, the pair format
// the DPO loader reads, and determinism of sampling from a tiny model.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "io/jsonl.h"
#include "study/pairs.h"
#include "tests/study_test_util.h"
#include "tests/test_util.h"
#include "train/preference.h"

namespace tt::study {
namespace {

namespace fs = std::filesystem;

TEST(StudyPairs, VerifierFollowsTheStudyRule) {
  EXPECT_TRUE(is_correct("gsm8k", "<think>3+4=7</think>\nThe answer is \\boxed{7}.", "7"));
  EXPECT_TRUE(is_correct("gsm8k", "so we get 1,250 apples", "1250"));         // last number, commas
  EXPECT_TRUE(is_correct("gsm8k", "\\boxed{12.0}", "12"));                    // numeric equality
  EXPECT_FALSE(is_correct("gsm8k", "\\boxed{8} but 7 is also a number", "7"));  // the last \boxed wins
  EXPECT_FALSE(is_correct("gsm8k", "no idea", "7"));
  EXPECT_FALSE(is_correct("gsm8k", "", "7"));
  EXPECT_TRUE(is_correct("math", "The answer is $\\frac{1}{2}$", "\\frac12"));
  EXPECT_TRUE(is_correct("math", "\\boxed{0.5}", "\\frac{1}{2}"));
  EXPECT_FALSE(is_correct("math", "\\boxed{\\frac{1}{3}}", "\\frac{1}{2}"));
}

TEST(StudyPairs, CorrectCompletionsAreChosenAndIncorrectOnesRejected) {
  PromptRecord prompt{nlohmann::ordered_json::array({{{"role", "user"}, {"content", "2+3?"}}}), "5", "gsm8k"};
  std::vector<std::string> texts = {"\\boxed{4}", "\\boxed{5}", "it is 6", "\\boxed{5}.", "\\boxed{5", "5"};
  std::vector<Verdict> verdicts;
  for (size_t i = 0; i < texts.size(); ++i) verdicts.push_back({is_correct("gsm8k", texts[i], "5"), i != 5});
  // sample 4: "\boxed{5" is unbalanced, so the study rule falls back to the last number: correct.
  // sample 5 is correct but truncated: never chosen, never rejected.
  EXPECT_EQ(select_pairs(verdicts, 10), (std::vector<std::pair<int64_t, int64_t>>{{1, 0}, {3, 2}}));
  EXPECT_EQ(select_pairs(verdicts, 1), (std::vector<std::pair<int64_t, int64_t>>{{1, 0}}));
  auto rows = make_pair_rows(prompt, 3, texts, verdicts, 2);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["prompt"], prompt.messages);
  EXPECT_EQ(rows[1]["chosen"][0]["content"], "\\boxed{5}.");
  EXPECT_EQ(rows[1]["rejected"][0]["content"], "it is 6");
  EXPECT_EQ(rows[1]["chosen"][0]["role"], "assistant");
  EXPECT_EQ(rows[1]["prompt_index"], 3);
  // all correct, or none: no pair
  EXPECT_TRUE(select_pairs({{true, true}, {true, true}}, 4).empty());
  EXPECT_TRUE(select_pairs({{false, true}, {false, false}}, 4).empty());
}

TEST(StudyPairs, PairRowsAreWhatTheDpoLoaderReads) {
  std::string dir = testing::make_temp_dir("pairs-format");
  testing::write_tiny_chat_tokenizer(dir);
  PromptRecord prompt{nlohmann::ordered_json::array({{{"role", "user"}, {"content", "What is 2+3?"}}}), "5", "gsm8k"};
  std::vector<std::string> texts = {"it is \\boxed{5}", "it is \\boxed{6}", "\\boxed{5}", "7"};
  std::vector<Verdict> verdicts;
  for (const auto& t : texts) verdicts.push_back({is_correct("gsm8k", t, "5"), true});
  std::string lines;
  for (const auto& r : make_pair_rows(prompt, 0, texts, verdicts, 4)) lines += r.dump() + "\n";
  write_file_atomic(dir + "/pairs.jsonl", lines);
  PreferenceOptions o;
  o.tokenizer = dir;
  PreferenceData data = load_preference_data(dir + "/pairs.jsonl", o);
  ASSERT_EQ(data.summary.pairs_kept, 2) << data.summary.to_text();
  EXPECT_EQ(data.summary.bad_lines, 0);
  // prompt = the rendered user turn with the generation prompt (trim_blocks drops the template's
  // newlines); completion = the chosen text and the <eos> the template closes the turn with (no second
  // EOS: TRL 0.27.2 and later append none to conversational completions)
  Tokenizer tok = Tokenizer::load(dir);
  EXPECT_EQ(tok.decode(data.pairs[0].prompt), "<|user|>What is 2+3?<|assistant|>");
  EXPECT_EQ(tok.decode(data.pairs[0].chosen), "it is \\boxed{5}<eos>");
  EXPECT_EQ(tok.decode(data.pairs[0].rejected), "it is \\boxed{6}<eos>");
  EXPECT_EQ(tok.decode(data.pairs[1].chosen), "\\boxed{5}<eos>");
}

TEST(StudyPairs, PromptsFileErrorsNameTheLine) {
  std::string dir = testing::make_temp_dir("pairs-prompts");
  std::ofstream(dir + "/p.jsonl") << "{\"prompt\": \"1+1\", \"answer\": 2}\n{\"prompt\": \"x\"}\n";
  try {
    read_prompts(dir + "/p.jsonl", "gsm8k");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.jsonl:2: missing 'answer'"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/q.jsonl") << "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"answer\": \"1\", "
                                     "\"task\": \"ifeval\"}\n";
  EXPECT_THROW(read_prompts(dir + "/q.jsonl", "gsm8k"), Error);
  auto records = read_prompts(dir + "/p.jsonl", "math", 1);  // limit stops before the bad line
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].answer, "2");
  EXPECT_EQ(records[0].task, "math");
  EXPECT_EQ(records[0].messages[0]["content"], "1+1");
}

// Sampling from a tiny random model: the same seed gives the same file; the summary agrees with the
// pairs written, and every chosen / rejected completion verifies as such.
// --use-cache: a run on the first prompts, then a run on all of them with the same cache, samples
// only the new prompts and writes the pairs of a run that never used a cache (each prompt's seed
// makes its samples its own). Samples the cache holds are what the pairs are made of.
TEST(StudyPairs, ACachedRerunWritesThePairsOfAnUncachedRun) {
  log_quiet() = true;
  std::string dir = testing::make_temp_dir("pairs-cache");
  PairsOptions o;
  o.model_dir = testing::write_tiny_model_dir(dir + "/model");
  {
    std::ofstream p(dir + "/prompts.jsonl");
    for (int i = 0; i < 10; ++i)
      p << nlohmann::json({{"prompt", "count " + std::to_string(i)}, {"answer", std::to_string(i % 3)}}).dump() << "\n";
  }
  o.prompts_path = dir + "/prompts.jsonl";
  o.k = 5;
  o.temperature = 1.0;
  o.max_new_tokens = 10;
  o.precision = Precision::FP32;
  o.max_batch = 7;
  o.output_dir = dir + "/alone";
  build_pairs(o);
  o.cache_dir = dir + "/cache";
  o.limit = 4;
  o.output_dir = dir + "/first";
  build_pairs(o);
  o.limit = -1;
  o.output_dir = dir + "/all";
  build_pairs(o);
  log_quiet() = false;
  EXPECT_EQ(read_file(dir + "/all/pairs.jsonl"), read_file(dir + "/alone/pairs.jsonl"));
  nlohmann::json all = read_json_file(dir + "/all/pairs_summary.json"), alone = read_json_file(dir + "/alone/pairs_summary.json");
  all.erase("seconds");
  alone.erase("seconds");
  EXPECT_EQ(all, alone);  // correct and truncated samples too: the finish reasons come back from the cache
  EXPECT_EQ(all["samples"], 50);
  EXPECT_GT(all["truncated_samples"], 0) << all.dump();   // finish reasons of both kinds
  EXPECT_LT(all["truncated_samples"], 50) << all.dump();
  // The cache holds one line per prompt, with its five samples.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/cache")) files.push_back(e.path().string());
  ASSERT_EQ(files.size(), 1u);
  int64_t lines = 0;
  read_jsonl(files[0], [&](int64_t, const nlohmann::json& row) {
    if (row.contains("samples")) {
      ++lines;
      EXPECT_EQ(row["samples"].size(), 5u);
    }
  });
  EXPECT_EQ(lines, 10);
}

TEST(StudyPairs, SamplingIsDeterministicAndEveryPairVerifies) {
  log_quiet() = true;
  std::string dir = testing::make_temp_dir("pairs-sample");
  std::string model = testing::write_tiny_model_dir(dir + "/model");
  {
    std::ofstream p(dir + "/prompts.jsonl");
    for (int i = 0; i < 12; ++i)
      p << nlohmann::json({{"prompt", "count " + std::to_string(i)}, {"answer", std::to_string(i % 3)}}).dump() << "\n";
  }
  PairsOptions o;
  o.model_dir = model;
  o.prompts_path = dir + "/prompts.jsonl";
  o.k = 6;
  o.pairs_per_prompt = 2;
  o.temperature = 1.0;
  o.top_p = 1.0;
  o.max_new_tokens = 12;
  o.precision = Precision::FP32;
  o.output_dir = dir + "/a";
  PairsSummary a = build_pairs(o);
  o.output_dir = dir + "/b";
  PairsSummary b = build_pairs(o);
  log_quiet() = false;
  EXPECT_EQ(read_file(dir + "/a/pairs.jsonl"), read_file(dir + "/b/pairs.jsonl"));
  EXPECT_EQ(a.samples, 12 * 6);
  EXPECT_EQ(a.prompts, 12);
  EXPECT_EQ(a.correct_samples, b.correct_samples);
  EXPECT_GT(a.prompts_none_correct, 0);  // a random model is mostly wrong
  std::set<int64_t> prompts_with_pair;
  int64_t pairs = 0;
  read_jsonl(dir + "/a/pairs.jsonl", [&](int64_t, const nlohmann::json& row) {
    ++pairs;
    prompts_with_pair.insert(row["prompt_index"].get<int64_t>());
    const std::string answer = row["answer"];
    EXPECT_TRUE(is_correct("gsm8k", row["chosen"][0]["content"].get<std::string>(), answer));
    EXPECT_FALSE(is_correct("gsm8k", row["rejected"][0]["content"].get<std::string>(), answer));
  });
  EXPECT_EQ(pairs, a.pairs);
  EXPECT_EQ(static_cast<int64_t>(prompts_with_pair.size()), a.prompts_with_pair);
  nlohmann::json summary = read_json_file(dir + "/a/pairs_summary.json");
  EXPECT_EQ(summary["pairs"], a.pairs);
  EXPECT_EQ(summary["samples"], 72);
  // another seed samples other completions
  o.seed = 43;
  o.output_dir = dir + "/c";
  log_quiet() = true;
  build_pairs(o);
  log_quiet() = false;
  nlohmann::json c = read_json_file(dir + "/c/pairs_summary.json");
  EXPECT_EQ(c["samples"], 72);
}

TEST(StudyPairs, CliWritesPairsAndSummary) {
  std::string dir = testing::make_temp_dir("pairs-cli");
  std::string model = testing::write_tiny_model_dir(dir + "/model");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\", \"answer\": \"2\"}\n";
  auto r = testing::run_cli("pairs --model " + model + " --prompts " + dir + "/prompts.jsonl --out " + dir +
                                "/out --k 4 --max-new-tokens 8 --temperature 1 --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("prompts yielded a pair"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir + "/out/pairs.jsonl"));
  EXPECT_EQ(read_json_file(dir + "/out/pairs_summary.json")["samples"], 8);
  auto bad = testing::run_cli("pairs --model " + model + " --prompts " + dir + "/prompts.jsonl --out " + dir +
                                  "/out2 --k 1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("k must be at least 2"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace tt::study
