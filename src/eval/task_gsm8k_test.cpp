// GSM8K tasks (task_gsm8k.cpp): lm-eval's prompts byte for byte, lm-eval's filters and metric on the
// gold answers, the study's scoring against the GSM8K paper's graded solutions, and load errors.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

std::string shot(const nlohmann::json& row) {
  return "Question: " + row["question"].get<std::string>() + "\nAnswer: " + row["answer"].get<std::string>() + "\n\n";
}

}  // namespace

// lm-eval's gsm8k has no fewshot_config, so its default sampler draws random.Random(1234).sample(train, 5)
// once per test document, in document order. The indices are CPython 3.11's:
//   r = random.Random(1234); [r.sample(range(7473), 5) for _ in range(1319)]
TEST(TaskGsm8k, PromptMatchesLmEvalFiveShot) {
  auto task = make_gsm8k_task("gsm8k", shared_options());
  const auto train = read_jsonl_rows(tt::testing::shared_dir() + "/data/gsm8k/train.jsonl");
  const auto& docs = task->docs();
  ASSERT_EQ(docs.size(), 1319u);
  EXPECT_EQ(task->name(), "gsm8k");
  EXPECT_EQ(task->output_type(), OutputType::GenerateUntil);

  const std::map<size_t, std::vector<int>> draws = {{0, {6374, 3610, 957, 61, 742}},
                                                    {1, {7462, 6610, 4769, 286, 5501}},
                                                    {2, {5677, 687, 806, 6279, 2905}},
                                                    {1318, {220, 4179, 6064, 5599, 5541}}};
  for (const auto& [doc_id, indices] : draws) {
    std::string expected;
    for (int i : indices) expected += shot(train[static_cast<size_t>(i)]);
    expected += "Question: " + docs[doc_id].fields["question"].get<std::string>() + "\nAnswer:";
    const Prompt p = task->prompt(docs[doc_id]);
    EXPECT_EQ(p.text, expected) << "doc " << doc_id;
    ASSERT_EQ(p.messages.size(), 11u);
    EXPECT_EQ(p.messages[0]["role"], "user");
    EXPECT_EQ(p.messages[1]["role"], "assistant");
    EXPECT_EQ(p.messages[1]["content"].get<std::string>(),
              train[static_cast<size_t>(indices[0])]["answer"].get<std::string>());
    EXPECT_EQ(p.messages[10]["content"],
              "Question: " + docs[doc_id].fields["question"].get<std::string>() + "\nAnswer:");
    EXPECT_FALSE(p.chat_native);
  }
  // Written out by hand: the start of doc 0's prompt (train[6374]) and its end (test[0]).
  const std::string text = task->prompt(docs[0]).text;
  EXPECT_EQ(text.substr(0, 70), "Question: Jen and Tyler are gymnasts practicing flips. Jen is practici");
  EXPECT_NE(text.find("\n\nQuestion: Janet\xE2\x80\x99s ducks lay 16 eggs per day. She eats three for breakfast"),
            std::string::npos);
  EXPECT_TRUE(text.ends_with("How much in dollars does she make every day at the farmers' market?\nAnswer:"));

  // Another seed draws other examples (CPython: random.Random(42).sample(range(7473), 5)).
  TaskOptions seeded = shared_options();
  seeded.seed = 42;
  auto other = make_gsm8k_task("gsm8k", seeded);
  EXPECT_TRUE(other->prompt(other->docs()[0]).text.starts_with(shot(train[5238]) + shot(train[912])));
  // num_fewshot 0: the bare question.
  TaskOptions zero = shared_options();
  zero.num_fewshot = 0;
  auto bare = make_gsm8k_task("gsm8k", zero);
  EXPECT_EQ(bare->prompt(bare->docs()[0]).text,
            "Question: " + docs[0].fields["question"].get<std::string>() + "\nAnswer:");
}

