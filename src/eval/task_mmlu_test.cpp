// mmlu_<subject> (src/eval/task_mmlu.cpp): lm-eval's mmlu/default prompts byte for byte, the data
// (3,153 test questions over the 19 STEM subjects), scoring, and errors naming file and line.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/eval_test_util.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

// A data root holding only mmlu_stem/test/abstract_algebra_test.csv with the given content.
std::string root_with_test_csv(const std::string& content) {
  const std::string root = tt::testing::make_temp_dir("mmlu");
  std::filesystem::create_directories(root + "/mmlu_stem/test");
  std::ofstream(root + "/mmlu_stem/test/abstract_algebra_test.csv", std::ios::binary) << content;
  return root;
}

const char* kAbstractAlgebraDoc0 =
    "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
    "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:";

}  // namespace

TEST(MmluTask, SubjectsAreLmEvalStemInOrder) {
  const auto subjects = mmlu_stem_subjects();
  ASSERT_EQ(subjects.size(), 19u);
  EXPECT_EQ(subjects.front(), "abstract_algebra");
  EXPECT_EQ(subjects.back(), "machine_learning");
  EXPECT_TRUE(std::is_sorted(subjects.begin(), subjects.end()));
}

TEST(MmluTask, ZeroShotPromptIsLmEvals) {
  const auto task = make_mmlu_task("mmlu_abstract_algebra", shared_options());
  EXPECT_EQ(task->name(), "mmlu_abstract_algebra");
  EXPECT_EQ(task->group(), "mmlu_stem");
  EXPECT_EQ(task->output_type(), OutputType::MultipleChoice);
  const Doc& doc = task->docs()[0];
  const Prompt p = task->prompt(doc);
  const std::string description =
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n";
  EXPECT_EQ(p.text, description + kAbstractAlgebraDoc0);
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0]["role"], "system");
  EXPECT_EQ(p.messages[0]["content"], description);
  EXPECT_EQ(p.messages[1]["role"], "user");
  EXPECT_EQ(p.messages[1]["content"], kAbstractAlgebraDoc0);

  EXPECT_EQ(task->choices(doc), (std::vector<std::string>{" A", " B", " C", " D"}));
  EXPECT_EQ(task->gold_index(doc), 1);
  EXPECT_EQ(task->target(doc), "B");
  EXPECT_EQ(task->doc_text_fields(), std::vector<std::string>{"question"});
  EXPECT_EQ(task->metric_keys(), std::vector<std::string>{"acc,none"});
  // The document as lm-eval's cais/mmlu row.
  EXPECT_EQ(doc.fields["subject"], "abstract_algebra");
  EXPECT_EQ(doc.fields["answer"], 1);
  EXPECT_EQ(doc.fields["choices"], nlohmann::ordered_json::array({"0", "4", "2", "6"}));
}

TEST(MmluTask, FiveShotPromptIsLmEvals) {
  const auto task = make_mmlu_task("mmlu_abstract_algebra", shared_options(5));
  const std::string expected =
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
      "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
      "Statement 1 | If aH is an element of a factor group, then |aH| divides |a|. Statement 2 | If H and K "
      "are subgroups of G then HK is a subgroup of G.\nA. True, True\nB. False, False\nC. True, False\n"
      "D. False, True\nAnswer: B\n\n"
      "Statement 1 | Every element of a group generates a cyclic subgroup of the group. Statement 2 | The "
      "symmetric group S_10 has 10 elements.\nA. True, True\nB. False, False\nC. True, False\n"
      "D. False, True\nAnswer: C\n\n"
      "Statement 1| Every function from a finite set onto itself must be one to one. Statement 2 | Every "
      "subgroup of an abelian group is abelian.\nA. True, True\nB. False, False\nC. True, False\n"
      "D. False, True\nAnswer: A\n\n"
      "Find the characteristic of the ring 2Z.\nA. 0\nB. 3\nC. 12\nD. 30\nAnswer: A\n\n" +
      std::string(kAbstractAlgebraDoc0);
  const Prompt p = task->prompt(task->docs()[0]);
  EXPECT_EQ(p.text, expected);
  // Chat: system, five user/assistant pairs (assistant = the letter), the question.
  ASSERT_EQ(p.messages.size(), 12u);
  EXPECT_EQ(p.messages[1]["content"],
            "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:");
  EXPECT_EQ(p.messages[2]["role"], "assistant");
  EXPECT_EQ(p.messages[2]["content"], "B");
  EXPECT_EQ(p.messages[8]["content"], "A");
  EXPECT_EQ(p.messages[11]["content"], kAbstractAlgebraDoc0);
  // first_n: the same examples for every question.
  EXPECT_EQ(task->prompt(task->docs()[7]).text.substr(0, expected.size() - std::string(kAbstractAlgebraDoc0).size()),
            expected.substr(0, expected.size() - std::string(kAbstractAlgebraDoc0).size()));

  const auto config = task->config();
  EXPECT_EQ(config["num_fewshot"], 5);
  EXPECT_EQ(config["output_type"], "multiple_choice");
  EXPECT_EQ(config["doc_to_choice"], nlohmann::ordered_json::array({"A", "B", "C", "D"}));
  EXPECT_EQ(config["target_delimiter"], " ");
  EXPECT_EQ(config["fewshot_delimiter"], "\n\n");
  EXPECT_EQ(config["dataset_name"], "abstract_algebra");
  EXPECT_EQ(config["metric_list"][0]["metric"], "acc");
  EXPECT_EQ(make_mmlu_task("mmlu_anatomy", shared_options())->config()["num_fewshot"], 0);
}

