// MATH-500 under the study's protocol (task_math500.cpp).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

TEST(TaskMath500, PromptIsTheStudyProtocol) {
  auto task = make_math500_task(shared_options());
  ASSERT_EQ(task->docs().size(), 500u);
  EXPECT_EQ(task->name(), "math500");
  const Doc& doc = task->docs()[0];
  const Prompt p = task->prompt(doc);
  EXPECT_TRUE(p.chat_native);
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0]["content"], "Please reason step by step, and put your final answer within \\boxed{}.");
  EXPECT_EQ(p.messages[1]["content"], doc.fields["problem"]);
  EXPECT_EQ(p.text, "Please reason step by step, and put your final answer within \\boxed{}.\n\n" +
                        doc.fields["problem"].get<std::string>());
  EXPECT_EQ(task->target(doc), doc.fields["answer"]);
  EXPECT_EQ(task->doc_text_fields(), std::vector<std::string>{"problem"});
  EXPECT_EQ(task->metric_keys(), std::vector<std::string>{"exact_match,none"});
  const auto g = task->generation_defaults();
  EXPECT_TRUE(g.do_sample);
  EXPECT_DOUBLE_EQ(g.temperature, 0.6);
  EXPECT_DOUBLE_EQ(g.top_p, 0.95);
  EXPECT_EQ(g.max_gen_toks, 1024);
  EXPECT_EQ(task->config()["task"], "math500");
  EXPECT_EQ(task->config()["output_type"], "generate_until");
}

// The reference answer in \boxed{} is right on all 500; the reference solution (its last \boxed{})
// too; the next problem's answer is wrong wherever the two differ, but for one equivalent pair.
TEST(TaskMath500, GoldAnswersScoreFull) {
  auto task = make_math500_task(shared_options());
  const auto& docs = task->docs();
  double boxed = 0, solution = 0, swapped = 0;
  size_t swapped_differ = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const std::string answer = docs[i].fields["answer"];
    const DocScore s = task->score_response(docs[i], "Thus the answer is $\\boxed{" + answer + "}$.");
    boxed += s.metrics.at("exact_match,none")[0];
    EXPECT_EQ(s.filtered["study"], answer);
    solution += task->score_response(docs[i], docs[i].fields["solution"].get<std::string>()).metrics.at("exact_match,none")[0];
    const std::string other = docs[(i + 1) % docs.size()].fields["answer"];
    if (other != answer) {
      ++swapped_differ;
      const double right = task->score_response(docs[i], "\\boxed{" + other + "}").metrics.at("exact_match,none")[0];
      swapped += right;
      if (right > 0) std::cout << "[ TaskMath500 ] equivalent neighbours: [" << other << "] for [" << answer << "]\n";
    }
  }
  EXPECT_EQ(boxed, 500);
  EXPECT_EQ(solution, 500);
  EXPECT_GT(swapped_differ, 450u);
  EXPECT_EQ(swapped, 1);  // the one equivalent pair: "x=5" for "5" (a short "x =" is dropped)
}

TEST(TaskMath500, ScoringNeverThrows) {
  auto task = make_math500_task(shared_options());
  for (std::string response : {std::string(), std::string("\xff\\boxed{\xfe}\xc3")}) {
    DocScore s;
    ASSERT_NO_THROW(s = task->score_response(task->docs()[0], response));
    EXPECT_EQ(s.metrics.at("exact_match,none")[0], 0.0);
    EXPECT_NO_THROW((void)s.filtered.dump());
  }
}

TEST(TaskMath500, LoadErrorsNameFileLineAndField) {
  const std::string root = tt::testing::make_temp_dir("math500-task");
  std::filesystem::create_directories(root + "/math500");
  {
    std::ofstream out(root + "/math500/test.jsonl");
    out << R"({"problem": "1+1?", "answer": "2"})" << "\n\n" << R"({"answer": "3"})" << "\n";
  }
  TaskOptions options;
  options.data_root = root;
  try {
    make_math500_task(options);
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test.jsonl:3"), std::string::npos) << message;
    EXPECT_NE(message.find("'problem'"), std::string::npos) << message;
  }
  TaskOptions shots = shared_options();
  shots.num_fewshot = 4;
  EXPECT_THROW(make_math500_task(shots), tt::Error);
  std::filesystem::remove_all(root);
}