TEST(TaskGsm8k, CotPromptMatchesLmEval) {
  auto task = make_gsm8k_task("gsm8k_cot", shared_options());
  const Doc& doc = task->docs()[0];
  const std::string expected_start =
      "Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, "
      "there will be 21 trees. How many trees did the grove workers plant today?\n"
      "A: There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have "
      "been 21 - 15 = 6. The answer is 6.\n\n"
      "Q: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?\n"
      "A: There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.\n\n"
      "Q: Leah had 32 chocolates";
  const std::string expected_end =
      "Q: Olivia has $23. She bought five bagels for $3 each. How much money does she have left?\n"
      "A: Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars "
      "left. 23 - 15 is 8. The answer is 8.\n\n"
      "Q: " + doc.fields["question"].get<std::string>() + "\nA:";
  const Prompt p = task->prompt(doc);
  EXPECT_TRUE(p.text.starts_with(expected_start)) << p.text.substr(0, 400);
  EXPECT_TRUE(p.text.ends_with(expected_end)) << p.text.substr(p.text.size() - 400);
  size_t questions = 0;
  for (size_t at = 0; (at = p.text.find("Q: ", at)) != std::string::npos; ++at) ++questions;
  EXPECT_EQ(questions, 9u);
  EXPECT_EQ(p.messages.size(), 17u);
  EXPECT_EQ(task->generation_defaults().until, (std::vector<std::string>{"Q:", "</s>", "<|im_end|>"}));
  EXPECT_EQ(task->target(doc), "18");

  TaskOptions too_many = shared_options();
  too_many.num_fewshot = 9;
  EXPECT_THROW(make_gsm8k_task("gsm8k_cot", too_many), tt::Error);
}

TEST(TaskGsm8k, BoxedPromptIsTheStudyProtocol) {
  auto task = make_gsm8k_task("gsm8k_boxed", shared_options());
  const Doc& doc = task->docs()[0];
  const Prompt p = task->prompt(doc);
  EXPECT_TRUE(p.chat_native);
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0]["role"], "system");
  EXPECT_EQ(p.messages[0]["content"], "Please reason step by step, and put your final answer within \\boxed{}.");
  EXPECT_EQ(p.messages[1]["role"], "user");
  EXPECT_EQ(p.messages[1]["content"].get<std::string>(), doc.fields["question"].get<std::string>());
  const auto g = task->generation_defaults();
  EXPECT_TRUE(g.do_sample);
  EXPECT_DOUBLE_EQ(g.temperature, 0.6);
  EXPECT_DOUBLE_EQ(g.top_p, 0.95);
  EXPECT_EQ(g.max_gen_toks, 1024);
  EXPECT_TRUE(g.until.empty());
  EXPECT_EQ(task->metric_keys(), std::vector<std::string>{"exact_match,none"});
  EXPECT_EQ(task->target(doc), "18");
  EXPECT_EQ(task->doc_text_fields(), std::vector<std::string>{"question"});
  TaskOptions shots = shared_options();
  shots.num_fewshot = 3;
  EXPECT_THROW(make_gsm8k_task("gsm8k_boxed", shots), tt::Error);
}