TEST(MmluTask, QuestionIsStrippedLikePython) {
  // str.strip() removes Unicode whitespace too (here a no-break space and an em space).
  const std::string root = root_with_test_csv(
      "question,choice0,choice1,choice2,choice3,answer\n"
      "\"\xC2\xA0 What?\n\",\" a \",b,c,d,0\n"
      "\"Why?\xE2\x80\x83\",a,b,c,d,3\n");
  TaskOptions options;
  options.data_root = root;
  const auto task = make_mmlu_task("mmlu_abstract_algebra", options);
  const std::string description =
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n";
  EXPECT_EQ(task->prompt(task->docs()[0]).text, description + "What?\nA.  a \nB. b\nC. c\nD. d\nAnswer:");
  EXPECT_EQ(task->prompt(task->docs()[1]).text, description + "Why?\nA. a\nB. b\nC. c\nD. d\nAnswer:");
  EXPECT_EQ(task->target(task->docs()[1]), "D");
}

TEST(MmluTask, AllSubjectsLoadAndGoldScoresOneRandomScoresChance) {
  int64_t total = 0;
  double random_correct = 0;
  std::vector<double> random_acc;
  tt::Rng rng(7);
  for (const auto& subject : mmlu_stem_subjects()) {
    const auto task = make_mmlu_task("mmlu_" + subject, shared_options());
    ASSERT_FALSE(task->docs().empty()) << subject;
    total += static_cast<int64_t>(task->docs().size());
    for (const Doc& doc : task->docs()) {
      ASSERT_EQ(doc.fields["subject"], subject);
      const int64_t gold = task->gold_index(doc);
      ASSERT_GE(gold, 0);
      ASSERT_LT(gold, 4);
      std::vector<double> favoured(4), random(4);
      for (int i = 0; i < 4; ++i) {
        favoured[i] = i == gold ? -0.5 : -3.0 - rng.uniform();
        random[i] = -10.0 * rng.uniform();
      }
      ASSERT_EQ(task->score_choices(doc, favoured).metrics.at("acc,none")[0], 1.0) << subject << " " << doc.id;
      random_acc.push_back(task->score_choices(doc, random).metrics.at("acc,none")[0]);
      random_correct += random_acc.back();
    }
  }
  EXPECT_EQ(total, 3153);
  EXPECT_EQ(make_mmlu_task("mmlu_elementary_mathematics", shared_options())->docs().size(), 378u);
  const double mean = random_correct / static_cast<double>(random_acc.size());
  EXPECT_NEAR(mean, 0.25, 4 * mean_stderr(random_acc));
}

TEST(MmluTask, Errors) {
  // Unknown subjects (lm-eval's non-STEM ones have no data here).
  EXPECT_NE(error_of([] { make_mmlu_task("mmlu_philosophy", shared_options()); }).find("mmlu_abstract_algebra"),
            std::string::npos);
  EXPECT_THROW(make_mmlu_task("abstract_algebra", shared_options()), tt::Error);

  // A missing file names its path.
  TaskOptions empty_root;
  empty_root.data_root = tt::testing::make_temp_dir("mmlu-empty");
  EXPECT_NE(error_of([&] { make_mmlu_task("mmlu_anatomy", empty_root); })
                .find(empty_root.data_root + "/mmlu_stem/test/anatomy_test.csv"),
            std::string::npos);

  // A missing column names file:1, a ragged row its line, a bad answer its row.
  TaskOptions options;
  options.data_root = root_with_test_csv("question,choice0,choice1,choice2,choice3\nq,a,b,c,d\n");
  const std::string path = options.data_root + "/mmlu_stem/test/abstract_algebra_test.csv";
  EXPECT_EQ(error_of([&] { make_mmlu_task("mmlu_abstract_algebra", options); }),
            path + ":1: missing column 'answer'");
  options.data_root = root_with_test_csv("question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,1\nq,a,b,c,1\n");
  EXPECT_EQ(error_of([&] { make_mmlu_task("mmlu_abstract_algebra", options); }),
            options.data_root + "/mmlu_stem/test/abstract_algebra_test.csv:3: 5 fields, the header has 6");
  options.data_root = root_with_test_csv("question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,1\nq,a,b,c,d,B\n");
  EXPECT_NE(error_of([&] { make_mmlu_task("mmlu_abstract_algebra", options); }).find("answer 'B' is not 0-3"),
            std::string::npos);

  // More few-shot examples than the dev split holds.
  EXPECT_NE(error_of([] { make_mmlu_task("mmlu_anatomy", shared_options(6)); }).find("anatomy_dev.csv"),
            std::string::npos);
}