// Every gold solution as the response is right under both lm-eval filters; every variant's own
// answer format scores 1 on every document; a wrong number scores 0.
TEST(TaskGsm8k, GoldAnswersScoreFull) {
  auto plain = make_gsm8k_task("gsm8k", shared_options());
  auto cot = make_gsm8k_task("gsm8k_cot", shared_options());
  auto boxed = make_gsm8k_task("gsm8k_boxed", shared_options());
  double strict = 0, flexible = 0, cot_strict = 0, cot_flexible = 0, study = 0, study_solution = 0;
  for (const Doc& doc : plain->docs()) {
    const std::string answer = doc.fields["answer"];
    const DocScore s = plain->score_response(doc, answer);
    strict += s.metrics.at("exact_match,strict-match")[0];
    flexible += s.metrics.at("exact_match,flexible-extract")[0];
    const std::string n = cot->target(doc);
    const DocScore c = cot->score_response(doc, "Let me think. The answer is " + n + ".");
    cot_strict += c.metrics.at("exact_match,strict-match")[0];
    cot_flexible += c.metrics.at("exact_match,flexible-extract")[0];
    study += boxed->score_response(doc, "so the total is \\boxed{" + n + "}.").metrics.at("exact_match,none")[0];
    study_solution += boxed->score_response(doc, answer).metrics.at("exact_match,none")[0];
  }
  EXPECT_EQ(strict, 1319);
  EXPECT_EQ(flexible, 1319);
  EXPECT_EQ(cot_strict, 1319);
  EXPECT_EQ(cot_flexible, 1319);
  EXPECT_EQ(study, 1319);
  EXPECT_EQ(study_solution, 1319);

  const Doc& doc = plain->docs()[0];  // gold 18
  DocScore wrong = plain->score_response(doc, "She makes 9 * 2 = $19.\n#### 19");
  EXPECT_EQ(wrong.metrics["exact_match,strict-match"][0], 0.0);
  EXPECT_EQ(wrong.metrics["exact_match,flexible-extract"][0], 0.0);
  EXPECT_EQ(wrong.filtered["strict-match"], "19");
  // lm-eval's exact_match drops "$", "," and a final "." on both sides: "$18." counts.
  DocScore dollars = plain->score_response(doc, "9 * 2 = 18 dollars\n#### $18.");
  EXPECT_EQ(dollars.filtered["strict-match"], "[invalid]");  // the strict regex wants a digit after "#### "
  EXPECT_EQ(dollars.filtered["flexible-extract"], "$18.");
  EXPECT_EQ(dollars.metrics["exact_match,flexible-extract"][0], 1.0);
  // gsm8k_cot strict needs "The answer is"; flexible takes the last number.
  DocScore cot_flex = cot->score_response(doc, "She sells 9 eggs for $2 each, so $18 per day.");
  EXPECT_EQ(cot_flex.metrics["exact_match,strict-match"][0], 0.0);
  EXPECT_EQ(cot_flex.filtered["flexible-extract"], "$18");  // the last match, "$" kept; the metric drops it
  EXPECT_EQ(cot_flex.metrics["exact_match,flexible-extract"][0], 1.0);
  EXPECT_EQ(boxed->score_response(doc, "\\boxed{17}").metrics["exact_match,none"][0], 0.0);
}

TEST(TaskGsm8k, ScoringNeverThrows) {
  for (const char* name : {"gsm8k", "gsm8k_cot", "gsm8k_boxed"}) {
    auto task = make_gsm8k_task(name, shared_options());
    const Doc& doc = task->docs()[5];
    for (std::string response : {std::string(), std::string("\xff\xfe\xc3(\\boxed{\xff} #### 1\xff")}) {
      DocScore s;
      ASSERT_NO_THROW(s = task->score_response(doc, response)) << name;
      for (const auto& key : task->metric_keys()) EXPECT_EQ(s.metrics.at(key)[0], 0.0) << name;
      EXPECT_NO_THROW((void)s.filtered.dump()) << name;  // valid UTF-8 for samples_<task>.jsonl
    }
  }
}

// The GSM8K paper's sampled solutions (ending "A: N") with OpenAI's grading, scored through
// gsm8k_boxed's score_response (last number, numbers_equal with the gold after "#### "). Measured:
// 175b_verification agrees on 1319/1319; 175b_finetuning on 1318/1319, the exception being the Chile
// population question (gold 120000, solution 120,006): within the study's relative tolerance 1e-4, so
// the study counts it right where the paper's exact grading did not.
TEST(TaskGsm8k, StudyScoringAgreesWithPaperGrading) {
  auto task = make_gsm8k_task("gsm8k_boxed", shared_options());
  std::map<std::string, const Doc*> by_question;
  for (const Doc& doc : task->docs()) by_question[doc.fields["question"]] = &doc;
  const auto rows = read_jsonl_rows(tt::testing::shared_dir() + "/data/gsm8k/example_model_solutions.jsonl");
  ASSERT_EQ(rows.size(), 1319u);
  for (const std::string key : {"175b_verification", "175b_finetuning"}) {
    size_t agree = 0;
    std::vector<std::string> disagreements;
    for (const auto& row : rows) {
      auto it = by_question.find(row["question"]);
      ASSERT_NE(it, by_question.end());
      const auto& sol = row[key];
      const DocScore s = task->score_response(*it->second, sol["solution"].get<std::string>());
      const bool correct = s.metrics.at("exact_match,none")[0] == 1.0;
      if (correct == sol["is_correct"].get<bool>())
        ++agree;
      else
        disagreements.push_back(s.filtered["study"].get<std::string>() + " vs gold " + task->target(*it->second));
    }
    std::cout << "[ TaskGsm8k ] " << key << ": study scoring agrees with is_correct on " << agree << "/"
              << rows.size() << "\n";
    for (const auto& d : disagreements) std::cout << "[ TaskGsm8k ]   disagreement: " << d << "\n";
    if (key == "175b_verification") {
      EXPECT_EQ(agree, 1319u);
    } else {
      EXPECT_EQ(agree, 1318u);
      ASSERT_EQ(disagreements.size(), 1u);
      EXPECT_EQ(disagreements[0], "120,006 vs gold 120000");
    }
  }
}

TEST(TaskGsm8k, ConfigIsLmEvalShaped) {
  auto task = make_gsm8k_task("gsm8k", shared_options());
  const auto c = task->config();
  EXPECT_EQ(c["task"], "gsm8k");
  EXPECT_EQ(c["output_type"], "generate_until");
  EXPECT_EQ(c["doc_to_text"], "Question: {{question}}\nAnswer:");
  EXPECT_EQ(c["target_delimiter"], " ");
  EXPECT_EQ(c["fewshot_delimiter"], "\n\n");
  EXPECT_EQ(c["num_fewshot"], 5);
  EXPECT_EQ(c["filter_list"][0]["name"], "strict-match");
  EXPECT_EQ(c["filter_list"][1]["name"], "flexible-extract");
  EXPECT_EQ(c["metric_list"][0]["regexes_to_ignore"],
            (nlohmann::ordered_json{",", "\\$", "(?s).*#### ", "\\.$"}));
  EXPECT_EQ(c["generation_kwargs"]["until"], (nlohmann::ordered_json{"Question:", "</s>", "<|im_end|>"}));
  EXPECT_EQ(task->metric_keys(), (std::vector<std::string>{"exact_match,strict-match", "exact_match,flexible-extract"}));
  EXPECT_EQ(task->generation_defaults().max_gen_toks, 256);
  EXPECT_FALSE(task->generation_defaults().do_sample);
}

TEST(TaskGsm8k, LoadErrorsNameFileLineAndField) {
  const std::string root = tt::testing::make_temp_dir("gsm8k-task");
  std::filesystem::create_directories(root + "/gsm8k");
  {
    std::ofstream out(root + "/gsm8k/test.jsonl");
    out << R"({"question": "q1", "answer": "a #### 1"})" << "\n" << R"({"question": "q2"})" << "\n";
  }
  TaskOptions options;
  options.data_root = root;
  try {
    make_gsm8k_task("gsm8k_boxed", options);
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test.jsonl:2"), std::string::npos) << message;
    EXPECT_NE(message.find("'answer'"), std::string::npos) << message;
  }
  try {
    make_gsm8k_task("gsm8k", options);  // also needs train.jsonl
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_gsm8k_task("gsm8k_nope", shared_options()), tt::Error);
  // One test file as --data: the 5-shot examples need GSM8K's train split (the error named a path
  // under the file: "test.jsonl/gsm8k/train.jsonl: cannot open (Not a directory)").
  TaskOptions one_file = shared_options();
  one_file.data_root = tt::testing::shared_dir() + "/data/gsm8k/test.jsonl";
  try {
    make_gsm8k_task("gsm8k", one_file);
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("gsm8k: --data " + one_file.data_root + " is one test set; the 5-shot examples "
                                         "come from GSM8K's train split"), std::string::npos) << e.what();
  }
  one_file.num_fewshot = 0;
  EXPECT_NO_THROW(make_gsm8k_task("gsm8k", one_file));
  TaskOptions missing;
  missing.data_root = root + "/nowhere";
  EXPECT_THROW(make_gsm8k_task("gsm8k_boxed", missing), tt::Error);
  std::filesystem::remove_all(root);
}
